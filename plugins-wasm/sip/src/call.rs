//! Calls: an INVITE dialog (§12, §13) per account, its media on the account's bridge.
//!
//! Outgoing: `call` has the host answer the browser's offer; once the legs are open our SDP
//! goes out in the INVITE (`calling`); 180 is `ringing`, an 18x with SDP `progress` (early
//! media), the 2xx is ACKed and the browser gets its answer with `accepted`.
//! Incoming: an INVITE for a registered user opens the legs from its SDP, the browser gets
//! the offer with `incomingcall` (the caller hears 180), and `accept` with the browser's
//! answer sends our 200 (`accepted`), `decline` an error. BYE and CANCEL end a call from
//! either side (`hangup`).

use ezk_sip_types::Method;
use portunus_sdk::bridge::{BridgeError, Negotiation, Stage};
use portunus_sdk::plain_sdp;
use portunus_sdk::{
    host, Field, HandleRef, JsonType, Message, NegotiationResult, PluginError, StreamInfo, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::digest::{self, Credentials, Secret};
use crate::headers;
use crate::msg::{self, Builder, SipMessage, Transport};
use crate::txn::Purpose;
use crate::{code, err, event, json, push, token, Sip, CODES};

/// Our SDPs' session name.
const SDP_NAME: &str = "Portunus SIP";

/// The methods we take (`Allow`).
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, REFER, NOTIFY";

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallState {
    /// Outgoing: the host is answering the browser; the INVITE waits for the legs.
    Starting,
    /// Outgoing: the INVITE is out.
    Inviting,
    /// Incoming: waiting for `accept` or `decline`.
    Incoming,
    /// Both sides agreed.
    Confirmed,
    /// Ending: BYE or CANCEL out.
    Ending,
}

/// What a re-INVITE of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reinvite {
    /// `hold` or `unhold`: only the direction changes.
    Hold,
    /// `update`: the browser renegotiated; its answer waits for the far end's.
    Update,
}

/// Where our offer to an INVITE without SDP is, after `progress` asked for it early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EarlyOffer {
    /// It goes in a 183 once the host has it.
    Asked,
    /// As `Asked`, and `accept` came meanwhile (with these headers for the 200): the 200
    /// follows the 183 at once.
    AskedThenAccepted(Vec<(String, String)>),
    /// It went in a 183: the 200 carries it again.
    Sent(String),
}

/// A call's dialog (§12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Call-ID.
    pub call_id: String,
    /// We called.
    pub outgoing: bool,
    /// Where it is.
    pub state: CallState,
    /// Our URI and tag.
    pub local_uri: String,
    pub local_tag: String,
    /// Who was called (the Request-URI of an incoming INVITE).
    #[serde(default)]
    pub callee: String,
    /// The far end's URI, display name and tag.
    pub remote_uri: String,
    pub remote_display: Option<String>,
    pub remote_tag: Option<String>,
    /// Where in-dialog requests go (its Contact; the callee's URI until one comes).
    pub target: String,
    /// The route set, in the order requests carry it.
    pub route: Vec<String>,
    /// Our last CSeq.
    pub cseq: u32,
    /// Our INVITE (for CANCEL), or the far end's (to answer it), as text.
    pub invite: String,
    /// Where the far end's INVITE came from (answers go back there).
    pub peer: String,
    /// How the dialog's requests go (an outgoing call's: as its first hop's; an incoming
    /// one's: as its INVITE came). (Saved as `tcp` before TLS.)
    #[serde(default, alias = "tcp")]
    pub transport: Transport,
    /// The nonce our INVITE answered (a second challenge of it is a failure).
    pub nonce: Option<String>,
    /// The Janus transaction of the request in progress.
    pub transaction: Option<String>,
    /// The far end answered with SDP already (early media).
    pub early: bool,
    /// `hangup` was asked for before the far end answered: CANCEL once it does.
    #[serde(default)]
    pub cancel: bool,
    /// `hangup` was asked for before the ACK of our 2xx came: BYE once it does (§15).
    #[serde(default)]
    pub bye_on_ack: bool,
    /// A re-INVITE of ours is under way, and what asked for it.
    #[serde(default)]
    pub reinvite: Option<Reinvite>,
    /// The direction we last offered (`hold`): none for sendrecv.
    #[serde(default)]
    pub hold: Option<String>,
    /// The application's headers for the requests of ours that go out later (the INVITE and
    /// its retries, a re-INVITE for `update`, the BYE or CANCEL of `hangup`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The CSeq the next ACK carries (a re-INVITE's, when other requests came after it).
    #[serde(default)]
    pub ack_cseq: Option<u32>,
    /// The transfer (`refer_id`) this call was made for: its progress goes to the transferor.
    #[serde(default)]
    pub refer_id: Option<u32>,
    /// An incoming INVITE without SDP: our 200 carries the offer (from the browser's, at
    /// `accept`), the ACK the answer.
    #[serde(default)]
    pub offerless: bool,
    /// Our last 2xx carried an offer (an INVITE or re-INVITE without SDP): its ACK brings the
    /// answer.
    #[serde(default)]
    pub offer_in_2xx: bool,
    /// `progress` of an INVITE without SDP: our offer goes in a 183 (as Janus's, without
    /// reliable provisional answers), and the 200 carries it again; the ACK answers it.
    #[serde(default)]
    pub early_offer: Option<EarlyOffer>,
    /// `autoaccept_reinvites: false`: the far end's re-INVITEs go to the browser first.
    #[serde(default)]
    pub manual_reinvites: bool,
    /// The far end's re-INVITE waiting for the browser's answer.
    #[serde(default)]
    pub reinvited: Option<crate::reinvite::Reinvited>,
    /// The far end's last CSeq in the dialog (requests below it are out of order).
    #[serde(default)]
    pub remote_cseq: Option<u32>,
}

impl Call {
    /// A dialog with nothing exchanged yet: `call_id`, our URI (with a new tag) and the far
    /// end's, where requests go until it gives a Contact.
    pub fn new(
        call_id: String,
        outgoing: bool,
        state: CallState,
        local_uri: String,
        remote_uri: String,
    ) -> Call {
        Call {
            call_id,
            outgoing,
            state,
            local_uri,
            local_tag: token(),
            callee: remote_uri.clone(),
            remote_uri: remote_uri.clone(),
            remote_display: None,
            remote_tag: None,
            target: remote_uri,
            route: Vec::new(),
            cseq: 0,
            invite: String::new(),
            peer: String::new(),
            transport: Transport::Udp,
            nonce: None,
            transaction: None,
            early: false,
            cancel: false,
            bye_on_ack: false,
            reinvite: None,
            headers: Vec::new(),
            hold: None,
            ack_cseq: None,
            refer_id: None,
            offerless: false,
            offer_in_2xx: false,
            early_offer: None,
            manual_reinvites: false,
            reinvited: None,
            remote_cseq: None,
        }
    }
}

