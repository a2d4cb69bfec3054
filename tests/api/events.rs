//! Janus's sample event handler: with `events: { broadcast = true }` and
//! `janus.eventhandler.sampleevh.jcfg` enabled, what happens is posted to an HTTP backend as
//! Janus's events, and admin `query_eventhandler` tweaks it while it runs.

use serde_json::{json, Value};

use crate::backend::{backend, events_until, Heard};
use crate::harness::{assert_error, Conf, Gateway};

/// A gateway whose event handler posts to `backend` (`http://…`), with these settings.
pub fn gateway_with_events(backend: &str, settings: &str) -> Gateway {
    gateway_with_events_in("events: { broadcast = true }\n", backend, settings)
}

/// As [`gateway_with_events`], with this `events` section of `janus.jcfg`.
pub fn gateway_with_events_in(section: &str, backend: &str, settings: &str) -> Gateway {
    let conf = crate::backend::handler_conf(backend, settings);
    Gateway::with(Conf { core_sections: section.into(), ..conf })
}

use crate::harness::admin_request as admin;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_handles_and_custom_events_reach_the_backend() {
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let mut gw = gateway_with_events(&format!("http://{addr}/events"), "\tjson = \"plain\"");
    // The start, with the server's info.
    let started = events_until(&mut posts, |e| e["type"] == 256).await.pop().unwrap();
    assert_eq!(
        (started["subtype"].clone(), started["event"]["status"].clone()),
        (json!(1), json!("started"))
    );
    assert_eq!(started["emitter"], "Portunus", "{started}");
    assert_eq!(started["event"]["info"]["event_handlers"], true, "{started}");
    assert!(started["event"]["info"]["events"]["janus.eventhandler.sampleevh"].is_object(), "{started}");
    assert!(started["timestamp"].as_u64().is_some_and(|t| t > 1_700_000_000_000_000), "{started}");
    // A session over HTTP, and a handle with an opaque id.
    let http = gw.http();
    let sid = http.create().await;
    let mut seen = events_until(&mut posts, |e| e["type"] == 1).await;
    let created = seen.pop().unwrap();
    assert_eq!(created["session_id"], sid, "{created}");
    // The HTTP transport told of the request first.
    let request = seen.iter().rev().find(|e| e["type"] == 128).expect("the transport's event");
    assert_eq!(request["event"]["transport"], "janus.transport.http", "{request}");
    assert_eq!(request["event"]["data"]["event"], "request", "{request}");
    assert_eq!(
        (request["event"]["data"]["admin_api"].clone(), request["event"]["data"]["ip"].clone()),
        (json!(false), json!("127.0.0.1"))
    );
    assert!(request.get("session_id").is_none(), "{request}");
    assert_eq!(created["event"]["name"], "created", "{created}");
    assert_eq!(created["event"]["transport"]["transport"], "janus.transport.http", "{created}");
    let attach = json!({"janus": "attach", "plugin": "janus.plugin.echotest", "opaque_id": "evt-1", "transaction": "a"});
    let hid = http.post(&format!("/{sid}"), &attach).await["data"]["id"].as_u64().unwrap();
    let attached = events_until(&mut posts, |e| e["type"] == 2).await.pop().unwrap();
    assert_eq!((attached["session_id"].clone(), attached["handle_id"].clone()), (json!(sid), json!(hid)));
    assert_eq!(attached["opaque_id"], "evt-1", "{attached}");
    assert_eq!(
        attached["event"],
        json!({"name": "attached", "plugin": "janus.plugin.echotest", "opaque_id": "evt-1"}),
        "{attached}"
    );
    // An external event from the admin API.
    let admin_http = gw.admin_http();
    let r =
        admin_http.post("", &admin("custom_event", json!({"schema": "my.schema", "data": {"n": 1}}))).await;
    assert_eq!(r["janus"], "success", "{r}");
    let external = events_until(&mut posts, |e| e["type"] == 4).await.pop().unwrap();
    assert_eq!(external["event"], json!({"schema": "my.schema", "data": {"n": 1}}), "{external}");
    assert!(external.get("session_id").is_none(), "{external}");
    // A WebSocket connects and goes.
    let ws = gw.ws().await;
    let connected =
        events_until(&mut posts, |e| e["event"]["data"]["event"] == "connected").await.pop().unwrap();
    assert_eq!(connected["event"]["transport"], "janus.transport.websockets", "{connected}");
    let id = connected["event"]["id"].clone();
    ws.close().await;
    let gone =
        events_until(&mut posts, |e| e["event"]["data"]["event"] == "disconnected").await.pop().unwrap();
    assert_eq!(gone["event"]["id"], id, "{gone}");
    // Tweaked: sessions only, one event a post.
    let tweak = |request: Value| {
        admin("query_eventhandler", json!({"handler": "janus.eventhandler.sampleevh", "request": request}))
    };
    let r = admin_http
        .post("", &tweak(json!({"request": "tweak", "events": "sessions", "grouping": false})))
        .await;
    assert_eq!(r["response"], json!({"result": 200}), "{r}");
    let detach = json!({"janus": "detach", "transaction": "d"});
    assert_eq!(http.post(&format!("/{sid}/{hid}"), &detach).await["janus"], "success");
    let destroy = json!({"janus": "destroy", "transaction": "x"});
    assert_eq!(http.post(&format!("/{sid}"), &destroy).await["janus"], "success");
    // The tweak's own request was told of before the tweak (maybe in a group): skipped.
    let transport = |e: &Value| e["type"] == 128;
    let destroyed = loop {
        let body = posts.next_post().await.body;
        match &body {
            Value::Array(all) if all.iter().all(transport) => continue,
            one if transport(one) => continue,
            _ => break body,
        }
    };
    assert!(destroyed.is_object(), "not grouped: {destroyed}");
    assert_eq!(
        (destroyed["type"].clone(), destroyed["event"]["name"].clone()),
        (json!(1), json!("destroyed"))
    );
    // The handler's own errors, and the core's.
    let r = admin_http.post("", &tweak(json!({"request": "bogus"}))).await;
    assert_eq!(r["response"], json!({"error_code": 411, "error": "Unknown request 'bogus'"}), "{r}");
    let r = admin_http.post("", &tweak(json!({"request": "tweak", "backend": "ftp://x"}))).await;
    assert_eq!(r["response"], json!({"error_code": 413, "error": "Invalid HTTP URI 'ftp://x'"}), "{r}");
    let r = admin_http.post("", &tweak(json!({"request": "tweak", "grouping": "yes"}))).await;
    assert_eq!(r["response"]["error_code"], 413, "{r}");
    let r = admin_http
        .post("", &admin("query_eventhandler", json!({"handler": "janus.eventhandler.wsevh"})))
        .await;
    assert_error(&r, 460);
    // Everything again, then the stop: its event is posted before the gateway exits.
    let r = admin_http.post("", &tweak(json!({"request": "tweak", "events": "all"}))).await;
    assert_eq!(r["response"], json!({"result": 200}), "{r}");
    gw.terminate();
    let stopped = events_until(&mut posts, |e| e["type"] == 256).await.pop().unwrap();
    assert_eq!(stopped["event"], json!({"status": "shutdown", "signum": 15}), "{stopped}");
}

