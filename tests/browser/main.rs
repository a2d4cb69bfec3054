//! janus.js in headless Chromium: the gateway's own demo pages, loaded from the gateway. The
//! EchoTest page runs over WebSocket and over HTTP long poll with Chromium's fake camera and
//! microphone; the echoed video must decode and the echoed audio and data must arrive. Two
//! VideoRoom pages publish in one room and each must play the other.
//!
//! Needs Debian's `chromium` and `npm ci` in this folder (`.ci/run` does both). Where they are
//! missing the test says so and passes, except under CI (`CI` set), where it fails.

#[path = "../api/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{Conf, Gateway, TempDir};
use serde_json::{json, Value};

/// How long the page may take from load to decoded echoed video.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser")
}

/// Whether the browser and the npm packages are installed; otherwise why not.
fn missing_tools() -> Option<String> {
    let modules = here().join("node_modules");
    for (what, path) in [
        ("chromium (apt-get install chromium)", chromium()),
        ("janus-gateway (npm ci in tests/browser)", modules.join("janus-gateway/npm/dist/janus.es.js")),
        ("webrtc-adapter (npm ci in tests/browser)", modules.join("webrtc-adapter/out/adapter.js")),
        ("playwright-core (npm ci in tests/browser)", modules.join("playwright-core/package.json")),
    ] {
        if !path.exists() {
            return Some(format!("{what}: {} not found", path.display()));
        }
    }
    None
}

/// A gateway serving the demo with the npm packages, or `None` (the test passes, saying why)
/// when the tools are missing outside CI.
fn demo_gateway() -> Option<Gateway> {
    if let Some(why) = missing_tools() {
        assert!(std::env::var_os("CI").is_none(), "the browser test cannot run under CI: {why}");
        eprintln!("browser test skipped: {why}");
        return None;
    }
    let assets = here().join("node_modules");
    // VP9 after VP8: the SVC page asks for it.
    let rooms =
        "room-1234: { description = \"Demo Room\" publishers = 6 videocodec = \"vp8,vp9\" }\n".to_owned();
    // The Janus API on a Unix socket too (SOCK_DGRAM, as janode's `file://` transport speaks).
    let sockets = TempDir::new("demo-unix");
    let unix = format!(
        "general: {{ enabled = true, path = \"{}\", type = \"SOCK_DGRAM\" }}\n",
        sockets.join("janus").display()
    );
    let conf = Conf {
        http: format!("demo_assets = \"{}\"", assets.display()),
        extra: vec![
            ("janus.plugin.videoroom.jcfg".to_owned(), rooms),
            (
                "janus.plugin.textroom.jcfg".to_owned(),
                "room-1234: { description = \"Demo Room\" history = 10 }\n".to_owned(),
            ),
            ("janus.plugin.streaming.jcfg".to_owned(), MOUNTPOINT.to_owned()),
            ("janus.transport.pfunix.jcfg".to_owned(), unix),
        ],
        ..Conf::default()
    };
    Some(Gateway::with(conf.owning(sockets)))
}

/// The demo gateway's mountpoint, on free ports, with the payload types the VideoRoom page's
/// forward uses.
const MOUNTPOINT: &str = "forwarded: { type = \"rtp\" id = 1 description = \"Forwarded from a VideoRoom\"\n\
    media = ( { type = \"audio\" mid = \"a\" port = 0 pt = 111 codec = \"opus\" },\n\
              { type = \"video\" mid = \"v\" port = 0 pt = 100 codec = \"vp8\" } ) }\n";

/// Runs the EchoTest page in Chromium and returns what it observed (`mode`: see echotest.mjs).
fn run_page(url: &str, mode: &str) -> Value {
    run_script("echotest.mjs", url, &[mode])
}

