//! The wasm plugin runtime through the Janus API: the EchoTest plugin's signaling, plugin
//! errors, containment of a misbehaving plugin, hot reload and the file watcher.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, message, per_language, Conf, Gateway, Lang, TempDir, WsClient, WAIT};

/// The test-only plugins built by `host/build.rs`.
pub(crate) fn test_plugin(name: &str) -> PathBuf {
    Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR")).join(name)
}

fn builtin_plugin(name: &str) -> PathBuf {
    Path::new(env!("PORTUNUS_BUILTIN_PLUGINS_DIR")).join(name)
}

/// A gateway whose plugins folder holds echotest and testfault, with tight sandbox limits.
pub(crate) fn gateway_with_testfault(sandbox: &str) -> (Gateway, TempDir) {
    testfault_gateway("", sandbox, "")
}

/// A fresh temporary folder.
fn temp_dir(what: &str) -> TempDir {
    TempDir::new(what)
}

/// A gateway with echotest and testfault; `plugin_general` goes into testfault's `general`
/// section, `core_general` into `janus.jcfg`'s.
pub(crate) fn testfault_gateway(
    plugin_general: &str,
    sandbox: &str,
    core_general: &str,
) -> (Gateway, TempDir) {
    let dir = temp_dir("plugins");
    std::fs::copy(builtin_plugin("echotest.wasm"), dir.join("echotest.wasm")).unwrap();
    std::fs::copy(test_plugin("testfault.wasm"), dir.join("testfault.wasm")).unwrap();
    let conf = Conf {
        general: format!("wasm_plugins_folder = \"{}\"\n{core_general}", dir.display()),
        extra: vec![(
            "janus.plugin.testfault.jcfg".into(),
            format!("general: {{ greeting = \"hello\"\n{plugin_general} }}\nsandbox: {{\n{sandbox}\n}}\n"),
        )],
        ..Conf::default()
    };
    (Gateway::with(conf), dir)
}

pub(crate) async fn attach_ws(ws: &mut WsClient, sid: u64, plugin: &str) -> u64 {
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": plugin})).await;
    r["data"]["id"].as_u64().unwrap_or_else(|| panic!("attach {plugin} failed: {r}"))
}

/// Sends a message on a handle over WS and returns the reply (sync `success`, `ack` or error).
pub(crate) async fn ws_message(ws: &mut WsClient, sid: u64, hid: u64, body: Value) -> Value {
    ws.call(json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body})).await
}

/// A testfault request's `plugindata.data`, or panics with the reply.
pub(crate) async fn fault(ws: &mut WsClient, sid: u64, hid: u64, body: Value) -> Value {
    let r = ws_message(ws, sid, hid, body).await;
    assert_eq!(r["janus"], "success", "{r}");
    r["plugindata"]["data"].clone()
}

per_language!(echotest_is_listed_and_answers_over_http, echotest_over_http);