fn reason_of(m: &SipMessage) -> String {
    m.status().and_then(|s| s.reason.as_ref()).map(|r| r.to_string()).unwrap_or_default()
}

impl Sip {
    /// `call`: the browser's offer, to `uri`.
    pub(crate) fn call(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("uri", JsonType::String).required(),
            Field::new("call_id", JsonType::String),
            Field::new("srtp", JsonType::String),
            Field::new("srtp_profile", JsonType::String),
            Field::new("headers", JsonType::Object),
            Field::new("refer_id", JsonType::Integer),
            Field::new("autoaccept_reinvites", JsonType::Bool),
            // Credentials for the INVITE's challenges (a guest's, say): they become the account's.
            Field::new("secret", JsonType::String),
            Field::new("ha1_secret", JsonType::String),
            Field::new("authuser", JsonType::String),
        ];
        // The state first, then the fields, as Janus checks them.
        let handle = msg.handle;
        let a = self.account(handle);
        if a.username.is_empty() {
            return Err(err(code::WRONG_STATE, "Wrong state (register first)"));
        }
        if a.reg != crate::account::Reg::Registered {
            return Err(err(code::WRONG_STATE, "Wrong state (not registered)"));
        }
        if a.call.is_some() {
            return Err(err(code::WRONG_STATE, "Wrong state (already in a call?)"));
        }
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let secret = Secret::of(body, true)?;
        let manual_reinvites = body.get("autoaccept_reinvites").and_then(Value::as_bool) == Some(false);
        let refer_id = body.get("refer_id").and_then(Value::as_u64).map(|id| id as u32).filter(|id| *id != 0);
        let mut headers = headers::custom(body);
        if let Some(id) = refer_id {
            headers.extend(self.refer_headers(id)?);
        }
        let a = self.account(handle);
        let uri = body.get("uri").and_then(Value::as_str).unwrap_or_default().to_owned();
        msg::uri(&uri).map_err(|_| err(code::INVALID_ADDRESS, format!("Invalid user address {uri}")))?;
        let hop = a.next_hop(&uri).map_err(|e| err(code::INVALID_ADDRESS, e.0))?;
        let transport = msg::transport_of(&hop).0;
        self.can_use(transport)?;
        let Some(jsep) = msg.parsed_jsep().filter(|j| !j.sdp.is_empty()) else {
            return Err(err(code::MISSING_SDP, "Missing SDP"));
        };
        if !jsep.is_offer() {
            return Err(err(code::MISSING_SDP, "Missing SDP offer"));
        }
        let call_id = body.get("call_id").and_then(Value::as_str).map_or_else(token, str::to_owned);
        if self.calls.contains_key(&call_id) {
            return Err(err(code::INVALID_ELEMENT, "Invalid element (call_id already in use)"));
        }
        let srtp = portunus_sdk::bridge::srtp_of(body, code::INVALID_ELEMENT)?;
        let a = self.account(handle);
        a.bridge.browser_offer(&jsep.sdp, srtp).map_err(coded)?;
        if let Some(secret) = secret {
            let user = text("authuser").or_else(|| a.creds.as_ref().map(|c| c.user.clone()));
            a.creds = Some(Credentials { user: user.unwrap_or_else(|| a.user.clone()), secret });
        } else if let (Some(user), Some(creds)) = (text("authuser"), a.creds.as_mut()) {
            creds.user = user;
        }
        a.call = Some(Call {
            transaction: Some(msg.transaction.clone()),
            headers,
            refer_id,
            manual_reinvites,
            transport,
            ..Call::new(call_id.clone(), true, CallState::Starting, a.username.clone(), uri)
        });
        self.calls.insert(call_id, handle.handle);
        Ok(())
    }

    /// The browser's streams are known: an outgoing call's INVITE goes out with our SDP.
    pub(crate) fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(a) = self.accounts.get_mut(&handle.handle) else { return };
        let Some(sdp) = a.bridge.negotiated(streams, SDP_NAME) else { return };
        if a.call.as_ref().is_some_and(|c| c.reinvite == Some(Reinvite::Update)) {
            self.send_reinvite(handle.handle, &sdp);
            return;
        }
        let offering = |c: &Call| !matches!(c.early_offer, Some(EarlyOffer::Sent(_)));
        if a.call.as_ref().is_some_and(|c| c.offerless && c.state == CallState::Incoming && offering(c)) {
            self.answer_offerless(handle.handle, &sdp);
            return;
        }
        let Some(c) = a.call.as_mut().filter(|c| c.state == CallState::Starting) else { return };
        c.state = CallState::Inviting;
        let (call_id, transaction) = (c.call_id.clone(), c.transaction.take());
        // As Janus, the event handlers hear of the call (with the INVITE's SDP) before the INVITE goes.
        let callee = c.remote_uri.clone();
        portunus_sdk::notify_event(
            Some(handle),
            || json!({"event": "calling", "callee": callee, "call-id": call_id, "sdp": self.sdp_out(&sdp)}),
        );
        self.send_invite(handle.handle, &sdp, None);
        let calling = json!({"event": "calling", "call_id": call_id});
        push(handle, transaction.as_deref(), &event(Some(&call_id), calling), None);
    }

    /// The host's negotiation with the browser: an incoming call's offer is ready
    /// (`incomingcall`), or it failed.
    pub(crate) fn negotiation_done(&mut self, handle: HandleRef, outcome: NegotiationResult) {
        if self.reoffer_done(handle.handle, &outcome) {
            return;
        }
        let Some(a) = self.accounts.get_mut(&handle.handle) else { return };
        match a.bridge.negotiation(outcome) {
            Negotiation::Pending => {}
            Negotiation::BrowserOffer(jsep) => self.tell_incoming(handle.handle, jsep.as_deref()),
            Negotiation::UpdateFailed(reason) => {
                // A renegotiation the host could not answer: the call goes on as it was.
                portunus_sdk::warn!("[{}] update: {reason}", handle.handle);
                let e = err(code::UNKNOWN, format!("The call goes on unchanged: {reason}"));
                e.push_logged(handle, None, crate::PACKAGE);
            }
            Negotiation::Failed(reason) => {
                let Some(c) = a.call.clone() else { return };
                portunus_sdk::warn!("[{}] call {}: {reason}", handle.handle, c.call_id);
                if c.state == CallState::Confirmed {
                    // The bridge closed under a confirmed call: the call ends.
                    err(code::UNKNOWN, reason).push_logged(handle, None, crate::PACKAGE);
                    self.hang_up_call(handle.handle);
                } else if c.outgoing {
                    err(code::UNKNOWN, reason).push_logged(handle, c.transaction.as_deref(), crate::PACKAGE);
                    self.end_call(handle.handle, None);
                } else {
                    self.refuse_incoming(handle.handle, 488, "Not Acceptable Here", None);
                }
            }
        }
    }

    /// `incomingcall`, with the host's offer for the browser (none: the INVITE had no SDP).
    fn tell_incoming(&self, handle: u64, jsep: Option<&str>) {
        let Some(a) = self.accounts.get(&handle) else { return };
        let Some(c) = &a.call else { return };
        let mut incoming = json!({
            "event": "incomingcall",
            "username": c.remote_uri,
            "call_id": c.call_id,
            "callee": c.callee,
        });
        if let Some(d) = &c.remote_display {
            incoming["displayname"] = json!(format!("\"{d}\""));
        }
        if let Ok(invite) = msg::parse(c.invite.as_bytes()) {
            headers::tag(&mut incoming, &invite, &a.header_prefixes);
        }
        if a.bridge.srtp.is_some() {
            incoming["srtp"] = json!(if a.bridge.remote_secure { "sdes_mandatory" } else { "sdes_optional" });
        }
        push(a.handle, None, &event(Some(&c.call_id), incoming), jsep);
        portunus_sdk::notify_event(Some(a.handle), || told_incoming("incomingcall", c));
    }

    /// Sends (or, answering a challenge, sends again) the INVITE of an outgoing call.
    fn send_invite(&mut self, handle: u64, sdp: &str, auth: Option<(String, bool)>) {
        let sdp_out = self.sdp_out(sdp);
        let local = self.call_local(handle);
        let agent = self.user_agent(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let (display, contact, hop) = (
            a.display.clone(),
            a.contact(&local),
            a.next_hop(&a.call.as_ref().map(|c| c.target.clone()).unwrap_or_default()),
        );
        let Some(c) = a.call.as_mut() else { return };
        let (Ok(target), Ok(local_uri), Ok(hop)) = (msg::uri(&c.target), msg::uri(&c.local_uri), hop) else {
            return;
        };
        c.cseq += 1;
        let branch = format!("z9hG4bK{}", token());
        let mut b = Builder::request(Method::INVITE, &target)
            .named(&msg::via(&local, &branch))
            .header("Max-Forwards", "70")
            .typed(
                ezk_sip_types::Name::FROM,
                &msg::from_to(&local_uri, display.as_deref(), Some(&c.local_tag)),
            )
            .typed(ezk_sip_types::Name::TO, &msg::from_to(&target, None, None))
            .named(&msg::call_id(&c.call_id))
            .header("CSeq", format!("{} INVITE", c.cseq))
            .header("Contact", contact.clone())
            .header("Allow", ALLOW)
            .header("User-Agent", agent)
            .custom(&c.headers);
        if let Some((value, proxy)) = auth {
            b = b.header(if proxy { "Proxy-Authorization" } else { "Authorization" }, value);
        }
        let text = b.finish(Some("application/sdp"), &sdp_out);
        c.invite = text.clone();
        self.start_client(handle, Purpose::Invite, &branch, "INVITE", text, hop);
    }

    /// An answer to our INVITE.
    pub(crate) fn invite_response(&mut self, handle: u64, m: &SipMessage, code: u16) {
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let h = a.handle;
        let Some(c) = a.call.as_mut() else {
            // The call is gone: a late 2xx is ACKed and ended (§15).
            return;
        };
        let call_id = c.call_id.clone();
        if c.state == CallState::Confirmed && c.reinvite.is_some() {
            self.reinvite_response(handle, m, code);
            return;
        }
        if let (Some(id), true) = (c.refer_id, code > 100 && c.state != CallState::Confirmed) {
            // A call a transfer asked for: the transferor hears how it goes.
            self.notify_transferor(id, code, &reason_of(m));
        }
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let Some(c) = a.call.as_mut() else { return };
        if code < 200 {
            if code == 100 {
                return;
            }
            if c.cancel {
                self.send_cancel(handle);
                return;
            }
            // A tagged 1xx makes an early dialog (§12.1.2): a `message` can go in it.
            if let Some(tag) = m.to().ok().and_then(|t| t.tag) {
                c.remote_tag = Some(tag.to_string());
                if let Some(contact) = m.contact() {
                    c.target = contact;
                }
                c.route = m.record_route().into_iter().rev().collect();
            }
            let sdp = m.sdp();
            if let (Some(sdp), Stage::Offered) = (&sdp, a.bridge.stage) {
                if let Ok(media) = plain_sdp::parse(sdp) {
                    if let Ok(answer) = a.bridge.remote_answer(&media, None) {
                        c.early = true;
                        let mut progress = json!({"event": "progress", "username": c.remote_uri});
                        headers::tag(&mut progress, m, &a.header_prefixes);
                        portunus_sdk::notify_event(
                            Some(h),
                            || json!({"event": "progress", "call-id": call_id, "username": c.remote_uri}),
                        );
                        push(h, None, &event(Some(&call_id), progress), answer.as_deref());
                        return;
                    }
                }
            }
            // Janus tells a 180 twice: `ringing`, and `proceeding` with the code as for any 18x.
            if code == 180 {
                let mut ringing = json!({"event": "ringing"});
                headers::tag(&mut ringing, m, &a.header_prefixes);
                push(h, None, &event(Some(&call_id), ringing), None);
            }
            push(h, None, &event(Some(&call_id), json!({"event": "proceeding", "code": code})), None);
            portunus_sdk::notify_event(
                Some(h),
                || json!({"event": "proceeding", "call-id": call_id, "code": code}),
            );
            return;
        }
        if (200..300).contains(&code) {
            c.remote_tag = m.to().ok().and_then(|t| t.tag.map(|t| t.to_string()));
            if let Some(contact) = m.contact() {
                c.target = contact;
            }
            c.route = m.record_route().into_iter().rev().collect();
            // The INVITE's CSeq number (a `message` in the early dialog took the next ones).
            self.send_ack(handle, m.cseq().ok().map(|c| c.cseq));
            let Some(a) = self.accounts.get_mut(&handle) else { return };
            let Some(c) = a.call.as_mut() else { return };
            if c.cancel || c.state == CallState::Ending {
                self.send_bye(handle);
                return;
            }
            c.state = CallState::Confirmed;
            let mut answer = None;
            if a.bridge.stage == Stage::Offered {
                let media = m.sdp().map(|s| plain_sdp::parse(&s));
                match media {
                    Some(Ok(media)) => match a.bridge.remote_answer(&media, None) {
                        Ok(jsep) => answer = jsep,
                        Err(e) => portunus_sdk::warn!("[{handle}] the answer cannot be bridged: {e}"),
                    },
                    _ => portunus_sdk::warn!("[{handle}] a 2xx without a usable SDP"),
                }
            }
            let remote = c.remote_uri.clone();
            portunus_sdk::notify_event(
                Some(h),
                || json!({"event": "accepted", "call-id": call_id, "username": remote}),
            );
            let mut accepted = json!({"event": "accepted", "username": remote});
            headers::tag(&mut accepted, m, &a.header_prefixes);
            push(h, None, &event(Some(&call_id), accepted), answer.as_deref());
            return;
        }
        if (code == 401 || code == 407) && c.state == CallState::Inviting && !c.cancel {
            if let (Some((ch, proxy)), Some(creds)) = (digest::challenge(&m.headers), a.creds.clone()) {
                if c.nonce.as_deref() != Some(ch.nonce.as_str()) {
                    c.nonce = Some(ch.nonce.to_string());
                    // The INVITE goes again as the first did: an early dialog a forking proxy's
                    // 1xx made is forgotten.
                    (c.target, c.remote_tag) = (c.remote_uri.clone(), None);
                    c.route.clear();
                    let answer = digest::answer(&ch, &creds, "INVITE", &c.target, &token());
                    let sdp = msg::parse(c.invite.as_bytes()).ok().and_then(|i| i.sdp()).unwrap_or_default();
                    self.send_invite(handle, &sdp, Some((answer, proxy)));
                    return;
                }
            }
        }
        self.call_failed(handle, code, &reason_of(m), Some(m));
    }

    /// The call ends with an error answer `m` (or a timeout, or no answer to it): `hangup`
    /// with its code.
    pub(crate) fn call_failed(&mut self, handle: u64, code: u16, reason: &str, m: Option<&SipMessage>) {
        self.tell_hangup(handle, code, reason, m);
        self.end_call(handle, None);
    }

    /// Tells the browser and the event handlers that the call ended: `hangup` with `code`,
    /// `reason`, and the far end's `Reason` and asked-for headers of `m` (the event handlers
    /// get Janus's `call-id` too).
    fn tell_hangup(&self, handle: u64, code: u16, reason: &str, m: Option<&SipMessage>) {
        let Some(a) = self.accounts.get(&handle) else { return };
        let Some(c) = &a.call else { return };
        let mut hangup = json!({"event": "hangup", "code": code, "reason": reason});
        if let Some(m) = m {
            headers::tag_reason(&mut hangup, m);
            headers::tag(&mut hangup, m, &a.header_prefixes);
        }
        portunus_sdk::notify_event(Some(a.handle), || {
            let mut told = hangup.clone();
            told["call-id"] = json!(c.call_id);
            told
        });
        push(a.handle, None, &event(Some(&c.call_id), hangup), None);
    }

    /// The ACK of our INVITE's 2xx (§13.2.2.4): a request of the dialog of its own.
    pub(crate) fn send_ack(&mut self, handle: u64, cseq: Option<u32>) {
        if let Some(c) = self.accounts.get_mut(&handle).and_then(|a| a.call.as_mut()) {
            c.ack_cseq = cseq;
        }
        let Some((text, to)) = self.in_dialog(handle, Method::ACK, None, None, &[]) else { return };
        self.send(handle, &to, &text);
    }

    /// A 2xx came again: ACK it again.
    pub(crate) fn reack(&mut self, m: &SipMessage) {
        let Ok(id) = m.call_id() else { return };
        let Some(&handle) = self.calls.get(&id) else { return };
        self.send_ack(handle, m.cseq().ok().map(|c| c.cseq));
    }

    /// A request within the call's dialog (ACK, BYE, INFO...), with `body` (its type and text)
    /// and the application's `headers`: its text and where it goes.
    pub(crate) fn in_dialog(
        &mut self,
        handle: u64,
        method: Method,
        branch: Option<&str>,
        body: Option<(&str, &str)>,
        headers: &[(String, String)],
    ) -> Option<(String, String)> {
        let locals = self.locals();
        let agent = self.user_agent(handle);
        let a = self.accounts.get_mut(&handle)?;
        let us = Us::of(a, locals, agent);
        dialog_request(a.call.as_mut()?, &us, method, branch, body, headers)
    }

    fn send_bye(&mut self, handle: u64) {
        let branch = format!("z9hG4bK{}", token());
        let headers = self.call_headers(handle);
        let Some((text, to)) = self.in_dialog(handle, Method::BYE, Some(&branch), None, &headers) else {
            self.end_call(handle, None);
            return;
        };
        if let Some(c) = self.accounts.get_mut(&handle).and_then(|a| a.call.as_mut()) {
            c.state = CallState::Ending;
        }
        self.start_client(handle, Purpose::Bye, &branch, "BYE", text, to);
    }

    /// The application's headers for the call's next request of ours.
    pub(crate) fn call_headers(&self, handle: u64) -> Vec<(String, String)> {
        self.accounts
            .get(&handle)
            .and_then(|a| a.call.as_ref())
            .map(|c| c.headers.clone())
            .unwrap_or_default()
    }

    /// CANCEL of our INVITE (§9.1): its Request-URI, Via, From, To, Call-ID, CSeq number.
    fn send_cancel(&mut self, handle: u64) {
        let Some(c) = self.accounts.get_mut(&handle).and_then(|a| a.call.as_mut()) else { return };
        c.state = CallState::Ending;
        let Ok(inv) = msg::parse(c.invite.as_bytes()) else { return };
        let (Some(line), Ok(cseq)) = (inv.request(), inv.cseq()) else { return };
        let mut b = Builder::request(Method::CANCEL, &line.uri);
        for name in ["Via", "From", "To", "Call-ID"] {
            if let Some(v) = inv.header(name) {
                b = b.header(name, v);
            }
        }
        let b = b.header("Max-Forwards", "70").header("CSeq", format!("{} CANCEL", cseq.cseq));
        let text = b.custom(&c.headers).finish(None, "");
        // (To where the INVITE's answers came from: the server it reached, wherever its name
        // goes now, §9.1.)
        let to = self
            .clients
            .iter()
            .find(|(_, t)| t.handle == handle && t.purpose == Purpose::Invite && t.is_live());
        let Some(to) = to.map(|(_, t)| t.answered.clone().unwrap_or_else(|| t.to.clone())) else { return };
        self.start_client(handle, Purpose::Cancel, &inv.branch(), "CANCEL", text, to);
    }

    /// BYE or CANCEL answered (or timed out): the call is over.
    pub(crate) fn end_response(&mut self, handle: u64, purpose: Purpose, code: u16) {
        if purpose == Purpose::Cancel {
            // The INVITE's own answer (487) ends the call.
            if code >= 300 {
                self.call_failed(handle, 487, "Request Terminated", None);
            }
            return;
        }
        let reason = if code < 300 { "to BYE" } else { "Request Timeout" };
        self.tell_hangup(handle, code, reason, None);
        self.end_call(handle, None);
    }

    /// The call is over here: the bridge and the PeerConnection close.
    pub(crate) fn end_call(&mut self, handle: u64, _why: Option<&str>) {
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let h = a.handle;
        let had_media = !a.bridge.legs.is_empty() || a.bridge.stage != Stage::Idle;
        // (Its forwarders stop with the bridge.)
        a.bridge.close();
        let call = a.call.take();
        if let Some(c) = call {
            self.calls.remove(&c.call_id);
            self.call_ended(handle, &c);
        }
        if had_media {
            host::close_pc(h);
        }
    }

    /// A request that no transaction of ours knows.
    pub(crate) fn new_request(&mut self, from: &str, m: &SipMessage) {
        let Some(req) = m.request() else { return };
        let method = req.method.clone();
        let call_id = m.call_id().unwrap_or_default();
        let in_call = self.calls.get(&call_id).copied();
        if let (Some(handle), false) = (in_call, matches!(method, Method::ACK | Method::CANCEL)) {
            if !self.in_order(handle, m) {
                self.respond(handle, m, from, 500, "Server Internal Error", None, &[], None);
                return;
            }
        }
        match method {
            Method::INVITE if m.to().is_ok_and(|t| t.tag.is_none()) => self.incoming(from, m),
            Method::INVITE => self.incoming_reinvite(from, m, in_call),
            Method::BYE => match in_call {
                Some(handle) => {
                    self.respond(handle, m, from, 200, "OK", None, &[], None);
                    self.remote_hangup(handle, m, 200, "BYE");
                }
                None => self.respond(0, m, from, 481, "Call/Transaction Does Not Exist", None, &[], None),
            },
            Method::CANCEL => {
                let ringing = in_call.filter(|h| {
                    self.accounts
                        .get(h)
                        .and_then(|a| a.call.as_ref())
                        .is_some_and(|c| c.state == CallState::Incoming)
                });
                match ringing {
                    Some(handle) => {
                        self.respond(handle, m, from, 200, "OK", None, &[], None);
                        self.refuse_incoming(handle, 487, "Request Terminated", Some(m));
                    }
                    None => self.respond(0, m, from, 481, "Call/Transaction Does Not Exist", None, &[], None),
                }
            }
            Method::MESSAGE | Method::INFO => self.incoming_message(from, m, in_call),
            Method::REFER => self.incoming_refer(from, m, in_call),
            Method::NOTIFY => self.incoming_notify(from, m, in_call),
            Method::OPTIONS => {
                let allow = [("Allow", ALLOW.to_owned())];
                self.respond(0, m, from, 200, "OK", None, &allow, None)
            }
            _ => self.respond(0, m, from, 405, "Method Not Allowed", None, &[], None),
        }
    }

    /// Whether a request of the far end in the call comes in order: a CSeq below its last one
    /// is out of order (§12.2.2: 500); an in-order one becomes the last.
    fn in_order(&mut self, handle: u64, m: &SipMessage) -> bool {
        let (Some(c), Ok(cseq)) = (self.accounts.get_mut(&handle).and_then(|a| a.call.as_mut()), m.cseq())
        else {
            return true;
        };
        if m.to().is_ok_and(|t| t.tag.is_none()) {
            return true;
        }
        if c.remote_cseq.is_some_and(|last| cseq.cseq < last) {
            return false;
        }
        c.remote_cseq = Some(cseq.cseq);
        true
    }

    /// The far end ended the call with `m` (BYE, CANCEL): `hangup`.
    fn remote_hangup(&mut self, handle: u64, m: &SipMessage, code: u16, reason: &str) {
        self.tell_hangup(handle, code, reason, Some(m));
        self.end_call(handle, None);
    }

    /// A new INVITE: for a registered user, ringing; for a busy one, 486 and `missed_call`.
    fn incoming(&mut self, from: &str, m: &SipMessage) {
        let Some(req) = m.request() else { return };
        let user = msg::user_of(&req.uri).unwrap_or_default();
        let Some(&master) = self.users.get(&user) else {
            self.respond(0, m, from, 404, "Not Found", None, &[], None);
            return;
        };
        let handle = self.free_line(master).unwrap_or(master);
        let (Ok(caller), Ok(callee), Ok(call_id)) = (m.from(), m.to(), m.call_id()) else { return };
        let caller_uri = msg::name_addr_uri(&caller);
        let display = caller.uri.name.as_ref().map(|n| n.to_string());
        let Some(a) = self.accounts.get(&handle) else { return };
        let h = a.handle;
        if a.call.is_some() {
            self.respond(handle, m, from, 486, "Busy Here", Some(&token()), &[], None);
            let mut missed =
                json!({"event": "missed_call", "caller": caller_uri, "callee": msg::name_addr_uri(&callee)});
            if let Some(d) = &display {
                missed["displayname"] = json!(format!("\"{d}\""));
            }
            push(h, None, &event(Some(&call_id), missed), None);
            portunus_sdk::notify_event(
                Some(h),
                || json!({"event": "missed_call", "caller": caller_uri, "callee": msg::name_addr_uri(&callee)}),
            );
            return;
        }
        // Without SDP, the offer goes in our 200 (from the browser's, at `accept`).
        let sdp = m.sdp().filter(|s| !s.trim().is_empty());
        let offerless = sdp.is_none();
        let media = match sdp.map(|s| plain_sdp::parse(&s)) {
            None => Vec::new(),
            Some(Ok(media)) => media,
            Some(Err(_)) => {
                self.respond(handle, m, from, 488, "Not Acceptable Here", Some(&token()), &[], None);
                return;
            }
        };
        let local_tag = token();
        let call = Call {
            // Janus's `callee`: the To URI (behind a registrar, the Request-URI is our Contact).
            callee: msg::name_addr_uri(&callee),
            local_tag: local_tag.clone(),
            remote_display: display,
            remote_tag: caller.tag.as_ref().map(|t| t.to_string()),
            target: m.contact().unwrap_or_default(),
            route: m.record_route(),
            invite: String::from_utf8_lossy(&m.raw).into_owned(),
            peer: from.to_owned(),
            transport: msg::transport_of(from).0,
            offerless,
            remote_cseq: m.cseq().ok().map(|c| c.cseq),
            ..Call::new(call_id.clone(), false, CallState::Incoming, msg::name_addr_uri(&callee), caller_uri)
        };
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        if let (false, Err(e)) = (offerless, a.bridge.remote_offer(&media, None, None)) {
            portunus_sdk::warn!("[{handle}] incoming call {call_id} cannot be bridged: {e}");
            self.respond(handle, m, from, 488, "Not Acceptable Here", Some(&local_tag), &[], None);
            return;
        }
        a.call = Some(call);
        self.calls.insert(call_id, handle);
        if offerless {
            self.tell_incoming(handle, None);
        }
        let local = self.call_local(handle);
        let contact = self.accounts.get(&handle).map(|a| a.contact(&local)).unwrap_or_default();
        let contact = [("Contact", contact)];
        self.respond(handle, m, from, 180, "Ringing", Some(&local_tag), &contact, None);
    }

    /// `send_ringing`: a 180 again for the ringing INVITE (nothing tells it, as in Janus),
    /// with `headers`, as other requests take them.
    pub(crate) fn send_ringing(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        portunus_sdk::validate(body, &[Field::new("headers", JsonType::Object)], &CODES)?;
        let local = self.call_local(msg.handle.handle);
        let a = self.account(msg.handle);
        let contact = a.contact(&local);
        let Some(c) = a.call.clone().filter(|c| c.state == CallState::Incoming) else {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        };
        let inv = msg::parse(c.invite.as_bytes()).map_err(|e| err(code::UNKNOWN, e.0))?;
        let custom = headers::custom(body);
        let extra = headers::with(vec![("Contact", contact.clone())], &custom);
        self.respond(msg.handle.handle, &inv, &c.peer, 180, "Ringing", Some(&c.local_tag), &extra, None);
        Ok(())
    }

    /// Answers the ringing INVITE with an error and forgets the call (`hangup`, with what the
    /// caller's CANCEL `cancel` says).
    fn refuse_incoming(&mut self, handle: u64, code: u16, reason: &str, cancel: Option<&SipMessage>) {
        let Some(c) = self.accounts.get(&handle).and_then(|a| a.call.clone()) else { return };
        if let Ok(inv) = msg::parse(c.invite.as_bytes()) {
            let extra = headers::with(Vec::new(), &c.headers);
            self.respond(handle, &inv, &c.peer, code, reason, Some(&c.local_tag), &extra, None);
        }
        self.tell_hangup(handle, code, reason, cancel);
        self.end_call(handle, None);
    }

    /// `accept` (200) and `progress` (183): our answer to the ringing INVITE, with the SDP of
    /// the browser's answer.
    pub(crate) fn accept(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
        early: bool,
    ) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("srtp", JsonType::String),
            Field::new("srtp_profile", JsonType::String),
            Field::new("headers", JsonType::Object),
            Field::new("autoaccept_reinvites", JsonType::Bool),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let handle = msg.handle;
        let local = self.call_local(handle.handle);
        let a = self.account(handle);
        let contact = a.contact(&local);
        let Some(c) = a.call.as_ref().filter(|c| c.state == CallState::Incoming) else {
            let status =
                a.call.as_ref().map_or("idle".to_owned(), |c| format!("{:?}", c.state).to_ascii_lowercase());
            return Err(err(code::WRONG_STATE, format!("Wrong state (not invited? status={status})")));
        };
        let c = c.clone();
        let jsep = msg.parsed_jsep().filter(|j| !j.sdp.is_empty());
        if c.offerless {
            return self.accept_offerless(msg, body, early, jsep.as_ref());
        }
        if jsep.is_none() {
            return Err(err(code::MISSING_SDP, "Missing SDP"));
        }
        let sdp = if a.bridge.stage == Stage::Up {
            a.bridge.sdp(SDP_NAME, a.bridge.remote_secure)
        } else {
            a.bridge.browser_answer(SDP_NAME).map_err(coded)?
        };
        let inv = msg::parse(c.invite.as_bytes()).map_err(|e| err(code::UNKNOWN, e.0))?;
        let custom = headers::custom(body);
        let extra = headers::with(vec![("Contact", contact.clone())], &custom);
        let (status, reason) = if early { (183, "Session Progress") } else { (200, "OK") };
        self.respond(handle.handle, &inv, &c.peer, status, reason, Some(&c.local_tag), &extra, Some(&sdp));
        let manual_reinvites = body.get("autoaccept_reinvites").and_then(Value::as_bool) == Some(false);
        if let Some(c) = self.account(handle).call.as_mut() {
            c.manual_reinvites = manual_reinvites;
            if !early {
                c.state = CallState::Confirmed;
            }
        }
        let what = if early { "progressed" } else { "accepted" };
        push(handle, Some(&msg.transaction), &event(Some(&c.call_id), json!({"event": what})), None);
        portunus_sdk::notify_event(Some(handle), || json!({"event": what, "call-id": c.call_id}));
        Ok(())
    }

    /// `accept` of an INVITE without SDP, with the browser's offer: the host answers it, and
    /// once the legs are open our 200 carries the offer (`accepting`); the ACK brings the
    /// answer (`accepted`). `progress` puts the offer in a 183 instead (`progressed`), as
    /// Janus's does, and a later `accept` (its JSEP, if any, not needed) sends the 200 with it.
    fn accept_offerless(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
        early: bool,
        jsep: Option<&portunus_sdk::Jsep>,
    ) -> Result<(), PluginError> {
        let (handle, local) = (msg.handle, self.call_local(msg.handle.handle));
        let a = self.account(handle);
        let contact = a.contact(&local);
        let Some(c) = a.call.as_mut() else { return Err(err(code::WRONG_STATE, "Wrong state (no call?)")) };
        match (&c.early_offer, early) {
            (Some(_), true) => return Err(err(code::WRONG_STATE, "Wrong state (status=progress)")),
            (Some(EarlyOffer::AskedThenAccepted(_)), false) => {
                return Err(err(code::WRONG_STATE, "Wrong state (status=accepting)"))
            }
            _ => {}
        }
        c.manual_reinvites = body.get("autoaccept_reinvites").and_then(Value::as_bool) == Some(false);
        let custom = headers::custom(body);
        match c.early_offer.take() {
            // The 200 follows the 183 once the offer is ready, with these headers.
            Some(EarlyOffer::Asked) => c.early_offer = Some(EarlyOffer::AskedThenAccepted(custom)),
            // Our offer went in the 183: the 200 carries it again.
            Some(EarlyOffer::Sent(sdp)) => {
                c.headers = custom;
                let c = c.clone();
                let inv = msg::parse(c.invite.as_bytes()).map_err(|e| err(code::UNKNOWN, e.0))?;
                let extra = headers::with(vec![("Contact", contact)], &c.headers);
                self.respond(handle.handle, &inv, &c.peer, 200, "OK", Some(&c.local_tag), &extra, Some(&sdp));
                if let Some(c) = self.account(handle).call.as_mut() {
                    (c.state, c.offer_in_2xx) = (CallState::Confirmed, true);
                }
            }
            Some(EarlyOffer::AskedThenAccepted(_)) | None => {
                let Some(jsep) = jsep.filter(|j| j.is_offer()) else {
                    return Err(err(code::MISSING_SDP, "Missing SDP offer (the INVITE had none)"));
                };
                let srtp = portunus_sdk::bridge::srtp_of(body, code::INVALID_ELEMENT)?;
                let a = self.account(handle);
                a.bridge.browser_offer(&jsep.sdp, srtp).map_err(coded)?;
                let Some(c) = a.call.as_mut() else {
                    return Err(err(code::WRONG_STATE, "Wrong state (no call?)"));
                };
                (c.headers, c.early_offer) = (custom, early.then_some(EarlyOffer::Asked));
            }
        }
        let call_id = self.account(handle).call.as_ref().map(|c| c.call_id.clone()).unwrap_or_default();
        self.tell_offering(msg, &call_id, if early { "progressed" } else { "accepting" })
    }

    /// Tells the browser and the event handlers that our offer to an INVITE without SDP is
    /// under way (`what`).
    fn tell_offering(&self, msg: &Message, call_id: &str, what: &str) -> Result<(), PluginError> {
        push(msg.handle, Some(&msg.transaction), &event(Some(call_id), json!({"event": what})), None);
        portunus_sdk::notify_event(Some(msg.handle), || json!({"event": what, "call-id": call_id}));
        Ok(())
    }

    /// Our offer for an INVITE without SDP is ready: it goes in the 200, or in a 183 when
    /// `progress` asked for it.
    fn answer_offerless(&mut self, handle: u64, sdp: &str) {
        let local = self.call_local(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let contact = a.contact(&local);
        let Some(c) = a.call.as_mut() else { return };
        // The 183 (with `progress`'s headers) when it was asked for, then the 200 (with
        // `accept`'s) unless only the 183 was.
        let mut answers = vec![(200, "OK", c.headers.clone())];
        match c.early_offer.take() {
            Some(EarlyOffer::Asked) => {
                c.early_offer = Some(EarlyOffer::Sent(sdp.to_owned()));
                answers = vec![(183, "Session Progress", c.headers.clone())];
            }
            Some(EarlyOffer::AskedThenAccepted(then)) => {
                answers.insert(0, (183, "Session Progress", c.headers.clone()));
                answers[1].2 = then.clone();
                c.headers = then;
            }
            Some(EarlyOffer::Sent(_)) | None => {}
        }
        if answers.last().is_some_and(|(status, _, _)| *status == 200) {
            (c.state, c.offer_in_2xx) = (CallState::Confirmed, true);
        }
        let c = c.clone();
        let Ok(inv) = msg::parse(c.invite.as_bytes()) else { return };
        for (status, reason, custom) in answers {
            let extra = headers::with(vec![("Contact", contact.clone())], &custom);
            self.respond(handle, &inv, &c.peer, status, reason, Some(&c.local_tag), &extra, Some(sdp));
        }
    }

    /// `decline`: the ringing INVITE gets `code` (486).
    pub(crate) fn decline(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("code", JsonType::Integer),
            Field::new("headers", JsonType::Object),
            Field::new("refer_id", JsonType::Integer),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        if let Some(id) = body.get("refer_id").and_then(Value::as_u64).filter(|id| *id != 0) {
            return self.decline_transfer(msg, id as u32, body.get("code").and_then(Value::as_u64));
        }
        let a = self.account(msg.handle);
        let Some(c) = a.call.as_mut().filter(|c| c.state == CallState::Incoming) else {
            // Janus ignores a decline without an incoming call (one the caller gave up): no answer.
            portunus_sdk::debug!("[{}] decline without an incoming call: ignored", msg.handle.handle);
            return Ok(());
        };
        // Below 400 is no refusal: Janus sends its default instead.
        let code = body.get("code").and_then(Value::as_u64).filter(|c| *c >= 400).unwrap_or(486);
        if code > 699 {
            return Err(err(code::INVALID_ELEMENT, format!("Invalid SIP response code specified ({code})")));
        }
        c.headers = headers::custom(body);
        let c = c.clone();
        let reason = msg::reason_phrase(code as u16);
        let declining = json!({"event": "declining", "code": code, "call_id": c.call_id});
        push(msg.handle, Some(&msg.transaction), &event(Some(&c.call_id), declining), None);
        portunus_sdk::notify_event(
            Some(msg.handle),
            || json!({"event": "declined", "callee": c.remote_uri, "call-id": c.call_id, "code": code}),
        );
        self.refuse_incoming(msg.handle.handle, code as u16, reason, None);
        Ok(())
    }

    /// `hangup`: BYE, or CANCEL before the far end answered.
    pub(crate) fn hangup(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[Field::new("headers", JsonType::Object)];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let a = self.account(msg.handle);
        // Janus hangs up a call under way or established; it ignores a hangup without one (one
        // that just ended, say) or of a ringing incoming call (that is `decline`): no answer.
        let Some(c) = a.call.as_mut().filter(|c| !matches!(c.state, CallState::Ending | CallState::Incoming))
        else {
            portunus_sdk::debug!("[{}] hangup without a call: ignored", msg.handle.handle);
            return Ok(());
        };
        c.headers = headers::custom(body);
        let call_id = c.call_id.clone();
        self.hang_up_call(msg.handle.handle);
        push(msg.handle, Some(&msg.transaction), &event(Some(&call_id), json!({"event": "hangingup"})), None);
        Ok(())
    }

    /// Ends our side of the call as its state asks.
    pub(crate) fn hang_up_call(&mut self, handle: u64) {
        let Some(c) = self.accounts.get_mut(&handle).and_then(|a| a.call.as_mut()) else { return };
        match c.state {
            CallState::Confirmed if !c.outgoing && awaiting_ack(&self.servers, c) => c.bye_on_ack = true,
            CallState::Confirmed => self.send_bye(handle),
            CallState::Inviting => {
                let proceeding = self.clients.iter().any(|(_, t)| {
                    t.handle == handle && t.purpose == Purpose::Invite && t.is_live() && t.proceeding
                });
                if proceeding {
                    self.send_cancel(handle);
                } else {
                    // §9.1: no CANCEL before a provisional answer; it goes when one comes.
                    c.cancel = true;
                }
            }
            CallState::Incoming => self.refuse_incoming(handle, 480, "Temporarily Unavailable", None),
            CallState::Starting => {
                self.tell_hangup(handle, 487, "Request Terminated", None);
                self.end_call(handle, None);
            }
            CallState::Ending => {}
        }
        // The media stops now, whatever the far end says.
        if let Some(a) = self.accounts.get_mut(&handle) {
            let h = a.handle;
            if !a.bridge.legs.is_empty() {
                a.bridge.close();
                host::close_pc(h);
            }
        }
    }

    /// An ACK of our 2xx came: a `hangup` that waited for it goes out now; after an INVITE
    /// without SDP it carries the answer to our offer (`accepted` with the browser's answer),
    /// after such a re-INVITE the far end's new SDP.
    pub(crate) fn acked(&mut self, m: &SipMessage) {
        let Some(&handle) = m.call_id().ok().and_then(|id| self.calls.get(&id)) else { return };
        let answers = self
            .accounts
            .get_mut(&handle)
            .and_then(|a| a.call.as_mut())
            .is_some_and(|c| std::mem::take(&mut c.offer_in_2xx));
        if let (true, Some(a)) = (answers, self.accounts.get_mut(&handle)) {
            if a.bridge.stage == Stage::Up {
                match m.sdp().map(|s| plain_sdp::parse(&s)) {
                    Some(Ok(media)) => {
                        if let Err(e) = a.bridge.remote_update(&media, None) {
                            portunus_sdk::warn!("[{handle}] the ACK's answer cannot be applied: {e}");
                        }
                    }
                    _ => portunus_sdk::warn!("[{handle}] the ACK brought no usable answer to our offer"),
                }
            } else if a.bridge.stage == Stage::Offered {
                let media = m.sdp().map(|s| plain_sdp::parse(&s));
                let answered = match media {
                    Some(Ok(media)) => a.bridge.remote_answer(&media, None).map_err(|e| e.to_string()),
                    _ => Err("an ACK without SDP".to_owned()),
                };
                let Some(c) = &a.call else { return };
                match answered {
                    Ok(jsep) => {
                        portunus_sdk::notify_event(
                            Some(a.handle),
                            || json!({"event": "accepted", "call-id": c.call_id, "username": c.remote_uri}),
                        );
                        let mut accepted = json!({"event": "accepted", "username": c.remote_uri});
                        headers::tag(&mut accepted, m, &a.header_prefixes);
                        push(a.handle, None, &event(Some(&c.call_id), accepted), jsep.as_deref());
                    }
                    Err(e) => {
                        portunus_sdk::warn!(
                            "[{handle}] the offer in our 200 got no usable answer ({e}): the call ends"
                        );
                        self.send_bye(handle);
                        return;
                    }
                }
            }
        }
        let waiting = self.accounts.get(&handle).and_then(|a| a.call.as_ref()).is_some_and(|c| c.bye_on_ack);
        if waiting {
            self.send_bye(handle);
        }
    }

    /// Our 2xx got no ACK (timer H): the call ends with a BYE.
    pub(crate) fn no_ack(&mut self, handle: u64) {
        if self
            .accounts
            .get(&handle)
            .and_then(|a| a.call.as_ref())
            .is_some_and(|c| c.state == CallState::Confirmed)
        {
            self.send_bye(handle);
        }
    }

    /// The PeerConnection or the handle is gone: the call ends too.
    pub(crate) fn peer_gone(&mut self, handle: HandleRef) {
        self.hang_up_call(handle.handle);
    }
}

