//! The admin API over HTTP and WebSockets, with and without `admin_secret`.

use serde_json::{json, Value};

use crate::harness::{admin_request, assert_error, Gateway};

fn req(verb: &str) -> Value {
    admin_request(verb, Value::Null)
}

#[tokio::test]
async fn info_and_ping_need_no_secret_the_rest_do() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    assert_eq!(admin.get("/info").await.json()["janus"], "server_info");
    assert_eq!(admin.get("/ping").await.json()["janus"], "pong");
    // The admin API has no long poll: a GET elsewhere is a request without its body, as in Janus.
    for path in ["", "/123", "/123/456", "/x/y"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, 200, "GET /admin{path}");
        assert_error(&r.json(), 454);
    }
    assert_eq!(admin.get("/1/2/3").await.status, 404);
    let ping = admin.post("", &json!({"janus": "ping", "transaction": "p"})).await;
    assert_eq!(ping["janus"], "pong");
    for verb in ["get_status", "list_sessions", "set_log_level", "accept_new_sessions", "list_tokens"] {
        let r = admin.post("", &json!({"janus": verb, "transaction": "a"})).await;
        assert_error(&r, 403);
        let r = admin.post("", &json!({"janus": verb, "transaction": "a", "admin_secret": "wrong"})).await;
        assert_error(&r, 403);
    }
    let status = admin.post("", &req("get_status")).await;
    assert_eq!(status["janus"], "success");
    assert_eq!(status["status"]["session_timeout"], 60);
    assert_eq!(status["status"]["token_auth"], false);
    assert_error(&admin.post("", &req("nonsense")).await, 457);
    assert_error(&admin.post("", &req("list_handles")).await, 457);
}

#[tokio::test]
async fn sessions_handles_and_timeouts() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    let http = gw.http();
    let a = http.create().await;
    let b = http.create().await;
    let list = admin.post("", &req("list_sessions")).await;
    let mut ids: Vec<u64> =
        list["sessions"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    ids.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(ids, want);
    let handles = admin.post(&format!("/{a}"), &req("list_handles")).await;
    assert_eq!(handles["handles"], json!([]));
    assert_eq!(handles["session_id"], a);
    assert_error(&admin.post("/999", &req("list_handles")).await, 458);
    assert_error(&admin.post(&format!("/{a}/5"), &req("handle_info")).await, 459);
    // Global timeout.
    let mut r = req("set_session_timeout");
    r["timeout"] = json!(30);
    let reply = admin.post("", &r).await;
    assert_eq!(reply["janus"], "success");
    assert_eq!(reply["timeout"], 30);
    assert_eq!(admin.post("", &req("get_status")).await["status"]["session_timeout"], 30);
    assert_eq!(http.get("/info").await.json()["session-timeout"], 30);
    r["timeout"] = json!("x");
    assert_error(&admin.post("", &r).await, 467);
    // Per-session timeout.
    r["timeout"] = json!(-1);
    assert_eq!(admin.post(&format!("/{a}"), &r).await["janus"], "success");
    r["timeout"] = json!(-2);
    assert_error(&admin.post(&format!("/{a}"), &r).await, 467);
    // destroy_session.
    let d = admin.post(&format!("/{b}"), &req("destroy_session")).await;
    assert_eq!(d["janus"], "success");
    let k = http.post(&format!("/{b}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
    assert_error(&k, 458);
}

#[tokio::test]
async fn per_session_timeout_override_expires_the_session() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let mut r = req("set_session_timeout");
    r["timeout"] = json!(1);
    assert_eq!(admin.post(&format!("/{sid}"), &r).await["janus"], "success");
    let ev = ws.recv().await;
    assert_eq!(ev, json!({"janus": "timeout", "session_id": sid}));
}

#[tokio::test]
async fn accept_new_sessions_and_log_level() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    let http = gw.http();
    let mut r = req("accept_new_sessions");
    r["accept"] = json!(false);
    assert_eq!(admin.post("", &r).await["accept"], false);
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c"})).await, 472);
    r["accept"] = json!(true);
    admin.post("", &r).await;
    http.create().await;
    r["accept"] = json!("yes");
    assert_error(&admin.post("", &r).await, 467);
    let mut l = req("set_log_level");
    l["level"] = json!(5);
    let reply = admin.post("", &l).await;
    assert_eq!(reply["level"], 5);
    assert_eq!(admin.post("", &req("get_status")).await["status"]["log_level"], 5);
    l["level"] = json!(99);
    assert_error(&admin.post("", &l).await, 467);
}

