//! The Janus API and the admin API over RabbitMQ (Janus's `janus.transport.rabbitmq`), through
//! a real broker (rabbitmq-server) with pika as the client.

use std::io::BufRead;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::harness::{assert_error, tool_present, Conf, Gateway, Killed, RabbitMq};

/// Publishes `requests` to `to` with correlation ids `corr-0`, `corr-1`, … and returns the
/// first `want` messages heard on `from` (with their properties).
async fn exchange(broker: &RabbitMq, to: &str, from: &str, requests: &[Value], want: usize) -> Vec<Value> {
    exchange_as(broker, &[], to, from, requests, want).await
}

/// As [`exchange`], with the client's options (`--repeat`: publishes again every second until
/// something is heard).
async fn exchange_as(
    broker: &RabbitMq,
    options: &[&str],
    to: &str,
    from: &str,
    requests: &[Value],
    want: usize,
) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/api/rabbitmq_client.py");
    let mut client = Command::new("/usr/bin/python3");
    client.arg(script).args(options).arg(broker.port.to_string()).arg(to).arg(from);
    client.args(requests.iter().map(Value::to_string)).stdout(Stdio::piped());
    let mut client = Killed(client.spawn().expect("python3"));
    let out = client.0.stdout.take().expect("stdout");
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut heard = Vec::new();
    while heard.len() < want {
        let line = tokio::time::timeout(std::time::Duration::from_secs(15), lines.recv()).await;
        let line = line
            .expect("an answer within 15 s")
            .unwrap_or_else(|| panic!("the client ended; heard {heard:?}"));
        heard.push(serde_json::from_str(&line).expect("JSON"));
    }
    heard
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_on_the_incoming_queue_are_answered_with_their_correlation_id() {
    let Some(broker) = RabbitMq::start("the RabbitMQ transport test").await else { return };
    let pika =
        Command::new("/usr/bin/python3").args(["-c", "import pika"]).status().is_ok_and(|s| s.success());
    if !tool_present(pika, "apt-get install python3-pika", "the RabbitMQ transport test needs pika") {
        return;
    }
    // The queues exist before the gateway connects (a message to a missing queue is dropped).
    for queue in ["to-janus", "from-janus", "to-janus-admin", "from-janus-admin"] {
        let declared =
            broker.tool("amqp-declare-queue", &["-q", queue]).output().expect("amqp-declare-queue");
        assert!(declared.status.success(), "{declared:?}");
    }
    let file = format!(
        "general: {{ enabled = true, host = \"127.0.0.1\", port = {}, to_janus = \"to-janus\", from_janus = \"from-janus\", json = \"compact\" }}\n\
         admin: {{ admin_enabled = true, to_janus_admin = \"to-janus-admin\", from_janus_admin = \"from-janus-admin\" }}\n",
        broker.port
    );
    // A request waiting in the queue before the gateway comes: answered too (deliveries may
    // come as soon as the first queue is consumed, while the admin API's is being set up).
    let early = json!({"janus": "ping", "transaction": "early"}).to_string();
    let published =
        broker.tool("amqp-publish", &["-r", "to-janus", "-b", &early]).output().expect("amqp-publish");
    assert!(published.status.success(), "{published:?}");
    let extra = vec![("janus.transport.rabbitmq.jcfg".into(), file)];
    let _gw = Gateway::with(Conf { extra, ..Conf::default() });
    let requests =
        [json!({"janus": "info", "transaction": "i"}), json!({"janus": "create", "transaction": "c"})];
    let heard = exchange(&broker, "to-janus", "from-janus", &requests, 3).await;
    let pong =
        heard.iter().find(|m| m["body"]["transaction"] == "early").expect("the early request's answer");
    assert_eq!((&pong["body"]["janus"], &pong["correlation_id"]), (&json!("pong"), &Value::Null), "{pong}");
    let info = heard.iter().find(|m| m["body"]["transaction"] == "i").expect("the info");
    assert_eq!(
        (&info["correlation_id"], &info["reply_to"], &info["content_type"]),
        (&json!("corr-0"), &json!("Janus"), &json!("application/json")),
        "{info}"
    );
    assert_eq!(
        info["body"]["transports"]["janus.transport.rabbitmq"]["name"],
        "JANUS RabbitMQ transport plugin"
    );
    let created = heard.iter().find(|m| m["body"]["transaction"] == "c").expect("the create");
    assert_eq!(created["correlation_id"], "corr-1", "{created}");
    let sid = created["body"]["data"]["id"].as_u64().expect("a session");
    // A plugin's event comes after the ack, without a correlation id (it answers no request).
    let attach =
        json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest", "transaction": "a"});
    let hid = exchange(&broker, "to-janus", "from-janus", &[attach], 1).await[0]["body"]["data"]["id"]
        .as_u64()
        .expect("a handle");
    let message = json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": {"audio": true}, "transaction": "m"});
    let heard = exchange(
        &broker,
        "to-janus",
        "from-janus",
        &[message, json!({"janus": "keepalive", "session_id": 42, "transaction": "k"})],
        3,
    )
    .await;
    let kinds: Vec<(&Value, &Value)> =
        heard.iter().map(|m| (&m["body"]["janus"], &m["correlation_id"])).collect();
    assert!(kinds.contains(&(&json!("ack"), &json!("corr-0"))), "{heard:?}");
    assert!(kinds.contains(&(&json!("event"), &Value::Null)), "{heard:?}");
    let refused = heard.iter().find(|m| m["body"]["transaction"] == "k").expect("the keepalive's answer");
    assert_error(&refused["body"], 458);
    // The admin API on its own queues.
    let list = json!({"janus": "list_sessions", "admin_secret": "janusoverlord", "transaction": "l"});
    let listed = exchange(&broker, "to-janus-admin", "from-janus-admin", &[list], 1).await;
    assert_eq!(listed[0]["body"]["sessions"], json!([sid]), "{listed:?}");
    // The incoming queue deleted under the gateway: the broker cancels its consumer (it asked to
    // be told), and the gateway connects again, declares the queue and answers again.
    let deleted = broker.tool("amqp-delete-queue", &["-q", "to-janus"]).output().expect("amqp-delete-queue");
    assert!(deleted.status.success(), "{deleted:?}");
    let ping = json!({"janus": "ping", "transaction": "after"});
    let heard = exchange_as(&broker, &["--repeat"], "to-janus", "from-janus", &[ping], 1).await;
    assert_eq!(
        (&heard[0]["body"]["janus"], &heard[0]["body"]["transaction"]),
        (&json!("pong"), &json!("after"))
    );
}

