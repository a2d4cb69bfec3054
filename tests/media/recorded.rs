//! Reading what a plugin recorded, as Janus's users do: `janus-pp-rec` turns the .mjr files
//! into media files and subtitles, and the tests check what it made.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Conf, Gateway, WAIT};

/// Whether Janus's `janus-pp-rec` is installed.
pub(crate) fn have_pp_rec() -> bool {
    let found = Command::new("janus-pp-rec").arg("--help").output().is_ok();
    crate::tool_present(found, "apt-get install janus-tools", "the .mjr recording tests need janus-pp-rec")
}

/// A gateway whose `plugin` writes into a fresh folder (its `sandbox.write_dir`), with
/// `sections` more of its configuration; none without janus-pp-rec (the test skipped, loudly,
/// outside CI).
pub(crate) fn recording_gateway(plugin: &str, sections: &str) -> Option<(Gateway, PathBuf)> {
    recording_gateway_with(Conf::default(), plugin, sections, "")
}

/// As [`recording_gateway`], on `conf`, with more `sandbox` settings for the plugin.
pub(crate) fn recording_gateway_with(
    mut conf: Conf,
    plugin: &str,
    sections: &str,
    sandbox: &str,
) -> Option<(Gateway, PathBuf)> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    if !have_pp_rec() {
        return None;
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("portunus-mjr-{}-{plugin}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let jcfg = format!("{sections}sandbox: {{ write_dir = \"{}\" {sandbox} }}\n", dir.display());
    conf.extra.push((format!("{plugin}.jcfg"), jcfg));
    Some((Gateway::with(conf), dir))
}

/// What `janus-pp-rec` makes of a video .mjr file: the packets of frames it counted, once the
/// file holds at least `packets` of them (the writer flushes as it goes; 90 a second here).
pub(crate) async fn video_packets_recorded(mjr: &Path, packets: u64) -> u64 {
    let webm = mjr.with_extension("webm");
    let deadline = Instant::now() + WAIT;
    loop {
        let _ = std::fs::remove_file(&webm);
        let out = Command::new("janus-pp-rec").arg(mjr).arg(&webm).output().expect("janus-pp-rec");
        let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        let counted = said
            .lines()
            .find_map(|l| {
                l.trim().strip_prefix("Counted ")?.strip_suffix(" frame packets")?.parse::<u64>().ok()
            })
            .unwrap_or(0);
        if out.status.success() && webm.metadata().is_ok_and(|m| m.len() > 0) && counted >= packets {
            return counted;
        }
        assert!(Instant::now() < deadline, "janus-pp-rec reads {}: {said}", mjr.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The data-channel messages of a data .mjr file, as the subtitles `janus-pp-rec` makes of
/// it, once it holds `count` of them.
pub(crate) async fn messages_recorded(mjr: &Path, count: usize) -> Vec<String> {
    let srt = mjr.with_extension("srt");
    let deadline = Instant::now() + WAIT;
    loop {
        let _ = std::fs::remove_file(&srt);
        let out = Command::new("janus-pp-rec").arg(mjr).arg(&srt).output().expect("janus-pp-rec");
        let subtitles = std::fs::read_to_string(&srt).unwrap_or_default();
        // An .srt file: a number, the times, the text, a blank line.
        let messages: Vec<String> =
            subtitles.split("\n\n").filter_map(|s| s.lines().nth(2)).map(str::to_owned).collect();
        if out.status.success() && messages.len() >= count {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "janus-pp-rec reads {}: {subtitles}{}",
            mjr.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The file in `dir` whose name starts with `prefix` and ends with `suffix` (a recording under
/// a name with a time in it), once it is there.
pub(crate) async fn recorded_file(dir: &Path, prefix: &str, suffix: &str) -> PathBuf {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = std::fs::read_dir(dir).expect("the folder").flatten().map(|e| e.path()).find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy().to_string();
            name.starts_with(prefix) && name.ends_with(suffix)
        });
        if let Some(f) = found {
            return f;
        }
        assert!(Instant::now() < deadline, "a recording {prefix}…{suffix} in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
