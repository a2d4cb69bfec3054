//! The `resolve` import: a name's addresses, looked up while the plugin's call waits (Janus
//! looks up `rtp_forward`'s `host` before it answers). So that no request can hold a plugin
//! for long, a call waits [`CALL_WAIT`] at most in all, whatever it asks; answers (and names
//! that have none) are remembered for [`super::sockets::NAME_TTL`]; and only the addresses
//! `sandbox.send_to` allows come back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::limits::Limits;

/// What one call may wait for lookups, in all.
pub const CALL_WAIT: Duration = Duration::from_secs(3);

/// Names remembered at most (the expired ones go first; beyond, a name is not remembered).
const MAX_NAMES: usize = 256;

/// A plugin's remembered answers.
#[derive(Debug, Default)]
pub struct Lookups {
    answers: HashMap<String, (Instant, Result<Vec<IpAddr>, String>)>,
}

impl Lookups {
    /// The answer for `name`, if it came within the last [`super::sockets::NAME_TTL`].
    fn remembered(&self, name: &str, now: Instant) -> Option<Result<Vec<IpAddr>, String>> {
        let (at, answer) = self.answers.get(name)?;
        (now.saturating_duration_since(*at) < super::sockets::NAME_TTL).then(|| answer.clone())
    }

    fn remember(&mut self, name: &str, now: Instant, answer: &Result<Vec<IpAddr>, String>) {
        if self.answers.len() >= MAX_NAMES {
            self.answers.retain(|_, (at, _)| now.saturating_duration_since(*at) < super::sockets::NAME_TTL);
        }
        if self.answers.len() < MAX_NAMES {
            self.answers.insert(name.to_owned(), (now, answer.clone()));
        }
    }
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
            let remembered = lookups.lock().unwrap_or_else(|e| e.into_inner()).remembered(name, now);
            match remembered {
                Some(answer) => answer,
                None => {
                    let left = CALL_WAIT.saturating_sub(*waited);
                    if left.is_zero() {
                        return Err(format!("no time left in this call to look {name} up"));
                    }
                    let answer = super::names::addresses_now(rt, name, &limits.nameservers, left);
                    *waited += now.elapsed();
                    lookups.lock().unwrap_or_else(|e| e.into_inner()).remember(name, now, &answer);
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

    #[test]
    fn answers_are_remembered_for_a_while_and_within_bounds() {
        let mut l = Lookups::default();
        let t0 = Instant::now();
        l.remember("a", t0, &Err("none".to_owned()));
        assert_eq!(l.remembered("a", t0 + Duration::from_secs(1)), Some(Err("none".to_owned())));
        assert_eq!(l.remembered("a", t0 + super::super::sockets::NAME_TTL), None);
        for i in 0..MAX_NAMES * 2 {
            l.remember(&format!("n{i}"), t0, &Ok(Vec::new()));
        }
        assert_eq!(l.answers.len(), MAX_NAMES);
        // Expired ones make room.
        l.remember("late", t0 + super::super::sockets::NAME_TTL, &Ok(Vec::new()));
        assert!(l.remembered("late", t0 + super::super::sockets::NAME_TTL).is_some());
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
