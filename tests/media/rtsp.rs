//! Streaming's `rtsp` mountpoints against an RTSP server no one here wrote: GStreamer's
//! gst-rtsp-server (Debian's `gir1.2-gst-rtsp-server-1.0`), run by `tests/rtsp/server.py`,
//! serving a VP8 test picture and an Opus tone. The gateway's RTSP client pulls it (Digest
//! auth, RTP over UDP or interleaved) and webrtc-rs viewers watch: frames and the tone are
//! checked. The server goes away and comes back; viewers hear of it and the media resumes.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use super::audiobridge::{decode, power};
use super::streaming::watch;
use super::WAIT;
use crate::harness::{Gateway, PluginClient as Client};
use crate::peer::{Kind, Peer};

const STREAMING: &str = "janus.plugin.streaming";

/// Debian's python with PyGObject (a pyenv python does not see it).
const PYTHON: &str = "/usr/bin/python3";

/// Whether GStreamer's RTSP server can run.
fn have_gst_rtsp() -> bool {
    let probe =
        "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer";
    let found = Command::new(PYTHON).args(["-c", probe]).output().is_ok_and(|o| o.status.success());
    crate::tool_present(
        found,
        "apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good",
        "the RTSP tests need GStreamer's RTSP server",
    )
}

/// A running `server.py`; killed when dropped.
struct Server {
    child: Child,
    url: String,
    /// Keyframe requests it got (with `--keyframe-requests`).
    keyframe_requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Server {
    /// Starts the server with these arguments and waits for its `READY <url>` line.
    fn start(args: &[&str]) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/rtsp/server.py");
        let mut child = Command::new(PYTHON)
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/rtsp/server.py");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let keyframe_requests = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let requests = keyframe_requests.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("READY ") {
                    let _ = tx.send(url.to_owned());
                } else if line == "KEYFRAME-REQUEST" {
                    requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        let url = rx.recv_timeout(WAIT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the RTSP server did not start")
        });
        Self { child, url, keyframe_requests }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `create` of an rtsp mountpoint: `ack`, then the answer as an event once the source plays
/// (or fails); returns the answer's plugin data.
async fn create(c: &mut Client, body: Value) -> Value {
    let mut body = body;
    body["request"] = json!("create");
    body["type"] = json!("rtsp");
    c.send(body, None).await["plugindata"]["data"].clone()
}

/// Power of `freq` in what `peer` hears over the next ~60 packets, relative to 440 Hz's.
async fn tone(peer: &Peer, freq: f64) -> (f64, f64) {
    peer.keep_audio();
    let start = peer.stats().recv(Kind::Audio).packets;
    peer.wait_until("a second of sound", WAIT, |s| s.recv(Kind::Audio).packets >= start + 60)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    let pcm = decode(&peer.take_audio());
    (power(&pcm, freq), power(&pcm, 440.0))
}

async fn keyframes(peer: &Peer, n: u64, what: &str) {
    let then = peer.stats().recv(Kind::Video).keyframes;
    peer.wait_until(what, WAIT, |s| s.recv(Kind::Video).keyframes >= then + n)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
}

/// A Digest-protected source over UDP reaches two viewers, picture and tone; `info` tells what
/// the source described; a wrong password or no server is Janus's 456.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtsp_source_reaches_two_viewers() {
    if !have_gst_rtsp() {
        return;
    }
    let server =
        Server::start(&["--tone", "1000", "--user", "bob", "--password", "s3cret", "--protocols", "udp"]);
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    // The audio's format parameters are the mountpoint's (Janus's `audiofmtp`), not the
    // source's; the video's payload type is named (`videopt`: what the source sends).
    let body = json!({"id": 88, "url": server.url, "rtsp_user": "bob", "rtsp_pwd": "s3cret",
                      "audio": true, "video": true, "secret": "adm",
                      "audiofmtp": "minptime=10;useinbandfec=1", "videopt": 96});
    let created = create(&mut admin, body).await;
    assert_eq!(created["streaming"], "created", "{created}");
    assert_eq!(created["stream"]["id"], 88, "{created}");

