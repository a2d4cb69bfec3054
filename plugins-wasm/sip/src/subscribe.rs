//! Subscriptions (RFC 6665), as Janus's `subscribe` and `unsubscribe` make them: a SUBSCRIBE
//! to `to` (the account itself by default) for an `event` package (`subscribing`, then
//! `subscribe_succeeded` or `subscribe_failed`, digest challenges answered), refreshed before
//! it expires; its NOTIFYs come as `notify`; `unsubscribe` sends Expires 0 (`unsubscribing`).

use ezk_sip_types::Method;
use portunus_sdk::{Field, JsonType, Message, PluginError, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::call::{dialog_request, Call, CallState, Us};
use crate::msg::{self, SipMessage};
use crate::txn::{Job, Purpose};
use crate::{code, digest, err, event, headers, json, push, token, Sip, CODES};

/// Janus's default subscription lifetime, seconds.
const DEFAULT_TTL: u32 = 3600;

/// A subscription of an account's handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// The event package (`presence`, `message-summary`, ...): one subscription per package.
    pub event: String,
    /// `Accept`, if given.
    pub accept: Option<String>,
    /// The lifetime asked for, seconds.
    pub ttl: u32,
    /// Its dialog (the fields a call's dialog has).
    pub dialog: Call,
    /// The application's headers and body for the SUBSCRIBEs.
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, String)>,
    /// The nonce our last SUBSCRIBE answered (a second challenge of it is a failure).
    pub nonce: Option<String>,
    /// `unsubscribe` was asked for: its answer ends the subscription.
    pub ending: bool,
    /// Its refresh timer.
    pub refresh: u64,
}

impl Sip {
    /// `subscribe{event, to?, accept?, subscribe_ttl?, call_id?, headers?, content?, content_type?}`.
    pub(crate) fn subscribe(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("to", JsonType::String),
            Field::new("event", JsonType::String).required(),
            Field::new("accept", JsonType::String),
            Field::new("subscribe_ttl", JsonType::Integer),
            Field::new("call_id", JsonType::String),
            Field::new("headers", JsonType::Object),
            Field::new("content", JsonType::String),
            Field::new("content_type", JsonType::String),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let handle = req.handle;
        let a = self.account(handle);
        if a.reg != crate::account::Reg::Registered {
            return Err(err(code::WRONG_STATE, "Wrong state (not registered)"));
        }
        let event_type = s("event").unwrap_or_default();
        let to = s("to").unwrap_or_else(|| a.username.clone());
        msg::uri(&to).map_err(|_| err(code::INVALID_ADDRESS, format!("Invalid user address {to}")))?;
        let hop = a.next_hop(&to).map_err(|e| err(code::INVALID_ADDRESS, e.0))?;
        let transport = msg::transport_of(&hop).0;
        let ttl = body
            .get("subscribe_ttl")
            .and_then(Value::as_u64)
            .filter(|t| *t > 0)
            .map_or(DEFAULT_TTL, |t| t as u32);
        let call_id = s("call_id").unwrap_or_else(token);
        let dialog = Call {
            transport,
            ..Call::new(call_id.clone(), true, CallState::Inviting, a.username.clone(), to)
        };
        let content = match (s("content_type"), s("content")) {
            (Some(t), Some(c)) => Some((t, c)),
            _ => None,
        };
        let sub = Subscription {
            event: event_type.clone(),
            accept: s("accept"),
            ttl,
            dialog,
            headers: headers::custom(body),
            body: content,
            nonce: None,
            ending: false,
            refresh: 0,
        };
        // A new subscription to a package replaces the old one.
        if let Some(old) = a.subscriptions.iter().position(|s| s.event == event_type) {
            let old = a.subscriptions.remove(old);
            self.subs.remove(&old.dialog.call_id);
            self.unschedule(old.refresh);
        }
        let a = self.account(handle);
        a.subscriptions.push(sub);
        self.subs.insert(call_id.clone(), handle.handle);
        self.send_subscribe(handle.handle, &call_id, None);
        push(
            handle,
            Some(&req.transaction),
            &event(Some(&call_id), json!({"event": "subscribing", "call_id": call_id})),
            None,
        );
        Ok(())
    }