/// Every 15 s, as Janus, the core tells how many sessions, handles and PeerConnections there
/// are, and the statistics period (`stats_period`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_tells_its_counts_every_15_seconds() {
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let section = "events: { broadcast = true stats_period = 3 }\n";
    let gw = gateway_with_events_in(section, &format!("http://{addr}/"), "\tevents = \"core\"");
    events_until(&mut posts, |e| e["event"]["status"] == "started").await;
    let http = gw.http();
    let sid = http.create().await;
    let attach = json!({"janus": "attach", "plugin": "janus.plugin.echotest", "transaction": "a"});
    // Three handles, one detached; another session's handle goes with its session.
    let mut handles = Vec::new();
    for _ in 0..3 {
        let answer = http.post(&format!("/{sid}"), &attach).await;
        handles.push(answer["data"]["id"].as_u64().expect("handle id"));
    }
    let detach = json!({"janus": "detach", "transaction": "d"});
    assert_eq!(http.post(&format!("/{sid}/{}", handles[0]), &detach).await["janus"], "success");
    let other = http.create().await;
    assert_eq!(http.post(&format!("/{other}"), &attach).await["janus"], "success");
    let destroy = json!({"janus": "destroy", "transaction": "x"});
    assert_eq!(http.post(&format!("/{other}"), &destroy).await["janus"], "success");
    let started = std::time::Instant::now();
    let update = loop {
        let events = match posts.next_post_within(std::time::Duration::from_secs(25)).await.body {
            Value::Array(all) => all,
            one => vec![one],
        };
        if let Some(e) = events.into_iter().find(|e| e["event"]["status"] == "update") {
            break e;
        }
    };
    assert!(started.elapsed() < std::time::Duration::from_secs(16), "{update}");
    assert_eq!((update["type"].clone(), update["subtype"].clone()), (json!(256), json!(1)), "{update}");
    assert_eq!(
        update["event"]["info"],
        json!({"sessions": 1, "handles": 2, "peerconnections": 0, "stats-period": 3}),
        "{update}"
    );
}

