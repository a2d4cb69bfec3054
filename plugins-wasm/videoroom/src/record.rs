//! Recording publishers, as Janus's VideoRoom does: each audio, video and data stream of a
//! publisher to an .mjr file of its own (`<base>-<audio|video|data>-<mindex>.mjr`, in the room's
//! `rec_dir`), where `base` is the publisher's `filename` or
//! `videoroom-<room>-user-<id>-<µs since 1970>`. A publisher is recorded while it publishes
//! and either it asked (`record` on `publish` or `configure`; with the room's secret when the
//! room has `lock_record`) or its room records everyone (`record`, `enable_recording`).
//! The host writes the files (a data channel's messages as Janus records them).

use portunus_sdk::{host, json, Endpoint, Field, ForwardOptions, JsonType, MediaKind, PluginError, Value};
use serde_json::Map;

use crate::{videoroom, VideoRoom, CODES};

impl VideoRoom {
    /// Starts recording the streams of a publisher that should be recorded and are not yet,
    /// and stops what should not be.
    pub(crate) fn record_publisher(&mut self, handle: u64) {
        let Some(p) = self.publisher(handle) else { return };
        let room = self.rooms.get(&p.room);
        let wanted = p.active && !p.dummy && (p.record || room.is_some_and(|r| r.record));
        let dir = room.and_then(|r| r.rec_dir.clone());
        let owner = self.members.get(&(p.room.clone(), p.id.clone())).copied();
        let Some(p) = self.publisher_mut(handle) else { return };
        let recorded: Vec<String> =
            if wanted { p.streams.iter().map(|s| s.mid.clone()).collect() } else { Vec::new() };
        // What is recorded and should not be (or no longer exists) ends.
        p.recordings.retain(|mid, rule| {
            let keep = recorded.contains(mid);
            if !keep {
                host::unforward(*rule);
            }
            keep
        });
        let Some(owner) = owner else { return };
        let now = portunus_sdk::files::micros_now();
        let base = p.filename.clone().unwrap_or_else(|| format!("videoroom-{}-user-{}-{now}", p.room, p.id));
        let options = ForwardOptions { substream: None, temporal: None, kinds: Vec::new() };
        for s in p.streams.iter().filter(|s| recorded.contains(&s.mid)) {
            if p.recordings.contains_key(&s.mid) {
                continue;
            }
            let kind = match s.kind {
                MediaKind::Audio => "audio",
                MediaKind::Video => "video",
                MediaKind::Data => "data",
            };
            let name = format!("{base}-{kind}-{}.mjr", s.mindex);
            let file = portunus_sdk::files::in_folder(dir.as_deref(), &name);
            match host::forward_record(Endpoint::Peer(owner), &s.mid, &file, &options) {
                Ok(rule) => {
                    p.recordings.insert(s.mid.clone(), rule);
                }
                Err(e) => portunus_sdk::warn!("[{handle}] cannot record to {file}: {e}"),
            }
        }
    }

    /// `enable_recording`: starts or stops recording every publisher of a room.
    pub(crate) fn enable_recording(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        portunus_sdk::validate(body, &[Field::new("record", JsonType::Bool).required()], &CODES)?;
        let (id, _) = self.room_with_secret(body)?;
        let record = body.get("record").and_then(Value::as_bool) == Some(true);
        if let Some(room) = self.rooms.get_mut(&id) {
            room.record = record;
        }
        let handles: Vec<u64> = self.members_of(&id).map(|(_, h)| h.handle).collect();
        for handle in handles {
            self.record_publisher(handle);
        }
        Ok(videoroom("success", json!({"record": record})))
    }
}
