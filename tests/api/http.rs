//! The Janus API over HTTP: routes, envelope errors, long poll, CORS, limits.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, Conf, Gateway, HttpClient};

#[tokio::test]
async fn info_and_ping_over_get_and_post() {
    let gw = Gateway::start();
    let http = gw.http();
    let r = http.get("/info").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let info = r.json();
    assert_eq!(info["janus"], "server_info");
    assert!(info.get("session_id").is_none());
    for key in [
        "name",
        "version",
        "version_string",
        "session-timeout",
        "ice-lite",
        "full-trickle",
        "plugins",
        "transports",
    ] {
        assert!(info.get(key).is_some(), "info lacks {key}: {info}");
    }
    assert_eq!(info["api_secret"], false);
    assert_eq!(info["auth_token"], false);
    assert!(info["transports"]["janus.transport.http"].is_object());
    // The WebRTC stack's real settings and the commit built, not placeholders.
    assert_eq!((info["min-nack-queue"].as_u64(), info["twcc-period"].as_u64()), (Some(200), Some(50)));
    assert_eq!(info["dtls-mtu"], 1150);
    let commit = info["commit-hash"].as_str().unwrap();
    assert!(
        commit == "not-a-git-repo" || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit}"
    );
    let info = http.post("", &json!({"janus": "info", "transaction": "i1"})).await;
    assert_eq!(info["janus"], "server_info");
    assert_eq!(info["transaction"], "i1");
    let pong = http.post("", &json!({"janus": "ping", "transaction": "p1"})).await;
    assert_eq!(pong, json!({"janus": "pong", "transaction": "p1"}));
    assert_eq!(http.get("/ping").await.json()["janus"], "pong");
    assert_eq!(http.request("POST", "/info", &[], b"{}").await.status, 400);
}