/// A backend that is down: the post is tried again (`max_retransmissions`), and the events
/// arrive once it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_are_sent_again_until_the_backend_answers() {
    // A port that refuses connections until the backend binds it.
    let port = crate::harness::quiet_port();
    let gw = gateway_with_events(
        &format!("http://127.0.0.1:{port}/"),
        "\tmax_retransmissions = 20\n\tretransmissions_backoff = 50\n\tevents = \"sessions\"",
    );
    let sid = gw.http().create().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is still free");
    let (addr, posts) = crate::backend::backend_on(listener, false).await;
    let mut posts = Heard::new(posts);
    assert_eq!(addr.port(), port);
    let created = events_until(&mut posts, |e| e["type"] == 1).await.pop().unwrap();
    assert_eq!(
        (created["session_id"].clone(), created["event"]["name"].clone()),
        (json!(sid), json!("created"))
    );
}

/// Without `broadcast`, the handler's file does nothing: `info` says there are no event
/// handlers, and the tweak finds none.
#[tokio::test]
async fn without_broadcast_there_are_no_event_handlers() {
    let gw = Gateway::with(Conf {
        extra: vec![(
            "janus.eventhandler.sampleevh.jcfg".into(),
            "general: { enabled = true backend = \"http://127.0.0.1:9/\" }\n".into(),
        )],
        ..Conf::default()
    });
    let info = gw.http().get("/info").await.json();
    assert_eq!((info["event_handlers"].clone(), info["events"].clone()), (json!(false), json!({})), "{info}");
    let r = gw
        .admin_http()
        .post(
            "",
            &admin("query_eventhandler", json!({"handler": "janus.eventhandler.sampleevh", "request": {}})),
        )
        .await;
    assert_error(&r, 460);
}

/// VideoRoom tells the event handler its rooms' lives and its participants', as Janus's does:
/// `created` (about the handle that asked), `joined` (about the publisher's handle), `leaving`,
/// `destroyed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videoroom_tells_the_event_handler() {
    use crate::harness::PluginClient as Client;
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let gw = gateway_with_events(&format!("http://{addr}/"), "\tevents = \"plugins\"\n\tgrouping = false");
    let plugin_event = |e: &Value| e["type"] == 64;
    let mut admin = Client::new(&gw, "janus.plugin.videoroom").await;
    let created = admin.request(json!({"request": "create", "room": 4321})).await;
    assert_eq!(created["videoroom"], "created", "{created}");
    let e = events_until(&mut posts, plugin_event).await.pop().unwrap();
    assert_eq!(
        e["event"],
        json!({"plugin": "janus.plugin.videoroom", "data": {"event": "created", "room": 4321}})
    );
    // About the handle that asked, as Janus's.
    assert_eq!(e["handle_id"], admin.handle(), "{e}");
    let mut alice = Client::new(&gw, "janus.plugin.videoroom").await;
    let join = json!({"request": "join", "ptype": "publisher", "room": 4321, "display": "Alice"});
    let joined = alice.send(join, None).await;
    let data = &joined["plugindata"]["data"];
    assert_eq!(data["videoroom"], "joined", "{joined}");
    let e = events_until(&mut posts, plugin_event).await.pop().unwrap();
    assert_eq!(e["handle_id"], alice.handle(), "{e}");
    assert_eq!(
        e["event"]["data"],
        json!({"event": "joined", "room": 4321, "id": data["id"], "private_id": data["private_id"], "display": "Alice"})
    );
    alice.send(json!({"request": "leave"}), None).await;
    let e = events_until(&mut posts, plugin_event).await.pop().unwrap();
    assert_eq!(
        e["event"]["data"],
        json!({"event": "leaving", "room": 4321, "id": data["id"], "display": "Alice"}),
        "{e}"
    );
    admin.request(json!({"request": "destroy", "room": 4321})).await;
    let e = events_until(&mut posts, plugin_event).await.pop().unwrap();
    assert_eq!(e["event"]["data"], json!({"event": "destroyed", "room": 4321}), "{e}");
}

