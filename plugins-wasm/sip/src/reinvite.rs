//! re-INVITEs in a call (§14): ours for `hold` and `unhold` (our SDP with `a=sendonly`,
//! `recvonly` or `inactive`, then `a=sendrecv` again) and for `update` (the browser's new offer:
//! an ICE restart, a stream added), and the far end's (its hold, or a new address), answered
//! at once with the direction that mirrors its own, as Janus's `autoaccept_reinvites` does.

use ezk_sip_types::Method;
use portunus_sdk::bridge::mirror;
use portunus_sdk::plain_sdp::{self, PlainMedia};
use portunus_sdk::{host, Field, JsonType, Message, NegotiationResult, PluginError, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::call::{CallState, Reinvite};
use crate::headers;
use crate::msg::{self, SipMessage};
use crate::txn::Purpose;
use crate::{code, err, event, json, push, token, Sip, CODES};

/// Our SDPs' session name.
const SDP_NAME: &str = "Portunus SIP";

impl Sip {
    /// `hold` (`direction`: `sendonly`, the default, `recvonly` or `inactive`) and `unhold`:
    /// a re-INVITE with our SDP in that direction (`holding`, `resuming`).
    pub(crate) fn hold(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
        hold: bool,
    ) -> Result<(), PluginError> {
        const FIELDS: &[Field] =
            &[Field::new("direction", JsonType::String), Field::new("headers", JsonType::Object)];
        if self.confirmed_call_id(req.handle.handle).is_none() {
            // As Janus does: ignored out of a call, without an answer.
            portunus_sdk::debug!("[{}] hold/unhold without a call: ignored", req.handle.handle);
            return Ok(());
        }
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let direction = match (hold, body.get("direction").and_then(Value::as_str)) {
            (false, _) => "sendrecv",
            (true, None) => "sendonly",
            (true, Some(d @ ("sendonly" | "recvonly" | "inactive"))) => d,
            (true, Some(d)) => return Err(err(code::INVALID_ELEMENT, format!("Invalid direction {d}"))),
        };
        let handle = req.handle;
        let call_id = self.start_reinvite(handle.handle, Reinvite::Hold)?;
        let a = self.account(handle);
        let Some(c) = a.call.as_mut() else {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        };
        c.hold = hold.then(|| direction.to_owned());
        c.headers = headers::custom(body);
        let secure = a.bridge.srtp_required || a.bridge.remote_secure;
        let sdp = a.bridge.sdp_with_direction(SDP_NAME, secure, direction);
        self.send_reinvite(handle.handle, &sdp);
        let what = if hold { "holding" } else { "resuming" };
        push(handle, Some(&req.transaction), &event(Some(&call_id), json!({"event": what})), None);
        Ok(())
    }

    /// `update` with the browser's new offer: the host answers it, then a re-INVITE carries
    /// our SDP to the far end (`updating`), and its answer brings the browser's (`accepted`).
    pub(crate) fn update(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        if self.confirmed_call_id(req.handle.handle).is_none() {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        }
        portunus_sdk::validate(body, &[Field::new("headers", JsonType::Object)], &CODES)?;
        let Some(jsep) = req.parsed_jsep().filter(|j| !j.sdp.is_empty()) else {
            return Err(err(code::MISSING_SDP, "Missing SDP update"));
        };
        if !jsep.is_offer() {
            return self.answer_updatingcall(req);
        }
        let handle = req.handle;
        let call_id = self.start_reinvite(handle.handle, Reinvite::Update)?;
        let a = self.account(handle);
        if let Some(c) = a.call.as_mut() {
            c.headers = headers::custom(body);
        }
        if let Err(e) = a.bridge.browser_offer(&jsep.sdp, None) {
            if let Some(c) = a.call.as_mut() {
                c.reinvite = None;
            }
            return Err(err(code::MISSING_SDP, e.to_string()));
        }
        push(handle, Some(&req.transaction), &event(Some(&call_id), json!({"event": "updating"})), None);
        Ok(())
    }

    /// The id of the handle's established call (a 2xx was sent or received), if it has one.
    pub(crate) fn confirmed_call_id(&self, handle: u64) -> Option<String> {
        let call = self.accounts.get(&handle).and_then(|a| a.call.as_ref());
        call.filter(|c| c.state == CallState::Confirmed).map(|c| c.call_id.clone())
    }

    /// Marks a re-INVITE of ours under way in the handle's call (one at a time: §14.1);
    /// returns the call's id.
    fn start_reinvite(&mut self, handle: u64, why: Reinvite) -> Result<String, PluginError> {
        let Some(c) = self.accounts.get_mut(&handle).and_then(|a| a.call.as_mut()) else {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        };
        if c.state != CallState::Confirmed {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        }
        if c.reinvite.is_some() {
            return Err(err(code::WRONG_STATE, "Wrong state (a re-INVITE is under way)"));
        }
        c.reinvite = Some(why);
        Ok(c.call_id.clone())
    }

    /// Sends the re-INVITE with `sdp` (and the headers of the request that asked for it).
    pub(crate) fn send_reinvite(&mut self, handle: u64, sdp: &str) {
        let branch = format!("z9hG4bK{}", token());
        let sdp = self.sdp_out(sdp);
        let body = Some(("application/sdp", sdp.as_str()));
        let headers = self.call_headers(handle);
        if let Some((text, to)) = self.in_dialog(handle, Method::INVITE, Some(&branch), body, &headers) {
            self.start_client(handle, Purpose::Invite, &branch, "INVITE", text, to);
        }
    }

    /// The far end answered our re-INVITE: a 2xx is ACKed and its SDP applied; an error leaves
    /// the call as it was, except 481 and 408, which end it (§14.1).
    pub(crate) fn reinvite_response(&mut self, handle: u64, m: &SipMessage, code: u16) {
        if code < 200 {
            return;
        }
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let Some(c) = a.call.as_mut() else { return };
        let (why, call_id) = (c.reinvite.take(), c.call_id.clone());
        if (200..300).contains(&code) {
            self.send_ack(handle, m.cseq().ok().map(|c| c.cseq));
            let Some(a) = self.accounts.get_mut(&handle) else { return };
            let media = match m.sdp().map(|s| plain_sdp::parse(&s)) {
                Some(Ok(media)) => media,
                _ => Vec::new(),
            };
            if why == Some(Reinvite::Update) {
                // The browser's answer, held since the host made it, goes with `accepted`.
                match a.bridge.remote_answer(&media, None) {
                    Ok(answer) => {
                        let accepted = json!({"event": "accepted", "username": a.call.as_ref().map(|c| c.remote_uri.clone())});
                        push(a.handle, None, &event(Some(&call_id), accepted), answer.as_deref());
                    }
                    Err(e) => {
                        portunus_sdk::warn!("[{handle}] the re-INVITE's answer cannot be applied: {e}");
                        self.hang_up_call(handle);
                    }
                }
            } else if let Err(e) = a.bridge.remote_update(&media, None) {
                portunus_sdk::warn!("[{handle}] the re-INVITE's answer cannot be applied: {e}");
            }
            return;
        }
        if why == Some(Reinvite::Update) {
            // The far end keeps the old media; the browser's offer has no answer to take.
            portunus_sdk::warn!("[{handle}] update refused with {code}: the call ends");
            self.hang_up_call(handle);
            return;
        }
        if code == 481 || code == 408 {
            let reason =
                m.status().and_then(|s| s.reason.as_ref()).map(|r| r.to_string()).unwrap_or_default();
            self.call_failed(handle, code, &reason, Some(m));
        } else {
            portunus_sdk::warn!("[{handle}] re-INVITE refused with {code}: the call goes on as it was");
        }
    }

    /// An INVITE in a dialog: a call in progress gets its SDP applied and our answer in the
    /// mirrored direction; a re-INVITE of ours in flight makes it 491, an unknown call 481.
    pub(crate) fn incoming_reinvite(&mut self, from: &str, m: &SipMessage, in_call: Option<u64>) {
        let Some(handle) = in_call else {
            self.respond(0, m, from, 481, "Call/Transaction Does Not Exist", None, &[], None);
            return;
        };
        let local = self.call_local(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let contact = a.contact(&local);
        let Some(c) = a.call.as_ref().filter(|c| c.state == CallState::Confirmed) else {
            self.respond(handle, m, from, 491, "Request Pending", None, &[], None);
            return;
        };
        if c.reinvite.is_some() {
            self.respond(handle, m, from, 491, "Request Pending", None, &[], None);
            return;
        }
        let ours = c.hold.clone();
        let contact = [("Contact", contact.clone())];
        let media = match m.sdp().filter(|s| !s.trim().is_empty()).map(|s| plain_sdp::parse(&s)) {
            Some(Ok(media)) => media,
            Some(Err(_)) => {
                self.respond(handle, m, from, 488, "Not Acceptable Here", None, &[], None);
                return;
            }
            None => {
                // Without SDP (a session refresh, say): our SDP as the offer, the ACK answers.
                let direction = ours.as_deref().unwrap_or("sendrecv");
                let sdp = a.bridge.sdp_with_direction(SDP_NAME, a.bridge.remote_secure, direction);
                if let Some(c) = a.call.as_mut() {
                    c.offer_in_2xx = true;
                }
                self.respond(handle, m, from, 200, "OK", None, &contact, Some(&sdp));
                return;
            }
        };
        if c.manual_reinvites {
            // `autoaccept_reinvites: false`: the browser gets a new offer (`updatingcall`) and
            // answers it with `update`; the phone waits meanwhile.
            self.respond(handle, m, from, 100, "Trying", None, &[], None);
            let Some(a) = self.accounts.get_mut(&handle) else { return };
            let directions = a.bridge.browser_directions(&media);
            match host::redirect(a.handle, &directions) {
                Ok(offer_id) => {
                    if let Some(c) = a.call.as_mut() {
                        let invite = String::from_utf8_lossy(&m.raw).into_owned();
                        c.reinvited = Some(Reinvited { invite, from: from.to_owned(), offer_id });
                    }
                }
                Err(e) => {
                    portunus_sdk::warn!("[{handle}] no new offer for the browser: {e}");
                    self.respond(handle, m, from, 488, "Not Acceptable Here", None, &[], None);
                }
            }
            return;
        }
        self.answer_reinvite(handle, m, from, &media);
    }

    /// Our 200 to the far end's re-INVITE `m` with `media`: the legs point where it says, and
    /// our SDP answers in the mirrored direction (the stricter one when we hold too).
    fn answer_reinvite(&mut self, handle: u64, m: &SipMessage, from: &str, media: &[PlainMedia]) {
        let local = self.call_local(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let contact = [("Contact", a.contact(&local))];
        if let Err(e) = a.bridge.remote_update(media, None) {
            portunus_sdk::warn!("[{handle}] re-INVITE not applied: {e}");
            self.respond(handle, m, from, 488, "Not Acceptable Here", None, &[], None);
            return;
        }
        let ours = a.call.as_ref().and_then(|c| c.hold.clone());
        let theirs = media.iter().find(|m| m.kind.is_some()).map_or("sendrecv", |m| m.direction.as_str());
        let direction = match (mirror(theirs), ours.as_deref()) {
            (d, None | Some("sendrecv")) => d,
            ("sendrecv", Some(o)) => o,
            (d, Some(o)) if d == o => d,
            _ => "inactive",
        };
        let sdp = a.bridge.sdp_with_direction(SDP_NAME, a.bridge.remote_secure, direction);
        self.respond(handle, m, from, 200, "OK", None, &contact, Some(&sdp));
    }

    /// The host's new offer for the browser after the far end's re-INVITE is ready
    /// (`updatingcall` with it), or failed (the re-INVITE gets 488). False when `outcome` is
    /// not that offer's.
    pub(crate) fn reoffer_done(&mut self, handle: u64, outcome: &NegotiationResult) -> bool {
        let Some(a) = self.accounts.get_mut(&handle) else { return false };
        let Some(c) = a.call.as_mut() else { return false };
        if c.reinvited.as_ref().is_none_or(|r| r.offer_id != outcome.id) {
            return false;
        }
        match &outcome.outcome {
            Ok(done) => {
                let mut e = json!({"event": "updatingcall", "username": c.remote_uri, "call_id": c.call_id,
                                   "callee": c.callee});
                if let Some(d) = &c.remote_display {
                    e["displayname"] = json!(format!("\"{d}\""));
                }
                if let Some(invite) = c.reinvited.as_ref().and_then(|r| msg::parse(r.invite.as_bytes()).ok())
                {
                    headers::tag(&mut e, &invite, &a.header_prefixes);
                }
                push(a.handle, None, &event(Some(&c.call_id), e), done.jsep.as_deref());
                portunus_sdk::notify_event(Some(a.handle), || crate::call::told_incoming("updatingcall", c));
            }
            Err(reason) => {
                portunus_sdk::warn!("[{handle}] no new offer for the browser: {reason}");
                let Some(r) = c.reinvited.take() else { return true };
                if let Ok(invite) = msg::parse(r.invite.as_bytes()) {
                    self.respond(handle, &invite, &r.from, 488, "Not Acceptable Here", None, &[], None);
                }
            }
        }
        true
    }

    /// `update` with the browser's answer to `updatingcall` (the host applied it already): the
    /// far end's re-INVITE gets our 200 (`updated`).
    fn answer_updatingcall(&mut self, req: &Message) -> Result<(), PluginError> {
        let a = self.account(req.handle);
        let Some(c) = a.call.as_mut() else {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        };
        let call_id = c.call_id.clone();
        let Some(r) = c.reinvited.take() else {
            let e = "SDP type answer is incompatible with session status incall";
            return Err(err(code::MISSING_SDP, e));
        };
        let invite = msg::parse(r.invite.as_bytes()).map_err(|e| err(code::UNKNOWN, e.0))?;
        let media = invite.sdp().map(|s| plain_sdp::parse(&s)).and_then(Result::ok).unwrap_or_default();
        self.answer_reinvite(req.handle.handle, &invite, &r.from, &media);
        push(req.handle, Some(&req.transaction), &event(Some(&call_id), json!({"event": "updated"})), None);
        Ok(())
    }
}

/// The far end's re-INVITE waiting for the browser's answer (`autoaccept_reinvites: false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reinvited {
    /// The re-INVITE, as it came.
    pub invite: String,
    /// Where from.
    pub from: String,
    /// The host's negotiation of the new offer for the browser.
    pub offer_id: u64,
}
