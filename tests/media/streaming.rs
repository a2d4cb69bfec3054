//! Streaming with media: plain RTP senders (a VP8 camera, an Opus phone) feed mountpoints that
//! webrtc-rs viewers watch, as janus.js's Streaming page does; with the answers and events of
//! Janus 1.1.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::net::UdpSocket;

use super::{camera, phone_talks, WAIT};
use crate::harness::{Gateway, PluginClient as Client};
use crate::peer::{AudioCodec, Kind, Peer, PeerStats};

const STREAMING: &str = "janus.plugin.streaming";

fn result(m: &Value) -> &Value {
    &m["plugindata"]["data"]["result"]
}

/// Creates an rtp mountpoint with these media; returns the ports it bound, by mid.
async fn create(c: &mut Client, id: u64, media: Value) -> Vec<(String, Vec<u16>)> {
    let r = c.request(json!({"request": "create", "type": "rtp", "id": id, "description": format!("mp {id}"), "media": media})).await;
    assert_eq!(r["streaming"], "created", "{r}");
    r["stream"]["ports"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|p| {
            let ports = ["port", "port_2", "port_3"]
                .iter()
                .filter_map(|k| p[*k].as_u64())
                .map(|n| n as u16)
                .collect();
            (p["mid"].as_str().unwrap_or_default().to_owned(), ports)
        })
        .collect()
}

/// A phone sending Opus with `nonce` to a local port.
async fn phone(port: u16, nonce: [u8; 4]) -> tokio::sync::oneshot::Sender<()> {
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    phone_talks(sock, ([127, 0, 0, 1], port).into(), nonce, None)
}

/// A viewer of mountpoint `id`: watch, answer, start; returns its client and peer.
pub(crate) async fn watch(gw: &Gateway, id: u64, extra: Value) -> (Client, Peer) {
    watch_as(gw, id, extra, Peer::new(false, false, false).await.expect("viewer")).await
}

/// As [`watch`], with this peer.
pub(crate) async fn watch_as(gw: &Gateway, id: u64, extra: Value, peer: Peer) -> (Client, Peer) {
    let mut c = Client::new(gw, STREAMING).await;
    let mut body = json!({"request": "watch", "id": id});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let r = c.send(body, None).await;
    assert_eq!(result(&r), &json!({"status": "preparing"}), "{r}");
    let offer = r["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {r}"));
    // Janus's Streaming offers no transport-cc and no audio levels.
    let extensions = crate::peer::sdp_extensions(offer);
    assert!(["abs-send-time", "mid"].iter().all(|e| extensions.contains(&e.to_string())), "{extensions:?}");
    assert!(!extensions.iter().any(|e| e == "transport-cc" || e == "audio-level"), "{offer}");
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    let r = c.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r), &json!({"status": "starting"}), "{r}");
    peer.wait_connected(WAIT).await.expect("viewer connected");
    c.event("started", |d| d["result"]["status"] == "started").await;
    (c, peer)
}

fn count(s: &PeerStats, kind: Kind, nonce: [u8; 4]) -> u64 {
    s.recv(kind).foreign_markers.get(&nonce).copied().unwrap_or(0)
}

async fn more(peer: &Peer, kind: Kind, nonce: [u8; 4], n: u64, what: &str) -> PeerStats {
    let then = count(&peer.stats(), kind, nonce);
    peer.wait_until(what, WAIT, |s| count(s, kind, nonce) >= then + n)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0))
}

