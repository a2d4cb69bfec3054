//! Subscribers: one PeerConnection with streams of many publishers. `join` as a subscriber
//! gets the host's offer (`attached`), `start` with the answer lets media flow through one
//! forwarding rule per stream. `subscribe`, `unsubscribe` and `update` renegotiate (`updated`
//! with a new offer; a stream stopped leaves its m-line inactive, and the next stream of its
//! kind takes it); while an offer is out, changes wait and the client hears `updating`.
//! `switch` rewires streams without SDP; `pause`, `start` and `configure` change what flows.
//! When a publisher goes, its subscribers' streams of it stop, with a new offer unless they
//! joined with `autoupdate: false`.

use portunus_sdk::{
    host, json, Endpoint, Field, ForwardOptions, ForwardSource, HandleRef, Id, JsonType, LayerChange,
    MediaKind, Message, NegotiationDone, OfferedStream, PlaceholderStream, PluginError, RtpExtensions, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::publisher::PubStream;
use crate::{check_pin, code, err, kind_name, push, videoroom, Pending, Role, VideoRoom, CODES};

/// Stream changes a subscriber may have waiting while its client has an offer to answer.
const MAX_QUEUED: usize = 256;

/// One stream of a subscriber's PeerConnection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SubStream {
    pub(crate) mindex: usize,
    /// Ours, once the offer is made.
    pub(crate) mid: Option<String>,
    pub(crate) kind: MediaKind,
    /// The publisher's handle and id, and its stream (none once the stream is stopped).
    pub(crate) feed: Option<HandleRef>,
    pub(crate) feed_id: Option<Id>,
    pub(crate) feed_mid: String,
    pub(crate) feed_display: Option<String>,
    pub(crate) codec: String,
    pub(crate) simulcast: bool,
    /// The publisher's stream is VP9 SVC: `substream` and `temporal` below are its spatial and
    /// temporal layers, asked for as `spatial_layer` and `temporal_layer`.
    #[serde(default)]
    pub(crate) svc: bool,
    /// The client wants it (`configure` `send`).
    pub(crate) send: bool,
    pub(crate) substream: Option<u8>,
    pub(crate) temporal: Option<u8>,
    /// The forwarding rule, while media flows.
    pub(crate) rule: Option<u64>,
    /// Its m-line was made inactive: the next new stream of its kind takes it.
    pub(crate) recyclable: bool,
}

impl SubStream {
    /// The layers its rule forwards: those asked for; of SVC, the top ones unless asked for
    /// others, as in Janus (the subscriber hears which it gets as they come).
    fn layers(&self) -> (Option<u8>, Option<u8>) {
        let top = self.svc.then_some(2);
        (self.substream.or(top), self.temporal.or(top))
    }

    /// Media can flow on it: it has a publisher's stream and an m-line.
    fn active(&self) -> bool {
        self.feed.is_some() && self.mid.is_some() && !self.recyclable
    }
}

/// A participant that joined as a subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Subscriber {
    pub(crate) room: Id,
    pub(crate) streams: Vec<SubStream>,
    /// The client answered (`start`) and did not `pause`.
    pub(crate) started: bool,
    /// The host is making an offer, or the client has one it has not answered: changes wait.
    pub(crate) busy: bool,
    /// Changes asked for while busy: streams to add and to remove (Janus's `updating`).
    pub(crate) queued: (Vec<Value>, Vec<Value>),
    /// A new offer when a publisher goes.
    pub(crate) autoupdate: bool,
    /// Its feeds are end-to-end encrypted (all of them, or none).
    #[serde(default)]
    pub(crate) e2ee: bool,
    /// Its offers name each stream's publisher in `a=msid` (`use_msid`).
    #[serde(default)]
    pub(crate) use_msid: bool,
    /// The `private_id` it joined with (0: none), for the event handlers.
    #[serde(default)]
    pub(crate) private_id: u64,
    /// Its PeerConnection is up (the event handlers heard `subscribed`).
    #[serde(default)]
    pub(crate) connected: bool,
}

