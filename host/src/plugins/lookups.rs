//! The `resolve` import: a name's addresses, looked up while the plugin's call waits (Janus
//! looks up `rtp_forward`'s `host` before it answers). So that no request can hold a plugin
//! for long, a call waits [`CALL_WAIT`] at most in all, whatever it asks; answers (and names
//! that have none) are remembered for [`super::sockets::NAME_TTL`]; and only the addresses
//! `sandbox.send_to` allows come back. The `locate-sip` import (a SIP domain's transport, RFC
//! 3263 §4.1) waits [`LOCATE_WAIT`] at most within that, and keeps an answer that comes later
//! for the next call.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::limits::Limits;
use super::names::SipService;

/// What one call may wait for lookups, in all.
pub const CALL_WAIT: Duration = Duration::from_secs(3);

/// What one `locate-sip` waits at most (its lookup goes on, and its answer is kept).
pub const LOCATE_WAIT: Duration = Duration::from_millis(500);

/// Names remembered at most (the expired ones go first; beyond, a name is not remembered).
const MAX_NAMES: usize = 256;

/// `locate-sip` lookups under way at most (beyond, a domain not remembered is located as
/// having no records).
const MAX_LOCATING: usize = 16;

/// Answers by name, each for [`super::sockets::NAME_TTL`], [`MAX_NAMES`] at most (the expired
/// ones go first; beyond, a name is not remembered).
#[derive(Debug)]
struct Remembered<T>(HashMap<String, (Instant, T)>);

impl<T> Default for Remembered<T> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<T: Clone> Remembered<T> {
    /// The answer for `name`, if it came within the last [`super::sockets::NAME_TTL`].
    fn get(&self, name: &str, now: Instant) -> Option<T> {
        let (at, answer) = self.0.get(name)?;
        (now.saturating_duration_since(*at) < super::sockets::NAME_TTL).then(|| answer.clone())
    }

    fn put(&mut self, name: &str, now: Instant, answer: T) {
        if self.0.len() >= MAX_NAMES {
            self.0.retain(|_, (at, _)| now.saturating_duration_since(*at) < super::sockets::NAME_TTL);
        }
        if self.0.len() < MAX_NAMES {
            self.0.insert(name.to_owned(), (now, answer));
        }
    }
}

/// A plugin's remembered answers.
#[derive(Debug, Default)]
pub struct Lookups {
    answers: Remembered<Result<Vec<IpAddr>, String>>,
    located: Remembered<Option<SipService>>,
    /// The domains being located, with the calls waiting for each.
    locating: HashMap<String, Vec<mpsc::Sender<Option<SipService>>>>,
}

fn lock(l: &Mutex<Lookups>) -> std::sync::MutexGuard<'_, Lookups> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

/// `locate-sip` for a call that has waited `waited` for lookups so far (updated): `domain`'s
/// remembered answer, else its lookup's if it comes within [`LOCATE_WAIT`] (and the call's
/// [`CALL_WAIT`]); none else, the answer then kept for the next call.
pub fn locate_sip(
    lookups: &Arc<Mutex<Lookups>>,
    rt: &tokio::runtime::Handle,
    limits: &Limits,
    domain: &str,
    waited: &mut Duration,
) -> Option<SipService> {
    let now = Instant::now();
    let key = domain.trim_end_matches('.').to_ascii_lowercase();
    let (tx, rx) = mpsc::channel();
    {
        let mut l = lock(lookups);
        if let Some(found) = l.located.get(&key, now) {
            return found;
        }
        let full = l.locating.len() >= MAX_LOCATING;
        match l.locating.get_mut(&key) {
            Some(waiting) => waiting.push(tx),
            None if full => return None,
            None => {
                l.locating.insert(key.clone(), vec![tx]);
                let (lookups, servers, key) = (lookups.clone(), limits.nameservers.clone(), key.clone());
                rt.spawn(async move {
                    let found = super::names::locate_sip(&key, &servers).await;
                    let mut l = lock(&lookups);
                    l.located.put(&key, Instant::now(), found.clone());
                    for waiting in l.locating.remove(&key).unwrap_or_default() {
                        let _ = waiting.send(found.clone());
                    }
                });
            }
        }
    }
    let wait = CALL_WAIT.saturating_sub(*waited).min(LOCATE_WAIT);
    let found = rx.recv_timeout(wait).ok().flatten();
    *waited += now.elapsed();
    found
}

