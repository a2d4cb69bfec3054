//! RFC 3261 §17 transactions, on the host's timers.
//!
//! - Client: over UDP a request is retransmitted from T1 (500 ms), doubling (INVITE: timer A;
//!   others: timer E, capped at T2 = 4 s, and at T2 once a provisional answer came), until a
//!   final answer or 64·T1 (timers B and F: the user hears 408; `sip_timer_t1x64` in the
//!   configuration sets 64·T1, as in Janus); over TCP it is sent once,
//!   with the same timeout. A request sent to a name whose server answers 503 or times out
//!   goes again, as a new transaction, to the name's next server (RFC 3263 §4.3), while it
//!   has one. A provisional answer stops an INVITE's retransmissions and its
//!   timeout. A non-2xx final answer to an INVITE is ACKed here, and again for each
//!   retransmission of it for 64·T1 (timer D).
//! - Server: the last answer to a request is kept, and a retransmitted request gets it again;
//!   a final answer to an INVITE is retransmitted (timer G; over TCP only a 2xx, §13.3.1.4)
//!   until its ACK or 64·T1 (timer H); a non-INVITE's answer is kept for 64·T1 (timer J).

use portunus_sdk::files::millis_now as now_ms;
use portunus_sdk::host;
use serde::{Deserialize, Serialize};

use crate::call::CallState;
use crate::msg::{self, Builder, SipMessage};
use crate::Sip;

/// T1, ms.
pub const T1: u32 = 500;
/// T2, ms.
pub const T2: u32 = 4_000;
/// T4, ms: how long the network may hold a message.
pub const T4: u32 = 5_000;
/// 64·T1, ms: the transactions' timeout unless `sip_timer_t1x64` says another.
pub const TIMEOUT: u32 = 64 * T1;

/// What a timer is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Job {
    /// A client transaction's retransmission or timeout (by key).
    Client(String),
    /// A server INVITE transaction's retransmission of its final answer (by key).
    Server(String),
    /// A finished transaction is forgotten (timers D and J).
    Forget { client: bool, key: String },
    /// An account registers again before its registration expires.
    Reregister(u64),
    /// An account sends a keep-alive (`keepalive_interval`).
    Keepalive(u64),
    /// A subscription is refreshed before it expires (or, ended, forgotten).
    Resubscribe { handle: u64, call_id: String },
}

/// What a client transaction is for: who hears its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// REGISTER (or an unregistration: Expires 0).
    Register,
    /// INVITE (or re-INVITE).
    Invite,
    /// BYE.
    Bye,
    /// CANCEL.
    Cancel,
    /// MESSAGE (its answer is `messagedelivery`).
    Message,
    /// SUBSCRIBE (`subscribe_succeeded`, `subscribe_failed`).
    Subscribe,
    /// INFO (`info`, `dtmf_info`), REFER, NOTIFY: nothing tells their answer.
    Quiet,
}

/// A request of ours waiting for its final answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTxn {
    /// The account's handle.
    pub handle: u64,
    /// What it is for.
    pub purpose: Purpose,
    /// The request as sent.
    pub request: String,
    /// Where it goes (`ip:port`).
    pub to: String,
    /// The next retransmission interval, ms.
    pub interval: u32,
    /// Time since it was sent, ms.
    pub elapsed: u32,
    /// A provisional answer came.
    pub proceeding: bool,
    /// Its timer.
    pub timer: u64,
    /// Completed (a non-2xx answer to an INVITE): the ACK, sent again for retransmissions.
    pub ack: Option<String>,
    /// Completed (the final answer to another request): answers sent again are absorbed
    /// until timer K.
    #[serde(default)]
    pub completed: bool,
    /// When it was last sent (ms since the Unix epoch): a failure of a request last sent
    /// before its name moved on is the server left behind's, and moves the name no further.
    #[serde(default)]
    pub sent_at: u64,
    /// Where its first answer came from (the server its name led to then): an INVITE's
    /// CANCEL and ACKs go there, wherever the name goes later.
    #[serde(default)]
    pub answered: Option<String>,
}

