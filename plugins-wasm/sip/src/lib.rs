//! `janus.plugin.sip`: a SIP user agent per handle, bridging the browser's PeerConnection to
//! SIP calls, as Janus's SIP plugin.
//!
//! The whole user agent runs here: messages come and go as datagrams on one UDP socket of the
//! host's (`udp-bind`), or whole over TCP connections the host keeps for a listener on the
//! same address (`tcp-listen`: accounts with `force_tcp`, or whose proxy asks for TCP) or
//! over TLS connections of a listener of their own (`tls-listen`: `sips:` proxies and
//! targets, `transport=tls`), read and written with
//! `ezk-sip-types`; transactions retransmit (over UDP) and time out on the host's timers (RFC
//! 3261 §17); each handle is an account that registers (digest auth), calls and is called.
//! The media never comes here: the SDK's [`Bridge`](portunus_sdk::bridge::Bridge) opens a
//! plain RTP leg of the host per stream and forwards it to and from the browser, and our SDP
//! is the legs' sections.
//!
//! Requests, events and error codes are Janus 1.1's (`janus-api.md` §4.4).

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod account;
mod call;
mod digest;
mod forward;
mod headers;
mod helper;
mod messaging;
mod msg;
mod reinvite;
mod subscribe;
mod transfer;
mod txn;

use std::collections::HashMap;

use portunus_sdk::{
    host, json, ErrorCodes, HandleRef, Keyed, MediaEvent, Message, Plugin, PluginError, PluginInfo, Reply,
    Saved, StateChange, StateEntry, Value,
};
use serde::{Deserialize, Serialize};

use account::Account;
use msg::{SipMessage, Transport};
use txn::{ClientTxn, Job, ServerTxn};

const PACKAGE: &str = "janus.plugin.sip";
const NAME: &str = "JANUS SIP plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str = "This is a simple SIP plugin for Janus, allowing WebRTC peers to register at a SIP server and call SIP user agents through a Janus instance.";

/// Janus's SIP error codes.
mod code {
    pub const UNKNOWN: u32 = 499;
    pub const NO_MESSAGE: u32 = 440;
    pub const INVALID_JSON: u32 = 441;
    pub const INVALID_REQUEST: u32 = 442;
    pub const MISSING_ELEMENT: u32 = 443;
    pub const INVALID_ELEMENT: u32 = 444;
    pub const ALREADY_REGISTERED: u32 = 445;
    pub const INVALID_ADDRESS: u32 = 446;
    pub const WRONG_STATE: u32 = 447;
    pub const MISSING_SDP: u32 = 448;
    pub const IO_ERROR: u32 = 450;
    pub const RECORDING_ERROR: u32 = 451;
    pub const TOO_STRICT: u32 = 452;
    pub const HELPER_ERROR: u32 = 453;
    pub const NO_SUCH_CALLID: u32 = 454;
    pub const NO_SUCH_STREAM: u32 = 455;
}

const CODES: ErrorCodes = ErrorCodes {
    invalid_json: code::INVALID_JSON,
    missing_element: code::MISSING_ELEMENT,
    invalid_element: code::INVALID_ELEMENT,
};

/// The `general` section of `janus.plugin.sip.jcfg`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conf {
    /// The address SIP binds to and names in Via and Contact (`local_ip`).
    pub local_ip: String,
    /// Its port (`local_port`, ours; 0: a free one, as Janus picks).
    pub local_port: u16,
    /// `User-Agent`.
    pub user_agent: String,
    /// Default registration lifetime, seconds (`register_ttl`).
    pub register_ttl: u32,
    /// Seconds between keep-alives of a registered account (`keepalive_interval`; 0: none).
    pub keepalive_interval: u32,
    /// The address our SDP gives for media (`sdp_ip`), when not the host's own (a NAT's).
    pub sdp_ip: Option<std::net::IpAddr>,
    /// Behind a NAT (`behind_nat`): the Contact gives the address the registrar saw (the
    /// `received` and `rport` of its answers' Via).
    pub behind_nat: bool,
    /// Where calls' media binds, and what our SDP gives unless `sdp_ip` does
    /// (`local_media_ip`; none: the host's media address).
    pub local_media_ip: Option<String>,
    /// The port of SIP over TLS on `local_ip` (`local_tls_port`, ours; 0: a free one).
    pub local_tls_port: u16,
    /// The folder of the certificate SIP over TLS shows (`sips_certs_dir`, as Janus's: its
    /// `agent.pem` holds the private key and the certificate chain; none: a self-signed one).
    pub sips_certs_dir: Option<String>,
    /// The transactions' timeout, 64·T1, ms (`sip_timer_t1x64`, as Janus's; below 1: 32000).
    pub t1x64: u32,
}

