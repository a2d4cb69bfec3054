//! The event handler hears an EchoTest call, as Janus tells it: both SDPs (the client's offer
//! as `remote`, the answer as `local`), the plugin's own event (its settings), ICE states,
//! both sides' candidates, the selected pair, DTLS states, the PeerConnection up, media
//! coming, each stream's statistics every `stats_period`, and the hangup.

use serde_json::{json, Value};

use super::{echo_call_on, wait_for, EchoCall};
use crate::backend::{backend, next_post};
use crate::harness::{Conf, Gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echotest_call_is_told_to_the_event_handler() {
    let (addr, mut posts) = backend("127.0.0.1", false).await;
    let settings = "\tevents = \"jsep, webrtc, media, plugins\"\n\tgrouping = false";
    let conf = crate::backend::handler_conf(&format!("http://{addr}/"), settings);
    let gw = Gateway::with(Conf {
        core_sections: "events: { broadcast = true stats_period = 1 }\n".into(),
        ..conf
    });
    let EchoCall { mut ws, sid, hid, peer, offer, answer } = echo_call_on(&gw).await;
    // Everything the backend heard of the handle, in order, until the hangup; the call goes
    // on until the statistics say media came back.
    let mut events: Vec<Value> = Vec::new();
    let echoed = |e: &Value| {
        e["type"] == 32
            && e["subtype"] == 3
            && e["event"]["packets-received"].as_u64() > Some(0)
            && e["event"]["packets-sent"].as_u64() > Some(0)
    };
    while !events.iter().any(echoed) {
        events.push(next_post(&mut posts).await.body);
    }
    ws.send(&json!({"janus": "hangup", "session_id": sid, "handle_id": hid, "transaction": "h"})).await;
    wait_for(&mut ws, "the hangup", |v| v["janus"] == "hangup").await;
    while !events.iter().any(|e| e["event"]["connection"] == "hangup") {
        events.push(next_post(&mut posts).await.body);
    }
    for e in &events {
        assert_eq!((e["session_id"].clone(), e["handle_id"].clone()), (json!(sid), json!(hid)), "{e}");
    }
    let find = |what: &str, pred: &dyn Fn(&Value) -> bool| {
        events.iter().position(pred).unwrap_or_else(|| panic!("no {what} in {events:#?}"))
    };
    let remote = find("remote offer", &|e| e["type"] == 8 && e["event"]["owner"] == "remote");
    assert_eq!(events[remote]["event"]["jsep"], json!({"type": "offer", "sdp": offer}));
    let local = find("local answer", &|e| e["type"] == 8 && e["event"]["owner"] == "local");
    assert_eq!(events[local]["event"]["jsep"], json!({"type": "answer", "sdp": answer}));
    let plugin = find("the plugin's event", &|e| e["type"] == 64);
    assert_eq!(
        events[plugin]["event"],
        json!({"plugin": "janus.plugin.echotest", "data": {"audio_active": true, "video_active": true, "bitrate": 0}})
    );
    let up = find("webrtcup", &|e| e["type"] == 16 && e["event"]["connection"] == "webrtcup");
    assert_eq!(events[up]["subtype"], 6);
    let media = find("media", &|e| e["type"] == 32 && e["event"]["receiving"] == true);
    assert_eq!(events[media]["subtype"], 1);
    assert!(
        ["audio", "video"].contains(&events[media]["event"]["media"].as_str().unwrap_or("")),
        "{events:#?}"
    );
    // ICE and DTLS, as Janus names their states.
    let states =
        |key: &str| -> Vec<&str> { events.iter().filter_map(|e| e["event"][key].as_str()).collect() };
    let ice = states("ice");
    let at = |s: &str| ice.iter().position(|x| *x == s).unwrap_or_else(|| panic!("no ICE {s}: {ice:?}"));
    let webrtc: Vec<&Value> = events.iter().filter(|e| e["type"] == 16).collect();
    assert!(at("gathering") < at("connecting") && at("connecting") < at("connected"), "{ice:?} {webrtc:#?}");
    assert_eq!(states("dtls"), ["trying", "connected"], "{events:#?}");
    let local = find("our candidate", &|e| e["subtype"] == 2);
    let ours = events[local]["event"]["local-candidate"].as_str().unwrap_or_default();
    assert!(ours.ends_with("typ host") && !ours.starts_with("candidate:"), "{ours}");
    find("the client's candidate", &|e| e["subtype"] == 3 && e["event"]["remote-candidate"].is_string());
    let pair = &events[find("the selected pair", &|e| e["subtype"] == 4)]["event"];
    let text = pair["selected-pair"].as_str().unwrap_or_default();
    let (port, theirs) = (pair["candidates"]["local"]["port"].clone(), &pair["candidates"]["remote"]);
    assert!(text.starts_with("127.0.0.1:") && text.contains(" [host,udp] <-> 127.0.0.1:"), "{pair}");
    assert_eq!(port, json!(gw.addr("media").port()), "{pair}");
    assert_eq!(
        (theirs["address"].as_str(), theirs["transport"].as_str()),
        (Some("127.0.0.1"), Some("udp")),
        "{pair}"
    );
    // Statistics of both streams, each with Janus's fields.
    let stats: Vec<&Value> = events.iter().filter(|e| e["type"] == 32 && e["subtype"] == 3).collect();
    for s in &stats {
        let s = &s["event"];
        for key in [
            "mid",
            "mindex",
            "media",
            "codec",
            "base",
            "lost",
            "jitter-local",
            "in-link-quality",
            "packets-received",
            "bytes-sent-lastsec",
            "nacks-received",
        ] {
            assert!(!s[key].is_null(), "{key} missing: {s}");
        }
    }
    let codecs: Vec<&str> = stats.iter().filter_map(|s| s["event"]["codec"].as_str()).collect();
    assert!(codecs.contains(&"opus") && codecs.contains(&"vp8"), "{codecs:?}");
    let hangup = find("hangup", &|e| e["event"]["connection"] == "hangup");
    assert!(events[hangup]["event"]["reason"].is_string(), "{events:#?}");
    assert!(remote < local && local < up && up < hangup, "out of order: {events:#?}");
    peer.close().await.ok();
}

/// The core's update every 15 s counts the PeerConnections that are up (an EchoTest call's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_update_counts_a_call() {
    let (addr, mut posts) = backend("127.0.0.1", false).await;
    let conf =
        crate::backend::handler_conf(&format!("http://{addr}/"), "\tevents = \"core\"\n\tgrouping = false");
    let gw = Gateway::with(conf);
    let EchoCall { ws: _ws, peer, .. } = echo_call_on(&gw).await;
    let update = loop {
        let posted = tokio::time::timeout(std::time::Duration::from_secs(25), posts.recv()).await;
        let e = posted.expect("an update within 25 s").expect("the backend runs").body;
        if e["event"]["status"] == "update" {
            break e;
        }
    };
    let info = &update["event"]["info"];
    assert_eq!(
        (info["sessions"].as_u64(), info["handles"].as_u64(), info["peerconnections"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{update}"
    );
    peer.close().await.ok();
}

/// A data channel's statistics, as Janus tells them: the `data` m-line's packets and bytes each
/// way (the DTLS datagrams that carry the SCTP), every `stats_period`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_channel_is_in_the_statistics() {
    let (addr, mut posts) = backend("127.0.0.1", false).await;
    let conf =
        crate::backend::handler_conf(&format!("http://{addr}/"), "\tevents = \"media\"\n\tgrouping = false");
    let gw = Gateway::with(Conf {
        core_sections: "events: { broadcast = true stats_period = 1 }\n".into(),
        ..conf
    });
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = super::attach(&mut ws, sid, super::ECHOTEST).await;
    let peer = super::Peer::new(false, false, true).await.expect("peer");
    let offer = peer.create_offer(super::WAIT).await.expect("offer");
    let ev = super::echotest(&mut ws, sid, hid, "o", json!({}), Some(json!({"type": "offer", "sdp": offer})))
        .await;
    peer.set_answer(ev["jsep"]["sdp"].as_str().expect("an answer")).await.expect("set answer");
    peer.wait_data_open(super::WAIT).await.expect("data channel open");
    peer.send_text("hello").await.expect("send");
    peer.wait_data_message(super::WAIT, |_| true).await.expect("the echo");
    // Until the statistics count the message both ways (beyond the handshake).
    let stats = loop {
        let e = next_post(&mut posts).await.body;
        if e["type"] == 32 && e["subtype"] == 3 && e["event"]["media"] == "data" {
            let s = &e["event"];
            if s["packets-received"].as_u64() > Some(3) && s["packets-sent"].as_u64() > Some(3) {
                break e;
            }
        }
    };
    assert_eq!((&stats["session_id"], &stats["handle_id"]), (&json!(sid), &json!(hid)), "{stats}");
    let s = &stats["event"];
    assert_eq!((s["mid"].as_str(), s["mindex"].as_u64()), (Some("0"), Some(0)), "{stats}");
    assert!(
        s["bytes-received"].as_u64() > s["packets-received"].as_u64()
            && s["bytes-sent"].as_u64() > s["packets-sent"].as_u64(),
        "{stats}"
    );
    peer.close().await.ok();
}

/// The MQTT handler publishes to a real broker (mosquitto), as Janus's: the connect status on
/// `<topic>/status`, then each event on `<topic>/<its type>` with Janus's `eventtype`, at QoS 1;
/// mosquitto_sub hears them. When the gateway stops, the handler says the disconnect status
/// there itself (no will is set here: the default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mqtt_handler_publishes_to_a_broker() {
    let Some(broker) = crate::harness::Mosquitto::start("the MQTT event handler test").await else { return };
    let port = broker.port;
    let mqttevh = format!("\turl = \"tcp://127.0.0.1:{port}\"\n\tclient_id = \"portunus-test\"\n\tevents = \"sessions\"\n\tqos = 1\n\tjson = \"compact\"");
    let mut gw = Gateway::with(crate::backend::evh_conf("mqttevh", &mqttevh));
    // Lines of `topic payload` from a subscriber to everything under the base topic.
    let (_sub, mut lines) = broker.subscribe("/janus/events/#");
    // The connect status is retained: the subscriber gets it whenever it subscribed.
    let status = crate::harness::next_on(&mut lines, "/janus/events/status").await;
    assert_eq!(status, json!({"event": "connected", "eventhandler": "janus.eventhandler.mqttevh"}));
    // A session created after the subscription: its event on the sessions topic.
    let http = gw.http();
    let sid = http.create().await;
    let event = crate::harness::next_on(&mut lines, "/janus/events/sessions").await;
    assert_eq!(event["session_id"], json!(sid), "{event}");
    assert_eq!((&event["type"], &event["eventtype"]), (&json!(1), &json!("Sessions")), "{event}");
    assert_eq!(event["event"]["name"], "created", "{event}");
    // A burst: several await their PUBACK at once, and every one arrives.
    let mut created = std::collections::HashSet::new();
    for _ in 0..30 {
        created.insert(http.create().await);
    }
    while !created.is_empty() {
        let event = crate::harness::next_on(&mut lines, "/janus/events/sessions").await;
        created.remove(&event["session_id"].as_u64().expect("a session id"));
    }
    assert!(gw.terminate().success());
    let status = crate::harness::next_on(&mut lines, "/janus/events/status").await;
    assert_eq!(status, json!({"event": "disconnected"}));
}