impl ClientTxn {
    /// Still waiting for its final answer.
    pub fn is_live(&self) -> bool {
        self.ack.is_none() && !self.completed
    }
}

/// The answer we gave a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTxn {
    /// The answer as sent.
    pub response: String,
    /// Where it went.
    pub to: String,
    /// It is final.
    pub complete: bool,
    /// An INVITE's final answer still waiting for its ACK: retransmitted.
    pub awaiting_ack: bool,
    /// The next retransmission interval, ms.
    pub interval: u32,
    /// Time since it was sent, ms.
    pub elapsed: u32,
    /// Its timer (0: none).
    pub timer: u64,
    /// The account's handle (0: none).
    pub handle: u64,
}

/// The key of a client transaction: the branch and the method (a CANCEL shares its INVITE's
/// branch, §9.1).
pub fn client_key(branch: &str, method: &str) -> String {
    format!("{branch} {method}")
}

/// The key of a server transaction: an INVITE's (which its ACK, with another branch after a
/// 2xx, must find) is `Call-ID CSeq`, another's its branch and method.
pub fn server_key(m: &SipMessage) -> Option<String> {
    let cseq = m.cseq().ok()?;
    if matches!(cseq.method, ezk_sip_types::Method::INVITE | ezk_sip_types::Method::ACK) {
        Some(format!("{} {}", m.call_id().ok()?, cseq.cseq))
    } else {
        Some(client_key(&m.branch(), &cseq.method.to_string()))
    }
}

impl Sip {
    /// Starts a timer for `job` in `ms`.
    pub(crate) fn schedule(&mut self, job: Job, ms: u32) -> u64 {
        let token = portunus_sdk::rooms::random_u64() | 1;
        host::set_timer(token, ms);
        self.timers.insert(token, job);
        token
    }

    /// Stops a timer.
    pub(crate) fn unschedule(&mut self, token: u64) {
        if token != 0 {
            host::cancel_timer(token);
            self.timers.remove(&token);
        }
    }

    /// Sends a request of ours as a new client transaction (`branch` is its Via's).
    pub(crate) fn start_client(
        &mut self,
        handle: u64,
        purpose: Purpose,
        branch: &str,
        method: &str,
        request: String,
        to: String,
    ) {
        self.send(handle, &to, &request);
        let key = client_key(branch, method);
        // Over TCP, nothing is sent again: the one timer is the timeout.
        let interval =
            if msg::transport_of(&to).0.reliable() { self.timeout() } else { T1.min(self.timeout()) };
        let timer = self.schedule(Job::Client(key.clone()), interval);
        let t = ClientTxn {
            handle,
            purpose,
            request,
            to,
            interval,
            elapsed: 0,
            proceeding: false,
            timer,
            ack: None,
            completed: false,
            sent_at: now_ms(),
            answered: None,
        };
        if let Some(old) = self.clients.insert(key, t) {
            self.unschedule(old.timer);
        }
    }

    /// A timer fired.
    pub(crate) fn on_timer(&mut self, job: Job) {
        match job {
            Job::Client(key) => self.client_timer(&key),
            Job::Server(key) => self.server_timer(&key),
            Job::Forget { client: true, key } => {
                self.clients.remove(&key);
            }
            Job::Forget { client: false, key } => {
                self.servers.remove(&key);
            }
            Job::Reregister(handle) => self.reregister(handle),
            Job::Keepalive(handle) => self.keepalive(handle),
            Job::Resubscribe { handle, call_id } => self.resubscribe(handle, &call_id),
        }
    }

    /// The transactions' timeout, 64·T1 (timers B, F, H; Janus's `sip_timer_t1x64`), ms.
    pub(crate) fn timeout(&self) -> u32 {
        self.conf().t1x64
    }

