//! VideoRoom with media: webrtc-rs publishers and subscribers in a room, as janus.js's VideoRoom
//! page uses it, checked by the media that arrives and the events Janus 1.1.2 sends.

use serde_json::{json, Value};

use super::{receive_rtp, wait_media_from, whole_frames, WAIT};
use crate::harness::{Conf, Gateway, PluginClient as Client};
use crate::peer::{sdp_extensions, AudioCodec, Kind, Peer, PeerStats, VideoCodec};

const VIDEOROOM: &str = "janus.plugin.videoroom";

fn gateway() -> Gateway {
    gateway_with("")
}

/// A gateway whose room 1234 has these extra keys.
fn gateway_with(keys: &str) -> Gateway {
    let mut conf = Conf::default();
    conf.extra.push((
        "janus.plugin.videoroom.jcfg".to_owned(),
        format!("room-1234: {{ description = \"Demo Room\" secret = \"adminpwd\" publishers = 6 {keys} }}\n"),
    ));
    Gateway::with(conf)
}

/// Joins room 1234 as a publisher named `display` and publishes audio and video from a
/// webrtc-rs peer; returns the client, the peer, its id and the `configured` event.
async fn publish(gw: &Gateway, display: &str) -> (Client, Peer, u64, Value) {
    publish_with(gw, display, false).await
}

