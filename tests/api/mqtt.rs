//! The Janus API and the admin API over MQTT (Janus's `janus.transport.mqtt`), through a real
//! broker (mosquitto) with its own clients (mosquitto_pub, mosquitto_sub).

use serde_json::{json, Value};

use crate::harness::{assert_error, next_on, Conf, Gateway, Mosquitto, V5Message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_published_to_the_broker_are_answered_on_the_publish_topic() {
    let Some((broker, mut log)) = Mosquitto::start_logged("the MQTT transport test", "").await else {
        return;
    };
    let conf = || {
        transport(
            &format!("url = \"tcp://127.0.0.1:{}\", client_id = \"portunus-transport\"", broker.port),
            ADMIN,
            "disconnect_message = \"offline\"",
        )
    };
    let mut gw = Gateway::with(conf());
    let (_sub, mut lines) = broker.subscribe("#");
    // The status is retained and published after the subscriptions: once it is heard, the
    // gateway takes requests.
    until_line(&mut lines, "janus/status online", 10).await;
    let info = call(&broker, &mut lines, json!({"janus": "info", "transaction": "i"})).await;
    assert_eq!(info["transports"]["janus.transport.mqtt"]["name"], "JANUS MQTT transport plugin", "{info}");
    let created = call(&broker, &mut lines, json!({"janus": "create", "transaction": "c"})).await;
    assert_eq!(created["transaction"], "c", "{created}");
    let sid = created["data"]["id"].as_u64().expect("a session");
    let attach =
        json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest", "transaction": "a"});
    let hid = call(&broker, &mut lines, attach).await["data"]["id"].as_u64().expect("a handle");
    // The plugin's answer is an event on the same topic, after the ack.
    let message = json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": {"audio": true}, "transaction": "m"});
    assert_eq!(call(&broker, &mut lines, message).await["janus"], "ack");
    let event = next_on(&mut lines, "from-janus").await;
    assert_eq!(
        (&event["sender"], &event["plugindata"]["data"]["result"]),
        (&json!(hid), &json!("ok")),
        "{event}"
    );
    // Bad input gets Janus's errors.
    broker.publish("to-janus", "{bad");
    assert_error(&next_on(&mut lines, "from-janus").await, 454);
    assert_error(
        &call(&broker, &mut lines, json!({"janus": "keepalive", "session_id": 42, "transaction": "k"})).await,
        458,
    );
    // The admin API on its own topics.
    let list = json!({"janus": "list_sessions", "admin_secret": "janusoverlord", "transaction": "l"});
    broker.publish("to-janus-admin", &list.to_string());
    let listed = next_on(&mut lines, "from-janus-admin").await;
    assert_eq!(listed["sessions"], json!([sid]), "{listed}");
    // Stopped, the gateway says goodbye itself and disconnects, as Janus's: the broker logs a
    // DISCONNECT (not a connection lost, which would publish the will).
    assert!(gw.terminate().success());
    until_line(&mut lines, "janus/status offline", 10).await;
    until_line(&mut log, "Client portunus-transport disconnected.", 10).await;
    // Killed, it goes without a DISCONNECT: the broker publishes the will.
    let gw = Gateway::with(conf());
    until_line(&mut lines, "janus/status online", 10).await;
    drop(gw);
    until_line(&mut lines, "janus/status offline", 10).await;
    until_line(&mut log, "Client portunus-transport closed its connection.", 10).await;
}

/// MQTT 5, as Janus 1.1.2 answers through mosquitto (checked side by side): a Janus API
/// request's answers go to its response topic with its correlation data, the user properties
/// `proxy_transaction_user_properties` names (a request's property whose name starts with one,
/// under that name) and those of `add_transaction_user_properties`; a request without a
/// response topic is answered on the publish topic, with the added properties. The plugin's
/// event after an ack goes where the request asked too (in Janus it may or may not, as its
/// threads race). The admin API answers on its topic, without properties, as Janus's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_5_answers_go_where_their_request_asks() {
    let Some(broker) = Mosquitto::start("the MQTT 5 transport test").await else { return };
    let general = format!(
        "url = \"tcp://127.0.0.1:{}\", client_id = \"portunus-v5\", mqtt_version = \"5\",\n\
         proxy_transaction_user_properties = [\"keep\", \"pre\"],\n\
         add_transaction_user_properties = ([\"added\", \"yes\"], [\"more\", \"2\"])",
        broker.port
    );
    let _gw = Gateway::with(transport(&general, ADMIN, ""));
    let (_sub, mut lines) = broker.subscribe_v5("#");
    V5Message::next_with(&mut lines, "online").await;
    let asking = |correlation: &'static str| -> Vec<Vec<&'static str>> {
        vec![vec!["response-topic", "my/replies"], vec!["correlation-data", correlation]]
    };
    let publish = |payload: &str, properties: &[Vec<&str>]| {
        let properties: Vec<&[&str]> = properties.iter().map(Vec::as_slice).collect();
        broker.publish_v5("to-janus", payload, &properties);
    };
    let mut create = asking("abc123");
    create.extend([
        vec!["user-property", "keep", "kv"],
        vec!["user-property", "prefixed", "pv"],
        vec!["user-property", "other", "ov"],
    ]);
    publish(r#"{"janus":"create","transaction":"c1"}"#, &create);
    let created = V5Message::next_with(&mut lines, r#""transaction":"c1""#).await;
    assert_eq!(
        (created.topic.as_str(), created.correlation.as_str(), created.user.as_str()),
        ("my/replies", "abc123", "keep:kv pre:pv added:yes more:2"),
        "{created:?}"
    );
    let sid = created.json()["data"]["id"].as_u64().expect("a session");
    let attach = format!(
        r#"{{"janus":"attach","session_id":{sid},"plugin":"janus.plugin.echotest","transaction":"a1"}}"#
    );
    publish(&attach, &asking("corr-a"));
    let attached = V5Message::next_with(&mut lines, r#""transaction":"a1""#).await;
    assert_eq!((attached.topic.as_str(), attached.correlation.as_str()), ("my/replies", "corr-a"));
    let hid = attached.json()["data"]["id"].as_u64().expect("a handle");
    let message = format!(
        r#"{{"janus":"message","session_id":{sid},"handle_id":{hid},"body":{{"audio":true}},"transaction":"m1"}}"#
    );
    publish(&message, &asking("corr-m"));
    for kind in ["ack", "event"] {
        let answer = V5Message::next_with(&mut lines, r#""transaction":"m1""#).await;
        assert_eq!(answer.json()["janus"], kind, "{answer:?}");
        assert_eq!(
            (answer.topic.as_str(), answer.correlation.as_str()),
            ("my/replies", "corr-m"),
            "{answer:?}"
        );
    }
    // No response topic: the publish topic, with the added properties.
    publish(r#"{"janus":"ping","transaction":"p0"}"#, &[]);
    let pong = V5Message::next_with(&mut lines, r#""transaction":"p0""#).await;
    assert_eq!(
        (pong.topic.as_str(), pong.correlation.as_str(), pong.user.as_str()),
        ("from-janus", "", "added:yes more:2")
    );
    // A response topic that names no topic (a filter) is not published to.
    publish(r#"{"janus":"ping","transaction":"p1"}"#, &[vec!["response-topic", "my/#"]]);
    assert_eq!(V5Message::next_with(&mut lines, r#""transaction":"p1""#).await.topic, "from-janus");
    // The admin API: its own topic, nothing carried back.
    let ping = r#"{"janus":"ping","transaction":"ap","admin_secret":"janusoverlord"}"#;
    broker.publish_v5(
        "to-janus-admin",
        ping,
        &[&["response-topic", "my/admin"], &["correlation-data", "corr-admin"]],
    );
    let admin = V5Message::next_with(&mut lines, r#""transaction":"ap""#).await;
    assert_eq!(
        (admin.topic.as_str(), admin.correlation.as_str(), admin.user.as_str()),
        ("from-janus-admin", "", "")
    );
    // Errors go where the request asked too; bad JSON (no transaction to follow) is answered
    // on the publish topic (Janus 1.1.2 answers neither in MQTT 5).
    let keepalive = r#"{"janus":"keepalive","session_id":1,"transaction":"k1"}"#;
    publish(keepalive, &asking("corr-k"));
    let error = V5Message::next_with(&mut lines, r#""transaction":"k1""#).await;
    assert_eq!((error.topic.as_str(), error.correlation.as_str()), ("my/replies", "corr-k"));
    assert_error(&error.json(), 458);
    publish("{bad", &asking("corr-bad"));
    let error = V5Message::next_with(&mut lines, r#""code":454"#).await;
    assert_eq!(error.topic, "from-janus");
}

/// MQTT 5 brokers say the longest packet they take (mosquitto's `max_packet_size`): a reply
/// longer than that (`info`'s) is dropped and logged, where sending it would make the broker
/// end the connection (and, sent again after each reconnection, hold up what follows); the
/// next reply goes at once on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_5_replies_longer_than_the_broker_takes_are_dropped() {
    let limit = "max_packet_size 2000\n";
    let Some((broker, mut log)) = Mosquitto::start_logged("the MQTT 5 packet size test", limit).await else {
        return;
    };
    let general = format!(
        "url = \"tcp://127.0.0.1:{}\", client_id = \"portunus-small\", mqtt_version = 5",
        broker.port
    );
    let _gw = Gateway::with(transport(&general, "", ""));
    let (_sub, mut lines) = broker.subscribe_v5("#");
    V5Message::next_with(&mut lines, "online").await;
    broker.publish_v5("to-janus", r#"{"janus":"info","transaction":"big"}"#, &[]);
    broker.publish_v5("to-janus", r#"{"janus":"ping","transaction":"small"}"#, &[]);
    let pong = V5Message::next_with(&mut lines, r#""transaction":"small""#).await;
    assert_eq!(pong.json()["janus"], "pong");
    // The gateway's client never left the broker (each of its comings is logged).
    while let Ok(line) = log.try_recv() {
        assert!(!line.contains("Client portunus-small"), "the connection went: {line}");
    }
}

/// Over TLS with the files its configuration names (`ssl_enabled`, `cacertfile`, `certfile`,
/// `keyfile`): the broker's certificate (for its address) is verified against the test CA
/// alone, and the broker asks for the client certificate the gateway shows. A request
/// published on the broker's plain listener is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transport_speaks_tls_with_the_files_it_is_given() {
    let Some((broker, tls)) = Mosquitto::start_tls("the MQTT transport TLS test", "127.0.0.1").await else {
        return;
    };
    let general = format!(
        "url = \"ssl://127.0.0.1:{}\", client_id = \"portunus-tls\",\n\
         ssl_enabled = true, cacertfile = \"{}\", certfile = \"{}\", keyfile = \"{}\"",
        tls.port, tls.ca, tls.client_cert, tls.client_key
    );
    let _gw = Gateway::with(transport(&general, "", ""));
    let (_sub, mut lines) = broker.subscribe("#");
    until_line(&mut lines, "janus/status online", 10).await;
    let pong = call(&broker, &mut lines, json!({"janus": "ping", "transaction": "p"})).await;
    assert_eq!(pong["janus"], "pong", "{pong}");
}

/// The admin API's section of the tests' transports.
const ADMIN: &str =
    "admin: { admin_enabled = true, subscribe_topic = \"to-janus-admin\", publish_topic = \"from-janus-admin\" }\n";

/// A gateway's configuration with the MQTT transport: the Janus API on `to-janus` and
/// `from-janus` (compact JSON) with `general`'s settings besides, `admin` (a section, or
/// nothing), and the status (`online` on `janus/status`, retained) with `status`'s settings.
fn transport(general: &str, admin: &str, status: &str) -> Conf {
    let file = format!(
        "general: {{ enabled = true, subscribe_topic = \"to-janus\", publish_topic = \"from-janus\",\n\
         json = \"compact\", {general} }}\n{admin}\
         status: {{ enabled = true, topic = \"janus/status\", connect_message = \"online\", retain = true, {status} }}\n"
    );
    Conf { extra: vec![("janus.transport.mqtt.jcfg".to_owned(), file)], ..Conf::default() }
}

/// Reads the lines (a subscriber's, or a broker's log) until `want` comes, each within `secs` seconds.
async fn until_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>, want: &str, secs: u64) {
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(secs), lines.recv()).await;
        let line = line.unwrap_or_else(|_| panic!("{want} within {secs} s")).expect("runs");
        // (A broker's log line has its time first.)
        if line == want || line.split_once(": ").is_some_and(|(_, logged)| logged == want) {
            return;
        }
    }
}

/// Publishes a request on `to-janus` and returns the next message on `from-janus`.
async fn call(
    broker: &Mosquitto,
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    request: Value,
) -> Value {
    broker.publish("to-janus", &request.to_string());
    next_on(lines, "from-janus").await
}