impl Conf {
    /// The PEM file of SIP over TLS's certificate (`sips_certs_dir`'s `agent.pem`).
    fn sips_certificate(&self) -> Option<String> {
        self.sips_certs_dir.as_ref().map(|dir| format!("{}/agent.pem", dir.trim_end_matches('/')))
    }

    fn from_config(config: &Value) -> Conf {
        let g = &config["general"];
        let text = |k: &str, d: &str| g[k].as_str().filter(|s| !s.is_empty()).unwrap_or(d).to_owned();
        let number = |k: &str, d: u64| match &g[k] {
            Value::Number(n) => n.as_u64().unwrap_or(d),
            Value::String(s) => s.trim().parse().unwrap_or(d),
            _ => d,
        };
        Conf {
            local_ip: text("local_ip", "127.0.0.1"),
            local_port: u16::try_from(number("local_port", 0)).unwrap_or(0),
            user_agent: text("user_agent", "Portunus SIP gateway"),
            register_ttl: u32::try_from(number("register_ttl", 3600)).unwrap_or(3600),
            keepalive_interval: u32::try_from(number("keepalive_interval", 120)).unwrap_or(120),
            sdp_ip: g["sdp_ip"].as_str().and_then(|ip| ip.trim().parse().ok()),
            local_media_ip: g["local_media_ip"]
                .as_str()
                .filter(|ip| ip.trim().parse::<std::net::IpAddr>().is_ok())
                .map(|ip| ip.trim().to_owned()),
            behind_nat: matches!(&g["behind_nat"], Value::Bool(true))
                || g["behind_nat"].as_str().is_some_and(|s| matches!(s.trim(), "true" | "yes" | "1")),
            local_tls_port: u16::try_from(number("local_tls_port", 0)).unwrap_or(0),
            sips_certs_dir: g["sips_certs_dir"].as_str().filter(|d| !d.trim().is_empty()).map(str::to_owned),
            t1x64: u32::try_from(number("sip_timer_t1x64", u64::from(txn::TIMEOUT)))
                .ok()
                .filter(|ms| *ms >= 1)
                .unwrap_or(txn::TIMEOUT),
        }
    }
}

/// Where SIP is bound: UDP's address (TCP listens there too), TLS's.
#[derive(Debug, Clone)]
pub(crate) struct Locals {
    udp: String,
    tls: Option<String>,
}

impl Locals {
    /// Our address over `transport` (`ip:port`, `tcp:ip:port` on the same address,
    /// `tls:ip:port` on TLS's).
    pub fn on(&self, transport: Transport) -> String {
        let bound = if transport == Transport::Tls { self.tls.as_deref() } else { Some(self.udp.as_str()) };
        msg::on(transport, bound.unwrap_or_default())
    }
}

/// The plugin: the accounts (one per handle), the transactions in flight and their timers.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Sip {
    #[serde(skip)]
    conf: Option<Conf>,
    /// The socket and the address it is bound to.
    #[serde(skip)]
    socket: Option<(u32, String)>,
    /// The TCP listener on the same address, when the host gave one.
    #[serde(skip)]
    tcp: Option<u32>,
    /// The TLS listener and its address, when the host gave one.
    #[serde(skip)]
    tls: Option<(u32, String)>,
    /// The addresses bound (UDP's and TCP's, TLS's), saved: a new version, whose `init` bound
    /// free ports anew (`local_port`, `local_tls_port` 0), goes back to those the
    /// registrations and calls know.
    #[serde(skip)]
    bound: Saved<(Option<String>, Option<String>)>,
    /// Per handle.
    accounts: Keyed<u64, Account>,
    /// Client transactions by branch.
    clients: Keyed<String, ClientTxn>,
    /// Server transactions: INVITE ones by `Call-ID CSeq`, others by branch.
    servers: Keyed<String, ServerTxn>,
    /// Timers by token.
    timers: Keyed<u64, Job>,
    /// REFERs we accepted, by `refer_id`.
    transfers: Keyed<u32, transfer::Transfer>,
    /// Call-ID → handle, for the calls in progress (from the accounts).
    #[serde(skip)]
    calls: HashMap<String, u64>,
    /// Registered user → handle (from the accounts).
    #[serde(skip)]
    users: HashMap<String, u64>,
    /// A subscription's Call-ID → its handle (from the accounts).
    #[serde(skip)]
    subs: HashMap<String, u64>,
    /// `master_id` → the account's handle (from the accounts).
    #[serde(skip)]
    masters: HashMap<u32, u64>,
    /// `master_id` → its helper handles (from the accounts).
    #[serde(skip)]
    helpers: HashMap<u32, Vec<u64>>,
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

