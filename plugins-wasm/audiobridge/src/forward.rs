//! `rtp_forward` of a room's mix: a listener port of the room's mixer (the plugin's own, no
//! handle) whose mix the host sends as plain RTP, in Opus or G.711 (`stop_rtp_forward`,
//! `listforwarders`).

use portunus_sdk::rtp_target::{family, resolve, srtp_of};
use portunus_sdk::{
    host, json, Endpoint, Field, ForwardOptions, Id, JsonType, PluginError, RtpTarget, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{audiobridge, code, err, mix_codec, str_of, AudioBridge, CODES};

/// A forwarder of a room's mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forwarder {
    /// The listener port and the rule that sends its mix.
    port: u64,
    rule: u64,
    host: String,
    to_port: u16,
    ssrc: u32,
    codec: String,
    ptype: u8,
    always_on: bool,
    /// The group it forwards (none: the whole mix).
    #[serde(default)]
    group: Option<String>,
    /// It sends SDES-SRTP.
    #[serde(default)]
    srtp: bool,
}

impl AudioBridge {
    /// The room's mixer, made now if it has none yet.
    pub(crate) fn mixer_of(&mut self, room: &Id) -> Result<u64, PluginError> {
        let r =
            self.rooms.get(room).ok_or_else(|| err(code::NO_SUCH_ROOM, format!("No such room ({room})")))?;
        if let Some(m) = r.mixer {
            return Ok(m);
        }
        let m = host::mixer_create(r.sampling_rate, r.spatial_audio).map_err(|e| err(code::UNKNOWN, e))?;
        let mut r = r.clone();
        r.mixer = Some(m);
        self.rooms.insert(room.clone(), r);
        Ok(m)
    }