/// As [`publish`], with a data channel too when `data`.
async fn publish_with(gw: &Gateway, display: &str, data: bool) -> (Client, Peer, u64, Value) {
    let mut c = Client::new(gw, VIDEOROOM).await;
    let joined = c
        .send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": display}), None)
        .await;
    let id = joined["plugindata"]["data"]["id"].as_u64().unwrap_or_else(|| panic!("join: {joined}"));
    let peer = Peer::new(true, true, data).await.expect("publisher peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let ev = c.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(ev["jsep"]["type"], "answer", "{ev}");
    peer.set_answer(ev["jsep"]["sdp"].as_str().unwrap()).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("publisher connected");
    until_publishing(&mut c, 1234, id).await;
    (c, peer, id, ev["plugindata"]["data"].clone())
}

/// Waits until room `room` counts publisher `id` as publishing: once the gateway saw its
/// PeerConnection up, a moment after the peer did. Until then it is no feed to subscribe to
/// (as in Janus).
async fn until_publishing(c: &mut Client, room: u64, id: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let listed = c.request(json!({"request": "listparticipants", "room": room})).await;
        let list = listed["participants"].as_array().cloned().unwrap_or_default();
        if list.iter().any(|p| p["id"] == id && p["publisher"] == true) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} never counts as publishing: {listed}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Joins room 1234 as a subscriber with `join` (its `streams` or `feed`), answers the offer
/// and starts; returns the client, the peer and the `attached` event.
async fn subscribe(gw: &Gateway, join: Value) -> (Client, Peer, Value) {
    subscribe_as(gw, join, Peer::new(false, false, false).await.expect("subscriber peer")).await
}

/// As [`subscribe`], with this peer.
async fn subscribe_as(gw: &Gateway, join: Value, peer: Peer) -> (Client, Peer, Value) {
    let mut c = Client::new(gw, VIDEOROOM).await;
    let mut body = json!({"request": "join", "ptype": "subscriber", "room": 1234});
    body.as_object_mut().unwrap().extend(join.as_object().unwrap().clone());
    let attached = c.send(body, None).await;
    assert_eq!(attached["jsep"]["type"], "offer", "{attached}");
    // As Janus offers subscribers of a default room: transport-cc and abs-send-time too.
    let extensions = sdp_extensions(attached["jsep"]["sdp"].as_str().unwrap_or_default());
    assert!(["transport-cc", "abs-send-time", "mid"].iter().all(|e| extensions.contains(&e.to_string())));
    let answer = peer.answer_offer(attached["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");
    let started = c.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(started["plugindata"]["data"], json!({"videoroom": "event", "room": 1234, "started": "ok"}));
    peer.wait_connected(WAIT).await.expect("subscriber connected");
    (c, peer, attached["plugindata"]["data"].clone())
}

/// Checks that `quiet`'s video stops reaching `peer` while its `going` media goes on: waits
/// for `going.2` more packets of kind `going.0` from nonce `going.1`, and allows a frame or
/// two of `quiet`'s video that were under way. Returns the stats then.
async fn video_stops(peer: &Peer, quiet: [u8; 4], going: (Kind, [u8; 4], u64), what: &str) -> PeerStats {
    let then = peer.stats();
    let (kind, nonce, more) = going;
    let count = |s: &PeerStats, kind: Kind, nonce: [u8; 4]| {
        s.recv(kind).foreign_markers.get(&nonce).copied().unwrap_or(0)
    };
    let (quiet_then, going_then) = (count(&then, Kind::Video, quiet), count(&then, kind, nonce));
    let after = peer
        .wait_until(&format!("{more} more packets while {what}"), WAIT, |s| {
            count(s, kind, nonce) >= going_then + more
        })
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert!(count(&after, Kind::Video, quiet) <= quiet_then + 10, "{what}: the video went on");
    after
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_reaches_its_subscribers_through_a_room() {
    let gw = gateway();
    // Someone in the room, to hear the notifications.
    let mut watcher = Client::new(&gw, VIDEOROOM).await;
    watcher
        .send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": "watcher"}), None)
        .await;

    let (mut alice, pa, alice_id, configured) = publish(&gw, "alice").await;
    // (The peer's Opus offers in-band FEC: the stream says so, as Janus's.)
    let streams = json!([{"type": "audio", "mindex": 0, "mid": "0", "codec": "opus", "fec": true},
                         {"type": "video", "mindex": 1, "mid": "1", "codec": "vp8"}]);
    assert_eq!(
        configured,
        json!({"videoroom": "event", "room": 1234, "configured": "ok", "audio_codec": "opus", "video_codec": "vp8",
               "streams": streams})
    );
    // The room hears of alice once her PeerConnection is up.
    let publishers = watcher.event("alice publishing", |d| d.get("publishers").is_some()).await;
    assert_eq!(
        publishers,
        json!({"videoroom": "event", "room": 1234, "publishers": [{"id": alice_id, "display": "alice",
               "audio_codec": "opus", "video_codec": "vp8", "streams": streams}]})
    );

    // Two subscribers: one with the multistream API, one with the legacy `feed`.
    let (mut s1, p1, attached) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    let listed: Vec<(Value, Value, Value, Value)> = attached["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| (s["type"].clone(), s["feed_id"].clone(), s["feed_mid"].clone(), s["active"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("audio"), json!(alice_id), json!("0"), json!(true)),
            (json!("video"), json!(alice_id), json!("1"), json!(true))
        ],
        "{attached}"
    );
    let (_s2, p2, _) = subscribe(&gw, json!({"feed": alice_id})).await;
    for (peer, who) in [(&p1, "the first subscriber"), (&p2, "the second subscriber")] {
        wait_media_from(peer, pa.nonce(), &format!("alice's audio and video at {who}")).await;
    }

    // The first subscriber stops alice's video: its audio goes on, the video stops.
    let video_mid = attached["streams"][1]["mid"].clone();
    let r =
        s1.send(json!({"request": "configure", "streams": [{"mid": video_mid, "send": false}]}), None).await;
    assert_eq!(r["plugindata"]["data"], json!({"videoroom": "event", "room": 1234, "configured": "ok"}));
    video_stops(&p1, pa.nonce(), (Kind::Audio, pa.nonce(), 50), "alice's video is not sent").await;

    // rtp_forward of alice's video to a plain socket: whole VP8 frames from a key frame.
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let forward = json!({"request": "rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                         "host": "127.0.0.1", "streams": [{"mid": "1", "port": port}]});
    let r = watcher.request(forward).await;
    assert_eq!(r["videoroom"], "rtp_forward", "{r}");
    assert_eq!(r["forwarders"][0]["port"], port, "{r}");
    let stream_id = r["forwarders"][0]["stream_id"].clone();
    let got = receive_rtp(&sock, "forwarded frames", |p| whole_frames(p, pa.nonce()) >= 10).await;
    assert!(got.iter().all(|p| p.pt == 96), "VP8's payload type");
    let listed =
        watcher.request(json!({"request": "listforwarders", "room": 1234, "secret": "adminpwd"})).await;
    assert_eq!(listed["publishers"][0]["forwarders"][0]["stream_id"], stream_id, "{listed}");

    // SDES-SRTP (Janus's srtp_suite and srtp_crypto) to a host name, which the host looks up;
    // a mid alice lacks is passed over, as in Janus. webrtc-rs decrypts alice's audio.
    let secure = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let master: Vec<u8> = (0..30u8).map(|i| i.wrapping_mul(41).wrapping_add(7)).collect();
    let forward = json!({"request": "rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                         "host": "localhost", "srtp_suite": 32, "srtp_crypto": data_encoding::BASE64.encode(&master),
                         "streams": [{"mid": "0", "port": secure.local_addr().unwrap().port(), "ssrc": 55},
                                     {"mid": "9", "port": 9}]});
    let r = watcher.request(forward).await;
    let listed = r["forwarders"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(listed.len(), 1, "{r}");
    assert_eq!(
        (&listed[0]["type"], &listed[0]["ssrc"], &listed[0]["srtp"]),
        (&json!("audio"), &json!(55), &json!(true))
    );
    assert_eq!(listed[0]["host"], "127.0.0.1", "the address looked up, as Janus answers: {r}");
    let profile = rtc::srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_32;
    let mut srtp = crate::srtp_context(&master, profile);
    let mut buf = [0u8; 2048];
    for _ in 0..10 {
        let (n, _) =
            tokio::time::timeout(WAIT, secure.recv_from(&mut buf)).await.expect("SRTP audio").expect("recv");
        let plain = srtp.decrypt_rtp(&buf[..n]).expect("authenticates and decrypts");
        assert_eq!(u32::from_be_bytes([plain[8], plain[9], plain[10], plain[11]]), 55);
        let (from, tag, ..) = crate::peer::read_marker(&plain[12..]).expect("alice's marker");
        assert_eq!((from, tag), (pa.nonce(), b'A'));
    }
    // The deprecated form: `audio_port`, answered with Janus's `rtp_stream`.
    let legacy = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let legacy_port = legacy.local_addr().unwrap().port();
    let forward = json!({"request": "rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                         "host": "127.0.0.1", "audio_port": legacy_port});
    let r = watcher.request(forward).await;
    let audio_stream = r["rtp_stream"]["audio_stream_id"].clone();
    assert!(audio_stream.is_u64(), "{r}");
    assert_eq!(
        r["rtp_stream"],
        json!({"audio_stream_id": audio_stream, "audio": legacy_port, "host": "127.0.0.1", "warning": "deprecated_api"})
    );
    receive_rtp(&legacy, "the deprecated form's audio", |p| p.len() >= 10).await;

    // alice unpublishes: the room hears it, and her forwarder is gone.
    let r = alice.send(json!({"request": "unpublish"}), None).await;
    assert_eq!(r["plugindata"]["data"], json!({"videoroom": "event", "room": 1234, "unpublished": "ok"}));
    let heard = watcher.event("alice unpublished", |d| d.get("unpublished").is_some()).await;
    assert_eq!(heard, json!({"videoroom": "event", "room": 1234, "unpublished": alice_id}));
    let listed =
        watcher.request(json!({"request": "listforwarders", "room": 1234, "secret": "adminpwd"})).await;
    assert_eq!(
        listed["publishers"],
        json!([{"publisher_id": alice_id, "display": "alice", "forwarders": []}]),
        "Janus keeps listing a publisher that published: {listed}"
    );
    pa.close().await.ok();
    p1.close().await.ok();
    p2.close().await.ok();
}

/// `rtp_forward` with `rtcp_port`, as Janus's: the answer and `listforwarders` name the
/// forwarder's own RTCP port, two empty RTP headers come from it to the receiver's RTCP port
/// (a Streaming mountpoint with `rtcpport` learns where its requests go), and a PLI the
/// receiver sends there reaches the publisher as a keyframe request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarders_receiver_asks_for_keyframes_over_rtcp() {
    let gw = gateway();
    let (mut alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtcp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtcp_port = rtcp.local_addr().unwrap().port();
    let before = pa.stats().rtcp.pli + pa.stats().rtcp.fir;
    let forward = json!({"request": "rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                         "host": "127.0.0.1",
                         "streams": [{"mid": "1", "port": rtp.local_addr().unwrap().port(), "rtcp_port": rtcp_port}]});
    let r = alice.request(forward).await;
    let f = &r["forwarders"][0];
    assert_eq!(f["remote_rtcp_port"], rtcp_port, "{r}");
    let local =
        f["local_rtcp_port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or_else(|| panic!("{r}"));
    let listed =
        alice.request(json!({"request": "listforwarders", "room": 1234, "secret": "adminpwd"})).await;
    assert_eq!(listed["publishers"][0]["forwarders"][0]["local_rtcp_port"], local, "{listed}");
    let mut buf = [0u8; 64];
    for _ in 0..2 {
        let (n, from) =
            tokio::time::timeout(WAIT, rtcp.recv_from(&mut buf)).await.expect("latching").expect("recv");
        assert_eq!(
            (n, from.port(), buf[0]),
            (12, local, 0x80),
            "an empty RTP header from the forwarder's port"
        );
    }
    // The rule's start asks alice for a keyframe (a request within 500 ms of another waits
    // for them to pass): then keyframe requests stop.
    pa.wait_until("the forwarder's first keyframe request", WAIT, |s| s.rtcp.pli + s.rtcp.fir > before)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    receive_rtp(&rtp, "forwarded video", |p| !p.is_empty()).await;
    let asked = |pa: &crate::peer::Peer| pa.stats().rtcp.pli + pa.stats().rtcp.fir;
    let quiet = || async {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let n = asked(&pa);
            let more = pa.wait_until("another request", std::time::Duration::from_millis(700), |s| {
                s.rtcp.pli + s.rtcp.fir > n
            });
            if more.await.is_err() {
                return n;
            }
            assert!(tokio::time::Instant::now() < deadline, "keyframe requests go on");
        }
    };
    let first = quiet().await;
    // A receiver report asks nothing, nor does a PLI from another address.
    let ssrc = 0x1234_5678u32.to_be_bytes();
    let rr = [0x80, 201, 0, 1, ssrc[0], ssrc[1], ssrc[2], ssrc[3]];
    let pli = [0x81, 206, 0, 2, ssrc[0], ssrc[1], ssrc[2], ssrc[3], 0, 0, 0, 0];
    rtcp.send_to(&rr, ("127.0.0.1", local)).await.unwrap();
    let elsewhere = tokio::net::UdpSocket::bind("127.0.0.2:0").await.unwrap();
    elsewhere.send_to(&pli, ("127.0.0.1", local)).await.unwrap();
    assert_eq!(quiet().await, first, "a report or a stranger's PLI asked for a keyframe");
    // The receiver's PLI does.
    rtcp.send_to(&pli, ("127.0.0.1", local)).await.unwrap();
    pa.wait_until("the receiver's keyframe request", WAIT, |s| s.rtcp.pli + s.rtcp.fir > first)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    // The port closes with the forwarder: a datagram there is refused.
    let stream_id = f["stream_id"].clone();
    let stop = json!({"request": "stop_rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                      "stream_id": stream_id});
    assert_eq!(alice.request(stop).await["videoroom"], "stop_rtp_forward");
    rtcp.connect(("127.0.0.1", local)).await.unwrap();
    let closed = async {
        loop {
            let _ = rtcp.send(&rr).await;
            let mut b = [0u8; 16];
            match tokio::time::timeout(std::time::Duration::from_millis(100), rtcp.recv(&mut b)).await {
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
                _ => {}
            }
        }
    };
    tokio::time::timeout(WAIT, closed).await.expect("the forwarder's RTCP port closes with it");
    pa.close().await.ok();
}

/// `rtp_forward` as Janus checks it: with `lock_rtp_forward`, the `admin_key`; a host that does
/// not resolve, a port past 65535; and every forwarder of a request is made or none (the
/// sandbox refuses one address here). With `simulcast: true` a video stream goes to one port,
/// without a substream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_forward_is_checked_and_made_whole_or_not_at_all() {
    let mut conf = Conf::default();
    conf.extra.push((
        "janus.plugin.videoroom.jcfg".to_owned(),
        "general: { admin_key = \"k\" lock_rtp_forward = true }\nsandbox: { send_to = \"127.0.0.1\" }\n\
         room-1234: { description = \"Demo Room\" secret = \"adminpwd\" }\n"
            .to_owned(),
    ));
    let gw = Gateway::with(conf);
    let (_alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let mut admin = Client::new(&gw, VIDEOROOM).await;
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    let forward = |extra: Value| {
        let mut body = json!({"request": "rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                              "host": "127.0.0.1", "admin_key": "k"});
        let fields = body.as_object_mut().unwrap();
        fields.extend(extra.as_object().unwrap().clone());
        // (A null leaves the field out.)
        fields.retain(|_, v| !v.is_null());
        body
    };
    let error = |r: &Value, code: u64, text: &str| {
        assert_eq!((&r["error_code"], &r["error"]), (&json!(code), &json!(text)), "{r}");
    };
    let r = admin.request(forward(json!({"admin_key": null, "streams": []}))).await;
    error(&r, 429, "Missing mandatory element (admin_key)");
    let r = admin.request(forward(json!({"admin_key": "no", "streams": []}))).await;
    error(&r, 433, "Unauthorized (wrong admin_key)");
    let r = admin.request(forward(json!({"host": "", "streams": []}))).await;
    error(&r, 430, "Could not resolve address ()...");
    let r = admin.request(forward(json!({"streams": [{"mid": "0", "port": 70000}]}))).await;
    error(&r, 430, "Invalid element (port)");
    // The video's address is not one the sandbox allows: the audio's forwarder goes too.
    let r = admin
        .request(forward(
            json!({"streams": [{"mid": "0", "port": port}, {"mid": "1", "port": port, "host": "10.1.1.1"}]}),
        ))
        .await;
    assert_eq!(r["error_code"], 499, "{r}");
    let listed =
        admin.request(json!({"request": "listforwarders", "room": 1234, "secret": "adminpwd"})).await;
    assert_eq!(listed["publishers"][0]["forwarders"], json!([]), "nothing left behind: {listed}");
    // `simulcast: true`: one forwarder, as a subscriber would get the stream.
    let r = admin.request(forward(json!({"streams": [{"mid": "1", "port": port, "simulcast": true}]}))).await;
    let listed = r["forwarders"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(listed.len(), 1, "{r}");
    assert!(listed[0].get("substream").is_none(), "{r}");
    receive_rtp(&sock, "forwarded frames", |p| whole_frames(p, pa.nonce()) >= 3).await;
    let stop = json!({"request": "stop_rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": alice_id,
                      "stream_id": listed[0]["stream_id"]});
    error(&admin.request(stop.clone()).await, 429, "Missing mandatory element (admin_key)");
    let mut stop = stop;
    stop["admin_key"] = json!("k");
    assert_eq!(admin.request(stop).await["videoroom"], "stop_rtp_forward");
}

/// A subscriber that pauses gets nothing until it starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_pauses_and_starts_again() {
    let gw = gateway();
    let (_alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let (mut s, p, _) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    wait_media_from(&p, pa.nonce(), "alice's media").await;
    let r = s.send(json!({"request": "pause"}), None).await;
    assert_eq!(r["plugindata"]["data"], json!({"videoroom": "event", "room": 1234, "paused": "ok"}));
    // While paused, alice goes on sending (her own counters grow) and nothing arrives.
    let got = p.stats().recv(Kind::Video).packets;
    let sent = pa.stats().sent(Kind::Video).packets;
    pa.wait_until("alice sending on", WAIT, |s| s.sent(Kind::Video).packets >= sent + 60)
        .await
        .expect("sending");
    assert!(p.stats().recv(Kind::Video).packets <= got + 10, "media while paused");
    let r = s.send(json!({"request": "start"}), None).await;
    assert_eq!(r["plugindata"]["data"], json!({"videoroom": "event", "room": 1234, "started": "ok"}));
    p.wait_until("media again", WAIT, |s| s.recv(Kind::Video).packets >= got + 60)
        .await
        .expect("media again");
    pa.close().await.ok();
    p.close().await.ok();
}

/// VP8 temporal layers: a publisher sends three (TIDs 0, 2, 1, 2, …); its subscriber gets them
/// all, `configure` with a stream's `temporal` keeps layer 0 alone, then layers 0 and 1, and the
/// subscriber hears each change (`temporal` in an event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_picks_a_temporal_layer() {
    let gw = gateway();
    let (_alice, pa, alice_id, _) = publish(&gw, "alice").await;
    pa.send_temporal_layers();
    let (mut s, p, attached) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    let mid = attached["streams"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["type"] == "video"))
        .and_then(|s| s["mid"].as_str())
        .unwrap_or_else(|| panic!("a video stream in {attached}"))
        .to_owned();
    let layers = |st: &PeerStats| st.recv(Kind::Video).temporal;
    p.wait_until("every layer", WAIT, |st| layers(st)[..3].iter().all(|n| *n >= 10))
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    for (top, what) in [(0u8, "layer 0 alone"), (1, "layers 0 and 1")] {
        let r =
            s.send(json!({"request": "configure", "streams": [{"mid": mid, "temporal": top}]}), None).await;
        assert_eq!(r["plugindata"]["data"]["configured"], "ok", "{r}");
        let heard = s.event("the layer change", |d| d["temporal"] == top).await;
        assert_eq!(heard["mid"], mid, "{heard}");
        // What was under way passes; then only the layers kept grow.
        let base = layers(&p.stats())[0];
        p.wait_until(what, WAIT, |st| layers(st)[0] >= base + 6).await.unwrap_or_else(|e| panic!("{}", e.0));
        let before = layers(&p.stats());
        p.wait_until(what, WAIT, |st| layers(st)[0] >= before[0] + 24)
            .await
            .unwrap_or_else(|e| panic!("{}", e.0));
        let after = layers(&p.stats());
        for t in 0..3 {
            assert_eq!(
                after[t] > before[t],
                t <= usize::from(top),
                "{what}: layer {t} {before:?} -> {after:?}"
            );
        }
    }
    pa.close().await.ok();
    p.close().await.ok();
}

/// VP9 SVC: a publisher whose JSEP names its video in `svc` (as janus.js does for an encoding
/// with a `scalabilityMode`) sends three spatial and three temporal layers; its stream is listed
/// with `svc`. Its subscriber gets every layer (the top ones, told); `configure` with `spatial_layer` keeps the
/// layers up to it, each picture ending with a marker bit on its last packet kept and the
/// sequence numbers unbroken; `temporal_layer` keeps the temporal layers up to it; back up,
/// every layer comes again (from a keyframe the gateway asks for). Each change is told; a
/// layer past 2 is 430.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_picks_the_layers_of_vp9_svc() {
    let gw = gateway_with("videocodec = \"vp9\"");
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let joined =
        c.send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": "svc"}), None).await;
    let id = joined["plugindata"]["data"]["id"].as_u64().unwrap_or_else(|| panic!("join: {joined}"));
    let pa =
        Peer::with_codecs(Some(AudioCodec::Opus), Some(VideoCodec::Vp9Svc), false).await.expect("publisher");
    let offer = pa.create_offer(WAIT).await.expect("offer");
    let jsep = json!({"type": "offer", "sdp": offer, "svc": [{"mindex": 1, "mid": "1", "svc": "L3T3"}]});
    let ev = c.send(json!({"request": "publish"}), Some(jsep)).await;
    pa.set_answer(ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {ev}")))
        .await
        .expect("answer");
    let streams = &ev["plugindata"]["data"]["streams"];
    let listed =
        |streams: &Value| streams.as_array().and_then(|l| l.iter().find(|s| s["type"] == "video")).cloned();
    let video = listed(streams).unwrap_or_else(|| panic!("a video stream in {ev}"));
    assert_eq!((&video["codec"], &video["svc"]), (&json!("vp9"), &json!(true)), "{video}");
    pa.start_media().await;
    pa.wait_connected(WAIT).await.expect("publisher connected");
    until_publishing(&mut c, 1234, id).await;

    let peer = Peer::with_codecs(None, Some(VideoCodec::Vp9Svc), false).await.expect("subscriber peer");
    let (mut s, p, attached) = subscribe_as(&gw, json!({"streams": [{"feed": id}]}), peer).await;
    let video = listed(&attached["streams"]).unwrap_or_else(|| panic!("a video stream in {attached}"));
    assert_eq!(video["svc"], true, "{attached}");
    let mid = video["mid"].as_str().unwrap_or_default().to_owned();
    // Aimed at the top layers, as Janus does, and told so.
    s.event("the top spatial layer", |d| d["spatial_layer"] == 2 && d["mid"] == mid).await;
    let got = |st: &PeerStats| {
        let v = st.recv(Kind::Video);
        (v.spatial, v.temporal)
    };
    p.wait_until("every layer", WAIT, |st| got(st).0[..3].iter().all(|n| *n >= 20))
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));

    // Each step: what `configure` asks, the event that tells it, and the spatial and temporal
    // layers that still come.
    let steps = [
        (json!({"spatial_layer": 1}), ("spatial_layer", 1), [true, true, false], [true, true, true]),
        (json!({"spatial_layer": 0}), ("spatial_layer", 0), [true, false, false], [true, true, true]),
        (json!({"temporal_layer": 0}), ("temporal_layer", 0), [true, false, false], [true, false, false]),
        (json!({"spatial_layer": 2, "temporal_layer": 2}), ("spatial_layer", 2), [true; 3], [true; 3]),
    ];
    for (asked, (key, layer), spatial, temporal) in steps {
        let mut body = json!({"request": "configure", "streams": [{"mid": mid}]});
        body["streams"][0].as_object_mut().unwrap().extend(asked.as_object().unwrap().clone());
        let r = s.send(body, None).await;
        assert_eq!(r["plugindata"]["data"]["configured"], "ok", "{r}");
        let heard = s.event(&format!("{key} {layer}"), |d| d[key] == layer).await;
        assert_eq!(heard["mid"], mid, "{heard}");
        // What was under way passes; then only the layers kept grow, whole pictures.
        let base = got(&p.stats()).0[0];
        p.wait_until("the change", WAIT, |st| got(st).0[0] >= base + 4)
            .await
            .unwrap_or_else(|e| panic!("{}", e.0));
        let before = p.stats();
        let after = p
            .wait_until(&format!("{asked}"), WAIT, |st| got(st).0[0] >= got(&before).0[0] + 24)
            .await
            .unwrap_or_else(|e| panic!("{}", e.0));
        let (b, a) = (got(&before), got(&after));
        for l in 0..3 {
            assert_eq!(a.0[l] > b.0[l], spatial[l], "{asked}: spatial layer {l} {:?} -> {:?}", b.0, a.0);
            assert_eq!(a.1[l] > b.1[l], temporal[l], "{asked}: temporal layer {l} {:?} -> {:?}", b.1, a.1);
        }
        let (vb, va) = (before.recv(Kind::Video), after.recv(Kind::Video));
        assert_eq!(va.unended_frames, vb.unended_frames, "{asked}: every picture ends with a marker bit");
        assert_eq!(va.seq_breaks, vb.seq_breaks, "{asked}: the sequence numbers go on unbroken");
    }
    let r =
        s.send(json!({"request": "configure", "streams": [{"mid": mid, "spatial_layer": 3}]}), None).await;
    let data = &r["plugindata"]["data"];
    assert_eq!(data["error_code"], 430, "{r}");
    assert_eq!(data["error"], "Invalid value (substream/spatial_layer should be 0, 1 or 2)", "{r}");
    pa.close().await.ok();
    p.close().await.ok();
}

/// H.264 end to end: in a room whose `videocodec` is `h264`, a publisher that offers only
/// H.264 (constrained baseline) is answered in it, and a subscriber is offered only H.264 and
/// gets the publisher's video in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_goes_through_a_room_that_asks_for_it() {
    let gw = gateway_with("videocodec = \"h264\"");
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let joined =
        c.send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": "cam"}), None).await;
    let id = joined["plugindata"]["data"]["id"].as_u64().unwrap_or_else(|| panic!("join: {joined}"));
    let pa =
        Peer::with_codecs(Some(AudioCodec::Opus), Some(VideoCodec::H264), false).await.expect("publisher");
    let offer = pa.create_offer(WAIT).await.expect("offer");
    assert!(offer.contains("H264/90000") && !offer.contains("VP8/90000"), "{offer}");
    let ev = c.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let answer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {ev}"));
    assert!(answer.contains("H264/90000"), "{answer}");
    pa.set_answer(answer).await.expect("set answer");
    pa.start_media().await;
    pa.wait_connected(WAIT).await.expect("publisher connected");
    until_publishing(&mut c, 1234, id).await;

    let (_s, p, attached) = subscribe(&gw, json!({"streams": [{"feed": id}]})).await;
    let video = attached["streams"].as_array().and_then(|l| l.iter().find(|s| s["type"] == "video")).cloned();
    assert_eq!(video.as_ref().map(|v| &v["codec"]), Some(&json!("h264")), "{attached}");
    wait_media_from(&p, pa.nonce(), "the H.264 publisher's media").await;
    let got = p.stats();
    let mimes: Vec<String> = got.remote_tracks.iter().filter_map(|t| t.mime_type.clone()).collect();
    assert!(mimes.iter().any(|m| m.eq_ignore_ascii_case("video/H264")), "the subscriber's track: {mimes:?}");
    assert!(!mimes.iter().any(|m| m.eq_ignore_ascii_case("video/VP8")), "{mimes:?}");
    assert_eq!(got.recv(Kind::Video).payload_types.len(), 1, "one video payload type: {:?}", got.video);
    pa.close().await.ok();
    p.close().await.ok();
}

/// Answers an offer the subscriber got (`updated`) and starts: `started`.
async fn answer_update(c: &mut Client, peer: &Peer, updated: &Value) {
    let offer = updated["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no offer in {updated}"));
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    let started = c.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(started["plugindata"]["data"]["started"], "ok", "{started}");
}

fn m_lines(offer: &Value) -> usize {
    offer["jsep"]["sdp"].as_str().unwrap_or_default().matches("\r\nm=").count()
}

/// The stream list of an `updated`/`attached` event: (type, active, feed_id).
fn streams_of(data: &Value) -> Vec<(String, bool, Value)> {
    data["streams"]
        .as_array()
        .unwrap_or_else(|| panic!("streams in {data}"))
        .iter()
        .map(|s| (s["type"].as_str().unwrap().to_owned(), s["active"] == true, s["feed_id"].clone()))
        .collect()
}

/// `subscribe`, `unsubscribe`, `switch` and a publisher leaving change one subscriber's
/// PeerConnection with one offer each; a stopped m-line is reused by the next stream of its
/// kind; a change asked for while an offer is out waits (`updating`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_change_with_one_offer_each() {
    let gw = gateway();
    let (_alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let (mut bob, pb, bob_id, _) = publish(&gw, "bob").await;
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let attached = c
        .send(
            json!({"request": "join", "ptype": "subscriber", "room": 1234, "streams": [{"feed": alice_id}]}),
            None,
        )
        .await;
    let peer = Peer::new(false, false, false).await.expect("subscriber peer");
    let answer = peer.answer_offer(attached["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");

    // Bob's streams asked for before the client answered: they wait for its answer.
    let updating = c.send(json!({"request": "subscribe", "streams": [{"feed": bob_id}]}), None).await;
    assert_eq!(updating["plugindata"]["data"], json!({"videoroom": "updating", "room": 1234}));
    // What may wait is bounded.
    let many: Vec<Value> = (0..300).map(|_| json!({"feed": bob_id})).collect();
    let refused = c.send(json!({"request": "subscribe", "streams": many}), None).await;
    let data = &refused["plugindata"]["data"];
    assert_eq!(
        (&data["error_code"], &data["error"]),
        (&json!(499), &json!("Too many changes waiting for the pending offer to be answered"))
    );
    let started = c.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(started["plugindata"]["data"]["started"], "ok");
    peer.wait_connected(WAIT).await.expect("connected");
    let updated =
        c.message("the combined offer", |m| m["plugindata"]["data"]["videoroom"] == "updated").await;
    assert_eq!(m_lines(&updated), 4, "{updated}");
    let streams = streams_of(&updated["plugindata"]["data"]);
    let feeds: Vec<&Value> = streams.iter().map(|s| &s.2).collect();
    assert_eq!(feeds, [&json!(alice_id), &json!(alice_id), &json!(bob_id), &json!(bob_id)]);
    answer_update(&mut c, &peer, &updated).await;
    wait_media_from(&peer, pa.nonce(), "alice's media").await;
    wait_media_from(&peer, pb.nonce(), "bob's media").await;

    // Alice's streams go: one offer, her m-lines inactive, her media stops.
    let updated = c.send(json!({"request": "unsubscribe", "streams": [{"feed": alice_id}]}), None).await;
    let streams = streams_of(&updated["plugindata"]["data"]);
    assert_eq!(streams.iter().map(|s| s.1).collect::<Vec<_>>(), [false, false, true, true], "{updated}");
    answer_update(&mut c, &peer, &updated).await;
    video_stops(&peer, pa.nonce(), (Kind::Video, pb.nonce(), 60), "alice is unsubscribed").await;

    // Alice's video again: it takes the inactive video m-line, no new one.
    let inactive_video = updated["plugindata"]["data"]["streams"][1]["mid"].clone();
    let updated =
        c.send(json!({"request": "subscribe", "streams": [{"feed": alice_id, "mid": "1"}]}), None).await;
    assert_eq!(m_lines(&updated), 4, "the m-line is recycled: {updated}");
    let recycled = &updated["plugindata"]["data"]["streams"][1];
    assert_eq!(
        (&recycled["mid"], &recycled["feed_id"], &recycled["active"]),
        (&inactive_video, &json!(alice_id), &json!(true))
    );
    answer_update(&mut c, &peer, &updated).await;
    let alice_then = peer.stats().video.foreign_markers[&pa.nonce()];
    peer.wait_until("alice's video again", WAIT, |s| s.video.foreign_markers[&pa.nonce()] >= alice_then + 60)
        .await
        .expect("alice's video again");

    // That m-line switches to bob's video without SDP.
    let before_switch = peer.stats();
    let switched = c
        .send(json!({"request": "switch", "streams": [{"feed": bob_id, "mid": "1", "sub_mid": inactive_video}]}), None)
        .await;
    let data = &switched["plugindata"]["data"];
    assert_eq!((&data["switched"], &data["changes"]), (&json!("ok"), &json!(1)), "{switched}");
    assert!(switched.get("jsep").is_none(), "no SDP for a switch");
    // Bob's video twice over: on his own m-line and on the switched one.
    let after =
        video_stops(&peer, pa.nonce(), (Kind::Video, pb.nonce(), 120), "alice is switched away").await;
    // One stream on that m-line throughout: its numbers go on without a break.
    assert_eq!(
        after.video.seq_breaks, before_switch.video.seq_breaks,
        "the switch broke a stream's numbering"
    );

    // Bob leaves: the subscriber gets an offer of its own, bob's streams inactive.
    let r = bob.send(json!({"request": "leave"}), None).await;
    assert_eq!(r["plugindata"]["data"]["leaving"], "ok");
    let updated =
        c.message("the offer after bob left", |m| m["plugindata"]["data"]["videoroom"] == "updated").await;
    assert!(updated.get("transaction").is_none(), "{updated}");
    let streams = streams_of(&updated["plugindata"]["data"]);
    assert!(streams.iter().all(|s| !s.1), "bob's streams were the live ones: {updated}");
    answer_update(&mut c, &peer, &updated).await;
    pa.close().await.ok();
    pb.close().await.ok();
    peer.close().await.ok();
}

/// A moderator mutes a publisher's video: its subscribers stop getting it (the audio goes on)
/// and the room hears it; unmuted, it comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_mutes_and_unmutes_a_stream() {
    let gw = gateway();
    let (mut alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let (_s, p, _) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    wait_media_from(&p, pa.nonce(), "alice's media").await;
    let moderate = |mute: bool| json!({"request": "moderate", "room": 1234, "secret": "adminpwd", "id": alice_id, "mid": "1", "mute": mute});
    assert_eq!(alice.request(moderate(true)).await, json!({"videoroom": "success"}));
    let heard = alice.event("the moderation", |d| d.get("moderation").is_some()).await;
    assert_eq!(
        heard,
        json!({"videoroom": "event", "room": 1234, "id": alice_id, "mid": "1", "moderation": "muted"})
    );
    video_stops(&p, pa.nonce(), (Kind::Audio, pa.nonce(), 50), "the video is muted").await;
    let no_stream = json!({"request": "moderate", "room": 1234, "secret": "adminpwd", "id": alice_id, "mid": "7", "mute": true});
    let e = alice.request(no_stream).await;
    assert_eq!((&e["error_code"], &e["error"]), (&json!(428), &json!("No such stream 7")), "{e}");
    alice.request(moderate(false)).await;
    let video = p.stats().video.foreign_markers[&pa.nonce()];
    p.wait_until("video again", WAIT, |s| s.video.foreign_markers[&pa.nonce()] >= video + 60)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    pa.close().await.ok();
    p.close().await.ok();
}

/// A publisher's data channel reaches its subscribers' (text and binary), on one data m-line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishers_data_reaches_its_subscribers() {
    let gw = gateway();
    let (mut alice, pa, alice_id, configured) = publish_with(&gw, "alice", true).await;
    let types: Vec<&Value> = configured["streams"].as_array().unwrap().iter().map(|s| &s["type"]).collect();
    assert_eq!(types, [&json!("audio"), &json!("video"), &json!("data")], "{configured}");
    let (_s, p, attached) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    let data = attached["streams"].as_array().unwrap().iter().find(|s| s["type"] == "data").cloned();
    let data = data.unwrap_or_else(|| panic!("a data stream in {attached}"));
    assert_eq!((&data["sources"], &data["source_ids"]), (&json!(1), &json!([alice_id])), "{attached}");
    pa.wait_data_open(WAIT).await.expect("alice's data channel");
    p.wait_data_open(WAIT).await.expect("the subscriber's data channel");
    // Until it arrives: the subscriber's channel may open a moment after the relay starts.
    let mut got = None;
    for _ in 0..50 {
        pa.send_text("hello room").await.expect("send");
        pa.send_binary(&[1, 2, 3]).await.expect("send");
        let seen = p
            .wait_until("alice's data", std::time::Duration::from_millis(200), |s| {
                s.data_messages
                    .iter()
                    .any(|(_, m)| matches!(m, crate::peer::DataMessage::Binary(b) if b == &[1, 2, 3]))
            })
            .await;
        if let Ok(seen) = seen {
            got = Some(seen);
            break;
        }
    }
    let got = got.expect("alice's data at the subscriber");
    let text = |s: &PeerStats, text: &str| {
        s.data_messages.iter().any(|(_, m)| matches!(m, crate::peer::DataMessage::Text(t) if t == text))
    };
    assert!(text(&got, "hello room"), "{:?}", got.data_messages);
    // What a moderator muted is not relayed: a message sent while muted (with a second of
    // alice's audio after it to arrive) is missing when the next one, after the unmute, comes.
    let moderate = |mute: bool| json!({"request": "moderate", "room": 1234, "secret": "adminpwd", "id": alice_id, "mid": "2", "mute": mute});
    assert_eq!(alice.request(moderate(true)).await, json!({"videoroom": "success"}));
    pa.send_text("while muted").await.expect("send");
    let audio = |s: &PeerStats| s.audio.foreign_markers.get(&pa.nonce()).copied().unwrap_or(0);
    let then = audio(&p.stats());
    p.wait_until("a second of audio", WAIT, |s| audio(s) >= then + 50)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    alice.request(moderate(false)).await;
    let mut after = None;
    for _ in 0..50 {
        pa.send_text("unmuted").await.expect("send");
        let quick = std::time::Duration::from_millis(200);
        if let Ok(seen) = p.wait_until("data after the unmute", quick, |s| text(s, "unmuted")).await {
            after = Some(seen);
            break;
        }
    }
    let after = after.expect("data after the unmute");
    assert!(!text(&after, "while muted"), "a muted data stream was relayed: {:?}", after.data_messages);
    pa.close().await.ok();
    p.close().await.ok();
}

/// With `fir_freq`, publishers are asked for a keyframe every that many seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_are_asked_for_keyframes_every_fir_freq_seconds() {
    let gw = gateway_with("fir_freq = 1");
    let (_alice, pa, _, _) = publish(&gw, "alice").await;
    let first = pa.stats().rtcp.pli + pa.stats().rtcp.fir;
    pa.wait_until("two more keyframe requests", WAIT, |s| s.rtcp.pli + s.rtcp.fir >= first + 2)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    pa.close().await.ok();
}

/// Reloading the VideoRoom plugin during a live room: media keeps flowing, and the new instance
/// knows the room, its publisher and its subscriber's rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_reload_keeps_a_live_room() {
    let gw = gateway();
    let (mut alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let (mut s1, p1, attached) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    wait_media_from(&p1, pa.nonce(), "alice's media").await;
    let reload = json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord",
                        "plugin": VIDEOROOM});
    let r = gw.admin_http().post("", &reload).await;
    assert_eq!(r["janus"], "success", "{r}");
    // Media never went through the plugin: it goes on.
    let video = p1.stats().video.foreign_markers[&pa.nonce()];
    p1.wait_until("video after the reload", WAIT, |s| s.video.foreign_markers[&pa.nonce()] >= video + 60)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    // The new instance knows the room, alice's streams, and the subscriber's rules.
    let list = alice.request(json!({"request": "listparticipants", "room": 1234})).await;
    assert_eq!(list["participants"][0]["publisher"], true, "{list}");
    let (_s2, p2, _) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    wait_media_from(&p2, pa.nonce(), "alice's media at a subscriber that joined after the reload").await;
    let video_mid = attached["streams"][1]["mid"].clone();
    let r =
        s1.send(json!({"request": "configure", "streams": [{"mid": video_mid, "send": false}]}), None).await;
    assert_eq!(r["plugindata"]["data"]["configured"], "ok");
    video_stops(&p1, pa.nonce(), (Kind::Audio, pa.nonce(), 50), "the rule made before the reload is gone")
        .await;
    pa.close().await.ok();
    p1.close().await.ok();
    p2.close().await.ok();
}

/// One subscriber, three publishers, one PeerConnection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_of_three_publishers_on_one_peerconnection() {
    let gw = gateway();
    let mut publishers = Vec::new();
    for name in ["alice", "bob", "carol"] {
        publishers.push(publish(&gw, name).await);
    }
    let streams: Vec<Value> = publishers.iter().map(|(_, _, id, _)| json!({"feed": id})).collect();
    let (_s, p, attached) = subscribe(&gw, json!({ "streams": streams })).await;
    assert_eq!(attached["streams"].as_array().map(Vec::len), Some(6), "{attached}");
    for (_, peer, _, _) in &publishers {
        wait_media_from(&p, peer.nonce(), "every publisher's media").await;
    }
    assert_eq!(p.stats().remote_tracks.len(), 6);
    for (_, peer, _, _) in &publishers {
        peer.close().await.ok();
    }
    p.close().await.ok();
}

/// In a room with `audiolevel_event`, a publisher whose audio level gets louder than
/// `audio_level_average` over `audio_active_packets` packets talks, and the room hears it;
/// quieter again, it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talking_events_come_from_the_audio_level() {
    let gw = gateway_with("audiolevel_event = true audio_active_packets = 10 audio_level_average = 25");
    let mut watcher = Client::new(&gw, VIDEOROOM).await;
    watcher.send(json!({"request": "join", "ptype": "publisher", "room": 1234}), None).await;
    let (mut alice, pa, alice_id, _) = publish(&gw, "alice").await;
    pa.set_audio_level(10);
    let mut talking = watcher.event("alice talking", |d| d["videoroom"] == "talking").await;
    // The window that saw the change may average some silence in.
    let level = talking.as_object_mut().unwrap().remove("audio-level-dBov-avg").and_then(|l| l.as_f64());
    assert!(level.is_some_and(|l| (10.0..25.0).contains(&l)), "{level:?}");
    assert_eq!(talking, json!({"videoroom": "talking", "room": 1234, "id": alice_id, "mid": "0"}));
    alice.event("alice hears herself talking", |d| d["videoroom"] == "talking").await;
    let list = watcher.request(json!({"request": "listparticipants", "room": 1234})).await;
    let entry =
        list["participants"].as_array().unwrap().iter().find(|p| p["id"] == alice_id).cloned().unwrap();
    assert_eq!(entry["talking"], true, "{list}");
    pa.set_audio_level(60);
    let stopped = watcher.event("alice stopped talking", |d| d["videoroom"] == "stopped-talking").await;
    let level = stopped["audio-level-dBov-avg"].as_f64();
    assert!(level.is_some_and(|l| (25.0..=60.0).contains(&l)), "{stopped}");
    pa.close().await.ok();
}

/// The publish errors a client can provoke: publishing twice (434), and a full room (432).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_twice_or_into_a_full_room_is_refused() {
    let gw = gateway();
    let (mut alice, pa, _, _) = publish(&gw, "alice").await;
    let offer = Peer::new(true, true, false).await.expect("peer").create_offer(WAIT).await.expect("offer");
    let jsep = json!({"type": "offer", "sdp": offer});
    let r = alice.send(json!({"request": "publish"}), Some(jsep.clone())).await;
    let data = &r["plugindata"]["data"];
    assert_eq!(
        (&data["error_code"], &data["error"]),
        (&json!(434), &json!("Can't publish, already published"))
    );
    // A room for one publisher: alice is in 1234, carol fills room 99, dave is refused.
    alice.request(json!({"request": "create", "room": 99, "publishers": 1})).await;
    let (mut carol, mut dave) = (Client::new(&gw, VIDEOROOM).await, Client::new(&gw, VIDEOROOM).await);
    for c in [&mut carol, &mut dave] {
        c.send(json!({"request": "join", "ptype": "publisher", "room": 99}), None).await;
    }
    let pc = Peer::new(true, true, false).await.expect("carol's peer");
    let offer = pc.create_offer(WAIT).await.expect("offer");
    let ev = carol.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    pc.set_answer(ev["jsep"]["sdp"].as_str().unwrap()).await.expect("answer");
    pc.start_media().await;
    pc.wait_connected(WAIT).await.expect("carol connected");
    carol.message("carol's webrtcup", |m| m["janus"] == "webrtcup").await;
    let full = (json!(432), json!("Maximum number of publishers (1) reached"));
    // Not with publish, nor configure, nor joinandconfigure with an offer.
    for request in ["publish", "configure"] {
        let r = dave.send(json!({ "request": request }), Some(jsep.clone())).await;
        let data = &r["plugindata"]["data"];
        assert_eq!((&data["error_code"], &data["error"]), (&full.0, &full.1), "{request}: {r}");
    }
    let mut erin = Client::new(&gw, VIDEOROOM).await;
    let join = json!({"request": "joinandconfigure", "ptype": "publisher", "room": 99});
    let r = erin.send(join, Some(jsep)).await;
    let data = &r["plugindata"]["data"];
    assert_eq!((&data["error_code"], &data["error"]), (&full.0, &full.1), "joinandconfigure: {r}");
    pa.close().await.ok();
    pc.close().await.ok();
}