/// One Chromium at a time: on two cores, several at once starve each other of CPU, and a
/// starved Chromium pauses simulcast layers and drops frames.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs a script of this folder on a page (`node <script> <url> <timeout ms> <args…>`) and
/// returns what it printed (JSON).
fn run_script(script: &str, url: &str, args: &[&str]) -> Value {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let out = Command::new("node")
        .arg(here().join(script))
        .arg(url)
        .arg(PAGE_TIMEOUT.as_millis().to_string())
        .args(args)
        .env("CHROMIUM", chromium())
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{url}: the page did not get its media back\n{stdout}\n{stderr}");
    let seen: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {stdout}\n{stderr}"));
    println!("{url}: {seen} in {:?}", started.elapsed());
    seen
}

#[test]
fn janus_js_echotest_in_chromium_over_ws_and_http() {
    let Some(gw) = demo_gateway() else { return };
    let page = format!("http://{}/demo/", gw.addr("http"));
    for transport in ["ws", "http"] {
        let seen = run_page(&format!("{page}?transport={transport}"), "");
        assert_eq!(seen["transport"], transport, "{seen}");
        assert_eq!(seen["error"], Value::Null, "{seen}");
        assert_eq!(seen["webrtcUp"], true, "{seen}");
        assert_eq!(seen["result"], "ok", "{seen}");
        assert!(seen["framesDecoded"].as_u64() > Some(0), "echoed video decodes: {seen}");
        assert!(seen["videoWidth"].as_u64() > Some(0), "the remote video has a size: {seen}");
        assert!(seen["audioPackets"].as_u64() > Some(0), "echoed audio arrives: {seen}");
        assert!(
            seen["audioEnergy"].as_f64() > Some(1e-4),
            "echoed audio is not silence (the fake microphone beeps): {seen}"
        );
        assert_eq!(seen["dataEcho"], "Janus EchoTest here! You wrote: hello", "{seen}");
    }
}

#[test]
fn janus_js_echotest_switches_simulcast_substreams_in_chromium() {
    let Some(gw) = demo_gateway() else { return };
    let page = format!("http://{}/demo/?transport=ws&simulcast=1", gw.addr("http"));
    let seen = run_page(&page, "simulcast");
    assert_eq!(seen["simulcast"], true, "{seen}");
    assert!(seen["framesDecoded"].as_u64() > Some(0), "{seen}");
    let widths: Vec<u64> =
        seen["sentLayers"].as_array().into_iter().flatten().filter_map(|l| l["width"].as_u64()).collect();
    let top = widths.iter().copied().max().unwrap_or(0);
    assert!(widths.iter().any(|w| *w < top), "the browser sent layers of two sizes: {seen}");
    let low = &seen["layers"]["low"];
    let high = &seen["layers"]["high"];
    // The lowest the browser sends (it may pause its lowest layer when short of CPU; the
    // gateway then gives the next one up).
    assert!(low["substream"].as_u64() < high["substream"].as_u64(), "a lower substream was echoed: {seen}");
    let low_width = low["width"].as_u64().unwrap_or(0);
    assert!(low_width > 0 && low_width < top, "and it is smaller than the top layer: {seen}");
    assert!(high["substream"].as_u64() > Some(0), "a higher substream came back: {seen}");
    assert!(high["width"].as_u64() > Some(low_width), "larger again: {seen}");
}

#[test]
fn janus_js_videoroom_pages_see_each_other_in_chromium() {
    let Some(gw) = demo_gateway() else { return };
    let seen = run_script("videoroom.mjs", &format!("http://{}/demo/videoroom.html", gw.addr("http")), &[]);
    for (page, other) in [("a", "bob"), ("b", "alice")] {
        let d = &seen[page];
        assert_eq!(d["error"], Value::Null, "{seen}");
        assert_eq!(d["published"], true, "page {page} published: {seen}");
        let feed = d["feeds"]
            .as_object()
            .and_then(|f| f.values().find(|f| f["display"] == other))
            .unwrap_or_else(|| panic!("page {page} subscribed to {other}: {seen}"));
        assert!(feed["framesDecoded"].as_u64() > Some(0), "{other}'s video decodes on page {page}: {seen}");
        assert!(feed["videoWidth"].as_u64() > Some(0), "{seen}");
        assert!(feed["audioPackets"].as_u64() > Some(0), "{other}'s audio arrives on page {page}: {seen}");
    }
}