/// TextRoom tells the event handler as Janus's does: `created`, `join`, `leave`, `kicked`
/// (about the kicked one's handle) and `destroyed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn textroom_tells_the_event_handler() {
    use crate::harness::PluginClient as Client;
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let gw = gateway_with_events(&format!("http://{addr}/"), "\tevents = \"plugins\"");
    let mut next = async || events_until(&mut posts, |e| e["type"] == 64).await.pop().unwrap();
    let (mut admin, mut eve) =
        (Client::new(&gw, "janus.plugin.textroom").await, Client::new(&gw, "janus.plugin.textroom").await);
    let r = admin.request(json!({"request": "create", "room": 777, "secret": "s"})).await;
    assert_eq!(r["textroom"], "created", "{r}");
    let e = next().await;
    assert_eq!(
        e["event"],
        json!({"plugin": "janus.plugin.textroom", "data": {"event": "created", "room": 777}})
    );
    assert_eq!(e["handle_id"], admin.handle(), "{e}");
    let join = json!({"request": "join", "room": 777, "username": "eve", "display": "Eve"});
    assert_eq!(eve.request(join.clone()).await["textroom"], "success");
    let e = next().await;
    assert_eq!(
        e["event"]["data"],
        json!({"event": "join", "room": 777, "username": "eve", "display": "Eve"})
    );
    assert_eq!(eve.request(json!({"request": "leave", "room": 777})).await["textroom"], "success");
    assert_eq!(next().await["event"]["data"], json!({"event": "leave", "room": 777, "username": "eve"}));
    assert_eq!(eve.request(join).await["textroom"], "success");
    next().await;
    let kick = json!({"request": "kick", "room": 777, "secret": "s", "username": "eve"});
    assert_eq!(admin.request(kick).await["textroom"], "success");
    let e = next().await;
    assert_eq!(e["event"]["data"], json!({"textroom": "kicked", "room": 777, "username": "eve"}));
    assert_eq!(e["handle_id"], eve.handle(), "{e}");
    assert_eq!(
        admin.request(json!({"request": "destroy", "room": 777, "secret": "s"})).await["textroom"],
        "destroyed"
    );
    assert_eq!(next().await["event"]["data"], json!({"event": "destroyed", "room": 777}));
}

