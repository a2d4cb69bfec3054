//! Mountpoint management: the config's mountpoints, `list`, `info`, `create`, `edit`,
//! `destroy`, `enable`/`disable`, `kick_all`. `permanent: true` writes the mountpoints back to
//! the config file first; when that fails, nothing changes and the request says why.

use portunus_sdk::rooms::{check_key, flag, id_field, Id, RoomsConfig};
use portunus_sdk::{host, json, Field, HandleRef, InputOptions, InputStream, JsonType, PluginError, Value};
use serde_json::Map;

use crate::mountpoint::{self, Mountpoint};
use crate::source::Creating;
use crate::{code, err, result, str_of, Streaming, CODES};

/// The keys of `create` Janus checks the types of.
const CREATE: &[Field] = &[
    Field::new("type", JsonType::String).required(),
    Field::new("name", JsonType::String),
    Field::new("description", JsonType::String),
    Field::new("metadata", JsonType::String),
    Field::new("is_private", JsonType::Bool),
    Field::new("secret", JsonType::String),
    Field::new("pin", JsonType::String),
    Field::new("permanent", JsonType::Bool),
    Field::new("media", JsonType::Array),
    Field::new("srtpsuite", JsonType::Integer).positive(),
    Field::new("srtpcrypto", JsonType::String),
];

impl Streaming {
    /// The mountpoint a request names (`id`).
    pub(crate) fn mountpoint_id(&self, body: &Map<String, Value>) -> Result<Id, PluginError> {
        portunus_sdk::rooms::id_of(body, "id", self.settings.string_ids, &CODES)
    }

    pub(crate) fn mountpoint(&self, body: &Map<String, Value>) -> Result<(Id, &Mountpoint), PluginError> {
        let id = self.mountpoint_id(body)?;
        match self.mountpoints.get(&id) {
            Some(mp) => Ok((id, mp)),
            None => Err(err(code::NO_SUCH_MOUNTPOINT, format!("No such mountpoint/stream {id}"))),
        }
    }

    /// The mountpoint, if `secret` opens it.
    pub(crate) fn with_secret(&self, body: &Map<String, Value>) -> Result<(Id, &Mountpoint), PluginError> {
        let (id, mp) = self.mountpoint(body)?;
        check_key(body, "secret", mp.secret.as_deref(), &CODES, code::UNAUTHORIZED)?;
        Ok((id, mp))
    }

    /// The config's mountpoints (their inputs open once `init` and any `restore` are done).
    pub(crate) fn load_config(&mut self, config: &Value) {
        let mut other = Map::new();
        for (name, keys) in config.as_object().into_iter().flatten() {
            let Some(keys) = keys.as_object().filter(|k| k.contains_key("type")) else {
                other.insert(name.clone(), keys.clone());
                continue;
            };
            let id = Id::from_json(keys.get("id"), self.settings.string_ids)
                .or_else(|| keys.get("id").and_then(portunus_sdk::rooms::number).map(Id::Num))
                .unwrap_or_else(|| Id::random(self.settings.string_ids));
            match mountpoint::parse(id.clone(), keys) {
                Ok(mut mp) => {
                    if !keys.contains_key("name") {
                        mp.name = name.clone();
                    }
                    if !keys.contains_key("description") {
                        mp.description = name.clone();
                    }
                    mp.permanent = true;
                    self.mountpoints.insert(id, mp);
                }
                Err(e) => {
                    // Kept in the file as it is: saving other mountpoints must not lose it.
                    portunus_sdk::warn!("mountpoint {name}: {}; skipped", e.text);
                    other.insert(name.clone(), Value::Object(keys.clone()));
                }
            }
        }
        self.settings.file = RoomsConfig::parse(&Value::Object(other), self.settings.string_ids).0;
    }

    /// Opens the inputs of mountpoints that have none (the config's, at start).
    pub(crate) fn open_missing_inputs(&mut self) {
        let missing: Vec<Id> = self
            .mountpoints
            .iter()
            .filter(|(_, mp)| mp.input == 0 && !mp.ondemand)
            .map(|(id, _)| id.clone())
            .collect();
        for id in missing {
            let Some(mut mp) = self.mountpoints.get(&id).cloned() else { continue };
            match open_shared_input(&mut mp) {
                Ok(()) => {
                    self.inputs.insert(mp.input, id.clone());
                    self.mountpoints.insert(id, mp);
                }
                Err(e) => {
                    // Left out for now, but kept in the file.
                    portunus_sdk::warn!("mountpoint {id}: {}; left out", e.text);
                    if let Some(mp) = self.mountpoints.remove(&id).filter(|mp| mp.permanent) {
                        self.settings.file.keep_section(&mp.name, mp.to_config());
                    }
                }
            }
        }
    }