/// A destroyed room's subscribers lose their PeerConnection and the room: their requests
/// then find no room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroying_a_room_ends_its_subscriptions() {
    let gw = gateway();
    let (mut alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let (mut s, p, _) = subscribe(&gw, json!({"streams": [{"feed": alice_id}]})).await;
    wait_media_from(&p, pa.nonce(), "alice's media").await;
    let destroyed = alice.request(json!({"request": "destroy", "room": 1234, "secret": "adminpwd"})).await;
    assert_eq!(destroyed, json!({"videoroom": "destroyed", "room": 1234, "permanent": false}));
    s.message("the subscriber's hangup", |m| m["janus"] == "hangup").await;
    let r = s.send(json!({"request": "configure", "send": false}), None).await;
    let data = &r["plugindata"]["data"];
    assert_eq!((&data["error_code"], &data["error"]), (&json!(426), &json!("No such room")), "{r}");
    pa.close().await.ok();
    p.close().await.ok();
}

/// With `bitrate_cap`, a publisher's `configure` can lower its bitrate (REMB) but not raise it
/// above the room's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrate_cap_is_a_ceiling_for_publishers() {
    let gw = gateway_with("bitrate = 128000 bitrate_cap = true");
    let (mut alice, pa, _, _) = publish(&gw, "alice").await;
    let remb_of = |s: &PeerStats| s.rtcp.remb.last().map(|r| r.bitrate);
    alice.send(json!({"request": "configure", "bitrate": 64000}), None).await;
    pa.wait_until("a REMB of 64 kbit/s", WAIT, |s| remb_of(s) == Some(64_000))
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    alice.send(json!({"request": "configure", "bitrate": 1_000_000}), None).await;
    let s = pa
        .wait_until("a REMB above 64 kbit/s", WAIT, |s| remb_of(s).is_some_and(|b| b > 64_000))
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert_eq!(remb_of(&s), Some(128_000), "raised only to the room's cap");
    pa.close().await.ok();
}

