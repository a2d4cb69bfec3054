//! Media tests: an independent WebRTC peer (webrtc-rs) talks to the real gateway through the
//! Janus API and checks what comes back: echoed RTP with our own payload markers, Janus media
//! events, and the effect of the EchoTest's switches.

mod audiobridge;
#[path = "../api/backend.rs"]
#[allow(dead_code)]
mod backend;
mod capture;
mod dtls_identity;
mod echotest;
mod events;
#[path = "../api/harness.rs"]
#[allow(dead_code)]
mod harness;
mod nosip;
mod opus_interop;
mod peer;
mod public_address;
mod recorded;
mod rtsp;
mod sip;
mod streaming;
mod textroom;
mod videocall;
mod videoroom;

use std::time::Duration;

use harness::{message, per_language, tool_present, Conf, Gateway, Lang, WsClient};
use peer::{AudioCodec, DataMessage, Kind, Peer};
use serde_json::{json, Value};

const ECHOTEST: &str = "janus.plugin.echotest";
const TESTFAULT: &str = "janus.plugin.testfault";
const WAIT: Duration = Duration::from_secs(10);

/// The `stream_id`s of the forwarders an `rtp_forward` made (its `forwarders`).
fn forwarder_ids(done: &Value) -> Vec<u64> {
    let list = done["forwarders"].as_array().unwrap_or_else(|| panic!("no forwarders in {done}"));
    list.iter().filter_map(|f| f["stream_id"].as_u64()).collect()
}

/// Attaches a handle to a plugin; returns its id.
async fn attach(ws: &mut WsClient, sid: u64, plugin: &str) -> u64 {
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": plugin})).await;
    r["data"]["id"].as_u64().unwrap_or_else(|| panic!("attach: {r}"))
}

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
    let mut req = message(sid, hid, tx, body);
    if let Some(j) = jsep {
        req["jsep"] = j;
    }
    ws.send(&req).await;
    wait_for(ws, "the echotest event", |v| v["janus"] == "event" && v["transaction"] == tx).await
}

/// An EchoTest call with audio and video on a new handle of `gw`: the peer has connected and
/// had 10 video packets back. Returns the WebSocket, session, handle, peer, offer and answer.
struct EchoCall {
    ws: WsClient,
    sid: u64,
    hid: u64,
    peer: Peer,
    offer: String,
    answer: String,
}

async fn echo_call_on(gw: &Gateway) -> EchoCall {
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let ev = echotest(&mut ws, sid, hid, "o", json!({}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let answer = ev["jsep"]["sdp"].as_str().expect("an answer").to_owned();
    peer.set_answer(&answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    peer.wait_packets(Kind::Video, 10, WAIT).await.expect("echoed video");
    EchoCall { ws, sid, hid, peer, offer, answer }
}

/// An EchoTest call on a gateway with `conf`: `check` looks at the answer, and the peer gets
/// its video back.
async fn checked_echo(conf: Conf, check: impl FnOnce(&str)) {
    let gw = Gateway::with(conf);
    let EchoCall { ws: _ws, peer, answer, .. } = echo_call_on(&gw).await;
    check(&answer);
    peer.wait_packets(Kind::Video, 30, WAIT).await.expect("echoed video");
    peer.close().await.ok();
}

/// ICE debugging, Janus's libnice debugging: off, a call logs nothing of what the ICE agent
/// says at the test's level (4, info); after `set_libnice_debug`, the next call's candidates
/// are in the log, and `get_status` says so; `nice_debug` in `nat` turns it on from the start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_debugging_logs_what_the_ice_agent_says() {
    const MARK: &str = "Add local candidate";
    async fn status(gw: &Gateway) -> Value {
        gw.admin_http().post("", &harness::admin_request("get_status", json!({}))).await["status"].clone()
    }
    /// Makes a call; then waits for the ICE agent's lines in the log when `logged`, or says
    /// there are none.
    async fn call_logs_ice(gw: &Gateway, logged: bool) {
        echo_call_on(gw).await.peer.close().await.ok();
        let (mut log, deadline) = (gw.logs(), std::time::Instant::now() + WAIT);
        assert!(logged || !log.contains(MARK), "ICE debugging is off: {log}");
        while logged && !log.contains(MARK) {
            assert!(std::time::Instant::now() < deadline, "no ICE agent lines in the log: {log}");
            tokio::time::sleep(Duration::from_millis(20)).await;
            log.push_str(&gw.logs());
        }
    }
    let gw = Gateway::with(Conf::default());
    assert_eq!(status(&gw).await["libnice_debug"], false);
    call_logs_ice(&gw, false).await;
    let on = harness::admin_request("set_libnice_debug", json!({"debug": true}));
    let r = gw.admin_http().post("", &on).await;
    assert_eq!((&r["janus"], &r["libnice_debug"]), (&json!("success"), &json!(true)), "{r}");
    assert_eq!(status(&gw).await["libnice_debug"], true);
    call_logs_ice(&gw, true).await;
    let off = harness::admin_request("set_libnice_debug", json!({"debug": false}));
    assert_eq!(gw.admin_http().post("", &off).await["libnice_debug"], false);
    assert_eq!(status(&gw).await["libnice_debug"], false);

    let gw = Gateway::with(Conf { nat: "nice_debug = true".to_owned(), ..Conf::default() });
    assert_eq!(status(&gw).await["libnice_debug"], true, "nice_debug");
    call_logs_ice(&gw, true).await;
}

per_language!(echotest_returns_our_audio_and_video, echo_call);

async fn echo_call(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;

    // Hostile datagrams on the media port first: dropped, nothing breaks.
    hostile_datagrams(gw.addr("media")).await;
    let peer = Peer::new(true, true, true).await.expect("peer");
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
    if let Some(up) = stats.connected_at {
        println!("offer -> connected: {:?}", up.duration_since(started));
    }
    if let Some(first) = stats.video.first_at {
        println!("offer -> first echoed video packet: {:?}", first.duration_since(started));
    }
    println!("offer -> 60 echoed video packets: {:?}", started.elapsed());
    assert!(stats.video.valid_markers >= 60);
    peer.wait_packets(Kind::Audio, 50, WAIT).await.expect("echoed audio");
    check_handle_info(&gw, sid, hid, &offer, answer, &peer).await;

    // Data channel echo (the EchoTest prefixes text like Janus's).
    peer.wait_data_open(WAIT).await.expect("data channel open");
    peer.send_text("hello").await.expect("send text");
    let echoed = peer
        .wait_data_message(WAIT, |m| matches!(m, DataMessage::Text(t) if t.ends_with("hello")))
        .await
        .expect("data echo");
    assert_eq!(echoed, DataMessage::Text("Janus EchoTest here! You wrote: hello".into()));

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
    // {"bitrate": 0}: the cap is lifted with a 10 Mbps REMB, as Janus does.
    let seen = s.rtcp.remb.len();
    echotest(&mut ws, sid, hid, "br0", json!({"bitrate": 0}), None).await;
    peer.wait_until("the cap lifted", WAIT, |s| {
        s.rtcp.remb.iter().skip(seen).any(|r| r.bitrate >= 10_000_000)
    })
    .await
    .expect("a 10 Mbps REMB");
    // The gateway's RTCP toward this peer: sender reports (with report blocks for what it
    // receives) and source descriptions. (This peer sends no transport-wide sequence numbers,
    // so no TWCC feedback comes back; the sim tests cover TWCC with str0m clients.)
    let s = peer
        .wait_until("SR and SDES", WAIT, |s| {
            ["SR", "SDES"].iter().all(|k| s.rtcp.by_type.get(*k).copied().unwrap_or(0) > 0)
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    println!("RTCP from the gateway: {:?}", s.rtcp.by_type);

    // hangup: success, the plugin's "done", and a hangup event.
    // The hangup event and the success may come in either order (as from Janus).
    ws.send(&json!({"janus": "hangup", "session_id": sid, "handle_id": hid, "transaction": "h"})).await;
    let (mut hangup, mut success) = (None, None);
    while hangup.is_none() || success.is_none() {
        let v = wait_for(&mut ws, "hangup and its success", |v| {
            v["janus"] == "hangup" || (v["janus"] == "success" && v["transaction"] == "h")
        })
        .await;
        if v["janus"] == "hangup" {
            hangup = Some(v);
        } else {
            success = Some(v);
        }
    }
    assert_eq!(hangup.unwrap()["reason"], "Janus API");
    // The gateway closes its side for real (RTCP BYE, then DTLS close_notify): the client is
    // told at once instead of noticing when its consent checks time out.
    peer.wait_until("an RTCP BYE", WAIT, |s| s.rtcp.by_type.get("BYE").copied().unwrap_or(0) > 0)
        .await
        .expect("the gateway says goodbye");
    peer.close().await.ok();
}

per_language!(audiocodec_and_videocodec_choose_the_answered_codec, codec_choice);

/// `audiocodec`/`videocodec` choose the answered codec, as in Janus: a client offering Opus
/// and G.711 is answered with G.711 alone and gets its G.711 audio back; a stream without the
/// asked codec is refused.
async fn codec_choice(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    // Opus offered first as well (as gateways between SIP and WebRTC do), so the answered
    // codec is the gateway's choice.
    let pcmu_line = media_line(&offer, "audio").to_owned();
    assert!(pcmu_line.ends_with(" 0 126"), "G.711 and its telephone events: {offer}");
    let with_opus = format!("{} 111", pcmu_line.trim_end_matches(" 0 126"));
    let offer = offer
        .replace(&pcmu_line, &format!("{with_opus} 0 126"))
        .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000");
    let jsep = json!({"type": "offer", "sdp": offer});
    let ev =
        echotest(&mut ws, sid, hid, "offer", json!({"audio": true, "audiocodec": "pcmu"}), Some(jsep)).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    let answer = ev["jsep"]["sdp"].as_str().expect("answer sdp");
    assert_eq!(media_line(answer, "audio"), "m=audio 9 UDP/TLS/RTP/SAVPF 0 126", "with its DTMF: {answer}");
    assert!(answer.contains("a=rtpmap:0 PCMU/8000") && !answer.contains("opus"), "{answer}");
    peer.set_answer(answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    let stats = peer.wait_packets(Kind::Audio, 50, WAIT).await.expect("echoed G.711 audio");
    assert_eq!(stats.audio.payload_types, [0].into(), "PCMU comes back as PCMU");
    peer.close().await.ok();

    // Codecs the client does not offer: those streams are refused, the request still succeeds.
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let jsep = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let body = json!({"audiocodec": "g722", "videocodec": "vp9"});
    let ev = echotest(&mut ws, sid, hid, "refused", body, Some(jsep)).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    let answer = ev["jsep"]["sdp"].as_str().expect("answer sdp");
    assert!(media_line(answer, "audio").starts_with("m=audio 0 "), "{answer}");
    assert!(media_line(answer, "video").starts_with("m=video 0 "), "{answer}");
    peer.close().await.ok();
}

/// The `m=` line of the first section of a kind.
fn media_line<'a>(sdp: &'a str, kind: &str) -> &'a str {
    sdp.lines().find(|l| l.starts_with(&format!("m={kind} "))).unwrap_or_default()
}

/// Admin `handle_info` shows the PeerConnection as Janus does: flags, SDPs, ICE and DTLS state,
/// and per stream its codec, the client's SSRC and packet counters (once str0m's first stats
/// report is in).
async fn check_handle_info(gw: &Gateway, sid: u64, hid: u64, offer: &str, answer: &str, peer: &Peer) {
    let admin = gw.admin_http();
    let ask = json!({"janus": "handle_info", "transaction": "i", "admin_secret": "janusoverlord"});
    let deadline = std::time::Instant::now() + WAIT;
    let info = loop {
        let r = admin.post(&format!("/{sid}/{hid}"), &ask).await;
        let info = r["info"].clone();
        let counted = info["webrtc"]["media"].as_object().is_some_and(|m| {
            m.values().filter(|s| s["type"] != "data").all(|s| s["stats"]["in"]["packets"].as_u64() > Some(0))
        });
        if counted {
            break info;
        }
        assert!(std::time::Instant::now() < deadline, "no packet counters in handle_info: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let flags = &info["flags"];
    for flag in
        ["got-offer", "negotiated", "ready", "has-audio", "has-video", "data-channels", "trickle-synced"]
    {
        assert_eq!(flags[flag], true, "{flag}: {info}");
    }
    assert_eq!(flags["resend-trickles"], false, "{info}");
    assert_eq!(flags["got-answer"], false, "{info}");
    assert_eq!((info["ice-mode"].as_str(), info["ice-role"].as_str()), (Some("full"), Some("controlled")));
    assert_eq!(info["sdps"]["remote"], offer);
    assert_eq!(info["sdps"]["local"], answer);
    let ice = &info["webrtc"]["ice"];
    assert!(ice["state"] == "connected" || ice["state"] == "ready", "{ice}");
    let remote = ice["remote-candidates"].as_array().expect("remote candidates");
    assert!(remote.iter().any(|c| c.as_str().is_some_and(|c| c.contains("127.0.0.1"))), "{ice}");
    let dtls = &info["webrtc"]["dtls"];
    assert_eq!(dtls["ready"], true, "{dtls}");
    let theirs =
        offer.lines().find_map(|l| l.trim_end().strip_prefix("a=fingerprint:")).expect("fingerprint");
    let theirs = theirs.split(' ').nth(1).expect("fingerprint hex").to_uppercase();
    let reported = dtls["remote-fingerprint"].as_str().unwrap_or_default().to_uppercase();
    assert!(reported.contains(&theirs), "{reported} vs {theirs}");
    let media = info["webrtc"]["media"].as_object().expect("media");
    // Each stream's m-line index in our answer.
    let mids: Vec<&str> = answer.split("\nm=").skip(1).filter_map(|m| m.split("a=mid:").nth(1)).collect();
    for (mid, m) in media {
        let index = mids.iter().position(|x| x.trim_start().starts_with(&format!("{mid}\r")));
        assert_eq!(m["mindex"].as_u64(), index.map(|i| i as u64), "{mid}: {m} in {answer}");
    }
    let audio = media.values().find(|m| m["type"] == "audio").expect("an audio stream");
    assert_eq!(audio["codecs"]["codec"], "opus", "{audio}");
    assert_eq!(audio["ssrc"]["ssrc-peer"], peer.stats().sent_audio.ssrc, "{audio}");
    assert_eq!(audio["direction"], json!({"send": true, "recv": true}), "{audio}");
    let video = media.values().find(|m| m["type"] == "video").expect("a video stream");
    assert_eq!(video["ssrc"]["ssrc-peer"], peer.stats().sent_video.ssrc, "{video}");
    assert!(video["stats"]["out"]["packets"].as_u64() > Some(0), "the echo is counted: {video}");
    // The last second's bytes, as Janus's `bytes_lastsec`: what came in its first second.
    assert!(audio["stats"]["in"]["bytes_lastsec"].as_u64() > Some(0), "{audio}");
    assert!(video["stats"]["out"]["bytes_lastsec"].as_u64() > Some(0), "{video}");
}

/// Garbage, truncated STUN, fake RTP and RTCP with bad lengths, oversized datagrams.
async fn hostile_datagrams(media: std::net::SocketAddr) {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let mut stun = vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42];
    stun.extend_from_slice(&[1; 12]);
    stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x40, b'x', b':']);
    let samples: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff; 3],
        stun.clone(),
        stun[..10].to_vec(),
        vec![0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
        vec![0x81, 0xc8, 0xff, 0xff, 0, 0, 0, 1],
        vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff],
        (0..1500u32).map(|i| (i * 7) as u8).collect(),
    ];
    for s in &samples {
        let _ = sock.send_to(s, media).await;
    }
}