/// One mountpoint (VP8 camera, Opus phone) to two viewers: both get frames and sound; one
/// pauses and starts again; one stops. Then the source stops and comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mountpoint_reaches_two_viewers() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let media = json!([
        {"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8"},
        {"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"}]);
    let ports = create(&mut admin, 77, media).await;
    // Before any packet, each stream's age counts from the mountpoint's making (as Janus's).
    let info = admin.request(json!({"request": "info", "id": 77})).await;
    assert!(info["info"]["media"][0]["age_ms"].as_u64().is_some_and(|a| a < 5000), "{info}");
    let (video_port, audio_port) = (ports[0].1[0], ports[1].1[0]);
    let (_camera, _) = camera("127.0.0.1", vec![video_port]);
    let microphone = phone(audio_port, [7, 7, 7, 7]).await;
    let (mut v1, p1) = watch(&gw, 77, json!({})).await;
    let (mut v2, p2) = watch(&gw, 77, json!({})).await;
    for p in [&p1, &p2] {
        more(p, Kind::Video, [8, 8, 8, 0], 30, "the camera's frames").await;
        more(p, Kind::Audio, [7, 7, 7, 7], 25, "the phone's sound").await;
    }
    let info = admin.request(json!({"request": "info", "id": 77})).await;
    assert_eq!(info["info"]["viewers"], 2, "{info}");
    assert_eq!(info["info"]["media"][1]["receiving"], true, "{info}");
    // Each stream's age and source, from the host.
    let audio = &info["info"]["media"][1];
    assert!(audio["age_ms"].as_u64().is_some_and(|a| a < 1000), "{info}");
    assert!(audio["source"].as_str().is_some_and(|s| s.starts_with("127.0.0.1:")), "{info}");

    // v1 pauses: its video stops while v2's goes on; then it starts again.
    let r = v1.send(json!({"request": "pause"}), None).await;
    assert_eq!(result(&r), &json!({"status": "pausing"}), "{r}");
    let before = count(&p1.stats(), Kind::Video, [8, 8, 8, 0]);
    more(&p2, Kind::Video, [8, 8, 8, 0], 30, "v2's video while v1 pauses").await;
    assert!(count(&p1.stats(), Kind::Video, [8, 8, 8, 0]) <= before + 3, "v1's video went on while paused");
    // A resume: the PeerConnection is up, so it is `started` at once (as from Janus).
    let r = v1.send(json!({"request": "start"}), None).await;
    assert_eq!(result(&r), &json!({"status": "started"}), "{r}");
    more(&p1, Kind::Video, [8, 8, 8, 0], 30, "v1's video again").await;
    // An ICE restart: `updating` with a new offer; answered, the media goes on.
    let r = v1.send(json!({"request": "watch", "id": 77, "restart": true}), None).await;
    assert_eq!(result(&r), &json!({"status": "updating"}), "{r}");
    let answer = p1
        .answer_offer(r["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("{r}")), WAIT)
        .await
        .expect("answer");
    v1.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    more(&p1, Kind::Video, [8, 8, 8, 0], 30, "v1's video after the restart").await;

    // configure: v1 no longer wants the audio.
    let r = v1.send(json!({"request": "configure", "streams": [{"mid": "a", "send": false}]}), None).await;
    assert_eq!(result(&r)["event"], "configured", "{r}");
    // Its sound stops while its video goes on (a packet or two may be on the way).
    let sound = count(&p1.stats(), Kind::Audio, [7, 7, 7, 7]);
    more(&p1, Kind::Video, [8, 8, 8, 0], 30, "v1's video without its sound").await;
    assert!(count(&p1.stats(), Kind::Audio, [7, 7, 7, 7]) <= sound + 3, "send: false did not stop the sound");

    // v2 stops.
    let r = v2.send(json!({"request": "stop"}), None).await;
    assert_eq!(result(&r), &json!({"status": "stopping"}), "{r}");
    v2.message("v2's hangup", |m| m["janus"] == "hangup").await;

    // The source stops: info says so; it comes back, and v1 (sound on again) hears it.
    drop(microphone);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let info = admin.request(json!({"request": "info", "id": 77})).await;
        if info["info"]["media"][1]["receiving"] == false {
            assert!(info["info"]["media"][1]["age_ms"].as_u64() >= Some(500), "{info}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the phone's stop not seen: {info}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _back = phone(audio_port, [7, 7, 7, 8]).await;
    let r = v1.send(json!({"request": "configure", "streams": [{"mid": "a", "send": true}]}), None).await;
    assert_eq!(result(&r)["event"], "configured", "{r}");
    more(&p1, Kind::Audio, [7, 7, 7, 8], 25, "the phone again").await;
    let destroyed = admin.request(json!({"request": "destroy", "id": 77})).await;
    assert_eq!(destroyed, json!({"streaming": "destroyed", "destroyed": 77}));
    let stopped = v1.event("stopped", |d| d["result"]["status"] == "stopped").await;
    assert_eq!(stopped, json!({"streaming": "event", "result": {"status": "stopped"}}));
    p1.close().await.ok();
    p2.close().await.ok();
}

/// `switch` moves a viewer to another mountpoint with the same codecs, without a new
/// negotiation; an incompatible one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_switches_between_mountpoints() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let opus = json!([{"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"}]);
    let one = create(&mut admin, 1, opus.clone()).await;
    let two = create(&mut admin, 2, opus).await;
    create(&mut admin, 3, json!([{"type": "audio", "mid": "a", "port": 0, "pt": 0, "codec": "pcmu"}])).await;
    let _p1 = phone(one[0].1[0], [1, 1, 1, 1]).await;
    let _p2 = phone(two[0].1[0], [2, 2, 2, 2]).await;
    let (mut v, peer) = watch(&gw, 1, json!({})).await;
    more(&peer, Kind::Audio, [1, 1, 1, 1], 25, "mountpoint 1").await;
    let r = v.send(json!({"request": "switch", "id": 2}), None).await;
    assert_eq!(result(&r), &json!({"switched": "ok", "id": 2}), "{r}");
    let stats = more(&peer, Kind::Audio, [2, 2, 2, 2], 25, "mountpoint 2 after the switch").await;
    let ones = count(&stats, Kind::Audio, [1, 1, 1, 1]);
    more(&peer, Kind::Audio, [2, 2, 2, 2], 25, "more of mountpoint 2").await;
    assert!(count(&peer.stats(), Kind::Audio, [1, 1, 1, 1]) <= ones + 2, "mountpoint 1 went on");
    let r = v.send(json!({"request": "switch", "id": 3}), None).await;
    let data = &r["plugindata"]["data"];
    assert_eq!(data["error_code"], 458, "{r}");
    // `watch` again: another mountpoint is 460; the same one, started, renegotiates
    // (`preparing` with a new offer), and the sound goes on once answered.
    let r = v.send(json!({"request": "watch", "id": 1}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 460, "{r}");
    assert_eq!(r["plugindata"]["data"]["error"], "Already watching mountpoint 2", "{r}");
    let r = v.send(json!({"request": "watch", "id": 2}), None).await;
    assert_eq!(result(&r), &json!({"status": "preparing"}), "{r}");
    let offer = r["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("a new offer: {r}"));
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    v.send(json!({"request": "start"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    more(&peer, Kind::Audio, [2, 2, 2, 2], 25, "mountpoint 2 after the renegotiation").await;
    let info = admin.request(json!({"request": "info", "id": 2})).await;
    assert_eq!(info["info"]["viewers"], 1, "{info}");
    peer.close().await.ok();
}

/// The event handler hears mountpoints made, edited, emptied and destroyed (about the handle
/// that asked) and a viewer's status, as Janus's Streaming tells them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_handler_hears_mountpoints_and_viewers() {
    let (addr, posts) = crate::backend::backend("127.0.0.1", false).await;
    let mut posts = crate::backend::Heard::new(posts);
    let gw = Gateway::with(crate::backend::plugin_events_conf(&format!("http://{addr}/")));
    let mut next = async || {
        let e = crate::backend::events_until(&mut posts, |e| e["type"] == 64).await.pop().unwrap();
        (e["handle_id"].as_u64(), e["event"]["data"].clone())
    };
    let mut admin = Client::new(&gw, STREAMING).await;
    let me = Some(admin.handle());
    let opus = json!([{"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"}]);
    let one = create(&mut admin, 1, opus.clone()).await;
    assert_eq!(next().await, (me, json!({"event": "created", "id": 1, "type": "live"})));
    create(&mut admin, 2, opus).await;
    assert_eq!(next().await, (me, json!({"event": "created", "id": 2, "type": "live"})));
    let _phone = phone(one[0].1[0], [1, 1, 1, 1]).await;
    let (mut v, peer) = watch(&gw, 1, json!({})).await;
    let viewer = Some(v.handle());
    let mut statuses = vec![next().await, next().await];
    statuses.sort_by_key(|(_, e)| e["status"].as_str().map(str::to_owned));
    assert_eq!(
        statuses,
        [(viewer, json!({"status": "started", "id": 1})), (viewer, json!({"status": "starting", "id": 1}))]
    );
    v.send(json!({"request": "switch", "id": 2}), None).await;
    assert_eq!(next().await, (viewer, json!({"status": "switching", "id": 2})));
    v.send(json!({"request": "pause"}), None).await;
    assert_eq!(next().await, (viewer, json!({"status": "pausing", "id": 2})));
    v.send(json!({"request": "stop"}), None).await;
    assert_eq!(next().await, (viewer, json!({"status": "stopping", "id": 2})));
    admin.request(json!({"request": "edit", "id": 1, "new_description": "one"})).await;
    assert_eq!(next().await, (me, json!({"event": "edited", "id": 1})));
    admin.request(json!({"request": "kick_all", "id": 1})).await;
    assert_eq!(next().await, (me, json!({"event": "kicked_all", "id": 1})));
    admin.request(json!({"request": "destroy", "id": 1})).await;
    assert_eq!(next().await, (me, json!({"event": "destroyed", "id": 1})));
    peer.close().await.ok();
}

/// A VP8 camera with three temporal layers (frames of layer 0, 2, 1, 2, …, each layer's frames
/// marked with nonce `[9, 9, 9, layer]`, a key frame every 30 frames) to a local port, until
/// the returned sender is dropped.
async fn temporal_camera(port: u16) -> tokio::sync::oneshot::Sender<()> {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(33));
        for frame in 0..100_000u32 {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopped => return,
            }
            let tid: u8 = [0, 2, 1, 2][frame as usize % 4];
            let mut p = vec![0x80, 0x80 | 100];
            p.extend_from_slice(&(frame as u16).to_be_bytes());
            p.extend_from_slice(&(frame * 3000).to_be_bytes());
            p.extend_from_slice(&0x2000u32.to_be_bytes());
            // VP8 descriptor: X and S, then T (a TID byte), then the frame tag.
            let keyframe = frame % 30 == 0;
            p.extend_from_slice(&[0x90, 0x20, tid << 6, if keyframe { 0x10 } else { 0x11 }, 0x19, 0x00]);
            if keyframe {
                p.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
            }
            p.extend_from_slice(crate::peer::MAGIC);
            p.extend_from_slice(&[9, 9, 9, tid]);
            p.push(b'V');
            p.extend_from_slice(&frame.to_be_bytes());
            p.extend_from_slice(&frame.to_be_bytes());
            p.resize(300, 0x33);
            let _ = sock.send_to(&p, ("127.0.0.1", port)).await;
        }
    });
    stop
}

/// VP8 temporal layers: a viewer gets all three, then `configure` with `temporal` keeps only
/// the layers up to the one it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_picks_a_temporal_layer() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let ports =
        create(&mut admin, 12, json!([{"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8"}]))
            .await;
    let _camera = temporal_camera(ports[0].1[0]).await;
    let (mut v, peer) = watch(&gw, 12, json!({})).await;
    more(&peer, Kind::Video, [9, 9, 9, 2], 10, "layer 2 at first").await;
    for (top, what) in [(0u8, "layer 0 alone"), (1, "layers 0 and 1")] {
        let r =
            v.send(json!({"request": "configure", "streams": [{"mid": "v", "temporal": top}]}), None).await;
        assert_eq!(result(&r)["event"], "configured", "{r}");
        // What was under way passes; then only the layers kept grow.
        more(&peer, Kind::Video, [9, 9, 9, 0], 3, what).await;
        let before: Vec<u64> = (0..3).map(|t| count(&peer.stats(), Kind::Video, [9, 9, 9, t])).collect();
        more(&peer, Kind::Video, [9, 9, 9, 0], 8, what).await;
        let after: Vec<u64> = (0..3).map(|t| count(&peer.stats(), Kind::Video, [9, 9, 9, t])).collect();
        for t in 0..3u8 {
            let grew = after[t as usize] > before[t as usize];
            assert_eq!(grew, t <= top, "{what}: layer {t} {before:?} -> {after:?}");
        }
    }
    peer.close().await.ok();
}

/// A simulcast mountpoint (three ports): a viewer gets the highest substream, and `configure`
/// picks another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_picks_a_simulcast_substream() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let media =
        json!([{"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8", "simulcast": true}]);
    let ports = create(&mut admin, 9, media).await;
    assert_eq!(ports[0].1.len(), 3, "{ports:?}");
    let (_camera, _) = camera("127.0.0.1", ports[0].1.clone());
    let (mut v, peer) = watch(&gw, 9, json!({})).await;
    more(&peer, Kind::Video, [8, 8, 8, 2], 30, "the top substream").await;
    assert_eq!(count(&peer.stats(), Kind::Video, [8, 8, 8, 0]), 0, "only the top substream at first");
    let r = v.send(json!({"request": "configure", "streams": [{"mid": "v", "substream": 0}]}), None).await;
    assert_eq!(result(&r)["event"], "configured", "{r}");
    more(&peer, Kind::Video, [8, 8, 8, 0], 30, "substream 0").await;
    let top = count(&peer.stats(), Kind::Video, [8, 8, 8, 2]);
    more(&peer, Kind::Video, [8, 8, 8, 0], 30, "more of substream 0").await;
    assert!(count(&peer.stats(), Kind::Video, [8, 8, 8, 2]) <= top + 3, "the top substream went on");
    peer.close().await.ok();
}