#[tokio::test]
async fn token_calls_fail_when_token_auth_is_off() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    for verb in ["list_tokens", "add_token", "remove_token", "allow_token", "disallow_token"] {
        let mut r = req(verb);
        r["token"] = json!("t");
        r["plugins"] = json!([]);
        let reply = admin.post("", &r).await;
        assert_error(&reply, 490);
        assert_eq!(reply["error"]["reason"], "Stored-Token based authentication disabled");
    }
}

#[tokio::test]
async fn admin_over_websocket() {
    let gw = Gateway::start();
    let mut ws = gw.admin_ws().await;
    assert_eq!(ws.protocol.as_deref(), Some("janus-admin-protocol"));
    assert_eq!(ws.call(json!({"janus": "ping"})).await["janus"], "pong");
    assert_error(&ws.call(json!({"janus": "list_sessions"})).await, 403);
    let sid = gw.http().create().await;
    let list = ws.call(req("list_sessions")).await;
    assert_eq!(list["sessions"], json!([sid]));
    let handles = ws.call({
        let mut r = req("list_handles");
        r["session_id"] = json!(sid);
        r
    });
    assert_eq!(handles.await["handles"], json!([]));
}

/// `get_status` has Janus's fields, and every `set_*` changes what it reports, with Janus's
/// replies and errors; the log's time and colours change at once.
#[tokio::test]
async fn settings_change_at_run_time_as_in_janus() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    let status = admin.post("", &req("get_status")).await["status"].clone();
    for (key, want) in [
        ("log_timestamps", json!(true)),
        ("log_colors", json!(false)),
        ("locking_debug", json!(false)),
        ("refcount_debug", json!(false)),
        ("libnice_debug", json!(false)),
        ("min_nack_queue", json!(200)),
        ("nack-optimizations", json!(false)),
        ("no_media_timer", json!(1)),
        ("slowlink_threshold", json!(0)),
    ] {
        assert_eq!(status[key], want, "{key}: {status}");
    }
    // Each setter: its reply, then what get_status says.
    for (verb, fields, reply_key, replied) in [
        ("set_min_nack_queue", json!({"min_nack_queue": 300}), "min_nack_queue", json!(300)),
        ("set_min_nack_queue", json!({"min_nack_queue": 3000}), "min_nack_queue", json!(1000)),
        ("set_no_media_timer", json!({"no_media_timer": 0}), "no_media_timer", json!(0)),
        ("set_slowlink_threshold", json!({"slowlink_threshold": 4}), "slowlink_threshold", json!(4)),
        ("set_locking_debug", json!({"debug": true}), "locking_debug", json!(false)),
        ("set_refcount_debug", json!({"debug": true}), "refcount_debug", json!(false)),
        ("set_libnice_debug", json!({"debug": true}), "libnice_debug", json!(true)),
        ("set_libnice_debug", json!({"debug": false}), "libnice_debug", json!(false)),
        ("set_nack_optimizations", json!({"nack_optimizations": true}), "nack-optimizations", json!(false)),
    ] {
        let r = admin.post("", &admin_request(verb, fields)).await;
        assert_eq!(r["janus"], "success", "{verb}: {r}");
        assert_eq!(r[reply_key], replied, "{verb}: {r}");
        let status = admin.post("", &req("get_status")).await;
        assert_eq!(status["status"][reply_key], replied, "{verb}: {status}");
    }
    assert_eq!(gw.http().get("/info").await.json()["min-nack-queue"], 1000);
    for (verb, fields, code, reason) in [
        ("set_locking_debug", json!({}), 456, "Missing mandatory element (debug)"),
        ("set_locking_debug", json!({"debug": 1}), 467, "Invalid element type (debug should be a boolean)"),
        (
            "set_libnice_debug",
            json!({"debug": "on"}),
            467,
            "Invalid element type (debug should be a boolean)",
        ),
        (
            "set_min_nack_queue",
            json!({"min_nack_queue": -1}),
            467,
            "Invalid element type (min_nack_queue should be a positive integer)",
        ),
        (
            "set_slowlink_threshold",
            json!({"slowlink_threshold": "x"}),
            467,
            "Invalid element type (slowlink_threshold should be a positive integer)",
        ),
        ("set_log_timestamps", json!({}), 456, "Missing mandatory element (timestamps)"),
        (
            "set_log_colors",
            json!({"colors": "yes"}),
            467,
            "Invalid element type (colors should be a boolean)",
        ),
        (
            "custom_logline",
            json!({"line": "x", "level": -1}),
            467,
            "Invalid element type (level should be a positive integer)",
        ),
    ] {
        let r = admin.post("", &admin_request(verb, fields)).await;
        assert_error(&r, code);
        assert_eq!(r["error"]["reason"], reason, "{verb}: {r}");
    }
    // The log: a line with the time, then without it, then in colour.
    let logline = |line: &str| admin_request("custom_logline", json!({"line": line, "level": 4}));
    assert_eq!(admin.post("", &logline("timed-line")).await["janus"], "success");
    let line = |log: String, needle: &str| log.lines().find(|l| l.contains(needle)).unwrap().to_owned();
    assert!(line(gw.wait_log("timed-line"), "timed-line").starts_with("20"), "no time");
    let off = admin.post("", &admin_request("set_log_timestamps", json!({"timestamps": false}))).await;
    assert_eq!(off["log_timestamps"], false, "{off}");
    admin.post("", &logline("untimed-line")).await;
    let untimed = line(gw.wait_log("untimed-line"), "untimed-line");
    assert!(untimed.trim_start().starts_with("INFO"), "{untimed}");
    let on = admin.post("", &admin_request("set_log_colors", json!({"colors": true}))).await;
    assert_eq!(on["log_colors"], true, "{on}");
    admin.post("", &logline("coloured-line")).await;
    assert!(line(gw.wait_log("coloured-line"), "coloured-line").contains('\u{1b}'), "no colour");
    // Level 0 logs nothing; the level beyond 7 is info.
    admin.post("", &admin_request("custom_logline", json!({"line": "silent-line", "level": 0}))).await;
    admin.post("", &admin_request("custom_logline", json!({"line": "loud-line", "level": 99}))).await;
    assert!(!gw.wait_log("loud-line").contains("silent-line"));
    let status = admin.post("", &req("get_status")).await["status"].clone();
    assert_eq!((status["log_timestamps"].clone(), status["log_colors"].clone()), (json!(false), json!(true)));
}

