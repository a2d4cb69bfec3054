//! Transfers (RFC 3515 REFER, RFC 3891 Replaces), as Janus does them: `transfer` sends the
//! far end a REFER to `uri` (blind), or with `replace`, the Call-ID of another call of the
//! account, a Replaces for that call (attended): `transferring`, and the far end's NOTIFYs
//! come as `notify`. A REFER from the far end is accepted (202) and told as `transfer` with a
//! `refer_id`; a `call` with that `refer_id` (from any handle of the account) carries
//! Referred-By and Replaces and reports its progress back in NOTIFYs, and `decline` with it
//! refuses the transfer.

use ezk_sip_types::Method;
use portunus_sdk::{Field, JsonType, Message, PluginError, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::call::{dialog_request, Call, CallState, Us};
use crate::msg::{self, SipMessage};
use crate::txn::Purpose;
use crate::{code, err, event, headers, json, push, token, Sip, CODES};

/// A REFER we accepted, until the call it asked for ends or is declined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// The handle whose call got the REFER.
    pub handle: u64,
    /// That call's dialog, where the NOTIFYs go (a copy: the call may end first).
    pub dialog: Call,
    /// Who asked (Referred-By, else the From of the REFER).
    pub referred_by: String,
    /// The Replaces header the new INVITE carries (attended transfers).
    pub replaces: Option<String>,
}

/// `<sip:bob@host?Replaces=...>`: the URI and its Replaces header, percent-decoded.
fn refer_target(value: &str) -> (String, Option<String>) {
    let inner = value.trim();
    let inner = inner.strip_prefix('<').and_then(|v| v.split('>').next()).unwrap_or(inner);
    let (uri, query) = inner.split_once('?').unwrap_or((inner, ""));
    let replaces = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.eq_ignore_ascii_case("replaces"))
        .map(|(_, v)| percent_decode(v));
    (uri.to_owned(), replaces)
}

/// `%XX` escapes decoded (a bad escape stays as it is).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `;` `=` `%` `?` `&` escaped, for a header inside a URI (RFC 3261 §19.1.1).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match c {
            ';' | '=' | '%' | '?' | '&' | '@' | ' ' | '<' | '>' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

impl Sip {
    /// `transfer{uri, replace?}`: a REFER in the call (`transferring`).
    pub(crate) fn transfer(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("uri", JsonType::String).required(),
            Field::new("replace", JsonType::String),
            Field::new("headers", JsonType::Object),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let handle = req.handle.handle;
        let uri = body.get("uri").and_then(Value::as_str).unwrap_or_default().to_owned();
        let call_id = self
            .accounts
            .get(&handle)
            .and_then(|a| a.call.as_ref())
            .filter(|c| c.state == CallState::Confirmed)
            .map(|c| c.call_id.clone())
            .ok_or_else(|| err(code::WRONG_STATE, "Wrong state (not in a call?)"))?;
        msg::uri(&uri).map_err(|_| err(code::INVALID_ADDRESS, format!("Invalid user address {uri}")))?;
        let refer_to = match body.get("replace").and_then(Value::as_str) {
            None => format!("<{uri}>"),
            Some(replace) => {
                let other = self.calls.get(replace).copied().filter(|h| self.same_account(*h, handle));
                let c = other.and_then(|h| self.accounts.get(&h)?.call.as_ref());
                // A dialog the target can replace: not one still ringing out (RFC 3891 §3: 481).
                let replaceable =
                    |c: &&Call| c.remote_tag.is_some() && (!c.outgoing || c.state == CallState::Confirmed);
                let Some(c) = c.filter(replaceable) else {
                    return Err(err(code::NO_SUCH_CALLID, format!("No such call-ID {replace}")));
                };
                // The tags as the target sees its dialog with us (RFC 3891 §3).
                let replaces = format!(
                    "{};to-tag={};from-tag={}",
                    c.call_id,
                    c.remote_tag.as_deref().unwrap_or_default(),
                    c.local_tag
                );
                format!("<{uri}?Replaces={}>", percent_encode(&replaces))
            }
        };
        let mut extra = vec![("Refer-To".to_owned(), refer_to)];
        if let Some(a) = self.accounts.get(&handle) {
            extra.push(("Referred-By".to_owned(), format!("<{}>", a.username)));
        }
        extra.extend(headers::custom(body));
        let branch = format!("z9hG4bK{}", token());
        let (text, to) = self
            .in_dialog(handle, Method::REFER, Some(&branch), None, &extra)
            .ok_or_else(|| err(code::WRONG_STATE, "Wrong state (not in a call?)"))?;
        self.start_client(handle, Purpose::Quiet, &branch, "REFER", text, to);
        push(
            req.handle,
            Some(&req.transaction),
            &event(Some(&call_id), json!({"event": "transferring"})),
            None,
        );
        Ok(())
    }

