//! The EchoTest records what the client sends (`record`, `filename`), in every language.

use serde_json::json;

use crate::harness::{message, per_language, Conf, Gateway, Lang};
use crate::peer::{Kind, Peer, PeerStats, VideoCodec};
use crate::recorded::{messages_recorded, recorded_file, recording_gateway_with, video_packets_recorded};
use crate::{attach, echotest, wait_for, ECHOTEST, WAIT};

per_language!(a_client_is_recorded_for_janus_pp_rec, recorded);
per_language!(svc_layers_are_echoed_as_asked, svc_echo);

/// The size of a file (0 when it is not there).
fn size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `record` with the offer: once the streams are negotiated, the client's audio, video and
/// data go to `<filename>-audio.mjr`, `-video.mjr` and `-data.mjr`, which Janus's janus-pp-rec
/// reads (the client's tone, its VP8 frames, its messages as subtitles); `record: false` ends
/// them; `record: true` without a filename records under Janus's default name,
/// `echotest-<handle>-<µs>-video.mjr`.
async fn recorded(lang: Lang) {
    let Some((gw, dir)) = recording_gateway_with(Conf::echotest(lang), ECHOTEST, "", "") else {
        return;
    };
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, true).await.expect("peer");
    peer.set_tone(440.0, 8000.0);
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let jsep = json!({"type": "offer", "sdp": offer});
    let body = json!({"record": true, "filename": "echo"});
    let ev = echotest(&mut ws, sid, hid, "offer", body, Some(jsep)).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    peer.set_answer(ev["jsep"]["sdp"].as_str().expect("an answer")).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    video_packets_recorded(&dir.join("echo-video.mjr"), 10).await;
    peer.wait_data_open(WAIT).await.expect("data channel open");
    for n in 0..3 {
        peer.send_text(&format!("line {n}")).await.expect("send text");
    }
    let packets = video_packets_recorded(&dir.join("echo-video.mjr"), 60).await;
    assert!(packets >= 60, "{lang:?}: {packets} video packets recorded");
    let (p440, p1000) = crate::audiobridge::tones_recorded(&dir.join("echo-audio.mjr")).await;
    assert!(p440 > 1e5 && p1000 < p440 / 100.0, "{lang:?}: the client's tone: {p440:.0} {p1000:.0}");

    let ev = echotest(&mut ws, sid, hid, "stop", json!({"record": false}), None).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    let messages = messages_recorded(&dir.join("echo-data.mjr"), 3).await;
    assert_eq!(messages, ["line 0", "line 1", "line 2"], "{lang:?}");
    let ev = echotest(&mut ws, sid, hid, "again", json!({"record": true}), None).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    let default_video = recorded_file(&dir, &format!("echotest-{hid}-"), "-video.mjr").await;
    // A second of new recording later, the stopped file is complete: it grows no more.
    video_packets_recorded(&default_video, 30).await;
    let stopped = size(&dir.join("echo-audio.mjr"));
    video_packets_recorded(&default_video, 60).await;
    assert_eq!(size(&dir.join("echo-audio.mjr")), stopped, "{lang:?}: recording went on after record: false");
    peer.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// Janus's `recordings_tmp_ext`: a recording is written as `<file>.mjr.<ext>` and renamed to
