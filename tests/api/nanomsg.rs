//! The Janus API and the admin API over Nanomsg PAIR sockets (Janus's
//! `janus.transport.nanomsg`), with nanomsg's own `nanocat --pair` as the client: it sends its
//! `--data` every second and prints what it gets.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{assert_error, nanocat, Conf, Gateway, TempDir};

/// The first answer `nanocat --pair` prints for `request`, sent to (`--connect`) or from
/// (`--bind`) `address`; `None` without nanocat.
async fn ask(how: &str, address: &str, request: Value) -> Option<Value> {
    let data = request.to_string();
    let (_peer, mut lines) = nanocat(&["--pair", how, address, "--data", &data, "-i", "1"])?;
    let line = tokio::time::timeout(Duration::from_secs(10), lines.recv()).await;
    let line = line.expect("an answer within 10 s").expect("nanocat runs");
    Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
}

/// A gateway with this Nanomsg transport file (requests up to 4 KB).
fn gateway(file: String) -> Gateway {
    let extra = vec![("janus.transport.nanomsg.jcfg".to_owned(), file)];
    Gateway::with(Conf { extra, ..Conf::general("max_request_size = 4096") })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_peer_drives_the_api_and_the_admin_api() {
    let dir = TempDir::new("nanomsg-transport");
    let (api, admin) = (
        format!("ipc://{}", dir.join("janus.ipc").display()),
        format!("ipc://{}", dir.join("admin.ipc").display()),
    );
    let file = format!(
        "general: {{ enabled = true, address = \"{api}\", json = \"compact\" }}\n\
         admin: {{ admin_enabled = true, admin_address = \"{admin}\" }}\n"
    );
    let gw = gateway(file);
    let connect = |request: Value| ask("--connect", &api, request);
    let Some(info) = connect(json!({"janus": "info", "transaction": "i"})).await else { return };
    assert_eq!(
        info["transports"]["janus.transport.nanomsg"]["name"], "JANUS Nanomsg transport plugin",
        "{info}"
    );
    // One peer after another: the session one made is the next one's (one client of the core).
    let created = connect(json!({"janus": "create", "transaction": "c"})).await.unwrap();
    let sid = created["data"]["id"].as_u64().unwrap_or_else(|| panic!("{created}"));
    let attach =
        json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest", "transaction": "a"});
    let hid = connect(attach).await.unwrap()["data"]["id"].as_u64().expect("a handle");
    // The plugin's event follows the ack on the same socket.
    let message = json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": {"audio": true}, "transaction": "m"});
    let (_peer, mut lines) =
        nanocat(&["--pair", "--connect", &api, "--data", &message.to_string(), "-i", "1"]).unwrap();
    let mut heard = Vec::new();
    while !heard.contains(&json!("event")) {
        let line =
            tokio::time::timeout(Duration::from_secs(10), lines.recv()).await.expect("in time").unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        heard.push(v["janus"].clone());
    }
    assert_eq!(heard[0], "ack", "{heard:?}");
    drop(_peer);
    // Bad input: Janus's errors.
    assert_error(
        &connect(json!({"janus": "keepalive", "session_id": 42, "transaction": "k"})).await.unwrap(),
        458,
    );
    assert_error(&connect(json!([1])).await.unwrap(), 456);
    // A message over max_request_size is read past and answered as unreadable; the socket
    // goes on.
    let long = json!({"janus": "ping", "transaction": "p", "pad": "x".repeat(8000)});
    assert_error(&connect(long).await.unwrap(), 454);
    assert_eq!(connect(json!({"janus": "ping", "transaction": "p"})).await.unwrap()["janus"], "pong");
    // The admin API on its own socket (indented JSON: nanocat --ascii prints it on one line,
    // its newlines as dots).
    let (_admin_peer, mut lines) = nanocat(&[
        "--pair",
        "--connect",
        &admin,
        "--data",
        &json!({"janus": "list_sessions", "admin_secret": "janusoverlord", "transaction": "l"}).to_string(),
        "-i",
        "1",
    ])
    .unwrap();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.recv()).await.expect("in time").unwrap();
    assert!(line.contains(&sid.to_string()) && line.contains("\"sessions\""), "{line}");
    drop(gw);
    drop(dir);
}

/// With `mode = connect`, the gateway connects to the client's bound PAIR socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_connects_to_a_bound_peer() {
    let port = crate::harness::free_port();
    let address = format!("tcp://127.0.0.1:{port}");
    let file = format!(
        "general: {{ enabled = true, address = \"{address}\", mode = \"connect\", json = \"compact\" }}\n"
    );
    let _gw = gateway(file);
    let Some(pong) = ask("--bind", &address, json!({"janus": "ping", "transaction": "p"})).await else {
        return;
    };
    assert_eq!((&pong["janus"], &pong["transaction"]), (&json!("pong"), &json!("p")), "{pong}");
}