/// A gateway with the test-only plugin beside the EchoTest.
fn gateway_with_testfault() -> Gateway {
    gateway_with_testfault_sandbox("")
}

/// [`gateway_with_testfault`] with lines for testfault's `sandbox` section.
fn gateway_with_testfault_sandbox(sandbox: &str) -> Gateway {
    let dir = harness::TempDir::new("media-plugins");
    for (built, plugin) in [
        (env!("PORTUNUS_TEST_PLUGINS_DIR"), "testfault.wasm"),
        (env!("PORTUNUS_BUILTIN_PLUGINS_DIR"), "echotest.wasm"),
    ] {
        std::fs::copy(std::path::Path::new(built).join(plugin), dir.join(plugin)).unwrap();
    }
    let mut conf = Conf::general(&format!("wasm_plugins_folder = \"{}\"", dir.display()));
    conf.extra.push(("janus.plugin.testfault.jcfg".into(), format!("sandbox: {{\n{sandbox}\n}}\n")));
    Gateway::with(conf).owning(dir)
}

/// Asks testfault on handle `from` for a rule forwarding its media to `to` (the `kinds` given,
/// or all); returns the plugin's reply (`rule`, or `error`).
async fn testfault_forward(ws: &mut WsClient, sid: u64, from: u64, to: u64, kinds: Option<&[&str]>) -> Value {
    let mut body = json!({"request": "forward", "to_session": sid, "to_handle": to});
    if let Some(kinds) = kinds {
        body["kinds"] = json!(kinds);
    }
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": from, "body": body})).await;
    r["plugindata"]["data"].clone()
}

/// Waits until `peer` got 60 video and 25 audio packets from the peer with nonce `from`.
async fn wait_media_from(peer: &Peer, from: [u8; 4], what: &str) {
    peer.wait_until(what, WAIT, |s| {
        s.video.foreign_markers.get(&from).copied().unwrap_or(0) >= 60
            && s.audio.foreign_markers.get(&from).copied().unwrap_or(0) >= 25
    })
    .await
    .unwrap_or_else(|e| panic!("{what}: {}", e.0));
}

/// Attaches testfault, negotiates through its `answer` request, and starts sending.
async fn connect_through_testfault(ws: &mut WsClient, sid: u64, name: &str) -> (u64, Peer) {
    let (hid, peer, _) = answered_by_testfault(ws, sid, name, json!({"request": "answer"})).await;
    (hid, peer)
}

/// As [`connect_through_testfault`], with the `answer` request's body; also gives the answer.
async fn answered_by_testfault(ws: &mut WsClient, sid: u64, name: &str, body: Value) -> (u64, Peer, String) {
    let hid = attach(ws, sid, TESTFAULT).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let tx = format!("answer-{name}");
    let ev = echotest(ws, sid, hid, &tx, body, Some(json!({"type": "offer", "sdp": offer}))).await;
    let answer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no answer: {ev}")).to_owned();
    peer.set_answer(&answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    (hid, peer, answer)
}

/// A crash right after the plugin accepted a client's offer does not fail the request: the
/// negotiation under way completes, and the restored plugin sends the answer (no late error
/// for the request, which a crash that loses an accepted request gives).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_an_accepted_offer_still_answers_it() {
    // No checkpoint between the accepted offer and the crash queued behind it.
    let gw = gateway_with_testfault_sandbox("cpu_ms_per_call = 2000\nbusy_checkpoint_ms = 60000");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, TESTFAULT).await;
    let crashing = attach(&mut ws, sid, TESTFAULT).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    // One connection hands its requests to the plugin in order: the first keeps it busy while
    // the offer and the crash queue behind it.
    ws.send(&message(sid, crashing, "hold", json!({"request": "accept", "ms": 200}))).await;
    let mut answer = message(sid, hid, "offer", json!({"request": "answer"}));
    answer["jsep"] = json!({"type": "offer", "sdp": offer});
    ws.send(&answer).await;
    ws.send(&message(sid, crashing, "crash", json!({"request": "panic"}))).await;
    let jsep = wait_for(&mut ws, "the answer", |v| {
        assert!(!(v["janus"] == "error" && v["transaction"] == "offer"), "the accepted offer failed: {v}");
        v["sender"] == hid && v["jsep"].is_object()
    })
    .await;
    peer.set_answer(jsep["jsep"]["sdp"].as_str().expect("sdp")).await.expect("set answer");
    peer.wait_connected(WAIT).await.expect("connected");
}

per_language!(a_client_closing_its_peerconnection_is_hung_up, closing_pc);

/// A client that closes its PeerConnection is hung up at once ("DTLS alert", as Janus says) and
/// the EchoTest tells it it is done.
async fn closing_pc(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, true).await.expect("peer");
    let jsep = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let ev = echotest(&mut ws, sid, hid, "offer", json!({"audio": true, "video": true}), Some(jsep)).await;
    peer.set_answer(ev["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");
    peer.start_media().await;
    peer.wait_packets(Kind::Video, 30, WAIT).await.expect("echo");
    peer.close().await.expect("close");
    let hangup = wait_for(&mut ws, "hangup", |v| v["janus"] == "hangup" && v["sender"] == hid).await;
    assert_eq!(hangup["reason"], "DTLS alert", "{hangup}");
    let done = wait_for(&mut ws, "done", |v| v["plugindata"]["data"]["result"] == "done").await;
    assert_eq!(done["sender"], hid, "{done}");
}

/// A plugin acts on its own handles only: testfault cannot forward to an EchoTest handle, nor
/// from one, in the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cannot_touch_another_plugins_handles() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let tf = attach(&mut ws, sid, TESTFAULT).await;
    let echo = attach(&mut ws, sid, ECHOTEST).await;
    let tf2 = attach(&mut ws, sid, TESTFAULT).await;
    let r = testfault_forward(&mut ws, sid, tf, echo, None).await;
    assert_eq!(r["rule"], Value::Null, "{r}");
    assert_eq!(r["error"], format!("no such handle {echo}"), "{r}");
    let r = testfault_forward(&mut ws, sid, tf, tf2, None).await;
    assert!(r["rule"].is_u64(), "its own handles are fine: {r}");
}