/// `{"sip": "event", "call_id"?, "result": result}`.
fn event(call_id: Option<&str>, result: Value) -> Value {
    let mut e = json!({"sip": "event", "result": result});
    if let Some(id) = call_id {
        e["call_id"] = json!(id);
    }
    e
}

use portunus_sdk::push_event_logged as push;

/// A fresh random token (tags, branches, Call-IDs), hex.
fn token() -> String {
    format!("{:016x}", portunus_sdk::rooms::random_u64())
}

impl Sip {
    fn conf(&self) -> &Conf {
        static DEFAULT: std::sync::OnceLock<Conf> = std::sync::OnceLock::new();
        self.conf.as_ref().unwrap_or_else(|| DEFAULT.get_or_init(|| Conf::from_config(&Value::Null)))
    }

    /// The `User-Agent` of a handle's requests and answers: its `register`'s `user_agent`, else
    /// the configured one.
    fn user_agent(&self, handle: u64) -> String {
        let own = self.accounts.get(&handle).and_then(|a| a.user_agent.clone());
        own.unwrap_or_else(|| self.conf().user_agent.clone())
    }

    /// Where SIP is bound, over each transport.
    fn locals(&self) -> Locals {
        Locals {
            udp: self.socket.as_ref().map(|(_, a)| a.clone()).unwrap_or_default(),
            tls: self.tls.as_ref().map(|(_, a)| a.clone()),
        }
    }

    /// Where SIP is bound over `transport`.
    fn local_on(&self, transport: Transport) -> String {
        self.locals().on(transport)
    }

    /// Our address for the requests of the account of `handle` (its transport).
    fn account_local(&self, handle: u64) -> String {
        self.local_on(self.accounts.get(&handle).map_or(Transport::Udp, |a| a.transport))
    }

    /// Our address in the call of the account of `handle` (the call's transport, else the
    /// account's).
    fn call_local(&self, handle: u64) -> String {
        let a = self.accounts.get(&handle);
        self.local_on(a.map_or(Transport::Udp, |a| a.call.as_ref().map_or(a.transport, |c| c.transport)))
    }

    /// The socket of a transport, when the host gave one.
    fn socket_of(&self, transport: Transport) -> Option<u32> {
        match transport {
            Transport::Udp => self.socket.as_ref().map(|(s, _)| *s),
            Transport::Tcp => self.tcp,
            Transport::Tls => self.tls.as_ref().map(|(s, _)| *s),
        }
    }

    /// 450 when the plugin has no socket for `transport` (its listener could not be made).
    fn can_use(&self, transport: Transport) -> Result<(), PluginError> {
        match self.socket_of(transport) {
            Some(_) => Ok(()),
            None => Err(err(
                code::IO_ERROR,
                format!("SIP over {}: the plugin could not listen for it (see the log)", transport.via()),
            )),
        }
    }

    /// Our SDP as it goes out: with `sdp_ip`, its `c=` and `o=` lines give that address.
    fn sdp_out(&self, sdp: &str) -> String {
        let Some(ip) = self.conf.as_ref().and_then(|c| c.sdp_ip) else { return sdp.to_owned() };
        let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
        let mut out = String::with_capacity(sdp.len());
        for line in sdp.split_inclusive("\r\n") {
            if line.starts_with("c=IN ") {
                out.push_str(&format!("c=IN {family} {ip}\r\n"));
            } else if let Some(o) = line.strip_prefix("o=") {
                // o=<user> <id> <version> IN <family> <address>
                let fields: Vec<&str> = o.trim_end().split(' ').collect();
                match fields.as_slice() {
                    [user, id, version, "IN", _, _] => {
                        out.push_str(&format!("o={user} {id} {version} IN {family} {ip}\r\n"))
                    }
                    _ => out.push_str(line),
                }
            } else {
                out.push_str(line);
            }
        }
        out
    }

