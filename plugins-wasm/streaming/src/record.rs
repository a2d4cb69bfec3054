//! `recording`: a live RTP (or RTSP) mountpoint's streams recorded to .mjr files, as Janus's
//! Streaming plugin does: `action: "start"` with `media: [{mid, filename}]` (or the older
//! `audio`, `video`, `data` strings naming the files of the first stream of each kind),
//! `"stop"` with `media: [{mid}]` (or `audio`, `video`, `data` flags). A file is `filename` plus
//! `.mjr`, in a folder the plugin's `sandbox.write_dir` allows; a data stream's file holds its
//! messages, as Janus records data.

use portunus_sdk::{host, json, Endpoint, Field, ForwardOptions, JsonType, MediaKind, PluginError, Value};
use serde_json::Map;

use crate::{code, err, str_of, Streaming, CODES};

impl Streaming {
    pub(crate) fn recording(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        portunus_sdk::validate(
            body,
            &[Field::new("action", JsonType::String).required(), Field::new("media", JsonType::Array)],
            &CODES,
        )?;
        let (id, mp) = self.with_secret(body)?;
        if mp.file.is_some() {
            return Err(err(code::INVALID_REQUEST, "Recording is only possible for RTP mountpoints"));
        }
        let start = match str_of(body, "action") {
            Some("start") => true,
            Some("stop") => false,
            _ => return Err(err(code::INVALID_ELEMENT, "Invalid action (should be start|stop)")),
        };
        // The streams named, with their files when starting.
        let mut named: Vec<(String, Option<String>)> = Vec::new();
        if let Some(Value::Array(list)) = body.get("media") {
            for m in list {
                let mid = m
                    .get("mid")
                    .and_then(Value::as_str)
                    .ok_or_else(|| err(code::MISSING_ELEMENT, "Missing mid"))?;
                let file = m.get("filename").and_then(Value::as_str).map(str::to_owned);
                if start && file.is_none() {
                    return Err(err(code::MISSING_ELEMENT, format!("Missing filename for mid {mid}")));
                }
                named.push((mid.to_owned(), file));
            }
        }
        for (key, kind) in
            [("audio", MediaKind::Audio), ("video", MediaKind::Video), ("data", MediaKind::Data)]
        {
            let asked = match body.get(key) {
                Some(Value::String(file)) if start => Some(Some(file.clone())),
                Some(Value::Bool(true)) if !start => Some(None),
                _ => None,
            };
            if let (Some(file), Some(m)) = (asked, mp.media.iter().find(|m| m.kind == kind)) {
                named.push((m.mid.clone(), file));
            }
        }
        if named.is_empty() {
            return Err(err(code::INVALID_REQUEST, "Missing audio, video and/or data"));
        }
        for (mid, _) in &named {
            match mp.media.iter().find(|m| m.mid == *mid) {
                None => return Err(err(code::NO_SUCH_MOUNTPOINT, format!("No such stream {mid}"))),
                Some(_) if start && mp.recordings.contains_key(mid) => {
                    return Err(err(code::INVALID_REQUEST, "Recording started for this stream"))
                }
                Some(_) => {}
            }
        }
        let input = mp.input;
        let Some(mp) = self.mountpoints.get_mut(&id) else {
            return Err(err(code::NO_SUCH_MOUNTPOINT, format!("No such mountpoint/stream {id}")));
        };
        let options = ForwardOptions { substream: None, temporal: None, kinds: Vec::new() };
        for (mid, file) in named {
            match file {
                Some(file) if start => {
                    let rule =
                        host::forward_record(Endpoint::Input(input), &mid, &format!("{file}.mjr"), &options)
                            .map_err(|e| {
                                err(code::CANT_RECORD, format!("Error starting recorder for {mid}: {e}"))
                            })?;
                    mp.recordings.insert(mid, rule);
                }
                _ => {
                    if let Some(rule) = mp.recordings.remove(&mid) {
                        host::unforward(rule);
                    }
                }
            }
        }
        Ok(json!({"streaming": "ok"}))
    }
}
