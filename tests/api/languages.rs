//! Plugins in Python and JavaScript beside Rust ones: the templates of the tutorial answer alike
//! and hand their saved state to each other on hot reload, a misbehaving plugin is contained
//! whatever its language, and the EchoTest moves from one language to another under load with
//! no failed request. (The EchoTest's own black-box tests run per language in `plugins.rs` and
//! the media tests.)

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, per_language, Conf, Gateway, Lang, WsClient, WAIT};
use crate::plugins::{attach_ws, fault, test_plugin, wait_saved, ws_message};

const ADMIN_SECRET: &str = "janusoverlord";

/// Asks the gateway to reload `package` from `path`; returns the `reload` object.
async fn reload(gw: &Gateway, package: &str, path: &Path) -> Value {
    let r = gw
        .admin_http()
        .post(
            "",
            &json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": ADMIN_SECRET,
                    "plugin": package, "path": path.display().to_string()}),
        )
        .await;
    assert_eq!(r["janus"], "success", "reload of {package} from {}: {r}", path.display());
    r["reload"].clone()
}

/// Sends a message and returns the event that answers it (after its `ack`).
async fn ack_then_event(ws: &mut WsClient, sid: u64, hid: u64, body: Value) -> Value {
    let ack = ws_message(ws, sid, hid, body).await;
    assert_eq!(ack["janus"], "ack", "{ack}");
    let ev = ws.recv().await;
    assert_eq!(ev["janus"], "event", "{ev}");
    ev["plugindata"]["data"].clone()
}

#[tokio::test]
async fn templates_in_every_language_greet_alike_and_hand_their_state_on() {
    let dir = Lang::Rust.plugins_folder(&[]);
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for lang in ["rust", "py", "js"] {
        std::fs::copy(
            test_plugin(&format!("template-{lang}.wasm")),
            staging.join(format!("hello-{lang}.wasm")),
        )
        .unwrap();
    }
    std::fs::copy(staging.join("hello-rust.wasm"), dir.join("hello.wasm")).unwrap();
    let gw = Gateway::with(Conf::general(&format!("wasm_plugins_folder = \"{}\"", dir.display())));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.hello").await;
    for (lang, count) in [("rust", 1), ("py", 2), ("js", 3), ("rust", 4)] {
        if count > 1 {
            crate::plugins::wait_checkpointed(&gw, "janus.plugin.hello").await;
            reload(&gw, "janus.plugin.hello", &staging.join(format!("hello-{lang}.wasm"))).await;
        }
        let r = ws_message(&mut ws, sid, hid, json!({"request": "hello", "name": "Ada"})).await;
        assert_eq!(r["janus"], "success", "{lang}: {r}");
        assert_eq!(
            r["plugindata"]["data"],
            json!({"hello": "greeting", "text": "Hello, Ada!", "count": count}),
            "{lang}: the count is saved state"
        );
        // Janus's error texts from every SDK.
        for (body, code, text) in [
            (json!({}), 491, "Missing mandatory element (request)"),
            (
                json!({"request": "hello", "name": ""}),
                492,
                "Invalid element type (name should be a non-empty string)",
            ),
            (json!({"request": 7}), 492, "Invalid element type (request should be a string)"),
            (json!({"request": "bye"}), 493, "Unknown request 'bye'"),
        ] {
            let ev = ack_then_event(&mut ws, sid, hid, body).await;
            assert_eq!(ev, json!({"hello": "event", "error_code": code, "error": text}), "{lang}");
        }
    }
}

per_language!(a_misbehaving_plugin_is_contained, contained);