async fn echotest_over_http(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let http = gw.http();
    let info = http.get("/info").await.json();
    let echo = &info["plugins"]["janus.plugin.echotest"];
    assert!(echo["version_string"].is_string(), "{info}");
    assert_eq!(echo["name"], "JANUS EchoTest plugin");
    let sid = http.create().await;
    let r = http
        .post(
            &format!("/{sid}"),
            &json!({"janus": "attach", "transaction": "a", "plugin": "janus.plugin.echotest", "opaque_id": "abc"}),
        )
        .await;
    assert_eq!(r["janus"], "success");
    assert_eq!(r["session_id"], sid);
    let hid = r["data"]["id"].as_u64().unwrap();
    let h = format!("/{sid}/{hid}");
    // Async: ack with the hint, then an event with the same transaction.
    let ack = http.post(&h, &json!({"janus": "message", "transaction": "m1", "body": {"audio": true}})).await;
    assert_eq!(
        ack,
        json!({"janus": "ack", "session_id": sid, "transaction": "m1", "hint": "I'm taking my time!"})
    );
    let ev = http.get(&format!("/{sid}?maxev=1")).await.json();
    assert_eq!(ev["janus"], "event");
    assert_eq!(ev["transaction"], "m1");
    assert_eq!(ev["sender"], hid);
    assert_eq!(
        ev["plugindata"],
        json!({"plugin": "janus.plugin.echotest", "data": {"echotest": "event", "result": "ok"}})
    );
    // Plugin-level errors are events, not Janus errors.
    http.post(&h, &json!({"janus": "message", "transaction": "m2", "body": {}})).await;
    http.post(&h, &json!({"janus": "message", "transaction": "m3", "body": {"audio": "x"}})).await;
    let evs = http.get(&format!("/{sid}?maxev=5")).await.json();
    let evs = evs.as_array().unwrap();
    assert_eq!(evs.len(), 2, "{evs:?}");
    assert_eq!(evs[0]["transaction"], "m2");
    assert_eq!(evs[0]["plugindata"]["data"]["error_code"], 413);
    assert_eq!(evs[1]["transaction"], "m3");
    assert_eq!(evs[1]["plugindata"]["data"]["error_code"], 413);
    assert_eq!(evs[1]["plugindata"]["data"]["error"], "Invalid element type (audio should be a boolean)");
    // Core checks before the plugin.
    assert_error(&http.post(&h, &json!({"janus": "message", "transaction": "x"})).await, 456);
    assert_error(&http.post(&h, &json!({"janus": "message", "transaction": "x", "body": "x"})).await, 467);
    // A null body is there, of the wrong type (Janus's 467, not 456).
    assert_error(&http.post(&h, &json!({"janus": "message", "transaction": "x", "body": null})).await, 467);
    let bad_jsep = |jsep: Value| json!({"janus": "message", "transaction": "x", "body": {}, "jsep": jsep});
    assert_error(&http.post(&h, &bad_jsep(json!("x"))).await, 455);
    assert_error(&http.post(&h, &bad_jsep(json!({}))).await, 456);
    assert_error(&http.post(&h, &bad_jsep(json!({"type": "foo", "sdp": "v=0"}))).await, 464);
    assert_error(&http.post(&h, &bad_jsep(json!({"type": "offer", "sdp": "garbage"}))).await, 465);
    // Trickles are acked even before a PeerConnection exists.
    let t = http
        .post(&h, &json!({"janus": "trickle", "transaction": "t", "candidate": {"completed": true}}))
        .await;
    assert_eq!(t["janus"], "ack");
    // hangup → success and the plugin's "done"; detach → success and `detached`.
    let r = http.post(&h, &json!({"janus": "hangup", "transaction": "h"})).await;
    assert_eq!(r, json!({"janus": "success", "session_id": sid, "transaction": "h"}));
    let r = http.post(&h, &json!({"janus": "detach", "transaction": "d"})).await;
    assert_eq!(r, json!({"janus": "success", "session_id": sid, "transaction": "d"}));
    let evs = http.get(&format!("/{sid}?maxev=5")).await.json();
    let evs = evs.as_array().unwrap().clone();
    assert_eq!(evs[0]["plugindata"]["data"], json!({"echotest": "event", "result": "done"}), "{evs:?}");
    assert_eq!(evs.last().unwrap(), &json!({"janus": "detached", "session_id": sid, "sender": hid}));
    assert_error(&http.post(&h, &json!({"janus": "message", "transaction": "x", "body": {}})).await, 459);
}

per_language!(echotest_over_ws_acks_before_events_and_admin_sees_it, echotest_over_ws);

