//! Viewers: `watch` (the gateway offers the mountpoint's streams), `start` with the answer
//! (rules from the input's streams), `pause`, `configure`, `switch`, `stop`.

use portunus_sdk::{
    host, AnswerPolicy, Direction, Endpoint, ForwardOptions, ForwardSource, HandleRef, Id, LayerChange,
    MediaKind, Message, NegotiationResult, OfferedStream, PluginError, RtpExtensions, StreamInfo, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{code, err, json, push, result, Streaming, CODES};

/// One stream a viewer gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewStream {
    /// The mountpoint's stream.
    pub source: String,
    /// Ours, in the viewer's PeerConnection.
    pub mid: String,
    pub kind: MediaKind,
    /// The viewer wants it (`configure` `send`).
    pub send: bool,
    pub substream: Option<u8>,
    pub temporal: Option<u8>,
    /// The forwarding rule, while it flows.
    pub rule: Option<u64>,
}

/// A handle watching (or about to watch) a mountpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub handle: Option<HandleRef>,
    pub mountpoint: Option<Id>,
    pub streams: Vec<ViewStream>,
    /// `start` came and no `pause` since.
    pub started: bool,
    /// Media flows (`webrtcup` came).
    pub up: bool,
    /// Its own input, on an `ondemand` mountpoint (the file from its start).
    #[serde(default)]
    pub input: Option<u64>,
    /// It offered (WHEP-style): its streams get their mids from its negotiated m-lines.
    #[serde(default)]
    pub answered: bool,
    /// The offer under way renegotiates a second `watch` (`preparing`), not a `restart`.
    #[serde(default)]
    pub renegotiating: bool,
}

impl Streaming {
    /// The viewer requests: `watch`, `start`, `pause`, `configure`, `switch`, `stop`.
    pub(crate) fn viewer_request(
        &mut self,
        msg: &Message,
        request: &str,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        let transaction = Some(msg.transaction.as_str());
        let watching = self.viewers.get(&handle.handle).and_then(|v| v.mountpoint.clone());
        match (request, watching) {
            // `watch` of what it watches: with `restart`, an ICE restart (`updating` with the
            // new offer); without, once its PeerConnection is up, a new offer (`preparing`), as
            // Janus does.
            ("watch", Some(id)) => {
                let restart = body.get("restart").and_then(Value::as_bool) == Some(true);
                // (Janus renegotiates only once the PeerConnection is up.)
                let up = self.viewers.get(&handle.handle).is_some_and(|v| v.up);
                if self.mountpoint_id(body)? != id || !(restart || up) {
                    return Err(err(code::INVALID_STATE, format!("Already watching mountpoint {id}")));
                }
                if self.pending.range((handle.handle, 0)..=(handle.handle, u64::MAX)).next().is_some() {
                    return Err(err(code::INVALID_STATE, format!("Already renegotiating mountpoint {id}")));
                }
                // (The host's offer with nothing to add restarts ICE: a renegotiation too.)
                let negotiation = host::offer(handle, &[]).map_err(|e| err(code::UNKNOWN, e))?;
                self.pending.insert((handle.handle, negotiation), msg.transaction.clone());
                if let Some(v) = self.viewers.get_mut(&handle.handle) {
                    v.renegotiating = !restart;
                }
                portunus_sdk::debug!(
                    "[{}] new offer for mountpoint {id} (restart: {restart})",
                    handle.handle
                );
                Ok(())
            }
            ("watch", None) => self.watch(msg, body),
            // Not watching: Janus's texts (`pause` says "start" too); `stop` is answered by nothing.
            ("start" | "pause", None) => Err(err(code::NO_SUCH_MOUNTPOINT, "Can't start: no mountpoint set")),
            ("configure", None) => Err(err(code::NO_SUCH_MOUNTPOINT, "Can't configure: not on a mountpoint")),
            ("switch", None) => Err(err(code::NO_SUCH_MOUNTPOINT, "Can't switch: not on a mountpoint")),
            (_, None) => Ok(()),
            ("start", Some(_)) => {
                let up = self.viewers.get_mut(&handle.handle).map(|v| {
                    v.started = true;
                    v.up
                });
                self.flow(handle);
                // A resume (the PeerConnection is up) is `started` at once.
                let status = if up == Some(true) { "started" } else { "starting" };
                push(handle, transaction, &result(json!({ "status": status })), None);
                self.tell_status(handle, status, None);
                Ok(())
            }
            ("pause", Some(_)) => {
                self.unflow(handle.handle);
                if let Some(v) = self.viewers.get_mut(&handle.handle) {
                    v.started = false;
                }
                push(handle, transaction, &result(json!({"status": "pausing"})), None);
                self.tell_status(handle, "pausing", None);
                Ok(())
            }
            ("configure", Some(_)) => {
                self.configure(handle, body)?;
                push(handle, transaction, &result(json!({"event": "configured"})), None);
                Ok(())
            }
            ("switch", Some(from)) => {
                let to = self.switch(handle, &from, body)?;
                push(handle, transaction, &result(json!({"switched": "ok", "id": to.to_json()})), None);
                self.tell_status(handle, "switching", Some(&to));
                Ok(())
            }
            (_, Some(_)) => {
                // `stop` (Janus tells it only of a viewer whose PeerConnection is up).
                if self.viewers.get(&handle.handle).is_some_and(|v| v.up) {
                    self.tell_status(handle, "stopping", None);
                }
                self.viewer_gone(handle);
                push(handle, transaction, &result(json!({"status": "stopping"})), None);
                host::close_pc(handle);
                Ok(())
            }
        }
    }

