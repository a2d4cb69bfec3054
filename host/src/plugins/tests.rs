//! The runtime in-process, where a black-box test cannot reach: the mailbox under a flood of
//! notifications, the limiter that caps memories and tables together, and what the host tells
//! the media engine when a handle with rules leaves.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::{PluginHost, Registry};
use crate::api::plugin::{PluginMessage, PluginRegistry, PluginReply};
use crate::api::session::ClientKey;
use crate::api::{Core, CoreOptions, PathIds, RequestCtx};
use crate::config::{General, Nat};
use crate::vocab::{HandleRef, MediaEvent};

const PLUGIN: &str = "janus.plugin.testfault";

fn core() -> Core {
    Core::new(CoreOptions {
        general: General { session_timeout: 0, ..General::default() },
        nat: Nat::default(),
        network: Default::default(),
        transports: Vec::new(),
        change_log: Box::new(|_| {}),
        tunables: Default::default(),
        events: Default::default(),
    })
}

async fn api(core: &Core, req: serde_json::Value) -> serde_json::Value {
    let instance = crate::api::Instance { transport: "test", id: 1 };
    let ctx = RequestCtx { sink: None, client: ClientKey::Connection(1), path: PathIds::default(), instance };
    core.handle_api(req.to_string().as_bytes(), &ctx).await.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_flood_is_shed_not_queued() {
    let core = core();
    let sandbox = json!({"sandbox": {"max_queued": 100, "cpu_ms_per_call": 1000}});
    let configs = BTreeMap::from([(PLUGIN.to_owned(), sandbox)]);
    let host = PluginHost::new(core.clone(), configs, None, None).unwrap();
    host.load(&Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR")).join("testfault.wasm")).unwrap();
    let registry = Registry(host.clone());
    core.set_plugins(Arc::new(Registry(host)));
    let sid =
        api(&core, json!({"janus": "create", "transaction": "c"})).await["data"]["id"].as_u64().unwrap();
    let attach = json!({"janus": "attach", "transaction": "a", "session_id": sid, "plugin": PLUGIN});
    let hid = api(&core, attach).await["data"]["id"].as_u64().unwrap();
    let handle = HandleRef { session_id: sid, handle_id: hid };
    let plugin = core.plugin_of(handle).unwrap();
    // The actor is busy for a second...
    let body = json!({"request": "spin"});
    let busy = plugin.handle_message(PluginMessage { handle, transaction: "t".into(), body, jsep: None });
    // ...while a client floods its data channel.
    for _ in 0..20_000 {
        plugin.media_event(handle, MediaEvent::Data { label: None, data: vec![0; 1000], text: false });
    }
    let status = registry.status()[PLUGIN].clone();
    assert!(status["queued"].as_u64().unwrap() <= 101, "{status}");
    assert!(status["shed"].as_u64().unwrap() >= 19_800, "{status}");
    assert!(matches!(busy.await.reply, PluginReply::Error(e) if e.contains("CPU")));
}

#[test]
fn memories_and_tables_count_together() {
    use wasmtime::ResourceLimiter;
    let mut limiter = super::state::TotalLimiter::new(1000);
    assert!(limiter.memory_growing(0, 600, None).unwrap());
    // A second memory may not take what the first one has.
    assert!(limiter.memory_growing(0, 500, None).is_err());
    assert!(limiter.memory_growing(0, 300, None).unwrap());
    // Tables count too (16 bytes an element).
    assert!(limiter.table_growing(0, 7, None).is_err());
    assert!(limiter.table_growing(0, 6, None).unwrap());
    // Growing the first memory counts only the difference.
    assert!(limiter.memory_growing(600, 604, None).unwrap());
    assert!(limiter.memory_growing(604, 605, None).is_err());
}

/// The media engine's side of rules, as the host drives it: every call, in order.
#[derive(Default)]
struct RuleLog(std::sync::Mutex<Vec<String>>);

impl crate::vocab::MediaControl for RuleLog {
    fn remote_description(
        &self,
        _: HandleRef,
        _: bool,
        _: &str,
    ) -> Result<(), crate::vocab::DescriptionError> {
        Ok(())
    }
    fn trickle(&self, _: HandleRef, _: serde_json::Value) {}
    fn hangup(&self, _: HandleRef, _: &str) {}
    fn handle_gone(&self, h: HandleRef) {
        self.0.lock().unwrap().push(format!("gone {}", h.handle_id));
    }
    fn answer(&self, _: HandleRef, _: crate::vocab::AnswerPolicy, _: u64) -> Result<(), String> {
        Err("no media here".into())
    }
    fn watch_talking(&self, _: HandleRef, _: u32, _: u8) {}
    fn set_rtp_extensions(&self, _: HandleRef, _: crate::vocab::RtpExtensions) {}
    fn offer(
        &self,
        _: HandleRef,
        _: Vec<String>,
        _: crate::vocab::Directions,
        _: Vec<crate::vocab::OfferItem>,
        _: u64,
    ) -> Result<(), String> {
        Err("no media here".into())
    }
    fn accept_answer(&self, _: HandleRef, _: &str, _: u64) -> Result<(), String> {
        Err("no media here".into())
    }
    fn forward(&self, id: u64, _: crate::vocab::ForwardRule) {
        self.0.lock().unwrap().push(format!("forward {id}"));
    }
    fn unforward(&self, id: u64) {
        self.0.lock().unwrap().push(format!("unforward {id}"));
    }
    fn set_layers(&self, _: u64, _: Option<u8>, _: Option<u8>) {}
    fn set_bitrate_cap(&self, _: HandleRef, _: u32) {}
    fn request_keyframe(&self, _: HandleRef, _: Option<String>) {}
    fn set_media_enabled(&self, _: HandleRef, _: crate::vocab::MediaKind, _: bool) {}
    fn describe(&self, _: HandleRef) -> Option<serde_json::Value> {
        None
    }
    fn send_data(&self, _: HandleRef, _: Option<String>, _: Vec<u8>, _: bool) {}
    fn leg_open(&self, _: crate::vocab::LegSpec) -> Result<crate::vocab::LegLocal, String> {
        Err("no media here".into())
    }
    fn leg_connect(&self, _: u64, _: crate::vocab::LegRemote) {}
    fn leg_close(&self, _: u64) {}
    fn leg_dtmf(&self, _: u64, _: Vec<u8>, _: std::time::Duration, _: std::time::Duration) {}
    fn leg_keyframe(&self, _: u64) {}
    fn input_open(&self, _: crate::vocab::InputSpec) -> Result<crate::vocab::InputLocal, String> {
        Err("no media here".into())
    }
    fn input_status(&self, _: u64) -> Option<Vec<crate::vocab::InputStreamReport>> {
        None
    }
    fn input_restart(&self, _: u64, _: String) {}
    fn input_close(&self, _: u64) {}
    fn mixer_create(&self, _: crate::vocab::MixerSpec) -> Result<u64, String> {
        Err("none".into())
    }
    fn mixer_join(
        &self,
        _: u64,
        _: Option<HandleRef>,
        _: crate::vocab::MixCodec,
        _: crate::vocab::PortSettings,
    ) -> Result<u64, String> {
        Err("none".into())
    }
    fn mixer_set(&self, _: u64, _: crate::vocab::PortSettings) {}
    fn mixer_reset(&self, _: u64) {}
    fn mixer_leave(&self, _: u64) {}
    fn mixer_destroy(&self, _: u64) {}
    fn mixer_record(&self, _: u64, _: Option<std::fs::File>) {}
    fn capture(&self, _: HandleRef, _: Option<crate::vocab::CaptureSpec>) {}
}

/// A rule can reach the media engine after the engine dropped its handle (the plugin made it
/// while the handle was leaving): when the plugin hears of the handle's end, the host removes
/// the handle's rules from the engine too, so no route is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaving_handle_takes_its_rules_out_of_the_media_engine() {
    let core = core();
    let log = Arc::new(RuleLog::default());
    core.set_media(log.clone());
    let host = PluginHost::new(core.clone(), BTreeMap::new(), None, None).unwrap();
    host.load(&Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR")).join("testfault.wasm")).unwrap();
    core.set_plugins(Arc::new(Registry(host)));
    let sid =
        api(&core, json!({"janus": "create", "transaction": "c"})).await["data"]["id"].as_u64().unwrap();
    let attach = json!({"janus": "attach", "transaction": "a", "session_id": sid, "plugin": PLUGIN});
    let a = api(&core, attach.clone()).await["data"]["id"].as_u64().unwrap();
    let b = api(&core, attach).await["data"]["id"].as_u64().unwrap();
    let body = json!({"request": "forward", "to_session": sid, "to_handle": b});
    let forward =
        json!({"janus": "message", "transaction": "f", "session_id": sid, "handle_id": a, "body": body});
    let rule = api(&core, forward).await["plugindata"]["data"]["rule"].as_u64().unwrap();
    let detach = json!({"janus": "detach", "transaction": "d", "session_id": sid, "handle_id": b});
    assert_eq!(api(&core, detach).await["janus"], "success");
    let calls = log.0.lock().unwrap().clone();
    assert_eq!(calls, vec![format!("forward {rule}"), format!("gone {b}"), format!("unforward {rule}")]);
}