async fn echotest_over_ws(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    for i in 0..20 {
        let tx = format!("o{i}");
        let req = json!({"janus": "message", "session_id": sid, "handle_id": hid, "transaction": tx, "body": {"video": false}});
        ws.send(&req).await;
        let first = ws.recv().await;
        assert_eq!(first["janus"], "ack", "the ack must precede the event: {first}");
        let ev = ws.recv().await;
        assert_eq!(ev["janus"], "event");
        assert_eq!(ev["transaction"], tx);
        assert_eq!(ev["plugindata"]["data"]["result"], "ok");
    }
    let admin = gw.admin_http();
    let info = admin
        .post(
            &format!("/{sid}/{hid}"),
            &json!({"janus": "handle_info", "transaction": "i", "admin_secret": "janusoverlord"}),
        )
        .await;
    assert_eq!(info["handle_id"], hid);
    assert_eq!(info["info"]["plugin"], "janus.plugin.echotest");
    assert_eq!(info["info"]["plugin_specific"]["video_active"], false, "{info}");
    assert!(info["info"]["flags"].is_object(), "{info}");
    // `plugin_only`: the session's, the handle's and the plugin's facts, not the PeerConnection's.
    let only = json!({"janus": "handle_info", "transaction": "i", "admin_secret": "janusoverlord", "plugin_only": true});
    let info = admin.post(&format!("/{sid}/{hid}"), &only).await;
    assert_eq!(
        (&info["info"]["session_id"], &info["info"]["handle_id"]),
        (&json!(sid), &json!(hid)),
        "{info}"
    );
    assert_eq!(info["info"]["plugin_specific"]["video_active"], false, "{info}");
    assert!(info["info"].get("flags").is_none() && info["info"].get("sdps").is_none(), "{info}");
    let mut bad = only.clone();
    bad["plugin_only"] = json!("x");
    assert_error(&admin.post(&format!("/{sid}/{hid}"), &bad).await, 467);
    // An attach's `loop_index` is a positive integer, as Janus checks it.
    let attach =
        json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest", "loop_index": "x"});
    assert_error(&ws.call(attach).await, 467);
    let handles = admin
        .post(
            &format!("/{sid}"),
            &json!({"janus": "list_handles", "transaction": "l", "admin_secret": "janusoverlord"}),
        )
        .await;
    assert_eq!(handles["handles"], json!([hid]));
    let r = ws.call(json!({"janus": "detach", "session_id": sid, "handle_id": hid})).await;
    assert_eq!(r["janus"], "success");
    assert_eq!(ws.recv().await, json!({"janus": "detached", "session_id": sid, "sender": hid}));
}

#[tokio::test]
async fn token_not_allowed_for_a_plugin_gets_405() {
    let gw = Gateway::with(Conf::general("token_auth = true"));
    let adm = gw.admin_http();
    let http = gw.http();
    let add = json!({"janus": "add_token", "transaction": "a", "admin_secret": "janusoverlord", "token": "t1", "plugins": ["janus.plugin.echotest"]});
    assert_eq!(adm.post("", &add).await["data"]["plugins"], json!(["janus.plugin.echotest"]));
    let sid = http.post("", &json!({"janus": "create", "transaction": "c", "token": "t1"})).await["data"]
        ["id"]
        .as_u64()
        .unwrap();
    let ok = http
        .post(
            &format!("/{sid}"),
            &json!({"janus": "attach", "transaction": "a", "plugin": "janus.plugin.echotest", "token": "t1"}),
        )
        .await;
    assert_eq!(ok["janus"], "success");
    let dis = json!({"janus": "disallow_token", "transaction": "d", "admin_secret": "janusoverlord", "token": "t1", "plugins": ["janus.plugin.echotest"]});
    assert_eq!(adm.post("", &dis).await["data"]["plugins"], json!([]));
    let r = http
        .post(
            &format!("/{sid}"),
            &json!({"janus": "attach", "transaction": "a", "plugin": "janus.plugin.echotest", "token": "t1"}),
        )
        .await;
    assert_error(&r, 405);
    assert_eq!(r["error"]["reason"], "Provided token can't access plugin 'janus.plugin.echotest'");
}

/// `get_status`'s entry for a plugin.
pub(crate) async fn plugin_status(gw: &Gateway, package: &str) -> Value {
    let get_status = json!({"janus": "get_status", "transaction": "s", "admin_secret": "janusoverlord"});
    let status = gw.admin_http().post("", &get_status).await;
    status["status"]["plugins"][package].clone()
}