fn coded(e: BridgeError) -> PluginError {
    let code = match e {
        BridgeError::WrongState(_) => code::WRONG_STATE,
        BridgeError::InvalidSdp(_) | BridgeError::Host(_) => code::MISSING_SDP,
        BridgeError::Io(_) => code::IO_ERROR,
        BridgeError::TooStrict(_) => code::TOO_STRICT,
    };
    err(code, e.to_string())
}

/// Whether our 2xx to the call's INVITE still waits for its ACK.
fn awaiting_ack(servers: &portunus_sdk::Keyed<String, crate::txn::ServerTxn>, c: &Call) -> bool {
    let Ok(cseq) = msg::parse(c.invite.as_bytes()).and_then(|i| i.cseq()) else { return false };
    servers.get(&format!("{} {}", c.call_id, cseq.cseq)).is_some_and(|t| t.awaiting_ack)
}

/// Who sends a request of ours: our addresses (Via, Contact: the one of the transport the
/// request goes over), `User-Agent`, outbound proxy, and the account.
pub(crate) struct Us {
    pub locals: crate::Locals,
    pub agent: String,
    pub proxy: Option<String>,
    /// The account's user and the address the registrar saw (`behind_nat`).
    pub user: String,
    pub public: Option<String>,
}

impl Us {
    /// Who sends for account `a` from `locals`.
    pub fn of(a: &crate::account::Account, locals: crate::Locals, agent: String) -> Us {
        Us { locals, agent, proxy: a.proxy.clone(), user: a.user.clone(), public: a.public.clone() }
    }
}