    fn client_timer(&mut self, key: &str) {
        let timeout = self.timeout();
        let Some(t) = self.clients.get_mut(&key.to_owned()) else { return };
        let invite = t.purpose == Purpose::Invite;
        if invite && t.proceeding {
            return;
        }
        t.elapsed += t.interval;
        if t.elapsed >= timeout {
            let t = self.clients.remove(&key.to_owned()).expect("there");
            // Timers B and F: no final answer. (A CANCEL goes where its INVITE went, §9.1.)
            if t.purpose == Purpose::Cancel || !self.retry_elsewhere(&t) {
                self.no_answer(t.handle, t.purpose, &t.request, 408);
            }
            return;
        }
        t.interval = if invite { t.interval * 2 } else { (t.interval * 2).min(T2) };
        if t.proceeding {
            t.interval = T2;
        }
        // (The timeout comes on time, not at the next retransmission's turn.)
        t.interval = t.interval.min(timeout - t.elapsed);
        t.sent_at = now_ms();
        let (to, request, interval, handle) = (t.to.clone(), t.request.clone(), t.interval, t.handle);
        self.send(handle, &to, &request);
        let timer = self.schedule(Job::Client(key.to_owned()), interval);
        if let Some(t) = self.clients.get_mut(&key.to_owned()) {
            t.timer = timer;
        }
    }

    fn server_timer(&mut self, key: &str) {
        let timeout = self.timeout();
        let Some(t) = self.servers.get_mut(&key.to_owned()) else { return };
        if !t.awaiting_ack {
            return;
        }
        t.elapsed += t.interval;
        if t.elapsed >= timeout {
            // Timer H: no ACK came. A 2xx's call ends (§13.3.1.4).
            let t = self.servers.remove(&key.to_owned()).expect("there");
            if t.response.starts_with("SIP/2.0 2") {
                self.no_ack(t.handle);
            }
            return;
        }
        t.interval = (t.interval * 2).min(T2).min(timeout - t.elapsed);
        let (to, response, interval, handle) = (t.to.clone(), t.response.clone(), t.interval, t.handle);
        self.send(handle, &to, &response);
        let timer = self.schedule(Job::Server(key.to_owned()), interval);
        if let Some(t) = self.servers.get_mut(&key.to_owned()) {
            t.timer = timer;
        }
    }

    /// RFC 3263 §4.3: when `t` went to a name whose server did not serve (503, or no answer in
    /// time) and the name has a next server, sends its request there as a new transaction
    /// (the same request with a new branch; an INVITE's call keeps it for its CANCEL).
    /// An INVITE only while its call waits for it (not hung up meanwhile).
    fn retry_elsewhere(&mut self, t: &ClientTxn) -> bool {
        let (_, dest) = msg::transport_of(&t.to);
        let Ok(sent) = msg::parse(t.request.as_bytes()) else { return false };
        let (Some(line), old) = (sent.request(), sent.branch()) else { return false };
        let call = self.accounts.get(&t.handle).and_then(|a| a.call.as_ref());
        // (Not one a server answered provisionally: its early dialog is that server's.)
        let waits = !t.proceeding
            && call.is_some_and(|c| c.invite == t.request && c.state == CallState::Inviting && !c.cancel);
        if (t.purpose == Purpose::Invite && !waits)
            || dest.parse::<std::net::SocketAddr>().is_ok()
            || !host::next_server(dest, t.sent_at)
        {
            return false;
        }
        let branch = format!("z9hG4bK{}", crate::token());
        let request = t.request.replacen(&old, &branch, 1);
        portunus_sdk::info!("SIP to {}: the server did not serve; on to the next one", t.to);
        if t.purpose == Purpose::Invite {
            if let Some(c) = self.accounts.get_mut(&t.handle).and_then(|a| a.call.as_mut()) {
                c.invite = request.clone();
            }
        }
        let method = line.method.to_string();
        self.start_client(t.handle, t.purpose, &branch, &method, request, t.to.clone());
        true
    }