    /// The forwarders of a room: (stream id, forwarder).
    fn forwarders_of<'a>(&'a self, room: &'a Id) -> impl Iterator<Item = (u32, &'a Forwarder)> + 'a {
        self.forwarders.range((room.clone(), 0)..=(room.clone(), u32::MAX)).map(|((_, id), f)| (*id, f))
    }

    /// `rtp_forward`, checked in Janus 1.1.2's order: the fields, the room's id, the admin key
    /// (with `lock_rtp_forward`), the codec, the port, the address family, `host` (a name is
    /// looked up), SRTP, then the room and its secret.
    pub(crate) fn rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const FORWARD: &[Field] = &[
            Field::new("group", JsonType::String),
            Field::new("ssrc", JsonType::Integer).positive(),
            Field::new("codec", JsonType::String),
            Field::new("ptype", JsonType::Integer).positive(),
            Field::new("port", JsonType::Integer).positive().required(),
            Field::new("host", JsonType::String).required(),
            Field::new("host_family", JsonType::String),
            Field::new("srtp_suite", JsonType::Integer).positive(),
            Field::new("srtp_crypto", JsonType::String),
            Field::new("always_on", JsonType::Bool),
        ];
        portunus_sdk::validate(body, FORWARD, &CODES)?;
        self.room_id(body)?;
        self.check_admin_key(body, self.settings.lock_rtp_forward)?;
        let codec = str_of(body, "codec").unwrap_or("opus").to_ascii_lowercase();
        let default_pt = match codec.as_str() {
            "opus" => 100,
            "pcmu" => 0,
            "pcma" => 8,
            other => return Err(err(code::INVALID_ELEMENT, format!("Unsupported codec ({other})"))),
        };
        let asked_port = body.get("port").and_then(Value::as_u64).unwrap_or(0);
        let to_port = u16::try_from(asked_port).ok().filter(|p| *p > 0);
        let to_port = to_port
            .ok_or_else(|| err(code::INVALID_ELEMENT, format!("Invalid port number ({asked_port})")))?;
        let invalid = |e: String| err(code::INVALID_ELEMENT, e);
        let family = family(body).map_err(invalid)?;
        let host_name = resolve(str_of(body, "host").unwrap_or_default(), family).map_err(invalid)?;
        let srtp = srtp_of(body).map_err(invalid)?;
        let (room, _) = self.room_with_secret(body)?;
        // A forwarder of a group sends that group's voices; without one, the whole mix.
        let group = match self.rooms.get(&room) {
            Some(r) => {
                self.group_in(r, body, false).map_err(|_| err(code::NO_SUCH_GROUP, "No such group"))?
            }
            None => None,
        };
        let hears_group = self.rooms.get(&room).map_or(0, |r| r.group_number(group.as_deref()));
        let ptype = body.get("ptype").and_then(Value::as_u64).map_or(default_pt, |p| (p & 0x7f) as u8);
        let stream_id = loop {
            let id = (portunus_sdk::rooms::random_u64() as u32).max(1);
            if !self.forwarders.contains_key(&(room.clone(), id)) {
                break id;
            }
        };
        // Janus's default SSRC is the stream id.
        let ssrc = body.get("ssrc").and_then(Value::as_u64).map_or(stream_id, |s| s as u32);
        let mixer = self.mixer_of(&room)?;
        // A listener: it adds nothing and hears the room (or one group).
        let settings = portunus_sdk::MixSettings { muted: true, hears_group, ..Default::default() };
        let port =
            host::mixer_join(mixer, None, mix_codec(&codec), settings).map_err(|e| err(code::UNKNOWN, e))?;
        let target = RtpTarget {
            host: host_name.clone(),
            port: to_port,
            ssrc: Some(ssrc),
            payload_type: Some(ptype),
            srtp,
        };
        let target_srtp = target.srtp.is_some();
        let options = ForwardOptions { substream: None, temporal: None, kinds: Vec::new() };
        let rule = match host::forward_rtp(Endpoint::Mix(port), "", &target, &options) {
            Ok(rule) => rule,
            Err(e) => {
                host::mixer_leave(port);
                return Err(err(code::UNKNOWN, format!("Error forwarding: {e}")));
            }
        };
        let always_on = body.get("always_on").and_then(Value::as_bool).unwrap_or(false);
        let mut response =
            json!({"room": room.to_json(), "stream_id": stream_id, "host": host_name, "port": to_port});
        if let Some(g) = &group {
            response["group"] = json!(g);
        }
        let forwarder = Forwarder {
            port,
            rule,
            host: host_name,
            to_port,
            ssrc,
            codec,
            ptype,
            always_on,
            group,
            srtp: target_srtp,
        };
        self.forwarders.insert((room.clone(), stream_id), forwarder);
        Ok(audiobridge("success", response))
    }

    pub(crate) fn stop_rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        self.room_id(body)?;
        self.check_admin_key(body, self.settings.lock_rtp_forward)?;
        let (room, _) = self.room_with_secret(body)?;
        portunus_sdk::validate(
            body,
            &[Field::new("stream_id", JsonType::Integer).positive().required()],
            &CODES,
        )?;
        let stream_id = body.get("stream_id").and_then(Value::as_u64).unwrap_or(0);
        // An unknown stream id is not an error (as in Janus).
        if let Some(f) =
            u32::try_from(stream_id).ok().and_then(|id| self.forwarders.remove(&(room.clone(), id)))
        {
            host::mixer_leave(f.port);
        }
        Ok(audiobridge("success", json!({"room": room.to_json(), "stream_id": stream_id})))
    }

    pub(crate) fn list_forwarders(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let list: Vec<Value> = self
            .forwarders_of(&room)
            .map(|(id, f)| {
                let mut entry = json!({"stream_id": id, "ip": f.host, "port": f.to_port, "ssrc": f.ssrc,
                       "codec": f.codec, "ptype": f.ptype, "always_on": f.always_on});
                if let Some(g) = &f.group {
                    entry["group"] = json!(g);
                }
                if f.srtp {
                    entry["srtp"] = json!(true);
                }
                entry
            })
            .collect();
        Ok(audiobridge("forwarders", json!({"room": room.to_json(), "rtp_forwarders": list})))
    }

    /// A destroyed room's forwarders go (their ports went with its mixer).
    pub(crate) fn drop_forwarders(&mut self, room: &Id) {
        let ids: Vec<u32> = self.forwarders_of(room).map(|(id, _)| id).collect();
        for id in ids {
            self.forwarders.remove(&(room.clone(), id));
        }
    }
}
