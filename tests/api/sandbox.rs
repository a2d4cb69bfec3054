//! The plugin runtime at room scale: a slow or hostile plugin never holds up a socket, plugins
//! cannot block, caps hold, broadcasts reach many handles, checkpoints cost what changed, and a
//! crash leaves host and plugin agreeing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{assert_error, Gateway, TempDir, WsClient};
use crate::plugins::{
    attach_ws, fault, gateway_with_testfault, plugin_status, test_plugin, testfault_gateway,
    wait_checkpointed, wait_saved, ws_message,
};

const TESTFAULT: &str = "janus.plugin.testfault";
const ECHOTEST: &str = "janus.plugin.echotest";

/// A gateway with testfault under these `sandbox` limits, and a WebSocket client with a session
/// and a testfault handle.
async fn faulty_session(sandbox: &str) -> (Gateway, TempDir, WsClient, u64, u64) {
    let (gw, dir) = gateway_with_testfault(sandbox);
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach_ws(&mut ws, sid, TESTFAULT).await;
    (gw, dir, ws, sid, hid)
}

async fn admin(gw: &Gateway, mut body: Value) -> Value {
    body["transaction"] = json!("a");
    body["admin_secret"] = json!("janusoverlord");
    gw.admin_http().post("", &body).await
}

#[tokio::test]
async fn a_slow_plugin_does_not_hold_up_its_socket() {
    let (gw, _dir, mut ws, sid, faulty) = faulty_session("cpu_ms_per_call = 3000").await;
    let echo = attach_ws(&mut ws, sid, ECHOTEST).await;
    let other = attach_ws(&mut ws, sid, TESTFAULT).await;
    let mut ws2 = gw.ws().await;
    let sid2 = ws2.create().await;
    attach_ws(&mut ws2, sid2, TESTFAULT).await;
    // A call that burns its 3 s budget...
    let spin = json!({"janus": "message", "transaction": "spin", "session_id": sid, "handle_id": faulty,
                      "body": {"request": "spin"}});
    ws.send(&spin).await;
    // ...while the same socket keeps answering: a ping, keepalive and another plugin's request
    // come back before the slow call ends.
    assert_eq!(ws.call(json!({"janus": "ping"})).await["janus"], "pong");
    assert_eq!(ws.call(json!({"janus": "keepalive", "session_id": sid})).await["janus"], "ack");
    let ack = ws_message(&mut ws, sid, echo, json!({"audio": true})).await;
    assert_eq!(ack["janus"], "ack", "{ack}");
    let event = ws.recv().await;
    assert_eq!(event["plugindata"]["data"]["result"], "ok", "{event}");
    let info = admin(&gw, json!({"janus": "handle_info", "session_id": sid, "handle_id": echo})).await;
    assert_eq!(info["janus"], "success", "{info}");
    // The busy plugin's own handle: its info comes without the plugin's part, and an admin
    // hangup is done without waiting for the plugin to hear of it.
    let info = admin(&gw, json!({"janus": "handle_info", "session_id": sid, "handle_id": faulty})).await;
    assert_eq!(info["info"]["plugin_specific"]["error"], "the plugin is busy", "{info}");
    assert_eq!(info["info"]["plugin"], TESTFAULT, "{info}");
    let r = admin(&gw, json!({"janus": "hangup_webrtc", "session_id": sid, "handle_id": faulty})).await;
    assert_eq!(r["janus"], "success", "{r}");
    // The admin detaches a handle and destroys a session of the busy plugin without waiting
    // for it: the handle's `detached` comes before the slow call ends.
    let r = admin(&gw, json!({"janus": "detach_handle", "session_id": sid, "handle_id": other})).await;
    assert_eq!(r["janus"], "success", "{r}");
    let r = admin(&gw, json!({"janus": "destroy_session", "session_id": sid2})).await;
    assert_eq!(r["janus"], "success", "{r}");
    let detached = ws.recv().await;
    assert_eq!((detached["janus"].as_str(), detached["sender"].as_u64()), (Some("detached"), Some(other)));
    // Then the slow call is stopped at its budget.
    let r = ws.recv().await;
    assert_eq!(r["transaction"], "spin", "{r}");
    assert_error(&r, 462);
    assert!(r["error"]["reason"].as_str().unwrap().contains("CPU"), "{r}");
}