/// A viewer may offer (WHEP-style, as Janus 1.1.4 accepts): the gateway answers in the
/// mountpoint's codecs (`starting` with the answer), and media flows without a `start`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_offers_gets_an_answer() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let media = json!([
        {"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"},
        {"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8"}]);
    let ports = create(&mut admin, 88, media).await;
    let _phone = phone(ports[0].1[0], [3, 3, 3, 3]).await;
    let (_camera, _) = camera("127.0.0.1", vec![ports[1].1[0]]);
    let mut v = Client::new(&gw, STREAMING).await;
    let peer = Peer::new(false, false, false).await.expect("viewer");
    peer.add_recvonly(true, true).await.expect("recvonly transceivers");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let r = v.send(json!({"request": "watch", "id": 88}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r), &json!({"status": "starting"}), "{r}");
    assert_eq!(r["jsep"]["type"], "answer", "{r}");
    // The viewer offered transport-cc; the answer leaves it out, as Janus's Streaming does.
    assert!(crate::peer::sdp_extensions(&offer).contains(&"transport-cc".to_owned()), "{offer}");
    let extensions = crate::peer::sdp_extensions(r["jsep"]["sdp"].as_str().unwrap());
    assert!(!extensions.iter().any(|e| e == "transport-cc" || e == "audio-level"), "{extensions:?}");
    peer.set_answer(r["jsep"]["sdp"].as_str().unwrap()).await.expect("set answer");
    peer.wait_connected(WAIT).await.expect("connected");
    more(&peer, Kind::Audio, [3, 3, 3, 3], 25, "the mountpoint's sound").await;
    more(&peer, Kind::Video, [8, 8, 8, 0], 30, "the mountpoint's frames").await;
    peer.close().await.ok();
}