    /// Nothing sent to `to` will be answered (its TCP connection could not be opened or ended,
    /// its name did not resolve, or the network refused a datagram): the requests sent there
    /// that wait for their final answer fail with 503.
    pub(crate) fn unreachable(&mut self, to: &str) {
        for t in self.take_clients(|t| t.to == to && t.is_live()) {
            portunus_sdk::info!("SIP to {to}: unreachable, no answer will come");
            self.no_answer(t.handle, t.purpose, &t.request, 503);
        }
    }

    /// Forgets a handle's REGISTERs under way (a `refresh` starts over): answers to them find
    /// no transaction and are dropped.
    pub(crate) fn forget_registers(&mut self, handle: u64) {
        self.take_clients(|t| t.handle == handle && t.purpose == Purpose::Register);
    }

    /// Removes the client transactions `which` picks, their timers cancelled.
    fn take_clients(&mut self, which: impl Fn(&ClientTxn) -> bool) -> Vec<ClientTxn> {
        let keys: Vec<String> =
            self.clients.iter().filter(|(_, t)| which(t)).map(|(k, _)| k.clone()).collect();
        let mut taken = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(t) = self.clients.remove(&key) {
                self.unschedule(t.timer);
                taken.push(t);
            }
        }
        taken
    }

    /// A response came: to its client transaction, then to whoever started it. Responses no
    /// transaction waits for are dropped, except an INVITE's retransmitted 2xx, which the
    /// dialog ACKs again.
    pub(crate) fn on_response(&mut self, from: &str, m: &SipMessage) {
        let (Some(status), Ok(cseq)) = (m.status(), m.cseq()) else { return };
        let code = msg::code_of(status);
        let key = client_key(&m.branch(), &cseq.method.to_string());
        let Some(t) = self.clients.get_mut(&key) else {
            if (200..300).contains(&code) && cseq.method == ezk_sip_types::Method::INVITE {
                self.reack(m);
            }
            return;
        };
        let answered = t.answered.get_or_insert_with(|| from.to_owned()).clone();
        if let Some(ack) = &t.ack {
            let (ack, handle) = (ack.clone(), t.handle);
            self.send(handle, &answered, &ack);
            return;
        }
        if t.completed {
            return;
        }
        let (handle, purpose) = (t.handle, t.purpose);
        if code < 200 {
            t.proceeding = true;
        } else {
            let t = self.clients.remove(&key).expect("there");
            self.unschedule(t.timer);
            // (Sent again elsewhere only once this one is ACKed: the ACK goes where it went.)
            let retry = (code == 503 && purpose != Purpose::Cancel).then(|| t.clone());
            if purpose == Purpose::Invite && code >= 300 {
                // §17.1.1.3: the ACK of a non-2xx answer belongs to the transaction.
                if let Some(ack) = ack_for(&t.request, m) {
                    self.send(t.handle, t.answered.as_deref().unwrap_or(&t.to), &ack);
                    let forget =
                        self.schedule(Job::Forget { client: true, key: key.clone() }, self.timeout());
                    self.clients.insert(key, ClientTxn { ack: Some(ack), timer: forget, ..t });
                }
            } else if purpose != Purpose::Invite {
                // §17.1.2.2: completed, the transaction absorbs answers sent again (timer K).
                let forget = self.schedule(Job::Forget { client: true, key: key.clone() }, T4);
                self.clients.insert(key, ClientTxn { completed: true, timer: forget, ..t });
            }
            if retry.is_some_and(|t| self.retry_elsewhere(&t)) {
                return;
            }
        }
        match purpose {
            Purpose::Register => self.register_response(handle, m, code),
            Purpose::Invite => self.invite_response(handle, m, code),
            Purpose::Bye | Purpose::Cancel => self.end_response(handle, purpose, code),
            Purpose::Message => self.message_response(handle, m, code),
            Purpose::Subscribe => self.subscribe_response(handle, m, code),
            Purpose::Quiet => {}
        }
    }

    /// A request: a retransmission gets our answer again; an ACK ends its INVITE's server
    /// transaction; the rest is new.
    pub(crate) fn on_request(&mut self, from: &str, m: &SipMessage) {
        let Some(req) = m.request() else { return };
        let is_ack = req.method == ezk_sip_types::Method::ACK;
        if let Some(key) = server_key(m) {
            if let Some(t) = self.servers.get_mut(&key) {
                if !is_ack {
                    let (response, handle) = (t.response.clone(), t.handle);
                    self.send(handle, from, &response);
                } else if t.awaiting_ack {
                    // §17.2.1: confirmed, the transaction absorbs ACKs sent again (timer I).
                    t.awaiting_ack = false;
                    let timer = std::mem::take(&mut t.timer);
                    self.unschedule(timer);
                    let forget = self.schedule(Job::Forget { client: false, key: key.clone() }, T4);
                    if let Some(t) = self.servers.get_mut(&key) {
                        t.timer = forget;
                    }
                    self.acked(m);
                }
                return;
            }
        }
        if is_ack {
            return;
        }
        self.new_request(from, m);
    }

    /// Answers a request (§8.2.6) and keeps the answer for its retransmissions.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn respond(
        &mut self,
        handle: u64,
        req: &SipMessage,
        to: &str,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        extra: &[(&str, String)],
        sdp: Option<&str>,
    ) {
        let mut b = Builder::response(req, code, Some(reason), to_tag);
        for (name, value) in extra {
            b = b.header(name, value.clone());
        }
        b = b.header("User-Agent", self.user_agent(handle));
        let response = match sdp {
            Some(sdp) => b.finish(Some("application/sdp"), &self.sdp_out(sdp)),
            None => b.finish(None, ""),
        };
        self.send(handle, to, &response);
        let Some(key) = server_key(req) else { return };
        let invite = req.request().is_some_and(|r| r.method == ezk_sip_types::Method::INVITE);
        let complete = code >= 200;
        if let Some(old) = self.servers.remove(&key) {
            self.unschedule(old.timer);
        }
        let mut t = ServerTxn {
            response,
            to: to.to_owned(),
            complete,
            awaiting_ack: invite && complete,
            // Over TCP nothing is sent again (the one timer is timer H), but a 2xx, which the
            // core sends again whatever the transport (§13.3.1.4: a proxy may go on over UDP).
            interval: if msg::transport_of(to).0.reliable() && !(200..300).contains(&code) {
                self.timeout()
            } else {
                T1
            },
            elapsed: 0,
            timer: 0,
            handle,
        };
        t.timer = if t.awaiting_ack {
            self.schedule(Job::Server(key.clone()), t.interval)
        } else if complete {
            self.schedule(Job::Forget { client: false, key: key.clone() }, self.timeout())
        } else {
            0
        };
        self.servers.insert(key, t);
    }
}

/// The ACK of a non-2xx answer to `invite` (§17.1.1.3): the INVITE's Request-URI, top Via,
/// From, Call-ID and Route, the answer's To, CSeq of the INVITE's number.
fn ack_for(invite: &str, response: &SipMessage) -> Option<String> {
    let inv = msg::parse(invite.as_bytes()).ok()?;
    let line = inv.request()?;
    let mut b = Builder::request(ezk_sip_types::Method::ACK, &line.uri);
    b = b.header("Via", inv.header("Via")?);
    b = b.header("Max-Forwards", "70");
    b = b.header("From", inv.header("From")?);
    b = b.header("To", response.header("To")?);
    b = b.header("Call-ID", inv.header("Call-ID")?);
    b = b.header("CSeq", format!("{} ACK", inv.cseq().ok()?.cseq));
    for route in inv.header_all("Route") {
        b = b.header("Route", route);
    }
    Some(b.finish(None, ""))
}