    /// The public mountpoints (all of them with the right `admin_key`; a wrong one is 457).
    pub(crate) fn list(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let admin = match (&self.settings.admin_key, str_of(body, "admin_key")) {
            (Some(key), Some(given)) if key == given => true,
            (Some(_), Some(_)) => return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong admin_key)")),
            _ => false,
        };
        let list: Vec<Value> = self
            .mountpoints
            .values()
            .filter(|mp| admin || !mp.is_private)
            .map(|mp| {
                let mut entry = mp.listed();
                mp.with_status(&mut entry, false);
                entry
            })
            .collect();
        Ok(json!({"streaming": "list", "list": list}))
    }

    /// `info`: a mountpoint with each stream's age; with no secret or the right one, its name,
    /// keys, viewers, ports and sources too.
    pub(crate) fn info(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (_, mp) = self.mountpoint(body)?;
        let admin = mp.secret.is_none() || mp.secret.as_deref() == str_of(body, "secret");
        let mut info = mp.info(admin);
        mp.with_status(&mut info, admin);
        Ok(json!({"streaming": "info", "info": info}))
    }

    /// `create`: the answer, or none when it comes later as an event (an `rtsp` mountpoint
    /// with `rtsp_failcheck`, once its source plays or fails: see [`Streaming::source`]).
    pub(crate) fn create(
        &mut self,
        body: &Map<String, Value>,
        asker: Option<(HandleRef, &str)>,
    ) -> Result<Option<Value>, PluginError> {
        if let Some(key) = &self.settings.admin_key {
            check_key(body, "admin_key", Some(key), &CODES, code::UNAUTHORIZED)?;
        }
        portunus_sdk::validate(body, CREATE, &CODES)?;
        portunus_sdk::validate(body, &[id_field("id", self.settings.string_ids)], &CODES)?;
        // (Id 0, or none: a random one, clear of those being made too.)
        let taken = |id: &Id| {
            self.mountpoints.contains_key(id) || self.creating.values().any(|c| c.mountpoint.id == *id)
        };
        let id = Id::choose(body.get("id"), self.settings.string_ids, taken)
            .map_err(|_| err(code::CANT_CREATE, "A stream with the provided ID already exists"))?;
        // A request's numbers are numbers (a config file may quote them).
        const NUMBERS: &[Field] = &[
            Field::new("port", JsonType::Integer).positive(),
            Field::new("port2", JsonType::Integer).positive(),
            Field::new("port3", JsonType::Integer).positive(),
            Field::new("pt", JsonType::Integer).positive(),
        ];
        for m in
            body.get("media").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
        {
            portunus_sdk::validate(m, NUMBERS, &CODES)?;
        }
        let mut mp = mountpoint::parse(id.clone(), body)?;
        mp.permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        // Its name names its section of the config file: it must be unique there.
        let taken = |m: &Mountpoint| m.name == mp.name;
        if self.settings.file.has_section(&mp.name)
            || self.mountpoints.values().any(taken)
            || self.creating.values().any(|c| taken(&c.mountpoint))
        {
            return Err(err(code::CANT_CREATE, format!("A stream with the name {} already exists", mp.name)));
        }
        open_shared_input(&mut mp)?;
        // With a handle, answered once the source plays (or fails): the host does not block on
        // the network. Over the Admin API, which cannot wait, made at once (as without
        // `rtsp_failcheck`: the source is tried again until it plays).
        if let (Some((handle, transaction)), true) = (asker, mp.rtsp.as_ref().is_some_and(|r| r.failcheck)) {
            let answer = created_answer(&id, &mp, body);
            self.creating.insert(
                mp.input,
                Creating { mountpoint: mp, handle, transaction: transaction.to_owned(), answer },
            );
            return Ok(None);
        }
        let answer = created_answer(&id, &mp, body);
        self.add_created(mp, asker.map(|(h, _)| h))?;
        Ok(Some(answer))
    }

    /// A new mountpoint joins the others (written to the config file first if permanent);
    /// the event handlers hear of it about the handle that asked.
    pub(crate) fn add_created(
        &mut self,
        mp: Mountpoint,
        asker: Option<HandleRef>,
    ) -> Result<(), PluginError> {
        let id = mp.id.clone();
        let kind = if mp.ondemand { "on demand" } else { "live" };
        if mp.permanent {
            if let Err(e) = self.save_config(self.mountpoints.values().chain([&mp])) {
                if mp.input != 0 {
                    host::rtp_input_close(mp.input);
                }
                return Err(e);
            }
        }
        if mp.input != 0 {
            self.inputs.insert(mp.input, id.clone());
        }
        self.mountpoints.insert(id.clone(), mp);
        portunus_sdk::info!("created mountpoint {id}");
        portunus_sdk::notify_event(asker, || json!({"event": "created", "id": id.to_json(), "type": kind}));
        Ok(())
    }

    pub(crate) fn edit(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        const EDIT: &[Field] = &[
            Field::new("new_description", JsonType::String),
            Field::new("new_metadata", JsonType::String),
            Field::new("new_secret", JsonType::String),
            Field::new("new_pin", JsonType::String),
            Field::new("new_is_private", JsonType::Bool),
            Field::new("permanent", JsonType::Bool),
            Field::new("edited_event", JsonType::Bool),
        ];
        portunus_sdk::validate(body, EDIT, &CODES)?;
        let id = self.mountpoint_id(body)?;
        if !self.mountpoints.contains_key(&id) {
            // (Janus's words for `edit`.)
            return Err(err(code::NO_SUCH_MOUNTPOINT, format!("No such mountpoint ({id})")));
        }
        let (id, mp) = self.with_secret(body)?;
        let mut edited = mp.clone();
        let text = |name: &str| str_of(body, name).filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(v) = text("new_description") {
            edited.description = v;
        }
        if let Some(v) = text("new_metadata") {
            edited.metadata = Some(v);
        }
        if let Some(v) = text("new_secret") {
            edited.secret = Some(v);
        }
        // An empty `new_pin` removes the pin, as in Janus.
        if let Some(v) = str_of(body, "new_pin") {
            edited.pin = Some(v.to_owned()).filter(|p| !p.is_empty());
        }
        if let Some(v) = body.get("new_is_private").and_then(flag) {
            edited.is_private = v;
        }
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            edited.permanent = true;
            self.save_config(self.mountpoints.values().filter(|m| m.id != id).chain([&edited]))?;
        }
        // With `edited_event`, viewers hear of it (Janus's event has no `streaming` key).
        if body.get("edited_event").and_then(Value::as_bool) == Some(true) {
            let mut event = json!({"event": "edited", "id": id.to_json()});
            if let Some(metadata) = &edited.metadata {
                event["metadata"] = json!(metadata);
            }
            for (_, handle) in self.watching.range((id.clone(), 0)..=(id.clone(), u64::MAX)) {
                crate::push(*handle, None, &event, None);
            }
        }
        self.mountpoints.insert(id.clone(), edited);
        portunus_sdk::notify_event(requester, || json!({"event": "edited", "id": id.to_json()}));
        Ok(json!({"streaming": "edited", "id": id.to_json(), "permanent": permanent}))
    }

    /// `destroy`: its viewers hear `stopped` and lose their PeerConnection; the input closes.
    pub(crate) fn destroy(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        let (id, _) = self.with_secret(body)?;
        portunus_sdk::validate(body, &[Field::new("permanent", JsonType::Bool)], &CODES)?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            self.save_config(self.mountpoints.values().filter(|m| m.id != id))?;
        }
        self.kick(&id, "stopped");
        if let Some(mp) = self.mountpoints.remove(&id) {
            host::rtp_input_close(mp.input);
            self.inputs.remove(&mp.input);
        }
        portunus_sdk::info!("destroyed mountpoint {id}");
        portunus_sdk::notify_event(requester, || json!({"event": "destroyed", "id": id.to_json()}));
        Ok(json!({"streaming": "destroyed", "destroyed": id.to_json()}))
    }

    /// `enable`/`disable`: a disabled mountpoint sends its viewers nothing (they stay, and get
    /// media again when it is enabled), as in Janus.
    pub(crate) fn enable(&mut self, body: &Map<String, Value>, on: bool) -> Result<Value, PluginError> {
        let (id, _) = self.with_secret(body)?;
        if !on {
            portunus_sdk::validate(body, &[Field::new("stop_recording", JsonType::Bool)], &CODES)?;
        }
        // Disabling stops the recordings too, unless `stop_recording` is false (as in Janus).
        let stop_recording = body.get("stop_recording").and_then(Value::as_bool) != Some(false);
        if let Some(mp) = self.mountpoints.get_mut(&id) {
            mp.enabled = on;
            if !on && stop_recording {
                for (_, rule) in std::mem::take(&mut mp.recordings) {
                    host::unforward(rule);
                }
            }
        }
        let viewers: Vec<_> =
            self.watching.range((id.clone(), 0)..=(id.clone(), u64::MAX)).map(|(_, h)| *h).collect();
        for handle in viewers {
            if on {
                self.flow(handle);
            } else {
                self.unflow(handle.handle);
            }
        }
        Ok(json!({"streaming": "ok"}))
    }

    /// `kick_all`: every viewer of the mountpoint hears `kicked_all` and loses its
    /// PeerConnection.
    pub(crate) fn kick_all(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        let (id, _) = self.with_secret(body)?;
        self.kick(&id, "kicked_all");
        portunus_sdk::notify_event(requester, || json!({"event": "kicked_all", "id": id.to_json()}));
        Ok(json!({"streaming": "kicked_all"}))
    }

    /// Every viewer of a mountpoint stops: it hears `status` and loses its PeerConnection.
    fn kick(&mut self, id: &Id, status: &str) {
        let viewers: Vec<_> =
            self.watching.range((id.clone(), 0)..=(id.clone(), u64::MAX)).map(|(_, h)| *h).collect();
        for handle in viewers {
            self.viewer_gone(handle);
            crate::push(handle, None, &result(json!({ "status": status })), None);
            host::close_pc(handle);
        }
    }

    /// Writes the config file with these mountpoints' permanent ones.
    fn save_config<'a>(&self, mountpoints: impl Iterator<Item = &'a Mountpoint>) -> Result<(), PluginError> {
        let sections = mountpoints.filter(|m| m.permanent).map(|m| (m.name.clone(), m.to_config()));
        self.settings
            .file
            .save_sections(sections)
            .map_err(|e| err(code::UNKNOWN, format!("Error saving the mountpoint to the configuration: {e}")))
    }
}

