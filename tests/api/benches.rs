//! The in-repo benchmarks still run and pass their own checks: a benchmark that no longer
//! works, or whose check fails, says nothing about speed. Smallest sizes only; the figures are
//! not looked at.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a benchmark binary to its end (within two minutes); its standard output and its
/// process id.
fn run(exe: &str, args: &[&str]) -> (String, u32) {
    let mut child = Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{exe} starts: {e}"));
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "{args:?}: still running after 120 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
    (text, pid)
}

/// Each media path ends by checking that every destination decrypts what it was sent.
#[test]
fn the_media_benchmark_checks_its_paths() {
    for path in ["peers", "rtp-forward", "input"] {
        let (text, _) = run(env!("CARGO_BIN_EXE_portunus-bench-media"), &[path, "1"]);
        assert!(text.contains("1/1 destinations decrypted the check packets"), "{path}: {text}");
    }
}

/// The fan-out benchmark over the Janus API (a gateway it starts): VideoRoom with a light
/// generator, and a Streaming mountpoint; each prints its figures line, and removes the
/// configs folder of the gateway it started.
#[test]
fn the_room_benchmark_runs() {
    let exe = env!("CARGO_BIN_EXE_portunus-bench-room");
    for (args, line) in [
        (&["--light", "--seconds", "1", "2"][..], "2 subscribers:"),
        (&["--streaming", "--seconds", "1", "1"][..], "1 subscribers:"),
    ] {
        let (text, pid) = run(exe, args);
        assert!(text.contains(line) && text.contains("pkt/s forwarded"), "{text}");
        let folder = std::env::temp_dir().join(format!("portunus-bench-room-{pid}"));
        assert!(!folder.exists(), "{} left behind", folder.display());
    }
}
