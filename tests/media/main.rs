//! Media tests: an independent WebRTC peer (webrtc-rs) talks to the real gateway through the
//! Janus API and checks what comes back: echoed RTP with our own payload markers, Janus media
//! events, and the effect of the EchoTest's switches.

#[path = "../api/harness.rs"]
#[allow(dead_code)]
mod harness;
mod peer;

use std::time::Duration;

use harness::{Gateway, WsClient};
use peer::{Kind, Peer};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// Reads messages until one matches, returning it; everything else is skipped.
async fn wait_for(ws: &mut WsClient, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_message_within(left).await {
            Ok(Some(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                if pred(&v) {
                    return v;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => panic!("socket closed while waiting for {what}"),
            Err(()) => panic!("timed out waiting for {what}"),
        }
    }
}

/// Sends an EchoTest message (with an optional JSEP) and returns the event that answers it.
async fn echotest(
    ws: &mut WsClient,
    sid: u64,
    hid: u64,
    tx: &str,
    body: Value,
    jsep: Option<Value>,
) -> Value {
    let mut req =
        json!({"janus": "message", "session_id": sid, "handle_id": hid, "transaction": tx, "body": body});
    if let Some(j) = jsep {
        req["jsep"] = j;
    }
    ws.send(&req).await;
    wait_for(ws, "the echotest event", |v| v["janus"] == "event" && v["transaction"] == tx).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echotest_returns_our_audio_and_video() {
    let gw = Gateway::start();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest"})).await;
    let hid = r["data"]["id"].as_u64().expect("attach");

    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let started = std::time::Instant::now();
    let ev = echotest(
        &mut ws,
        sid,
        hid,
        "offer",
        json!({"audio": true, "video": true}),
        Some(json!({"type": "offer", "sdp": offer})),
    )
    .await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    assert_eq!(ev["jsep"]["type"], "answer", "{ev}");
    let answer = ev["jsep"]["sdp"].as_str().expect("answer sdp");
    assert!(answer.contains("a=fingerprint:"), "{answer}");
    assert!(answer.contains("127.0.0.1"), "half trickle: our candidate is in the SDP: {answer}");
    peer.set_answer(answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    wait_for(&mut ws, "webrtcup", |v| v["janus"] == "webrtcup" && v["sender"] == hid).await;
    let media = wait_for(&mut ws, "a media event", |v| v["janus"] == "media").await;
    assert_eq!(media["receiving"], true, "{media}");
    assert!(media["type"] == "audio" || media["type"] == "video", "{media}");
    let stats = peer.wait_packets(Kind::Video, 60, WAIT).await.expect("echoed video");
    println!("offer -> 60 echoed video packets: {:?}", started.elapsed());
    assert!(stats.video.valid_markers >= 60);
    peer.wait_packets(Kind::Audio, 50, WAIT).await.expect("echoed audio");

    // {"audio": false}: audio stops coming back while video goes on.
    let ev = echotest(&mut ws, sid, hid, "a-off", json!({"audio": false}), None).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok");
    let before = peer.stats();
    let after = peer
        .wait_until("1 s of echoed video", WAIT, |s| s.video.valid_markers >= before.video.valid_markers + 90)
        .await
        .expect("video goes on");
    let audio_back = after.audio.packets - before.audio.packets;
    let audio_sent = after.sent_audio.packets - before.sent_audio.packets;
    assert!(
        audio_back <= 3 && audio_sent >= 30,
        "audio still echoed: {audio_back} back of {audio_sent} sent"
    );
    let ev = echotest(&mut ws, sid, hid, "a-on", json!({"audio": true}), None).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok");
    let a0 = peer.stats().audio.valid_markers;
    peer.wait_until("audio resumes", WAIT, |s| s.audio.valid_markers >= a0 + 10)
        .await
        .expect("audio resumes");

    // {"bitrate": 128000}: the client is told to send at most that (REMB).
    let seen = peer.stats().rtcp.remb.len();
    echotest(&mut ws, sid, hid, "br", json!({"bitrate": 128000}), None).await;
    let s = peer
        .wait_until("a REMB", WAIT, |s| s.rtcp.remb.iter().skip(seen).any(|r| r.bitrate <= 128_000))
        .await
        .expect("REMB");
    assert!(s.rtcp.remb.len() > seen);

    // hangup: success, the plugin's "done", and a hangup event.
    let r = ws.call(json!({"janus": "hangup", "session_id": sid, "handle_id": hid})).await;
    assert_eq!(r["janus"], "success");
    let hangup = wait_for(&mut ws, "hangup", |v| v["janus"] == "hangup").await;
    assert_eq!(hangup["reason"], "Janus API");
    peer.close().await.ok();
}