impl VideoRoom {
    /// A subscriber's streams (Janus's `S`); the data channel once, with its sources.
    pub(crate) fn describe_streams(sub: &Subscriber) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        for s in sub.streams.iter().filter(|s| s.mid.is_some()) {
            if s.kind == MediaKind::Data {
                let source = s.feed_id.as_ref().map(Id::to_json);
                if let Some(d) = out.iter_mut().find(|d| d["type"] == "data") {
                    if let (Some(source), Some(ids)) = (source, d["source_ids"].as_array_mut()) {
                        ids.push(source);
                    }
                    d["sources"] = json!(d["source_ids"].as_array().map_or(0, Vec::len));
                    continue;
                }
                let ids: Vec<Value> = source.into_iter().collect();
                out.push(json!({"mindex": s.mindex, "mid": s.mid, "type": "data", "active": s.active(),
                                "send": s.send, "ready": false, "sources": ids.len(), "source_ids": ids}));
                continue;
            }
            let mut d = json!({
                "mindex": s.mindex,
                "mid": s.mid,
                "type": kind_name(s.kind),
                "active": s.active(),
                "send": s.send,
                "ready": false,
            });
            if let (Some(feed_id), false) = (&s.feed_id, s.recyclable) {
                d["feed_id"] = feed_id.to_json();
                d["feed_mid"] = json!(s.feed_mid);
                if let Some(display) = &s.feed_display {
                    d["feed_display"] = json!(display);
                }
                d["codec"] = json!(s.codec);
                if s.simulcast {
                    d["simulcast"] = json!(true);
                }
                if s.svc {
                    d["svc"] = json!(true);
                }
            }
            out.push(d);
        }
        out
    }

    /// The subscriber requests (the handle joined as one).
    pub(crate) fn subscriber_request(
        &mut self,
        msg: &Message,
        request: &str,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else {
            return Err(err(code::JOIN_FIRST, "Invalid request on unconfigured participant"));
        };
        let room = sub.room.to_json();
        let reply = |fields: Value| {
            let mut data = videoroom("event", json!({ "room": room }));
            data.as_object_mut().unwrap().extend(fields.as_object().cloned().unwrap_or_default());
            push(handle, Some(&msg.transaction), &data, None);
        };
        match request {
            "start" => {
                let answered = msg.parsed_jsep().is_some_and(|j| j.is_answer());
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.started = true;
                    if answered {
                        sub.busy = false;
                    }
                }
                self.start_flowing(handle);
                reply(json!({"started": "ok"}));
                // Changes asked for while the client had our offer: one offer for all of them.
                if let Some(sub) = self.subscriber_mut(handle.handle).filter(|s| !s.busy) {
                    let (add, remove) = std::mem::take(&mut sub.queued);
                    if !add.is_empty() || !remove.is_empty() {
                        if let Err(e) = self.update_subscription(handle, None, add, remove) {
                            portunus_sdk::warn!("[{}] queued update: {}", handle.handle, e.text);
                        }
                    }
                }
                Ok(())
            }
            "pause" => {
                self.stop_flowing(handle.handle);
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.started = false;
                }
                reply(json!({"paused": "ok"}));
                Ok(())
            }
            "configure" => {
                self.configure_subscriber(handle, body)?;
                reply(json!({"configured": "ok"}));
                Ok(())
            }
            "subscribe" | "unsubscribe" | "update" => {
                let list = |name: &'static str, required: bool| -> Result<Vec<Value>, PluginError> {
                    let field = Field::new(name, JsonType::Array);
                    portunus_sdk::validate(body, &[if required { field.required() } else { field }], &CODES)?;
                    Ok(body.get(name).and_then(Value::as_array).cloned().unwrap_or_default())
                };
                let (add, remove) = match request {
                    "subscribe" => (list("streams", true)?, Vec::new()),
                    "unsubscribe" => (Vec::new(), list("streams", true)?),
                    _ => {
                        let (add, remove) = (list("subscribe", false)?, list("unsubscribe", false)?);
                        if body.get("subscribe").is_none() && body.get("unsubscribe").is_none() {
                            return Err(err(
                                code::MISSING_ELEMENT,
                                "Missing mandatory element (subscribe/unsubscribe)",
                            ));
                        }
                        (add, remove)
                    }
                };
                self.update_subscription(handle, Some(&msg.transaction), add, remove)
            }
            "switch" => {
                let changes = self.switch(handle, &list_of(body, "streams")?)?;
                let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else { return Ok(()) };
                reply(json!({"switched": "ok", "changes": changes, "streams": Self::describe_streams(sub)}));
                portunus_sdk::notify_event(Some(handle), || json!({"event": "switched", "room": room}));
                Ok(())
            }
            "leave" => {
                self.leave_room(handle, crate::Leaving::Left);
                host::close_pc(handle);
                reply(json!({"left": "ok"}));
                Ok(())
            }
            other => Err(err(code::INVALID_REQUEST, format!("Unknown request '{other}'"))),
        }
    }

    /// `join` as a subscriber: the host offers the streams asked for (`attached`).
    pub(crate) fn join_subscriber(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        const JOIN: &[Field] = &[
            Field::new("streams", JsonType::Array),
            Field::new("private_id", JsonType::Integer).positive(),
            Field::new("use_msid", JsonType::Bool),
            Field::new("autoupdate", JsonType::Bool),
            Field::new("offer_audio", JsonType::Bool),
            Field::new("offer_video", JsonType::Bool),
            Field::new("offer_data", JsonType::Bool),
        ];
        portunus_sdk::validate(body, JOIN, &CODES)?;
        let (room_id, room) = self.room(body)?;
        check_pin(room, body)?;
        let require_pvtid = room.require_pvtid;
        let mut attached = videoroom("attached", json!({"room": room_id.to_json()}));
        let wanted = match body.get("streams") {
            Some(Value::Array(list)) if !list.is_empty() => list.clone(),
            _ => {
                // Legacy: one feed, all its streams (or those `offer_*` keeps).
                let feed = self.participant_id(body, "feed")?;
                let mut item = json!({"feed": feed.to_json()});
                item["offer_audio"] = body.get("offer_audio").cloned().unwrap_or(json!(true));
                item["offer_video"] = body.get("offer_video").cloned().unwrap_or(json!(true));
                attached["id"] = feed.to_json();
                attached["warning"] = json!("deprecated_api");
                vec![item]
            }
        };
        let streams = self.resolve_streams(&room_id, &wanted)?;
        // (After the feeds are known to exist, as in Janus.)
        if require_pvtid {
            let private_id = body.get("private_id").and_then(Value::as_u64);
            let known = self
                .members_of(&room_id)
                .filter_map(|(_, h)| self.publisher(h.handle))
                .any(|p| Some(u64::from(p.private_id)) == private_id);
            if !known {
                return Err(err(code::UNAUTHORIZED, "Unauthorized (this room requires a valid private_id)"));
            }
        }
        if streams.is_empty() {
            return Err(err(code::INVALID_ELEMENT, "Can't offer an SDP with no stream"));
        }
        let e2ee = self.subscription_e2ee(room.require_e2ee, &streams)?;
        if let (Some(display), true) = (&streams[0].feed_display, attached.get("id").is_some()) {
            attached["display"] = json!(display);
        }
        let sub = Subscriber {
            room: room_id.clone(),
            streams: Vec::new(),
            started: false,
            busy: false,
            queued: (Vec::new(), Vec::new()),
            autoupdate: body.get("autoupdate").and_then(Value::as_bool).unwrap_or(true),
            e2ee,
            use_msid: body.get("use_msid").and_then(Value::as_bool) == Some(true),
            private_id: body.get("private_id").and_then(Value::as_u64).unwrap_or(0),
            connected: false,
        };
        let before = self.handles.insert(msg.handle.handle, Role::Subscriber(Box::new(sub)));
        self.subscribers.insert((room_id.clone(), msg.handle.handle), msg.handle);
        let offered = self.renegotiate(msg.handle, Some(&msg.transaction), Vec::new(), streams, attached);
        if offered.is_err() {
            // Not joined after all.
            self.leave_room(msg.handle, crate::Leaving::Left);
            self.handles.insert(msg.handle.handle, before.unwrap_or(Role::Idle));
        }
        offered
    }

    /// Whether a new subscription to these streams is end-to-end encrypted: as the room
    /// requires, or as its first feed is; a feed that differs is Janus's 438.
    fn subscription_e2ee(&self, required: bool, streams: &[SubStream]) -> Result<bool, PluginError> {
        let mut e2ee = required;
        for (i, s) in streams.iter().enumerate() {
            let feed = s.feed_id.as_ref().map(Id::to_string).unwrap_or_default();
            match (e2ee, self.feed_e2ee(s)) {
                (true, false) => {
                    let text =
                        format!("Can't have not end-to-end encrypted feed in this subscription ({feed})");
                    return Err(err(code::INVALID_FEED, text));
                }
                (false, true) if i == 0 => e2ee = true,
                (false, true) => {
                    let text = format!("Can't have end-to-end encrypted feed in this subscription ({feed})");
                    return Err(err(code::INVALID_FEED, text));
                }
                _ => {}
            }
        }
        Ok(e2ee)
    }

    /// Whether a stream's publisher encrypts end to end.
    fn feed_e2ee(&self, s: &SubStream) -> bool {
        s.feed.and_then(|h| self.publisher(h.handle)).is_some_and(|p| p.e2ee)
    }

    /// The publishers' streams a `streams` list names, as new subscriber streams, with Janus's
    /// errors for unknown or unpublished feeds.
    fn resolve_streams(&self, room: &Id, wanted: &[Value]) -> Result<Vec<SubStream>, PluginError> {
        let mut out = Vec::new();
        for w in wanted {
            let feed = match Id::from_json(w.get("feed"), self.settings.string_ids) {
                Some(f) => f,
                None if w.get("feed").is_none() => {
                    return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (feed)"))
                }
                None => return Err(err(code::INVALID_ELEMENT, "Invalid element (feed)")),
            };
            let publisher = self
                .members
                .get(&(room.clone(), feed.clone()))
                .and_then(|h| self.publisher(h.handle).map(|p| (*h, p)))
                .filter(|(_, p)| p.active && !p.streams.is_empty());
            let Some((feed_handle, p)) = publisher else {
                return Err(err(code::NO_SUCH_FEED, format!("No such feed ({feed})")));
            };
            let mid = w.get("mid").and_then(Value::as_str);
            let picked: Vec<&PubStream> = p
                .streams
                .iter()
                .filter(|s| mid.is_none_or(|m| m == s.mid))
                .filter(|s| match s.kind {
                    MediaKind::Audio => w.get("offer_audio").and_then(Value::as_bool) != Some(false),
                    MediaKind::Video => w.get("offer_video").and_then(Value::as_bool) != Some(false),
                    MediaKind::Data => w.get("offer_data").and_then(Value::as_bool) != Some(false),
                })
                .collect();
            if let (Some(mid), true) = (mid, picked.is_empty()) {
                return Err(err(code::NO_SUCH_FEED, format!("No such mid '{mid}' in feed ({feed})")));
            }
            check_layers(w)?;
            for s in picked {
                let (substream, temporal) = chosen_layers(w, s.svc);
                out.push(SubStream {
                    mindex: 0,
                    mid: None,
                    kind: s.kind,
                    feed: Some(feed_handle),
                    feed_id: Some(feed.clone()),
                    feed_mid: s.mid.clone(),
                    feed_display: p.display.clone(),
                    codec: s.codec.clone(),
                    simulcast: s.simulcast,
                    svc: s.svc,
                    send: w.get("send").and_then(Value::as_bool).unwrap_or(true),
                    substream,
                    temporal,
                    rule: None,
                    recyclable: false,
                });
            }
        }
        Ok(out)
    }

    /// `subscribe`/`unsubscribe`/`update`: one new offer adding and removing streams, or, while
    /// an offer is out, the changes queued and the client told `updating`.
    fn update_subscription(
        &mut self,
        handle: HandleRef,
        transaction: Option<&str>,
        add: Vec<Value>,
        remove: Vec<Value>,
    ) -> Result<(), PluginError> {
        let Some(sub) = self.subscriber_mut(handle.handle) else { return Ok(()) };
        let room = sub.room.clone();
        if sub.busy {
            // A client that never answers cannot make the queue grow without end.
            if sub.queued.0.len() + sub.queued.1.len() + add.len() + remove.len() > MAX_QUEUED {
                return Err(err(
                    code::UNKNOWN,
                    "Too many changes waiting for the pending offer to be answered",
                ));
            }
            sub.queued.0.extend(add);
            sub.queued.1.extend(remove);
            push(handle, transaction, &videoroom("updating", json!({"room": room.to_json()})), None);
            return Ok(());
        }
        let stop = self.matching(handle.handle, &remove)?;
        let added = self.resolve_streams(&room, &add)?;
        let e2ee = matches!(self.handles.get(&handle.handle), Some(Role::Subscriber(s)) if s.e2ee);
        if added.iter().any(|s| self.feed_e2ee(s) != e2ee) {
            return Err(err(code::INVALID_FEED, "Can't mix normal and end-to-end encrypted subscriptions"));
        }
        let updated = videoroom("updated", json!({"room": room.to_json()}));
        if stop.is_empty() && added.is_empty() {
            let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else { return Ok(()) };
            let mut updated = updated;
            updated["streams"] = json!(Self::describe_streams(sub));
            push(handle, transaction, &updated, None);
            return Ok(());
        }
        self.renegotiate(handle, transaction, stop, added, updated)
    }

    /// The live streams an `unsubscribe` list names (`feed`, `feed`+`mid`, or `sub_mid`).
    fn matching(&self, handle: u64, remove: &[Value]) -> Result<Vec<usize>, PluginError> {
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for r in remove {
            let feed = Id::from_json(r.get("feed"), self.settings.string_ids);
            let mid = r.get("mid").and_then(Value::as_str);
            let sub_mid = r.get("sub_mid").and_then(Value::as_str);
            if feed.is_none() && sub_mid.is_none() {
                return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (feed or sub_mid)"));
            }
            for (i, s) in sub.streams.iter().enumerate() {
                let hit = match (&feed, sub_mid) {
                    (_, Some(m)) => s.mid.as_deref() == Some(m),
                    (Some(f), None) => s.feed_id.as_ref() == Some(f) && mid.is_none_or(|m| m == s.feed_mid),
                    (None, None) => false,
                };
                if hit && !s.recyclable && s.mid.is_some() && !out.contains(&i) {
                    out.push(i);
                }
            }
        }
        Ok(out)
    }

    /// Asks the host for an offer that stops the streams `stop` (indexes) and adds `add`;
    /// `event` goes out with it.
    fn renegotiate(
        &mut self,
        handle: HandleRef,
        transaction: Option<&str>,
        stop: Vec<usize>,
        mut add: Vec<SubStream>,
        event: Value,
    ) -> Result<(), PluginError> {
        let before = self.watched(handle.handle);
        // A dummy publisher's streams are offered as placeholders, with the room's fmtp.
        let (placeholders, extensions) = match self.handles.get(&handle.handle) {
            Some(Role::Subscriber(sub)) => match self.rooms.get(&sub.room) {
                Some(r) => (r.dummy_streams(), r.rtp_extensions(true)),
                None => (Vec::new(), RtpExtensions::empty()),
            },
            _ => (Vec::new(), RtpExtensions::empty()),
        };
        host::set_rtp_extensions(handle, extensions);
        let Some(sub) = self.subscriber_mut(handle.handle) else { return Ok(()) };
        // One data channel carries every feed's data: a data stream takes the one there is (or
        // the first one this offer adds).
        let mut data_mid = sub
            .streams
            .iter()
            .find(|s| s.kind == MediaKind::Data && s.mid.is_some())
            .map(|s| (s.mid.clone(), s.mindex));
        let mut offered = Vec::new();
        for s in &mut add {
            match (s.kind, &data_mid) {
                (MediaKind::Data, Some((Some(mid), mindex))) => {
                    s.mid = Some(mid.clone());
                    s.mindex = *mindex;
                }
                (MediaKind::Data, Some((None, _))) => {}
                (MediaKind::Data, None) => {
                    offered.push(OfferedStream::Data);
                    data_mid = Some((None, 0));
                }
                _ => {
                    let feed = s.feed.expect("a new stream has its feed");
                    offered.push(if crate::is_dummy(feed) {
                        let fmtp = placeholders
                            .iter()
                            .find(|(_, c, _)| *c == s.codec)
                            .and_then(|(_, c, profile)| crate::room::profile_fmtp(c, profile.as_deref()?));
                        OfferedStream::Placeholder(PlaceholderStream {
                            kind: s.kind,
                            codec: s.codec.clone(),
                            fmtp,
                        })
                    } else {
                        let source = Endpoint::Peer(feed);
                        OfferedStream::Forward(ForwardSource { source, mid: s.feed_mid.clone() })
                    });
                }
            }
        }
        // A data stream that goes leaves the data channel to the others.
        let stop_mids: Vec<String> = stop
            .iter()
            .filter(|i| sub.streams[**i].kind != MediaKind::Data)
            .filter_map(|i| sub.streams[*i].mid.clone())
            .collect();
        let negotiation = if offered.is_empty() && stop_mids.is_empty() {
            None
        } else {
            Some(host::renegotiate(handle, &stop_mids, &offered).map_err(|e| err(code::UNKNOWN, e))?)
        };
        for i in &stop {
            let s = &mut sub.streams[*i];
            if let Some(rule) = s.rule.take() {
                host::unforward(rule);
            }
            s.feed = None;
            s.feed_id = None;
            s.recyclable = s.kind != MediaKind::Data;
        }
        // Data streams that went are gone: their m-line stays with the others'.
        sub.streams.retain(|s| s.kind != MediaKind::Data || s.feed.is_some() || s.mid.is_none());
        sub.streams.extend(add.iter().cloned());
        sub.busy = negotiation.is_some();
        let described = Self::describe_streams(sub);
        self.sync_watchers(handle, &before);
        match negotiation {
            Some(id) => {
                self.pending.insert(
                    (handle.handle, id),
                    Pending { transaction: transaction.map(str::to_owned), event },
                );
            }
            None => {
                // Nothing for the SDP to say (a feed's data on the data channel there is).
                let mut event = event;
                event["streams"] = json!(described);
                push(handle, transaction, &event, None);
            }
        }
        Ok(())
    }

    /// The host made a subscriber's offer: new streams get their mids (a recycled m-line's
    /// stream takes its place), and the event goes out with the offer.
    pub(crate) fn subscriber_offered(
        &mut self,
        handle: HandleRef,
        event: &mut Value,
        done: &NegotiationDone,
    ) {
        let Some(sub) = self.subscriber_mut(handle.handle) else { return };
        let mut mids = done.mids.iter();
        let mut i = 0;
        while i < sub.streams.len() {
            if sub.streams[i].mid.is_some() {
                i += 1;
                continue;
            }
            // Data streams share the data channel's m-line.
            let data_mid = sub.streams.iter().find(|s| s.kind == MediaKind::Data && s.mid.is_some());
            let shared =
                data_mid.filter(|_| sub.streams[i].kind == MediaKind::Data).and_then(|s| s.mid.clone());
            let mid = shared.or_else(|| mids.next().cloned());
            let recycled = sub.streams.iter().position(|s| s.recyclable && s.mid == mid);
            let mut stream = sub.streams.remove(i);
            stream.mid = mid;
            match recycled {
                Some(old) => {
                    stream.mindex = sub.streams[old].mindex;
                    sub.streams[old] = stream;
                }
                None => {
                    // A data stream of this offer after the first takes the first one's m-line.
                    let same = sub.streams.iter().find(|s| s.mid.is_some() && s.mid == stream.mid);
                    stream.mindex = match same {
                        Some(s) => s.mindex,
                        None => {
                            let mut mids: Vec<&String> =
                                sub.streams.iter().filter_map(|s| s.mid.as_ref()).collect();
                            mids.sort();
                            mids.dedup();
                            mids.len()
                        }
                    };
                    sub.streams.insert(i, stream);
                    i += 1;
                }
            }
        }
        sub.streams.sort_by_key(|s| s.mindex);
        event["streams"] = json!(Self::describe_streams(sub));
        self.start_flowing(handle);
    }

    /// A subscriber's offer went out: the event handlers hear `subscribing` (its first) or
    /// `updated`, with its streams.
    pub(crate) fn tell_offer(&self, handle: HandleRef, event: &Value) {
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else { return };
        let told = match event["videoroom"].as_str() {
            Some("attached") => "subscribing",
            Some("updated") => "updated",
            _ => return,
        };
        portunus_sdk::notify_event(
            Some(handle),
            || json!({"event": told, "room": sub.room.to_json(), "streams": event["streams"], "private_id": sub.private_id}),
        );
    }

    /// A subscriber's PeerConnection is up: the event handlers hear `subscribed`.
    pub(crate) fn subscriber_up(&mut self, handle: HandleRef) {
        if let Some(sub) = self.subscriber_mut(handle.handle) {
            sub.connected = true;
            let room = sub.room.to_json();
            portunus_sdk::notify_event(Some(handle), || json!({"event": "subscribed", "room": room}));
        }
    }

    /// A subscriber's PeerConnection goes (hangup, leave, detach): the event handlers hear
    /// `unsubscribed` for each stream it had, once, as Janus's.
    pub(crate) fn tell_unsubscribed(&mut self, handle: HandleRef) {
        let Some(sub) = self.subscriber_mut(handle.handle).filter(|s| s.connected) else { return };
        sub.connected = false;
        for s in sub.streams.iter().filter(|s| s.kind != MediaKind::Data) {
            if let Some(feed) = &s.feed_id {
                portunus_sdk::notify_event(Some(handle), || {
                    json!({"event": "unsubscribed", "room": sub.room.to_json(), "feed": feed.to_json(),
                           "mid": s.feed_mid})
                });
            }
        }
    }

    /// The host could not make the offer: the streams it was to add are dropped.
    pub(crate) fn subscriber_offer_failed(&mut self, handle: HandleRef) {
        let before = self.watched(handle.handle);
        if let Some(sub) = self.subscriber_mut(handle.handle) {
            sub.streams.retain(|s| s.mid.is_some());
            sub.busy = false;
        }
        self.sync_watchers(handle, &before);
    }

    /// The publishers (handles) a subscriber's streams come from.
    pub(crate) fn watched(&self, handle: u64) -> Vec<u64> {
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle) else { return Vec::new() };
        let mut feeds: Vec<u64> = sub.streams.iter().filter_map(|s| s.feed.map(|f| f.handle)).collect();
        feeds.sort_unstable();
        feeds.dedup();
        feeds
    }

    /// Watchers (who subscribes to which publisher, for when a publisher goes) follow a
    /// subscriber's streams after a change; `before` are the feeds it had before it.
    pub(crate) fn sync_watchers(&mut self, handle: HandleRef, before: &[u64]) {
        let now = self.watched(handle.handle);
        for feed in before.iter().filter(|f| !now.contains(f)) {
            self.watchers.remove(&(*feed, handle.handle));
        }
        for feed in now {
            if !self.watchers.contains_key(&(feed, handle.handle)) {
                self.watchers.insert((feed, handle.handle), handle);
            }
        }
    }

    /// A publisher went: its subscribers' streams of it stop (with a new offer, for those
    /// with `autoupdate`).
    pub(crate) fn feed_gone(&mut self, feed: u64) {
        let watchers: Vec<(u64, HandleRef)> =
            self.watchers.range((feed, 0)..=(feed, u64::MAX)).map(|(k, h)| (k.1, *h)).collect();
        for (sub_handle, handle) in watchers {
            self.watchers.remove(&(feed, sub_handle));
            let Some(sub) = self.subscriber_mut(sub_handle) else { continue };
            let mut gone = Vec::new();
            // Nothing flows from it again, whether the new offer goes now, waits or fails (the
            // offer finds these streams by `feed_id`).
            for s in sub.streams.iter_mut().filter(|s| s.feed.is_some_and(|f| f.handle == feed)) {
                if let Some(rule) = s.rule.take() {
                    host::unforward(rule);
                }
                s.feed = None;
                if let (Some(id), true) = (&s.feed_id, gone.is_empty()) {
                    gone.push(json!({ "feed": id.to_json() }));
                }
            }
            if sub.autoupdate && !gone.is_empty() {
                if let Err(e) = self.update_subscription(handle, None, Vec::new(), gone) {
                    portunus_sdk::warn!("[{sub_handle}] update after a publisher left: {}", e.text);
                }
            }
        }
    }

    /// `switch`: streams rewired to other publishers' streams of the same kind and codec,
    /// without SDP. Returns how many changed.
    fn switch(&mut self, handle: HandleRef, items: &[Value]) -> Result<usize, PluginError> {
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else { return Ok(0) };
        let room = sub.room.clone();
        let mut plan = Vec::new();
        for item in items {
            let sub_mid = item.get("sub_mid").and_then(Value::as_str);
            let Some(index) =
                sub.streams.iter().position(|s| s.mid.as_deref() == sub_mid && sub_mid.is_some())
            else {
                return Err(err(
                    code::INVALID_ELEMENT,
                    format!("No such sub_mid ({})", sub_mid.unwrap_or("")),
                ));
            };
            let mut streams = self.resolve_streams(&room, std::slice::from_ref(item))?;
            let Some(new) = streams.pop().filter(|_| streams.is_empty()) else {
                return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (mid)"));
            };
            if self.feed_e2ee(&new) != sub.e2ee {
                return Err(err(
                    code::INVALID_FEED,
                    "Can't mix normal and end-to-end encrypted subscriptions",
                ));
            }
            let old = &sub.streams[index];
            if new.kind != old.kind || new.codec != old.codec {
                return Err(err(
                    code::INVALID_ELEMENT,
                    format!(
                        "Can't switch {} to a {} {} stream",
                        old.kind_name(),
                        new.codec,
                        kind_name(new.kind)
                    ),
                ));
            }
            plan.push((index, new));
        }
        let before = self.watched(handle.handle);
        let Some(sub) = self.subscriber_mut(handle.handle) else { return Ok(0) };
        let mut changes = 0;
        for (index, new) in plan {
            let s = &mut sub.streams[index];
            if s.feed == new.feed && s.feed_mid == new.feed_mid {
                continue;
            }
            if let Some(rule) = s.rule.take() {
                host::unforward(rule);
            }
            s.feed = new.feed;
            s.feed_id = new.feed_id;
            s.feed_mid = new.feed_mid;
            s.feed_display = new.feed_display;
            s.simulcast = new.simulcast;
            s.svc = new.svc;
            s.recyclable = false;
            changes += 1;
        }
        self.sync_watchers(handle, &before);
        self.start_flowing(handle);
        Ok(changes)
    }

    /// Rules for a subscriber's streams that should flow and have none.
    pub(crate) fn start_flowing(&mut self, handle: HandleRef) {
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else { return };
        if !sub.started {
            return;
        }
        // Audio and video through rules (data is relayed by `incoming_data`), but what a
        // moderator muted.
        let due: Vec<usize> = (0..sub.streams.len())
            .filter(|i| {
                let s = &sub.streams[*i];
                s.active() && s.send && s.rule.is_none() && s.kind != MediaKind::Data
            })
            .filter(|i| {
                !sub.streams[*i].feed.is_some_and(|f| self.muted(f.handle, &sub.streams[*i].feed_mid))
            })
            .collect();
        let Some(sub) = self.subscriber_mut(handle.handle) else { return };
        for i in due {
            let s = &mut sub.streams[i];
            let (Some(feed), Some(mid)) = (s.feed, &s.mid) else { continue };
            // A dummy publisher sends nothing: its placeholders wait for a `switch`.
            if crate::is_dummy(feed) {
                continue;
            }
            let (substream, temporal) = s.layers();
            let options = ForwardOptions { kinds: Vec::new(), substream, temporal };
            match host::forward(
                Endpoint::Peer(feed),
                Some(&s.feed_mid),
                Endpoint::Peer(handle),
                Some(mid),
                &options,
            ) {
                Ok(rule) => s.rule = Some(rule),
                Err(e) => portunus_sdk::warn!("[{}] could not forward {}: {e}", handle.handle, s.feed_mid),
            }
        }
    }

    /// No more media to a subscriber (`pause`, hangup).
    pub(crate) fn stop_flowing(&mut self, handle: u64) {
        let Some(sub) = self.subscriber_mut(handle) else { return };
        for s in sub.streams.iter_mut() {
            if let Some(rule) = s.rule.take() {
                host::unforward(rule);
            }
        }
    }

    /// `configure` of a subscriber: per stream (`streams`, or the legacy fields for all of
    /// them) `send`, `substream` and `temporal` (`spatial_layer` and `temporal_layer` of SVC).
    fn configure_subscriber(
        &mut self,
        handle: HandleRef,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let items = match body.get("streams") {
            Some(_) => list_of(body, "streams")?,
            None => vec![Value::Object(body.clone())],
        };
        for item in &items {
            check_layers(item)?;
        }
        let Some(sub) = self.subscriber_mut(handle.handle) else { return Ok(()) };
        for item in &items {
            let mid = item.get("mid").and_then(Value::as_str);
            for s in sub.streams.iter_mut().filter(|s| mid.is_none_or(|m| s.mid.as_deref() == Some(m))) {
                if let Some(send) = item.get("send").and_then(Value::as_bool) {
                    s.send = send;
                    if !send {
                        if let Some(rule) = s.rule.take() {
                            host::unforward(rule);
                        }
                    }
                }
                let (substream, temporal) = chosen_layers(item, s.svc);
                if substream.is_some() || temporal.is_some() {
                    s.substream = substream.or(s.substream);
                    s.temporal = temporal.or(s.temporal);
                    if let Some(rule) = s.rule {
                        let (substream, temporal) = s.layers();
                        if let Err(e) = host::set_layers(rule, substream, temporal) {
                            portunus_sdk::debug!("[{}] set-layers: {e}", handle.handle);
                        }
                    }
                }
            }
        }
        self.start_flowing(handle);
        Ok(())
    }

    /// A rule's simulcast substream (spatial layer) or temporal layer changed: the subscriber
    /// hears it, as `substream` or `temporal` (`spatial_layer` or `temporal_layer` of SVC).
    pub(crate) fn layer_changed(&self, handle: HandleRef, change: &LayerChange, temporal: bool) {
        let Some(Role::Subscriber(sub)) = self.handles.get(&handle.handle) else { return };
        let Some(s) = sub.streams.iter().find(|s| s.rule == Some(change.rule)) else { return };
        let mut fields = json!({"room": sub.room.to_json(), "mid": s.mid});
        let key = match (s.svc, temporal) {
            (false, false) => "substream",
            (false, true) => "temporal",
            (true, false) => "spatial_layer",
            (true, true) => "temporal_layer",
        };
        fields[key] = json!(change.layer);
        push(handle, None, &videoroom("event", fields), None);
    }
}