#[tokio::test]
async fn plugins_cannot_sleep_or_spin_on_the_clock() {
    let (gw, _dir, mut ws, sid, faulty) = faulty_session("cpu_ms_per_call = 100").await;
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["count"], 1);
    wait_saved(&gw).await;
    // A sleep through WASI traps at once instead of blocking the plugin's thread for 20 s.
    let started = Instant::now();
    let r = ws_message(&mut ws, sid, faulty, json!({"request": "sleep", "ms": 20_000})).await;
    assert_error(&r, 462);
    assert!(r["error"]["reason"].as_str().unwrap().contains("may not block"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(5), "sleep not refused: {:?}", started.elapsed());
    // Reading the clock in a loop is guest time: stopped at the budget.
    let r = ws_message(&mut ws, sid, faulty, json!({"request": "clock_spin"})).await;
    assert_error(&r, 462);
    assert!(r["error"]["reason"].as_str().unwrap().contains("CPU"), "{r}");
    // A call that makes the host work in a loop (its own time stays small) is stopped too: a
    // call may take ten times its budget in all.
    let started = Instant::now();
    let r = ws_message(&mut ws, sid, faulty, json!({"request": "host_spin"})).await;
    assert_error(&r, 462);
    assert!(r["error"]["reason"].as_str().unwrap().contains("CPU"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(3), "host_spin ran {:?}", started.elapsed());
    // The plugin is rebuilt with its state.
    assert_eq!(fault(&mut ws, sid, faulty, json!({"request": "ping"})).await["count"], 2);
}

#[tokio::test]
async fn one_event_reaches_many_handles() {
    let (gw, _dir) = gateway_with_testfault("");
    let mut sender_ws = gw.ws().await;
    let s1 = sender_ws.create().await;
    let sender = attach_ws(&mut sender_ws, s1, TESTFAULT).await;
    let mut room_ws = gw.ws().await;
    let s2 = room_ws.create().await;
    let mut members = BTreeSet::new();
    for _ in 0..40 {
        members.insert(attach_ws(&mut room_ws, s2, TESTFAULT).await);
    }
    let mut other_ws = gw.ws().await;
    let s3 = other_ws.create().await;
    let echo = attach_ws(&mut other_ws, s3, ECHOTEST).await;
    // The members, another plugin's handle and a handle that does not exist.
    let mut targets: Vec<Value> = members.iter().map(|h| json!([s2, h])).collect();
    targets.push(json!([s3, echo]));
    targets.push(json!([s2, 999]));
    let r = fault(&mut sender_ws, s1, sender, json!({"request": "broadcast", "handles": targets})).await;
    assert_eq!(r["reached"], 40, "{r}");
    let mut got = BTreeSet::new();
    for _ in 0..40 {
        let ev = room_ws.recv().await;
        assert_eq!(ev["janus"], "event", "{ev}");
        assert_eq!(ev["session_id"], s2);
        assert_eq!(ev["plugindata"]["data"]["broadcast"], true, "{ev}");
        assert!(ev.get("transaction").is_none(), "{ev}");
        assert!(got.insert(ev["sender"].as_u64().unwrap()), "twice: {ev}");
    }
    assert_eq!(got, members);
    // Nothing for the other plugin's client.
    assert!(other_ws.next_message_within(Duration::from_millis(300)).await.is_err());
}

#[tokio::test]
async fn events_and_timers_per_plugin_are_capped() {
    let (gw, _dir, mut ws, sid, h) = faulty_session("max_events_per_call = 10\nmax_timers = 5").await;
    let r = fault(&mut ws, sid, h, json!({"request": "events", "count": 20})).await;
    assert_eq!(r["pushed"], 10, "{r}");
    assert!(r["error"].as_str().unwrap().contains("too many events"), "{r}");
    for n in 0..10 {
        let ev = ws.recv().await;
        assert_eq!(ev["plugindata"]["data"]["n"], n, "{ev}");
    }
    // A broadcast reaches each handle once, and counts each one.
    let targets: Vec<Value> = (0..11).map(|_| json!([sid, h])).collect();
    let r = fault(&mut ws, sid, h, json!({"request": "broadcast", "handles": targets})).await;
    assert_eq!(r["reached"], 1, "{r}");
    assert_eq!(ws.recv().await["plugindata"]["data"]["broadcast"], true);
    let mut targets = vec![json!([sid, h])];
    for _ in 0..10 {
        targets.push(json!([sid, attach_ws(&mut ws, sid, TESTFAULT).await]));
    }
    let r = fault(&mut ws, sid, h, json!({"request": "broadcast", "handles": targets})).await;
    assert!(r["error"].as_str().unwrap().contains("too many events"), "{r}");

    let r = fault(&mut ws, sid, h, json!({"request": "timers", "count": 20, "ms": 20})).await;
    assert_eq!(r["count"], 20);
    let mut tokens = BTreeSet::new();
    for _ in 0..5 {
        let ev = ws.recv().await;
        tokens.insert(ev["plugindata"]["data"]["timer"].as_u64().expect("a timer event"));
    }
    assert_eq!(tokens, (0..5).collect());
    assert!(ws.next_message_within(Duration::from_millis(300)).await.is_err(), "more than 5 timers fired");
    assert_eq!(plugin_status(&gw, TESTFAULT).await["timers_refused"], 15);
}

#[tokio::test]
async fn a_crash_leaves_host_and_plugin_agreeing() {
    let (gw, _dir, mut ws, sid, h1) = faulty_session("max_crashes = 20").await;
    // Rules made by a call that crashes are not kept: the plugin never learnt their ids.
    let r = ws_message(&mut ws, sid, h1, json!({"request": "forward_then_panic"})).await;
    assert_error(&r, 462);
    assert_eq!(plugin_status(&gw, TESTFAULT).await["rules"], 0);
    // Rules that made it into a checkpoint stay.
    assert_eq!(fault(&mut ws, sid, h1, json!({"request": "rules", "count": 2})).await["ok"], 2);
    wait_saved(&gw).await;
    assert_error(&ws_message(&mut ws, sid, h1, json!({"request": "panic"})).await, 462);
    assert_eq!(plugin_status(&gw, TESTFAULT).await["rules"], 2);
    // Handles attached and detached around crashes: the plugin knows exactly the host's.
    let h2 = attach_ws(&mut ws, sid, TESTFAULT).await;
    assert_error(&ws_message(&mut ws, sid, h1, json!({"request": "panic"})).await, 462);
    let known = fault(&mut ws, sid, h1, json!({"request": "handles"})).await;
    let mut both = vec![h1, h2];
    both.sort();
    assert_eq!(known["handles"], json!(both), "{known}");
    let d = ws.call(json!({"janus": "detach", "session_id": sid, "handle_id": h2})).await;
    assert_eq!(d["janus"], "success");
    assert_error(&ws_message(&mut ws, sid, h1, json!({"request": "panic"})).await, 462);
    let known = fault(&mut ws, sid, h1, json!({"request": "handles"})).await;
    assert_eq!(known["handles"], json!([h1]), "{known}");
    // Two crashes in a row, with no checkpoint between them: the second rebuild still knows
    // the handle attached before the first.
    let h3 = attach_ws(&mut ws, sid, TESTFAULT).await;
    for tx in ["p1", "p2"] {
        let panic = json!({"janus": "message", "transaction": tx, "session_id": sid, "handle_id": h1,
                           "body": {"request": "panic"}});
        ws.send(&panic).await;
    }
    for _ in 0..2 {
        assert_error(&ws.recv().await, 462);
    }
    let known = fault(&mut ws, sid, h1, json!({"request": "handles"})).await;
    let mut both = vec![h1, h3];
    both.sort();
    assert_eq!(known["handles"], json!(both), "{known}");
}

#[tokio::test]
async fn plugins_hear_who_hung_up() {
    let (gw, _dir, mut ws, sid, h) = faulty_session("").await;
    let r = admin(&gw, json!({"janus": "hangup_webrtc", "session_id": sid, "handle_id": h})).await;
    assert_eq!(r["janus"], "success", "{r}");
    assert_eq!(fault(&mut ws, sid, h, json!({"request": "last_hangup"})).await["reason"], "Admin API");
    let r = ws.call(json!({"janus": "hangup", "session_id": sid, "handle_id": h})).await;
    assert_eq!(r["janus"], "success", "{r}");
    assert_eq!(fault(&mut ws, sid, h, json!({"request": "last_hangup"})).await["reason"], "Janus API");
}

#[tokio::test]
async fn bad_plugin_answers_and_requests_are_errors() {
    let (gw, _dir) = testfault_gateway("bad_query = true", "", "max_handles_per_session = 2");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let h = attach_ws(&mut ws, sid, TESTFAULT).await;
    // query-handle that is not a JSON object: handle_info says so instead of showing null.
    let info = admin(&gw, json!({"janus": "handle_info", "session_id": sid, "handle_id": h})).await;
    let specific = &info["info"]["plugin_specific"];
    assert!(specific["error"].as_str().is_some_and(|e| e.contains("non-object")), "{info}");
    // A rule for data alone would have forwarded audio and video ("no kinds" means all).
    let r = fault(
        &mut ws,
        sid,
        h,
        json!({"request": "forward", "to_session": sid, "to_handle": h, "kinds": ["data"]}),
    )
    .await;
    assert!(r["error"].as_str().is_some_and(|e| e.contains("data channels")), "{r}");
    assert_eq!(plugin_status(&gw, TESTFAULT).await["rules"], 0);
    // Handles per session are capped.
    attach_ws(&mut ws, sid, TESTFAULT).await;
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": TESTFAULT})).await;
    assert_error(&r, 490);
    assert!(r["error"]["reason"].as_str().unwrap().contains("limit 2"), "{r}");
}

#[tokio::test]
async fn checkpoints_cost_what_a_request_changed() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let mut handles = Vec::new();
    for _ in 0..1500 {
        handles.push(attach_ws(&mut ws, sid, ECHOTEST).await);
    }
    let status = wait_checkpointed(&gw, ECHOTEST).await;
    assert_eq!(status["saved_entries"], 1500, "{status}");
    // One request on one handle of 1500: its checkpoint carries that handle alone.
    let ack = ws_message(&mut ws, sid, handles[700], json!({"audio": false})).await;
    assert_eq!(ack["janus"], "ack");
    let _event = ws.recv().await;
    let status = wait_checkpointed(&gw, ECHOTEST).await;
    assert_eq!(status["last_checkpoint_changes"], 1, "{status}");
    assert!(status["last_checkpoint_bytes"].as_u64().unwrap() < 1000, "{status}");
    assert!(status["saved_bytes"].as_u64().unwrap() > 100_000, "{status}");
    // The saved state follows detaches.
    let d = ws.call(json!({"janus": "detach", "session_id": sid, "handle_id": handles[0]})).await;
    assert_eq!(d["janus"], "success");
    let status = wait_checkpointed(&gw, ECHOTEST).await;
    assert_eq!(status["saved_entries"], 1499, "{status}");
}