/// AudioBridge tells the event handler as Janus's does (compared with Janus 1.1.2's posts):
/// rooms made, participants joining, moderated, changing room, kicked (then `left` about no
/// handle), each about the handle Janus names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audiobridge_tells_the_event_handler() {
    use crate::harness::PluginClient as Client;
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let gw = gateway_with_events(&format!("http://{addr}/"), "\tevents = \"plugins\"\n\tgrouping = false");
    let mut a = Client::new(&gw, "janus.plugin.audiobridge").await;
    let mut b = Client::new(&gw, "janus.plugin.audiobridge").await;
    let next = async |posts: &mut Heard| {
        let e = events_until(posts, |e| e["type"] == 64).await.pop().unwrap();
        assert_eq!(e["event"]["plugin"], "janus.plugin.audiobridge", "{e}");
        (e["handle_id"].as_u64(), e["event"]["data"].clone())
    };
    let (ha, hb) = (Some(a.handle()), Some(b.handle()));
    for room in [778, 779] {
        a.request(json!({"request": "create", "room": room})).await;
        assert_eq!(next(&mut posts).await, (ha, json!({"event": "created", "room": room})));
    }
    let joined = a.send(json!({"request": "join", "room": 778, "display": "A"}), None).await;
    let id_a = joined["plugindata"]["data"]["id"].clone();
    let told =
        json!({"event": "joined", "room": 778, "id": id_a, "display": "A", "setup": false, "muted": false});
    assert_eq!(next(&mut posts).await, (ha, told));
    b.send(json!({"request": "join", "room": 778, "display": "B", "id": 42}), None).await;
    let told =
        json!({"event": "joined", "room": 778, "id": 42, "display": "B", "setup": false, "muted": false});
    assert_eq!(next(&mut posts).await, (hb, told));
    b.send(json!({"request": "configure", "muted": true}), None).await;
    let told =
        json!({"event": "configured", "room": 778, "id": 42, "display": "B", "muted": true, "quality": 4});
    assert_eq!(next(&mut posts).await, (hb, told));
    for verb in ["unmute", "mute"] {
        a.request(json!({"request": verb, "room": 778, "id": 42})).await;
        assert_eq!(next(&mut posts).await, (ha, json!({"event": verb, "room": 778, "id": 42})));
    }
    a.request(json!({"request": "mute_room", "room": 778})).await;
    assert_eq!(next(&mut posts).await, (ha, json!({"event": "mute_room", "room": 778})));
    b.send(json!({"request": "changeroom", "room": 779, "display": "B2", "id": 55}), None).await;
    assert_eq!(next(&mut posts).await, (hb, json!({"event": "left", "room": 778, "id": 42, "display": "B"})));
    let told = json!({"event": "joined", "room": 779, "id": 55, "display": "B2", "muted": false});
    assert_eq!(next(&mut posts).await, (hb, told));
    a.request(json!({"request": "kick", "room": 779, "id": 55})).await;
    assert_eq!(next(&mut posts).await, (ha, json!({"event": "kicked", "room": 779, "id": 55})));
    assert_eq!(
        next(&mut posts).await,
        (None, json!({"event": "left", "room": 779, "id": 55, "display": "B2"}))
    );
    a.request(json!({"request": "kick_all", "room": 778})).await;
    assert_eq!(next(&mut posts).await, (ha, json!({"event": "kicked_all", "room": 778, "id": id_a})));
    assert_eq!(
        next(&mut posts).await,
        (None, json!({"event": "left", "room": 778, "id": id_a, "display": "A"}))
    );
    a.request(json!({"request": "destroy", "room": 779})).await;
    assert_eq!(next(&mut posts).await, (ha, json!({"event": "destroyed", "room": 779})));
}

/// `compress`: posts come gzipped (`Content-Encoding: gzip`) at the `compression` level; a
/// tweak turns it off and on again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_posts_come_gzipped() {
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let settings = "\tcompress = true\n\tcompression = 9\n\tgrouping = false\n\tevents = \"sessions\"";
    let gw = gateway_with_events(&format!("http://{addr}/"), settings);
    let http = gw.http();
    let first = new_session_told(&http, &mut posts).await;
    assert_eq!(first.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(
        (first.body["type"].clone(), first.body["event"]["name"].clone()),
        (json!(1), json!("created"))
    );
    let tweak = |compress: bool| {
        let request = json!({"request": "tweak", "compress": compress, "compression": 1});
        admin("query_eventhandler", json!({"handler": "janus.eventhandler.sampleevh", "request": request}))
    };
    let admin_http = gw.admin_http();
    assert_eq!(admin_http.post("", &tweak(false)).await["response"], json!({"result": 200}));
    let plain = new_session_told(&http, &mut posts).await;
    assert_eq!((plain.content_encoding, plain.body["event"]["name"].clone()), (None, json!("created")));
    assert_eq!(admin_http.post("", &tweak(true)).await["response"], json!({"result": 200}));
    assert_eq!(new_session_told(&http, &mut posts).await.content_encoding.as_deref(), Some("gzip"));
}

/// Creates a session: the post that tells it.
async fn new_session_told(http: &crate::harness::HttpClient, posts: &mut Heard) -> crate::backend::Posted {
    http.create().await;
    posts.next_post().await
}