impl VideoRoom {
    /// A moderator muted a publisher's stream: its subscribers' rules for it go.
    pub(crate) fn stop_feed_stream(&mut self, feed: u64, mid: &str) {
        let watchers: Vec<u64> =
            self.watchers.range((feed, 0)..=(feed, u64::MAX)).map(|(k, _)| k.1).collect();
        for sub_handle in watchers {
            let Some(sub) = self.subscriber_mut(sub_handle) else { continue };
            for s in sub
                .streams
                .iter_mut()
                .filter(|s| s.feed.is_some_and(|f| f.handle == feed) && s.feed_mid == mid)
            {
                if let Some(rule) = s.rule.take() {
                    host::unforward(rule);
                }
            }
        }
    }

    /// A publisher's stream was unmuted: its subscribers get it again.
    pub(crate) fn restart_feed_stream(&mut self, feed: u64) {
        let watchers: Vec<HandleRef> =
            self.watchers.range((feed, 0)..=(feed, u64::MAX)).map(|(_, h)| *h).collect();
        for handle in watchers {
            self.start_flowing(handle);
        }
    }

    /// A publisher's data-channel message: to the subscribers of its data.
    pub(crate) fn relay_data(&self, feed: u64, label: Option<&str>, data: &[u8], is_text: bool) {
        let to: Vec<HandleRef> = self
            .watchers
            .range((feed, 0)..=(feed, u64::MAX))
            .map(|(_, h)| *h)
            .filter(|h| match self.handles.get(&h.handle) {
                Some(Role::Subscriber(sub)) => {
                    sub.started
                        && sub.streams.iter().any(|s| {
                            s.kind == MediaKind::Data && s.send && s.feed.is_some_and(|f| f.handle == feed)
                        })
                }
                _ => false,
            })
            .collect();
        if !to.is_empty() {
            host::send_data_many(&to, label, data, is_text);
        }
    }
}