#[tokio::test]
async fn a_reload_waits_only_for_the_call_running_now() {
    let (gw, dir, mut ws, sid, faulty) = faulty_session("cpu_ms_per_call = 3000").await;
    std::fs::create_dir_all(dir.join("staging")).unwrap();
    let v2 = dir.join("staging").join("testfault-v2.wasm");
    std::fs::copy(test_plugin("testfault-v2.wasm"), &v2).unwrap();
    // A call that runs for its 3 s budget, and a request queued behind it...
    for (t, request) in [("spin", "spin"), ("ping", "ping")] {
        ws.send(&json!({"janus": "message", "transaction": t, "session_id": sid, "handle_id": faulty,
                        "body": {"request": request}}))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while plugin_status(&gw, TESTFAULT).await["queued"].as_u64() < Some(1) {
        assert!(Instant::now() < deadline, "the ping never queued behind the spin");
    }
    // ...and a reload: it goes before the queued ping, which the new version answers.
    let r =
        admin(&gw, json!({"janus": "reload_plugin", "plugin": TESTFAULT, "path": v2.display().to_string()}))
            .await;
    assert_eq!(r["janus"], "success", "{r}");
    let spin = ws.recv().await;
    assert_eq!(spin["transaction"], "spin", "{spin}");
    assert_error(&spin, 462);
    let ping = ws.recv().await;
    assert_eq!(ping["transaction"], "ping", "{ping}");
    assert_eq!(ping["plugindata"]["data"]["version"], 2, "{ping}");
}

#[tokio::test]
async fn rtp_forward_goes_only_where_the_sandbox_allows() {
    let (_gw, _dir, mut ws, sid, faulty) = faulty_session("send_to = \"10.0.0.0/8, ::1\"").await;
    let forward = |host: &str| json!({"request": "rtp_forward", "mid": "0", "host": host, "port": 5004});
    let r = fault(&mut ws, sid, faulty, forward("127.0.0.1")).await;
    assert!(r["error"].as_str().unwrap().contains("send_to does not allow 127.0.0.1"), "{r}");
    let r = fault(&mut ws, sid, faulty, forward("localhost")).await;
    assert!(r["error"].as_str().unwrap().contains("not an IP address"), "{r}");
    for allowed in ["10.1.2.3", "::1"] {
        let r = fault(&mut ws, sid, faulty, forward(allowed)).await;
        assert!(r["rule"].is_u64(), "{allowed}: {r}");
    }
    let r = fault(
        &mut ws,
        sid,
        faulty,
        json!({"request": "rtp_forward", "mid": "0", "host": "10.0.0.1", "port": 0}),
    )
    .await;
    assert!(r["error"].as_str().unwrap().contains("port 0"), "{r}");
}

#[tokio::test]
async fn plugin_udp_sockets_under_their_policy() {
    let sandbox = "udp_bind = \"127.0.0.1:*\"\nsend_to = \"127.0.0.1\"\nudp_rate = 50\nudp_max_bytes = 1000";
    let (gw, _dir, mut ws, sid, faulty) = faulty_session(sandbox).await;
    let bind = |address: &str| json!({"request": "udp_bind", "address": address});
    let r = fault(&mut ws, sid, faulty, bind("0.0.0.0:0")).await;
    assert!(r["error"].as_str().unwrap().contains("udp_bind does not allow"), "{r}");
    let r = fault(&mut ws, sid, faulty, bind("127.0.0.1:0")).await;
    let socket = r["socket"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let local: std::net::SocketAddr = r["local"].as_str().unwrap().parse().unwrap();
    // Binding the same address again gives the same socket (what a plugin does after a reload).
    let again = fault(&mut ws, sid, faulty, bind(&local.to_string())).await;
    assert_eq!(again["socket"], socket, "{again}");

    // Datagrams reach the plugin in order.
    let peer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    for i in 0..20 {
        peer.send_to(format!("hello {i}").as_bytes(), local).await.unwrap();
    }
    for i in 0..20 {
        let ev = ws.recv().await;
        let d = &ev["plugindata"]["data"]["datagram"];
        assert_eq!(
            (d["data"].as_str(), d["from"].as_str()),
            (Some(&*format!("hello {i}")), Some(&*peer_addr.to_string())),
            "{ev}"
        );
        assert_eq!(d["socket"], socket);
    }
    // The plugin sends: to where send_to allows, within the size and the rate.
    let send = |to: &str, count: u64, size: u64| json!({"request": "udp_send", "socket": socket, "to": to, "data": "pong", "count": count, "size": size});
    let r = fault(&mut ws, sid, faulty, send(&peer_addr.to_string(), 1, 0)).await;
    assert_eq!(r["sent"], 1, "{r}");
    let mut buf = [0u8; 2048];
    let (n, from) =
        tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf)).await.unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"pong0"[..], local));
    let r = fault(&mut ws, sid, faulty, send("10.0.0.1:5060", 1, 0)).await;
    assert!(r["error"].as_str().unwrap().contains("send_to does not allow"), "{r}");
    let r = fault(&mut ws, sid, faulty, send(&peer_addr.to_string(), 1, 1001)).await;
    assert!(r["error"].as_str().unwrap().contains("udp_max_bytes"), "{r}");
    let r = fault(&mut ws, sid, faulty, send(&peer_addr.to_string(), 200, 0)).await;
    let sent = r["sent"].as_u64().unwrap();
    assert!((49..=52).contains(&sent), "about a second's worth (50) passes: {r}");
    assert!(r["error"].as_str().unwrap().contains("udp_rate"), "{r}");

    // A reload keeps the socket: the new version gets its datagrams.
    let r = admin(&gw, json!({"janus": "reload_plugin", "plugin": TESTFAULT})).await;
    assert_eq!(r["janus"], "success", "{r}");
    peer.send_to(b"after the reload", local).await.unwrap();
    let ev = ws.recv().await;
    assert_eq!(ev["plugindata"]["data"]["datagram"]["data"], "after the reload", "{ev}");

    // Closed: the port is free again.
    fault(&mut ws, sid, faulty, json!({"request": "udp_close", "socket": socket})).await;
    wait_bindable(local, "the closed socket's port").await;

    // A crash closes the sockets bound since the last checkpoint.
    wait_saved(&gw).await;
    let free = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let r = ws_message(
        &mut ws,
        sid,
        faulty,
        json!({"request": "udp_bind_then_panic", "address": free.to_string()}),
    )
    .await;
    assert_error(&r, 462);
    wait_bindable(free, "the crashed call's socket").await;
}