    /// `watch`: the host offers the mountpoint's streams (all, or those `media` names); the
    /// viewer hears `preparing` with the offer.
    fn watch(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let handle = msg.handle;
        portunus_sdk::validate(
            body,
            &[portunus_sdk::Field::new("media", portunus_sdk::JsonType::Array)],
            &CODES,
        )?;
        if body.get("media").and_then(Value::as_array).is_some_and(|l| !l.iter().all(Value::is_string)) {
            return Err(err(code::INVALID_ELEMENT, "The media array must only contain strings (mid values)"));
        }
        let (id, mp) = self.mountpoint(body)?;
        portunus_sdk::rooms::check_key(body, "pin", mp.pin.as_deref(), &CODES, code::UNAUTHORIZED)?;
        let wanted: Option<Vec<&str>> =
            body.get("media").and_then(Value::as_array).map(|l| l.iter().filter_map(Value::as_str).collect());
        // The older `offer_audio`/`offer_video`/`offer_data` flags leave out a kind.
        let offered_kind = |kind: MediaKind| {
            let flag = match kind {
                MediaKind::Audio => "offer_audio",
                MediaKind::Video => "offer_video",
                MediaKind::Data => "offer_data",
            };
            body.get(flag).and_then(Value::as_bool) != Some(false)
        };
        let picked: Vec<_> = mp
            .media
            .iter()
            .filter(|m| wanted.as_ref().is_none_or(|w| w.contains(&m.mid.as_str())))
            .filter(|m| offered_kind(m.kind))
            // (An `rtsp` stream its source has not described yet has no codec.)
            .filter(|m| m.kind == MediaKind::Data || !m.codec.is_empty())
            .collect();
        if picked.is_empty() && mp.rtsp.as_ref().is_some_and(|r| !r.playing) {
            return Err(crate::source::not_described());
        }
        if picked.is_empty() {
            let text = "Can't offer an SDP with no audio, video or data for this mountpoint";
            return Err(err(code::INVALID_REQUEST, text));
        }
        // `ondemand`: the viewer's own input, playing the file from its start.
        let own = if mp.ondemand { Some(crate::manage::open_input(mp)?.id) } else { None };
        let input = own.unwrap_or(mp.input);
        let offered: Vec<OfferedStream> = picked
            .iter()
            .map(|m| {
                OfferedStream::Forward(ForwardSource { source: Endpoint::Input(input), mid: m.mid.clone() })
            })
            .collect();
        let streams: Vec<ViewStream> = picked
            .iter()
            .map(|m| ViewStream {
                source: m.mid.clone(),
                mid: String::new(),
                kind: m.kind,
                send: true,
                substream: None,
                temporal: None,
                rule: None,
            })
            .collect();
        // A client offer (WHEP-style, Janus 1.1.4+) is answered in the mountpoint's codecs,
        // send-only; otherwise the gateway offers.
        let client_offer = msg.parsed_jsep().filter(|j| !j.sdp.is_empty());
        if client_offer.as_ref().is_some_and(|j| !j.is_offer()) {
            own.into_iter().for_each(host::rtp_input_close);
            return Err(err(code::INVALID_SDP, "User provided SDP for a watch request must be an offer"));
        }
        // What Janus's Streaming plugin negotiates: no audio levels, no transport-cc.
        host::set_rtp_extensions(handle, RtpExtensions::ABS_SEND_TIME);
        let negotiated = match &client_offer {
            Some(jsep) => {
                let codecs = |kind: MediaKind| -> Vec<String> {
                    picked.iter().filter(|m| m.kind == kind).map(|m| m.codec.clone()).take(1).collect()
                };
                let has = |kind: MediaKind| picked.iter().any(|m| m.kind == kind);
                let policy = AnswerPolicy {
                    audio: has(MediaKind::Audio),
                    video: has(MediaKind::Video),
                    data: has(MediaKind::Data),
                    audio_codecs: codecs(MediaKind::Audio),
                    video_codecs: codecs(MediaKind::Video),
                    simulcast: false,
                    direction: Direction::Sendonly,
                };
                host::answer(handle, &jsep.sdp, &policy)
            }
            None => host::offer(handle, &offered),
        };
        let negotiation = match negotiated {
            Ok(n) => n,
            Err(e) => {
                own.into_iter().for_each(host::rtp_input_close);
                return Err(err(if client_offer.is_some() { code::INVALID_SDP } else { code::UNKNOWN }, e));
            }
        };
        self.pending.insert((handle.handle, negotiation), msg.transaction.clone());
        let viewer = Viewer {
            handle: Some(handle),
            mountpoint: Some(id.clone()),
            streams,
            // With its own offer, the client needs no `start`.
            started: client_offer.is_some(),
            up: false,
            input: own,
            answered: client_offer.is_some(),
            renegotiating: false,
        };
        self.viewers.insert(handle.handle, viewer);
        self.watching.insert((id.clone(), handle.handle), handle);
        if let Some(mp) = self.mountpoints.get_mut(&id) {
            mp.viewers += 1;
        }
        Ok(())
    }