/// The WebSockets event handler: events come as JSON messages on a connection that
/// asked for the `janus-event-handlers` subprotocol; when the server goes, the handler connects
/// again and sends what happened meanwhile; `tweak` groups them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websockets_handler_sends_and_reconnects() {
    let (addr, mut said) = crate::backend::ws_backend(Some(1), true).await;
    let wsevh = format!("\tbackend = \"ws://{addr}/events\"\n\tevents = \"sessions\"\n\tgrouping = false");
    let gw = Gateway::with(crate::backend::evh_conf("wsevh", &wsevh));
    let http = gw.http();
    // `info` names the handler as Janus does.
    let info = http.get("/info").await.json();
    let listed = &info["events"]["janus.eventhandler.wsevh"];
    assert_eq!(listed["name"], "JANUS WebSocketsEventHandler plugin", "{info}");
    let first = http.create().await;
    let heard = next_said(&mut said).await;
    assert_eq!((heard.connection, heard.subprotocol.as_str()), (0, "janus-event-handlers"));
    assert_eq!(
        (&heard.body["type"], &heard.body["session_id"], &heard.body["event"]["name"]),
        (&json!(1), &json!(first), &json!("created")),
        "{}",
        heard.body
    );
    // The server closed that connection: the next session is told on the next one.
    assert_eq!(next_said(&mut said).await.body, Value::Null, "the close");
    let second = http.create().await;
    let heard = next_said(&mut said).await;
    assert_eq!((heard.connection, &heard.body["session_id"]), (1, &json!(second)), "{}", heard.body);
    // Tweaked to group: an array.
    let tweak = json!({"request": "tweak", "grouping": true});
    let r = gw
        .admin_http()
        .post(
            "",
            &admin("query_eventhandler", json!({"handler": "janus.eventhandler.wsevh", "request": tweak})),
        )
        .await;
    assert_eq!(r["response"], json!({"result": 200}), "{r}");
    let third = http.create().await;
    let heard = next_said(&mut said).await;
    assert_eq!(heard.body[0]["session_id"], json!(third), "{}", heard.body);
}

/// A WebSocket server that takes the connection without naming the subprotocol asked for
/// still gets the events (the handler asks again without it, as Janus's goes on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websockets_handler_takes_a_server_without_the_subprotocol() {
    let (addr, mut said) = crate::backend::ws_backend(None, false).await;
    let wsevh = format!("\tbackend = \"ws://{addr}/\"\n\tevents = \"sessions\"\n\tgrouping = false");
    let gw = Gateway::with(crate::backend::evh_conf("wsevh", &wsevh));
    let sid = gw.http().create().await;
    let heard = next_said(&mut said).await;
    assert_eq!((heard.subprotocol.as_str(), &heard.body["session_id"]), ("", &json!(sid)), "{}", heard.body);
}

/// The WebSocket backend's next message (within 15 s: a reconnection may take 1 s).
async fn next_said(
    said: &mut tokio::sync::mpsc::UnboundedReceiver<crate::backend::Said>,
) -> crate::backend::Said {
    let within = std::time::Duration::from_secs(15);
    tokio::time::timeout(within, said.recv()).await.expect("a message in time").expect("the backend runs")
}

/// The GELF handler: each event a GELF 1.1 message as Janus writes it, over UDP in chunks when
/// longer than `max_message_len`, gzipped with `compress`, and over TCP ended by a zero byte;
/// `tweak` moves it (`backend` and `port` required, as Janus's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gelf_handler_sends_gelf_messages() {
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = udp.local_addr().unwrap().port();
    let gelfevh = format!("\tbackend = \"127.0.0.1\"\n\tport = \"{port}\"\n\tprotocol = \"udp\"\n\tmax_message_len = 100\n\tevents = \"sessions\"");
    let gw = Gateway::with(crate::backend::evh_conf("gelfevh", &gelfevh));
    let http = gw.http();
    let sid = http.create().await;
    let (message, datagrams) = gelf_over_udp(&udp).await;
    assert!(datagrams > 1, "chunked: {datagrams} datagrams");
    assert_eq!(
        (&message["version"], &message["level"], &message["short_message"]),
        (&json!("1.1"), &json!(1), &json!("Sessions")),
        "{message}"
    );
    let full = &message["full_message"];
    assert_eq!((&full["session_id"], &full["event"]["name"]), (&json!(sid), &json!("created")), "{message}");
    assert_eq!(message["host"], full["emitter"], "{message}");
    assert!(message["timestamp"].as_f64().is_some_and(|t| t > 1.7e9), "{message}");
    // Gzipped, in one datagram.
    let admin_http = gw.admin_http();
    let tweak = |request: Value| {
        admin("query_eventhandler", json!({"handler": "janus.eventhandler.gelfevh", "request": request}))
    };
    let compressed = json!({"request": "tweak", "backend": "127.0.0.1", "port": port.to_string(),
                            "protocol": "udp", "compress": true, "max_message_len": 1400});
    assert_eq!(admin_http.post("", &tweak(compressed)).await["response"], json!({"result": 200}));
    let sid = http.create().await;
    let (message, datagrams) = gelf_over_udp(&udp).await;
    assert_eq!((datagrams, &message["full_message"]["session_id"]), (1, &json!(sid)), "{message}");
    // Over TCP.
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let over_tcp = json!({"request": "tweak", "backend": "127.0.0.1",
                          "port": tcp.local_addr().unwrap().port().to_string(), "protocol": "tcp"});
    assert_eq!(admin_http.post("", &tweak(over_tcp)).await["response"], json!({"result": 200}));
    let sid = http.create().await;
    let within = std::time::Duration::from_secs(10);
    let (conn, _) = tokio::time::timeout(within, tcp.accept()).await.expect("a connection").expect("accept");
    let mut text = Vec::new();
    let mut reader = tokio::io::BufReader::new(conn);
    let read = tokio::io::AsyncBufReadExt::read_until(&mut reader, 0, &mut text);
    tokio::time::timeout(within, read).await.expect("a message").expect("read");
    assert_eq!(text.pop(), Some(0), "ended by a zero byte");
    let message: Value = serde_json::from_slice(&text).expect("JSON");
    assert_eq!(message["full_message"]["session_id"], json!(sid), "{message}");
    // Janus's tweak needs both backend and port.
    let r = admin_http.post("", &tweak(json!({"request": "tweak", "backend": "127.0.0.1"}))).await;
    assert_eq!(r["response"]["error_code"], 413, "{r}");
}