#[tokio::test]
async fn envelope_errors() {
    let gw = Gateway::start();
    let http = gw.http();
    let raw = |body: &'static [u8]| {
        let http = &http;
        async move { http.request("POST", "", &[], body).await.json() }
    };
    let r = raw(b"{bad").await;
    assert_error(&r, 454);
    assert!(r.get("transaction").is_none() && r.get("session_id").is_none());
    assert_error(&raw(b"").await, 454);
    assert_error(&raw(b"[]").await, 455);
    assert_error(&raw(b"\"str\"").await, 454);
    assert_error(&raw(b"5").await, 454);
    let r = raw(br#"{"janus":"info"}"#).await;
    assert_error(&r, 456);
    assert_eq!(r["error"]["reason"], "Missing mandatory element (transaction)");
    // Envelope errors carry no transaction (as in Janus).
    let r = raw(br#"{"transaction":"t"}"#).await;
    assert_error(&r, 456);
    assert!(r.get("transaction").is_none(), "{r}");
    assert_eq!(r["error"]["reason"], "Missing mandatory element (janus)");
    assert_error(&raw(br#"{"janus":5,"transaction":"t"}"#).await, 467);
    assert_error(&raw(br#"{"janus":"info","transaction":5}"#).await, 467);
    // Verbs are case-insensitive.
    assert_eq!(raw(br#"{"janus":"INFO","transaction":"t"}"#).await["janus"], "server_info");
    // Root-level paths accept only info, ping and create.
    for verb in ["keepalive", "attach", "message", "destroy", "claim", "trickle", "detach", "hangup", "foo"] {
        let r = http.post("", &json!({"janus": verb, "transaction": "t"})).await;
        assert_error(&r, 457);
        assert_eq!(r["error"]["reason"], format!("Unhandled request '{verb}' at this path"));
        assert!(r.get("session_id").is_none());
    }
    // Any content type is accepted.
    let r = http
        .request("POST", "", &[("Content-Type", "text/plain")], br#"{"janus":"ping","transaction":"t"}"#)
        .await;
    assert_eq!(r.json()["janus"], "pong");
}

#[tokio::test]
async fn create_keepalive_destroy_and_ids() {
    let gw = Gateway::start();
    let http = gw.http();
    let r = http.post("", &json!({"janus": "create", "transaction": "c1"})).await;
    assert_eq!(r["janus"], "success");
    assert_eq!(r["transaction"], "c1");
    assert!(r.get("session_id").is_none(), "create reply must not carry session_id: {r}");
    let sid = r["data"]["id"].as_u64().unwrap();
    assert!(sid > 0 && sid < (1 << 53));
    let ka = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
    assert_eq!(ka, json!({"janus": "ack", "session_id": sid, "transaction": "k"}));
    // Client-chosen id, then a conflict.
    let r = http.post("", &json!({"janus": "create", "transaction": "c2", "id": 12345})).await;
    assert_eq!(r["data"]["id"], 12345);
    let r = http.post("", &json!({"janus": "create", "transaction": "c3", "id": 12345})).await;
    assert_error(&r, 468);
    assert_eq!(r["session_id"], 12345);
    assert_eq!(r["transaction"], "c3");
    // id 0 means "pick one".
    let r = http.post("", &json!({"janus": "create", "transaction": "c6", "id": 0})).await;
    assert!(r["data"]["id"].as_u64().unwrap() > 0);
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c4", "id": "abc"})).await, 467);
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c5", "id": -5})).await, 467);
    // Session ids in the body work at the root path too.
    let ka = http.post("", &json!({"janus": "keepalive", "transaction": "k2", "session_id": 12345})).await;
    assert_eq!(ka["janus"], "ack");
    // Unknown verb at session level, and root verbs there.
    let r = http.post(&format!("/{sid}"), &json!({"janus": "foo", "transaction": "f"})).await;
    assert_error(&r, 453);
    assert_eq!(r["session_id"], sid);
    for verb in ["create", "info", "ping"] {
        let r = http.post(&format!("/{sid}"), &json!({"janus": verb, "transaction": "f"})).await;
        assert_error(&r, 453);
        assert_eq!(r["error"]["reason"], format!("Unknown request '{verb}'"));
    }
    // Path and body disagree: 457 without transaction or session_id.
    let r = http
        .post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "x", "session_id": 99}))
        .await;
    assert_error(&r, 457);
    assert_eq!(r["error"]["reason"], "Conflicting session ID (payload and path)");
    assert!(r.get("transaction").is_none() && r.get("session_id").is_none(), "{r}");
    // A body id of the wrong type is ignored in favour of the path.
    let r = http
        .post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "x", "session_id": "S"}))
        .await;
    assert_eq!(r["janus"], "ack");
    // `id` is checked on every request.
    let r =
        http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "x", "id": "x"})).await;
    assert_error(&r, 467);
    assert_eq!(r["session_id"], sid);
    // Handle-level verbs need a handle; unknown handles are 459.
    assert_error(&http.post(&format!("/{sid}"), &json!({"janus": "detach", "transaction": "d"})).await, 457);
    assert_error(
        &http.post(&format!("/{sid}/77"), &json!({"janus": "detach", "transaction": "d"})).await,
        459,
    );
    assert_error(
        &http
            .post(&format!("/{sid}"), &json!({"janus": "message", "transaction": "m", "handle_id": 0}))
            .await,
        459,
    );
    // attach without plugin, with a wrong type, with an unknown plugin.
    assert_error(&http.post(&format!("/{sid}"), &json!({"janus": "attach", "transaction": "a"})).await, 456);
    assert_error(
        &http.post(&format!("/{sid}"), &json!({"janus": "attach", "transaction": "a", "plugin": 5})).await,
        467,
    );
    let r = http
        .post(
            &format!("/{sid}"),
            &json!({"janus": "attach", "transaction": "a", "plugin": "janus.plugin.nope"}),
        )
        .await;
    assert_error(&r, 460);
    // Destroy, then the session is gone.
    let r = http.post(&format!("/{sid}"), &json!({"janus": "destroy", "transaction": "d"})).await;
    assert_eq!(r, json!({"janus": "success", "session_id": sid, "transaction": "d"}));
    let r = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
    assert_error(&r, 458);
    assert_eq!(r["error"]["reason"], format!("No such session {sid}"));
    assert_eq!(http.get(&format!("/{sid}")).await.status, 404);
}

