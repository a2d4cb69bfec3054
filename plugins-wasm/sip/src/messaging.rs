//! Messages outside media: SIP MESSAGE (`message`, in a call or to any URI) and INFO in a call
//! (`info`, and `dtmf_info` as `application/dtmf-relay`), both ways.

use ezk_sip_types::Method;
use portunus_sdk::{DtmfEvent, Field, JsonType, Message, PluginError, Value};
use serde_json::Map;

use crate::call::CallState;
use crate::headers;
use crate::msg::{self, Builder, SipMessage};
use crate::txn::Purpose;
use crate::{code, err, event, json, push, token, Sip, CODES};

impl Sip {
    /// `message`: a MESSAGE in the call (or in its early dialog while it rings out), or to `uri`
    /// outside one (`messagesent`, then
    /// `messagedelivery` with the answer's code).
    pub(crate) fn message(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("content", JsonType::String).required(),
            Field::new("content_type", JsonType::String),
            Field::new("uri", JsonType::String),
            Field::new("call_id", JsonType::String),
            Field::new("headers", JsonType::Object),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let (content, kind) = (s("content").unwrap_or_default(), s("content_type"));
        let kind = kind.unwrap_or_else(|| "text/plain".to_owned());
        let handle = req.handle;
        let a = self.account(handle);
        let registered = a.reg == crate::account::Reg::Registered;
        // In a call, or in one still ringing out (its early dialog, if the phone made one), as
        // Janus does.
        let in_call =
            a.call.as_ref().filter(|c| matches!(c.state, CallState::Confirmed | CallState::Inviting));
        let in_call = in_call.map(|c| c.call_id.clone());
        let (call_id, top) = match (s("uri"), in_call) {
            (None, Some(id)) => {
                let branch = format!("z9hG4bK{}", token());
                let sip_body = Some((kind.as_str(), content.as_str()));
                let Some((text, to)) = self.in_dialog(
                    handle.handle,
                    Method::MESSAGE,
                    Some(&branch),
                    sip_body,
                    &headers::custom(body),
                ) else {
                    return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
                };
                self.start_client(handle.handle, Purpose::Message, &branch, "MESSAGE", text, to);
                (id.clone(), Some(id))
            }
            // In the call without a `uri`, as in Janus.
            (None, None) => return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)")),
            (Some(_), _) if !registered => {
                return Err(err(code::WRONG_STATE, "Wrong state (not registered)"))
            }
            (Some(uri), _) => {
                let target = msg::uri(&uri)
                    .map_err(|_| err(code::INVALID_ADDRESS, format!("Invalid user address {uri}")))?;
                let a = self.account(handle);
                let to = a.next_hop(&uri).map_err(|e| err(code::INVALID_ADDRESS, e.0))?;
                let from = msg::uri(&a.username).map_err(|e| err(code::INVALID_ADDRESS, e.0))?;
                let display = a.display.clone();
                let call_id = s("call_id").unwrap_or_else(token);
                let branch = format!("z9hG4bK{}", token());
                let text = Builder::request(Method::MESSAGE, &target)
                    .named(&msg::via(&self.local_on(msg::transport_of(&to).0), &branch))
                    .header("Max-Forwards", "70")
                    .typed(
                        ezk_sip_types::Name::FROM,
                        &msg::from_to(&from, display.as_deref(), Some(&token())),
                    )
                    .typed(ezk_sip_types::Name::TO, &msg::from_to(&target, None, None))
                    .named(&msg::call_id(&call_id))
                    .header("CSeq", "1 MESSAGE")
                    .header("User-Agent", self.user_agent(handle.handle))
                    .custom(&headers::custom(body))
                    .finish(Some(&kind), &content);
                self.start_client(handle.handle, Purpose::Message, &branch, "MESSAGE", text, to);
                (call_id, None)
            }
        };
        let sent = json!({"event": "messagesent", "call_id": call_id});
        push(handle, Some(&req.transaction), &event(top.as_deref(), sent), None);
        Ok(())
    }

    /// A MESSAGE of ours was answered.
    pub(crate) fn message_response(&mut self, handle: u64, m: &SipMessage, code: u16) {
        if code < 200 {
            return;
        }
        let Some(a) = self.accounts.get(&handle) else { return };
        let reason = m.status().and_then(|s| s.reason.as_ref()).map(|r| r.to_string()).unwrap_or_default();
        let delivery = json!({"event": "messagedelivery", "code": code, "reason": reason});
        push(a.handle, None, &event(m.call_id().ok().as_deref(), delivery), None);
    }

    /// `info` (`type`, `content`) and `dtmf_info` (`digit`, `duration`): an INFO in the call
    /// (`infosent`, `dtmfsent`).
    pub(crate) fn info(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
        dtmf: bool,
    ) -> Result<(), PluginError> {
        const INFO: &[Field] = &[
            Field::new("type", JsonType::String).required(),
            Field::new("content", JsonType::String).required(),
            Field::new("headers", JsonType::Object),
        ];
        const DTMF: &[Field] = &[
            Field::new("digit", JsonType::String).required(),
            Field::new("duration", JsonType::Integer),
            Field::new("headers", JsonType::Object),
        ];
        let handle = req.handle;
        let call_id = self
            .confirmed_call_id(handle.handle)
            .ok_or_else(|| err(code::WRONG_STATE, "Wrong state (not in a call?)"))?;
        portunus_sdk::validate(body, if dtmf { DTMF } else { INFO }, &CODES)?;
        let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (kind, content) = if dtmf {
            let digit = s("digit");
            if digit.chars().count() != 1
                || !digit.chars().all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c))
            {
                return Err(err(code::INVALID_ELEMENT, format!("Invalid element (digit: {digit})")));
            }
            let duration = body.get("duration").and_then(Value::as_u64).unwrap_or(160);
            ("application/dtmf-relay".to_owned(), format!("Signal={digit}\r\nDuration={duration}\r\n"))
        } else {
            (s("type"), s("content"))
        };
        let branch = format!("z9hG4bK{}", token());
        let (text, to) = self
            .in_dialog(
                handle.handle,
                Method::INFO,
                Some(&branch),
                Some((&kind, &content)),
                &headers::custom(body),
            )
            .ok_or_else(|| err(code::WRONG_STATE, "Wrong state (not in a call?)"))?;
        self.start_client(handle.handle, Purpose::Quiet, &branch, "INFO", text, to);
        let sent = json!({"event": if dtmf { "dtmfsent" } else { "infosent" }});
        push(handle, Some(&req.transaction), &event(Some(&call_id), sent), None);
        Ok(())
    }

    /// A MESSAGE (in a call, or for a registered user) or an INFO (in a call) came: 200, and
    /// `message` or `info` with who sent what.
    pub(crate) fn incoming_message(&mut self, from: &str, m: &SipMessage, in_call: Option<u64>) {
        let Some(req) = m.request() else { return };
        let is_info = req.method == Method::INFO;
        let handle = match in_call {
            Some(h) => Some(h),
            None if is_info => None,
            None => msg::user_of(&req.uri).and_then(|u| self.users.get(&u).copied()),
        };
        let Some(handle) = handle else {
            let (code, reason) =
                if is_info { (481, "Call/Transaction Does Not Exist") } else { (404, "Not Found") };
            self.respond(0, m, from, code, reason, Some(&token()), &[], None);
            return;
        };
        self.respond(handle, m, from, 200, "OK", Some(&token()), &[], None);
        let Some(a) = self.accounts.get(&handle) else { return };
        let Ok(sender) = m.from() else { return };
        let kind = m.header("Content-Type").map(|t| t.trim().to_owned()).unwrap_or_default();
        let content = String::from_utf8_lossy(&m.body).into_owned();
        let mut e = json!({"sender": msg::name_addr_uri(&sender)});
        if let Some(d) = &sender.uri.name {
            e["displayname"] = json!(format!("\"{d}\""));
        }
        if is_info {
            (e["event"], e["type"], e["content"]) = (json!("info"), json!(kind), json!(content));
        } else {
            (e["event"], e["content"], e["content_type"]) = (json!("message"), json!(content), json!(kind));
        }
        headers::tag(&mut e, m, &a.header_prefixes);
        let call_id = in_call.and_then(|_| m.call_id().ok());
        push(a.handle, None, &event(call_id.as_deref(), e), None);
    }

    /// The far end sent a DTMF digit as an RFC 4733 telephone event on the call's media:
    /// `dtmf` with who sent it, the digit and its duration (in clock units, as Janus tells it).
    pub(crate) fn dtmf_heard(&self, handle: u64, d: &DtmfEvent) {
        let Some(a) = self.accounts.get(&handle) else { return };
        let Some(c) = &a.call else { return };
        let e = json!({"event": "dtmf", "sender": c.remote_uri, "signal": d.digit, "duration": d.duration});
        push(a.handle, None, &event(Some(&c.call_id), e), None);
    }
}