impl SubStream {
    fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }
}

/// The layer fields of a stream item, as Janus checks them.
const LAYER_FIELDS: &[Field] = &[
    Field::new("substream", JsonType::Integer).positive(),
    Field::new("temporal", JsonType::Integer).positive(),
    Field::new("spatial_layer", JsonType::Integer).positive(),
    Field::new("temporal_layer", JsonType::Integer).positive(),
];

/// Checks the layer fields of a stream item, as Janus does: each 0, 1 or 2 (else 430),
/// whichever stream it is for.
fn check_layers(item: &Value) -> Result<(), PluginError> {
    if let Some(fields) = item.as_object() {
        portunus_sdk::validate(fields, LAYER_FIELDS, &CODES)?;
    }
    let get = |name: &str| item.get(name).and_then(Value::as_u64);
    for (names, what) in [
        (["substream", "spatial_layer"], "substream/spatial_layer"),
        (["temporal", "temporal_layer"], "temporal/temporal_layer"),
    ] {
        if names.iter().any(|n| get(n).is_some_and(|v| v > 2)) {
            return Err(err(code::INVALID_ELEMENT, format!("Invalid value ({what} should be 0, 1 or 2)")));
        }
    }
    Ok(())
}

/// The layers a checked stream item asks for, as (substream, temporal layer): an SVC stream's
/// are its `spatial_layer` and `temporal_layer`, another's its `substream` and `temporal`.
fn chosen_layers(item: &Value, svc: bool) -> (Option<u8>, Option<u8>) {
    let pick = |plain: &str, layered: &str| {
        item.get(if svc { layered } else { plain }).and_then(Value::as_u64).map(|v| v.min(2) as u8)
    };
    (pick("substream", "spatial_layer"), pick("temporal", "temporal_layer"))
}

/// A required array field.
fn list_of(body: &Map<String, Value>, name: &'static str) -> Result<Vec<Value>, PluginError> {
    portunus_sdk::validate(body, &[Field::new(name, JsonType::Array).required()], &CODES)?;
    Ok(body.get(name).and_then(Value::as_array).cloned().unwrap_or_default())
}
