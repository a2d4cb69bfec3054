//! `api_secret` and stored-token authentication on every transport.

use serde_json::{json, Value};

use crate::harness::{assert_error, Conf, Gateway};

#[tokio::test]
async fn api_secret_on_http_ws_and_long_poll() {
    let gw = Gateway::with(Conf::general("api_secret = \"s3cret\""));
    let http = gw.http();
    assert_eq!(http.get("/info").await.json()["api_secret"], true);
    // info and ping need no secret.
    assert_eq!(http.post("", &json!({"janus": "ping", "transaction": "p"})).await["janus"], "pong");
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c"})).await, 403);
    let wrong = json!({"janus": "create", "transaction": "c", "apisecret": "nope"});
    assert_error(&http.post("", &wrong).await, 403);
    let r = http.post("", &json!({"janus": "create", "transaction": "c", "apisecret": "s3cret"})).await;
    let sid = r["data"]["id"].as_u64().unwrap();
    let ka = http.post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k"})).await;
    assert_error(&ka, 403);
    assert_eq!(ka["session_id"], sid);
    let ka = http
        .post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k", "apisecret": "s3cret"}))
        .await;
    assert_eq!(ka["janus"], "ack");
    let poll = http.get(&format!("/{sid}")).await;
    assert_eq!(poll.status, 403);
    assert!(poll.body.is_empty());
    assert_eq!(http.get(&format!("/{sid}?apisecret=nope")).await.status, 403);
    // With the secret, an unknown session is 404.
    assert_eq!(http.get("/999?apisecret=s3cret").await.status, 404);
    let mut ws = gw.ws().await;
    assert_error(&ws.call(json!({"janus": "create"})).await, 403);
    let r = ws.call(json!({"janus": "create", "apisecret": "s3cret"})).await;
    assert_eq!(r["janus"], "success");
}

fn admin(verb: &str, extra: Value) -> Value {
    let mut r = json!({"janus": verb, "transaction": "a", "admin_secret": "janusoverlord"});
    if let (Value::Object(r), Value::Object(extra)) = (&mut r, extra) {
        r.extend(extra);
    }
    r
}

#[tokio::test]
async fn stored_tokens() {
    let gw = Gateway::with(Conf::general("token_auth = true"));
    let http = gw.http();
    let adm = gw.admin_http();
    assert_eq!(http.get("/info").await.json()["auth_token"], true);
    assert_eq!(adm.post("", &admin("get_status", json!({}))).await["status"]["token_auth"], true);
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c"})).await, 403);
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c", "token": "tok1"})).await, 403);
    let added = adm.post("", &admin("add_token", json!({"token": "tok1"}))).await;
    assert_eq!(added["janus"], "success", "{added}");
    assert!(added["data"]["plugins"].is_array());
    let list = adm.post("", &admin("list_tokens", json!({}))).await;
    assert_eq!(list["data"]["tokens"][0]["token"], "tok1");
    let r = http.post("", &json!({"janus": "create", "transaction": "c", "token": "tok1"})).await;
    let sid = r["data"]["id"].as_u64().expect("create with a stored token");
    assert_eq!(http.get(&format!("/{sid}")).await.status, 403);
    let mut ws = gw.ws().await;
    assert_eq!(ws.call(json!({"janus": "create", "token": "tok1"})).await["janus"], "success");
    // Unknown plugins cannot be granted; unknown tokens are 470 (490 on remove, as in Janus).
    let r =
        adm.post("", &admin("allow_token", json!({"token": "tok1", "plugins": ["janus.plugin.nope"]}))).await;
    assert_error(&r, 467);
    assert_error(&adm.post("", &admin("allow_token", json!({"token": "tok1", "plugins": []}))).await, 467);
    assert_error(&adm.post("", &admin("add_token", json!({}))).await, 456);
    assert_error(&adm.post("", &admin("add_token", json!({"token": "t", "plugins": "x"}))).await, 467);
    let r = adm.post("", &admin("remove_token", json!({"token": "zzz"}))).await;
    assert_error(&r, 490);
    assert_eq!(r["error"]["reason"], "Error removing token");
    let r = adm.post("", &admin("remove_token", json!({"token": "tok1"}))).await;
    assert_eq!(r["janus"], "success");
    let ka = http
        .post(&format!("/{sid}"), &json!({"janus": "keepalive", "transaction": "k", "token": "tok1"}))
        .await;
    assert_error(&ka, 403);
}

#[tokio::test]
async fn secret_or_token_either_is_enough() {
    let gw = Gateway::with(Conf::general("api_secret = \"s3cret\"\ntoken_auth = true"));
    let http = gw.http();
    let adm = gw.admin_http();
    adm.post("", &admin("add_token", json!({"token": "tok"}))).await;
    let by_secret =
        http.post("", &json!({"janus": "create", "transaction": "c", "apisecret": "s3cret"})).await;
    assert_eq!(by_secret["janus"], "success");
    let by_token = http.post("", &json!({"janus": "create", "transaction": "c", "token": "tok"})).await;
    assert_eq!(by_token["janus"], "success");
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c"})).await, 403);
}
