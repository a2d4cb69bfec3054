//! `api_secret`, stored-token and signed-token authentication on every transport.

use serde_json::{json, Value};

use crate::harness::{assert_error, Conf, Gateway, PluginClient};

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

/// A token signed as Janus's `token_auth_secret` tokens are: `<expiry>,<realm>,<descriptors>`
/// and the base64 HMAC-SHA1 of that, valid for an hour (or expired in 1970).
fn signed(secret: &str, realm: &str, descriptors: &[&str], expired: bool) -> String {
    use aws_lc_rs::hmac;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expiry = if expired { 1000 } else { now + 3600 };
    let data =
        [expiry.to_string(), realm.to_owned()].into_iter().chain(descriptors.iter().map(|d| d.to_string()));
    let data = data.collect::<Vec<_>>().join(",");
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    format!("{data}:{}", data_encoding::BASE64.encode(hmac::sign(&key, data.as_bytes()).as_ref()))
}

/// `token_auth_secret`: tokens are signed by the application and checked, not stored; the
/// answers are janus-ref's (Janus 1.1.2 with `token_auth_secret = "janus"`), VideoRoom's
/// `signed_tokens` rooms included.
#[tokio::test]
async fn signed_tokens_as_janus_checks_them() {
    let gw = Gateway::with(Conf::general("token_auth = true\ntoken_auth_secret = \"janus\""));
    let http = gw.http();
    let adm = gw.admin_http();
    assert_eq!(http.get("/info").await.json()["auth_token"], true);
    let good = signed("janus", "janus", &["janus.plugin.videoroom", "janus.plugin.echotest"], false);
    let create = |token: &str| json!({"janus": "create", "transaction": "c", "token": token});
    let unauthorized = "Unauthorized request (wrong or missing secret/token)";
    for bad in [
        signed("janus", "janus", &["janus.plugin.videoroom"], true),
        signed("other secret", "janus", &["janus.plugin.videoroom"], false),
        signed("janus", "janus.plugin.videoroom", &[], false),
        good.replace("janus.plugin.echotest", "janus.plugin.textroom"),
        "garbage".to_owned(),
    ] {
        let r = http.post("", &create(&bad)).await;
        assert_error(&r, 403);
        assert_eq!(r["error"]["reason"], unauthorized, "{bad}");
    }
    assert_error(&http.post("", &json!({"janus": "create", "transaction": "c"})).await, 403);
    let sid = http.post("", &create(&good)).await["data"]["id"].as_u64().expect("a session");
    let attach =
        |plugin: &str| json!({"janus": "attach", "transaction": "a", "plugin": plugin, "token": good});
    let r = http.post(&format!("/{sid}"), &attach("janus.plugin.textroom")).await;
    assert_error(&r, 405);
    assert_eq!(r["error"]["reason"], "Provided token can't access plugin 'janus.plugin.textroom'");
    let r = http.post(&format!("/{sid}"), &attach("janus.plugin.echotest")).await;
    assert_eq!(r["janus"], "success", "{r}");
    // No stored tokens in this mode.
    for verb in ["add_token", "list_tokens"] {
        let r = adm.post("", &admin(verb, json!({"token": "abc"}))).await;
        assert_error(&r, 490);
        assert_eq!(r["error"]["reason"], "Stored-Token based authentication disabled");
    }

    // A VideoRoom room with signed_tokens: joining needs a token of the plugin's realm that
    // names the room, before its pin is looked at.
    const VR: &str = "janus.plugin.videoroom";
    let mut owner = PluginClient::with_token(&gw, VR, Some(&good)).await;
    let room = json!({"request": "create", "room": 903, "signed_tokens": true, "pin": "p", "secret": "s"});
    assert_eq!(owner.request(room).await["videoroom"], "created");
    let join = |ptype: &str, token: Option<String>| {
        let mut j = json!({"request": "join", "room": 903, "ptype": ptype, "pin": "p"});
        if let Some(t) = token {
            j["token"] = json!(t);
        }
        if ptype == "subscriber" {
            j["streams"] = json!([{"feed": 1}]);
        }
        j
    };
    let room_token = |realm: &str, room: &str, expired: bool| Some(signed("janus", realm, &[room], expired));
    for (ptype, token) in [
        ("publisher", None),
        ("publisher", room_token(VR, "room=904", false)),
        ("publisher", room_token("janus", "room=903", false)),
        ("publisher", room_token(VR, "room=903", true)),
        ("subscriber", None),
    ] {
        let mut c = PluginClient::with_token(&gw, VR, Some(&good)).await;
        let r = c.send(join(ptype, token.clone()), None).await["plugindata"]["data"].clone();
        assert_eq!(
            (&r["error_code"], &r["error"]),
            (&json!(433), &json!("Unauthorized (wrong token)")),
            "{token:?}: {r}"
        );
    }
    let mut c = PluginClient::with_token(&gw, VR, Some(&good)).await;
    let mut no_pin = join("publisher", room_token(VR, "room=903", false));
    no_pin.as_object_mut().unwrap().remove("pin");
    let r = c.send(no_pin, None).await["plugindata"]["data"].clone();
    assert_eq!(
        (&r["error_code"], &r["error"]),
        (&json!(429), &json!("Missing mandatory element (pin)")),
        "{r}"
    );
    let mut typed = join("publisher", None);
    typed["token"] = json!(5);
    let r = c.send(typed, None).await["plugindata"]["data"].clone();
    assert_eq!(
        (&r["error_code"], &r["error"]),
        (&json!(430), &json!("Invalid element type (token should be a string)")),
        "{r}"
    );
    let token = Some(signed("janus", VR, &["x", "room=903", "y"], false));
    let r = c.send(join("publisher", token), None).await["plugindata"]["data"].clone();
    assert_eq!(r["videoroom"], "joined", "{r}");
}