/// `query_transport` reaches the HTTP and WebSockets transports: `connections` counts the open
/// ones, `configure` changes the JSON style of the replies; the modules Portunus has none of
/// (event handlers, loggers) are not found; `custom_event` is checked; unknown requests are
/// unhandled at this path (457), as in Janus.
#[tokio::test]
async fn transports_answer_queries_and_change_their_json() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    let query = |transport: &str, request: Value| {
        admin_request("query_transport", json!({"transport": transport, "request": request}))
    };
    let ws = gw.ws().await;
    let r = admin.post("", &query("janus.transport.websockets", json!({"request": "connections"}))).await;
    assert_eq!(r["response"], json!({"result": 200, "connections": 1}), "{r}");
    ws.close().await;
    let r = admin.post("", &query("janus.transport.http", json!({"request": "connections"}))).await;
    assert_eq!(r["response"]["result"], 200, "{r}");
    // This request's own connection is open on the admin listener (the last ones may still be
    // closing), and it is being served.
    assert!(r["response"]["connections"]["admin_http"].as_u64().is_some_and(|n| n >= 1), "{r}");
    assert!(r["response"]["connections"]["http"].is_u64(), "{r}");
    assert_eq!(r["response"]["messages"], 1, "{r}");
    // JSON styles: plain, indented, then back to compact.
    let raw = |body: Value| {
        let admin = gw.admin_http();
        async move {
            String::from_utf8(admin.request("POST", "", &[], body.to_string().as_bytes()).await.body).unwrap()
        }
    };
    let r = admin
        .post("", &query("janus.transport.http", json!({"request": "configure", "json": "plain"})))
        .await;
    assert_eq!(r["response"], json!({"result": 200}), "{r}");
    let plain = raw(req("get_status")).await;
    assert!(plain.starts_with("{\"janus\": \"success\", ") && !plain.contains('\n'), "{plain}");
    raw(query("janus.transport.http", json!({"request": "configure", "json": "indented"}))).await;
    assert!(raw(req("get_status")).await.contains("\n  "), "not indented");
    let r: Value = serde_json::from_str(
        &raw(query(
            "janus.transport.http",
            json!({"request": "configure", "json": "compact", "events": true}),
        ))
        .await,
    )
    .unwrap();
    assert_eq!(r["response"]["notes"], json!(["Event handlers disabled at the core level"]), "{r}");
    assert!(raw(req("get_status")).await.starts_with("{\"janus\":\"success\","));
    let r = admin
        .post("", &query("janus.transport.http", json!({"request": "configure", "json": "weird"})))
        .await;
    assert_eq!(r["response"]["notes"], json!(["Ignored unsupported indentation format"]), "{r}");
    // The transport's own errors, in the response.
    let r = admin.post("", &query("janus.transport.http", json!({"request": "bogus"}))).await;
    assert_eq!(r["response"], json!({"error_code": 411, "error": "Unknown request 'bogus'"}), "{r}");
    let r =
        admin.post("", &admin_request("query_transport", json!({"transport": "janus.transport.http"}))).await;
    assert_eq!(
        r["response"],
        json!({"error_code": 412, "error": "Missing mandatory element (request)"}),
        "{r}"
    );
    // The core's errors.
    for (verb, fields, code, reason) in [
        ("query_transport", json!({"transport": "janus.transport.nope"}), 460, "Invalid transport"),
        ("query_transport", json!({"request": {}}), 456, "Missing mandatory element (transport)"),
        (
            "query_transport",
            json!({"transport": "janus.transport.http", "request": 1}),
            467,
            "Invalid element type (request should be an object)",
        ),
        (
            "query_eventhandler",
            json!({"handler": "janus.eventhandler.sampleevh"}),
            460,
            "Invalid event handler",
        ),
        ("query_logger", json!({"logger": "janus.logger.jsonlog", "request": {}}), 460, "Invalid logger"),
        ("custom_event", json!({"schema": "my.schema"}), 456, "Missing mandatory element (data)"),
        (
            "custom_event",
            json!({"schema": "my.schema", "data": 3}),
            467,
            "Invalid element type (data should be an object)",
        ),
        ("bogus_thing", json!({}), 457, "Unhandled request 'bogus_thing' at this path"),
    ] {
        let r = admin.post("", &admin_request(verb, fields)).await;
        assert_error(&r, code);
        assert_eq!(r["error"]["reason"], reason, "{verb}: {r}");
    }
    let r = admin
        .post("", &admin_request("custom_event", json!({"schema": "my.schema", "data": {"a": 1}})))
        .await;
    assert_eq!(r, json!({"janus": "success", "transaction": "a"}));
    assert_eq!(admin.post("", &req("loops_info")).await["loops"], json!([]));
}