    /// A REFER in a call: 202, a first NOTIFY (100 Trying), and `transfer`.
    pub(crate) fn incoming_refer(&mut self, from: &str, m: &SipMessage, in_call: Option<u64>) {
        let Some(handle) = in_call else {
            self.respond(0, m, from, 481, "Call/Transaction Does Not Exist", Some(&token()), &[], None);
            return;
        };
        let Some(refer_to) = m.header("Refer-To") else {
            self.respond(handle, m, from, 400, "Bad Request", None, &[], None);
            return;
        };
        let Some(dialog) = self.accounts.get(&handle).and_then(|a| a.call.clone()) else { return };
        let (target, replaces) = refer_target(&refer_to);
        let referred_by = m
            .header("Referred-By")
            .map(|r| r.trim().to_owned())
            .unwrap_or_else(|| m.from().map(|f| msg::name_addr_uri(&f)).unwrap_or_default());
        self.respond(handle, m, from, 202, "Accepted", None, &[], None);
        let mut refer_id = 0;
        while refer_id == 0 || self.transfers.contains_key(&refer_id) {
            refer_id = portunus_sdk::rooms::random_u64() as u32;
        }
        let t = Transfer { handle, dialog, referred_by: referred_by.clone(), replaces: replaces.clone() };
        self.transfers.insert(refer_id, t);
        self.notify_transferor(refer_id, 100, "Trying");
        let Some(a) = self.accounts.get(&handle) else { return };
        let mut e = json!({"event": "transfer", "refer_id": refer_id, "refer_to": target, "referred_by": referred_by});
        if let Some(r) = &replaces {
            e["replaces"] = json!(r.split(';').next().unwrap_or_default());
        }
        headers::tag(&mut e, m, &a.header_prefixes);
        push(a.handle, None, &event(m.call_id().ok().as_deref(), e), None);
    }

    /// The headers a `call` with `refer_id` adds to its INVITE (Referred-By, Replaces); an
    /// error for an unknown id.
    pub(crate) fn refer_headers(&self, refer_id: u32) -> Result<Vec<(String, String)>, PluginError> {
        let t = self
            .transfers
            .get(&refer_id)
            .ok_or_else(|| err(code::WRONG_STATE, "Wrong state (no transfer?)"))?;
        let mut out = vec![("Referred-By".to_owned(), t.referred_by.clone())];
        if let Some(r) = &t.replaces {
            out.push(("Replaces".to_owned(), r.clone()));
        }
        Ok(out)
    }

    /// `decline` with `refer_id`: the transferor hears the refusal (`code`, 603 unless a
    /// failure code), and the transfer is over (`declining`).
    pub(crate) fn decline_transfer(
        &mut self,
        req: &Message,
        refer_id: u32,
        code: Option<u64>,
    ) -> Result<(), PluginError> {
        if !self.transfers.contains_key(&refer_id) {
            return Err(err(code::WRONG_STATE, "Wrong state (no transfer?)"));
        }
        let code = code.filter(|c| (400..700).contains(c)).unwrap_or(603) as u16;
        self.notify_transferor(refer_id, code, msg::reason_phrase(code));
        let declining = json!({"event": "declining", "refer_id": refer_id, "code": code});
        portunus_sdk::notify_event(
            Some(req.handle),
            || json!({"event": "declined", "refer_id": refer_id, "code": code}),
        );
        push(req.handle, Some(&req.transaction), &event(None, declining), None);
        Ok(())
    }