/// A plugin's `close-pc` hangs the PeerConnection up: the client gets `hangup` "Close PC" and
/// the gateway stops sending to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_pc_hangs_up_the_peerconnection() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (ha, a) = connect_through_testfault(&mut ws, sid, "a").await;
    let r = testfault_forward(&mut ws, sid, ha, ha, None).await;
    assert!(r["rule"].is_u64(), "{r}");
    a.wait_packets(Kind::Video, 30, WAIT).await.expect("echo through the rule");
    let r = ws
        .call(
            json!({"janus": "message", "session_id": sid, "handle_id": ha, "body": {"request": "close_pc"}}),
        )
        .await;
    assert_eq!(r["plugindata"]["data"]["testfault"], "closed", "{r}");
    let hangup = wait_for(&mut ws, "hangup", |v| v["janus"] == "hangup" && v["sender"] == ha).await;
    assert_eq!(hangup["reason"], "Close PC", "{hangup}");
    let admin = gw.admin_http();
    let ask = json!({"janus": "handle_info", "transaction": "i", "admin_secret": "janusoverlord"});
    let info = admin.post(&format!("/{sid}/{ha}"), &ask).await;
    assert_eq!(info["info"]["flags"]["ready"], false, "no PeerConnection any more: {info}");
    a.close().await.ok();
}

/// A plugin that answers receive-only (a publisher, say) gets the client's media and sends it
/// nothing, even when a rule points at it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recvonly_answer_carries_media_one_way() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let body = json!({"request": "answer", "direction": "recvonly"});
    let (ha, a, answer) = answered_by_testfault(&mut ws, sid, "a", body).await;
    assert_eq!(answer.matches("a=recvonly").count(), 2, "{answer}");
    assert!(!answer.contains("a=sendrecv"), "{answer}");
    let (hb, b) = connect_through_testfault(&mut ws, sid, "b").await;
    for (from, to) in [(ha, hb), (hb, ha)] {
        let r = testfault_forward(&mut ws, sid, from, to, None).await;
        assert!(r["rule"].is_u64(), "{r}");
    }
    wait_media_from(&b, a.nonce(), "A's media at B").await;
    let sa = a.stats();
    assert_eq!(sa.video.packets + sa.audio.packets, 0, "media sent to a recvonly answer: {sa:?}");
    a.close().await.ok();
    b.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_forwards_one_peer_to_another() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    // Handles not offered another's streams get the least busy media thread and the gateway
    // runs two here: A and B live on different threads, so this also covers packets crossing
    // between threads.
    let (ha, a) = connect_through_testfault(&mut ws, sid, "a").await;
    let (hb, b) = connect_through_testfault(&mut ws, sid, "b").await;
    let r = testfault_forward(&mut ws, sid, ha, hb, None).await;
    assert!(r["rule"].is_u64(), "{r}");
    wait_media_from(&b, a.nonce(), "A's video and audio at B").await;
    // Nothing goes the other way: there is no rule from B to A.
    let sa = a.stats();
    assert!(
        sa.video.foreign_markers.is_empty() && sa.audio.foreign_markers.is_empty(),
        "{:?}",
        sa.video.foreign_markers
    );
    // A rule for video only: B's video reaches A, its audio does not.
    let r = testfault_forward(&mut ws, sid, hb, ha, Some(&["video"])).await;
    assert!(r["rule"].is_u64(), "{r}");
    let from_b = b.nonce();
    let sa = a
        .wait_until("B's video at A", WAIT, |s| {
            s.video.foreign_markers.get(&from_b).copied().unwrap_or(0) >= 60
        })
        .await
        .expect("video-only rule");
    assert!(sa.audio.foreign_markers.is_empty(), "audio came through a video-only rule: {:?}", sa.audio);
    a.close().await.ok();
    b.close().await.ok();
}

/// Has testfault offer handle `hb` the streams 0 and 1 of handle `ha`, answers the offer with
/// `peer` and sends the answer with `start`; returns the offer event and the `start` reply.
async fn subscribe(ws: &mut WsClient, sid: u64, ha: u64, hb: u64, tx: &str, peer: &Peer) -> (Value, Value) {
    let body = json!({"request": "offer", "from_session": sid, "from_handle": ha, "mids": ["0", "1"]});
    let ev = echotest(ws, sid, hb, tx, body, None).await;
    let offer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no offer: {ev}"));
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    let r = ws
        .call(json!({"janus": "message", "session_id": sid, "handle_id": hb, "body": {"request": "start"},
                     "jsep": {"type": "answer", "sdp": answer}}))
        .await;
    (ev, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_offer_subscribes_a_peer_to_another_ones_streams() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (ha, a) = connect_through_testfault(&mut ws, sid, "publisher").await;
    let hb = attach(&mut ws, sid, TESTFAULT).await;
    // An answer before any offer of ours: 469.
    let stray = ws
        .call(json!({"janus": "message", "session_id": sid, "handle_id": hb, "body": {"request": "start"},
                     "jsep": {"type": "answer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                     m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n\
                     a=fingerprint:sha-256 AA:BB\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"}}))
        .await;
    harness::assert_error(&stray, 469);

    // The plugin offers B the publisher's audio and video (mids 0 and 1 of its offer).
    let b = Peer::new(false, false, false).await.expect("subscriber");
    let (ev, r) = subscribe(&mut ws, sid, ha, hb, "offer", &b).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "offered", "{ev}");
    assert_eq!(ev["jsep"]["type"], "offer", "{ev}");
    let offer = ev["jsep"]["sdp"].as_str().expect("offer sdp");
    assert!(offer.contains("a=fingerprint:") && offer.contains("127.0.0.1"), "{offer}");
    assert!(
        offer.contains("m=audio") && offer.contains("m=video") && offer.contains("a=sendonly"),
        "{offer}"
    );
    let mids = ev["plugindata"]["data"]["mids"].as_array().expect("mids").clone();
    assert_eq!(mids.len(), 2, "{ev}");
    let rules = &r["plugindata"]["data"]["rules"];
    assert!(rules.as_array().is_some_and(|v| v.len() == 2 && v.iter().all(Value::is_u64)), "{r}");
    b.wait_connected(WAIT).await.expect("subscriber connected");
    wait_for(&mut ws, "the subscriber's webrtcup", |v| v["janus"] == "webrtcup" && v["sender"] == hb).await;
    wait_media_from(&b, a.nonce(), "the publisher's video and audio at the subscriber").await;
    assert_eq!(b.stats().remote_tracks.len(), 2);

    // Renegotiation on the live PeerConnection: the same streams offered again, as new ones.
    let (ev, r) = subscribe(&mut ws, sid, ha, hb, "offer-again", &b).await;
    let again = ev["plugindata"]["data"]["mids"].as_array().expect("mids").clone();
    assert!(again.iter().all(|m| !mids.contains(m)), "new mids {again:?} after {mids:?}");
    assert_eq!(r["plugindata"]["data"]["rules"].as_array().map(Vec::len), Some(2), "{r}");
    b.wait_until("four remote tracks", WAIT, |s| s.remote_tracks.len() == 4).await.expect("renegotiated");
    a.close().await.ok();
    b.close().await.ok();
}

per_language!(a_client_renegotiation_keeps_the_echo_going, renegotiation);

async fn renegotiation(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    for round in ["first", "again"] {
        let offer = peer.create_offer(WAIT).await.expect("offer");
        let body = json!({"audio": true, "video": true});
        let ev = echotest(&mut ws, sid, hid, round, body, Some(json!({"type": "offer", "sdp": offer}))).await;
        let answer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("{round}: {ev}"));
        peer.set_answer(answer).await.expect("set answer");
        if round == "first" {
            peer.start_media().await;
            peer.wait_connected(WAIT).await.expect("connected");
        }
        let before = peer.stats().video.valid_markers;
        peer.wait_until("echoed video after the negotiation", WAIT, |s| s.video.valid_markers >= before + 30)
            .await
            .expect("echo");
    }
    peer.close().await.ok();
}