/// In MQTT 5 (`mqtt_version = "5"`) each message of the handler, its status too, carries the
/// `add_user_properties`, as Janus's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mqtt_5_handler_adds_its_user_properties() {
    let Some(broker) = crate::harness::Mosquitto::start("the MQTT 5 event handler test").await else {
        return;
    };
    let port = broker.port;
    let mqttevh = format!(
        "\turl = \"tcp://127.0.0.1:{port}\"\n\tclient_id = \"portunus-v5\"\n\tmqtt_version = \"5\"\n\
         \tevents = \"sessions\"\n\tjson = \"compact\"\n\tadd_user_properties = ([\"origin\", \"portunus\"], [\"n\", \"1\"])"
    );
    let gw = Gateway::with(crate::backend::evh_conf("mqttevh", &mqttevh));
    let (_sub, mut lines) = broker.subscribe_v5("/janus/events/#");
    let status = crate::harness::V5Message::next_with(&mut lines, "eventhandler").await;
    assert_eq!(
        (status.topic.as_str(), status.user.as_str()),
        ("/janus/events/status", "origin:portunus n:1")
    );
    let sid = gw.http().create().await;
    let event = crate::harness::V5Message::next_with(&mut lines, &format!("\"session_id\":{sid}")).await;
    assert_eq!(
        (event.topic.as_str(), event.user.as_str()),
        ("/janus/events/sessions", "origin:portunus n:1")
    );
    assert_eq!(event.json()["event"]["name"], "created", "{event:?}");
}