    /// A NOTIFY to the transferor with how the call it asked for is doing (a sipfrag status
    /// line); a final one ends the subscription and the transfer.
    pub(crate) fn notify_transferor(&mut self, refer_id: u32, code: u16, reason: &str) {
        let Some(t) = self.transfers.get(&refer_id) else { return };
        let handle = t.handle;
        let agent = self.user_agent(handle);
        let locals = self.locals();
        let Some(a) = self.accounts.get_mut(&handle) else {
            self.transfers.remove(&refer_id);
            return;
        };
        let us = Us::of(a, locals, agent);
        let done = code >= 200;
        let state =
            if done { "terminated;reason=noresource".to_owned() } else { "active;expires=60".to_owned() };
        let extra = [("Event".to_owned(), "refer".to_owned()), ("Subscription-State".to_owned(), state)];
        let frag = format!("SIP/2.0 {code} {reason}\r\n");
        let branch = format!("z9hG4bK{}", token());
        let body = Some(("message/sipfrag;version=2.0", frag.as_str()));
        // The call's own dialog while it lasts (one CSeq sequence), else the copy.
        let live = a.call.as_mut().filter(|c| c.call_id == t.dialog.call_id);
        let sent = match live {
            Some(c) => dialog_request(c, &us, Method::NOTIFY, Some(&branch), body, &extra),
            None => {
                let Some(t) = self.transfers.get_mut(&refer_id) else { return };
                dialog_request(&mut t.dialog, &us, Method::NOTIFY, Some(&branch), body, &extra)
            }
        };
        if let Some((text, to)) = sent {
            self.start_client(handle, Purpose::Quiet, &branch, "NOTIFY", text, to);
        }
        if done {
            self.transfers.remove(&refer_id);
        }
    }

    /// The call of handle `handle` ends: the dialog copies of its transfers go on from its
    /// last CSeq.
    pub(crate) fn call_ended(&mut self, handle: u64, c: &Call) {
        // Only the transfers of this call are marked changed (a checkpoint writes those).
        let ids: Vec<u32> = self
            .transfers
            .iter()
            .filter(|(_, t)| t.handle == handle && t.dialog.call_id == c.call_id)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(t) = self.transfers.get_mut(&id) {
                t.dialog.cseq = t.dialog.cseq.max(c.cseq);
            }
        }
    }

    /// A NOTIFY (of the implicit subscription of a REFER of ours, or of a `subscribe`): 200,
    /// and `notify`.
    pub(crate) fn incoming_notify(&mut self, from: &str, m: &SipMessage, in_call: Option<u64>) {
        let Some(handle) = in_call.or_else(|| self.subscription_notify(m)) else {
            self.respond(0, m, from, 481, "Subscription Does Not Exist", Some(&token()), &[], None);
            return;
        };
        self.respond(handle, m, from, 200, "OK", None, &[], None);
        let Some(a) = self.accounts.get(&handle) else { return };
        let mut e = json!({"event": "notify"});
        if let Some(ev) = m.header("Event") {
            e["notify"] = json!(ev.split(';').next().unwrap_or_default().trim());
        }
        if let Some(s) = m.header("Subscription-State") {
            e["substate"] = json!(s.split(';').next().unwrap_or_default().trim());
        }
        if let Some(t) = m.header("Content-Type") {
            e["content-type"] = json!(t.trim());
        }
        e["content"] = json!(String::from_utf8_lossy(&m.body));
        headers::tag(&mut e, m, &a.header_prefixes);
        push(a.handle, None, &event(m.call_id().ok().as_deref(), e), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refer_to_with_and_without_replaces() {
        assert_eq!(refer_target("<sip:carol@10.0.0.1:5070>"), ("sip:carol@10.0.0.1:5070".to_owned(), None));
        let (uri, replaces) = refer_target("<sip:bob@h?Replaces=abc%40x%3Bto-tag%3D1%3Bfrom-tag%3D2&X=y>");
        assert_eq!((uri.as_str(), replaces.as_deref()), ("sip:bob@h", Some("abc@x;to-tag=1;from-tag=2")));
        assert_eq!(percent_decode(&percent_encode("a@b;to-tag=1")), "a@b;to-tag=1");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
