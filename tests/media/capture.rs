//! Admin `start_pcap` / `start_text2pcap` during an EchoTest call: the handle's packets, both
//! ways, unencrypted, in a pcap file tcpdump reads and in text2pcap's text, with Janus's
//! answers and errors.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{echo_call_on, EchoCall, WAIT};
use crate::harness::{assert_error, Conf, Gateway, TempDir};
use crate::peer::Kind;

/// Whether tcpdump is installed.
fn have_tcpdump() -> bool {
    let found = std::process::Command::new("tcpdump").arg("--version").output().is_ok();
    crate::tool_present(found, "apt-get install tcpdump", "the capture test reads pcap files with tcpdump")
}

/// A handle's admin request with fields.
async fn handle_admin(gw: &Gateway, sid: u64, hid: u64, verb: &str, fields: Value) -> Value {
    gw.admin_http().post(&format!("/{sid}/{hid}"), &crate::harness::admin_request(verb, fields)).await
}

/// The file's contents once it holds at least `lines` lines (for text) or `bytes` bytes: the
/// writer thread writes a stopped capture's last buffer soon after.
async fn contents(path: &Path, enough: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + WAIT;
    loop {
        let bytes = std::fs::read(path).unwrap_or_default();
        if enough(&bytes) {
            return bytes;
        }
        assert!(Instant::now() < deadline, "{} holds {} bytes", path.display(), bytes.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echotest_handle_is_captured_as_pcap_and_text() {
    if !have_tcpdump() {
        return;
    }
    let dir = TempDir::new("capture");
    let locked = dir.join("locked");
    let conf = Conf::general(&format!("protected_folders = [ \"{}\" ]", locked.display()));
    let gw = Gateway::with(conf);
    let EchoCall { ws: _ws, sid, hid, peer, .. } = echo_call_on(&gw).await;

    // Not started yet; a protected folder is refused, and nothing is made there.
    let r = handle_admin(&gw, sid, hid, "stop_pcap", json!({})).await;
    assert_error(&r, 490);
    assert_eq!(r["error"]["reason"], "Capture not started");
    let r =
        handle_admin(&gw, sid, hid, "start_pcap", json!({"folder": locked.to_str(), "filename": "x.pcap"}))
            .await;
    assert_error(&r, 490);
    assert_eq!(r["error"]["reason"], "Error starting pcap dump");
    assert!(!locked.join("x.pcap").exists());
    let r = handle_admin(&gw, sid, hid, "start_pcap", json!({"truncate": -1})).await;
    assert_error(&r, 467);

    // pcap, in a folder made for it.
    let folder = dir.join("captures");
    let r = handle_admin(
        &gw,
        sid,
        hid,
        "start_pcap",
        json!({"folder": folder.to_str(), "filename": "echo.pcap"}),
    )
    .await;
    assert_eq!(r["janus"], "success", "{r}");
    let pcap = folder.join("echo.pcap");
    let r = handle_admin(&gw, sid, hid, "start_text2pcap", json!({})).await;
    assert_eq!(r["error"]["reason"], "text2pcap already started", "{r}");
    let info = handle_admin(&gw, sid, hid, "handle_info", json!({})).await;
    assert_eq!(info["info"]["dump-to-pcap"], true, "{info}");
    assert_eq!(info["info"]["pcap-file"], pcap.to_str().unwrap(), "{info}");
    peer.wait_packets(Kind::Video, 40, WAIT).await.expect("echoed video");
    let r = handle_admin(&gw, sid, hid, "stop_pcap", json!({})).await;
    assert_eq!(r["janus"], "success", "{r}");
    assert!(handle_admin(&gw, sid, hid, "handle_info", json!({})).await["info"]["dump-to-pcap"].is_null());
    // tcpdump reads it: packets from the peer (10.1.1.1:1000) and to it, RTP (version 2) inside.
    contents(&pcap, |b| b.len() > 24 + 60 * 100).await;
    let out = std::process::Command::new("tcpdump").args(["-nn", "-x", "-r"]).arg(&pcap).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tcpdump: {}", String::from_utf8_lossy(&out.stderr));
    let incoming = text.matches("IP 10.1.1.1.1000 > 10.2.2.2.2000: UDP").count();
    let outgoing = text.matches("IP 10.2.2.2.2000 > 10.1.1.1.1000: UDP").count();
    assert!(incoming >= 30 && outgoing >= 30, "{incoming} in, {outgoing} out:\n{text}");
    // The RTP header follows the 28 bytes of IP and UDP: `0x0010:` shows bytes 16 to 31 in
    // 2-byte words, so its first byte begins the seventh word.
    let rtp_versions: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("0x0010:"))
        .filter_map(|l| l.split_whitespace().nth(6).map(|w| &w[..2]))
        .collect();
    assert!(
        !rtp_versions.is_empty() && rtp_versions.iter().all(|b| *b == "80" || *b == "90"),
        "{rtp_versions:?}"
    );

    // text2pcap, cut to 20 bytes a packet, under Janus's made-up name in the current folder
    // unless a folder is given.
    let r =
        handle_admin(&gw, sid, hid, "start_text2pcap", json!({"folder": folder.to_str(), "truncate": 20}))
            .await;
    assert_eq!(r["janus"], "success", "{r}");
    let info = handle_admin(&gw, sid, hid, "handle_info", json!({})).await;
    assert_eq!(info["info"]["dump-to-text2pcap"], true, "{info}");
    let file = info["info"]["text2pcap-file"].as_str().unwrap().to_owned();
    let name = Path::new(&file).file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("janus-text2pcap-") && name.ends_with(".txt"), "{name}");
    peer.wait_packets(Kind::Video, 70, WAIT).await.expect("echoed video");
    assert_eq!(handle_admin(&gw, sid, hid, "stop_text2pcap", json!({})).await["janus"], "success");
    let bytes = contents(Path::new(&file), |b| b.iter().filter(|c| **c == b'\n').count() >= 40).await;
    let text = String::from_utf8(bytes).unwrap();
    let label = format!(" RTP [session={sid}][handle={hid}]");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    for line in &lines {
        let (head, bytes) = line.split_once(" 000000  ").unwrap_or_else(|| panic!("{line}"));
        assert!(head.starts_with("I ") || head.starts_with("O "), "{line}");
        let bytes = bytes.strip_suffix(&label).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(bytes.split(' ').count(), 20, "{line}");
        assert!(bytes.starts_with("80 ") || bytes.starts_with("90 "), "{line}");
    }
    assert!(lines.iter().any(|l| l.starts_with("I ")) && lines.iter().any(|l| l.starts_with("O ")));
    peer.close().await.ok();
}
