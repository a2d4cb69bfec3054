//! NoSIP: a webrtc-rs peer bridged to a plain RTP "phone" (a UDP socket), in both directions
//! of the SDP exchange, with the audio checked at each end.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::net::UdpSocket;

use super::{phone_talks, WAIT};
use crate::harness::{Gateway, PluginClient as Client};
use crate::peer::{self, Kind, Peer};

const NOSIP: &str = "janus.plugin.nosip";

fn result(m: &Value) -> &Value {
    &m["plugindata"]["data"]["result"]
}

/// The phone's SDP: Opus on its port.
fn phone_sdp(port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n"
    )
}

/// The audio port of a barebones SDP.
fn audio_port(sdp: &str) -> u16 {
    sdp.lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|rest| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no m=audio in {sdp}"))
}

/// Both ways: the phone gets the peer's audio, the peer gets the phone's.
async fn audio_both_ways(phone: Arc<UdpSocket>, leg_port: u16, peer: &Peer) {
    audio_both_ways_marked(phone, leg_port, peer, [4, 4, 4, 4]).await;
}

/// As [`audio_both_ways`], the phone marking its audio with `nonce`.
async fn audio_both_ways_marked(phone: Arc<UdpSocket>, leg_port: u16, peer: &Peer, nonce: [u8; 4]) {
    let _talking = phone_talks(phone.clone(), ([127, 0, 0, 1], leg_port).into(), nonce, None);
    let mut buf = [0u8; 2048];
    let mut heard = 0;
    while heard < 10 {
        let (n, _) = tokio::time::timeout(WAIT, phone.recv_from(&mut buf))
            .await
            .expect("the peer's audio")
            .expect("recv");
        if peer::read_marker(&buf[12..n]).map(|m| m.0) == Some(peer.nonce()) {
            heard += 1;
        }
    }
    peer.wait_until("the phone's audio", WAIT, |s| {
        s.recv(Kind::Audio).foreign_markers.get(&nonce).copied().unwrap_or(0) >= 25
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
}

/// An audio call the browser offered and a phone answered, media up: the client, the browser,
/// the phone and the barebones offer.
async fn browser_calls_phone(gw: &Gateway) -> (Client, Peer, Arc<UdpSocket>, String) {
    let mut c = Client::new(gw, NOSIP).await;
    let peer = Peer::new(true, false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let first = result(&r)["sdp"].as_str().unwrap_or_default().to_owned();
    let phone = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("phone"));
    let phone_port = phone.local_addr().unwrap().port();
    let r = c.send(json!({"request": "process", "type": "answer", "sdp": phone_sdp(phone_port)}), None).await;
    peer.set_answer(r["jsep"]["sdp"].as_str().unwrap()).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    (c, peer, phone, first)
}

/// The browser offers: `generate` gives the barebones offer, the phone answers through
/// `process`, and the browser gets its answer with `processed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_offers_and_a_phone_answers() {
    let gw = Gateway::start();
    let mut c = Client::new(&gw, NOSIP).await;
    let peer = Peer::new(true, false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let generated = result(&r);
    assert_eq!((&generated["event"], &generated["type"]), (&json!("generated"), &json!("offer")), "{r}");
    let sdp = generated["sdp"].as_str().unwrap_or_default();
    assert!(sdp.contains("RTP/AVP") && sdp.contains("opus/48000"), "{sdp}");
    let phone = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("phone"));
    let answer = phone_sdp(phone.local_addr().unwrap().port());
    let r = c.send(json!({"request": "process", "type": "answer", "sdp": answer}), None).await;
    assert_eq!(result(&r)["event"], "processed", "{r}");
    assert_eq!(r["jsep"]["type"], "answer", "{r}");
    peer.set_answer(r["jsep"]["sdp"].as_str().unwrap()).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    audio_both_ways(phone, audio_port(sdp), &peer).await;
    let r = c.send(json!({"request": "hangup"}), None).await;
    assert_eq!(result(&r), &json!({"event": "hangingup"}), "{r}");
    peer.close().await.ok();
}

/// The phone offers: `process` gives the browser an offer, `generate` with the browser's
/// answer gives the barebones answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_offers_and_the_browser_answers() {
    let gw = Gateway::start();
    let mut c = Client::new(&gw, NOSIP).await;
    let phone = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("phone"));
    let offer = phone_sdp(phone.local_addr().unwrap().port());
    let r = c.send(json!({"request": "process", "type": "offer", "sdp": offer}), None).await;
    assert_eq!(result(&r)["event"], "processed", "{r}");
    assert_eq!(r["jsep"]["type"], "offer", "{r}");
    let peer = Peer::new(true, false, false).await.expect("peer");
    let answer = peer.answer_offer(r["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    let generated = result(&r);
    assert_eq!((&generated["event"], &generated["type"]), (&json!("generated"), &json!("answer")), "{r}");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    let leg_port = audio_port(generated["sdp"].as_str().unwrap_or_default());
    audio_both_ways(phone, leg_port, &peer).await;

    // The phone offers again, from another port: `processed` (update) with a new offer for
    // the browser; `generate` with its answer gives the barebones answer (update, the same
    // port), and the audio goes both ways with the phone where it now is.
    let moved = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("phone"));
    let offer = phone_sdp(moved.local_addr().unwrap().port());
    let r = c.send(json!({"request": "process", "type": "offer", "sdp": offer}), None).await;
    assert_eq!(result(&r), &json!({"event": "processed", "update": true}), "{r}");
    let answer = peer.answer_offer(r["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    let generated = result(&r);
    assert_eq!((&generated["type"], &generated["update"]), (&json!("answer"), &json!(true)), "{r}");
    assert_eq!(audio_port(generated["sdp"].as_str().unwrap_or_default()), leg_port, "{r}");
    audio_both_ways_marked(moved.clone(), leg_port, &peer, [5, 5, 5, 5]).await;

    // The phone holds (it only sends): the browser's new offer only sends to it, and the
    // phone's answer only receives; the phone is still heard. Then it resumes.
    let port = moved.local_addr().unwrap().port();
    for (direction, browser, answer) in
        [("sendonly", "a=sendonly", "a=recvonly"), ("sendrecv", "a=sendrecv", "a=sendrecv")]
    {
        let offer = phone_sdp(port).replace("a=sendrecv", &format!("a={direction}"));
        let r = c.send(json!({"request": "process", "type": "offer", "sdp": offer}), None).await;
        let browser_offer = r["jsep"]["sdp"].as_str().unwrap_or_default().to_owned();
        let audio = &browser_offer[browser_offer.find("m=audio").expect("audio")..];
        assert!(audio.contains(browser), "{direction}: the browser is offered {browser}: {browser_offer}");
        let reply = peer.answer_offer(&browser_offer, WAIT).await.expect("answer");
        let r = c.send(json!({"request": "generate"}), Some(json!({"type": "answer", "sdp": reply}))).await;
        let sdp = result(&r)["sdp"].as_str().unwrap_or_default();
        assert!(sdp.contains(answer), "{direction}: the phone's answer says {answer}: {sdp}");
        let nonce = if direction == "sendonly" { [6; 4] } else { [7; 4] };
        let _talking = phone_talks(moved.clone(), ([127, 0, 0, 1], leg_port).into(), nonce, None);
        peer.wait_until("the phone's audio", WAIT, |s| {
            s.recv(Kind::Audio).foreign_markers.get(&nonce).copied().unwrap_or(0) >= 25
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    }
    audio_both_ways_marked(moved, leg_port, &peer, [8, 8, 8, 8]).await;
    peer.close().await.ok();
}

/// Renegotiation: in an audio call the browser turns its camera on; `generate` with its new
/// offer gives a barebones offer marked `update` (the audio port kept), and once the phone
/// answers, the video reaches the phone's video port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renegotiation_adds_video() {
    let gw = Gateway::start();
    let (mut c, mut peer, phone, first) = browser_calls_phone(&gw).await;
    let phone_port = phone.local_addr().unwrap().port();

    peer.add_video().await.expect("a camera");
    let offer = peer.create_offer(WAIT).await.expect("the new offer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let generated = result(&r);
    assert_eq!((&generated["type"], &generated["update"]), (&json!("offer"), &json!(true)), "{r}");
    let sdp = generated["sdp"].as_str().unwrap_or_default();
    assert_eq!(audio_port(sdp), audio_port(&first), "the audio keeps its port: {sdp}");
    assert!(sdp.contains("m=video"), "{sdp}");
    let camera = UdpSocket::bind("127.0.0.1:0").await.expect("the phone's video socket");
    let answer = format!(
        "{}m=video {} RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n",
        phone_sdp(phone_port),
        camera.local_addr().unwrap().port()
    );
    let r = c.send(json!({"request": "process", "type": "answer", "sdp": answer}), None).await;
    assert_eq!((&result(&r)["event"], &result(&r)["update"]), (&json!("processed"), &json!(true)), "{r}");
    peer.set_answer(r["jsep"]["sdp"].as_str().unwrap()).await.expect("set the new answer");
    peer.start_video().await;
    let mut buf = [0u8; 2048];
    let mut frames = 0;
    while frames < 10 {
        let (n, _) =
            tokio::time::timeout(WAIT, camera.recv_from(&mut buf)).await.expect("the video").expect("recv");
        if n > 12 && peer::read_marker(&buf[12..n]).map(|m| m.0) == Some(peer.nonce()) {
            frames += 1;
        }
    }
    peer.close().await.ok();
}

/// SDES: `sdes_optional` offers `a=crypto` on RTP/AVP (as Janus writes it), `sdes_mandatory`
/// on RTP/SAVP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdes_is_offered_as_janus_writes_it() {
    let gw = Gateway::start();
    for (srtp, proto) in [("sdes_optional", "RTP/AVP"), ("sdes_mandatory", "RTP/SAVP")] {
        let mut c = Client::new(&gw, NOSIP).await;
        let peer = Peer::new(true, false, false).await.expect("peer");
        let offer = peer.create_offer(WAIT).await.expect("offer");
        let r = c
            .send(json!({"request": "generate", "srtp": srtp}), Some(json!({"type": "offer", "sdp": offer})))
            .await;
        let sdp = result(&r)["sdp"].as_str().unwrap_or_default().to_owned();
        let m = sdp.lines().find(|l| l.starts_with("m=audio")).unwrap_or_else(|| panic!("{r}"));
        assert!(m.contains(&format!(" {proto} ")), "{srtp}: {m}");
        assert!(sdp.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "{srtp}: {sdp}");
        peer.close().await.ok();
    }
    // The phone offers SDES under tag 2 (after a suite the gateway does not do): the answer
    // takes the suite it can and repeats its tag (RFC 4568).
    let mut c = Client::new(&gw, NOSIP).await;
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 40000 RTP/SAVP 111\r\na=rtpmap:111 opus/48000/2\r\n\
                 a=crypto:1 AEAD_AES_256_GCM inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss\r\n\
                 a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n";
    let r = c.send(json!({"request": "process", "type": "offer", "sdp": offer}), None).await;
    assert_eq!(result(&r)["event"], "processed", "{r}");
    let peer = Peer::new(true, false, false).await.expect("peer");
    let answer = peer.answer_offer(r["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    let sdp = result(&r)["sdp"].as_str().unwrap_or_default();
    assert!(sdp.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), "{sdp}");
    assert!(!sdp.contains("a=crypto:1 "), "{sdp}");
    // It offers again with another tag: the new answer repeats that one.
    let reoffer = offer.replace("a=crypto:2 ", "a=crypto:7 ");
    let r = c.send(json!({"request": "process", "type": "offer", "sdp": reoffer}), None).await;
    assert_eq!(result(&r), &json!({"event": "processed", "srtp": "sdes_optional", "update": true}), "{r}");
    let answer = peer.answer_offer(r["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    let sdp = result(&r)["sdp"].as_str().unwrap_or_default();
    assert!(sdp.contains("a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"), "{sdp}");
    assert!(!sdp.contains("a=crypto:2 "), "{sdp}");
    peer.close().await.ok();
}

/// Bad input: Janus's codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_janus_codes() {
    let gw = Gateway::start();
    let mut c = Client::new(&gw, NOSIP).await;
    let code = |m: &Value| m["plugindata"]["data"]["error_code"].clone();
    assert_eq!(code(&c.send(json!({"request": "generate"}), None).await), 446);
    let process = |sdp: &str| json!({"request": "process", "type": "answer", "sdp": sdp});
    let bad = c.send(process("hello"), None).await;
    assert_eq!(code(&bad), 446, "{bad}");
    // A bad `srtp` is found before the SDP is read (Janus's order).
    let srtp = json!({"request": "process", "type": "answer", "sdp": "hello", "srtp": "bogus"});
    assert_eq!(code(&c.send(srtp, None).await), 444);
    let data = c
        .send(
            process("v=0\r\nc=IN IP4 127.0.0.1\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"),
            None,
        )
        .await;
    assert_eq!(code(&data), 446, "{data}");
    let nothing = c.send(process("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n"), None).await;
    assert_eq!(code(&nothing), 447, "{nothing}");
    let kind = c.send(json!({"request": "process", "type": "pranswer", "sdp": phone_sdp(9)}), None).await;
    assert_eq!(code(&kind), 446, "{kind}");
    // An answer with no offer out (Janus 1.1.2 never answers this one).
    let early = c.send(process(&phone_sdp(9)), None).await;
    assert_eq!(code(&early), 445, "{early}");
    let mandatory =
        json!({"request": "process", "type": "offer", "sdp": phone_sdp(9), "srtp": "sdes_mandatory"});
    assert_eq!(code(&c.send(mandatory, None).await), 450);
    assert_eq!(code(&c.send(json!({"request": "process", "type": "answer"}), None).await), 443);
    // `keyframe` (Janus 1.3's) with a wrong type.
    assert_eq!(code(&c.send(json!({"request": "keyframe", "user": "yes"}), None).await), 444);
    assert_eq!(code(&c.send(json!({"request": "dance"}), None).await), 442);
}

/// A renegotiation the gateway cannot take (the browser's new offer moves the audio m-line
/// behind a new video one, which no answer may do) is refused with an error, and the call goes
/// on as it was: audio still flows both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renegotiation_leaves_the_call_as_it_was() {
    let gw = Gateway::start();
    let (mut c, mut peer, phone, first) = browser_calls_phone(&gw).await;
    let leg_port = audio_port(&first);
    audio_both_ways(phone.clone(), leg_port, &peer).await;

    peer.add_video().await.expect("a camera");
    let offer = peer.create_offer(WAIT).await.expect("the new offer");
    // The video section first, the audio after it.
    let at = offer.find("m=audio").expect("audio");
    let video = offer.find("m=video").expect("video");
    let moved = format!("{}{}{}", &offer[..at], &offer[video..], &offer[at..video]);
    let r = c.send(json!({"request": "generate"}), Some(json!({"type": "offer", "sdp": moved}))).await;
    let data = &r["plugindata"]["data"];
    assert_eq!(data["error_code"], 447, "{r}");
    assert!(data["error"].as_str().unwrap_or_default().contains("goes on"), "{r}");
    audio_both_ways_marked(phone, leg_port, &peer, [5, 5, 5, 5]).await;
    peer.close().await.ok();
}

/// `recording` records what the browser sends (`audio`) and what the phone sends
/// (`peer_audio`) to .mjr files that Janus's `janus-pp-rec` reads, named as Janus's NoSIP names
/// them; the hangup completes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_recorded_for_janus_pp_rec() {
    let Some((gw, dir)) = crate::recorded::recording_gateway("janus.plugin.nosip", "") else {
        return;
    };
    let (mut c, peer, phone, offer) = browser_calls_phone(&gw).await;
    audio_both_ways(phone.clone(), audio_port(&offer), &peer).await;
    peer.set_tone(440.0, 8000.0);
    let bad = c.send(json!({"request": "recording", "action": "start"}), None).await;
    // Asking to record nothing is a recording error (Janus's 449).
    assert_eq!(bad["plugindata"]["data"]["error_code"], 449, "nothing asked: {bad}");
    let start = json!({"request": "recording", "action": "start", "audio": true, "peer_audio": true, "filename": "call"});
    let r = c.send(start, None).await;
    assert_eq!(result(&r), &json!({"event": "recordingupdated"}), "{r}");
    let _talking = phone_talks(phone, ([127, 0, 0, 1], audio_port(&offer)).into(), [6, 6, 6, 6], None);
    let (p440, p1000) = crate::audiobridge::tones_recorded(&dir.join("call-user-audio.mjr")).await;
    assert!(p440 > 1e5 && p1000 < p440 / 100.0, "the browser's tone: {p440:.0} {p1000:.0}");
    let r = c.send(json!({"request": "hangup"}), None).await;
    assert_eq!(result(&r), &json!({"event": "hangingup"}), "{r}");
    // The phone's packets, each with its nonce, in the Opus file janus-pp-rec makes.
    let (mjr, opus) = (dir.join("call-peer-audio.mjr"), dir.join("call-peer-audio.opus"));
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let out =
            std::process::Command::new("janus-pp-rec").arg(&mjr).arg(&opus).output().expect("janus-pp-rec");
        let marked =
            std::fs::read(&opus).unwrap_or_default().windows(4).filter(|w| *w == [6, 6, 6, 6]).count();
        if out.status.success() && marked >= 25 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the phone's packets in its recording: {marked}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Janus 1.3's forwarders and keyframes in a call: `rtp_forward` copies the browser's audio
/// (`audio`) and the phone's (`peer_audio`) to plain sockets, `listforwarders` lists them,
/// `stop_rtp_forward` stops one (an unknown one is 451), `keyframe` is `keyframesent`. The
/// event handler hears the SDPs `generated` and `processed` (with the session's
/// `unique_id`) and each forwarder made and stopped (about no handle).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarders_keyframes_and_events_in_a_call() {
    let (addr, posts) = crate::backend::backend("127.0.0.1", false).await;
    let mut posts = crate::backend::Heard::new(posts);
    let gw = Gateway::with(crate::backend::plugin_events_conf(&format!("http://{addr}/")));
    let (mut c, peer, phone, offer) = browser_calls_phone(&gw).await;
    let mut next = async || {
        let e = crate::backend::events_until(&mut posts, |e| e["type"] == 64).await.pop().unwrap();
        (e["handle_id"].as_u64(), e["event"]["data"].clone())
    };
    let (who, generated) = next().await;
    assert_eq!(who, Some(c.handle()));
    assert_eq!(
        (&generated["event"], &generated["type"], &generated["sdp"]),
        (&json!("generated"), &json!("offer"), &json!(offer))
    );
    let unique_id = generated["unique_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(unique_id.len(), 36, "a UUID: {generated}");
    let (who, processed) = next().await;
    assert_eq!(who, Some(c.handle()));
    let phone_port = phone.local_addr().unwrap().port();
    assert_eq!(
        processed,
        json!({"event": "processed", "type": "answer", "sdp": phone_sdp(phone_port), "unique_id": unique_id})
    );
    let browser = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let far = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = |s: &tokio::net::UdpSocket| s.local_addr().expect("addr").port();
    let streams = json!([{"type": "audio", "host": "127.0.0.1", "port": port(&browser)},
                         {"type": "peer_audio", "host": "127.0.0.1", "port": port(&far), "ssrc": 1234}]);
    let r = c.send(json!({"request": "rtp_forward", "streams": streams}), None).await;
    let done = result(&r);
    assert_eq!(done["event"], "rtp_forward", "{r}");
    let ids = crate::forwarder_ids(done);
    assert_eq!(ids.len(), 2, "{r}");
    for (id, kind) in ids.iter().zip(["audio", "peer_audio"]) {
        let (who, told) = next().await;
        assert_eq!(
            (who, &told["event"], &told["stream_id"], &told["type"]),
            (None, &json!("rtp_forward"), &json!(id), &json!(kind)),
            "{told}"
        );
    }
    // The browser's audio, and the phone's.
    let nonce = peer.nonce();
    let mine = |p: &crate::Rtp| crate::peer::read_marker(&p.payload).is_some_and(|m| m.0 == nonce);
    crate::receive_rtp(&browser, "the browser's audio", |p| p.iter().filter(|p| mine(p)).count() >= 10).await;
    let _talking =
        phone_talks(phone.clone(), ([127, 0, 0, 1], audio_port(&offer)).into(), [6, 6, 6, 6], None);
    let got = crate::receive_rtp(&far, "the phone's audio", |p| p.len() >= 10).await;
    assert!(got.iter().all(|p| p.ssrc == 1234), "the SSRC asked for");
    let r = c.send(json!({"request": "listforwarders"}), None).await;
    assert_eq!(result(&r)["rtp_forwarders"].as_array().map(Vec::len), Some(2), "{r}");
    let r = c.send(json!({"request": "stop_rtp_forward", "stream_id": ids[0]}), None).await;
    assert_eq!(result(&r), &json!({"event": "stop_rtp_forward", "stream_id": ids[0]}), "{r}");
    assert_eq!(next().await, (None, json!({"event": "stop_rtp_forward", "stream_id": ids[0]})));
    let r = c.send(json!({"request": "stop_rtp_forward", "stream_id": ids[0]}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 451, "{r}");
    let r = c.send(json!({"request": "keyframe", "user": true, "peer": true}), None).await;
    assert_eq!(result(&r), &json!({"event": "keyframesent"}), "{r}");
    peer.close().await.ok();
}