/// The MQTT handler outlives its broker: while the broker is away the events wait, and once a
/// broker listens there again the handler connects again and publishes every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mqtt_handler_publishes_what_waited_when_the_broker_comes_back() {
    let Some(broker) = crate::harness::Mosquitto::start("the MQTT event handler test").await else { return };
    let port = broker.port;
    let mqttevh = format!("\turl = \"tcp://127.0.0.1:{port}\"\n\tclient_id = \"portunus-restart\"\n\tevents = \"sessions\"\n\tqos = 1\n\tjson = \"compact\"");
    let gw = Gateway::with(crate::backend::evh_conf("mqttevh", &mqttevh));
    let (sub, mut lines) = broker.subscribe("/janus/events/#");
    crate::harness::next_on(&mut lines, "/janus/events/status").await;
    // The broker goes; sessions come meanwhile.
    drop((sub, broker));
    let http = gw.http();
    let mut created = std::collections::HashSet::new();
    for _ in 0..3 {
        created.insert(http.create().await);
    }
    // A broker on the same port, and a subscriber known to be there (it hears a retained
    // probe) before the handler comes back.
    let broker = crate::harness::Mosquitto::start_on("the MQTT event handler test", Some(port))
        .await
        .expect("mosquitto");
    broker.publish_retained("/janus/events/probe", "{}");
    let (_sub, mut lines) = broker.subscribe("/janus/events/#");
    crate::harness::next_on(&mut lines, "/janus/events/probe").await;
    // The handler's back-off is at most 8 s: within the bound below, every event arrives.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !created.is_empty() {
        assert!(std::time::Instant::now() < deadline, "sessions never told: {created:?}");
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.recv()).await;
        let line = line.expect("a message").expect("the subscriber runs");
        if let Some(event) = line.strip_prefix("/janus/events/sessions ") {
            let event: Value = serde_json::from_str(event).expect("JSON");
            created.remove(&event["session_id"].as_u64().expect("a session id"));
        }
    }
}

