//! VideoCall with media: two webrtc-rs peers register, one calls, the other accepts, and each
//! gets the other's audio and video, as janus.js's VideoCall page does it; with the events
//! Janus 1.1 sends.

use serde_json::{json, Value};

use super::{wait_media_from, WAIT};
use crate::harness::{Gateway, PluginClient as Client};
use crate::peer::{Kind, Peer};

const VIDEOCALL: &str = "janus.plugin.videocall";

/// A registered user.
async fn user(gw: &Gateway, name: &str) -> Client {
    let mut c = Client::new(gw, VIDEOCALL).await;
    let r = c.send(json!({"request": "register", "username": name}), None).await;
    let registered = json!({"videocall": "event", "result": {"event": "registered", "username": name}});
    assert_eq!(r["plugindata"]["data"], registered, "{r}");
    c
}

fn result(m: &Value) -> &Value {
    &m["plugindata"]["data"]["result"]
}

/// alice calls bob, bob accepts: both peers up, each sending.
async fn call(gw: &Gateway) -> (Client, Peer, Client, Peer) {
    call_with(gw, false).await
}

/// As [`call`], with data channels when `data`.
async fn call_with(gw: &Gateway, data: bool) -> (Client, Peer, Client, Peer) {
    let (mut alice, mut bob) = (user(gw, "alice").await, user(gw, "bob").await);
    let pa = Peer::new(true, true, data).await.expect("alice's peer");
    let offer = pa.create_offer(WAIT).await.expect("offer");
    let r = alice
        .send(json!({"request": "call", "username": "bob"}), Some(json!({"type": "offer", "sdp": offer})))
        .await;
    assert_eq!(result(&r), &json!({"event": "calling"}), "{r}");
    let ring = bob.message("the incoming call", |m| result(m)["event"] == "incomingcall").await;
    assert_eq!(result(&ring), &json!({"event": "incomingcall", "username": "alice"}), "{ring}");
    assert_eq!(ring["jsep"]["type"], "offer", "{ring}");
    let pb = Peer::new(true, true, data).await.expect("bob's peer");
    let answer = pb.answer_offer(ring["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("bob's answer");
    let r = bob.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r), &json!({"event": "accepted"}), "{r}");
    let accepted = alice.message("bob's accept", |m| result(m)["event"] == "accepted").await;
    assert_eq!(result(&accepted), &json!({"event": "accepted", "username": "bob"}), "{accepted}");
    pa.set_answer(accepted["jsep"]["sdp"].as_str().expect("alice's answer")).await.expect("set answer");
    pa.start_media().await;
    pb.start_media().await;
    pa.wait_connected(WAIT).await.expect("alice connected");
    pb.wait_connected(WAIT).await.expect("bob connected");
    (alice, pa, bob, pb)
}