/// `ice_lite`, `rtp_port_range`, `nat_1_1_mapping` with `keep_private_host`: the answer says
/// ice-lite and carries the public and the private candidate on a port of the range, `info`
/// reports the addresses as Janus does, and a full-ICE client gets its echo back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_lite_port_range_and_public_address() {
    let first =
        std::net::UdpSocket::bind("127.0.0.1:0").expect("a free port").local_addr().expect("port").port();
    let (lo, hi) = (first.min(65_000), first.min(65_000) + 40);
    let core = format!(
        "nat: {{ ice_enforce_list = \"lo\"\nice_lite = true\nnat_1_1_mapping = \"203.0.113.7\"\n\
         keep_private_host = true }}\nmedia: {{ media_threads = 2\nrtp_port_range = \"{lo}-{hi}\" }}\n"
    );
    let gw = Gateway::with(Conf { extra: vec![("janus.jcfg".into(), core)], ..Conf::default() });
    let mut ws = gw.ws().await;
    let info = ws.call(json!({"janus": "info"})).await;
    assert_eq!(info["ice-lite"], true, "{info}");
    assert_eq!(info["local-ip"], "127.0.0.1", "{info}");
    assert_eq!(info["public-ip"], "203.0.113.7", "{info}");
    assert_eq!(info["ipv6"], false, "{info}");
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let jsep = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let ev = echotest(&mut ws, sid, hid, "offer", json!({"audio": true, "video": true}), Some(jsep)).await;
    let answer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no answer: {ev}"));
    assert!(answer.contains("a=ice-lite"), "{answer}");
    let candidates: Vec<(String, u16)> = answer
        .lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .map(|c| {
            let f: Vec<&str> = c.split(' ').collect();
            (f[4].to_owned(), f[5].parse().expect("port"))
        })
        .collect();
    let ips: Vec<&str> = candidates.iter().map(|(ip, _)| ip.as_str()).collect();
    assert!(ips.contains(&"203.0.113.7") && ips.contains(&"127.0.0.1"), "{answer}");
    assert!(candidates.iter().all(|(_, port)| (lo..=hi).contains(port)), "{candidates:?} not in {lo}-{hi}");
    peer.set_answer(answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected to an ice-lite gateway");
    peer.wait_packets(Kind::Video, 30, WAIT).await.expect("echoed video");
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_trickle_candidates_then_media_stopping_with_seconds() {
    let core = "general: { admin_secret = \"janusoverlord\" }\n\
                nat: { ice_enforce_list = \"lo\"\nfull_trickle = true }\n\
                media: { media_threads = 2\nno_media_timer = 1 }\n";
    let gw = Gateway::with(Conf { extra: vec![("janus.jcfg".into(), core.into())], ..Conf::default() });
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let info = ws.call(json!({"janus": "info"})).await;
    assert_eq!(info["full-trickle"], true, "{info}");
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    ws.send(&json!({"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "offer",
                    "body": {"audio": true, "video": true}, "jsep": {"type": "offer", "sdp": offer}}))
        .await;
    // The answer (without candidates) and the trickled candidates, in whatever order they come.
    let mut answer = None;
    let mut candidates = Vec::new();
    let mut completed = false;
    while answer.is_none() || !completed {
        let v = wait_for(&mut ws, "the answer and our candidates", |v| {
            (v["janus"] == "event" && v["transaction"] == "offer") || v["janus"] == "trickle"
        })
        .await;
        if v["janus"] == "trickle" {
            assert_eq!(v["sender"], hid, "{v}");
            if v["candidate"]["completed"] == true {
                completed = true;
            } else {
                assert_eq!(v["candidate"]["sdpMLineIndex"], 0, "{v}");
                assert!(v["candidate"]["candidate"].as_str().is_some_and(|c| c.contains("127.0.0.1")), "{v}");
                candidates.push(v["candidate"].clone());
            }
        } else {
            answer = v["jsep"]["sdp"].as_str().map(str::to_owned);
        }
    }
    let answer = answer.expect("answer");
    assert!(!answer.contains("a=candidate"), "full trickle: no candidates in the SDP: {answer}");
    assert!(!candidates.is_empty());
    peer.set_answer(&answer).await.expect("set answer");
    for c in &candidates {
        peer.add_remote_candidate(c).await.expect("candidate");
    }
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    peer.wait_packets(Kind::Video, 30, WAIT).await.expect("echoed video");
    // The admin API raises no_media_timer from 1 s to 3 s on the running gateway; the client
    // stops sending: after 3 s, not 1, both media threads' events say so, with the seconds, as
    // Janus does when the timer is above 1 s.
    let admin = gw.admin_http();
    let set = admin
        .post(
            "",
            &json!({"janus": "set_no_media_timer", "no_media_timer": 3, "transaction": "t",
                           "admin_secret": "janusoverlord"}),
        )
        .await;
    assert_eq!(set["no_media_timer"], 3, "{set}");
    let stopped_at = std::time::Instant::now();
    peer.stop_media();
    let stopped =
        wait_for(&mut ws, "media stopping", |v| v["janus"] == "media" && v["receiving"] == false).await;
    assert_eq!(stopped["seconds"], 3, "{stopped}");
    assert!(stopped_at.elapsed() >= Duration::from_millis(2500), "reported after {:?}", stopped_at.elapsed());
    assert_eq!(stopped["sender"], hid, "{stopped}");
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datagram_flood_does_not_starve_the_media_threads_commands() {
    let core = "nat: { ice_enforce_list = \"lo\" }\nmedia: { media_threads = 1 }\n";
    let gw = Gateway::with(Conf { extra: vec![("janus.jcfg".into(), core.into())], ..Conf::default() });
    let media = gw.addr("media");
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    // Strangers flood the media socket (with the transmit side of this test's two cores)
    // until the test ends.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let flood: Vec<_> = (0..2)
        .map(|i| {
            let (stop, sent) = (stop.clone(), sent.clone());
            std::thread::spawn(move || {
                let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
                let junk = [0x80 | i, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if sock.send_to(&junk, media).is_ok() {
                        sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    // The flood is under way before negotiating (on a loaded machine the threads may start late).
    let deadline = std::time::Instant::now() + WAIT;
    while sent.load(std::sync::atomic::Ordering::Relaxed) < 2000 {
        assert!(std::time::Instant::now() < deadline, "the flood did not start");
        tokio::time::sleep(Duration::from_millis(1)).await; // polls the counter, bounded by WAIT
    }
    // Negotiating needs the media thread: it answers while the flood goes on.
    let peer = Peer::new(true, true, false).await.expect("peer");
    let jsep = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let ev = echotest(&mut ws, sid, hid, "offer", json!({"audio": true, "video": true}), Some(jsep)).await;
    assert_eq!(ev["jsep"]["type"], "answer", "{ev}");
    let info = gw
        .admin_http()
        .post(
            "",
            &json!({"janus": "handle_info", "transaction": "i", "admin_secret": "janusoverlord",
                    "session_id": sid, "handle_id": hid}),
        )
        .await;
    assert!(info["info"]["sdps"]["local"].is_string(), "{info}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.into_iter().for_each(|t| t.join().expect("flood thread"));
    println!("flood datagrams sent: {}", sent.load(std::sync::atomic::Ordering::Relaxed));
}

/// The mid of the first `kind` section of an SDP.
fn mid_of(sdp: &str, kind: &str) -> String {
    let section = sdp.split("\r\nm=").find(|s| s.starts_with(&format!("{kind} "))).expect("media section");
    let mid = section.lines().find_map(|l| l.strip_prefix("a=mid:")).expect("a=mid");
    mid.trim().to_owned()
}

/// One RTP packet as a plain receiver sees it.
struct Rtp {
    marker: bool,
    pt: u8,
    seq: u16,
    ssrc: u32,
    payload: Vec<u8>,
}

/// Reads RTP packets on `sock` until `enough` says so (or panics after [`WAIT`]).
async fn receive_rtp(sock: &tokio::net::UdpSocket, what: &str, enough: impl Fn(&[Rtp]) -> bool) -> Vec<Rtp> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while !enough(&got) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let (n, _) = tokio::time::timeout(left, sock.recv_from(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what} ({} packets)", got.len()))
            .expect("recv");
        let b = &buf[..n];
        assert!(n >= 12 && b[0] >> 6 == 2, "not RTP: {b:?}");
        got.push(Rtp {
            marker: b[1] & 0x80 != 0,
            pt: b[1] & 0x7f,
            seq: u16::from_be_bytes([b[2], b[3]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload: b[12..].to_vec(),
        });
    }
    got
}

/// Waits until nothing arrives on `sock` for 300 ms (at most [`WAIT`]).
async fn wait_quiet(sock: &tokio::net::UdpSocket, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut buf = [0u8; 2048];
    while tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf)).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "{what} never stopped");
    }
}

/// Complete VP8 frames (by the marker bit) whose packets carry consecutive counters, from the
/// first key frame on: what a decoder could use.
fn whole_frames(packets: &[Rtp], nonce: [u8; 4]) -> usize {
    let Some(start) = packets.iter().position(|p| peer::vp8_is_keyframe(&p.payload)) else { return 0 };
    let mut frames = 0;
    let mut counters = Vec::new();
    for p in &packets[start..] {
        let (from, tag, counter, _) = peer::read_marker(&p.payload).expect("a test peer's marker");
        assert_eq!((from, tag), (nonce, b'V'), "another stream's packet");
        counters.push(counter);
        if p.marker {
            frames += usize::from(counters.windows(2).all(|w| w[1] == w[0] + 1));
            counters.clear();
        }
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_forward_sends_a_stream_as_plain_rtp() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (hid, peer, answer) = answered_by_testfault(&mut ws, sid, "a", json!({"request": "answer"})).await;
    let video = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let audio = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let forward = |mid: String, port: u16, extra: Value| {
        let mut body = json!({"request": "rtp_forward", "mid": mid, "host": "127.0.0.1", "port": port});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body})
    };
    let port = |s: &tokio::net::UdpSocket| s.local_addr().expect("addr").port();
    let r = ws
        .call(forward(mid_of(&answer, "video"), port(&video), json!({"ssrc": 0x1234_5678, "pt": 100})))
        .await;
    let video_rule = r["plugindata"]["data"]["rule"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let r = ws.call(forward(mid_of(&answer, "audio"), port(&audio), json!({}))).await;
    assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");

    // Video: our SSRC and payload type, gap-free sequence numbers, and whole frames from the
    // key frame the gateway asked the sender for.
    let nonce = peer.nonce();
    let got = receive_rtp(&video, "forwarded video", |p| whole_frames(p, nonce) >= 20).await;
    assert!(got.iter().all(|p| p.ssrc == 0x1234_5678 && p.pt == 100));
    assert!(got.windows(2).all(|w| w[1].seq == w[0].seq.wrapping_add(1)), "gaps in the sequence numbers");
    // Audio: the source's payload type (Opus as negotiated) and the audio stream only.
    let opus_pt: u8 = answer
        .lines()
        .find_map(|l| l.strip_prefix("a=rtpmap:").filter(|r| r.to_lowercase().contains("opus/48000")))
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .expect("opus in the answer");
    let got = receive_rtp(&audio, "forwarded audio", |p| p.len() >= 25).await;
    for p in &got {
        let (from, tag, ..) = peer::read_marker(&p.payload).expect("marker");
        assert_eq!((from, tag, p.pt), (nonce, b'A', opus_pt));
    }

    // SDES-SRTP (Janus's srtp_suite 32 and srtp_crypto): webrtc-rs's SRTP decrypts it.
    let secure = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let master: Vec<u8> = (0..30u8).map(|i| i.wrapping_mul(37).wrapping_add(5)).collect();
    let key = data_encoding::BASE64.encode(&master);
    let extra = json!({"ssrc": 77, "srtp_suite": 32, "srtp_crypto": key});
    let r = ws.call(forward(mid_of(&answer, "audio"), port(&secure), extra)).await;
    assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    let crypto = rtc::crypto::default_provider().expect("crypto");
    let profile = rtc::srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_32;
    let mut srtp =
        rtc::srtp::context::Context::new(&master[..16], &master[16..], profile, None, None, crypto.crypto())
            .expect("SRTP context");
    let mut buf = [0u8; 2048];
    for _ in 0..25 {
        let (n, _) =
            tokio::time::timeout(WAIT, secure.recv_from(&mut buf)).await.expect("SRTP audio").expect("recv");
        let plain = srtp.decrypt_rtp(&buf[..n]).expect("authenticates and decrypts");
        assert_eq!(u32::from_be_bytes([plain[8], plain[9], plain[10], plain[11]]), 77);
        let (from, tag, ..) = peer::read_marker(&plain[12..]).expect("marker in the decrypted payload");
        assert_eq!((from, tag), (nonce, b'A'));
        assert!(peer::read_marker(&buf[12..n - 4]).is_none(), "the payload went out in the clear");
    }
    let r =
        ws.call(forward(mid_of(&answer, "audio"), port(&secure), json!({"srtp_crypto": "c2hvcnQ="}))).await;
    assert!(r["plugindata"]["data"]["error"].as_str().unwrap().contains("bytes"), "{r}");

    // Unforwarded: the video stops, the audio goes on.
    let r = ws
        .call(json!({"janus": "message", "session_id": sid, "handle_id": hid,
                     "body": {"request": "unforward", "rule": video_rule}}))
        .await;
    assert_eq!(r["plugindata"]["data"]["testfault"], "unforwarded", "{r}");
    wait_quiet(&video, "the unforwarded video").await;
    receive_rtp(&audio, "audio after the video stopped", |p| p.len() >= 10).await;
    peer.close().await.ok();
}

/// The payload type the answer gives a codec (`opus/48000`, `vp8/90000`).
fn answered_pt(answer: &str, rtpmap: &str) -> u8 {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("a=rtpmap:").filter(|r| r.to_lowercase().contains(rtpmap)))
        .and_then(|r| r.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{rtpmap} in the answer"))
}

/// A plain RTP packet of 20 ms as a phone sends it in payload type `pt` (111: Opus at 48 kHz;
/// any other: 8 kHz): an Opus TOC and a test marker with `nonce`.
fn phone_packet(pt: u8, seq: u16, ssrc: u32, nonce: [u8; 4], counter: u32) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    let step = if pt == 111 { 960 } else { 160 };
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * step).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.push(0xfc);
    p.extend_from_slice(peer::MAGIC);
    p.extend_from_slice(&nonce);
    p.push(b'A');
    p.extend_from_slice(&counter.to_be_bytes());
    p.extend_from_slice(&counter.to_be_bytes());
    p.resize(92, 0x55);
    p
}

/// Sends 20 ms of phone audio (Opus) from `sock` to `to` until the returned sender is
/// dropped; with `srtp`, protected by webrtc-rs.
fn phone_talks(
    sock: std::sync::Arc<tokio::net::UdpSocket>,
    to: std::net::SocketAddr,
    nonce: [u8; 4],
    srtp: Option<rtc::srtp::context::Context>,
) -> tokio::sync::oneshot::Sender<()> {
    phone_talks_in(111, sock, to, nonce, srtp)
}

/// As [`phone_talks`], in payload type `pt`.
fn phone_talks_in(
    pt: u8,
    sock: std::sync::Arc<tokio::net::UdpSocket>,
    to: std::net::SocketAddr,
    nonce: [u8; 4],
    mut srtp: Option<rtc::srtp::context::Context>,
) -> tokio::sync::oneshot::Sender<()> {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for n in 0..2000u32 {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopped => return,
            }
            let packet = phone_packet(pt, n as u16, 0x5151, nonce, n);
            let packet = match &mut srtp {
                Some(ctx) => ctx.encrypt_rtp(&packet).expect("SRTP").to_vec(),
                None => packet,
            };
            let _ = sock.send_to(&packet, to).await;
        }
    });
    stop
}

/// A webrtc-rs SRTP context for one direction.
fn srtp_context(
    master: &[u8],
    profile: rtc::srtp::protection_profile::ProtectionProfile,
) -> rtc::srtp::context::Context {
    let crypto = rtc::crypto::default_provider().expect("crypto");
    rtc::srtp::context::Context::new(&master[..16], &master[16..], profile, None, None, crypto.crypto())
        .expect("SRTP context")
}

/// Opens a leg on testfault handle `hid`, connects it to `address` and forwards the handle's
/// audio to it and back; returns the leg's reply.
async fn leg_between(
    ws: &mut WsClient,
    sid: u64,
    hid: u64,
    audio_mid: &str,
    open: Value,
    connect: Value,
) -> Value {
    let call = |body: Value| json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body});
    let r = ws.call(call(open)).await;
    let leg = r["plugindata"]["data"].clone();
    let id = leg["leg"].as_u64().unwrap_or_else(|| panic!("leg_open: {r}"));
    let mut connect = connect;
    connect["request"] = json!("leg_connect");
    connect["leg"] = json!(id);
    let r = ws.call(call(connect)).await;
    assert!(r["plugindata"]["data"]["error"].is_null(), "{r}");
    let peer_ep = json!({"peer": [sid, hid]});
    for (src, dst, src_mid) in
        [(peer_ep.clone(), json!({"leg": id}), json!(audio_mid)), (json!({"leg": id}), peer_ep, Value::Null)]
    {
        let r =
            ws.call(call(json!({"request": "forward_ep", "src": src, "dst": dst, "src_mid": src_mid}))).await;
        assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    }
    leg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_rtp_leg_carries_media_both_ways_with_sdes_srtp() {
    use rtc::srtp::protection_profile::ProtectionProfile;
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (hid, peer, answer) = answered_by_testfault(&mut ws, sid, "a", json!({"request": "answer"})).await;
    let phone = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let phone_key: Vec<u8> = (0..30u8).map(|i| i.wrapping_mul(11).wrapping_add(3)).collect();
    let open = json!({"request": "leg_open", "kind": "audio", "codecs": [{"pt": 111, "name": "opus", "clock": 48000}],
                      "srtp_suite": 80});
    // The phone signals an address it does not send from (a NAT's rewriting): latching moves the
    // leg to where its packets come from, as they authenticate.
    let connect = json!({"address": "127.0.0.1:9", "codec": {"pt": 111, "name": "opus", "clock": 48000},
                         "srtp_suite": 80, "srtp_crypto": data_encoding::BASE64.encode(&phone_key), "latch": true});
    let leg = leg_between(&mut ws, sid, hid, &mid_of(&answer, "audio"), open, connect).await;
    let sdp = leg["sdp"].as_str().unwrap();
    let address: std::net::SocketAddr = leg["address"].as_str().unwrap().parse().unwrap();
    assert!(
        sdp.starts_with(&format!("m=audio {} RTP/SAVP 111\r\nc=IN IP4 127.0.0.1\r\n", address.port())),
        "{sdp}"
    );
    assert!(
        sdp.contains("a=rtpmap:111 opus/48000/2\r\n")
            && sdp.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "{sdp}"
    );
    let leg_key = data_encoding::BASE64.decode(leg["srtp_crypto"].as_str().unwrap().as_bytes()).unwrap();

    let _talking = phone_talks(
        phone.clone(),
        address,
        [9, 9, 9, 9],
        Some(srtp_context(&phone_key, ProtectionProfile::Aes128CmHmacSha1_80)),
    );
    peer.wait_until("the phone's audio at the WebRTC peer", WAIT, |s| {
        s.audio.foreign_markers.get(&[9, 9, 9, 9]).copied().unwrap_or(0) >= 25
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
    // The phone hears the WebRTC peer, in SRTP it can decrypt with the leg's key.
    let mut rx = srtp_context(&leg_key, ProtectionProfile::Aes128CmHmacSha1_80);
    let mut buf = [0u8; 2048];
    let mut heard = 0;
    while heard < 25 {
        let (n, from) = tokio::time::timeout(WAIT, phone.recv_from(&mut buf))
            .await
            .expect("the peer's audio")
            .expect("recv");
        assert_eq!(from, address);
        let plain = rx.decrypt_rtp(&buf[..n]).expect("authenticates");
        assert_eq!(plain[1] & 0x7f, 111, "the leg's payload type");
        let (nonce, tag, ..) = peer::read_marker(&plain[12..]).expect("marker");
        assert_eq!((nonce, tag), (peer.nonce(), b'A'));
        heard += 1;
    }
    let _ = answered_pt(&answer, "opus/48000");
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_address_cannot_take_over_a_plain_leg() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (hid, peer, answer) = answered_by_testfault(&mut ws, sid, "a", json!({"request": "answer"})).await;
    let phone = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let intruder =
        std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.2:0").await.expect("bind 127.0.0.2"));
    let open = json!({"request": "leg_open", "kind": "audio", "codecs": [{"pt": 111, "name": "opus", "clock": 48000}]});
    // Plain RTP: the leg may move only to a source at the address the signaling came from.
    let connect = json!({"address": "127.0.0.1:9", "codec": {"pt": 111, "name": "opus", "clock": 48000},
                         "latch": true, "latch_ip": "127.0.0.1"});
    let leg = leg_between(&mut ws, sid, hid, &mid_of(&answer, "audio"), open, connect).await;
    let address: std::net::SocketAddr = leg["address"].as_str().unwrap().parse().unwrap();
    assert!(leg["sdp"].as_str().unwrap().contains(" RTP/AVP 111\r\n"), "{leg}");
    // The intruder talks first, then the phone too.
    let _intruding = phone_talks(intruder.clone(), address, [6, 6, 6, 6], None);
    let _talking = phone_talks(phone.clone(), address, [7, 7, 7, 7], None);
    let stats = peer
        .wait_until("the phone's audio", WAIT, |s| {
            s.audio.foreign_markers.get(&[7, 7, 7, 7]).copied().unwrap_or(0) >= 25
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert!(!stats.audio.foreign_markers.contains_key(&[6, 6, 6, 6]), "the intruder's audio got through");
    tokio::task::block_in_place(|| {
        gw.wait_log(&format!("datagram from {} refused", intruder.local_addr().unwrap()))
    });
    // What the leg sends goes to the phone, never to the intruder.
    let mut buf = [0u8; 2048];
    for _ in 0..10 {
        let (n, from) = tokio::time::timeout(WAIT, phone.recv_from(&mut buf))
            .await
            .expect("the peer's audio")
            .expect("recv");
        assert_eq!(from, address);
        assert_eq!(peer::read_marker(&buf[12..n]).map(|m| m.0), Some(peer.nonce()));
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(200), intruder.recv_from(&mut buf)).await.is_err(),
        "the leg sent to the intruder"
    );
    peer.close().await.ok();
}

/// A VP8 packet as a camera's encoder sends it: one packet per frame, a key frame when asked,
/// with a test marker whose nonce names the substream.
fn camera_packet(pt: u8, seq: u16, ssrc: u32, frame: u32, keyframe: bool, nonce: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0x80, 0x80 | pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(frame * 3000).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    // VP8 descriptor (S=1, PID=0) and frame tag (P=0 for a key frame, show_frame=1).
    p.extend_from_slice(&[0x10, if keyframe { 0x10 } else { 0x11 }, 0x19, 0x00]);
    if keyframe {
        p.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
    }
    p.extend_from_slice(peer::MAGIC);
    p.extend_from_slice(&nonce);
    p.push(b'V');
    p.extend_from_slice(&frame.to_be_bytes());
    p.extend_from_slice(&frame.to_be_bytes());
    p.resize(300, 0x33);
    p
}

/// Sends VP8 simulcast (substream `i` to `ports[i]`, nonce `[8, 8, 8, i]`) at 30 frames a second
/// until the returned sender is dropped. Substreams 0 and 1 have a key frame every 30 frames;
/// substream 2 only in its first three, so a viewer that joins later sees its picture only
/// through the gateway's keyframe buffer.
fn camera(
    ip: &str,
    ports: Vec<u16>,
) -> (tokio::sync::oneshot::Sender<()>, tokio::sync::watch::Receiver<u32>) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let (sent, frames) = tokio::sync::watch::channel(0);
    let ip: std::net::IpAddr = ip.parse().unwrap();
    tokio::spawn(async move {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let mut tick = tokio::time::interval(Duration::from_millis(33));
        for frame in 0..100_000u32 {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopped => return,
            }
            for (i, port) in ports.iter().enumerate() {
                let keyframe = frame < 3 || (i < 2 && frame % 30 == 0);
                let nonce = [8, 8, 8, i as u8];
                let p = camera_packet(100, frame as u16, 0x1000 + i as u32, frame, keyframe, nonce);
                let _ = sock.send_to(&p, (ip, *port)).await;
            }
            let _ = sent.send(frame);
        }
    });
    (stop, frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtp_input_with_simulcast_reaches_a_webrtc_viewer() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let owner = attach(&mut ws, sid, TESTFAULT).await;
    let open = json!({"request": "input_open", "source": "127.0.0.1", "no_media_ms": 500, "streams": [
        {"mid": "v", "kind": "video", "codec": {"pt": 100, "name": "vp8", "clock": 90000}, "ports": [0, 0, 0]},
        {"mid": "a", "kind": "audio", "codec": {"pt": 111, "name": "opus", "clock": 48000}, "ports": [0]}]});
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": owner, "body": open})).await;
    let input = r["plugindata"]["data"]["input"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let ports: Vec<Vec<u16>> = serde_json::from_value(r["plugindata"]["data"]["ports"].clone()).unwrap();
    let audio_port = ports[1][0];
    let (_camera, mut frames) = camera("127.0.0.1", ports[0].clone());
    let microphone = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let mic = phone_talks(microphone, ([127, 0, 0, 1], audio_port).into(), [8, 8, 8, 9], None);
    // Someone else's packets on the input's port are refused (the input takes 127.0.0.1 only).
    let stranger = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.2:0").await.unwrap());
    let _stranger = phone_talks(stranger, ([127, 0, 0, 1], audio_port).into(), [5, 5, 5, 5], None);
    let up = wait_for(&mut ws, "the input's audio receiving", |v| {
        v["plugindata"]["data"]["input_media"]["mid"] == "a"
    })
    .await;
    assert_eq!(up["plugindata"]["data"]["input_media"]["receiving"], true, "{up}");
    // Substream 2's only key frames go by: the viewer joins mid-stream.
    tokio::time::timeout(WAIT, frames.wait_for(|f| *f >= 10))
        .await
        .expect("the camera runs")
        .expect("camera");

    // A viewer is offered the input's streams and gets the highest substream at once, from the
    // buffered key frame.
    let (viewer, peer, _, r) = watch_input(&mut ws, sid, input, &["v", "a"]).await;
    let rules = r["plugindata"]["data"]["rules"].as_array().unwrap_or_else(|| panic!("{r}")).clone();
    peer.wait_until("substream 2 at the viewer", WAIT, |s| {
        s.video.foreign_markers.contains_key(&[8, 8, 8, 2])
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
    // The viewer asks for a key frame, as a browser does when it cannot decode: the camera sends
    // none on substream 2 any more, so only the gateway's keyframe buffer can answer.
    peer.request_keyframe().await.expect("PLI");
    let stats = peer
        .wait_until("a key frame, substream 2 and the audio at the viewer", WAIT, |s| {
            s.video.keyframes >= 1
                && s.video.foreign_markers.get(&[8, 8, 8, 2]).copied().unwrap_or(0) >= 30
                && s.audio.foreign_markers.get(&[8, 8, 8, 9]).copied().unwrap_or(0) >= 25
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    for other in [[8, 8, 8, 0], [8, 8, 8, 1]] {
        assert!(!stats.video.foreign_markers.contains_key(&other), "{:?}", stats.video.foreign_markers);
    }
    assert!(!stats.audio.foreign_markers.contains_key(&[5, 5, 5, 5]), "a stranger's packets got in");

    // The viewer switches to substream 0 (on its next key frame).
    let video_rule = rules.iter().find_map(Value::as_u64).expect("video rule");
    let r = ws
        .call(json!({"janus": "message", "session_id": sid, "handle_id": viewer,
                     "body": {"request": "set_layers", "rule": video_rule, "substream": 0}}))
        .await;
    assert!(r["plugindata"]["data"]["error"].is_null(), "{r}");
    peer.wait_until("substream 0 at the viewer", WAIT, |s| {
        s.video.foreign_markers.get(&[8, 8, 8, 0]).copied().unwrap_or(0) >= 30
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));

    // The input's audio is also sent on as plain RTP (rtp_forward from an input).
    let out = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let body = json!({"request": "rtp_forward_input", "input": input, "mid": "a", "host": "127.0.0.1",
                      "port": out.local_addr().unwrap().port(), "ssrc": 42});
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": owner, "body": body})).await;
    assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    let got = receive_rtp(&out, "the input's audio on an RTP output", |p| p.len() >= 10).await;
    for p in &got {
        assert_eq!((p.ssrc, p.pt), (42, 111));
        assert_eq!(peer::read_marker(&p.payload).map(|m| m.0), Some([8, 8, 8, 9]));
    }

    // The microphone stops: the plugin hears that the audio stopped.
    drop(mic);
    let down = wait_for(&mut ws, "the input's audio stopping", |v| {
        v["plugindata"]["data"]["input_media"]["receiving"] == false
    })
    .await;
    assert_eq!(down["plugindata"]["data"]["input_media"]["mid"], "a", "{down}");
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telephone_events_pass_between_legs_with_each_legs_payload_type() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, TESTFAULT).await;
    let call = |body: Value| json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body});
    let pcmu = json!({"pt": 0, "name": "pcmu", "clock": 8000});
    let (a, b) = (
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    );
    let mut legs = Vec::new();
    for (phone, dtmf_pt) in [(&a, 101), (&b, 96)] {
        let r = ws.call(call(json!({"request": "leg_open", "kind": "audio", "codecs": [pcmu]}))).await;
        let leg = r["plugindata"]["data"].clone();
        let id = leg["leg"].as_u64().unwrap_or_else(|| panic!("{r}"));
        let connect = json!({"request": "leg_connect", "leg": id, "address": phone.local_addr().unwrap().to_string(),
                             "codec": pcmu, "dtmf_pt": dtmf_pt});
        let r = ws.call(call(connect)).await;
        assert!(r["plugindata"]["data"]["error"].is_null(), "{r}");
        legs.push((id, leg["address"].as_str().unwrap().parse::<std::net::SocketAddr>().unwrap()));
    }
    let r = ws
        .call(call(json!({"request": "forward_ep", "src": {"leg": legs[0].0}, "dst": {"leg": legs[1].0}})))
        .await;
    assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    // Phone A: audio, then the digit 5 as RFC 4733 events (same SSRC, pt 101), then audio.
    let packet = |pt: u8, seq: u16, ts: u32, payload: &[u8]| {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0xd7d7_u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    };
    let mut sent = Vec::new();
    for n in 0..10u16 {
        sent.push(packet(0, n, u32::from(n) * 160, &[0xff; 160]));
    }
    for n in 0..4u16 {
        let end = if n == 3 { 0x80 } else { 0 };
        sent.push(packet(101, 10 + n, 1600, &[5, end | 10, 0, (n as u8 + 1) * 40]));
    }
    for n in 14..20u16 {
        sent.push(packet(0, n, u32::from(n) * 160, &[0xff; 160]));
    }
    // Until B hears it all (A's first packets may come before the rule is in place).
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    'outer: while tokio::time::Instant::now() < deadline {
        got.clear();
        for p in &sent {
            a.send_to(p, legs[0].1).await.unwrap();
        }
        while let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(300), b.recv_from(&mut buf)).await
        {
            got.push(buf[..n].to_vec());
            if got.len() == sent.len() {
                break 'outer;
            }
        }
    }
    assert_eq!(got.len(), sent.len(), "B got {} of {} packets", got.len(), sent.len());
    let pts: Vec<u8> = got.iter().map(|p| p[1] & 0x7f).collect();
    assert_eq!(pts.iter().filter(|pt| **pt == 96).count(), 4, "the events go with B's payload type: {pts:?}");
    assert!(pts.iter().all(|pt| *pt == 0 || *pt == 96), "{pts:?}");
    let events: Vec<&Vec<u8>> = got.iter().filter(|p| p[1] & 0x7f == 96).collect();
    assert_eq!(
        events[3][12..16],
        [5, 0x80 | 10, 0, 160],
        "the event, its end bit and duration pass unchanged"
    );
    let seqs: Vec<u16> = got.iter().map(|p| u16::from_be_bytes([p[2], p[3]])).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "one numbering for audio and events: {seqs:?}"
    );
}

/// DTMF between a WebRTC peer and a phone: the peer's RFC 4733 events (as a browser's
/// `RTCDTMFSender` sends them) reach the phone with the leg's payload type, and the phone's
/// reach the peer with the payload type the peer negotiated for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telephone_events_pass_between_a_webrtc_peer_and_a_leg() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (hid, peer, answer) = answered_by_testfault(&mut ws, sid, "a", json!({"request": "answer"})).await;
    assert_eq!(answered_pt(&answer, "telephone-event/48000"), 110, "the gateway answers the peer's DTMF");
    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let opus = json!({"pt": 111, "name": "opus", "clock": 48000});
    let open = json!({"request": "leg_open", "kind": "audio",
                      "codecs": [opus, {"pt": 101, "name": "telephone-event", "clock": 48000}]});
    let connect = json!({"address": phone.local_addr().unwrap().to_string(), "codec": opus, "dtmf_pt": 101});
    let leg = leg_between(&mut ws, sid, hid, &mid_of(&answer, "audio"), open, connect).await;
    let address: std::net::SocketAddr = leg["address"].as_str().unwrap().parse().unwrap();

    // Peer to phone: "1#" as events 1 and 11, each ending with the end bit, between the audio.
    peer.send_dtmf("1#");
    let mut buf = [0u8; 2048];
    let mut events: Vec<[u8; 4]> = Vec::new();
    while events.iter().filter(|e| e[1] & 0x80 != 0).count() < 6 {
        let (n, _) = tokio::time::timeout(WAIT, phone.recv_from(&mut buf))
            .await
            .expect("the peer's DTMF")
            .expect("recv");
        match buf[1] & 0x7f {
            101 => events.push(buf[12..16].try_into().unwrap()),
            111 => {}
            pt => panic!("payload type {pt} from the leg"),
        }
        assert!(n >= 16);
    }
    let digits: Vec<u8> = events.iter().map(|e| e[0]).collect();
    assert_eq!(digits, [1, 1, 1, 1, 1, 11, 11, 11, 11, 11], "{events:?}");
    assert_eq!(events[0][2..4], [0x03, 0xc0], "the first update: 20 ms at 48 kHz");

    // Phone to peer: the digit 7, with the leg's payload type 101, in the phone's audio.
    let packet = |pt: u8, seq: u16, ts: u32, payload: &[u8]| {
        let mut p = vec![0x80, pt];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&0x7e7e_u32.to_be_bytes());
        p.extend_from_slice(payload);
        p
    };
    let mut seq = 0u16;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for n in 0..4u16 {
            let end = if n == 3 { 0x80 } else { 0 };
            phone.send_to(&packet(101, seq, 48_000, &[7, end | 10, 0x03, 0xc0]), address).await.unwrap();
            seq = seq.wrapping_add(1);
        }
        // Recorded only with the payload type the peer negotiated for telephone events.
        let got = peer
            .wait_until("the phone's DTMF at the peer", Duration::from_millis(300), |s| {
                s.audio.telephone_events.iter().any(|(_, e)| e[0] == 7 && e[1] & 0x80 != 0)
            })
            .await;
        if got.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no telephone event reached the peer");
    }
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legs_send_rtcp_sender_and_receiver_reports() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, TESTFAULT).await;
    let call = |body: Value| json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body});
    let opus = json!({"pt": 111, "name": "opus", "clock": 48000});
    let (a, b) = (
        std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap()),
        tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap(),
    );
    let mut legs = Vec::new();
    for phone in [&*a, &b] {
        let r = ws.call(call(json!({"request": "leg_open", "kind": "audio", "codecs": [opus]}))).await;
        let id = r["plugindata"]["data"]["leg"].as_u64().unwrap_or_else(|| panic!("{r}"));
        let address =
            r["plugindata"]["data"]["address"].as_str().unwrap().parse::<std::net::SocketAddr>().unwrap();
        let connect = json!({"request": "leg_connect", "leg": id, "address": phone.local_addr().unwrap().to_string(),
                             "codec": opus, "rtcp_mux": true});
        assert!(ws.call(call(connect)).await["plugindata"]["data"]["error"].is_null());
        legs.push((id, address));
    }
    let r = ws
        .call(call(json!({"request": "forward_ep", "src": {"leg": legs[0].0}, "dst": {"leg": legs[1].0}})))
        .await;
    assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    // Phone A talks; leg A receives, leg B sends.
    let _talking = phone_talks(a.clone(), legs[0].1, [4, 4, 4, 4], None);
    // Leg B sends audio: a sender report with its packet count.
    let sr = rtcp_of_type(&b, 200).await;
    assert!(rtc::rtcp::packet::unmarshal(&mut &sr[..]).is_ok(), "webrtc-rs reads the SR: {sr:?}");
    assert!(u32::from_be_bytes([sr[20], sr[21], sr[22], sr[23]]) > 0, "packets sent: {sr:?}");
    // Leg A receives: a receiver report about phone A's stream (SSRC 0x5151).
    let rr = rtcp_of_type(&a, 201).await;
    assert!(rtc::rtcp::packet::unmarshal(&mut &rr[..]).is_ok(), "webrtc-rs reads the RR: {rr:?}");
    assert_eq!(rr[0] & 0x1f, 1, "one report block: {rr:?}");
    assert_eq!(u32::from_be_bytes([rr[8], rr[9], rr[10], rr[11]]), 0x5151, "{rr:?}");
    assert!(
        u32::from_be_bytes([rr[16], rr[17], rr[18], rr[19]]) > 0,
        "extended highest sequence number: {rr:?}"
    );
}

