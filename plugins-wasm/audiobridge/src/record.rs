//! Recording a room's mix to a WAV file (`record`, `record_file`, `record_dir` on `create`,
//! `enable_recording`): the host writes it, from the room's mixer, in a folder the plugin's
//! `sandbox.write_dir` allows; the file is complete when recording stops or the room goes.

use portunus_sdk::{host, json, Field, Id, JsonType, PluginError, Value};
use serde_json::Map;

use crate::{audiobridge, code, err, str_of, AudioBridge, CODES};

impl AudioBridge {
    /// Starts recording a room's mix (its mixer is made now if it has none), in the file its
    /// settings name or `janus-audioroom-<room>-<µs since 1970>.wav`.
    pub(crate) fn start_recording(&mut self, room: &Id) -> Result<(), PluginError> {
        let mixer = self.mixer_of(room)?;
        let Some(r) = self.rooms.get_mut(room) else {
            return Err(err(code::NO_SUCH_ROOM, format!("No such room ({room})")));
        };
        let name = r
            .record_file
            .clone()
            .unwrap_or_else(|| format!("janus-audioroom-{room}-{}.wav", portunus_sdk::files::micros_now()));
        let file = portunus_sdk::files::in_folder(r.record_dir.as_deref(), &name);
        let path = host::mixer_record(mixer, Some(&file))
            .map_err(|e| err(code::UNKNOWN, format!("Can't record room {room}: {e}")))?;
        portunus_sdk::info!("room {room}: recording to {path}");
        r.record = true;
        r.recording = Some(path);
        Ok(())
    }

    /// Stops recording a room's mix (its file is complete then).
    pub(crate) fn stop_recording(&mut self, room: &Id) {
        let Some(r) = self.rooms.get_mut(room) else { return };
        if let (Some(mixer), Some(path)) = (r.mixer, r.recording.take()) {
            let _ = host::mixer_record(mixer, None);
            portunus_sdk::info!("room {room}: recorded {path}");
            portunus_sdk::notify_event(
                None,
                || json!({"event": "recordingdone", "room": room.to_json(), "record_file": path}),
            );
        }
        r.record = false;
    }

    /// `enable_recording`: starts or stops recording a room's mix.
    pub(crate) fn enable_recording(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const FIELDS: &[Field] = &[
            Field::new("record", JsonType::Bool).required(),
            Field::new("record_file", JsonType::String),
            Field::new("record_dir", JsonType::String),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let (id, room) = self.room_with_secret(body)?;
        let wanted = body.get("record").and_then(Value::as_bool) == Some(true);
        if wanted != room.record {
            if wanted {
                let mut r = room.clone();
                if let Some(f) = str_of(body, "record_file") {
                    r.record_file = Some(f.to_owned());
                }
                if let Some(d) = str_of(body, "record_dir") {
                    r.record_dir = Some(d.to_owned());
                }
                self.rooms.insert(id.clone(), r);
                self.start_recording(&id)?;
            } else {
                self.stop_recording(&id);
            }
        }
        let record = self.rooms.get(&id).is_some_and(|r| r.record);
        Ok(audiobridge("success", json!({"record": record})))
    }

    /// `enable_mjrs`: starts or stops recording every participant of a room to its own .mjr
    /// file (in `mjrs_dir`, when given).
    pub(crate) fn enable_mjrs(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const FIELDS: &[Field] =
            &[Field::new("mjrs", JsonType::Bool).required(), Field::new("mjrs_dir", JsonType::String)];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let (id, _) = self.room_with_secret(body)?;
        let mjrs = body.get("mjrs").and_then(Value::as_bool) == Some(true);
        let Some(room) = self.rooms.get_mut(&id) else {
            return Err(err(code::NO_SUCH_ROOM, format!("No such room ({id})")));
        };
        room.mjrs = mjrs;
        if let (true, Some(dir)) = (mjrs, str_of(body, "mjrs_dir")) {
            room.mjrs_dir = Some(dir.to_owned());
        }
        let handles: Vec<portunus_sdk::HandleRef> = self.members_of(&id).map(|(_, h)| h).collect();
        for handle in handles {
            if let Some(p) = self.participants.get_mut(&handle.handle) {
                crate::participant::record(handle, p, self.rooms.get(&id));
            }
        }
        Ok(audiobridge("success", json!({"mjrs": mjrs})))
    }

    /// The host could not write a room's recording (a full disk): it stopped.
    pub(crate) fn recording_failed(&mut self, mixer: u64, why: &str) {
        let Some(r) = self.rooms.values_mut().find(|r| r.mixer == Some(mixer)) else { return };
        portunus_sdk::warn!(
            "room {}: recording {} stopped: {why}",
            r.id,
            r.recording.as_deref().unwrap_or("?")
        );
        r.record = false;
        r.recording = None;
    }
}
