//! A call between two users: the caller's offer answered (the answer held), the callee offered
//! the caller's streams both ways, and on `accept` one rule each way per stream.

use portunus_sdk::{
    host, AnswerPolicy, Direction, Endpoint, ForwardOptions, ForwardSource, HandleRef, LayerChange,
    MediaKind, Message, NegotiationResult, OfferedStream, PluginError, StreamInfo, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{code, err, json, push, result, str_of, VideoCall, CODES};

/// How far a call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Stage {
    /// The host is answering the caller and offering the callee.
    Setting,
    /// The callee has the offer.
    Ringing,
    /// Accepted: media flows.
    Up,
}

/// One stream of a call: its mid on this side and on the peer's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CallStream {
    pub(crate) kind: MediaKind,
    pub(crate) codec: String,
    pub(crate) mine: String,
    pub(crate) theirs: String,
    /// The rule carrying this side's media on it to the peer.
    pub(crate) rule: Option<u64>,
}

/// A user's call, as that user sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Call {
    pub(crate) peer: HandleRef,
    pub(crate) peer_name: String,
    pub(crate) caller: bool,
    pub(crate) stage: Stage,
    /// The caller's answer, held until the callee accepts.
    pub(crate) answer: Option<String>,
    pub(crate) streams: Vec<CallStream>,
}

impl Call {
    pub(crate) fn up(&self) -> bool {
        self.stage == Stage::Up
    }
}

/// A negotiation the host is doing for a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Pending {
    /// The answer to the caller's offer (the `call` request's transaction).
    CallerAnswer(String),
    /// The offer to the callee: the caller's streams (kind, mid, codec), in the offer's order.
    CalleeOffer(Vec<(MediaKind, String, String)>),
    /// The answer to a renegotiation (`set` with an offer).
    Renegotiation(String),
    /// A renegotiation gave the user new streams: the offer to its peer (`update`), with the
    /// user's new streams (kind, mid, codec).
    PeerUpdate(Vec<(MediaKind, String, String)>),
}

impl VideoCall {
    /// `call` with an offer: the caller hears `calling`, the host answers its offer (the answer
    /// waits for `accept`); once the caller's streams are known, the callee is offered them.
    pub(crate) fn call(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let handle = msg.handle;
        let Some(me) = self.user(handle.handle).and_then(|u| u.username.clone()) else {
            return Err(err(code::REGISTER_FIRST, "Register a username first"));
        };
        const CALL: &[portunus_sdk::Field] =
            &[portunus_sdk::Field::new("username", portunus_sdk::JsonType::String).required()];
        portunus_sdk::validate(body, CALL, &CODES)?;
        let callee_name = str_of(body, "username").unwrap_or_default().to_owned();
        if callee_name == me {
            return Err(err(code::USE_ECHO_TEST, "You can't call yourself... use the EchoTest for that"));
        }
        if self.user(handle.handle).is_some_and(|u| u.call.is_some()) {
            return Err(err(code::ALREADY_IN_CALL, "Already in a call"));
        }
        let Some(callee) = self.names.get(&callee_name).and_then(|h| self.user(*h)).map(|u| u.handle) else {
            return Err(err(code::NO_SUCH_USERNAME, format!("Username '{callee_name}' doesn't exist")));
        };
        if self.user(callee.handle).is_some_and(|u| u.call.is_some()) {
            // Busy: a hangup (with the caller's name, as from Janus); the callee hears nothing.
            let busy = result(json!({"event": "hangup", "username": me, "reason": "User busy"}));
            push(handle, Some(&msg.transaction), &busy, None);
            host::close_pc(handle);
            return Ok(());
        }
        let Some(jsep) = msg.parsed_jsep().filter(|j| !j.sdp.is_empty()) else {
            return Err(err(code::MISSING_SDP, "Missing SDP"));
        };
        if !jsep.is_offer() {
            return Err(err(code::INVALID_SDP, format!("Unsupported SDP type '{}'", jsep.kind)));
        }
        let policy = call_policy();
        let id = host::answer(handle, &jsep.sdp, &policy).map_err(|e| err(code::INVALID_SDP, e))?;
        self.pending.insert((handle.handle, id), Pending::CallerAnswer(msg.transaction.clone()));
        let call = |peer, peer_name: &str, caller| Call {
            peer,
            peer_name: peer_name.to_owned(),
            caller,
            stage: Stage::Setting,
            answer: None,
            streams: Vec::new(),
        };
        if let Some(u) = self.user_mut(handle.handle) {
            u.call = Some(call(callee, &callee_name, true));
        }
        if let Some(u) = self.user_mut(callee.handle) {
            u.call = Some(call(handle, &me, false));
        }
        push(handle, Some(&msg.transaction), &result(json!({"event": "calling"})), None);
        Ok(())
    }

