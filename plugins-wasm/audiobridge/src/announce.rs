//! Announcements: `play_file` plays an Opus-in-Ogg file into a room (from a folder the plugin's
//! `sandbox.read_dir` allows), `is_playing`, `stop_file`. A file is an RTP input of the host's
//! (it reads and paces the file) forwarded into a port of the room's mixer that the plugin
//! owns: everyone hears it; the room hears `announcement-started` and `announcement-stopped`.

use portunus_sdk::{
    host, json, Endpoint, Field, ForwardOptions, Id, InputOptions, InputStream, JsonType, LegCodec,
    MediaKind, PluginError, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{audiobridge, code, err, str_of, AudioBridge, CODES};

/// The stream name of a file input.
const MID: &str = "a";

/// A file playing into a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    input: u64,
    port: u64,
    looped: bool,
    filename: String,
}

impl AudioBridge {
    pub(crate) fn play_file(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const PLAY: &[Field] = &[
            Field::new("filename", JsonType::String).required(),
            Field::new("file_id", JsonType::String),
            Field::new("loop", JsonType::Bool),
            Field::new("group", JsonType::String),
        ];
        // (Janus's order: the room's id, the request's fields, the admin key, then the room
        // and its secret.)
        self.room_id(body)?;
        portunus_sdk::validate(body, PLAY, &CODES)?;
        self.check_admin_key(body, self.settings.lock_play_file)?;
        let (room, _) = self.room_with_secret(body)?;
        // In a room with groups, an announcement plays in one (for its forwarders).
        let group = match self.rooms.get(&room) {
            Some(r) => r.group_number(self.group_in(r, body, true)?.as_deref()),
            None => 0,
        };
        let file_id = match str_of(body, "file_id") {
            Some(id) => id.to_owned(),
            None => format!("{:016x}", portunus_sdk::rooms::random_u64()),
        };
        if self.announcements.contains_key(&(room.clone(), file_id.clone())) {
            return Err(err(code::ID_EXISTS, format!("File ID exists ({file_id})")));
        }
        let looped = body.get("loop").and_then(Value::as_bool).unwrap_or(false);
        let options = InputOptions {
            bind: None,
            source: None,
            streams: vec![InputStream {
                mid: MID.to_owned(),
                kind: MediaKind::Audio,
                codec: LegCodec { pt: 111, name: "opus".to_owned(), clock: 48_000 },
                fmtp: None,
                ports: Vec::new(),
                ssrcs: Vec::new(),
                rtcp_port: None,
                mcast: None,
            }],
            no_media_ms: 0,
            collision_ms: 0,
            srtp: None,
            file: str_of(body, "filename").map(str::to_owned),
            loop_file: looped,
            // A file played once starts with its rule into the mix, so none of it is lost.
            file_on_demand: !looped,
            rtsp: None,
        };
        let input = host::rtp_input_open(&options)
            .map_err(|e| {
                portunus_sdk::warn!("room {room}: cannot play {:?}: {e}", str_of(body, "filename"));
                err(code::UNKNOWN, "Error opening file")
            })?
            .id;
        let mixer = self.mixer_of(&room)?;
        // A source: it is heard and hears nothing.
        let settings = portunus_sdk::MixSettings { deaf: true, group, ..Default::default() };
        let joined = host::mixer_join(mixer, None, portunus_sdk::MixCodec::Opus, settings);
        let port = match joined {
            Ok(port) => port,
            Err(e) => {
                host::rtp_input_close(input);
                return Err(err(code::UNKNOWN, e));
            }
        };
        let options = ForwardOptions { substream: None, temporal: None, kinds: vec![MediaKind::Audio] };
        if let Err(e) = host::forward(Endpoint::Input(input), Some(MID), Endpoint::Mix(port), None, &options)
        {
            host::rtp_input_close(input);
            host::mixer_leave(port);
            return Err(err(code::UNKNOWN, e));
        }
        let filename = str_of(body, "filename").unwrap_or_default().to_owned();
        self.announcements
            .insert((room.clone(), file_id.clone()), Announcement { input, port, looped, filename });
        let started =
            audiobridge("announcement-started", json!({"room": room.to_json(), "file_id": file_id}));
        self.notify(&room, None, &started);
        portunus_sdk::notify_event(
            None,
            || json!({"event": "announcement-started", "room": room.to_json(), "file_id": file_id}),
        );
        Ok(audiobridge("success", json!({"room": room.to_json(), "file_id": file_id})))
    }