    /// Sends a message for the account of `handle` (0: none) to `to` (over the transport its
    /// address says); a failure is logged (UDP loses datagrams anyway, and the transaction
    /// retransmits or times out). The event handlers hear it (`sip-out`), but OPTIONS, as
    /// Janus's.
    fn send(&self, handle: u64, to: &str, text: &str) {
        let (transport, addr) = msg::transport_of(to);
        let Some(socket) = self.socket_of(transport) else {
            return portunus_sdk::warn!("SIP send to {to}: no {} socket", transport.via());
        };
        portunus_sdk::debug!("SIP to {to}:\n{text}");
        if !text.starts_with("OPTIONS ") {
            self.tell_sip(handle, "sip-out", text);
        }
        if let Err(e) = host::udp_send(socket, addr, text.as_bytes()) {
            portunus_sdk::warn!("SIP send to {to}: {e}");
        }
    }

    /// Tells the event handlers a SIP message sent or received for the account of `handle`.
    fn tell_sip(&self, handle: u64, event: &str, text: &str) {
        if let Some(a) = self.accounts.get(&handle) {
            portunus_sdk::notify_event(Some(a.handle), || json!({"event": event, "sip": text}));
        }
    }

    /// The account a message received is for: a response's transaction's, a request's
    /// dialog's or subscription's (by Call-ID), or its user's.
    fn account_of(&self, m: &SipMessage) -> Option<u64> {
        if m.status().is_some() {
            let cseq = m.cseq().ok()?;
            // (Not the answers to our keep-alive OPTIONS, as Janus.)
            if cseq.method == ezk_sip_types::Method::OPTIONS {
                return None;
            }
            let key = txn::client_key(&m.branch(), &cseq.method.to_string());
            return self.clients.get(&key).map(|t| t.handle);
        }
        let call_id = m.call_id().ok()?;
        if let Some(h) = self.calls.get(call_id.as_str()).or_else(|| self.subs.get(call_id.as_str())) {
            return Some(*h);
        }
        let user = msg::user_of(&m.request()?.uri)?;
        self.users.get(&user).copied()
    }

    /// After a restore: where `init` bound a free port anew (`fresh`) and an older version had
    /// one (`self.bound`), binds that one again (the host still holds it and gives it back)
    /// and closes the new one. A port the configuration names is kept as it is.
    fn rebind(&mut self, fresh: (Option<String>, Option<String>)) {
        let conf = self.conf().clone();
        let (saved_udp, saved_tls) = (*self.bound).clone();
        let moved = |saved: &Option<String>, fresh: &Option<String>, port: u16| {
            let on_ip = |a: &String| a.rsplit_once(':').is_some_and(|(ip, _)| ip == conf.local_ip);
            (port == 0 && saved != fresh && saved.as_ref().is_some_and(on_ip))
                .then(|| saved.clone())
                .flatten()
        };
        if let Some(old) = moved(&saved_udp, &fresh.0, conf.local_port) {
            if let (Ok(udp), Ok(tcp)) = (host::udp_bind(&old), host::tcp_listen(&old)) {
                let new =
                    [self.socket.replace((udp.id, udp.local)).map(|(s, _)| s), self.tcp.replace(tcp.id)];
                new.into_iter().flatten().filter(|s| *s != udp.id && *s != tcp.id).for_each(host::udp_close);
            }
        }
        if let Some(old) = moved(&saved_tls, &fresh.1, conf.local_tls_port) {
            if let Ok(tls) = host::tls_listen(&old, conf.sips_certificate().as_deref()) {
                if let Some((new, _)) = self.tls.replace((tls.id, tls.local)).filter(|(s, _)| *s != tls.id) {
                    host::udp_close(new);
                }
            }
        }
        *self.bound =
            (self.socket.as_ref().map(|(_, a)| a.clone()), self.tls.as_ref().map(|(_, a)| a.clone()));
    }