/// `len` bytes of audio payload carrying the test peer's marker: `nonce`, packet `n`.
fn marked(nonce: [u8; 4], n: u32, len: usize) -> Vec<u8> {
    let mut p = crate::peer::MAGIC.to_vec();
    p.extend_from_slice(&nonce);
    p.push(b'A');
    p.extend_from_slice(&n.to_be_bytes());
    p.extend_from_slice(&n.to_be_bytes());
    p.resize(len, 0x55);
    p
}

/// A gateway whose Streaming plugin may read a new folder holding the file `name` (`bytes`):
/// the gateway, the folder and the file's path.
fn file_gateway(name: &str, bytes: &[u8]) -> (Gateway, std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("portunus-files-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let file = dir.join(name);
    std::fs::write(&file, bytes).expect("the file");
    let mut conf = crate::harness::Conf::default();
    conf.extra.push((
        "janus.plugin.streaming.jcfg".to_owned(),
        format!("sandbox: {{ read_dir = \"{}\" }}\n", dir.display()),
    ));
    (Gateway::with(conf), dir, file)
}

/// An Opus-in-Ogg file whose packets carry test markers (`nonce`), a second of them.
fn marked_ogg_opus(nonce: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = ogg::PacketWriter::new(&mut out);
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    w.write_packet(head, 7, ogg::PacketWriteEndInfo::EndPage, 0).unwrap();
    w.write_packet(b"OpusTags\0\0\0\0\0\0\0\0".to_vec(), 7, ogg::PacketWriteEndInfo::EndPage, 0).unwrap();
    for n in 0..50u32 {
        // A 20 ms CELT frame's TOC, then the marker the test peer looks for.
        let mut p = vec![0xfc];
        p.extend_from_slice(&marked(nonce, n, 79));
        let end =
            if n == 49 { ogg::PacketWriteEndInfo::EndStream } else { ogg::PacketWriteEndInfo::NormalPacket };
        w.write_packet(p, 7, end, u64::from(n + 1) * 960).unwrap();
    }
    drop(w);
    out
}

/// A `live` file mountpoint plays an Opus-in-Ogg file in a loop to its viewers; a file the
/// plugin's `sandbox.read_dir` does not cover is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_file_mountpoint_plays_in_a_loop() {
    let (gw, dir, file) = file_gateway("tone.opus", &marked_ogg_opus([6, 6, 6, 6]));
    let mut admin = Client::new(&gw, STREAMING).await;
    let create = json!({"request": "create", "type": "live", "id": 61, "filename": file.display().to_string(),
                        "audio": true, "audiopt": 111});
    let created = admin.request(create).await;
    assert_eq!(created["streaming"], "created", "{created}");
    let (_v, peer) = watch(&gw, 61, json!({})).await;
    // 50 packets make a second: more than that is the loop.
    more(&peer, Kind::Audio, [6, 6, 6, 6], 75, "the file, looping").await;
    let info = admin.request(json!({"request": "info", "id": 61})).await;
    assert!(info["info"]["media"][0]["age_ms"].as_u64().is_some_and(|a| a < 1000), "{info}");
    // Outside the allowed folder.
    let elsewhere = std::env::temp_dir().join(format!("portunus-elsewhere-{}.opus", rand_suffix()));
    std::fs::write(&elsewhere, marked_ogg_opus([6, 6, 6, 6])).expect("the file");
    let outside = json!({"request": "create", "type": "live", "id": 62, "filename": elsewhere.display().to_string(),
                         "audio": true});
    let refused = admin.request(outside).await;
    assert_eq!(refused["error_code"], 456, "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("read_dir")), "{refused}");
    // As in Janus: audio only, and a format it plays.
    for (body, error) in [
        (json!({"filename": "/etc/hostname", "audio": true}), "Can't add 'live' stream, unsupported format (we only support Opus and raw mu-Law/a-Law files right now)"),
        (json!({"filename": file.display().to_string()}), "Can't add 'live' stream, we only support audio file streaming right now..."),
        (json!({"filename": file.display().to_string(), "audio": true, "video": true}), "Can't add 'live' stream, we only support audio file streaming right now..."),
    ] {
        let mut create = json!({"request": "create", "type": "live", "id": 62});
        create.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        let refused = admin.request(create).await;
        assert_eq!((&refused["error_code"], &refused["error"]), (&json!(456), &json!(error)), "{refused}");
    }
    peer.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(&elsewhere).ok();
}

/// An `ondemand` file mountpoint plays the file from its start for each viewer, in a loop as
/// Janus's do: a viewer that comes after the first one's file ended still gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ondemand_file_mountpoint_plays_for_each_viewer() {
    let (gw, dir, file) = file_gateway("tone.opus", &marked_ogg_opus([5, 5, 5, 5]));
    let mut admin = Client::new(&gw, STREAMING).await;
    let create = json!({"request": "create", "type": "ondemand", "id": 63, "filename": file.display().to_string(), "audio": true});
    assert_eq!(admin.request(create).await["streaming"], "created");
    let (_v1, p1) = watch(&gw, 63, json!({})).await;
    more(&p1, Kind::Audio, [5, 5, 5, 5], 45, "the file at the first viewer").await;
    let (_v2, p2) = watch(&gw, 63, json!({})).await;
    more(&p2, Kind::Audio, [5, 5, 5, 5], 45, "the whole file again at the second viewer").await;
    // The file is a second long (50 packets): the first viewer's goes round again.
    more(&p1, Kind::Audio, [5, 5, 5, 5], 60, "the file again at the first viewer").await;
    p1.close().await.ok();
    p2.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// A raw μ-law file (`.mulaw`), as Janus's Streaming plays them: 20 ms packets of PCMU at
/// 8 kHz, each the file's next 160 bytes (here each carrying the test peer's marker), to a
/// viewer that takes PCMU.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mulaw_file_mountpoint_plays_pcmu() {
    let nonce = [7, 7, 7, 7];
    let bytes: Vec<u8> = (0..50u32).flat_map(|n| marked(nonce, n, 160)).collect();
    let (gw, dir, file) = file_gateway("tone.mulaw", &bytes);
    let mut admin = Client::new(&gw, STREAMING).await;
    let create = json!({"request": "create", "type": "live", "id": 64, "filename": file.display().to_string(), "audio": true});
    assert_eq!(admin.request(create).await["streaming"], "created");
    let info = admin.request(json!({"request": "info", "id": 64})).await;
    assert_eq!(info["info"]["media"][0]["codec"], "pcmu", "{info}");
    let viewer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("viewer");
    viewer.keep_audio();
    let (_v, peer) = watch_as(&gw, 64, json!({}), viewer).await;
    let got = more(&peer, Kind::Audio, nonce, 60, "the file, looping").await;
    assert_eq!(got.audio.payload_types, std::collections::BTreeSet::from([0u8]), "PCMU: {:?}", got.audio);
    // Each packet is the file's next 160 bytes, in order (and round again).
    let packets = peer.take_audio();
    let chunks: Vec<&[u8]> = bytes.chunks(160).collect();
    let at = chunks.iter().position(|c| *c == &packets[0][..]).expect("a packet of the file");
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(&p[..], chunks[(at + i) % chunks.len()], "packet {i}");
    }
    peer.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// Collects the RTCP PLIs `socket` receives: when each came, and its media SSRC.
