//! The Janus API over WebSockets: subprotocol, verbs, bad frames, claim and socket close.

use std::time::Duration;

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{assert_error, Conf, Gateway, WsClient};

#[tokio::test]
async fn subprotocol_and_root_verbs() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    assert_eq!(ws.protocol.as_deref(), Some("janus-protocol"));
    let info = ws.call(json!({"janus": "info"})).await;
    assert_eq!(info["janus"], "server_info");
    assert!(info["transports"]["janus.transport.websockets"].is_object());
    let pong = ws.call(json!({"janus": "ping"})).await;
    assert_eq!(pong["janus"], "pong");
    assert!(pong.get("session_id").is_none());
    let r = ws.call(json!({"janus": "create"})).await;
    assert_eq!(r["janus"], "success");
    assert!(r.get("session_id").is_none());
    let sid = r["data"]["id"].as_u64().unwrap();
    let ka = ws.call(json!({"janus": "keepalive", "session_id": sid})).await;
    assert_eq!(ka["janus"], "ack");
    assert_eq!(ka["session_id"], sid);
    assert_error(&ws.call(json!({"janus": "keepalive"})).await, 457);
    assert_error(&ws.call(json!({"janus": "keepalive", "session_id": 42})).await, 458);
    assert_error(&ws.call(json!({"janus": "hangup", "session_id": sid, "handle_id": 42})).await, 459);
    assert_error(&ws.call(json!({"janus": "hangup", "session_id": sid})).await, 457);
    assert_error(&ws.call(json!({"janus": "bogus", "session_id": sid})).await, 453);
    assert_error(
        &ws.call(json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.nope"})).await,
        460,
    );
    let d = ws.call(json!({"janus": "destroy", "session_id": sid})).await;
    assert_eq!(d["janus"], "success");
    assert_error(&ws.call(json!({"janus": "keepalive", "session_id": sid})).await, 458);
}

#[tokio::test]
async fn garbage_binary_and_pings_keep_the_socket_usable() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    ws.send_raw(Message::text("{bad")).await;
    assert_error(&ws.recv().await, 454);
    // Janus 1.1.2 answers arrays over WebSocket with 456 (HTTP: 455).
    for array in ["[1,2]", " []", r#"[{"janus":"ping","transaction":"x"}]"#] {
        ws.send_raw(Message::text(array)).await;
        let r = ws.recv().await;
        assert_error(&r, 456);
        assert_eq!(r["error"]["reason"], "Missing mandatory element (transaction)");
    }
    ws.send_raw(Message::text("5")).await;
    assert_error(&ws.recv().await, 454);
    ws.send_raw(Message::binary(br#"{"janus":"ping","transaction":"b"}"#.to_vec())).await;
    let r = ws.recv().await;
    assert_eq!(r["janus"], "pong");
    ws.send_raw(Message::Ping(b"hi".to_vec().into())).await;
    loop {
        match ws.next_message().await {
            Some(Message::Pong(p)) => {
                assert_eq!(&p[..], b"hi");
                break;
            }
            Some(Message::Text(t)) => panic!("unexpected text {t}"),
            _ => continue,
        }
    }
    assert_eq!(ws.call(json!({"janus": "ping"})).await["janus"], "pong");
}

#[tokio::test]
async fn oversized_message_closes_only_that_socket() {
    let gw = Gateway::with(Conf::general("max_request_size = 4096"));
    let mut other = gw.ws().await;
    let mut ws = gw.ws().await;
    let big = format!(r#"{{"janus":"ping","transaction":"{}"}}"#, "x".repeat(10_000));
    ws.send_raw(Message::text(big)).await;
    match ws.next_message().await {
        None | Some(Message::Close(_)) => {}
        Some(m) => panic!("expected the socket to close, got {m:?}"),
    }
    assert_eq!(other.call(json!({"janus": "ping"})).await["janus"], "pong");
}

#[tokio::test]
async fn closing_the_socket_destroys_its_sessions() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    ws.close().await;
    let http = gw.http();
    // Destruction follows the close promptly; poll with a deadline instead of sleeping.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
        if r["janus"] == "error" {
            assert_error(&r, 458);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "session survived its socket");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn reclaim_after_close_and_claim_moves_events() {
    let gw = Gateway::with(Conf::general("reclaim_session_timeout = 30"));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    ws.close().await;
    let mut ws2 = gw.ws().await;
    let r = ws2.call(json!({"janus": "claim", "session_id": sid})).await;
    assert_eq!(r["janus"], "success");
    assert_eq!(r["session_id"], sid);
    // Claimed sessions belong to the new socket: closing it now destroys them.
    let ka = ws2.call(json!({"janus": "keepalive", "session_id": sid})).await;
    assert_eq!(ka["janus"], "ack");
}

#[tokio::test]
async fn orphaned_session_expires_after_reclaim_timeout() {
    let gw = Gateway::with(Conf::general("reclaim_session_timeout = 1"));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    ws.close().await;
    let closed = std::time::Instant::now();
    let http = gw.http();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    loop {
        let r = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
        if r["janus"] == "error" {
            assert_error(&r, 458);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "orphaned session never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed.elapsed() >= Duration::from_millis(900), "expired before reclaim_session_timeout");
}

#[tokio::test]
async fn session_timeout_event_over_ws() {
    let gw = Gateway::with(Conf::general("session_timeout = 1"));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let started = std::time::Instant::now();
    let ev = ws.recv().await;
    assert_eq!(ev, json!({"janus": "timeout", "session_id": sid}));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "timed out too early: {waited:?}");
    // The socket stays usable.
    assert_eq!(ws.call(json!({"janus": "ping"})).await["janus"], "pong");
    assert_error(&ws.call(json!({"janus": "keepalive", "session_id": sid})).await, 458);
}

#[tokio::test]
async fn keepalives_hold_a_session_past_its_timeout() {
    let gw = Gateway::with(Conf::general("session_timeout = 2"));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    for _ in 0..6 {
        // A keepalive every 0.5 s for 3 s (longer than the timeout).
        match ws.next_message_within(Duration::from_millis(500)).await {
            Err(()) => {}
            Ok(m) => panic!("unexpected message {m:?}"),
        }
        assert_eq!(ws.call(json!({"janus": "keepalive", "session_id": sid})).await["janus"], "ack");
    }
}

#[tokio::test]
async fn socket_without_subprotocol_is_served() {
    let gw = Gateway::start();
    let mut ws = WsClient::connect(gw.addr("ws"), None).await;
    assert_eq!(ws.call(json!({"janus": "ping"})).await["janus"], "pong");
}

#[tokio::test]
async fn thousands_of_sessions_on_a_socket_are_freed_when_it_closes() {
    let gw = Gateway::with(Conf::general("max_sessions_per_client = 3000"));
    let mut ws = gw.ws().await;
    for i in 0..2000 {
        ws.send(&json!({"janus": "create", "transaction": format!("c{i}")})).await;
    }
    for _ in 0..2000 {
        assert_eq!(ws.recv().await["janus"], "success");
    }
    let admin = gw.admin_http();
    let list = |admin: &crate::harness::HttpClient| {
        let req = json!({"janus": "list_sessions", "transaction": "l", "admin_secret": "janusoverlord"});
        let admin = admin.addr;
        async move {
            crate::harness::HttpClient { addr: admin, base: "/admin".into() }.post("", &req).await["sessions"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(list(&admin).await, 2000);
    ws.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while list(&admin).await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "sessions outlived their socket");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