/// A plugin that loops, eats memory or throws fails that one request; it is rebuilt from its
/// checkpoint (the count goes on) and the gateway's other plugin never notices.
async fn contained(lang: Lang) {
    let dir = lang.plugins_folder(&["testfault"]);
    std::fs::copy(Lang::Rust.plugin("echotest"), dir.join("echotest.wasm")).unwrap();
    let conf = Conf {
        general: format!("wasm_plugins_folder = \"{}\"", dir.display()),
        extra: vec![(
            "janus.plugin.testfault.jcfg".into(),
            "sandbox: { memory_mb = 96\ncpu_ms_per_call = 100 }\n".into(),
        )],
        ..Conf::default()
    };
    let gw = Gateway::with(conf);
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let faulty = attach_ws(&mut ws, sid, "janus.plugin.testfault").await;
    let echo = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["count"], 1);
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["count"], 2);
    for (req, why) in [
        (json!({"request": "spin"}), "CPU"),
        (json!({"request": "alloc", "mb": 128}), "memory"),
        (json!({"request": "panic"}), "crashed"),
    ] {
        wait_saved(&gw).await;
        let r = ws_message(&mut ws, sid, faulty, req.clone()).await;
        assert_error(&r, 462);
        let reason = r["error"]["reason"].as_str().unwrap();
        assert!(reason.contains(why), "{lang:?} {req}: {reason}");
        let ack = ws_message(&mut ws, sid, echo, json!({"audio": true})).await;
        assert_eq!(ack["janus"], "ack", "{ack}");
        ws.recv().await;
        let pong = fault(&mut ws, sid, faulty, json!({"request": "ping"})).await;
        assert!(pong["count"].as_u64().unwrap() >= 3, "{lang:?}: state lost after {req}: {pong}");
    }
    if lang != Lang::Rust {
        // The SDK logged the uncaught exception with its trace, for the author.
        let logs = tokio::task::block_in_place(|| gw.wait_log("on request"));
        assert!(logs.contains("uncaught"), "{lang:?}: no trace in the log:\n{logs}");
    }
}

/// Sends EchoTest requests until told to stop; returns (requests, failures).
async fn echo_loop(addr: std::net::SocketAddr, stop: tokio::sync::watch::Receiver<bool>) -> (u64, u64) {
    let mut ws = WsClient::connect(addr, Some("janus-protocol")).await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    let (mut requests, mut failures) = (0, 0);
    while !*stop.borrow() {
        requests += 1;
        let ack = ws_message(&mut ws, sid, hid, json!({"video": requests % 2 == 0})).await;
        let ev = if ack["janus"] == "ack" { tokio::time::timeout(WAIT, ws.recv()).await.ok() } else { None };
        if ev.is_none_or(|ev| ev["plugindata"]["data"]["result"] != "ok") {
            failures += 1;
        }
    }
    (requests, failures)
}