/// The next GELF message on `udp` (its chunks put together, gunzipped when gzipped), and the
/// datagrams it came in.
async fn gelf_over_udp(udp: &tokio::net::UdpSocket) -> (Value, usize) {
    let within = std::time::Duration::from_secs(10);
    let mut parts: Vec<Option<Vec<u8>>> = Vec::new();
    let mut datagrams = 0;
    let whole = loop {
        let mut buf = vec![0u8; 65536];
        let n = tokio::time::timeout(within, udp.recv(&mut buf)).await.expect("a datagram").expect("recv");
        buf.truncate(n);
        datagrams += 1;
        if buf[..2] != [0x1e, 0x0f] {
            break buf;
        }
        let (seq, total) = (usize::from(buf[10]), usize::from(buf[11]));
        parts.resize(total, None);
        parts[seq] = Some(buf[12..].to_vec());
        if parts.iter().all(Option::is_some) {
            break parts.into_iter().flatten().flatten().collect();
        }
    };
    let whole = if whole.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&whole[..]), &mut plain).expect("gzip");
        plain
    } else {
        whole
    };
    (serde_json::from_slice(&whole).expect("a JSON message"), datagrams)
}

/// Creates sessions until the subscriber hears one (events before the subscriber is connected
/// are dropped, as by nanomsg's PUB socket); then each new session is heard: its event, alone or
/// the first of an array.
async fn nanomsg_hears_sessions(
    http: &crate::harness::HttpClient,
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(std::time::Instant::now() < deadline, "the subscriber heard no session");
        http.create().await;
        if let Ok(Some(_)) = tokio::time::timeout(std::time::Duration::from_millis(200), lines.recv()).await {
            break;
        }
    }
    let sid = http.create().await;
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.recv()).await;
        let message: Value = serde_json::from_str(&line.expect("a message").expect("runs")).expect("JSON");
        let first = message.as_array().map_or(&message, |a| &a[0]).clone();
        if first["session_id"] == json!(sid) {
            return message;
        }
    }
}