#[test]
fn janus_js_videoroom_subscriber_switches_a_publishers_simulcast_substream() {
    let Some(gw) = demo_gateway() else { return };
    let url = format!("http://{}/demo/videoroom.html", gw.addr("http"));
    let seen = run_script("videoroom.mjs", &url, &["simulcast"]);
    assert_eq!(seen["a"]["simulcast"], true, "{seen}");
    let widths: Vec<u64> = seen["a"]["sentLayers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["width"].as_u64())
        .collect();
    let top = widths.iter().copied().max().unwrap_or(0);
    assert!(widths.iter().any(|w| *w < top), "alice sent layers of two sizes: {seen}");
    let (low, high) = (&seen["layers"]["low"], &seen["layers"]["high"]);
    // Asked for substream 0, bob gets the lowest alice sends (Chromium pauses its lowest layer
    // when short of CPU; the gateway then gives the next one up).
    let low_width = low["width"].as_u64().unwrap_or(0);
    assert!(low_width > 0 && low_width < top, "smaller than her top layer: {seen}");
    assert!(low["substream"].as_u64() < high["substream"].as_u64(), "then a higher substream: {seen}");
    assert!(high["width"].as_u64() > Some(low_width), "larger again: {seen}");
    // Forwarded one port per substream (Janus's `port`, `port_2`, `port_3`): each port gets
    // keyframes, the first the smallest and the last the largest alice sends (a port whose
    // substream she paused gets the nearest she sends).
    let forwarders = seen["forward"]["answer"]["forwarders"].as_array().cloned().unwrap_or_default();
    let substreams: Vec<&Value> = forwarders.iter().map(|f| &f["substream"]).collect();
    assert_eq!(substreams, [&Value::Null, &json!(1), &json!(2)], "{seen}");
    let forwarded: Vec<u64> =
        seen["forward"]["widths"].as_array().into_iter().flatten().filter_map(Value::as_u64).collect();
    assert!(forwarded.len() == 3 && forwarded.iter().all(|w| *w > 0), "every port got keyframes: {seen}");
    assert!(
        forwarded[0] <= forwarded[1] && forwarded[1] <= forwarded[2] && forwarded[0] < forwarded[2],
        "{seen}"
    );
}

/// VP9 SVC from janus.js (a `scalabilityMode` on the camera's encoding, which janus.js tells the
/// gateway in the JSEP's `svc`): bob's page is offered alice's video as SVC, and her lowest
/// spatial layer, then her highest, change the size of the video it decodes; the spatial layer
/// events say which it gets.
#[test]
fn janus_js_videoroom_subscriber_picks_a_publishers_svc_spatial_layer() {
    let Some(gw) = demo_gateway() else { return };
    let url = format!("http://{}/demo/videoroom.html", gw.addr("http"));
    let seen = run_script("videoroom.mjs", &url, &["svc"]);
    assert_eq!(seen["a"]["svc"], "L3T3_KEY", "{seen}");
    let width = |name: &str| seen["layers"][name]["width"].as_u64().unwrap_or(0);
    assert_eq!(seen["layers"]["first"]["svc"], true, "alice's video is offered as SVC: {seen}");
    let (first, low, high) = (width("first"), width("low"), width("high"));
    assert_eq!(seen["layers"]["low"]["spatial"], 0, "the spatial layer event: {seen}");
    assert!(low > 0 && low < first, "her lowest spatial layer is smaller than all of them: {seen}");
    // Asked for layer 2, bob gets the highest alice sends (Chromium makes two spatial layers of
    // its 640×480 fake camera).
    assert!(seen["layers"]["high"]["spatial"].as_u64() > Some(0), "{seen}");
    assert!(high > low, "larger again: {seen}");
}

/// Two janus.js TextRoom pages chat over data channels: history on join, a message to the
/// room, a whisper.
#[test]
fn janus_js_textroom_pages_chat_in_chromium() {
    let Some(gw) = demo_gateway() else { return };
    let seen = run_script("textroom.mjs", &format!("http://{}/demo/textroom.html", gw.addr("http")), &[]);
    let said = |page: &str| -> Vec<(String, String, bool)> {
        let messages = seen[page]["messages"].as_array().cloned().unwrap_or_default();
        let field = |m: &Value, k: &str| m[k].as_str().unwrap_or_default().to_owned();
        messages.iter().map(|m| (field(m, "from"), field(m, "text"), m["whisper"] == true)).collect()
    };
    for page in ["a", "b"] {
        assert_eq!(seen[page]["error"], Value::Null, "{seen}");
        assert_eq!(seen[page]["joined"], true, "{seen}");
    }
    let msg = |from: &str, text: &str, whisper| (from.to_owned(), text.to_owned(), whisper);
    assert!(said("b").contains(&msg("alice", "hello, whoever comes", false)), "bob got the history: {seen}");
    assert!(said("b").contains(&msg("alice", "hi bob", false)), "{seen}");
    assert!(said("a").contains(&msg("bob", "psst, alice", true)), "alice got bob's whisper: {seen}");
    assert!(!said("b").iter().any(|m| m.1 == "psst, alice"), "the whisper went to alice only: {seen}");
    assert_eq!(seen["a"]["participants"], serde_json::json!(["bob"]), "{seen}");
}

/// Runs a janode scenario (`tests/browser/<script>`) against a demo gateway over its
/// WebSocket: what it printed, or none when janode is missing outside CI.
fn janode(script: &str) -> Option<Value> {
    janode_over(script, |gw| format!("ws://{}", gw.addr("ws")))
}

/// As [`janode`], reaching the gateway at the URL `url` gives.
fn janode_over(script: &str, url: impl Fn(&Gateway) -> String) -> Option<Value> {
    let gw = demo_gateway()?;
    let janode = here().join("node_modules/janode/src/janode.js");
    if !janode.exists() {
        assert!(std::env::var_os("CI").is_none(), "janode (npm ci in tests/browser) is missing under CI");
        eprintln!("janode test skipped: {} not found", janode.display());
        return None;
    }
    let out = Command::new("node")
        .arg(here().join(script))
        .arg(url(&gw))
        .stdin(Stdio::null())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "janode failed:\n{stdout}\n{stderr}");
    let seen: Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    println!("janode {script}: {seen}");
    Some(seen)
}

