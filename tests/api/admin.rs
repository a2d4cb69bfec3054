//! The admin API over HTTP and WebSockets, with and without `admin_secret`.

use serde_json::{json, Value};

use crate::harness::{assert_error, Gateway};

fn req(verb: &str) -> Value {
    json!({"janus": verb, "transaction": "a", "admin_secret": "janusoverlord"})
}

#[tokio::test]
async fn info_and_ping_need_no_secret_the_rest_do() {
    let gw = Gateway::start();
    let admin = gw.admin_http();
    assert_eq!(admin.get("/info").await.json()["janus"], "server_info");
    assert_eq!(admin.get("/ping").await.json()["janus"], "pong");
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
    assert_error(&admin.post("", &req("nonsense")).await, 453);
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
