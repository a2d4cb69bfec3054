//! Logging with `tracing`, at a Janus `debug_level` (0..=7) that can change at run time, to the
//! console (stderr) and, as Janus's `log_to_file`, a file, each line after `log_prefix`.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::reload;

/// Changes the log level of the running logger.
#[derive(Clone)]
pub struct Logging {
    handle: reload::Handle<LevelFilter, tracing_subscriber::Registry>,
}

/// Janus levels: 0 none, 1 fatal, 2 error, 3 warning, 4 info, 5 verbose, 6 huge, 7 debug.
pub fn level_filter(level: u8) -> LevelFilter {
    match level {
        0 => LevelFilter::OFF,
        1 | 2 => LevelFilter::ERROR,
        3 => LevelFilter::WARN,
        4 => LevelFilter::INFO,
        5 | 6 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Where log lines go: the console until the configuration says otherwise (`log_to_stdout`), a
/// file (`log_to_file`), each line after a prefix (`log_prefix`).
struct Outputs {
    console: bool,
    file: Option<std::fs::File>,
    prefix: String,
}

static OUTPUTS: Mutex<Outputs> = Mutex::new(Outputs { console: true, file: None, prefix: String::new() });

/// The logger's writer: each `write` is one formatted line, sent to every output.
struct Sink;

impl Write for Sink {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut out = OUTPUTS.lock().unwrap_or_else(|e| e.into_inner());
        let Outputs { console, file, prefix } = &mut *out;
        if *console {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(prefix.as_bytes()).and_then(|()| err.write_all(line));
        }
        if let Some(file) = file {
            // One write per line, so that lines from other processes appending stay whole.
            let _ = file.write_all(&[prefix.as_bytes(), line].concat());
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global logger (stderr) at a Janus level.
pub fn init(level: u8) -> Logging {
    let (filter, handle) = reload::Layer::new(level_filter(level));
    let fmt = tracing_subscriber::fmt::layer().with_writer(|| Sink).with_ansi(false).with_target(false);
    // A second init (in tests) keeps the first logger; the handle still works for ours.
    let _ = tracing_subscriber::registry().with(filter).with(fmt).try_init();
    Logging { handle }
}

impl Logging {
    /// Sends the log where the configuration says: the console or not, a file (appended to;
    /// an error when it cannot be opened), every line after `prefix`.
    pub fn set_outputs(&self, console: bool, file: Option<&Path>, prefix: &str) -> std::io::Result<()> {
        let file = match file {
            Some(path) => Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?),
            None => None,
        };
        *OUTPUTS.lock().unwrap_or_else(|e| e.into_inner()) =
            Outputs { console, file, prefix: prefix.to_owned() };
        Ok(())
    }

    /// Applies a Janus level.
    pub fn set_level(&self, level: u8) {
        if let Err(e) = self.handle.modify(|f| *f = level_filter(level)) {
            tracing::warn!("cannot change the log level: {e}");
        }
    }
}

/// Counts one more refusal (of a job, a timer, a connection); true when it is time to say so
/// in the log (the 1st, 2nd, 4th, 8th… time), so a flood is reported without a line each.
pub fn time_to_report(counter: &mut u64) -> bool {
    *counter += 1;
    counter.is_power_of_two()
}