/// janode, the Node.js Janus client, drives the VideoRoom unchanged (signaling only).
#[test]
fn janode_drives_the_videoroom() {
    let Some(seen) = janode("janode.mjs") else { return };
    assert_eq!(seen["created"]["room"], 4242, "{seen}");
    assert_eq!(seen["exists"]["exists"], true, "{seen}");
    assert_eq!(seen["listed"], true, "{seen}");
    assert_eq!(seen["aliceJoined"]["room"], 4242, "{seen}");
    assert!(seen["bobJoined"]["feed"].is_u64(), "janode reads the publisher's id as its feed: {seen}");
    assert_eq!(seen["participants"], serde_json::json!(["alice", "bob"]), "{seen}");
    assert_eq!(seen["aliceHeard"]["feed"], seen["bobJoined"]["feed"], "alice heard bob leave: {seen}");
    assert_eq!(seen["destroyed"]["room"], 4242, "{seen}");
}

/// janode drives the TextRoom unchanged: setup (a data-channel offer), ack, and the
/// management requests, each answer in the shape janode parses.
#[test]
fn janode_drives_the_textroom() {
    let Some(seen) = janode("janode_textroom.mjs") else { return };
    assert_eq!(seen["offer"], true, "{seen}");
    assert_eq!(seen["created"]["room"], 4242, "{seen}");
    assert_eq!(seen["exists"]["exists"], true, "{seen}");
    assert_eq!(seen["listed"], true, "{seen}");
    assert_eq!(seen["participants"]["participants"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["allowed"]["list"], serde_json::json!(["t1"]), "{seen}");
    // janode parses no `textroom: error` answer (Janus 1.1.2 answers the same): it reports
    // the refused kick as unexpected.
    assert_eq!(seen["kick"], "unexpected response to kick request", "{seen}");
    assert_eq!(seen["destroyed"]["room"], 4242, "{seen}");
}

/// janode's Unix-socket transport (`file://`, SOCK_DGRAM) drives the TextRoom as its
/// WebSocket does: the gateway's Unix-sockets transport (Janus's `pfunix`).
#[test]
fn janode_drives_the_textroom_over_a_unix_socket() {
    let url = |gw: &Gateway| format!("file://{}", gw.unix_path("unix").display());
    let Some(seen) = janode_over("janode_textroom.mjs", url) else { return };
    assert_eq!(seen["offer"], true, "{seen}");
    assert_eq!(seen["created"]["room"], 4242, "{seen}");
    assert_eq!(seen["listed"], true, "{seen}");
    assert_eq!(seen["destroyed"]["room"], 4242, "{seen}");
}

/// janode drives the AudioBridge unchanged (signaling only): rooms, two participants, the
/// events and answers of moderation, each in the shape janode parses.
#[test]
fn janode_drives_the_audiobridge() {
    let Some(seen) = janode("janode_audiobridge.mjs") else { return };
    assert_eq!(seen["created"]["room"], 4242, "{seen}");
    assert_eq!(seen["exists"]["exists"], true, "{seen}");
    assert_eq!(seen["listed"], true, "{seen}");
    assert_eq!(seen["aliceJoined"]["feed"], 1, "janode reads the id as its feed: {seen}");
    assert_eq!(seen["bobJoined"]["participants"][0]["feed"], 1, "{seen}");
    assert_eq!(seen["aliceHeard"]["feed"], 2, "alice heard bob join: {seen}");
    assert_eq!(seen["participants"], json!(["alice", "bob"]), "{seen}");
    assert_eq!(seen["suspend"]["feed"], 2, "{seen}");
    assert_eq!(seen["suspended"]["feed"], 2, "bob hears he is suspended: {seen}");
    assert_eq!(seen["peerSuspended"]["feed"], 2, "alice hears bob is: {seen}");
    assert_eq!(seen["suspendedListed"]["suspended"], true, "{seen}");
    assert_eq!(seen["resumed"]["feed"], 2, "bob resumed himself: {seen}");
    assert_eq!(seen["kicked"]["feed"], 2, "{seen}");
    assert_eq!(seen["left"]["feed"], 1, "{seen}");
    assert_eq!(seen["destroyed"]["room"], 4242, "{seen}");
}

/// janode drives the Streaming plugin unchanged: mountpoints in both forms, list, info, a
/// viewer's watch/pause/configure/switch/stop (janode does no WebRTC: no answer to start with),
/// disable/enable, destroy.
#[test]
fn janode_drives_the_streaming_plugin() {
    let Some(seen) = janode("janode_streaming.mjs") else { return };
    assert_eq!(
        (&seen["created"]["id"], &seen["created"]["name"]),
        (&json!(4242), &json!("janode")),
        "{seen}"
    );
    assert!(seen["created"]["audio_port"].as_u64().is_some_and(|p| p > 0), "the older form's port: {seen}");
    assert_eq!(seen["listed"], true, "{seen}");
    assert_eq!(seen["info"]["media"][0]["codec"], "opus", "{seen}");
    assert_eq!(seen["watched"], json!({"status": "preparing", "offer": true}), "{seen}");
    assert_eq!(seen["paused"]["status"], "pausing", "{seen}");
    assert_eq!(
        (&seen["switched"]["switched"], &seen["switched"]["id"]),
        (&json!("ok"), &json!(4243)),
        "{seen}"
    );
    assert_eq!(seen["stopped"]["status"], "stopping", "{seen}");
    assert_eq!(seen["destroyed"]["id"], 4242, "{seen}");
}

/// Janus's classic pairing: a janus.js VideoRoom page forwards its camera and microphone
/// (`rtp_forward`) into a Streaming mountpoint, and a janus.js Streaming page plays it (video
/// decoded, audio received).
#[test]
fn janus_js_streaming_page_plays_a_mountpoint_in_chromium() {
    let Some(gw) = demo_gateway() else { return };
    // The mountpoint's ports, as `info` gives them (it has no secret).
    let ports = tokio::runtime::Runtime::new().expect("runtime").block_on(async {
        let mut c = harness::PluginClient::new(&gw, "janus.plugin.streaming").await;
        let info = c.request(json!({"request": "info", "id": 1})).await;
        let port = |i: usize| info["info"]["media"][i]["port"].as_u64().unwrap_or_else(|| panic!("{info}"));
        (port(0), port(1))
    });
    let (room, streaming) = (
        format!("http://{}/demo/videoroom.html", gw.addr("http")),
        format!("http://{}/demo/streaming.html?id=1", gw.addr("http")),
    );
    let seen = run_script("streaming.mjs", &streaming, &[&room, &ports.0.to_string(), &ports.1.to_string()]);
    assert_eq!(seen["publisher"]["published"], true, "{seen}");
    assert!(
        seen["forwarded"]["forwarders"].is_array() || seen["forwarded"]["rtp_stream"].is_object(),
        "{seen}"
    );
    let viewer = &seen["viewer"];
    assert_eq!(viewer["error"], Value::Null, "{seen}");
    assert_eq!(viewer["status"], "started", "{seen}");
    assert!(viewer["framesDecoded"].as_u64() > Some(0) && viewer["videoWidth"].as_u64() > Some(0), "{seen}");
    assert!(viewer["audioPackets"].as_u64() > Some(0), "{seen}");
}

/// The plugin tutorial's promise: a plugin built from the template of any language answers the
/// janus.js page `/demo/hello.html`, alike.
#[test]
fn the_tutorial_page_is_answered_by_the_template_of_every_language() {
    if let Some(why) = missing_tools() {
        assert!(std::env::var_os("CI").is_none(), "the browser test cannot run under CI: {why}");
        eprintln!("browser test skipped: {why}");
        return;
    }
    for lang in ["rust", "py", "js"] {
        let plugins = std::env::temp_dir().join(format!("portunus-hello-{lang}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&plugins);
        std::fs::create_dir_all(&plugins).unwrap();
        let template = Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR")).join(format!("template-{lang}.wasm"));
        std::fs::copy(template, plugins.join("hello.wasm")).unwrap();
        let gw = Gateway::with(Conf {
            general: format!("wasm_plugins_folder = \"{}\"", plugins.display()),
            http: format!("demo_assets = \"{}\"", here().join("node_modules").display()),
            ..Conf::default()
        });
        let seen = run_script("hello.mjs", &format!("http://{}/demo/hello.html", gw.addr("http")), &[]);
        assert_eq!(seen["error"], Value::Null, "{lang}: {seen}");
        assert_eq!(
            seen["greetings"],
            json!([{"hello": "greeting", "text": "Hello, Ada!", "count": 1},
                   {"hello": "greeting", "text": "Hello, world!", "count": 2}]),
            "{lang}: {seen}"
        );
        assert_eq!(
            seen["errors"],
            json!([{"error_code": 492, "error": "Invalid element type (name should be a non-empty string)"}]),
            "{lang}: {seen}"
        );
        let _ = std::fs::remove_dir_all(&plugins);
    }
}