    /// The host answered the caller (the answer waits for `accept`), offered the callee (who
    /// hears `incomingcall`), or answered a renegotiation (`set`).
    pub(crate) fn negotiation_done(&mut self, handle: HandleRef, outcome: NegotiationResult) {
        let Some(pending) = self.pending.remove(&(handle.handle, outcome.id)) else { return };
        let done = match outcome.outcome {
            Ok(done) => done,
            Err(reason) => {
                let transaction = match &pending {
                    Pending::CallerAnswer(t) | Pending::Renegotiation(t) => Some(t.as_str()),
                    Pending::CalleeOffer(_) | Pending::PeerUpdate(_) => None,
                };
                let e = err(code::INVALID_SDP, reason);
                e.push_logged(handle, transaction, crate::PACKAGE);
                if !matches!(pending, Pending::Renegotiation(_) | Pending::PeerUpdate(_)) {
                    self.hang_up(handle, None, "Negotiation failed", None);
                }
                return;
            }
        };
        match pending {
            Pending::CallerAnswer(_) => {
                if let Some(call) = self.user_mut(handle.handle).and_then(|u| u.call.as_mut()) {
                    call.answer = done.jsep;
                }
            }
            Pending::CalleeOffer(theirs) => {
                let Some(call) = self.user_mut(handle.handle).and_then(|u| u.call.as_mut()) else { return };
                call.stage = Stage::Ringing;
                call.streams = theirs
                    .iter()
                    .zip(&done.mids)
                    .map(|((kind, theirs, codec), mine)| CallStream {
                        kind: *kind,
                        codec: codec.clone(),
                        mine: mine.clone(),
                        theirs: theirs.clone(),
                        rule: None,
                    })
                    .collect();
                let (caller, caller_name) = (call.peer, call.peer_name.clone());
                let mirrored: Vec<CallStream> = call
                    .streams
                    .iter()
                    .map(|s| CallStream {
                        kind: s.kind,
                        codec: s.codec.clone(),
                        mine: s.theirs.clone(),
                        theirs: s.mine.clone(),
                        rule: None,
                    })
                    .collect();
                if let Some(c) = self.user_mut(caller.handle).and_then(|u| u.call.as_mut()) {
                    c.stage = Stage::Ringing;
                    c.streams = mirrored;
                }
                let ring = result(json!({"event": "incomingcall", "username": caller_name}));
                push(handle, None, &ring, done.jsep.as_deref());
            }
            Pending::Renegotiation(transaction) => {
                push(handle, Some(&transaction), &result(json!({"event": "set"})), done.jsep.as_deref());
            }
            Pending::PeerUpdate(theirs) => {
                // The new streams join the call on both sides; the peer hears `update` with the
                // offer and answers with `set`.
                let Some(call) = self.user_mut(handle.handle).and_then(|u| u.call.as_mut()) else { return };
                let added: Vec<CallStream> = theirs
                    .iter()
                    .zip(&done.mids)
                    .map(|((kind, theirs, codec), mine)| CallStream {
                        kind: *kind,
                        codec: codec.clone(),
                        mine: mine.clone(),
                        theirs: theirs.clone(),
                        rule: None,
                    })
                    .collect();
                let other = call.peer;
                call.streams.extend(added.iter().cloned());
                if let Some(c) = self.user_mut(other.handle).and_then(|u| u.call.as_mut()) {
                    c.streams.extend(added.into_iter().map(|s| CallStream {
                        kind: s.kind,
                        codec: s.codec,
                        mine: s.theirs,
                        theirs: s.mine,
                        rule: None,
                    }));
                }
                push(handle, None, &result(json!({"event": "update"})), done.jsep.as_deref());
            }
        }
    }