fn plis_on(socket: Arc<UdpSocket>) -> Arc<std::sync::Mutex<Vec<(std::time::Instant, u32)>>> {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = seen.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = socket.recv_from(&mut buf).await {
            // Version 2, FMT 1 (PLI), payload-specific feedback (206).
            if n >= 12 && buf[0] == 0x81 && buf[1] == 206 {
                let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
                into.lock().unwrap().push((std::time::Instant::now(), ssrc));
            }
        }
    });
    seen
}

/// Waits for a PLI that came after `since`.
async fn pli_after(
    plis: &std::sync::Mutex<Vec<(std::time::Instant, u32)>>,
    since: std::time::Instant,
    what: &str,
) {
    let deadline = std::time::Instant::now() + WAIT;
    while !plis.lock().unwrap().iter().any(|(t, _)| *t > since) {
        assert!(std::time::Instant::now() < deadline, "no keyframe request {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Creates mountpoint `id`: one VP8 stream on a free port with RTCP on another (`rtcpport`);
/// its RTP and RTCP ports.
async fn mountpoint_with_rtcp(gw: &Gateway, id: u64) -> (u64, u64) {
    let mut admin = Client::new(gw, STREAMING).await;
    let r = admin
        .request(json!({"request": "create", "type": "rtp", "id": id, "media": [
            {"type": "video", "mid": "v", "port": 0, "rtcpport": 0, "pt": 100, "codec": "vp8"}]}))
        .await;
    let stream = &r["stream"]["ports"][0];
    let (rtp_port, rtcp_port) = (stream["port"].as_u64(), stream["rtcp_port"].as_u64());
    let (Some(rtp_port), Some(rtcp_port)) = (rtp_port, rtcp_port) else { panic!("two ports: {r}") };
    assert_ne!(rtp_port, rtcp_port, "{r}");
    (rtp_port, rtcp_port)
}

/// A mountpoint with `rtcpport` learns where the camera's RTCP comes from and asks it for a
/// keyframe (PLI) when a viewer starts and when a viewer asks, at most once a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_with_rtcp_is_asked_for_keyframes() {
    let gw = Gateway::start();
    let (rtp_port, rtcp_port) = mountpoint_with_rtcp(&gw, 78).await;

    // The camera sends VP8 and, from its RTCP port, receiver reports.
    let rtcp = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let plis = plis_on(rtcp.clone());
    let _camera = camera_of(rtp_port as u16, 0xcafe, [8, 8, 8, 0]);
    let reports = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            tick.tick().await;
            let rr = [0x80, 201, 0, 1, 0, 0, 0xca, 0xfe];
            let _ = rtcp.send_to(&rr, ("127.0.0.1", rtcp_port as u16)).await;
        }
    });
    let before = std::time::Instant::now();
    let (_viewer, peer) = watch(&gw, 78, json!({})).await;
    pli_after(&plis, before, "when a viewer starts").await;
    more(&peer, Kind::Video, [8, 8, 8, 0], 10, "the camera's frames").await;

    // The viewer asks (twice at once): the camera is asked again, but never twice in a second.
    let asked = std::time::Instant::now();
    peer.request_keyframe().await.expect("PLI");
    peer.request_keyframe().await.expect("PLI");
    pli_after(&plis, asked, "when the viewer asks").await;
    let plis = plis.lock().unwrap().clone();
    assert!(plis.iter().all(|(_, ssrc)| *ssrc == 0xcafe), "they name the camera's SSRC: {plis:?}");
    for pair in plis.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= std::time::Duration::from_millis(900), "requests {gap:?} apart: {plis:?}");
    }
    reports.abort();
}