    /// The host made a viewer's offer: its streams get their mids and the viewer hears
    /// `preparing` with it.
    pub(crate) fn offered(&mut self, handle: HandleRef, outcome: NegotiationResult) {
        let Some(transaction) = self.pending.remove(&(handle.handle, outcome.id)) else { return };
        match outcome.outcome {
            Ok(done) => {
                let answered = self.viewers.get(&handle.handle).is_some_and(|v| v.answered);
                if answered {
                    if let Some(v) = self.viewers.get_mut(&handle.handle) {
                        v.renegotiating = false;
                    }
                    // Our answer to its offer: `starting`; media once its streams are known.
                    push(
                        handle,
                        Some(&transaction),
                        &result(json!({"status": "starting"})),
                        done.jsep.as_deref(),
                    );
                    return;
                }
                let mut renegotiating = false;
                if let Some(v) = self.viewers.get_mut(&handle.handle) {
                    for (s, mid) in v.streams.iter_mut().zip(&done.mids) {
                        s.mid = mid.clone();
                    }
                    renegotiating = std::mem::take(&mut v.renegotiating);
                }
                // An ICE restart offers no streams: `updating`, as from Janus (a second
                // `watch` is `preparing`).
                let status = if done.mids.is_empty() && !renegotiating { "updating" } else { "preparing" };
                push(handle, Some(&transaction), &result(json!({ "status": status })), done.jsep.as_deref());
            }
            Err(reason) => {
                self.viewer_gone(handle);
                let e = err(code::INVALID_SDP, reason);
                e.push_logged(handle, Some(&transaction), crate::PACKAGE);
            }
        }
    }