/// The next RTCP packet of type `pt` (200 SR, 201 RR) on `sock`; other datagrams are skipped.
async fn rtcp_of_type(sock: &tokio::net::UdpSocket, pt: u8) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    loop {
        let (n, _) = tokio::time::timeout(WAIT, sock.recv_from(&mut buf)).await.expect("RTCP").expect("recv");
        if n >= 8 && buf[1] == pt {
            return buf[..n].to_vec();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leg_sends_dtmf_as_telephone_events() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, TESTFAULT).await;
    let call = |body: Value| json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body});
    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let pcmu = json!({"pt": 0, "name": "pcmu", "clock": 8000});
    let r = ws.call(call(json!({"request": "leg_open", "kind": "audio", "codecs": [pcmu]}))).await;
    let leg = r["plugindata"]["data"]["leg"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let connect = json!({"request": "leg_connect", "leg": leg, "address": phone.local_addr().unwrap().to_string(),
                         "codec": pcmu, "dtmf_pt": 101});
    assert!(ws.call(call(connect)).await["plugindata"]["data"]["error"].is_null());
    // A codec the gateway cannot carry is an error, not a silent leg.
    let speex = json!({"pt": 97, "name": "speex", "clock": 8000});
    let connect = json!({"request": "leg_connect", "leg": leg, "address": phone.local_addr().unwrap().to_string(),
                         "codec": speex});
    let r = ws.call(call(connect)).await;
    assert!(r["plugindata"]["data"]["error"].as_str().unwrap().contains("unknown codec 'speex'"), "{r}");
    let r = ws.call(call(json!({"request": "leg_open", "kind": "audio", "codecs": [speex]}))).await;
    assert!(r["plugindata"]["data"]["error"].as_str().unwrap().contains("unknown codec 'speex'"), "{r}");
    let dtmf =
        |digits: &str| call(json!({"request": "leg_dtmf", "leg": leg, "digits": digits, "duration": 120}));
    let r = ws.call(dtmf("1x")).await;
    assert!(r["plugindata"]["data"]["error"].as_str().unwrap().contains("'x' is not a DTMF digit"), "{r}");
    let r = ws.call(dtmf("1#")).await;
    assert!(r["plugindata"]["data"]["error"].is_null(), "{r}");
    // Each digit: a first packet with the marker bit, updates every 50 ms with the same
    // timestamp and a growing duration, and its end three times (end bit, full duration).
    let mut buf = [0u8; 2048];
    let mut got: Vec<(bool, u16, u32, u8, bool, u16)> = Vec::new();
    while got.iter().filter(|p| p.3 == 11 && p.4).count() < 3 {
        let (n, _) = tokio::time::timeout(WAIT, phone.recv_from(&mut buf))
            .await
            .expect("telephone events")
            .expect("recv");
        assert_eq!((n, buf[1] & 0x7f), (16, 101), "{:?}", &buf[..n]);
        let p = &buf[..n];
        got.push((
            p[1] & 0x80 != 0,
            u16::from_be_bytes([p[2], p[3]]),
            u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
            p[12],
            p[13] & 0x80 != 0,
            u16::from_be_bytes([p[14], p[15]]),
        ));
    }
    for event in [1u8, 11] {
        let packets: Vec<_> = got.iter().filter(|p| p.3 == event).collect();
        assert!(packets[0].0 && packets[1..].iter().all(|p| !p.0), "marker on the first only: {packets:?}");
        assert!(packets.iter().all(|p| p.2 == packets[0].2), "one timestamp per event: {packets:?}");
        let ends: Vec<_> = packets.iter().filter(|p| p.4).collect();
        assert_eq!(ends.len(), 3, "{packets:?}");
        assert!(
            ends.iter().all(|p| p.5 == 960 && p.1 == ends[0].1),
            "the end: 120 ms at 8 kHz, one sequence number"
        );
        assert!(packets.windows(2).all(|w| w[1].5 >= w[0].5), "durations grow: {packets:?}");
    }
    let starts: Vec<u32> = [1u8, 11].iter().map(|e| got.iter().find(|p| p.3 == *e).unwrap().2).collect();
    assert!(starts[1].wrapping_sub(starts[0]) >= 960, "the second digit starts after the first: {starts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtp_inputs_data_stream_reaches_a_viewers_data_channel() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let owner = attach(&mut ws, sid, TESTFAULT).await;
    let open = json!({"request": "input_open", "streams": [
        {"mid": "d", "kind": "data", "codec": {"pt": 0, "name": "", "clock": 0}, "ports": [0]}]});
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": owner, "body": open})).await;
    let input = r["plugindata"]["data"]["input"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let port = r["plugindata"]["data"]["ports"][0][0].as_u64().unwrap() as u16;
    let (_, peer, offer, r) = watch_input(&mut ws, sid, input, &["d"]).await;
    assert!(offer.contains("m=application"), "{offer}");
    assert!(r["plugindata"]["data"]["rules"][0].is_u64(), "{r}");
    peer.wait_data_open(WAIT).await.expect("the data channel opens");
    // A sender's datagrams: UTF-8 arrives as text, anything else as binary.
    let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for (datagram, want) in [
        (&b"hello viewers"[..], DataMessage::Text("hello viewers".into())),
        (&[0xff, 0x00, 0x9c][..], DataMessage::Binary(vec![0xff, 0x00, 0x9c])),
    ] {
        sender.send_to(datagram, ("127.0.0.1", port)).await.unwrap();
        let got = peer.wait_data_message(WAIT, |m| *m == want).await.expect("the datagram as a message");
        assert_eq!(got, want);
    }
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_forward_of_a_data_stream_sends_each_message_as_a_datagram() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, TESTFAULT).await;
    let peer = Peer::new(true, false, true).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let ev = echotest(
        &mut ws,
        sid,
        hid,
        "answer",
        json!({"request": "answer"}),
        Some(json!({"type": "offer", "sdp": offer})),
    )
    .await;
    let answer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no answer: {ev}")).to_owned();
    peer.set_answer(&answer).await.expect("set answer");
    peer.wait_data_open(WAIT).await.expect("data channel open");
    let forwarder = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let body = json!({"request": "rtp_forward", "mid": mid_of(&answer, "application"), "host": "127.0.0.1",
                      "port": forwarder.local_addr().unwrap().port()});
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body})).await;
    assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    // The rule reaches the media thread after the reply: a message sent at once may come
    // before it (that happened under load), so the peer says it again until one is forwarded.
    let mut buf = [0u8; 2048];
    let deadline = std::time::Instant::now() + WAIT;
    let n = loop {
        peer.send_text("to the forwarder").await.expect("send");
        match tokio::time::timeout(Duration::from_millis(500), forwarder.recv_from(&mut buf)).await {
            Ok(got) => break got.expect("recv").0,
            Err(_) => assert!(std::time::Instant::now() < deadline, "no datagram from the forwarder"),
        }
    };
    assert_eq!(&buf[..n], b"to the forwarder");
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_of_an_h264_input_is_offered_h264_only() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let owner = attach(&mut ws, sid, TESTFAULT).await;
    let open = json!({"request": "input_open", "streams": [
        {"mid": "v", "kind": "video", "codec": {"pt": 126, "name": "h264", "clock": 90000},
         "fmtp": "profile-level-id=42e01f;packetization-mode=1", "ports": [0]}]});
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": owner, "body": open})).await;
    let input = r["plugindata"]["data"]["input"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let port = r["plugindata"]["data"]["ports"][0][0].as_u64().unwrap() as u16;
    let (_, peer, offer, r) = watch_input(&mut ws, sid, input, &["v"]).await;
    assert!(offer.contains("H264/90000") && !offer.contains("VP8/90000"), "{offer}");
    // Only the input's profile and packetization mode.
    let h264_fmtps: Vec<&str> =
        offer.lines().filter(|l| l.starts_with("a=fmtp:") && !l.contains("apt=")).collect();
    assert!(
        !h264_fmtps.is_empty()
            && h264_fmtps
                .iter()
                .all(|l| l.contains("profile-level-id=42e01f") && l.contains("packetization-mode=1")),
        "{offer}"
    );
    assert!(r["plugindata"]["data"]["rules"][0].is_u64(), "{r}");
    // A camera's H.264 (an IDR NAL unit, then non-IDR ones) reaches the viewer as H.264.
    let camera = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut n = 0u16;
    let stats = loop {
        let mut p = vec![0x80, 0x80 | 126];
        p.extend_from_slice(&n.to_be_bytes());
        p.extend_from_slice(&(u32::from(n) * 3000).to_be_bytes());
        p.extend_from_slice(&0x2640_u32.to_be_bytes());
        p.push(if n.is_multiple_of(30) { 0x65 } else { 0x41 });
        p.extend_from_slice(peer::MAGIC);
        p.extend_from_slice(&[2, 6, 4, 0, b'V']);
        p.extend_from_slice(&u32::from(n).to_be_bytes());
        p.resize(200, 0x11);
        camera.send_to(&p, ("127.0.0.1", port)).await.unwrap();
        n += 1;
        let s = peer.stats();
        if s.video.foreign_markers.get(&[2, 6, 4, 0]).copied().unwrap_or(0) >= 20 {
            break s;
        }
        assert!(n < 3000, "the H.264 never reached the viewer: {:?}", s.video);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mime = stats.remote_tracks.iter().find_map(|t| t.mime_type.clone()).unwrap_or_default();
    assert!(mime.eq_ignore_ascii_case("video/H264"), "{mime}");
    peer.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_leg_carries_vp8_both_ways_and_keyframe_requests() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let (hid, peer, answer) = answered_by_testfault(&mut ws, sid, "a", json!({"request": "answer"})).await;
    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let vp8 = json!({"pt": 100, "name": "vp8", "clock": 90000});
    let call = |body: Value| json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": body});
    let r = ws.call(call(json!({"request": "leg_open", "kind": "video", "codecs": [vp8]}))).await;
    let id = r["plugindata"]["data"]["leg"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let address: std::net::SocketAddr = r["plugindata"]["data"]["address"].as_str().unwrap().parse().unwrap();
    let connect = json!({"request": "leg_connect", "leg": id, "address": phone.local_addr().unwrap().to_string(),
                         "codec": vp8, "rtcp_mux": true});
    assert!(ws.call(call(connect)).await["plugindata"]["data"]["error"].is_null());
    for (src, dst, src_mid) in [
        (json!({"peer": [sid, hid]}), json!({"leg": id}), json!(mid_of(&answer, "video"))),
        (json!({"leg": id}), json!({"peer": [sid, hid]}), Value::Null),
    ] {
        let r =
            ws.call(call(json!({"request": "forward_ep", "src": src, "dst": dst, "src_mid": src_mid}))).await;
        assert!(r["plugindata"]["data"]["rule"].is_u64(), "{r}");
    }
    // The peer's VP8 reaches the phone with the leg's payload type.
    let mut buf = [0u8; 2048];
    let mut frames = 0;
    while frames < 30 {
        let (n, _) =
            tokio::time::timeout(WAIT, phone.recv_from(&mut buf)).await.expect("video").expect("recv");
        if (200..=206).contains(&buf[1]) {
            continue; // RTCP
        }
        assert_eq!(buf[1] & 0x7f, 100);
        if peer::read_marker(&buf[12..n]).is_some_and(|m| m.0 == peer.nonce() && m.1 == b'V') {
            frames += 1;
        }
    }
    // The phone's VP8 reaches the peer; the peer's keyframe request reaches the phone as a PLI.
    let mut pli = false;
    for frame in 0..600u32 {
        let p = camera_packet(100, frame as u16, 0x7777, frame, frame.is_multiple_of(30), [7, 7, 7, 7]);
        phone.send_to(&p, address).await.unwrap();
        if peer.stats().video.foreign_markers.get(&[7, 7, 7, 7]).copied().unwrap_or(0) >= 20 && !pli {
            peer.request_keyframe().await.expect("PLI");
            pli = true;
        }
        while let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(5), phone.recv_from(&mut buf)).await
        {
            if pli && n >= 12 && buf[1] == 206 && buf[0] & 0x1f == 1 {
                assert_eq!(
                    u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
                    0x7777,
                    "PLI about the phone's SSRC"
                );
                peer.close().await.ok();
                return;
            }
        }
    }
    panic!("no PLI reached the phone: {:?}", peer.stats().video.foreign_markers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulcast_by_ssrc_on_one_port_reaches_a_viewer() {
    let gw = gateway_with_testfault();
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let owner = attach(&mut ws, sid, TESTFAULT).await;
    let open = json!({"request": "input_open", "streams": [{"mid": "v", "kind": "video",
        "codec": {"pt": 100, "name": "vp8", "clock": 90000}, "ports": [0], "ssrcs": [0x1000, 0x1001, 0x1002]}]});
    let r = ws.call(json!({"janus": "message", "session_id": sid, "handle_id": owner, "body": open})).await;
    let input = r["plugindata"]["data"]["input"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let port = r["plugindata"]["data"]["ports"][0][0].as_u64().unwrap() as u16;
    // The camera's three substreams (SSRCs 0x1000..0x1002) all on the one port.
    let (_camera, mut frames) = camera("127.0.0.1", vec![port; 3]);
    tokio::time::timeout(WAIT, frames.wait_for(|f| *f >= 10))
        .await
        .expect("the camera runs")
        .expect("camera");
    let (viewer, peer, _, r) = watch_input(&mut ws, sid, input, &["v"]).await;
    let rule = r["plugindata"]["data"]["rules"][0].as_u64().unwrap_or_else(|| panic!("{r}"));
    peer.wait_until("video at the viewer", WAIT, |s| s.video.packets > 0).await.expect("video");
    peer.request_keyframe().await.expect("PLI");
    let stats = peer
        .wait_until("substream 2", WAIT, |s| {
            s.video.foreign_markers.get(&[8, 8, 8, 2]).copied().unwrap_or(0) >= 20
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert_eq!(stats.video.foreign_markers.len(), 1, "one substream: {:?}", stats.video.foreign_markers);
    let r = ws
        .call(json!({"janus": "message", "session_id": sid, "handle_id": viewer,
                     "body": {"request": "set_layers", "rule": rule, "substream": 0}}))
        .await;
    assert!(r["plugindata"]["data"]["error"].is_null(), "{r}");
    peer.wait_until("substream 0", WAIT, |s| {
        s.video.foreign_markers.get(&[8, 8, 8, 0]).copied().unwrap_or(0) >= 20
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
    peer.close().await.ok();
}

/// A new viewer of an RTP input's streams `mids`: attaches a testfault handle, is offered them,
/// answers and starts; returns the handle, its peer, the offer and the `start` reply.
async fn watch_input(ws: &mut WsClient, sid: u64, input: u64, mids: &[&str]) -> (u64, Peer, String, Value) {
    let viewer = attach(ws, sid, TESTFAULT).await;
    let peer = Peer::new(false, false, false).await.expect("viewer");
    let body = json!({"request": "offer", "from_input": input, "mids": mids});
    let ev = echotest(ws, sid, viewer, "watch", body, None).await;
    let offer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no offer: {ev}")).to_owned();
    let answer = peer.answer_offer(&offer, WAIT).await.expect("answer");
    let r = ws
        .call(
            json!({"janus": "message", "session_id": sid, "handle_id": viewer, "body": {"request": "start"},
                     "jsep": {"type": "answer", "sdp": answer}}),
        )
        .await;
    (viewer, peer, offer, r)
}

/// An echo call outlives its plugin's language: the Rust EchoTest is replaced by the Python one,
/// then by the JavaScript one, while media flows. The echo never stops (the counters of the
/// packets that come back have no gap beyond a packet or two), and each new version knows the
/// call: it switches audio off and back on, and its hangup sends "done".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_call_moves_between_languages_without_a_gap() {
    let dir = Lang::Rust.plugins_folder(&["echotest"]);
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for lang in [Lang::Python, Lang::JavaScript] {
        std::fs::copy(lang.plugin("echotest"), staging.join(format!("echotest-{lang:?}.wasm"))).unwrap();
    }
    let gw = Gateway::with(Conf::general(&format!("wasm_plugins_folder = \"{}\"", dir.display())));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let ev =
        echotest(&mut ws, sid, hid, "offer", json!({}), Some(json!({"type": "offer", "sdp": offer}))).await;
    peer.set_answer(ev["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    peer.wait_packets(Kind::Video, 30, WAIT).await.expect("echoed video");
    let first = *peer.stats().video.counters.first().expect("a counter");

    let admin = gw.admin_http();
    for lang in [Lang::Python, Lang::JavaScript] {
        let path = staging.join(format!("echotest-{lang:?}.wasm"));
        let r = admin
            .post(
                "",
                &json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord",
                        "plugin": ECHOTEST, "path": path.display().to_string()}),
            )
            .await;
        assert_eq!(r["janus"], "success", "{lang:?}: {r}");
        let before = peer.stats().video.valid_markers;
        peer.wait_until("the echo goes on", WAIT, |s| s.video.valid_markers >= before + 30)
            .await
            .unwrap_or_else(|e| panic!("{lang:?}: {}", e.0));
        // The new version knows the call: audio off stops the audio echo, on brings it back.
        let off = echotest(&mut ws, sid, hid, "off", json!({"audio": false}), None).await;
        assert_eq!(off["plugindata"]["data"]["result"], "ok", "{lang:?}: {off}");
        let a0 = peer.stats();
        let a1 = peer
            .wait_until("video while audio is off", WAIT, |s| {
                s.video.valid_markers >= a0.video.valid_markers + 60
            })
            .await
            .expect("video goes on");
        assert!(a1.audio.valid_markers - a0.audio.valid_markers <= 3, "{lang:?}: audio still echoed");
        echotest(&mut ws, sid, hid, "on", json!({"audio": true}), None).await;
        let a2 = peer.stats().audio.valid_markers;
        peer.wait_until("audio back", WAIT, |s| s.audio.valid_markers >= a2 + 10)
            .await
            .unwrap_or_else(|e| panic!("{lang:?}: {}", e.0));
    }
    let stats = peer.stats();
    let last = *stats.video.counters.last().unwrap();
    let missing = u64::from(last - first + 1) - stats.video.counters.range(first..=last).count() as u64;
    assert!(missing <= 2, "{missing} echoed video packets missing between counters {first} and {last}");
    // The JavaScript version ends the call as the Rust one would.
    ws.send(&json!({"janus": "hangup", "session_id": sid, "handle_id": hid, "transaction": "h"})).await;
    wait_for(&mut ws, "done", |v| v["plugindata"]["data"]["result"] == "done").await;
    peer.close().await.ok();
}