    /// `unsubscribe{event}`: SUBSCRIBE with Expires 0 (`unsubscribing`).
    pub(crate) fn unsubscribe(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        const FIELDS: &[Field] =
            &[Field::new("event", JsonType::String).required(), Field::new("to", JsonType::String)];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let event_type = body.get("event").and_then(Value::as_str).unwrap_or_default();
        let a = self.account(req.handle);
        if a.reg != crate::account::Reg::Registered {
            return Err(err(code::WRONG_STATE, "Wrong state (not registered)"));
        }
        let Some(sub) = a.subscriptions.iter_mut().find(|s| s.event == event_type) else {
            return Err(err(code::WRONG_STATE, "Wrong state (not subscribed to this event)"));
        };
        sub.ending = true;
        let (call_id, refresh) = (sub.dialog.call_id.clone(), std::mem::take(&mut sub.refresh));
        self.unschedule(refresh);
        self.send_subscribe(req.handle.handle, &call_id, None);
        push(
            req.handle,
            Some(&req.transaction),
            &event(Some(&call_id), json!({"event": "unsubscribing"})),
            None,
        );
        Ok(())
    }

    /// Sends the subscription's SUBSCRIBE (Expires 0 when ending), answering a challenge.
    fn send_subscribe(&mut self, handle: u64, call_id: &str, auth: Option<(String, bool)>) {
        let dialog = self
            .accounts
            .get(&handle)
            .and_then(|a| a.subscriptions.iter().find(|s| s.dialog.call_id == call_id));
        if dialog.is_none() {
            return;
        }
        let locals = self.locals();
        let agent = self.user_agent(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let us = Us::of(a, locals, agent);
        let Some(sub) = a.subscriptions.iter_mut().find(|s| s.dialog.call_id == call_id) else { return };
        let expires = if sub.ending { 0 } else { sub.ttl };
        let mut extra =
            vec![("Event".to_owned(), sub.event.clone()), ("Expires".to_owned(), expires.to_string())];
        if let Some(accept) = &sub.accept {
            extra.push(("Accept".to_owned(), accept.clone()));
        }
        if let Some((value, proxy)) = auth {
            extra.push((if proxy { "Proxy-Authorization" } else { "Authorization" }.to_owned(), value));
        }
        extra.extend(sub.headers.iter().cloned());
        let body = sub.body.as_ref().map(|(t, c)| (t.as_str(), c.as_str()));
        let branch = format!("z9hG4bK{}", token());
        if let Some((text, to)) =
            dialog_request(&mut sub.dialog, &us, Method::SUBSCRIBE, Some(&branch), body, &extra)
        {
            self.start_client(handle, Purpose::Subscribe, &branch, "SUBSCRIBE", text, to);
        }
    }

    /// The answer to a SUBSCRIBE: `subscribe_succeeded` (and a refresh before it expires),
    /// a challenge answered once, or `subscribe_failed`.
    pub(crate) fn subscribe_response(&mut self, handle: u64, m: &SipMessage, code: u16) {
        if code < 200 {
            return;
        }
        let Ok(call_id) = m.call_id() else { return };
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let h = a.handle;
        let creds = a.creds.clone();
        let prefixes = a.header_prefixes.clone();
        let Some(i) = a.subscriptions.iter().position(|s| s.dialog.call_id == call_id) else { return };
        let sub = &mut a.subscriptions[i];
        let reason = m.status().and_then(|s| s.reason.as_ref()).map(|r| r.to_string()).unwrap_or_default();
        if (200..300).contains(&code) {
            if sub.ending {
                // Its last NOTIFY (terminated) is still to come: wait for it a while.
                let forget = self.schedule(Job::Resubscribe { handle, call_id: call_id.clone() }, 32_000);
                if let Some(sub) = self.subscription(handle, &call_id) {
                    sub.refresh = forget;
                }
                return;
            }
            let d = &mut sub.dialog;
            if d.remote_tag.is_none() {
                d.remote_tag = m.to().ok().and_then(|t| t.tag.map(|t| t.to_string()));
                d.route = m.record_route().into_iter().rev().collect();
            }
            if let Some(contact) = m.contact() {
                d.target = contact;
            }
            d.state = CallState::Confirmed;
            let granted =
                m.header("Expires").and_then(|e| e.trim().parse::<u32>().ok()).unwrap_or(sub.ttl).max(1);
            let at = if granted > 60 { granted - 30 } else { granted.div_ceil(2) };
            let refresh =
                self.schedule(Job::Resubscribe { handle, call_id: call_id.clone() }, at.saturating_mul(1000));
            if let Some(sub) = self.subscription(handle, &call_id) {
                sub.refresh = refresh;
            }
            let mut e = json!({"event": "subscribe_succeeded", "code": code, "reason": reason});
            headers::tag(&mut e, m, &prefixes);
            push(h, None, &event(Some(&call_id), e), None);
            return;
        }
        if code == 401 || code == 407 {
            if let (Some((ch, proxy)), Some(creds)) = (digest::challenge(&m.headers), creds) {
                if sub.nonce.as_deref() != Some(ch.nonce.as_str()) {
                    sub.nonce = Some(ch.nonce.to_string());
                    let answer = digest::answer(&ch, &creds, "SUBSCRIBE", &sub.dialog.target, &token());
                    self.send_subscribe(handle, &call_id, Some((answer, proxy)));
                    return;
                }
            }
        }
        self.subscription_failed(handle, &call_id, code, &reason, Some(m));
    }

    /// A subscription failed (its SUBSCRIBE was refused or timed out): `subscribe_failed`.
    pub(crate) fn subscription_failed(
        &mut self,
        handle: u64,
        call_id: &str,
        code: u16,
        reason: &str,
        m: Option<&SipMessage>,
    ) {
        let Some(a) = self.accounts.get(&handle) else { return };
        let ending = a.subscriptions.iter().find(|s| s.dialog.call_id == call_id).map(|s| s.ending);
        self.forget_subscription(handle, call_id);
        if ending != Some(false) {
            return;
        }
        let Some(a) = self.accounts.get(&handle) else { return };
        let mut e = json!({"event": "subscribe_failed", "code": code, "reason": reason});
        if let Some(m) = m {
            headers::tag(&mut e, m, &a.header_prefixes);
        }
        push(a.handle, None, &event(Some(call_id), e), None);
    }

    /// Time to refresh a subscription, or to forget an ended one whose last NOTIFY never
    /// came.
    pub(crate) fn resubscribe(&mut self, handle: u64, call_id: &str) {
        let Some(sub) = self.subscription(handle, call_id) else { return };
        sub.refresh = 0;
        if sub.ending {
            self.forget_subscription(handle, call_id);
        } else {
            self.send_subscribe(handle, call_id, None);
        }
    }

    /// A subscription is over.
    fn forget_subscription(&mut self, handle: u64, call_id: &str) {
        if let Some(a) = self.accounts.get_mut(&handle) {
            if let Some(i) = a.subscriptions.iter().position(|s| s.dialog.call_id == call_id) {
                let sub = a.subscriptions.remove(i);
                self.unschedule(sub.refresh);
            }
        }
        self.subs.remove(call_id);
    }

    fn subscription(&mut self, handle: u64, call_id: &str) -> Option<&mut Subscription> {
        self.accounts.get_mut(&handle)?.subscriptions.iter_mut().find(|s| s.dialog.call_id == call_id)
    }

    /// A NOTIFY of a subscription of ours: its dialog learns the far end's tag and Contact,
    /// and a terminated one ends the subscription. Returns the handle, if it is ours.
    pub(crate) fn subscription_notify(&mut self, m: &SipMessage) -> Option<u64> {
        let call_id = m.call_id().ok()?;
        let handle = *self.subs.get(&call_id)?;
        let sub = self.subscription(handle, &call_id)?;
        if sub.dialog.remote_tag.is_none() {
            sub.dialog.remote_tag = m.from().ok().and_then(|f| f.tag.map(|t| t.to_string()));
        }
        if let Some(contact) = m.contact() {
            sub.dialog.target = contact;
        }
        let state = m.header("Subscription-State").unwrap_or_default();
        if state.trim().to_ascii_lowercase().starts_with("terminated") {
            self.forget_subscription(handle, &call_id);
        }
        Some(handle)
    }

    /// The handle goes: its subscriptions are forgotten (their timers stop).
    pub(crate) fn drop_subscriptions(&mut self, handle: u64) {
        let ids: Vec<String> = self
            .accounts
            .get(&handle)
            .map(|a| a.subscriptions.iter().map(|s| s.dialog.call_id.clone()).collect())
            .unwrap_or_default();
        for id in ids {
            self.forget_subscription(handle, &id);
        }
    }
}