/// `create`'s answer, as Janus gives it (the older form's adds a port per kind and a warning).
fn created_answer(id: &Id, mp: &Mountpoint, body: &Map<String, Value>) -> Value {
    let mut stream = json!({"id": id.to_json(), "type": "live", "description": mp.description, "is_private": mp.is_private});
    let legacy = !body.contains_key("media") && mp.file.is_none() && mp.rtsp.is_none();
    if legacy {
        // The older form's answer: a port per kind, and Janus's warning.
        for m in &mp.media {
            let kind = m.listed()["type"].as_str().unwrap_or_default().to_owned();
            stream[format!("{kind}_port")] = json!(m.bound.first());
            if let Some(port) = m.rtcp_bound {
                stream[format!("{kind}_rtcp_port")] = json!(port);
            }
        }
    } else if mp.file.is_none() && mp.rtsp.is_none() {
        stream["ports"] = json!(mp.media.iter().map(|m| m.created()).collect::<Vec<_>>());
    }
    let mut answer =
        json!({"streaming": "created", "created": mp.name, "permanent": mp.permanent, "stream": stream});
    if legacy {
        answer["warning"] = json!("deprecated_api");
    }
    answer
}

/// Opens an input for a mountpoint (its ports are bound now; a file input starts playing):
/// its id and, per stream, its ports.
pub(crate) fn open_input(mp: &Mountpoint) -> Result<portunus_sdk::InputLocal, PluginError> {
    let streams = mp
        .media
        .iter()
        .map(|m| {
            let mut stream = InputStream {
                mid: m.mid.clone(),
                kind: m.kind,
                codec: m.leg_codec(),
                fmtp: m.fmtp.clone(),
                ports: m.ports.clone(),
                ssrcs: Vec::new(),
                rtcp_port: m.rtcp_port,
                mcast: m.mcast.clone(),
            };
            // An `rtsp` stream's codec comes from its source, but for what the mountpoint
            // overrides.
            if let Some(rtsp) = &mp.rtsp {
                let o = rtsp.override_of(m.kind);
                (stream.codec.pt, stream.fmtp) = (o.pt, o.fmtp.clone());
            }
            stream
        })
        .collect();
    let options = InputOptions {
        bind: match &mp.rtsp {
            Some(r) => r.iface.clone(),
            None => mp.media.iter().find_map(|m| m.iface.clone()),
        },
        source: None,
        streams,
        no_media_ms: 0,
        collision_ms: mp.collision,
        srtp: mp.srtp.clone(),
        file: mp.file.clone(),
        // Both loop, as Janus's do; an `ondemand` viewer's input starts with it.
        loop_file: true,
        file_on_demand: mp.ondemand,
        rtsp: mp.rtsp.as_ref().map(mountpoint::Rtsp::source),
    };
    host::rtp_input_open(&options).map_err(|e| {
        err(code::CANT_CREATE, format!("Can't create mountpoint, error creating data source: {e}"))
    })
}

/// Opens a mountpoint's shared input (none for `ondemand`: a viewer's own opens at `watch`;
/// one is opened and closed now to check the file).
fn open_shared_input(mp: &mut Mountpoint) -> Result<(), PluginError> {
    let local = open_input(mp)?;
    if mp.ondemand {
        host::rtp_input_close(local.id);
        return Ok(());
    }
    mp.input = local.id;
    for ((m, ports), rtcp) in mp.media.iter_mut().zip(local.ports).zip(local.rtcp_ports) {
        m.bound = ports;
        m.rtcp_bound = rtcp;
    }
    Ok(())
}