/// `resolve` for a call that has waited `waited` for lookups so far (updated): the addresses
/// of `name` that `limits.send_to` allows, IPv4 first.
pub fn resolve(
    lookups: &std::sync::Mutex<Lookups>,
    rt: &tokio::runtime::Handle,
    limits: &Limits,
    name: &str,
    waited: &mut Duration,
) -> Result<Vec<String>, String> {
    let found = match name.parse::<IpAddr>() {
        Ok(ip) => Ok(vec![ip]),
        Err(_) => {
            let now = Instant::now();
            let remembered = lock(lookups).answers.get(name, now);
            match remembered {
                Some(answer) => answer,
                None => {
                    let left = CALL_WAIT.saturating_sub(*waited);
                    if left.is_zero() {
                        return Err(format!("no time left in this call to look {name} up"));
                    }
                    let answer = super::names::addresses_now(rt, name, &limits.nameservers, left);
                    *waited += now.elapsed();
                    lock(lookups).answers.put(name, now, answer.clone());
                    answer
                }
            }
        }
    }?;
    let allowed: Vec<String> =
        found.iter().filter(|ip| limits.send_to.allows(**ip)).map(ToString::to_string).collect();
    match (found.is_empty(), allowed.is_empty()) {
        (true, _) => Err(format!("{name} has no address")),
        (false, true) => Err(format!("the plugin's sandbox.send_to allows no address of {name}")),
        (false, false) => Ok(allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A domain's records that come after [`LOCATE_WAIT`]: the call gets none, and the next
    /// call the answer, kept meanwhile.
    #[test]
    fn a_late_location_is_kept_for_the_next_call() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let socket = rt.block_on(tokio::net::UdpSocket::bind("127.0.0.1:0")).unwrap();
        let server = socket.local_addr().unwrap();
        rt.spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                tokio::time::sleep(LOCATE_WAIT + Duration::from_millis(200)).await;
                let id = u16::from_be_bytes([buf[0], buf[1]]);
                let Some((name, kind)) = crate::dns::server::question(&buf[..n]) else { continue };
                let srv = crate::dns::server::srv(1, 0, 5060, "sip1.pbx.test");
                let records = [(name.as_str(), crate::dns::kind::SRV, srv)];
                let found = if name == "_sip._tcp.pbx.test" { &records[..] } else { &[] };
                let rcode = if found.is_empty() { 3 } else { 0 };
                let reply = crate::dns::server::answer(id, &name, kind, rcode, found, &[]);
                let _ = socket.send_to(&reply, from).await;
            }
        });
        let lookups = Arc::new(Mutex::new(Lookups::default()));
        let config = serde_json::json!({"sandbox": {"nameserver": server.to_string()}});
        let limits = Limits::from_config("p", &config);
        let mut waited = Duration::ZERO;
        assert_eq!(locate_sip(&lookups, rt.handle(), &limits, "pbx.test", &mut waited), None);
        assert!(waited >= LOCATE_WAIT && waited < CALL_WAIT, "{waited:?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&lookups).located.0.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut waited = Duration::ZERO;
        let found = locate_sip(&lookups, rt.handle(), &limits, "pbx.test", &mut waited);
        assert_eq!(found, Some((super::super::names::SipTransport::Tcp, "_sip._tcp.pbx.test".to_owned())));
        assert!(waited < LOCATE_WAIT, "remembered: {waited:?}");
    }

    #[test]
    fn answers_are_remembered_for_a_while_and_within_bounds() {
        let mut l = Lookups::default();
        let t0 = Instant::now();
        l.answers.put("a", t0, Err("none".to_owned()));
        assert_eq!(l.answers.get("a", t0 + Duration::from_secs(1)), Some(Err("none".to_owned())));
        assert_eq!(l.answers.get("a", t0 + super::super::sockets::NAME_TTL), None);
        for i in 0..MAX_NAMES * 2 {
            l.answers.put(&format!("n{i}"), t0, Ok(Vec::new()));
        }
        assert_eq!(l.answers.0.len(), MAX_NAMES);
        // Expired ones make room.
        l.answers.put("late", t0 + super::super::sockets::NAME_TTL, Ok(Vec::new()));
        assert!(l.answers.get("late", t0 + super::super::sockets::NAME_TTL).is_some());
    }

    #[test]
    fn addresses_come_back_as_the_sandbox_allows() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let lookups = std::sync::Mutex::new(Lookups::default());
        let config = serde_json::json!({"sandbox": {"send_to": "10.0.0.0/8"}});
        let limits = Limits::from_config("p", &config);
        let mut waited = Duration::ZERO;
        let r = resolve(&lookups, rt.handle(), &limits, "10.1.2.3", &mut waited);
        assert_eq!(r, Ok(vec!["10.1.2.3".to_owned()]));
        let r = resolve(&lookups, rt.handle(), &limits, "127.0.0.1", &mut waited);
        assert_eq!(r, Err("the plugin's sandbox.send_to allows no address of 127.0.0.1".to_owned()));
        // A call that has waited its share looks nothing more up.
        let mut waited = CALL_WAIT;
        let r = resolve(&lookups, rt.handle(), &limits, "localhost", &mut waited);
        assert_eq!(r, Err("no time left in this call to look localhost up".to_owned()));
    }
}