#[tokio::test]
async fn routes_and_methods() {
    let gw = Gateway::start();
    let http = gw.http();
    let sid = http.create().await;
    let r = http.get(&format!("/{sid}/123")).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(format!("/janus/{sid}").as_str()));
    assert_eq!(http.get("/1/2/3").await.status, 404);
    assert_eq!(http.get("/notanumber").await.status, 404);
    assert_eq!(http.get("/999").await.status, 404);
    let r = http.request("PUT", "", &[], b"{}").await;
    assert_error(&r.json(), 450);
    assert_eq!(r.json()["error"]["reason"], "Unsupported method PUT");
    let r = http.request("DELETE", &format!("/{sid}"), &[], b"").await;
    assert_error(&r.json(), 450);
    // The session still works.
    let ka = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
    assert_eq!(ka["janus"], "ack");
}

#[tokio::test]
async fn long_poll_returns_keepalive_and_arrays() {
    let gw = Gateway::with(Conf::general("session_timeout = 120"));
    let http = gw.http();
    let sid = http.create().await;
    // Nothing queued: the poll waits ~30 s and answers keepalive; with maxev>1 an array.
    let (p1, p2) = (format!("/{sid}?rid=1"), format!("/{sid}?maxev=5&rid=2"));
    let (single, many) = tokio::join!(http.get(&p1), http.get(&p2));
    assert_eq!(single.status, 200);
    assert_eq!(single.json(), json!({"janus": "keepalive"}));
    assert_eq!(many.json(), json!([{"janus": "keepalive"}]));
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let gw = Gateway::start();
    let http = gw.http();
    let r = http
        .request(
            "OPTIONS",
            "",
            &[
                ("Origin", "http://example.test"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type, x-foo"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("POST"));
    assert_eq!(r.header("access-control-allow-headers"), Some("content-type, x-foo"));
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
    let r = http
        .request("POST", "", &[("Origin", "http://example.test")], br#"{"janus":"ping","transaction":"t"}"#)
        .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn cors_with_allow_origin_and_enforcement() {
    let gw = Gateway::with(Conf {
        cors: "allow_origin = \"http://good.test\"\nenforce_cors = true".into(),
        ..Conf::default()
    });
    let http = gw.http();
    let ping = br#"{"janus":"ping","transaction":"t"}"#;
    let r = http.request("POST", "", &[("Origin", "http://good.test")], ping).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://good.test"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("vary"), Some("Origin"));
    let r = http.request("POST", "", &[("Origin", "http://evil.test")], ping).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn oversized_body_is_refused_and_server_keeps_working() {
    let gw = Gateway::with(Conf::general("max_request_size = 4096"));
    let http = gw.http();
    let big = format!(r#"{{"janus":"ping","transaction":"{}"}}"#, "x".repeat(10_000));
    let r = http.request("POST", "", &[], big.as_bytes()).await;
    assert_eq!(r.status, 413);
    assert_eq!(http.post("", &json!({"janus": "ping", "transaction": "t"})).await["janus"], "pong");
}

#[tokio::test]
async fn per_client_session_cap() {
    let gw = Gateway::with(Conf::general("max_sessions_per_client = 3"));
    let http = gw.http();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(http.create().await);
    }
    let r = http.post("", &json!({"janus": "create", "transaction": "over"})).await;
    assert_error(&r, 490);
    // Destroying one frees a slot.
    let d = http.post(&format!("/{}", ids[0]), &json!({"janus": "destroy", "transaction": "d"})).await;
    assert_eq!(d["janus"], "success");
    let r: Value = http.post("", &json!({"janus": "create", "transaction": "again"})).await;
    assert_eq!(r["janus"], "success");
}

#[tokio::test]
async fn long_poll_receives_the_timeout_event() {
    let gw = Gateway::with(Conf::general("session_timeout = 1"));
    let http = gw.http();
    let sid = http.create().await;
    let started = std::time::Instant::now();
    // The poll itself refreshes the session once; nothing else does, so it expires.
    let r = http.get(&format!("/{sid}?maxev=5")).await;
    assert_eq!(r.json(), json!([{"janus": "timeout", "session_id": sid}]));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(http.get(&format!("/{sid}")).await.status, 404);
}

#[tokio::test]
async fn demo_pages_are_served_next_to_the_api() {
    let assets = std::env::temp_dir().join(format!("portunus-demo-assets-{}", std::process::id()));
    let janus_js = assets.join("janus-gateway/npm/dist");
    std::fs::create_dir_all(&janus_js).unwrap();
    std::fs::write(janus_js.join("janus.es.js"), "export default 'a local janus.js';").unwrap();
    let gw =
        Gateway::with(Conf { http: format!("demo_assets = \"{}\"", assets.display()), ..Conf::default() });
    let demo = HttpClient { addr: gw.addr("http"), base: "/demo".into() };
    let page = demo.get("/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("echotest.js") && html.contains("vendor/adapter.js"), "{html}");
    assert_eq!(demo.get("").await.header("location"), Some("/demo/"));
    // The page learns where the WebSocket API listens.
    let config = String::from_utf8(demo.get("/config.js").await.body).unwrap();
    let ws_port = gw.addr("ws").port();
    assert_eq!(config.trim(), format!(r#"export default {{"wsPort":{ws_port},"basePath":"/janus"}};"#));
    let script = demo.get("/echotest.js").await;
    assert_eq!(script.header("content-type"), Some("text/javascript"));
    // janus.js from demo_assets; adapter.js is missing there, so it comes from the CDN.
    assert_eq!(demo.get("/vendor/janus.js").await.body, b"export default 'a local janus.js';");
    let adapter = demo.get("/vendor/adapter.js").await;
    assert_eq!(adapter.status, 302);
    assert!(adapter.header("location").unwrap().starts_with("https://cdn.jsdelivr.net/npm/webrtc-adapter@"));
    assert_eq!(demo.get("/vendor/../../etc/passwd").await.status, 404);
    assert_eq!(demo.get("/nothing").await.status, 404);
    // The API is unaffected.
    assert_eq!(gw.http().get("/info").await.json()["janus"], "server_info");
    std::fs::remove_dir_all(&assets).unwrap();

    let off = Gateway::with(Conf { http: "demo = false".into(), ..Conf::default() });
    let demo = HttpClient { addr: off.addr("http"), base: "/demo".into() };
    assert_eq!(demo.get("/").await.status, 404);
}

/// Reads from a raw connection until the server closes it; panics if it stays open past `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {within:?}"),
        }
    }
}

#[tokio::test]
async fn slow_idle_and_surplus_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let conf =
        Conf { http: "header_timeout = 2\nidle_timeout = 1\nmax_connections = 3".into(), ..Conf::default() };
    let gw = Gateway::with(conf);
    let addr = gw.addr("http");
    // Headers that never end.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /janus/info HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    closed_within(&mut slow, Duration::from_secs(5)).await;
    // A keep-alive connection that asks once, then nothing.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /janus/info HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answered = closed_within(&mut idle, Duration::from_secs(5)).await;
    assert!(String::from_utf8_lossy(&answered).starts_with("HTTP/1.1 200"), "no answer before closing");
    // Three connections are served; a fourth is closed at once (the first three stay usable).
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /janus/info HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        open.push(c);
    }
    // Connections are accepted in order: the fourth finds the three slots taken.
    let mut surplus = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = surplus.write_all(b"GET /janus/info HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let refused = closed_within(&mut surplus, Duration::from_millis(500)).await;
    assert!(refused.is_empty(), "the fourth connection was served");
    let mut first = open.remove(0);
    first.write_all(b"\r\n").await.unwrap();
    let mut buf = [0u8; 12];
    use tokio::io::AsyncReadExt;
    first.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
}
