//! The Janus API and the admin API over MQTT (Janus's `janus.transport.mqtt`), through a real
//! broker (mosquitto) with its own clients (mosquitto_pub, mosquitto_sub).

use serde_json::{json, Value};

use crate::harness::{assert_error, next_on, Conf, Gateway, Mosquitto};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_published_to_the_broker_are_answered_on_the_publish_topic() {
    let Some(broker) = Mosquitto::start("the MQTT transport test").await else { return };
    let file = format!(
        "general: {{ enabled = true, url = \"tcp://127.0.0.1:{}\", client_id = \"portunus-transport\",\n\
         subscribe_topic = \"to-janus\", publish_topic = \"from-janus\", json = \"compact\" }}\n\
         admin: {{ admin_enabled = true, subscribe_topic = \"to-janus-admin\", publish_topic = \"from-janus-admin\" }}\n\
         status: {{ enabled = true, topic = \"janus/status\", connect_message = \"online\",\n\
         disconnect_message = \"offline\", retain = true }}\n",
        broker.port
    );
    let extra = vec![("janus.transport.mqtt.jcfg".to_owned(), file)];
    let mut gw = Gateway::with(Conf { extra, ..Conf::default() });
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
    // The gateway goes without a DISCONNECT: the broker publishes the will.
    gw.terminate();
    // (Within the broker's keep-alive.)
    until_line(&mut lines, "janus/status offline", 60).await;
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
    let file = format!(
        "general: {{ enabled = true, url = \"ssl://127.0.0.1:{}\", client_id = \"portunus-tls\",\n\
         subscribe_topic = \"to-janus\", publish_topic = \"from-janus\", json = \"compact\",\n\
         ssl_enabled = true, cacertfile = \"{}\", certfile = \"{}\", keyfile = \"{}\" }}\n\
         status: {{ enabled = true, topic = \"janus/status\", connect_message = \"online\", retain = true }}\n",
        tls.port, tls.ca, tls.client_cert, tls.client_key
    );
    let extra = vec![("janus.transport.mqtt.jcfg".to_owned(), file)];
    let _gw = Gateway::with(Conf { extra, ..Conf::default() });
    let (_sub, mut lines) = broker.subscribe("#");
    until_line(&mut lines, "janus/status online", 10).await;
    let pong = call(&broker, &mut lines, json!({"janus": "ping", "transaction": "p"})).await;
    assert_eq!(pong["janus"], "pong", "{pong}");
}

/// Reads the subscriber's lines until `want` comes, each within `secs` seconds.
async fn until_line(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>, want: &str, secs: u64) {
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(secs), lines.recv()).await;
        if line.unwrap_or_else(|_| panic!("{want} within {secs} s")).expect("runs") == want {
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