/// Waits until admin `get_status` says a plugin's state is checkpointed; returns its entry.
pub(crate) async fn wait_checkpointed(gw: &Gateway, package: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = plugin_status(gw, package).await;
        if status["unsaved_changes"] == false {
            assert!(status["checkpoints"].as_u64() > Some(0), "{status}");
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "never checkpointed: {status}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until testfault's state is checkpointed.
pub(crate) async fn wait_saved(gw: &Gateway) {
    wait_checkpointed(gw, "janus.plugin.testfault").await;
}

#[tokio::test]
async fn misbehaving_plugin_is_contained_and_recovers() {
    let (gw, _dir) =
        gateway_with_testfault("memory_mb = 16\ncpu_ms_per_call = 50\nmax_event_bytes = 1024\nmax_rules = 3");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let faulty = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    let echo = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    // The plugin got its configuration file.
    let cfg = fault(&mut ws, sid, faulty, json!({"request": "config"})).await;
    assert_eq!(cfg["config"]["general"]["greeting"], "hello", "{cfg}");
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["count"], 1);
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["count"], 2);
    for (req, why) in [
        (json!({"request": "spin"}), "CPU"),
        (json!({"request": "alloc", "mb": 64}), "memory"),
        (json!({"request": "panic"}), "crashed"),
    ] {
        // Checkpoints are taken between calls: wait for the one after the last ping.
        wait_saved(&gw).await;
        let r = ws_message(&mut ws, sid, faulty, req.clone()).await;
        assert_error(&r, 462);
        let reason = r["error"]["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{req}: {reason}");
        // Another plugin on the same session never notices.
        let ack = ws_message(&mut ws, sid, echo, json!({"audio": true})).await;
        assert_eq!(ack["janus"], "ack");
        // The faulty one is rebuilt from its checkpoint with its handle: the count goes on.
        let pong = fault(&mut ws, sid, faulty, json!({"request": "ping"})).await;
        assert!(pong["count"].as_u64().unwrap() >= 3, "state lost after {req}: {pong}");
    }
    // Oversized events are refused; the plugin is told and keeps running.
    let big = fault(&mut ws, sid, faulty, json!({"request": "big-event", "bytes": 4096})).await;
    assert!(big.to_string().contains("too large"), "{big}");
    // Too many rules.
    let rules = fault(&mut ws, sid, faulty, json!({"request": "rules", "count": 5})).await;
    assert_eq!(rules["ok"], 3, "{rules}");
    assert!(rules["error"].as_str().unwrap_or("").contains("too many forwarding rules"), "{rules}");
    // Async replies deliver their event after the ack.
    let ack = ws_message(&mut ws, sid, faulty, json!({"request": "async"})).await;
    assert_eq!(ack["janus"], "ack");
    let ev = ws.recv().await;
    assert_eq!(ev["plugindata"]["data"]["result"], "later", "{ev}");
}

/// A request the plugin acknowledged, then lost with the state a crash rolled back, gets a
/// late error with its transaction; before, its client waited for ever.
#[tokio::test]
async fn a_crash_answers_the_acknowledged_requests_it_lost() {
    // No checkpoint under load: the accepted request stays unsaved until the crash.
    let (gw, _dir) = gateway_with_testfault("cpu_ms_per_call = 2000\nbusy_checkpoint_ms = 60000");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let owing = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    let crashing = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    // One connection hands its requests to the plugin in order: the crash is queued behind the
    // accepted request, which keeps the plugin busy for 200 ms, so no checkpoint comes between.
    ws.send(&message(sid, owing, "owed", json!({"request": "accept", "ms": 200}))).await;
    ws.send(&message(sid, crashing, "crash", json!({"request": "panic"}))).await;
    let mut got = std::collections::HashMap::new();
    while got.len() < 3 {
        let m = ws.recv().await;
        let key =
            format!("{} {}", m["janus"].as_str().unwrap_or("?"), m["transaction"].as_str().unwrap_or("?"));
        got.insert(key, m);
    }
    assert!(got.contains_key("ack owed"), "{got:?}");
    assert_error(&got["error crash"], 462);
    let late = &got["error owed"];
    assert_error(late, 462);
    assert!(late["error"]["reason"].as_str().unwrap_or("").contains("crashed after accepting"), "{late}");
    // A request whose state was saved before the crash is not answered twice.
    let saved = ws_message(&mut ws, sid, owing, json!({"request": "accept", "ms": 1})).await;
    assert_eq!(saved["janus"], "ack", "{saved}");
    wait_saved(&gw).await;
    assert_error(&ws_message(&mut ws, sid, crashing, json!({"request": "panic"})).await, 462);
    // An error for it would have come before the crash's reply: the next message is the ping's.
    ws.send(&message(sid, owing, "after", json!({"request": "ping"}))).await;
    let next = ws.recv().await;
    assert_eq!(
        (next["janus"].as_str(), next["transaction"].as_str()),
        (Some("success"), Some("after")),
        "{next}"
    );
}