    /// A PeerConnection's streams: the caller's, once answered, are offered to the callee;
    /// in a call that is up, rules that could not be made yet are made.
    pub(crate) fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(call) = self.user(handle.handle).and_then(|u| u.call.as_ref()) else { return };
        if call.up() {
            // A renegotiation that added streams: the peer is offered them (`update`).
            let new: Vec<&StreamInfo> = streams
                .iter()
                .filter(|s| s.client_sends && s.kind != MediaKind::Data)
                .filter(|s| !call.streams.iter().any(|c| c.mine == s.mid))
                .collect();
            if !new.is_empty() {
                let offered: Vec<OfferedStream> = new
                    .iter()
                    .map(|s| {
                        OfferedStream::TwoWay(ForwardSource {
                            source: Endpoint::Peer(handle),
                            mid: s.mid.clone(),
                        })
                    })
                    .collect();
                let theirs = new.iter().map(|s| (s.kind, s.mid.clone(), s.codec.clone())).collect();
                match host::offer(call.peer, &offered) {
                    Ok(id) => {
                        self.pending.insert((call.peer.handle, id), Pending::PeerUpdate(theirs));
                    }
                    Err(e) => portunus_sdk::warn!("[{}] could not update the peer: {e}", handle.handle),
                }
            }
            self.connect(handle);
            return;
        }
        if !(call.caller && call.stage == Stage::Setting) {
            return;
        }
        let callee = call.peer;
        let mut offered = Vec::new();
        let mut theirs = Vec::new();
        for s in streams.iter().filter(|s| s.client_sends || s.kind == MediaKind::Data) {
            let source = ForwardSource { source: Endpoint::Peer(handle), mid: s.mid.clone() };
            offered.push(match s.kind {
                MediaKind::Data => OfferedStream::Data,
                _ => OfferedStream::TwoWay(source),
            });
            theirs.push((s.kind, s.mid.clone(), s.codec.clone()));
        }
        match host::offer(callee, &offered) {
            Ok(id) => {
                self.pending.insert((callee.handle, id), Pending::CalleeOffer(theirs));
            }
            Err(e) => {
                portunus_sdk::warn!("[{}] could not offer the call: {e}", callee.handle);
                self.hang_up(handle, None, "Negotiation failed", None);
            }
        }
    }

    /// `accept` with the callee's answer (the host applied it): both hear `accepted`, the
    /// caller with its answer, and media flows both ways.
    pub(crate) fn accept(&mut self, msg: &Message) -> Result<(), PluginError> {
        let handle = msg.handle;
        let Some(user) = self.user(handle.handle) else { return Err(err(code::UNKNOWN, "No such handle")) };
        // Janus checks for a call, then for the SDP: an accept after the call is up has a call.
        let Some(call) = user.call.as_ref() else {
            return Err(err(code::NO_CALL, "No incoming call to accept"));
        };
        if call.stage != Stage::Ringing {
            return Err(err(code::MISSING_SDP, "Missing SDP"));
        }
        if msg.parsed_jsep().is_none_or(|j| j.sdp.is_empty()) || call.caller {
            return Err(err(code::MISSING_SDP, "Missing SDP"));
        }
        let (caller, me) = (call.peer, user.username.clone().unwrap_or_default());
        let mut answer = None;
        if let Some(c) = self.user_mut(caller.handle).and_then(|u| u.call.as_mut()) {
            c.stage = Stage::Up;
            answer = c.answer.take();
        }
        if let Some(c) = self.user_mut(handle.handle).and_then(|u| u.call.as_mut()) {
            c.stage = Stage::Up;
        }
        self.connect(handle);
        self.connect(caller);
        push(handle, Some(&msg.transaction), &result(json!({"event": "accepted"})), None);
        push(caller, None, &result(json!({"event": "accepted", "username": me})), answer.as_deref());
        Ok(())
    }

    /// Rules from a user's streams to its peer's, where the user sends that kind (`set`) and
    /// there is none yet.
    pub(crate) fn connect(&mut self, handle: HandleRef) {
        let Some(user) = self.user(handle.handle) else { return };
        let Some(call) = user.call.as_ref().filter(|c| c.up()) else { return };
        let peer = call.peer;
        // The layers the peer wants of this user's video.
        let (substream, temporal) =
            self.user(peer.handle).map_or((None, None), |p| (p.substream, p.temporal));
        let (audio, video) = (user.audio, user.video);
        let Some(call) = self.user_mut(handle.handle).and_then(|u| u.call.as_mut()) else { return };
        for s in call.streams.iter_mut().filter(|s| s.rule.is_none()) {
            let wanted = match s.kind {
                MediaKind::Audio => audio,
                MediaKind::Video => video,
                MediaKind::Data => false,
            };
            if !wanted {
                continue;
            }
            let options = ForwardOptions { kinds: Vec::new(), substream, temporal };
            match host::forward(
                Endpoint::Peer(handle),
                Some(&s.mine),
                Endpoint::Peer(peer),
                Some(&s.theirs),
                &options,
            ) {
                Ok(rule) => s.rule = Some(rule),
                Err(e) => portunus_sdk::debug!("[{}] no rule for {} yet: {e}", handle.handle, s.mine),
            }
        }
    }

    /// Removes a user's rules of one kind (all kinds: `None`).
    fn disconnect(&mut self, handle: HandleRef, kind: Option<MediaKind>) {
        let Some(call) = self.user_mut(handle.handle).and_then(|u| u.call.as_mut()) else { return };
        for s in call.streams.iter_mut().filter(|s| kind.is_none_or(|k| k == s.kind)) {
            if let Some(rule) = s.rule.take() {
                host::unforward(rule);
            }
        }
    }

    /// `set`: what the user sends (`audio`, `video`), its bitrate, the layers it gets of the
    /// peer's video; with an offer, a renegotiation of its own PeerConnection.
    pub(crate) fn set(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        use portunus_sdk::{Field, JsonType};
        const SET: &[Field] = &[
            Field::new("audio", JsonType::Bool),
            Field::new("video", JsonType::Bool),
            Field::new("bitrate", JsonType::Integer).positive(),
            Field::new("record", JsonType::Bool),
            Field::new("filename", JsonType::String),
            Field::new("restart", JsonType::Bool),
        ];
        portunus_sdk::validate(body, SET, &CODES)?;
        // Janus checks the layers by hand, with its own texts.
        for name in ["substream", "temporal"] {
            if body.get(name).is_some_and(|v| v.as_u64().is_none_or(|n| n > 2)) {
                return Err(err(
                    code::INVALID_ELEMENT,
                    format!("Invalid value ({name} should be 0, 1 or 2)"),
                ));
            }
        }
        if body.get("fallback").is_some_and(|v| v.as_u64().is_none()) {
            return Err(err(code::INVALID_ELEMENT, "Invalid value (fallback should be a positive integer)"));
        }
        let handle = msg.handle;
        if body.get("record").and_then(Value::as_bool) == Some(true) {
            return Err(err(code::UNKNOWN, "Recording is not supported yet"));
        }
        let layer = |name: &str| body.get(name).and_then(Value::as_u64).map(|v| v.min(2) as u8);
        let Some(user) = self.user_mut(handle.handle) else { return Ok(()) };
        let flag = |name: &str, now: bool| body.get(name).and_then(Value::as_bool).unwrap_or(now);
        let (audio, video) = (flag("audio", user.audio), flag("video", user.video));
        (user.audio, user.video) = (audio, video);
        user.substream = layer("substream").or(user.substream);
        user.temporal = layer("temporal").or(user.temporal);
        let (substream, temporal) = (user.substream, user.temporal);
        let peer = user.call.as_ref().map(|c| c.peer);
        if let Some(bitrate) = body.get("bitrate").and_then(Value::as_u64) {
            host::set_bitrate_cap(handle, u32::try_from(bitrate).unwrap_or(u32::MAX));
        }
        if !audio {
            self.disconnect(handle, Some(MediaKind::Audio));
        }
        if !video {
            self.disconnect(handle, Some(MediaKind::Video));
        }
        self.connect(handle);
        // The layers of the peer's video this user gets.
        if let (Some(peer), true) = (peer, substream.is_some() || temporal.is_some()) {
            let rules = self.user(peer.handle).and_then(|u| u.call.as_ref()).map(|c| {
                c.streams
                    .iter()
                    .filter(|s| s.kind == MediaKind::Video)
                    .filter_map(|s| s.rule)
                    .collect::<Vec<_>>()
            });
            for rule in rules.unwrap_or_default() {
                if let Err(e) = host::set_layers(rule, substream, temporal) {
                    portunus_sdk::debug!("[{}] set-layers: {e}", handle.handle);
                }
            }
        }
        if let Some(jsep) = msg.parsed_jsep().filter(|j| !j.sdp.is_empty()) {
            if !jsep.is_offer() {
                // The answer to an `update` (the host applied it): media flows on the new
                // streams, and the peer hears `update`.
                self.connect(handle);
                if let Some(peer) = peer {
                    self.connect(peer);
                    push(peer, None, &result(json!({"event": "update"})), None);
                }
                push(handle, Some(&msg.transaction), &result(json!({"event": "set"})), None);
                return Ok(());
            }
            let policy = call_policy();
            let id = host::answer(handle, &jsep.sdp, &policy).map_err(|e| err(code::INVALID_SDP, e))?;
            self.pending.insert((handle.handle, id), Pending::Renegotiation(msg.transaction.clone()));
            return Ok(());
        }
        push(handle, Some(&msg.transaction), &result(json!({"event": "set"})), None);
        Ok(())
    }

    /// Ends a user's call, as Janus does: the user hears its own name with `reason` (none: a
    /// PeerConnection went), the peer hears the user's name with `peer_reason`, then each
    /// hears the other's PeerConnection go ("Remote WebRTC hangup"); the rules go and both
    /// PeerConnections close.
    pub(crate) fn hang_up(
        &mut self,
        handle: HandleRef,
        reason: Option<&str>,
        peer_reason: &str,
        transaction: Option<&str>,
    ) {
        let Some(user) = self.user(handle.handle) else { return };
        let me = user.username.clone();
        let hangup = |name: &Option<String>, reason: &str| {
            let mut r = json!({"event": "hangup", "reason": reason});
            if let Some(name) = name {
                r["username"] = json!(name);
            }
            result(r)
        };
        let Some(call) = user.call.clone() else {
            if let Some(reason) = reason {
                push(handle, transaction, &hangup(&me, reason), None);
            }
            return;
        };
        self.disconnect(handle, None);
        self.disconnect(call.peer, None);
        for h in [handle, call.peer] {
            if let Some(u) = self.user_mut(h.handle) {
                u.call = None;
            }
            // Negotiations of the call that are still out are for nothing now.
            let ids: Vec<(u64, u64)> =
                self.pending.range((h.handle, 0)..=(h.handle, u64::MAX)).map(|(k, _)| *k).collect();
            for id in ids {
                self.pending.remove(&id);
            }
        }
        let gone = "Remote WebRTC hangup";
        if let Some(reason) = reason {
            push(handle, transaction, &hangup(&me, reason), None);
        }
        push(call.peer, None, &hangup(&me, peer_reason), None);
        push(handle, None, &hangup(&Some(call.peer_name.clone()), gone), None);
        if reason.is_some() {
            push(call.peer, None, &hangup(&me, gone), None);
        }
        host::close_pc(handle);
        host::close_pc(call.peer);
    }

    /// A rule's simulcast substream or temporal layer changed: the user who gets it hears it.
    pub(crate) fn layer_changed(&self, handle: HandleRef, change: &LayerChange, key: &str) {
        let Some(call) = self.user(handle.handle).and_then(|u| u.call.as_ref()) else { return };
        let codec = call.streams.iter().find(|s| s.kind == MediaKind::Video).map(|s| s.codec.clone());
        let mut event = json!({"event": "simulcast", "videocodec": codec});
        event[key] = json!(change.layer);
        push(handle, None, &result(event), None);
    }
}

/// How a call's PeerConnections are answered: everything the client offers, both ways.
fn call_policy() -> AnswerPolicy {
    AnswerPolicy {
        audio: true,
        video: true,
        data: true,
        audio_codecs: Vec::new(),
        video_codecs: Vec::new(),
        simulcast: true,
        direction: Direction::Sendrecv,
    }
}