    /// Rebuilds the indexes from the accounts (after a restore).
    fn reindex(&mut self) {
        self.calls.clear();
        self.users.clear();
        self.masters.clear();
        self.helpers.clear();
        self.subs.clear();
        for (h, a) in self.accounts.iter() {
            for s in &a.subscriptions {
                self.subs.insert(s.dialog.call_id.clone(), *h);
            }
            if let Some(c) = &a.call {
                self.calls.insert(c.call_id.clone(), *h);
            }
            if a.helper {
                self.helpers.entry(a.master_id).or_default().push(*h);
            } else if a.master_id != 0 {
                self.masters.insert(a.master_id, *h);
            }
            if a.is_reachable() && !a.helper {
                self.users.insert(a.user.clone(), *h);
            }
        }
    }

    fn account(&mut self, handle: HandleRef) -> &mut Account {
        if !self.accounts.contains_key(&handle.handle) {
            let mut a = Account::new(handle);
            a.bridge.local_ip = self.conf.as_ref().and_then(|c| c.local_media_ip.clone());
            self.accounts.insert(handle.handle, a);
        }
        self.accounts.get_mut(&handle.handle).expect("just inserted")
    }

    fn process(&mut self, msg: &Message, body: &serde_json::Map<String, Value>) -> Result<(), PluginError> {
        let request = body.get("request").and_then(Value::as_str).ok_or_else(|| {
            if body.contains_key("request") {
                PluginError::invalid_type(code::INVALID_ELEMENT, "request", "a string")
            } else {
                PluginError::missing(code::MISSING_ELEMENT, "request")
            }
        })?;
        match request.to_ascii_lowercase().as_str() {
            "register" => self.register(msg, body),
            "unregister" => self.unregister(msg),
            "call" => self.call(msg, body),
            "accept" => self.accept(msg, body, false),
            "progress" => self.accept(msg, body, true),
            "decline" => self.decline(msg, body),
            "hangup" => self.hangup(msg, body),
            "update" => self.update(msg, body),
            "transfer" => self.transfer(msg, body),
            "subscribe" => self.subscribe(msg, body),
            "send_ringing" => self.send_ringing(msg, body),
            // Janus's way out of a stuck "establishing" flag; our calls have no such flag.
            "reset" => {
                push(msg.handle, Some(&msg.transaction), &event(None, json!({"event": "reset"})), None);
                Ok(())
            }
            "unsubscribe" => self.unsubscribe(msg, body),
            "hold" => self.hold(msg, body, true),
            "unhold" => self.hold(msg, body, false),
            "message" => self.message(msg, body),
            "info" => self.info(msg, body, false),
            "dtmf_info" => self.info(msg, body, true),
            "recording" => self.recording(msg, body),
            // Janus requests this plugin does not do yet: a clear error, not "unknown".
            "rtp_forward" => self.rtp_forward(msg, body),
            "stop_rtp_forward" => self.stop_rtp_forward(msg, body),
            "listforwarders" => self.list_forwarders(msg),
            "keyframe" => self.keyframe(msg, body),
            other => Err(err(code::INVALID_REQUEST, format!("Unknown request ({other})"))),
        }
    }

    /// A datagram on our socket: a response goes to its client transaction, a request to its
    /// server transaction, dialog or account. What does not parse is dropped (UDP: no one to
    /// tell); a request that parses but is wrong gets its SIP error.
    fn on_datagram(&mut self, from: &str, data: &[u8]) {
        let m = match msg::parse(data) {
            Ok(m) => m,
            Err(e) => {
                if data.iter().any(|b| !b.is_ascii_whitespace()) {
                    portunus_sdk::debug!("SIP from {from} dropped: {e}");
                }
                return;
            }
        };
        portunus_sdk::debug!("SIP from {from}:\n{}", String::from_utf8_lossy(data));
        if portunus_sdk::host::events_enabled() {
            if let Some(handle) = self.account_of(&m) {
                self.tell_sip(handle, "sip-in", &String::from_utf8_lossy(data));
            }
        }
        if m.status().is_some() {
            self.on_response(from, &m);
        } else {
            self.on_request(from, &m);
        }
    }
}