/// Each second, a camera with `rtcpport` is sent the lowest REMB its viewers sent meanwhile
/// (as Janus's Streaming does), naming its SSRC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_with_rtcp_hears_its_viewers_lowest_remb() {
    let gw = Gateway::start();
    let (rtp_port, rtcp_port) = mountpoint_with_rtcp(&gw, 80).await;
    let rtcp = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let _camera = camera_of(rtp_port as u16, 0xcafe, [8, 8, 9, 0]);
    // The camera's first report tells the gateway where its RTCP comes from.
    let rr = [0x80, 201, 0, 1, 0, 0, 0xca, 0xfe];
    rtcp.send_to(&rr, ("127.0.0.1", rtcp_port as u16)).await.expect("send");
    let (_v1, p1) = watch(&gw, 80, json!({})).await;
    let (_v2, p2) = watch(&gw, 80, json!({})).await;
    more(&p1, Kind::Video, [8, 8, 9, 0], 5, "the camera's frames").await;
    more(&p2, Kind::Video, [8, 8, 9, 0], 5, "the camera's frames").await;

    // The viewers keep telling their estimates; the camera gets the lower, once a second.
    let viewers = tokio::spawn(async move {
        loop {
            let _ = p1.send_remb(900_000).await;
            let _ = p2.send_remb(300_000).await;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let mut rembs: Vec<(std::time::Instant, u64, u32)> = Vec::new();
    let mut buf = [0u8; 1500];
    let deadline = tokio::time::Instant::now() + WAIT;
    while rembs.len() < 3 {
        let got = tokio::time::timeout_at(deadline, rtcp.recv_from(&mut buf)).await;
        let Ok(Ok((n, _))) = got else { panic!("REMBs to the camera: {rembs:?}") };
        // Version 2, FMT 15, payload-specific feedback (206), "REMB", one SSRC.
        if n == 24 && buf[0] == 0x8f && buf[1] == 206 && &buf[12..16] == b"REMB" && buf[16] == 1 {
            let word = u32::from_be_bytes([0, buf[17], buf[18], buf[19]]);
            let bps = u64::from(word & 0x3ffff) << (word >> 18);
            let ssrc = u32::from_be_bytes([buf[20], buf[21], buf[22], buf[23]]);
            rembs.push((std::time::Instant::now(), bps, ssrc));
        }
    }
    viewers.abort();
    for (_, bps, ssrc) in &rembs {
        assert_eq!(*ssrc, 0xcafe, "the camera's SSRC: {rembs:?}");
        assert!((299_000..=300_000).contains(bps), "the lowest estimate: {rembs:?}");
    }
    for pair in rembs.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= std::time::Duration::from_millis(800), "REMBs {gap:?} apart: {rembs:?}");
    }
}