/// A request within dialog `c` (§12.2.1.1), with `body` (its type and text) and the
/// application's `headers`: its text and where it goes. The ACK of a 2xx carries the INVITE's
/// CSeq number; other requests a new one.
pub(crate) fn dialog_request(
    c: &mut Call,
    us: &Us,
    method: Method,
    branch: Option<&str>,
    body: Option<(&str, &str)>,
    headers: &[(String, String)],
) -> Option<(String, String)> {
    let target = msg::uri(&c.target).ok()?;
    if method != Method::ACK {
        c.cseq += 1;
    }
    let cseq = if method == Method::ACK { c.ack_cseq.take().unwrap_or(c.cseq) } else { c.cseq };
    let (from_uri, from_tag, to_uri, to_tag) =
        (&c.local_uri, Some(c.local_tag.as_str()), &c.remote_uri, c.remote_tag.as_deref());
    let branch = branch.map_or_else(|| format!("z9hG4bK{}", token()), str::to_owned);
    // Loose routing: the first route's address, else the proxy, else the target's; over the
    // dialog's transport unless the URI asks for another.
    let first_route = c.route.first().and_then(|r| {
        let inner = r.trim().trim_start_matches('<');
        let inner = inner.split('>').next()?;
        msg::address_over(&msg::uri(inner).ok()?, c.transport).ok()
    });
    let to = if c.outgoing || first_route.is_some() {
        let proxy = us.proxy.as_ref().map(|p| msg::on(c.transport, p));
        first_route.or(proxy).or_else(|| msg::address_over(&target, c.transport).ok())?
    } else {
        // The caller's Contact, else where its INVITE came from.
        msg::address_over(&target, c.transport).ok().unwrap_or_else(|| c.peer.clone())
    };
    // Via and Contact say the transport it goes over.
    let local = us.locals.on(msg::transport_of(&to).0);
    let mut b = Builder::request(method.clone(), &target)
        .named(&msg::via(&local, &branch))
        .header("Max-Forwards", "70")
        .typed(ezk_sip_types::Name::FROM, &msg::from_to(&msg::uri(from_uri).ok()?, None, from_tag))
        .typed(ezk_sip_types::Name::TO, &msg::from_to(&msg::uri(to_uri).ok()?, None, to_tag))
        .named(&msg::call_id(&c.call_id))
        .header("CSeq", format!("{cseq} {method}"));
    for r in &c.route {
        b = b.header("Route", r.clone());
    }
    if method != Method::ACK {
        let contact = crate::account::contact(&us.user, us.public.as_deref(), &local);
        b = b.header("Contact", contact).header("User-Agent", us.agent.clone()).custom(headers);
    }
    let text = match body {
        Some((kind, body)) => b.finish(Some(kind), body),
        None => b.finish(None, ""),
    };
    Some((text, to))
}

/// What the event handlers hear of a call coming in (Janus's `incomingcall`) or of the far
/// end's renegotiation (`updatingcall`).
pub(crate) fn told_incoming(kind: &str, c: &Call) -> Value {
    let mut told = json!({"event": kind, "call-id": c.call_id, "username": c.remote_uri, "callee": c.callee});
    if let Some(d) = &c.remote_display {
        told["displayname"] = json!(format!("\"{d}\""));
    }
    told
}