/// The EchoTest moves Rust → Python → JavaScript → Rust while three clients send requests:
/// none fails, a handle's settings carry over each time, and the swap pauses calls briefly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echotest_moves_between_languages_under_load() {
    let dir = Lang::Rust.plugins_folder(&["echotest"]);
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for lang in [Lang::Python, Lang::JavaScript, Lang::Rust] {
        std::fs::copy(lang.plugin("echotest"), staging.join(format!("echotest-{lang:?}.wasm"))).unwrap();
    }
    let gw = Gateway::with(Conf::general(&format!("wasm_plugins_folder = \"{}\"", dir.display())));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    let set = ack_then_event(&mut ws, sid, hid, json!({"audio": false, "bitrate": 128000})).await;
    assert_eq!(set["result"], "ok");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let clients: Vec<_> = (0..3).map(|_| tokio::spawn(echo_loop(gw.addr("ws"), stop_rx.clone()))).collect();
    for lang in [Lang::Python, Lang::JavaScript, Lang::Rust] {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let swap =
            reload(&gw, "janus.plugin.echotest", &staging.join(format!("echotest-{lang:?}.wasm"))).await;
        println!("{lang:?}: reload {swap}");
        assert!(swap["pause_us"].as_u64().unwrap() < 50_000, "{lang:?}: {swap}");
        let info = gw
            .admin_http()
            .post(
                &format!("/{sid}/{hid}"),
                &json!({"janus": "handle_info", "transaction": "i", "admin_secret": ADMIN_SECRET}),
            )
            .await;
        let state = &info["info"]["plugin_specific"];
        assert_eq!(
            (&state["audio_active"], &state["bitrate"]),
            (&json!(false), &json!(128000)),
            "{lang:?}: {info}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(true).unwrap();
    for client in clients {
        let (requests, failures) = client.await.unwrap();
        assert_eq!(failures, 0, "{failures} of {requests} requests failed across the reloads");
        assert!(requests > 3, "{requests}");
    }
}

/// The TypeScript declarations committed in `plugins-wasm/js/types/` for editors are the ones
/// the build generates from `wit/plugin.wit` now.
#[test]
fn the_committed_javascript_types_match_the_wit() {
    let generated = Path::new(env!("PORTUNUS_LANG_PLUGINS_DIR")).join("js-types");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins-wasm/js/types");
    let files = |root: &Path| {
        let mut found = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let name = path.strip_prefix(root).expect("under the root").to_path_buf();
                    found.push((name, std::fs::read_to_string(&path).expect("a text file")));
                }
            }
        }
        found.sort();
        found
    };
    let (now, kept) = (files(&generated), files(&committed));
    let names =
        |list: &[(std::path::PathBuf, String)]| list.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&kept),
        names(&now),
        "refresh with: node plugins-wasm/js/types.mjs wit/plugin.wit plugins-wasm/js/types <node_modules>"
    );
    for ((name, old), (_, new)) in kept.iter().zip(&now) {
        assert!(old == new, "plugins-wasm/js/types/{} is stale: refresh with `node plugins-wasm/js/types.mjs wit/plugin.wit plugins-wasm/js/types <target>/wasm-plugins/lang-tools/js/node_modules`", name.display());
    }
}

/// The compiled code of a JavaScript plugin is resident where it runs, not all of it. On a
/// fault the kernel also maps the neighbours the page cache holds, and the cache held the
/// whole file, just written: 20 of the 28 MB of a JavaScript plugin's code were resident.
/// The gateway has a cache folder of its own: the shared one's files are mapped by the other
/// gateways of the test run, so their pages stay cached and a fault maps the neighbours (this
/// test failed so once, right after the plugin had changed).
#[tokio::test]
async fn a_compiled_plugin_is_resident_where_it_runs() {
    let cache = crate::harness::TempDir::new("plugin-cache");
    let mut conf = Conf::echotest(Lang::JavaScript);
    conf.general.push_str(&format!("\nplugin_cache_folder = \"{}\"", cache.display()));
    let gw = Gateway::with(conf.owning(cache));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, "janus.plugin.echotest").await;
    // Some of its code runs.
    ack_then_event(&mut ws, sid, hid, json!({"audio": true})).await;
    let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", gw.pid())).expect("smaps");
    // The largest mapping of compiled code: its size and resident kilobytes.
    let (mut largest, mut current) = ((0u64, 0u64), None);
    for line in smaps.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [range, perms, ..] = words[..] {
            if let Some((start, end)) = range.split_once('-').filter(|_| perms.len() == 4) {
                let code = perms == "r-xp" && line.ends_with(".cwasm");
                let size =
                    u64::from_str_radix(end, 16).unwrap_or(0) - u64::from_str_radix(start, 16).unwrap_or(0);
                current = code.then_some(size / 1024);
                continue;
            }
        }
        if let (Some(size), ["Rss:", kb, ..]) = (current, &words[..]) {
            if size > largest.0 {
                largest = (size, kb.parse().unwrap_or(0));
            }
        }
    }
    let (size, resident) = largest;
    assert!(size > 4096, "no compiled JavaScript plugin mapped:\n{smaps}");
    assert!(resident * 2 < size, "{resident} of its {size} KiB of code resident");
}