    pub(crate) fn is_playing(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        // (Janus's order: the room's id and `file_id`, the admin key, then the room.)
        self.room_id(body)?;
        portunus_sdk::validate(body, &[Field::new("file_id", JsonType::String).required()], &CODES)?;
        self.check_admin_key(body, self.settings.lock_play_file)?;
        let (room, _) = self.room_with_secret(body)?;
        let file_id = str_of(body, "file_id").unwrap_or_default().to_owned();
        let playing = self.announcements.contains_key(&(room.clone(), file_id.clone()));
        Ok(audiobridge("success", json!({"room": room.to_json(), "file_id": file_id, "playing": playing})))
    }

    pub(crate) fn stop_file(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        // (Janus's order: the room's id and `file_id`, the admin key, then the room.)
        self.room_id(body)?;
        portunus_sdk::validate(body, &[Field::new("file_id", JsonType::String).required()], &CODES)?;
        self.check_admin_key(body, self.settings.lock_play_file)?;
        let (room, _) = self.room_with_secret(body)?;
        let file_id = str_of(body, "file_id").unwrap_or_default().to_owned();
        // An unknown file is not an error (as in Janus).
        self.stop_announcement(&room, &file_id);
        Ok(audiobridge("success", json!({"room": room.to_json(), "file_id": file_id})))
    }

    /// `stop_all_files` (Janus 1.2 and later): every file of the room stops.
    pub(crate) fn stop_all_files(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        self.stop_announcements(&room);
        Ok(audiobridge("success", json!({"room": room.to_json()})))
    }

    /// `listannouncements` (Janus 1.2 and later): the files playing in a room.
    pub(crate) fn list_announcements(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let list: Vec<Value> = self
            .announcements_of(&room)
            .map(|(id, a)| json!({"file_id": id, "filename": a.filename, "playing": true, "loop": a.looped}))
            .collect();
        Ok(audiobridge("announcements", json!({"room": room.to_json(), "announcements": list})))
    }

    /// The announcements of a room: (file id, announcement).
    fn announcements_of<'a>(
        &'a self,
        room: &'a Id,
    ) -> impl Iterator<Item = (&'a String, &'a Announcement)> + 'a {
        self.announcements
            .range((room.clone(), String::new())..)
            .take_while(move |((r, _), _)| r == room)
            .map(|((_, id), a)| (id, a))
    }

    /// Ends an announcement: its input and port close, and the room hears it.
    pub(crate) fn stop_announcement(&mut self, room: &Id, file_id: &str) {
        let Some(a) = self.announcements.remove(&(room.clone(), file_id.to_owned())) else { return };
        host::rtp_input_close(a.input);
        host::mixer_leave(a.port);
        let stopped =
            audiobridge("announcement-stopped", json!({"room": room.to_json(), "file_id": file_id}));
        self.notify(room, None, &stopped);
        portunus_sdk::notify_event(
            None,
            || json!({"event": "announcement-stopped", "room": room.to_json(), "file_id": file_id}),
        );
    }

    /// A file input stopped sending: a file played once has ended.
    pub(crate) fn file_ended(&mut self, input: u64) {
        let ended =
            self.announcements.iter().find(|(_, a)| a.input == input && !a.looped).map(|(k, _)| k.clone());
        if let Some((room, file_id)) = ended {
            self.stop_announcement(&room, &file_id);
        }
    }

    /// The announcements of a room, stopped (a destroyed room).
    pub(crate) fn stop_announcements(&mut self, room: &Id) {
        let ids: Vec<String> = self.announcements_of(room).map(|(id, _)| id.clone()).collect();
        for id in ids {
            self.stop_announcement(room, &id);
        }
    }
}