/// The MQTT handler over TLS with the files its configuration names (see
/// [`crate::harness::Mosquitto::start_tls`]): it trusts the test CA (`tls_cacert`), shows its
/// certificate and key, and is told not to check the broker's name (its certificate is for
/// another than the address it is reached at); its connect status and an
/// event come through (a subscriber on the broker's plain listener hears them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mqtt_handler_speaks_tls_with_the_files_it_is_given() {
    let Some((broker, tls)) =
        crate::harness::Mosquitto::start_tls("the MQTT TLS test", "broker.example").await
    else {
        return;
    };
    let (_sub, mut lines) = broker.subscribe("/janus/events/#");
    let mqttevh = format!(
        "\turl = \"ssl://127.0.0.1:{}\"\n\tclient_id = \"portunus-tls\"\n\tevents = \"sessions\"\n\tjson = \"compact\"\n\
         \ttls_enable = true\n\ttls_cacert = \"{}\"\n\ttls_client_cert = \"{}\"\n\ttls_client_key = \"{}\"\n\ttls_verify_hostname = false",
        tls.port, tls.ca, tls.client_cert, tls.client_key
    );
    let gw = Gateway::with(crate::backend::evh_conf("mqttevh", &mqttevh));
    let status = crate::harness::next_on(&mut lines, "/janus/events/status").await;
    assert_eq!(status["event"], "connected", "{status}");
    let sid = gw.http().create().await;
    let event = crate::harness::next_on(&mut lines, "/janus/events/sessions").await;
    assert_eq!(event["session_id"], json!(sid), "{event}");
}