/// A mountpoint's stream with `mcast` receives the group's datagrams (joined on `iface`) and
/// not those sent to its port unicast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multicast_mountpoint_receives_its_group() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let group = std::net::Ipv4Addr::new(239, 255, 77, 1);
    let r = admin
        .request(json!({"request": "create", "type": "rtp", "id": 79, "media": [
            {"type": "audio", "mid": "a", "port": 0, "mcast": group.to_string(), "iface": "127.0.0.1",
             "pt": 111, "codec": "opus"}]}))
        .await;
    let stream = &r["stream"]["ports"][0];
    assert_eq!(stream["host"], group.to_string(), "{r}");
    let port = stream["port"].as_u64().unwrap_or_else(|| panic!("a port: {r}")) as u16;

    // One phone sends to the group (out of the loopback interface), another to the port unicast.
    let sender = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).expect("socket");
    sender.set_multicast_if_v4(&std::net::Ipv4Addr::LOCALHOST).expect("multicast interface");
    sender.set_multicast_loop_v4(true).expect("multicast loop");
    sender.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    sender.set_nonblocking(true).expect("nonblocking");
    let sender = UdpSocket::from_std(sender.into()).expect("tokio socket");
    let _group = phone_talks(Arc::new(sender), (group, port).into(), [6, 6, 6, 1], None);
    let _unicast = phone(port, [6, 6, 6, 2]).await;

    let (_viewer, peer) = watch(&gw, 79, json!({})).await;
    let stats = more(&peer, Kind::Audio, [6, 6, 6, 1], 25, "the group's sound").await;
    assert_eq!(count(&stats, Kind::Audio, [6, 6, 6, 2]), 0, "a unicast sender to the port is not heard");
}

/// A VP8 camera of its own SSRC sending to a local port (a keyframe every 10 frames) until the
/// returned sender is dropped.
fn camera_of(port: u16, ssrc: u32, nonce: [u8; 4]) -> tokio::sync::oneshot::Sender<()> {
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(33));
        for frame in 0..100_000u32 {
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut stopped => return,
            }
            let p = super::camera_packet(100, frame as u16, ssrc, frame, frame % 10 == 0, nonce);
            let _ = sock.send_to(&p, ("127.0.0.1", port)).await;
        }
    });
    stop
}