/// A call carries each one's audio and video to the other; `set` stops and restarts what one
/// sends; `hangup` ends it for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_peers_call_and_see_each_other() {
    let gw = Gateway::start();
    let (mut alice, pa, mut bob, pb) = call(&gw).await;
    wait_media_from(&pb, pa.nonce(), "alice's media at bob").await;
    wait_media_from(&pa, pb.nonce(), "bob's media at alice").await;
    // alice stops her video: bob's video from her stops while her audio goes on.
    let r = alice.send(json!({"request": "set", "video": false}), None).await;
    assert_eq!(result(&r), &json!({"event": "set"}), "{r}");
    let count = |s: &crate::peer::PeerStats, kind: Kind| {
        s.recv(kind).foreign_markers.get(&pa.nonce()).copied().unwrap_or(0)
    };
    let then = pb.stats();
    let after = pb
        .wait_until("alice's audio without her video", WAIT, |s| {
            count(s, Kind::Audio) >= count(&then, Kind::Audio) + 50
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert!(count(&after, Kind::Video) <= count(&then, Kind::Video) + 10, "alice's video went on");
    alice.send(json!({"request": "set", "video": true}), None).await;
    let video = count(&pb.stats(), Kind::Video);
    pb.wait_until("alice's video again", WAIT, |s| count(s, Kind::Video) >= video + 60)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    // A list of who is registered.
    let listed = bob.send(json!({"request": "list"}), None).await;
    let mut names: Vec<String> =
        serde_json::from_value(result(&listed)["list"].clone()).unwrap_or_else(|_| panic!("{listed}"));
    names.sort();
    assert_eq!(names, ["alice", "bob"]);

    // Someone calling a user in a call hears "User busy" (with its own name, as from Janus).
    let mut carol = user(&gw, "carol").await;
    let busy = carol.send(json!({"request": "call", "username": "bob"}), None).await;
    assert_eq!(
        result(&busy),
        &json!({"event": "hangup", "username": "carol", "reason": "User busy"}),
        "{busy}"
    );

    // The hangup, with Janus's events on both sides.
    let r = alice.send(json!({"request": "hangup"}), None).await;
    assert_eq!(
        result(&r),
        &json!({"event": "hangup", "username": "alice", "reason": "Explicit hangup"}),
        "{r}"
    );
    let heard = bob.message("alice's hangup", |m| result(m)["event"] == "hangup").await;
    assert_eq!(
        result(&heard),
        &json!({"event": "hangup", "username": "alice", "reason": "We did the hangup"})
    );
    let gone = bob.message("alice's PeerConnection going", |m| result(m)["event"] == "hangup").await;
    assert_eq!(
        result(&gone),
        &json!({"event": "hangup", "username": "alice", "reason": "Remote WebRTC hangup"})
    );
    bob.message("bob's PeerConnection closing", |m| m["janus"] == "hangup").await;
    // They can call again: bob calls alice back (a new PeerConnection each).
    let pa2 = Peer::new(true, true, false).await.expect("alice's new peer");
    let offer = pa2.create_offer(WAIT).await.expect("offer");
    let r = bob
        .send(json!({"request": "call", "username": "alice"}), Some(json!({"type": "offer", "sdp": offer})))
        .await;
    assert_eq!(result(&r), &json!({"event": "calling"}), "{r}");
    alice.message("bob's call", |m| result(m)["event"] == "incomingcall").await;
    pa2.close().await.ok();
    pa.close().await.ok();
    pb.close().await.ok();
}

/// Renegotiation: alice calls with audio only, then turns her camera on (`set` with a new
/// offer); bob hears `update` with an offer for it, answers with `set`, and gets her video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renegotiation_adds_video_to_a_call() {
    let gw = Gateway::start();
    let (mut alice, mut bob) = (user(&gw, "alice").await, user(&gw, "bob").await);
    let mut pa = Peer::new(true, false, false).await.expect("alice's peer");
    let offer = pa.create_offer(WAIT).await.expect("offer");
    alice
        .send(json!({"request": "call", "username": "bob"}), Some(json!({"type": "offer", "sdp": offer})))
        .await;
    let ring = bob.message("the incoming call", |m| result(m)["event"] == "incomingcall").await;
    let pb = Peer::new(true, false, false).await.expect("bob's peer");
    let answer = pb.answer_offer(ring["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("bob's answer");
    bob.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    let accepted = alice.message("bob's accept", |m| result(m)["event"] == "accepted").await;
    pa.set_answer(accepted["jsep"]["sdp"].as_str().unwrap()).await.expect("set answer");
    pa.start_media().await;
    pb.start_media().await;
    let audio = |s: &crate::peer::PeerStats| {
        s.recv(Kind::Audio).foreign_markers.get(&pa.nonce()).copied().unwrap_or(0)
    };
    pb.wait_until("alice's audio", WAIT, |s| audio(s) >= 25).await.unwrap_or_else(|e| panic!("{}", e.0));

    // The camera goes on.
    pa.add_video().await.expect("a video track");
    let offer = pa.create_offer(WAIT).await.expect("the new offer");
    let r = alice.send(json!({"request": "set"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r), &json!({"event": "set"}), "{r}");
    pa.set_answer(r["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {r}")))
        .await
        .expect("set answer");
    let update = bob.message("the update", |m| result(m)["event"] == "update").await;
    let offer = update["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {update}"));
    assert!(offer.contains("m=video"), "{offer}");
    let answer = pb.answer_offer(offer, WAIT).await.expect("bob's new answer");
    let r = bob.send(json!({"request": "set"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r), &json!({"event": "set"}), "{r}");
    alice.message("alice hears the update", |m| result(m)["event"] == "update").await;
    pa.start_video().await;
    let video = |s: &crate::peer::PeerStats| {
        s.recv(Kind::Video).foreign_markers.get(&pa.nonce()).copied().unwrap_or(0)
    };
    pb.wait_until("alice's video", WAIT, |s| video(s) >= 30).await.unwrap_or_else(|e| panic!("{}", e.0));
    pa.close().await.ok();
    pb.close().await.ok();
}

/// The errors a client can provoke, with Janus's codes and texts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_are_refused_as_janus_does() {
    let gw = Gateway::start();
    let error = |m: &Value, code: u64, text: &str| {
        let d = &m["plugindata"]["data"];
        assert_eq!((&d["error_code"], &d["error"]), (&json!(code), &json!(text)), "{m}");
    };
    let mut nobody = Client::new(&gw, VIDEOCALL).await;
    error(&nobody.send(json!({"request": "accept"}), None).await, 481, "No incoming call to accept");
    let layer = json!({"request": "set", "substream": 5});
    error(&nobody.send(layer, None).await, 474, "Invalid value (substream should be 0, 1 or 2)");
    let hung = nobody.send(json!({"request": "hangup"}), None).await;
    assert_eq!(result(&hung), &json!({"event": "hangup", "reason": "Explicit hangup"}), "{hung}");
    error(
        &nobody.send(json!({"request": "call", "username": "x"}), None).await,
        473,
        "Register a username first",
    );
    let mut alice = user(&gw, "alice").await;
    let twice = alice.send(json!({"request": "register"}), None).await;
    error(&twice, 477, "Already registered (alice)");
    error(
        &alice.send(json!({"request": "register", "username": "again"}), None).await,
        477,
        "Already registered (alice)",
    );
    error(
        &nobody.send(json!({"request": "register", "username": "alice"}), None).await,
        476,
        "Username 'alice' already taken",
    );
    error(
        &alice.send(json!({"request": "call", "username": "alice"}), None).await,
        479,
        "You can't call yourself... use the EchoTest for that",
    );
    error(
        &alice.send(json!({"request": "call", "username": "zed"}), None).await,
        478,
        "Username 'zed' doesn't exist",
    );
    let _bob = user(&gw, "bob").await;
    error(&alice.send(json!({"request": "call", "username": "bob"}), None).await, 482, "Missing SDP");
    error(&alice.send(json!({"request": "accept"}), None).await, 481, "No incoming call to accept");
    error(&alice.send(json!({"request": "dance"}), None).await, 472, "Unknown request (dance)");
}

/// `set` with `record` records what the user sends in the call, each stream to an .mjr file
/// that Janus's `janus-pp-rec` reads (the tone in the audio, the frames in the video); the
/// hangup completes the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_is_recorded_for_janus_pp_rec() {
    let Some((gw, dir)) = crate::recorded::recording_gateway("janus.plugin.videocall", "") else {
        return;
    };
    let (mut alice, pa, _bob, _pb) = call_with(&gw, true).await;
    pa.set_tone(440.0, 8000.0);
    let r = alice.send(json!({"request": "set", "record": true, "filename": "alice-call"}), None).await;
    assert_eq!(result(&r), &json!({"event": "set"}), "{r}");
    crate::recorded::video_packets_recorded(&dir.join("alice-call-video.mjr"), 10).await;
    pa.wait_data_open(WAIT).await.expect("data channel open");
    for n in 0..3 {
        pa.send_text(&format!("line {n}")).await.expect("send text");
    }
    crate::recorded::video_packets_recorded(&dir.join("alice-call-video.mjr"), 210).await;
    let r = alice.send(json!({"request": "hangup"}), None).await;
    assert_eq!(result(&r)["event"], "hangup", "{r}");
    let (p440, p1000) = crate::audiobridge::tones_recorded(&dir.join("alice-call-audio.mjr")).await;
    assert!(p440 > 1e5 && p1000 < p440 / 100.0, "alice's tone: {p440:.0} {p1000:.0}");
    let messages = crate::recorded::messages_recorded(&dir.join("alice-call-data.mjr"), 3).await;
    assert_eq!(messages, ["line 0", "line 1", "line 2"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// The event handler hears a call as Janus's VideoCall tells it: each `registered`, the
/// caller's `calling`, the callee's `accepted`, what a `set` left (`configured`), then
/// `hangup` (explicit for the one who hung up, remote for the other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_told_to_the_event_handler() {
    let (addr, posts) = crate::backend::backend("127.0.0.1", false).await;
    let mut posts = crate::backend::Heard::new(posts);
    let gw = Gateway::with(crate::backend::plugin_events_conf(&format!("http://{addr}/")));
    let (mut alice, pa, mut bob, pb) = call(&gw).await;
    bob.send(json!({"request": "set", "video": false, "bitrate": 256000}), None).await;
    alice.send(json!({"request": "hangup"}), None).await;
    let mut heard: Vec<(u64, Value)> = Vec::new();
    let told = |heard: &[(u64, Value)], reason: &str| heard.iter().any(|(_, d)| d["reason"] == reason);
    while !(told(&heard, "Explicit hangup") && told(&heard, "Remote hangup")) {
        let e = crate::backend::events_until(&mut posts, |e| e["type"] == 64).await.pop().unwrap();
        assert_eq!(e["event"]["plugin"], "janus.plugin.videocall", "{e}");
        heard.push((e["handle_id"].as_u64().unwrap_or(0), e["event"]["data"].clone()));
    }
    let (a, b) = (alice.handle(), bob.handle());
    for want in [
        (a, json!({"event": "registered", "username": "alice"})),
        (b, json!({"event": "registered", "username": "bob"})),
        (a, json!({"event": "calling"})),
        (b, json!({"event": "accepted"})),
        (b, json!({"event": "configured", "audio_active": true, "video_active": false, "bitrate": 256000})),
        (a, json!({"event": "hangup", "reason": "Explicit hangup"})),
        (b, json!({"event": "hangup", "reason": "Remote hangup"})),
    ] {
        assert!(heard.contains(&want), "no {want:?} in {heard:?}");
    }
    pa.close().await.ok();
    pb.close().await.ok();
}