/// The Nanomsg handler publishes on a PUB socket that nanomsg's own `nanocat --sub` reads: it
/// connects to the subscriber's IPC address (Janus's default mode), or binds a TCP one the
/// subscriber connects to; `grouping` makes arrays, and a tweak turns it off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nanomsg_handler_publishes_to_a_subscriber() {
    let dir = crate::harness::TempDir::new("nanomsg");
    let ipc = format!("ipc://{}", dir.join("evh.ipc").display());
    let Some((_sub, mut lines)) = crate::harness::nanocat(&["--sub", "--bind", &ipc]) else { return };
    let settings =
        format!("\taddress = \"{ipc}\"\n\tevents = \"sessions\"\n\tgrouping = false\n\tjson = \"compact\"");
    let gw = Gateway::with(crate::backend::evh_conf("nanomsgevh", &settings).owning(dir));
    let heard = nanomsg_hears_sessions(&gw.http(), &mut lines).await;
    assert_eq!((&heard["type"], &heard["event"]["name"]), (&json!(1), &json!("created")), "{heard}");
    let info = gw.http().get("/info").await.json();
    assert_eq!(
        info["events"]["janus.eventhandler.nanomsgevh"]["name"], "JANUS NanomsgEventHandler plugin",
        "{info}"
    );
    drop(gw);

    let port = crate::harness::free_port();
    let tcp = format!("tcp://127.0.0.1:{port}");
    let settings =
        format!("\taddress = \"{tcp}\"\n\tmode = \"bind\"\n\tevents = \"sessions\"\n\tjson = \"compact\"");
    let gw = Gateway::with(crate::backend::evh_conf("nanomsgevh", &settings));
    let Some((_sub, mut lines)) = crate::harness::nanocat(&["--sub", "--connect", &tcp]) else { return };
    let heard = nanomsg_hears_sessions(&gw.http(), &mut lines).await;
    assert!(heard.is_array(), "grouped by default: {heard}");
    ungroup(&gw, "janus.eventhandler.nanomsgevh").await;
    let heard = nanomsg_hears_sessions(&gw.http(), &mut lines).await;
    assert!(heard.is_object(), "one event a message after the tweak: {heard}");
}

/// The RabbitMQ handler publishes to a real broker (rabbitmq-server) that amqp-tools' consumer
/// reads: on the default exchange with the routing key, to the queue of that name, as Janus's
/// default file does; `grouping` makes arrays, and a tweak turns it off. It reaches the broker
/// over TLS with the files it is given (the test CA, a client certificate the broker asks for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rabbitmq_handler_publishes_to_a_broker() {
    use std::io::BufRead;
    // Over TLS with its files (the broker's certificate for another name than its address:
    // the name check off); amqp-consume reads on the plain listener.
    let Some((broker, tls)) =
        crate::harness::RabbitMq::start_tls("the RabbitMQ handler's test", "broker.example").await
    else {
        return;
    };
    let declared =
        broker.tool("amqp-declare-queue", &["-q", "janus-events"]).output().expect("amqp-declare-queue");
    assert!(declared.status.success(), "{declared:?}");
    // Each message on a line of its own.
    let mut consume = broker.tool("amqp-consume", &["-q", "janus-events", "--", "sh", "-c", "cat; echo"]);
    let mut consumer =
        crate::harness::Killed(consume.stdout(std::process::Stdio::piped()).spawn().expect("amqp-consume"));
    let out = consumer.0.stdout.take().expect("stdout");
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let settings = format!(
        "\thost = \"127.0.0.1\"\n\tport = {}\n\troute_key = \"janus-events\"\n\tevents = \"sessions\"\n\tjson = \"compact\"\n\theartbeat = 30\n\
         \tssl_enable = true\n\tssl_cacert = \"{}\"\n\tssl_cert = \"{}\"\n\tssl_key = \"{}\"\n\tssl_verify_hostname = false",
        tls.port, tls.ca, tls.client_cert, tls.client_key
    );
    let gw = Gateway::with(crate::backend::evh_conf("rabbitmqevh", &settings));
    let http = gw.http();
    let sid = http.create().await;
    let heard = next_line_json(&mut lines).await;
    assert!(heard.is_array(), "grouped by default: {heard}");
    assert_eq!((&heard[0]["type"], &heard[0]["session_id"]), (&json!(1), &json!(sid)), "{heard}");
    ungroup(&gw, "janus.eventhandler.rabbitmqevh").await;
    let sid = http.create().await;
    let heard = next_line_json(&mut lines).await;
    assert_eq!((&heard["session_id"], &heard["event"]["name"]), (&json!(sid), &json!("created")), "{heard}");
}

/// The next line's JSON (within 10 s).
async fn next_line_json(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> Value {
    let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.recv()).await;
    serde_json::from_str(&line.expect("a message within 10 s").expect("runs")).expect("JSON")
}

/// Tweaks a handler's `grouping` off.
async fn ungroup(gw: &Gateway, handler: &str) {
    let tweak = json!({"request": "tweak", "grouping": false});
    let request = admin("query_eventhandler", json!({"handler": handler, "request": tweak}));
    let r = gw.admin_http().post("", &request).await;
    assert_eq!(r["response"], json!({"result": 200}), "{r}");
}