/// With `collision`, a second camera on a stream's port is not forwarded while the first
/// sends; once the first has stopped that long, the second's picture is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sender_waits_for_the_first_with_collision() {
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let r = admin
        .request(json!({"request": "create", "type": "rtp", "id": 80, "collision": 500, "media": [
            {"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8"}]}))
        .await;
    let port = r["stream"]["ports"][0]["port"].as_u64().unwrap_or_else(|| panic!("a port: {r}")) as u16;
    let info = admin.request(json!({"request": "info", "id": 80})).await;
    assert_eq!(info["info"]["collision"], 500, "{info}");
    let (first, second) = ([5, 5, 5, 1], [5, 5, 5, 2]);
    let stop_first = camera_of(port, 0xaaaa, first);
    let (_viewer, peer) = watch(&gw, 80, json!({})).await;
    more(&peer, Kind::Video, first, 10, "the first camera").await;
    let _second = camera_of(port, 0xbbbb, second);
    let stats = more(&peer, Kind::Video, first, 20, "the first camera, with the second sending").await;
    assert_eq!(count(&stats, Kind::Video, second), 0, "the second camera collided");
    drop(stop_first);
    more(&peer, Kind::Video, second, 10, "the second camera, the first gone").await;
}

/// `recording` records a live mountpoint's streams to .mjr files that Janus's `janus-pp-rec`
/// reads (the phone's own packets in the audio, the camera's frames in the video), as Janus's
/// answers say: starting a stream twice, no stream named or an unknown action are refused;
/// `disable` stops the recordings unless told not to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mountpoint_is_recorded_for_janus_pp_rec() {
    let Some((gw, dir)) = crate::recorded::recording_gateway("janus.plugin.streaming", "") else {
        return;
    };
    let mut admin = Client::new(&gw, STREAMING).await;
    let media = json!([
        {"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8"},
        {"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"},
        {"type": "data", "mid": "d", "port": 0}]);
    let ports = create(&mut admin, 78, media).await;
    let (_camera, _) = camera("127.0.0.1", vec![ports[0].1[0]]);
    let _microphone = phone(ports[1].1[0], [7, 7, 7, 7]).await;
    let start = json!({"request": "recording", "action": "start", "id": 78, "media": [
        {"mid": "v", "filename": "mp-video"}, {"mid": "a", "filename": "mp-audio"},
        {"mid": "d", "filename": "mp-data"}]});
    assert_eq!(admin.request(start.clone()).await, json!({"streaming": "ok"}));
    let again = admin.request(start).await;
    assert_eq!(again["error_code"], 452, "{again}");
    let nothing = admin.request(json!({"request": "recording", "action": "start", "id": 78})).await;
    assert_eq!(nothing["error_code"], 452, "{nothing}");
    let pause = admin.request(json!({"request": "recording", "action": "pause", "id": 78})).await;
    assert_eq!(pause["error_code"], 454, "{pause}");
    // The data stream's messages (once the recording runs), each a subtitle of the .srt
    // janus-pp-rec makes.
    crate::recorded::video_packets_recorded(&dir.join("mp-video.mjr"), 10).await;
    let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    for n in 0..5 {
        sender.send_to(format!("line {n}").as_bytes(), ("127.0.0.1", ports[2].1[0])).expect("send");
    }
    crate::recorded::video_packets_recorded(&dir.join("mp-video.mjr"), 150).await;
    let stop = json!({"request": "recording", "action": "stop", "id": 78, "audio": true, "video": true, "data": true});
    assert_eq!(admin.request(stop).await, json!({"streaming": "ok"}));
    // The phone's packets, each with its nonce, in the Opus file janus-pp-rec makes.
    let (mjr, opus) = (dir.join("mp-audio.mjr"), dir.join("mp-audio.opus"));
    let out = std::process::Command::new("janus-pp-rec").arg(&mjr).arg(&opus).output().expect("janus-pp-rec");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&opus).expect("the Opus file");
    let marked = bytes.windows(4).filter(|w| *w == [7, 7, 7, 7]).count();
    assert!(marked >= 50, "the phone's packets are in the recording: {marked}");
    let messages = crate::recorded::messages_recorded(&dir.join("mp-data.mjr"), 5).await;
    assert_eq!(messages, ["line 0", "line 1", "line 2", "line 3", "line 4"]);
    // `disable` stops the recordings, unless `stop_recording` is false (as in Janus): a stream
    // kept recording cannot be started again.
    let video = json!({"request": "recording", "action": "start", "id": 78, "media": [{"mid": "v", "filename": "mp-again"}]});
    assert_eq!(admin.request(video.clone()).await, json!({"streaming": "ok"}));
    let disable = json!({"request": "disable", "id": 78, "stop_recording": false});
    assert_eq!(admin.request(disable).await, json!({"streaming": "ok"}));
    assert_eq!(admin.request(video.clone()).await["error_code"], 452, "still recording");
    assert_eq!(admin.request(json!({"request": "disable", "id": 78})).await, json!({"streaming": "ok"}));
    assert_eq!(admin.request(video).await, json!({"streaming": "ok"}), "stopped by the disable");
    std::fs::remove_dir_all(&dir).ok();
}