    /// A viewer that offered: each of its m-lines we send on takes the next mountpoint stream
    /// of its kind, and media flows.
    pub(crate) fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(v) = self.viewers.get_mut(&handle.handle).filter(|v| v.answered) else { return };
        let mut lines = streams.iter().filter(|s| s.client_receives || s.kind == MediaKind::Data);
        let mut taken: Vec<&str> = Vec::new();
        for s in v.streams.iter_mut().filter(|s| s.mid.is_empty()) {
            if let Some(line) = lines.by_ref().find(|l| l.kind == s.kind && !taken.contains(&l.mid.as_str()))
            {
                s.mid = line.mid.clone();
                taken.push(&line.mid);
            }
        }
        self.flow(handle);
    }

    /// Tells the event handlers a viewer's `status`, with its mountpoint (or `to`), as Janus's.
    fn tell_status(&self, handle: HandleRef, status: &str, to: Option<&Id>) {
        let id = to.or_else(|| self.viewers.get(&handle.handle)?.mountpoint.as_ref());
        portunus_sdk::notify_event(Some(handle), || {
            let mut told = json!({ "status": status });
            if let Some(id) = id {
                told["id"] = id.to_json();
            }
            told
        });
    }

    /// Media flows to a viewer: `started`.
    pub(crate) fn webrtc_up(&mut self, handle: HandleRef) {
        let Some(v) = self.viewers.get_mut(&handle.handle) else { return };
        v.up = true;
        if v.started {
            push(handle, None, &result(json!({"status": "started"})), None);
        }
        self.tell_status(handle, "started", None);
    }

    /// Rules for a started viewer's streams that should flow and have none (none while the
    /// mountpoint is disabled).
    pub(crate) fn flow(&mut self, handle: HandleRef) {
        let viewer = self.viewers.get(&handle.handle);
        let Some(input) = viewer
            .and_then(|v| v.mountpoint.as_ref())
            .and_then(|id| self.mountpoints.get(id))
            .filter(|mp| mp.enabled)
            .map(|mp| viewer.and_then(|v| v.input).unwrap_or(mp.input))
        else {
            return;
        };
        let Some(v) = self.viewers.get_mut(&handle.handle).filter(|v| v.started) else { return };
        for s in v.streams.iter_mut().filter(|s| s.send && s.rule.is_none() && !s.mid.is_empty()) {
            let options = ForwardOptions { kinds: Vec::new(), substream: s.substream, temporal: s.temporal };
            match host::forward(
                Endpoint::Input(input),
                Some(&s.source),
                Endpoint::Peer(handle),
                Some(&s.mid),
                &options,
            ) {
                Ok(rule) => s.rule = Some(rule),
                Err(e) => portunus_sdk::warn!("[{}] could not forward {}: {e}", handle.handle, s.source),
            }
        }
    }

    /// No more media to a viewer (`pause`, `stop`, a switch).
    pub(crate) fn unflow(&mut self, handle: u64) {
        let Some(v) = self.viewers.get_mut(&handle) else { return };
        for s in v.streams.iter_mut() {
            if let Some(rule) = s.rule.take() {
                host::unforward(rule);
            }
        }
    }

    /// `configure`: per stream (`streams: [{mid, send, substream, temporal}]`, or the legacy
    /// fields for all of them).
    fn configure(&mut self, handle: HandleRef, body: &Map<String, Value>) -> Result<(), PluginError> {
        portunus_sdk::validate(
            body,
            &[portunus_sdk::Field::new("streams", portunus_sdk::JsonType::Array)],
            &CODES,
        )?;
        let items = match body.get("streams").and_then(Value::as_array) {
            Some(list) => list.clone(),
            None => {
                // The older form: `audio`/`video`/`data` switch a kind on or off.
                let mut item = body.clone();
                let kinds =
                    [("audio", MediaKind::Audio), ("video", MediaKind::Video), ("data", MediaKind::Data)];
                let mut items = Vec::new();
                for (name, kind) in kinds {
                    if let Some(on) = body.get(name).and_then(Value::as_bool) {
                        let mids: Vec<String> = v_mids(self.viewers.get(&handle.handle), kind);
                        items.extend(mids.into_iter().map(|mid| serde_json::json!({"mid": mid, "send": on})));
                    }
                    item.remove(name);
                }
                items.push(Value::Object(item));
                items
            }
        };
        let Some(v) = self.viewers.get_mut(&handle.handle) else { return Ok(()) };
        for item in &items {
            let mid = item.get("mid").and_then(Value::as_str);
            let layer = |name: &str| item.get(name).and_then(Value::as_u64).map(|v| v.min(2) as u8);
            // A stream is named by the mountpoint's mid (as Janus's offers name it) or ours.
            for s in v.streams.iter_mut().filter(|s| mid.is_none_or(|m| s.mid == m || s.source == m)) {
                if let Some(send) = item.get("send").and_then(Value::as_bool) {
                    s.send = send;
                    if !send {
                        if let Some(rule) = s.rule.take() {
                            host::unforward(rule);
                        }
                    }
                }
                let (substream, temporal) = (layer("substream"), layer("temporal"));
                if substream.is_some() || temporal.is_some() {
                    s.substream = substream.or(s.substream);
                    s.temporal = temporal.or(s.temporal);
                    if let Some(rule) = s.rule {
                        if let Err(e) = host::set_layers(rule, s.substream, s.temporal) {
                            portunus_sdk::debug!("[{}] set-layers: {e}", handle.handle);
                        }
                    }
                }
            }
        }
        self.flow(handle);
        Ok(())
    }

    /// `switch` to another mountpoint whose streams match the viewer's (same kind and codec,
    /// in order), without a new negotiation.
    fn switch(&mut self, handle: HandleRef, from: &Id, body: &Map<String, Value>) -> Result<Id, PluginError> {
        let (to, mp) = self.mountpoint(body)?;
        // Only between mountpoints everyone watches together, as in Janus.
        if self.mountpoints.get(from).is_some_and(|m| m.ondemand) {
            return Err(err(code::CANT_SWITCH, "Can't switch: not on a live RTP mountpoint"));
        }
        if mp.ondemand {
            return Err(err(code::CANT_SWITCH, "Can't switch: target is not a live RTP mountpoint"));
        }
        let Some(v) = self.viewers.get(&handle.handle) else {
            return Err(err(code::INVALID_STATE, "Not watching a stream"));
        };
        let old = self.mountpoints.get(from);
        let codec_of = |mp: &crate::mountpoint::Mountpoint, mid: &str| {
            mp.media.iter().find(|m| m.mid == mid).map(|m| (m.kind, m.codec.clone()))
        };
        // Each stream takes the new mountpoint's next stream of its kind and codec.
        let mut taken = vec![false; mp.media.len()];
        let mut sources = Vec::new();
        for s in &v.streams {
            let want = old.and_then(|o| codec_of(o, &s.source));
            let found = mp
                .media
                .iter()
                .enumerate()
                .find(|(i, m)| !taken[*i] && Some((m.kind, m.codec.clone())) == want);
            let Some((i, m)) = found else {
                return Err(err(code::CANT_SWITCH, "Can't switch stream, incompatible mountpoints"));
            };
            taken[i] = true;
            sources.push(m.mid.clone());
        }
        self.unflow(handle.handle);
        self.watching.remove(&(from.clone(), handle.handle));
        self.watching.insert((to.clone(), handle.handle), handle);
        for (id, delta) in [(from, -1i64), (&to, 1)] {
            if let Some(mp) = self.mountpoints.get_mut(id) {
                mp.viewers = mp.viewers.saturating_add_signed(delta as isize);
            }
        }
        if let Some(v) = self.viewers.get_mut(&handle.handle) {
            v.mountpoint = Some(to.clone());
            for (s, source) in v.streams.iter_mut().zip(sources) {
                s.source = source;
            }
        }
        self.flow(handle);
        Ok(to)
    }

    /// A viewer stops watching (`stop`, a hangup, its mountpoint going): its rules go.
    pub(crate) fn viewer_gone(&mut self, handle: HandleRef) {
        self.unflow(handle.handle);
        // An offer still being made is for a viewer that is no more.
        let ids: Vec<(u64, u64)> =
            self.pending.range((handle.handle, 0)..=(handle.handle, u64::MAX)).map(|(k, _)| *k).collect();
        for id in ids {
            self.pending.remove(&id);
        }
        let Some(v) = self.viewers.get_mut(&handle.handle) else { return };
        let Some(id) = v.mountpoint.take() else { return };
        if let Some(input) = v.input.take() {
            host::rtp_input_close(input);
        }
        v.streams.clear();
        v.started = false;
        v.up = false;
        self.watching.remove(&(id.clone(), handle.handle));
        if let Some(mp) = self.mountpoints.get_mut(&id) {
            mp.viewers = mp.viewers.saturating_sub(1);
        }
    }

    /// A rule's simulcast substream or temporal layer changed: the viewer hears it.
    pub(crate) fn layer_changed(&self, handle: HandleRef, change: &LayerChange, key: &str) {
        let Some(v) = self.viewers.get(&handle.handle) else { return };
        let Some(s) = v.streams.iter().find(|s| s.rule == Some(change.rule)) else { return };
        let mut r = json!({"mid": s.mid});
        r[key] = json!(change.layer);
        push(handle, None, &result(r), None);
    }
}

/// Our mids of a viewer's streams of one kind.
fn v_mids(viewer: Option<&Viewer>, kind: MediaKind) -> Vec<String> {
    viewer
        .map(|v| v.streams.iter().filter(|s| s.kind == kind).map(|s| s.mid.clone()).collect())
        .unwrap_or_default()
}