/// Joins room `room` and publishes with `e2ee` in the JSEP, as janus.js does with end-to-end
/// encryption; returns the client, the peer, its id and the answer event.
async fn publish_e2ee(gw: &Gateway, room: u64, display: &str) -> (Client, Peer, u64, Value) {
    let mut c = Client::new(gw, VIDEOROOM).await;
    let joined = c
        .send(json!({"request": "join", "ptype": "publisher", "room": room, "display": display}), None)
        .await;
    let id = joined["plugindata"]["data"]["id"].as_u64().unwrap_or_else(|| panic!("join: {joined}"));
    let peer = Peer::new(true, true, false).await.expect("publisher peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let jsep = json!({"type": "offer", "sdp": offer, "e2ee": true});
    let ev = c.send(json!({"request": "publish"}), Some(jsep)).await;
    assert_eq!((&ev["jsep"]["type"], &ev["jsep"]["e2ee"]), (&json!("answer"), &json!(true)), "{ev}");
    peer.set_answer(ev["jsep"]["sdp"].as_str().unwrap()).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("publisher connected");
    until_publishing(&mut c, room, id).await;
    (c, peer, id, ev)
}

/// End-to-end encryption (janus.js's `e2ee`): an encrypting publisher's answer and its
/// subscribers' offers say `e2ee`, and its media reaches them as it is; a subscription is all
/// encrypted or not at all (438); a `require_e2ee` room refuses a publisher that does not
/// encrypt (433).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_encrypted_media_stays_apart() {
    let gw = gateway();
    let (_sc, secret, secret_id, _) = publish_e2ee(&gw, 1234, "secret").await;
    let (mut pc, plain, plain_id, configured) = publish(&gw, "plain").await;
    pc.message("the plain publisher's webrtcup", |m| m["janus"] == "webrtcup").await;
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let code =
        |r: &Value| (r["plugindata"]["data"]["error_code"].clone(), r["plugindata"]["data"]["error"].clone());
    for (first, second, text) in [
        (
            secret_id,
            plain_id,
            format!("Can't have not end-to-end encrypted feed in this subscription ({plain_id})"),
        ),
        (
            plain_id,
            secret_id,
            format!("Can't have end-to-end encrypted feed in this subscription ({secret_id})"),
        ),
    ] {
        let join = json!({"request": "join", "ptype": "subscriber", "room": 1234,
                          "streams": [{"feed": first}, {"feed": second}]});
        assert_eq!(code(&c.send(join, None).await), (json!(438), json!(text)));
    }
    let join =
        json!({"request": "join", "ptype": "subscriber", "room": 1234, "streams": [{"feed": secret_id}]});
    let attached = c.send(join, None).await;
    assert_eq!(
        (&attached["jsep"]["type"], &attached["jsep"]["e2ee"]),
        (&json!("offer"), &json!(true)),
        "{attached}"
    );
    let peer = Peer::new(false, false, false).await.expect("subscriber peer");
    let answer = peer.answer_offer(attached["jsep"]["sdp"].as_str().unwrap(), WAIT).await.expect("answer");
    c.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    peer.wait_until("the encrypting publisher's video", WAIT, |s| {
        s.recv(Kind::Video).foreign_markers.get(&secret.nonce()).copied().unwrap_or(0) >= 30
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
    let mix = c.send(json!({"request": "subscribe", "streams": [{"feed": plain_id}]}), None).await;
    let mixing = (json!(438), json!("Can't mix normal and end-to-end encrypted subscriptions"));
    assert_eq!(code(&mix), mixing);
    let sub_mid = &attached["plugindata"]["data"]["streams"][0]["mid"];
    let mid = &configured["streams"][0]["mid"];
    let switch =
        json!({"request": "switch", "streams": [{"feed": plain_id, "mid": mid, "sub_mid": sub_mid}]});
    assert_eq!(code(&c.send(switch, None).await), mixing);

    // A room that requires it.
    pc.request(json!({"request": "create", "room": 77, "require_e2ee": true})).await;
    let mut d = Client::new(&gw, VIDEOROOM).await;
    d.send(json!({"request": "join", "ptype": "publisher", "room": 77}), None).await;
    let offer = Peer::new(true, true, false).await.expect("peer").create_offer(WAIT).await.expect("offer");
    let r = d.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(code(&r), (json!(433), json!("Room requires end-to-end encrypted media")));
    let (mut ec, encrypting, _, _) = publish_e2ee(&gw, 77, "encrypting").await;
    // Unpublished, it is no longer marked: publishing again without e2ee is refused there.
    let r = ec.send(json!({"request": "unpublish"}), None).await;
    assert_eq!(r["plugindata"]["data"]["unpublished"], "ok", "{r}");
    let offer = Peer::new(true, true, false).await.expect("peer").create_offer(WAIT).await.expect("offer");
    let r = ec.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(code(&r), (json!(433), json!("Room requires end-to-end encrypted media")));
    for p in [secret, plain, peer, encrypting] {
        p.close().await.ok();
    }
}

/// A room's switches reach the publisher's answer as Janus writes them: `opus_dtx` asks for
/// DTX (`usedtx=1`), and an RTP extension turned off (`audiolevel_ext: false`) is left out,
/// where the default room keeps it. A subscriber with `use_msid` gets its publisher's tracks
/// in a stream named after the publisher.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_opus_and_extension_switches_shape_the_answer() {
    let gw = gateway();
    let (mut c, peer, id, _) = publish(&gw, "default").await;
    c.message("the publisher's webrtcup", |m| m["janus"] == "webrtcup").await;
    let (_s, viewer, _) = subscribe(&gw, json!({"streams": [{"feed": id}], "use_msid": true})).await;
    let stats = viewer
        .wait_until("both tracks", WAIT, |s| s.remote_tracks.len() >= 2)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    for t in &stats.remote_tracks {
        assert_eq!(t.stream_id, id.to_string(), "{:?}", stats.remote_tracks);
    }
    viewer.close().await.ok();
    let offer = Peer::new(true, true, false).await.expect("peer").create_offer(WAIT).await.expect("offer");
    c.request(json!({"request": "create", "room": 55, "opus_dtx": true, "audiolevel_ext": false,
        "transport_wide_cc_ext": false}))
        .await;
    let mut d = Client::new(&gw, VIDEOROOM).await;
    d.send(json!({"request": "join", "ptype": "publisher", "room": 55}), None).await;
    let r = d.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer.clone()}))).await;
    let switched = r["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {r}")).to_owned();
    // The same offer in room 1234.
    let mut e = Client::new(&gw, VIDEOROOM).await;
    e.send(json!({"request": "join", "ptype": "publisher", "room": 1234}), None).await;
    let r = e.send(json!({"request": "publish"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let plain = r["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {r}")).to_owned();
    let opus_fmtp =
        |sdp: &str| sdp.lines().find(|l| l.starts_with("a=fmtp:111")).unwrap_or_default().to_owned();
    assert!(opus_fmtp(&switched).contains("usedtx=1"), "{switched}");
    assert!(!opus_fmtp(&plain).contains("usedtx"), "{plain}");
    let (plain, switched) = (sdp_extensions(&plain), sdp_extensions(&switched));
    assert!(["audio-level", "transport-cc"].iter().all(|e| plain.contains(&e.to_string())), "{plain:?}");
    assert!(!plain.contains(&"abs-send-time".to_owned()), "publishers are not asked for it: {plain:?}");
    assert!(!switched.iter().any(|e| e == "audio-level" || e == "transport-cc"), "{switched:?}");
    peer.close().await.ok();
}

/// `dummy_publisher`: a room's placeholder publisher. It is listed (`dummy: true`) with a
/// stream per codec of the room and cannot be kicked; a subscriber takes its streams (one
/// offer, an m-line per room codec, nothing flowing), then `switch`es them to a real
/// publisher's without SDP and gets that publisher's audio and video.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dummy_publisher_holds_places_for_a_switch() {
    let gw = gateway_with("dummy_publisher = true");
    let mut admin = Client::new(&gw, VIDEOROOM).await;
    let listed = admin.request(json!({"request": "listparticipants", "room": 1234})).await;
    let dummy = &listed["participants"][0];
    assert_eq!(
        (&dummy["display"], &dummy["dummy"], &dummy["publisher"]),
        (&json!("Dummy publisher"), &json!(true), &json!(true)),
        "{listed}"
    );
    let dummy_id = dummy["id"].as_u64().expect("an id");
    let kick = json!({"request": "kick", "room": 1234, "secret": "adminpwd", "id": dummy_id});
    assert_eq!(
        admin.request(kick).await,
        json!({"videoroom": "event", "error_code": 428, "error": "Can't kick dummy users"})
    );

    let (mut c, peer, attached) = subscribe(&gw, json!({"streams": [{"feed": dummy_id}]})).await;
    let streams = streams_of(&attached);
    assert_eq!(
        streams,
        [("audio".to_owned(), true, json!(dummy_id)), ("video".to_owned(), true, json!(dummy_id))],
        "{attached}"
    );
    assert_eq!(
        (&attached["streams"][0]["codec"], &attached["streams"][1]["codec"]),
        (&json!("opus"), &json!("vp8"))
    );
    let sub_mids: Vec<Value> =
        attached["streams"].as_array().unwrap().iter().map(|s| s["mid"].clone()).collect();

    // Alice joins: the room's publishers she is told of include the dummy.
    let (_alice, pa, alice_id, _) = publish(&gw, "alice").await;
    let mut bob = Client::new(&gw, VIDEOROOM).await;
    let joined = bob
        .send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": "bob"}), None)
        .await;
    let publishers = joined["plugindata"]["data"]["publishers"].as_array().cloned().unwrap_or_default();
    let listed_dummy = publishers.iter().find(|p| p["id"] == dummy_id).unwrap_or_else(|| panic!("{joined}"));
    assert_eq!(
        (&listed_dummy["dummy"], &listed_dummy["audio_codec"]),
        (&json!(true), &json!("opus")),
        "{joined}"
    );
    assert_eq!(peer.stats().video.foreign_markers.get(&pa.nonce()), None, "nothing flows on a placeholder");

    let switch = json!({"request": "switch", "streams": [
        {"feed": alice_id, "mid": "0", "sub_mid": sub_mids[0]},
        {"feed": alice_id, "mid": "1", "sub_mid": sub_mids[1]}]});
    let switched = c.send(switch, None).await;
    let data = &switched["plugindata"]["data"];
    assert_eq!((&data["switched"], &data["changes"]), (&json!("ok"), &json!(2)), "{switched}");
    assert!(switched.get("jsep").is_none(), "no SDP for a switch");
    peer.wait_until("alice's audio and video on the placeholders", WAIT, |s| {
        s.video.foreign_markers.get(&pa.nonce()).copied().unwrap_or(0) >= 60
            && s.recv(Kind::Audio).packets >= 50
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
    pa.close().await.ok();
    peer.close().await.ok();
}

/// A recording the plugin's `max_rules` cannot take leaves no file behind: the publisher's
/// audio and video are recorded, the data stream (a third rule) is refused, and its file,
/// made before the refusal, is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recording_leaves_no_file() {
    let room = "room-1234: { description = \"Demo Room\" publishers = 6 }\n";
    let Some((gw, dir)) = crate::recorded::recording_gateway_with(
        Conf::default(),
        "janus.plugin.videoroom",
        room,
        "max_rules = 2",
    ) else {
        return;
    };
    let (mut alice, _alice_peer, _, _) = publish_with(&gw, "alice", true).await;
    let r = alice.send(json!({"request": "configure", "record": true, "filename": "alice"}), None).await;
    assert_eq!(r["janus"], "event", "{r}");
    crate::recorded::video_packets_recorded(&dir.join("alice-video-1.mjr"), 10).await;
    assert!(dir.join("alice-audio-0.mjr").exists());
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!files.iter().any(|f| f.starts_with("alice-data")), "{files:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A publisher asks to be recorded (`record`, `filename` on `configure`; the room's
/// `lock_record` wants its secret for that): each stream goes to an .mjr file of its own that
/// Janus's `janus-pp-rec` reads, the tone in the audio and the VP8 frames in the video.
/// `enable_recording` records every publisher of the room, under Janus's default names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_are_recorded_for_janus_pp_rec() {
    let Some((gw, dir)) = crate::recorded::recording_gateway("janus.plugin.videoroom", "room-1234: { description = \"Demo Room\" secret = \"adminpwd\" publishers = 6 lock_record = true }\n") else {
        return;
    };
    let (mut alice, alice_peer, _, _) = publish_with(&gw, "alice", true).await;
    alice_peer.set_tone(440.0, 8000.0);
    let wrong = json!({"request": "configure", "record": true, "filename": "alice", "secret": "nope"});
    let refused = alice.send(wrong, None).await;
    assert_eq!(refused["plugindata"]["data"]["error_code"], 433, "lock_record wants the secret: {refused}");
    let record = json!({"request": "configure", "record": true, "filename": "alice", "secret": "adminpwd"});
    let r = alice.send(record, None).await;
    assert_eq!(r["plugindata"]["data"]["configured"], "ok", "{r}");
    // Her data channel's messages, once the recording runs.
    crate::recorded::video_packets_recorded(&dir.join("alice-video-1.mjr"), 10).await;
    alice_peer.wait_data_open(WAIT).await.expect("data channel open");
    for n in 0..3 {
        alice_peer.send_text(&format!("line {n}")).await.expect("send text");
    }
    let packets = crate::recorded::video_packets_recorded(&dir.join("alice-video-1.mjr"), 210).await;
    let stop = json!({"request": "configure", "record": false, "secret": "adminpwd"});
    let r = alice.send(stop, None).await;
    assert_eq!(r["plugindata"]["data"]["configured"], "ok", "{r}");
    assert!(packets >= 210, "over two seconds of video: {packets} packets");
    let (p440, p1000) = crate::audiobridge::tones_recorded(&dir.join("alice-audio-0.mjr")).await;
    assert!(p440 > 1e5 && p1000 < p440 / 100.0, "the publisher's tone: {p440:.0} {p1000:.0}");
    let messages = crate::recorded::messages_recorded(&dir.join("alice-data-2.mjr"), 3).await;
    assert_eq!(messages, ["line 0", "line 1", "line 2"]);

    // The whole room, under Janus's default names.
    let (mut bob, _bob_peer, bob_id, _) = publish(&gw, "bob").await;
    let on = bob
        .request(json!({"request": "enable_recording", "room": 1234, "secret": "adminpwd", "record": true}))
        .await;
    assert_eq!(on, json!({"videoroom": "success", "record": true}));
    let prefix = format!("videoroom-1234-user-{bob_id}-");
    let bobs_video = crate::recorded::recorded_file(&dir, &prefix, "-video-1.mjr").await;
    crate::recorded::video_packets_recorded(&bobs_video, 30).await;
    let off = bob
        .request(json!({"request": "enable_recording", "room": 1234, "secret": "adminpwd", "record": false}))
        .await;
    assert_eq!(off, json!({"videoroom": "success", "record": false}));
    std::fs::remove_dir_all(&dir).ok();
}

/// The event handler hears a publisher's life, as Janus's VideoRoom tells it: `published`
/// with its streams once its PeerConnection is up, `configured`, `moderated`, forwarders, a
/// subscriber's `subscribing`, `subscribed`, `switched` and `unsubscribed`, `unpublished`,
/// then `kicked`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_is_told_to_the_event_handler() {
    let (addr, posts) = crate::backend::backend("127.0.0.1", false).await;
    let mut posts = crate::backend::Heard::new(posts);
    let mut conf = crate::backend::plugin_events_conf(&format!("http://{addr}/"));
    conf.extra.push((
        "janus.plugin.videoroom.jcfg".to_owned(),
        "room-1234: { description = \"Demo Room\" secret = \"adminpwd\" publishers = 6 }\n".to_owned(),
    ));
    let gw = Gateway::with(conf);
    let (mut alice, _peer, id, _) = publish(&gw, "Alice").await;
    let said = |event: &'static str| move |e: &Value| e["event"]["data"]["event"] == event;
    let published = crate::backend::events_until(&mut posts, said("published")).await.pop().unwrap();
    let data = &published["event"]["data"];
    assert_eq!(
        (data["room"].clone(), data["id"].clone(), data["display"].clone()),
        (json!(1234), json!(id), json!("Alice"))
    );
    let kinds: Vec<&str> =
        data["streams"].as_array().unwrap().iter().filter_map(|s| s["type"].as_str()).collect();
    assert!(kinds.contains(&"audio") && kinds.contains(&"video"), "{published}");
    assert_eq!(published["handle_id"], alice.handle(), "{published}");
    let audio_mid =
        data["streams"].as_array().unwrap().iter().find(|s| s["type"] == "audio").unwrap()["mid"].clone();
    // The publisher configures.
    alice.send(json!({"request": "configure", "bitrate": 128000}), None).await;
    let configured = crate::backend::events_until(&mut posts, said("configured")).await.pop().unwrap();
    assert_eq!(
        configured["event"]["data"],
        json!({"event": "configured", "room": 1234, "id": id, "bitrate": 128000})
    );
    assert_eq!(configured["handle_id"], alice.handle(), "{configured}");
    // A moderator mutes its audio, then forwards it (about no handle).
    let mut moderator = Client::new(&gw, VIDEOROOM).await;
    let moderate = json!({"request": "moderate", "room": 1234, "secret": "adminpwd", "id": id, "mid": audio_mid, "mute": true});
    assert_eq!(moderator.request(moderate).await["videoroom"], "success");
    let moderated =
        crate::backend::events_until(&mut posts, |e| e["event"]["data"]["videoroom"] == "moderated")
            .await
            .pop()
            .unwrap();
    assert_eq!(
        moderated["event"]["data"],
        json!({"videoroom": "moderated", "room": 1234, "id": id, "mid": audio_mid, "moderation": "muted"})
    );
    assert!(moderated.get("handle_id").is_none(), "{moderated}");
    let port = crate::harness::quiet_port();
    let forward = json!({"request": "rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": id, "host": "127.0.0.1",
                         "streams": [{"mid": audio_mid, "port": port}]});
    let r = moderator.request(forward).await;
    assert_eq!(r["videoroom"], "rtp_forward", "{r}");
    let stream_id = r["forwarders"][0]["stream_id"].clone();
    let fwd = crate::backend::events_until(&mut posts, said("rtp_forward")).await.pop().unwrap();
    assert_eq!(
        fwd["event"]["data"],
        json!({"event": "rtp_forward", "room": 1234, "publisher_id": id, "media": "audio", "codec": "opus",
               "stream_id": stream_id, "type": "audio", "host": "127.0.0.1", "port": port})
    );
    let stop = json!({"request": "stop_rtp_forward", "room": 1234, "secret": "adminpwd", "publisher_id": id, "stream_id": stream_id});
    moderator.request(stop).await;
    let stopped = crate::backend::events_until(&mut posts, said("stop_rtp_forward")).await.pop().unwrap();
    assert_eq!(
        stopped["event"]["data"],
        json!({"event": "stop_rtp_forward", "room": 1234, "publisher_id": id, "stream_id": stream_id})
    );
    // A subscriber comes, switches (to what it has), and goes.
    let (mut bob, bob_peer, attached) = subscribe(&gw, json!({"streams": [{"feed": id}]})).await;
    let subscribing = crate::backend::events_until(&mut posts, said("subscribing")).await.pop().unwrap();
    assert_eq!(subscribing["handle_id"], bob.handle(), "{subscribing}");
    assert_eq!(
        subscribing["event"]["data"],
        json!({"event": "subscribing", "room": 1234, "streams": attached["streams"], "private_id": 0})
    );
    let subscribed = crate::backend::events_until(&mut posts, said("subscribed")).await.pop().unwrap();
    assert_eq!(subscribed["event"]["data"], json!({"event": "subscribed", "room": 1234}));
    let video =
        attached["streams"].as_array().unwrap().iter().find(|s| s["type"] == "video").unwrap().clone();
    let switch = json!({"request": "switch", "streams": [{"feed": id, "mid": video["feed_mid"], "sub_mid": video["mid"]}]});
    bob.send(switch, None).await;
    let switched = crate::backend::events_until(&mut posts, said("switched")).await.pop().unwrap();
    assert_eq!(switched["event"]["data"], json!({"event": "switched", "room": 1234}));
    bob.send(json!({"request": "leave"}), None).await;
    let unsubscribed = crate::backend::events_until(&mut posts, said("unsubscribed")).await;
    let unsubscribed = unsubscribed.last().unwrap();
    assert_eq!(unsubscribed["handle_id"], bob.handle(), "{unsubscribed}");
    assert_eq!(
        (unsubscribed["event"]["data"]["feed"].clone(), unsubscribed["event"]["data"]["room"].clone()),
        (json!(id), json!(1234))
    );
    drop(bob_peer);
    let r = alice.send(json!({"request": "unpublish"}), None).await;
    assert_eq!(r["plugindata"]["data"]["unpublished"], "ok", "{r}");
    let unpublished = crate::backend::events_until(&mut posts, said("unpublished")).await.pop().unwrap();
    // Janus tells these about no handle, with the display.
    assert_eq!(
        unpublished["event"]["data"],
        json!({"event": "unpublished", "room": 1234, "id": id, "display": "Alice"})
    );
    assert!(unpublished.get("handle_id").is_none(), "{unpublished}");
    let kicked =
        moderator.request(json!({"request": "kick", "room": 1234, "secret": "adminpwd", "id": id})).await;
    assert_eq!(kicked["videoroom"], "success", "{kicked}");
    let kicked = crate::backend::events_until(&mut posts, said("kicked")).await.pop().unwrap();
    assert_eq!(
        kicked["event"]["data"],
        json!({"event": "kicked", "room": 1234, "id": id, "display": "Alice"})
    );
}