/// The transport over TLS with the files its configuration names (`ssl_enabled`,
/// `ssl_cacert`, `ssl_cert`, `ssl_key`): the broker's certificate (for its address) is
/// verified against the test CA alone, and the broker asks for the client certificate the
/// gateway shows. A request published through the broker's plain listener is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transport_speaks_tls_with_the_files_it_is_given() {
    let Some((broker, tls)) = RabbitMq::start_tls("the RabbitMQ TLS test", "127.0.0.1").await else { return };
    let pika =
        Command::new("/usr/bin/python3").args(["-c", "import pika"]).status().is_ok_and(|s| s.success());
    if !tool_present(pika, "apt-get install python3-pika", "the RabbitMQ TLS test needs pika") {
        return;
    }
    let file = format!(
        "general: {{ enabled = true, host = \"127.0.0.1\", port = {}, to_janus = \"to-janus\", from_janus = \"from-janus\", json = \"compact\",\n\
         ssl_enabled = true, ssl_cacert = \"{}\", ssl_cert = \"{}\", ssl_key = \"{}\" }}\n",
        tls.port, tls.ca, tls.client_cert, tls.client_key
    );
    let extra = vec![("janus.transport.rabbitmq.jcfg".into(), file)];
    let _gw = Gateway::with(Conf { extra, ..Conf::default() });
    // Published again until the gateway has declared its queue and answers.
    let ping = json!({"janus": "ping", "transaction": "tls"});
    let heard = exchange_as(&broker, &["--repeat"], "to-janus", "from-janus", &[ping], 1).await;
    assert_eq!(
        (&heard[0]["body"]["janus"], &heard[0]["body"]["transaction"]),
        (&json!("pong"), &json!("tls"))
    );
}