/// `resolve_address` and `test_stun` (against a STUN server in this test), as Janus answers.
#[tokio::test]
async fn addresses_resolve_and_stun_servers_are_tested() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    let r = admin.post("", &admin_request("resolve_address", json!({"address": "127.0.0.1"}))).await;
    assert_eq!(r["ip"], "127.0.0.1", "{r}");
    assert!(r["elapsed"].is_u64(), "{r}");
    let r = admin.post("", &admin_request("resolve_address", json!({"address": "localhost"}))).await;
    assert!(r["ip"] == "127.0.0.1" || r["ip"] == "::1", "{r}");
    let r =
        admin.post("", &admin_request("resolve_address", json!({"address": "no.such.host.invalid"}))).await;
    assert_error(&r, 490);
    assert_eq!(r["error"]["reason"], "Could not resolve address");
    // A STUN server that maps every asker to 203.0.113.9 and its own port.
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            if n < 20 || buf[..2] != [0, 1] {
                continue;
            }
            let cookie = [0x21u8, 0x12, 0xa4, 0x42];
            let mut r = vec![0x01, 0x01, 0, 12];
            r.extend_from_slice(&buf[4..20]);
            r.extend_from_slice(&[0, 0x20, 0, 8, 0, 1]);
            r.extend_from_slice(&(from.port() ^ 0x2112).to_be_bytes());
            r.extend([203u8, 0, 113, 9].iter().zip(cookie).map(|(b, m)| b ^ m));
            let _ = server.send_to(&r, from);
        }
    });
    let local = crate::harness::quiet_port();
    let r = admin
        .post(
            "",
            &admin_request("test_stun", json!({"address": "127.0.0.1", "port": port, "localport": local})),
        )
        .await;
    assert_eq!(r["janus"], "success", "{r}");
    assert_eq!(
        (r["public_ip"].clone(), r["public_port"].clone()),
        (json!("203.0.113.9"), json!(local)),
        "{r}"
    );
    // A server that never answers: Janus's 5 s, then an error.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let fields = json!({"address": "127.0.0.1", "port": silent.local_addr().unwrap().port()});
    let r = admin.post("", &admin_request("test_stun", fields)).await;
    assert_error(&r, 490);
    assert_eq!(r["error"]["reason"], "STUN request failed");
    for (fields, code) in [
        (json!({"address": "127.0.0.1"}), 456),
        (json!({"address": "127.0.0.1", "port": 70000}), 467),
        (json!({"port": 3478}), 456),
        (json!({"address": "no.such.host.invalid", "port": 3478}), 490),
    ] {
        assert_error(&admin.post("", &admin_request("test_stun", fields)).await, code);
    }
}