impl Plugin for Sip {
    fn init(&mut self, config: &Value) -> Result<PluginInfo, String> {
        let conf = Conf::from_config(config);
        let bind = format!("{}:{}", conf.local_ip, conf.local_port);
        let socket = host::udp_bind(&bind).map_err(|e| format!("cannot bind SIP to {bind}: {e}"))?;
        portunus_sdk::info!("SIP on {}", socket.local);
        // TCP on the same address, for accounts that ask for it (`force_tcp`).
        match host::tcp_listen(&socket.local) {
            Ok(tcp) => self.tcp = Some(tcp.id),
            Err(e) => portunus_sdk::warn!("no SIP over TCP: {e}"),
        }
        // TLS on a port of its own, for `sips:` (Janus's `sips_certs_dir` names the certificate).
        let tls_bind = format!("{}:{}", conf.local_ip, conf.local_tls_port);
        match host::tls_listen(&tls_bind, conf.sips_certificate().as_deref()) {
            Ok(tls) => {
                portunus_sdk::info!("SIP over TLS on {}", tls.local);
                self.tls = Some((tls.id, tls.local));
            }
            Err(e) => portunus_sdk::warn!("no SIP over TLS: {e}"),
        }
        self.bound = Saved::new((Some(socket.local.clone()), self.tls.as_ref().map(|(_, a)| a.clone())));
        self.socket = Some((socket.id, socket.local));
        self.conf = Some(conf);
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: NAME.to_owned(),
            author: AUTHOR.to_owned(),
            description: DESCRIPTION.to_owned(),
            version: 1,
            version_string: "0.0.1".to_owned(),
        })
    }

    fn create_handle(&mut self, handle: HandleRef) -> Result<(), String> {
        self.account(handle);
        Ok(())
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        msg.ack_then(PACKAGE, &CODES, code::NO_MESSAGE, |body| self.process(&msg, body))
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::Negotiation(outcome) => self.negotiation_done(handle, outcome),
            MediaEvent::Negotiated(streams) => self.negotiated(handle, &streams),
            MediaEvent::Hangup(_) => self.peer_gone(handle),
            MediaEvent::Dtmf(d) => self.dtmf_heard(handle.handle, &d),
            _ => {}
        }
    }

    fn timer(&mut self, token: u64) {
        if let Some(job) = self.timers.remove(&token) {
            self.on_timer(job);
        }
    }

    fn datagram(&mut self, socket: u32, from: String, data: Vec<u8>) {
        let transport = [Transport::Tcp, Transport::Tls]
            .into_iter()
            .find(|t| self.socket_of(*t) == Some(socket))
            .unwrap_or(Transport::Udp);
        let from = msg::on(transport, &from);
        if data.is_empty() {
            // The host's word that nothing sent to `from` will be answered.
            return self.unreachable(&from);
        }
        self.on_datagram(&from, &data);
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.peer_gone(handle);
        self.leave_account(handle.handle);
        self.drop_subscriptions(handle.handle);
        if let Some(a) = self.accounts.remove(&handle.handle) {
            if self.users.get(&a.user) == Some(&handle.handle) {
                self.users.remove(&a.user);
            }
        }
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.accounts.get(&handle.handle) {
            Some(a) => a.info(),
            None => json!({}),
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.accounts.save("account/", full, &mut out);
        self.clients.save("client/", full, &mut out);
        self.servers.save("server/", full, &mut out);
        self.timers.save("timer/", full, &mut out);
        self.transfers.save("transfer/", full, &mut out);
        self.bound.save("bound", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.accounts.load("account/", &entries)?;
        self.clients.load("client/", &entries)?;
        self.servers.load("server/", &entries)?;
        self.timers.load("timer/", &entries)?;
        self.transfers.load("transfer/", &entries)?;
        let fresh = (*self.bound).clone();
        self.bound.load("bound", &entries)?;
        self.rebind(fresh);
        self.reindex();
        Ok(())
    }
}

/// The SIP datagram path as the plugin takes it, for the fuzz target: parse, and for what
/// parses the reads a transaction makes. Never panics.
pub fn fuzz_datagram(data: &[u8]) {
    if let Ok(m) = msg::parse(data) {
        let _ = (m.branch(), m.contact(), m.record_route(), m.sdp(), m.header("Expires"));
        if let Some(sdp) = m.sdp() {
            let _ = portunus_sdk::plain_sdp::parse(&sdp);
        }
        let _ = digest::challenge(&m.headers);
    }
}

portunus_sdk::export_plugin!(Sip);
