//! The in-repo media benchmark still runs and passes its own checks (each path ends by checking
//! that every destination decrypts what it was sent): a benchmark whose check fails says
//! nothing about speed. Smallest sizes only; the figures are not looked at.

use std::process::Command;
use std::time::Duration;

#[test]
fn the_media_benchmark_checks_its_paths() {
    for path in ["peers", "rtp-forward", "input"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portunus-bench-media"))
            .args([path, "1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("portunus-bench-media starts");
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while child.try_wait().expect("wait").is_none() {
            assert!(std::time::Instant::now() < deadline, "{path}: still running after 120 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("output");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{path}: {text}{}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("1/1 destinations decrypted the check packets"), "{path}: {text}");
    }
}