#[tokio::test]
async fn repeated_crashes_fail_closed_until_reload() {
    let (gw, _dir) = gateway_with_testfault("cpu_ms_per_call = 30\nmax_crashes = 2");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let faulty = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    let echo = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    for _ in 0..3 {
        assert_error(&ws_message(&mut ws, sid, faulty, json!({"request": "panic"})).await, 462);
    }
    let r = ws_message(&mut ws, sid, faulty, json!({"request": "ping"})).await;
    assert_error(&r, 462);
    assert!(r["error"]["reason"].as_str().unwrap().contains("disabled"), "{r}");
    assert_eq!(ws_message(&mut ws, sid, echo, json!({"audio": true})).await["janus"], "ack");
    let adm = gw.admin_http();
    let status = adm
        .post("", &json!({"janus": "get_status", "transaction": "s", "admin_secret": "janusoverlord"}))
        .await;
    assert!(status["status"]["plugins"]["janus.plugin.testfault"]["failed"].is_string(), "{status}");
    let reload = json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord", "plugin": "janus.plugin.testfault"});
    assert_eq!(adm.post("", &reload).await["janus"], "success");
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["version"], 1);
}

/// Pings testfault from `clients` WebSocket clients until told to stop; returns the versions
/// seen in order and the number of failed requests.
async fn ping_loop(
    gw_ws: std::net::SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (Vec<u64>, usize, u64) {
    let mut ws = WsClient::connect(gw_ws, Some("janus-protocol")).await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    let (mut versions, mut failures, mut last_count) = (Vec::new(), 0, 0);
    while !*stop.borrow() {
        let r = ws_message(&mut ws, sid, hid, json!({"request": "ping"})).await;
        if r["janus"] != "success" {
            failures += 1;
            continue;
        }
        let data = &r["plugindata"]["data"];
        let v = data["version"].as_u64().unwrap();
        if versions.last() != Some(&v) {
            versions.push(v);
        }
        let count = data["count"].as_u64().unwrap();
        assert!(count > last_count, "count went back from {last_count} to {count}: state not carried over");
        last_count = count;
    }
    (versions, failures, last_count)
}

#[tokio::test]
async fn hot_reload_under_load_carries_state_and_rolls_back() {
    let (gw, dir) = gateway_with_testfault("");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let clients: Vec<_> = (0..3).map(|_| tokio::spawn(ping_loop(gw.addr("ws"), stop_rx.clone()))).collect();
    let adm = gw.admin_http();
    let reload = |path: &Path| {
        json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord",
               "plugin": "janus.plugin.testfault", "path": path.display().to_string()})
    };
    // reload_plugin loads only from the plugins folder (here: a folder inside it).
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for v in ["testfault-v2.wasm", "testfault-v3.wasm"] {
        std::fs::copy(test_plugin(v), staging.join(v)).unwrap();
    }
    let r = adm.post("", &reload(&test_plugin("testfault-v2.wasm"))).await;
    assert_error(&r, 490);
    assert!(r["error"]["reason"].as_str().unwrap().contains("outside the plugins folder"), "{r}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = adm.post("", &reload(&staging.join("testfault-v2.wasm"))).await;
    assert_eq!(r["janus"], "success", "{r}");
    assert_eq!(r["reload"]["version"], 2);
    assert!(r["reload"]["pause_us"].as_u64().unwrap() < 50_000, "{r}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A version whose restore refuses the state is rolled back: v2 keeps serving.
    let r = adm.post("", &reload(&staging.join("testfault-v3.wasm"))).await;
    assert_error(&r, 490);
    assert!(r["error"]["reason"].as_str().unwrap().contains("refus"), "{r}");
    // A file that is not a plugin at all.
    let bogus = staging.join("bogus.wasm");
    std::fs::write(&bogus, b"not wasm").unwrap();
    assert_error(&adm.post("", &reload(&bogus)).await, 490);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(true).unwrap();
    for c in clients {
        let (versions, failures, count) = c.await.unwrap();
        assert_eq!(failures, 0, "requests failed during reload");
        assert_eq!(versions, vec![1, 2], "versions seen: {versions:?}");
        assert!(count > 0);
    }
    let status = adm
        .post("", &json!({"janus": "get_status", "transaction": "s", "admin_secret": "janusoverlord"}))
        .await;
    let p = &status["status"]["plugins"]["janus.plugin.testfault"];
    assert_eq!(p["reloads"], 1, "{status}");
    assert_eq!(p["version"], 2);
    assert!(p["last_swap_pause_us"].as_u64().is_some());
}

#[tokio::test]
async fn changed_plugin_file_is_reloaded() {
    let (gw, dir) = gateway_with_testfault("");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    assert_eq!(fault(&mut ws, sid, hid, json!({"request": "ping"})).await["version"], 1);
    // Replace the file atomically, as a deploy would.
    let tmp = dir.join("testfault.wasm.new");
    std::fs::copy(test_plugin("testfault-v2.wasm"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("testfault.wasm")).unwrap();
    wait_version(&mut ws, sid, hid, 2).await;
    // After an admin reload from another file in the folder, that file is the one watched.
    let next = dir.join("staging").join("next.wasm");
    std::fs::create_dir_all(next.parent().unwrap()).unwrap();
    std::fs::copy(test_plugin("testfault.wasm"), &next).unwrap();
    let reload = json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord",
                        "plugin": "janus.plugin.testfault", "path": next.display().to_string()});
    // Two reloads at once are run one after the other; both succeed.
    let adm = gw.admin_http();
    let (a, b) = tokio::join!(adm.post("", &reload), adm.post("", &reload));
    assert_eq!((a["janus"].as_str(), b["janus"].as_str()), (Some("success"), Some("success")), "{a} {b}");
    assert_eq!(fault(&mut ws, sid, hid, json!({"request": "ping"})).await["version"], 1);
    let tmp = next.with_extension("new");
    std::fs::copy(test_plugin("testfault-v2.wasm"), &tmp).unwrap();
    std::fs::rename(&tmp, &next).unwrap();
    wait_version(&mut ws, sid, hid, 2).await;
    let status = adm
        .post("", &json!({"janus": "get_status", "transaction": "s", "admin_secret": "janusoverlord"}))
        .await;
    let p = &status["status"]["plugins"]["janus.plugin.testfault"];
    assert_eq!(p["file"], next.canonicalize().unwrap().display().to_string(), "{status}");
    assert_eq!(p["reloads"], 4, "{status}");
}