    let (_v1, p1) = watch(&gw, 88, json!({})).await;
    let (_v2, p2) = watch(&gw, 88, json!({})).await;
    for p in [&p1, &p2] {
        keyframes(p, 2, "the source's keyframes").await;
        let (wanted, other) = tone(p, 1000.0).await;
        assert!(wanted > 100.0 * other.max(1.0), "no 1 kHz tone: {wanted} against {other}");
    }
    let info = admin.request(json!({"request": "info", "id": 88, "secret": "adm"})).await;
    let i = &info["info"];
    assert_eq!(
        (&i["rtsp"], &i["url"], &i["rtsp_user"]),
        (&json!(true), &json!(server.url), &json!("bob")),
        "{info}"
    );
    let codecs: Vec<&Value> = i["media"].as_array().expect("media").iter().map(|m| &m["codec"]).collect();
    assert_eq!(codecs, [&json!("opus"), &json!("vp8")], "{info}");
    assert_eq!(
        (&i["media"][0]["fmtp"], &i["media"][1]["pt"]),
        (&json!("minptime=10;useinbandfec=1"), &json!(96))
    );
    assert!(i["media"][1]["source"].as_str().is_some_and(|s| s.starts_with("127.0.0.1:")), "{info}");

    // A wrong password, and a server that is not there.
    let bad = json!({"id": 89, "url": server.url, "rtsp_user": "bob", "rtsp_pwd": "wrong", "video": true});
    let refused = create(&mut admin, bad).await;
    assert_eq!(refused["error_code"], 456, "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("401")), "{refused}");
    let nobody = json!({"id": 90, "url": format!("rtsp://127.0.0.1:{}/x", crate::harness::free_port()), "video": true});
    assert_eq!(create(&mut admin, nobody).await["error_code"], 456);
    // No url: Janus cannot make the source either (456, not a missing element).
    let no_url = json!({"request": "create", "type": "rtsp", "id": 91, "video": true});
    assert_eq!(admin.request(no_url).await["error_code"], 456);
    let list = admin.request(json!({"request": "list"})).await;
    let ids: Vec<&Value> = list["list"].as_array().expect("list").iter().map(|m| &m["id"]).collect();
    assert!(ids.contains(&&json!(88)) && !ids.contains(&&json!(89)) && !ids.contains(&&json!(90)), "{list}");
    let destroyed = admin.request(json!({"request": "destroy", "id": 88, "secret": "adm"})).await;
    assert_eq!(destroyed["streaming"], "destroyed");
    p1.close().await.ok();
    p2.close().await.ok();
}

/// A server that sends no RTP over UDP answers the SETUP with 461: the gateway asks again for
/// RTP interleaved on the connection (not asked for by the mountpoint), and the picture and
/// the tone arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_udp_is_pulled_interleaved() {
    if !have_gst_rtsp() {
        return;
    }
    let server = Server::start(&["--protocols", "tcp", "--tone", "880"]);
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let body = json!({"id": 93, "url": server.url, "audio": true, "video": true});
    let created = create(&mut admin, body).await;
    assert_eq!(created["streaming"], "created", "{created}");
    let (_viewer, peer) = watch(&gw, 93, json!({})).await;
    keyframes(&peer, 2, "the source's keyframes").await;
    let (wanted, other) = tone(&peer, 880.0).await;
    assert!(wanted > 100.0 * other.max(1.0), "no 880 Hz tone: {wanted} against {other}");
    peer.close().await.ok();
}