/// A TCP connection that ends while the plugin sends to the same address again, over a new
/// connection: the plugin is not told of the old one's end, which would fail what the new
/// one carries (a SIP transaction just sent), but it is told of the new one's.
#[tokio::test]
async fn a_tcp_connections_late_end_spares_the_next_one() {
    let sandbox = "udp_bind = \"127.0.0.1:*\"\nsend_to = \"127.0.0.1\"\ncpu_ms_per_call = 3000";
    let (_gw, _dir, mut ws, sid, faulty) = faulty_session(sandbox).await;
    let bind = json!({"request": "udp_bind", "address": "127.0.0.1:0", "tcp": true});
    let r = fault(&mut ws, sid, faulty, bind).await;
    let socket = r["socket"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = server.local_addr().unwrap().to_string();
    // One call: "first0" opens a connection; a second later, "second" goes to the same address.
    let send = json!({"request": "udp_send", "socket": socket, "to": to, "data": "first",
                      "then_ms": 1000, "then_data": "second"});
    ws.send(&json!({"janus": "message", "transaction": "two", "session_id": sid, "handle_id": faulty, "body": send}))
        .await;
    let first = accept_reading(&server, b"first0").await;
    // The plugin is still in that call: the first connection's end waits for it, and "second"
    // goes over a new connection.
    drop(first);
    let second = accept_reading(&server, b"second").await;
    let told = |m: &Value| m["plugindata"]["data"]["datagram"]["data"] == "";
    loop {
        let m = ws.recv().await;
        assert!(!told(&m), "told of an end before the call ended: {m}");
        if m["transaction"] == "two" {
            assert_eq!(m["plugindata"]["data"]["sent"], 2, "{m}");
            break;
        }
    }
    // What the plugin was told of the first end would come before this request's event.
    let mark = json!({"request": "events", "count": 1});
    ws.send(&json!({"janus": "message", "transaction": "mark", "session_id": sid, "handle_id": faulty, "body": mark}))
        .await;
    loop {
        let m = ws.recv().await;
        assert!(!told(&m), "the first connection's end was told after the second opened: {m}");
        if m["plugindata"]["data"]["n"] == 0 {
            break;
        }
    }
    // The second connection's end is told.
    drop(second);
    loop {
        let m = ws.recv().await;
        if told(&m) {
            assert_eq!(m["plugindata"]["data"]["datagram"]["from"], to.as_str(), "{m}");
            break;
        }
    }
}

/// Accepts the next connection and reads it until it has carried `expected`.
async fn accept_reading(server: &tokio::net::TcpListener, expected: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncReadExt;
    let wait = Duration::from_secs(10);
    let (mut conn, _) = tokio::time::timeout(wait, server.accept()).await.expect("a connection").unwrap();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(wait, conn.read(&mut buf)).await.expect("bytes").unwrap();
        assert!(n > 0, "closed after {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, expected);
    conn
}

/// Waits until `addr` can be bound (a socket closed by the gateway is released at once, its
/// reader's copy a moment later).
async fn wait_bindable(addr: std::net::SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::UdpSocket::bind(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} stayed bound");
        tokio::task::yield_now().await;
    }
}