/// Pings until testfault answers with `version` (its state carried over).
async fn wait_version(ws: &mut WsClient, sid: u64, hid: u64, version: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let pong = fault(ws, sid, hid, json!({"request": "ping"})).await;
        if pong["version"] == version {
            assert!(pong["count"].as_u64().unwrap() >= 2, "state lost: {pong}");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the changed file was not picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn plugin_ending_its_handle_detaches_it() {
    let (gw, _dir) = gateway_with_testfault("");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    // The detach runs beside the reply (as Janus's end_session does): take both, in any order.
    let req = json!({"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "end", "body": {"request": "end"}});
    ws.send(&req).await;
    let mut got = [ws.recv().await, ws.recv().await];
    got.sort_by_key(|m| m["janus"].as_str().unwrap_or("").to_owned());
    assert_eq!(got[0], json!({"janus": "detached", "session_id": sid, "sender": hid}));
    assert_eq!(got[1]["janus"], "success");
    assert_eq!(got[1]["transaction"], "end");
    assert_error(&ws_message(&mut ws, sid, hid, json!({"request": "ping"})).await, 459);
    // A plugin may also end a handle from a timer, outside any request.
    let hid = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    assert_eq!(fault(&mut ws, sid, hid, json!({"request": "end_later"})).await["testfault"], "ending");
    assert_eq!(ws.recv().await, json!({"janus": "detached", "session_id": sid, "sender": hid}));
    assert_error(&ws_message(&mut ws, sid, hid, json!({"request": "ping"})).await, 459);
}

#[tokio::test]
async fn handle_verbs_over_ws_and_admin_handle_calls() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    let handle_req = |verb: &str| json!({"janus": verb, "session_id": sid, "handle_id": hid});
    let mut t = handle_req("trickle");
    t["candidates"] = json!([{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0"}, {"completed": true}]);
    assert_eq!(ws.call(t).await["janus"], "ack");
    let mut both = handle_req("trickle");
    both["candidate"] = json!({"completed": true});
    both["candidates"] = json!([]);
    assert_error(&ws.call(both).await, 454);
    assert_error(&ws.call(handle_req("trickle")).await, 456);
    // keepalive and claim are accepted at handle level too.
    assert_eq!(ws.call(handle_req("keepalive")).await["janus"], "ack");
    assert_error(&ws.call(handle_req("attach")).await, 457);
    let r = ws.call(handle_req("hangup")).await;
    assert_eq!(r["janus"], "success");
    let done = ws.recv().await;
    assert_eq!(done["plugindata"]["data"]["result"], "done", "{done}");
    // Admin handle calls: hangup_webrtc, then detach_handle.
    let admin = gw.admin_http();
    let adm = |verb: &str| json!({"janus": verb, "transaction": "a", "admin_secret": "janusoverlord"});
    let r = admin.post(&format!("/{sid}/{hid}"), &adm("hangup_webrtc")).await;
    assert_eq!(r["janus"], "success", "{r}");
    assert_eq!(ws.recv().await["plugindata"]["data"]["result"], "done");
    let r = admin.post(&format!("/{sid}/{hid}"), &adm("detach_handle")).await;
    assert_eq!(r["janus"], "success");
    assert_eq!(ws.recv().await, json!({"janus": "detached", "session_id": sid, "sender": hid}));
    assert_error(&admin.post(&format!("/{sid}/{hid}"), &adm("detach_handle")).await, 459);
    // message_plugin reaches the plugin's admin handler; unknown plugins are 460.
    let mut m = adm("message_plugin");
    m["plugin"] = json!("janus.plugin.echotest");
    m["request"] = json!({"hello": 1});
    let r = admin.post("", &m).await;
    assert_eq!(r["janus"], "success", "{r}");
    assert!(r["response"].is_object());
    m["plugin"] = json!("janus.plugin.nope");
    assert_error(&admin.post("", &m).await, 460);
    // A plugin that takes no admin messages: Janus's 490.
    m["plugin"] = json!("janus.plugin.nosip");
    assert_error(&admin.post("", &m).await, 490);
}

#[tokio::test]
async fn http_claim_moves_events_from_the_socket_to_long_polls() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    let http = gw.http();
    let r = http.post(&format!("/{sid}"), &json!({"janus": "claim", "transaction": "c"})).await;
    assert_eq!(r, json!({"janus": "success", "session_id": sid, "transaction": "c"}));
    // A request sent on the socket still gets its reply there; its event goes to the new owner.
    let ack = ws_message(&mut ws, sid, hid, json!({"audio": true})).await;
    assert_eq!(ack["janus"], "ack");
    let ev = http.get(&format!("/{sid}")).await.json();
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    assert!(ws.next_message_within(Duration::from_millis(200)).await.is_err(), "the old owner got an event");
    // The claimed session outlives the socket that created it.
    ws.close().await;
    let ka = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
    assert_eq!(ka["janus"], "ack");
}

#[tokio::test]
async fn plugin_refusing_an_attach_gives_461() {
    let (gw, _dir) = testfault_gateway("refuse_attach = true", "", "");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.testfault"})).await;
    assert_error(&r, 461);
    assert!(r["error"]["reason"].as_str().unwrap().contains("refuse_attach is set"), "{r}");
    let list = gw.admin_http();
    let handles = list
        .post(
            &format!("/{sid}"),
            &json!({"janus": "list_handles", "transaction": "l", "admin_secret": "janusoverlord"}),
        )
        .await;
    assert_eq!(handles["handles"], json!([]));
}

#[tokio::test]
async fn plugin_whose_init_fails_is_not_loaded() {
    // As Janus, exit_on_dl_error does not stop the start for a plugin whose init fails.
    let (gw, _dir) = testfault_gateway("fail_init = true", "", "exit_on_dl_error = true");
    let info = gw.http().get("/info").await.json();
    assert!(info["plugins"].get("janus.plugin.testfault").is_none(), "{info}");
    assert!(info["plugins"].get("janus.plugin.echotest").is_some(), "{info}");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.testfault"})).await;
    assert_error(&r, 460);
    let mut gw = gw;
    gw.terminate();
    gw.wait_log("fail_init is set");
}

#[tokio::test]
async fn compiled_plugins_are_cached_and_reused() {
    let cache = temp_dir("cache");
    let core = format!("plugin_cache_folder = \"{}\"", cache.display());
    let cached = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cwasm"))
            .collect();
        names.sort();
        names
    };
    let first = {
        let (gw, _dir) = testfault_gateway("", "", &core);
        let mut ws = gw.ws().await;
        let sid = ws.create().await;
        attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
        cached(&cache)
    };
    assert_eq!(first.len(), 2, "one .cwasm per plugin: {first:?}");
    let (gw, _dir) = testfault_gateway("", "", &core);
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    assert_eq!(fault(&mut ws, sid, hid, json!({"request": "ping"})).await["count"], 1);
    assert_eq!(cached(&cache), first, "the second start compiled again");
}

#[tokio::test]
async fn plugins_see_client_sdp_without_ice_and_dtls() {
    let (gw, _dir) = gateway_with_testfault("");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n\
        a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n\
        a=sendrecv\r\na=rtpmap:111 opus/48000/2\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n";
    let r = ws
        .call(json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": {"request": "jsep"},
                     "jsep": {"type": "offer", "sdp": offer}}))
        .await;
    let jsep = &r["plugindata"]["data"]["jsep"];
    assert_eq!(jsep["type"], "offer", "{r}");
    let sdp = jsep["sdp"].as_str().unwrap();
    for gone in ["ice-ufrag", "ice-pwd", "fingerprint", "a=setup", "candidate"] {
        assert!(!sdp.contains(gone), "{gone} reached the plugin: {sdp}");
    }
    assert!(sdp.contains("a=mid:0") && sdp.contains("a=rtpmap:111 opus/48000/2"), "{sdp}");
    // Hostile SDPs stop at the core with 465.
    let mut offer_jsep = async |sdp: &str| {
        ws.call(json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": {"request": "jsep"},
                       "jsep": {"type": "offer", "sdp": sdp}}))
            .await
    };
    let huge = format!("v=0\r\no=x\r\ns=-\r\n{}", "a=x\r\n".repeat(40_000));
    for bad in ["garbage", "v=0\r\ns=-\r\n", "v=0\r\no=x\r\ns=-\r\nm=audio x RTP 0\r\n", &huge] {
        assert_error(&offer_jsep(bad).await, 465);
    }
    // As Janus 1.1.2: without a DTLS fingerprint or ICE credentials, "Error processing SDP";
    // an unknown codec is the plugin's business.
    for bad in
        [offer.replace("a=fingerprint:sha-256 AA:BB\r\n", ""), offer.replace("a=ice-ufrag:abcd\r\n", "")]
    {
        let r = offer_jsep(&bad).await;
        assert_error(&r, 465);
        assert_eq!(r["error"]["reason"], "Error processing SDP", "{r}");
    }
    let r = offer_jsep(&offer.replace("opus/48000/2", "foo/48000/2")).await;
    assert_eq!(r["plugindata"]["data"]["jsep"]["type"], "offer", "{r}");
}

/// The times the threads of process `pid` gave up the CPU so far (each a wake-up after).
fn wake_ups(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc");
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// An idle gateway sleeps: no thread ticks for nothing (the epoch ticker only while a plugin
/// call runs, a mixing thread only while it has rooms). It woke some 170 times a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_gateway_sleeps() {
    let gw = Gateway::start();
    // Settled: one request answered (the plugins are up).
    let mut ws = gw.ws().await;
    ws.create().await;
    let before = wake_ups(gw.pid());
    let window = std::time::Duration::from_secs(2);
    tokio::time::sleep(window).await;
    let per_second = (wake_ups(gw.pid()) - before) as f64 / window.as_secs_f64();
    eprintln!("an idle gateway woke {per_second:.0} times a second");
    assert!(per_second < 60.0, "an idle gateway woke {per_second:.0} times a second");
}