/// The source's encoder makes no keyframe of its own after the first: the gateway asks the
/// server for one over RTCP (PLI to the RTCP port its SETUP answer named) when a viewer starts
/// and when the viewer asks, and the server's encoder is told to make one each time (the
/// server reports the force-key-unit event its RTP session makes of a PLI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtsp_source_is_asked_for_keyframes() {
    if !have_gst_rtsp() {
        return;
    }
    let server = Server::start(&[
        "--protocols",
        "udp",
        "--no-audio",
        "--keyframe-max-dist",
        "100000",
        "--keyframe-requests",
    ]);
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let created = create(&mut admin, json!({"id": 94, "url": server.url, "video": true})).await;
    assert_eq!(created["streaming"], "created", "{created}");
    let requests = || server.keyframe_requests.load(std::sync::atomic::Ordering::Relaxed);
    let before = requests();
    let (_viewer, peer) = watch(&gw, 94, json!({})).await;
    let until = |what: &str, n: u64| {
        let what = what.to_owned();
        async move {
            let deadline = std::time::Instant::now() + WAIT;
            while requests() < n {
                assert!(std::time::Instant::now() < deadline, "the server got no keyframe request {what}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    until("when the viewer started", before + 1).await;
    peer.wait_until("a keyframe", WAIT, |s| s.recv(Kind::Video).keyframes >= 1)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    let asked = requests();
    peer.request_keyframe().await.expect("PLI");
    until("when the viewer asked", asked + 1).await;
    peer.close().await.ok();
}

/// Interleaved RTP on the RTSP connection; the server dies and, after an outage longer than
/// `rtsp_timeout`, a new one comes up on its port: the viewer hears `rtsp-disconnected`, then
/// `rtsp-reconnected`, and the picture and the tone resume (the silence of before the outage
/// does not count against the new session).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtsp_source_that_goes_away_comes_back() {
    if !have_gst_rtsp() {
        return;
    }
    let port = crate::harness::free_port().to_string();
    let server = Server::start(&["--port", &port, "--protocols", "tcp", "--tone", "660"]);
    let gw = Gateway::start();
    let mut admin = Client::new(&gw, STREAMING).await;
    let body = json!({"id": 91, "url": server.url, "audio": true, "video": true, "rtsp_interleaved": true,
                      "rtsp_reconnect_delay": 1, "rtsp_timeout": 2, "rtsp_notify_changes": true});
    assert_eq!(create(&mut admin, body).await["streaming"], "created");
    let (mut viewer, peer) = watch(&gw, 91, json!({})).await;
    keyframes(&peer, 2, "the source's keyframes").await;
    let (wanted, other) = tone(&peer, 660.0).await;
    assert!(wanted > 100.0 * other.max(1.0), "no 660 Hz tone: {wanted} against {other}");

    drop(server);
    let lost = viewer.event("rtsp-disconnected", |d| d["event"] == "rtsp-disconnected").await;
    assert_eq!(lost, json!({"event": "rtsp-disconnected", "id": 91}));
    // The outage itself: longer than rtsp_timeout (not a wait for anything).
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let _again = Server::start(&["--port", &port, "--protocols", "tcp", "--tone", "660"]);
    let back = viewer.event("rtsp-reconnected", |d| d["event"] == "rtsp-reconnected").await;
    assert_eq!(back, json!({"event": "rtsp-reconnected", "id": 91}));
    keyframes(&peer, 2, "the picture again").await;
    let (wanted, other) = tone(&peer, 660.0).await;
    assert!(
        wanted > 100.0 * other.max(1.0),
        "no 660 Hz tone after the reconnection: {wanted} against {other}"
    );
    peer.close().await.ok();
}

/// A plugin that crashes on the news that its source plays is rebuilt from before that news
/// (a Streaming `rtsp` create would wait for it for ever): the host connects the source
/// again, so the rebuilt plugin hears it lost, naming the crash, and then playing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_crashes_on_a_playing_source_hears_it_anew() {
    if !have_gst_rtsp() {
        return;
    }
    let server = Server::start(&["--tone", "440", "--protocols", "udp"]);
    let gw = super::gateway_with_testfault();
    let mut tf = Client::new(&gw, super::TESTFAULT).await;
    let open = json!({"request": "input_open", "rtsp": server.url, "reconnect_ms": 500, "trap_playing": true,
                      "streams": [{"mid": "a", "kind": "audio", "codec": {"pt": 0, "name": "opus", "clock": 48000}}]});
    let r = tf.request(open).await;
    let input = r["input"].as_u64().unwrap_or_else(|| panic!("{r}"));
    let source = |d: &Value| d["input_source"]["input"] == input;
    let lost = tf.event("the source lost", source).await;
    assert_eq!(lost["input_source"]["playing"], false, "{lost}");
    let why = lost["input_source"]["why"].as_str().unwrap_or_default();
    assert!(why.contains("janus.plugin.testfault crashed"), "{lost}");
    let playing = tf.event("the source playing again", source).await;
    assert_eq!(playing["input_source"]["playing"], true, "{playing}");
}