/// `<file>.mjr` once complete, so that whatever watches the folder takes only whole files; one
/// under way when the gateway stops is completed then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_are_renamed_when_complete() {
    let conf = Conf::general("recordings_tmp_ext = \"part\"");
    let Some((mut gw, dir)) = recording_gateway_with(conf, ECHOTEST, "", "") else {
        return;
    };
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::new(true, true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let jsep = json!({"type": "offer", "sdp": offer});
    let ev =
        echotest(&mut ws, sid, hid, "offer", json!({"record": true, "filename": "tmp"}), Some(jsep)).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    peer.set_answer(ev["jsep"]["sdp"].as_str().expect("an answer")).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    let (writing, complete) = (dir.join("tmp-video.mjr.part"), dir.join("tmp-video.mjr"));
    video_packets_recorded(&writing, 20).await;
    assert!(!complete.exists(), "a recording under way has its final name");

    let ev = echotest(&mut ws, sid, hid, "stop", json!({"record": false}), None).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    // Each stream's file is renamed when its last write is done.
    let deadline = std::time::Instant::now() + WAIT;
    let audio = dir.join("tmp-audio.mjr");
    while !complete.exists() || !audio.exists() {
        assert!(std::time::Instant::now() < deadline, "the finished recordings were not renamed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!writing.exists() && !dir.join("tmp-audio.mjr.part").exists(), "a temporary name stayed");
    assert!(video_packets_recorded(&complete, 20).await >= 20);

    // A recording under way when the gateway stops is completed and renamed too.
    let ev = echotest(&mut ws, sid, hid, "again", json!({"record": true, "filename": "atexit"}), None).await;
    assert_eq!(ev["plugindata"]["data"]["result"], "ok", "{ev}");
    let recorded = video_packets_recorded(&dir.join("atexit-video.mjr.part"), 20).await;
    assert!(gw.terminate().success());
    let at_exit = dir.join("atexit-video.mjr");
    assert!(at_exit.exists() && !dir.join("atexit-video.mjr.part").exists(), "not renamed at the stop");
    assert!(video_packets_recorded(&at_exit, recorded).await >= recorded);
    peer.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// VP9 SVC echoed: an offer whose JSEP names the video in `svc` (as janus.js does) makes the
/// EchoTest take `spatial_layer` and `temporal_layer`. Every layer comes back at first (the top
/// ones, told); with
/// spatial layer 0 that layer alone, each picture ending with the marker bit; the event tells
/// both layers and the codec, as Janus's does; `handle_info` shows the layers; a spatial layer
/// past 2 is 413.
async fn svc_echo(lang: Lang) {
    let gw = Gateway::with(Conf::echotest(lang));
    let mut ws = gw.ws().await;
    let sid = ws.create().await;
    let hid = attach(&mut ws, sid, ECHOTEST).await;
    let peer = Peer::with_codecs(None, Some(VideoCodec::Vp9Svc), false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let jsep = json!({"type": "offer", "sdp": offer, "svc": [{"mindex": 0, "mid": "0", "svc": "L3T3"}]});
    let ev = echotest(&mut ws, sid, hid, "o", json!({"videocodec": "vp9"}), Some(jsep)).await;
    let answer = ev["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an answer: {ev}"));
    assert!(answer.contains("VP9/90000"), "{answer}");
    peer.set_answer(answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    let spatial = |st: &PeerStats| st.recv(Kind::Video).spatial;
    peer.wait_until("every layer back", WAIT, |st| spatial(st)[..3].iter().all(|n| *n >= 20))
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));

    // Aimed at the top layers, as Janus does, and told so.
    let top = |v: &serde_json::Value| {
        let d = &v["plugindata"]["data"];
        d["spatial_layer"] == 2 && d["temporal_layer"] == 2
    };
    wait_for(&mut ws, "the top layers", top).await;
    ws.send(&message(sid, hid, "s0", json!({"spatial_layer": 0}))).await;
    let heard =
        wait_for(&mut ws, "the layer change", |v| v["plugindata"]["data"]["spatial_layer"] == 0).await;
    let data = &heard["plugindata"]["data"];
    assert_eq!((&data["videocodec"], &data["temporal_layer"]), (&json!("vp9"), &json!(2)), "{heard}");
    let base = spatial(&peer.stats())[0];
    peer.wait_until("the change", WAIT, |st| spatial(st)[0] >= base + 4)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    let before = peer.stats();
    let after = peer
        .wait_until("layer 0", WAIT, |st| spatial(st)[0] >= spatial(&before)[0] + 24)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    assert_eq!(spatial(&after)[1..], spatial(&before)[1..], "layers 1 and 2 stopped");
    assert_eq!(
        after.video.unended_frames, before.video.unended_frames,
        "every picture ends with a marker bit"
    );

    let ask = json!({"janus": "handle_info", "transaction": "i", "admin_secret": "janusoverlord"});
    let info = gw.admin_http().post(&format!("/{sid}/{hid}"), &ask).await;
    let plugin = &info["info"]["plugin_specific"];
    assert_eq!((&plugin["svc"], &plugin["spatial-layer"]), (&json!(true), &json!(0)), "{info}");
    let ev = echotest(&mut ws, sid, hid, "s3", json!({"spatial_layer": 3}), None).await;
    let data = &ev["plugindata"]["data"];
    assert_eq!(data["error_code"], 413, "{ev}");
    assert_eq!(data["error"], "Invalid value (spatial_layer should be 0, 1 or 2)", "{ev}");
    peer.close().await.ok();
}
