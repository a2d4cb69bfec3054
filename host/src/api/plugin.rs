//! The one boundary between the API core and plugins.
//!
//! The core owns sessions and handles; a plugin is reached only through [`Plugin`], found by
//! package name through [`PluginRegistry`]. Plugins answer through [`PluginReply`] and push
//! later events through [`crate::api::Core::push_plugin_event`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use crate::vocab::{HandleRef, MediaEvent};

/// A boxed future, as plugin calls return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What `info` lists about a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Package name, e.g. `janus.plugin.echotest`.
    pub package: String,
    /// Human-readable name.
    pub name: String,
    /// Author.
    pub author: String,
    /// Description.
    pub description: String,
    /// Version as text, e.g. `0.0.8`.
    pub version_string: String,
    /// Version as a number, e.g. `8`.
    pub version: u64,
}

/// A `message` request as a plugin receives it.
#[derive(Debug, Clone)]
pub struct PluginMessage {
    /// The handle the message was sent on.
    pub handle: HandleRef,
    /// The request's transaction, to be echoed on later events.
    pub transaction: String,
    /// The `body` object.
    pub body: Value,
    /// The JSEP, already checked and stripped of ICE/DTLS by the core.
    pub jsep: Option<Value>,
}

/// An event a plugin pushed while it handled a request. The core delivers it after the
/// request's own reply, so an `ack` always precedes the events that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginEvent {
    /// The handle whose client gets the event.
    pub handle: HandleRef,
    /// The transaction of the request it answers, if any.
    pub transaction: Option<String>,
    /// `plugindata.data`.
    pub data: Value,
    /// An attached JSEP.
    pub jsep: Option<Value>,
}

/// The reply to a `message` and the events pushed while producing it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageOutcome {
    /// The reply.
    pub reply: PluginReply,
    /// Events to deliver after the reply.
    pub events: Vec<PluginEvent>,
    /// What the plugin asked to happen to handles, done after the reply.
    pub effects: Vec<Effect>,
}

/// Something a plugin asked to happen to a handle, whose events the client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Hang up the PeerConnection (`close-pc`).
    ClosePc(HandleRef),
    /// End the handle (`end-handle`).
    EndHandle(HandleRef),
}

/// How a plugin answered a `message`.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginReply {
    /// Synchronous result: the client gets `success` with this as `plugindata.data`.
    Ok(Value),
    /// Asynchronous: the client gets `ack` (with an optional hint); events follow.
    Ack {
        /// Optional `hint` text for the `ack`.
        hint: Option<String>,
    },
    /// The plugin failed: the client gets 462 with this text.
    Error(String),
}

/// A loaded plugin, as the core sees it.
pub trait Plugin: Send + Sync {
    /// Package, name, version and description.
    fn info(&self) -> PluginInfo;
    /// Janus `attach`: a new handle. An error becomes 461.
    fn create_handle(&self, handle: HandleRef) -> BoxFuture<'_, Result<(), String>>;
    /// Janus `message`.
    fn handle_message(&self, msg: PluginMessage) -> BoxFuture<'_, MessageOutcome>;
    /// Admin `message_plugin`.
    fn handle_admin_message(&self, request: Value) -> BoxFuture<'_, Result<Value, String>>;
    /// The handle's PeerConnection was hung up (`hangup`: reason "Janus API", admin
    /// `hangup_webrtc`: "Admin API"). The plugin's job is queued when this is called; the future
    /// gives the events the plugin pushed meanwhile, to follow the request's reply.
    fn hangup_media(&self, handle: HandleRef, reason: &str) -> BoxFuture<'static, Vec<PluginEvent>>;
    /// The handle is gone (`detach`, session destroyed or timed out).
    /// The plugin's job is queued when this is called; the future only waits for it to be
    /// handled (dropping it loses nothing).
    fn destroy_handle(&self, handle: HandleRef) -> BoxFuture<'static, ()>;
    /// Something happened to the handle's media, or a data-channel message came from its
    /// client (events the plugin pushes are sent at once).
    fn media_event(&self, handle: HandleRef, event: MediaEvent);
    /// Plugin-specific state for admin `handle_info`.
    fn query_handle(&self, handle: HandleRef) -> BoxFuture<'_, Value>;
}

/// Where the core finds plugins by package name.
pub trait PluginRegistry: Send + Sync {
    /// The plugin with this package name, if loaded.
    fn find(&self, package: &str) -> Option<Arc<dyn Plugin>>;
    /// Every loaded plugin's info.
    fn list(&self) -> Vec<PluginInfo>;
    /// Runtime state of every plugin (versions, reloads, crashes) for admin `get_status`.
    fn status(&self) -> Value {
        Value::Object(serde_json::Map::new())
    }
    /// Something happened to an RTP input (`InputMedia`, `InputSource`) or a mixer
    /// (`MixerRecordFailed`): the plugin that owns it hears of it.
    fn input_event(&self, input: u64, event: crate::vocab::MediaEvent) {
        let _ = (input, event);
    }
    /// Hot-reloads a plugin (admin `reload_plugin`), from `path` or its own file.
    fn reload(
        &self,
        package: &str,
        path: Option<std::path::PathBuf>,
    ) -> BoxFuture<'_, Result<Value, String>> {
        let _ = path;
        let package = package.to_owned();
        Box::pin(async move { Err(format!("no such plugin '{package}'")) })
    }
}

/// A registry with no plugins: every `attach` answers 460.
#[derive(Debug, Default)]
pub struct NoPlugins;

impl PluginRegistry for NoPlugins {
    fn find(&self, _package: &str) -> Option<Arc<dyn Plugin>> {
        None
    }

    fn list(&self) -> Vec<PluginInfo> {
        Vec::new()
    }
}
