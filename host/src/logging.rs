//! Logging with `tracing`, at a Janus `debug_level` (0..=7) that can change at run time, to the
//! console (stderr) and, as Janus's `log_to_file`, a file, each line after `log_prefix`; with
//! or without the time and colours (`debug_timestamps`, `debug_colors`), which the admin API
//! may also change at run time. ICE debugging (Janus's libnice debugging: `nice_debug`, admin
//! `set_libnice_debug`) logs everything the ICE agent (str0m's `is` crate) says, whatever the
//! level.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::{self, Format, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::reload;

/// Whether log lines start with the time.
static TIMESTAMPS: AtomicBool = AtomicBool::new(true);
/// Whether log levels are coloured.
static COLORS: AtomicBool = AtomicBool::new(false);

/// Starts log lines with the time, or not (`debug_timestamps`, admin `set_log_timestamps`).
pub fn set_timestamps(on: bool) {
    TIMESTAMPS.store(on, Ordering::Relaxed);
}

/// Whether log lines start with the time.
pub fn timestamps() -> bool {
    TIMESTAMPS.load(Ordering::Relaxed)
}

/// Colours the log, or not (`debug_colors`, admin `set_log_colors`).
pub fn set_colors(on: bool) {
    COLORS.store(on, Ordering::Relaxed);
}

/// Whether the log is coloured.
pub fn colors() -> bool {
    COLORS.load(Ordering::Relaxed)
}

/// The line format: the plain one, with or without the time and colours, as the switches
/// stand when the line is written.
struct Switched {
    timed: [Format<format::Full, SystemTime>; 2],
    untimed: [Format<format::Full, ()>; 2],
}

impl Switched {
    fn new() -> Self {
        let base = format::format().with_target(false);
        Self {
            timed: [base.clone().with_ansi(false), base.clone().with_ansi(true)],
            untimed: [base.clone().without_time().with_ansi(false), base.without_time().with_ansi(true)],
        }
    }
}

impl<S, N> FormatEvent<S, N> for Switched
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let colored = usize::from(colors());
        if timestamps() {
            self.timed[colored].format_event(ctx, writer, event)
        } else {
            self.untimed[colored].format_event(ctx, writer, event)
        }
    }
}

/// Changes the log level of the running logger.
#[derive(Clone)]
pub struct Logging {
    handle: reload::Handle<Targets, tracing_subscriber::Registry>,
}

/// A change to what the running logger writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogChange {
    /// A Janus level (0..=7).
    Level(u8),
    /// ICE debugging on or off.
    IceDebug(bool),
}

/// The target of the ICE agent's lines.
const ICE_TARGET: &str = "is";

/// What is written: lines at `level` or more severe, and with `ice_debug` all of the ICE
/// agent's.
fn targets(level: LevelFilter, ice_debug: bool) -> Targets {
    let all = Targets::new().with_default(level);
    match ice_debug {
        true => all.with_target(ICE_TARGET, LevelFilter::TRACE),
        false => all,
    }
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
    let (filter, handle) = reload::Layer::new(targets(level_filter(level), false));
    let fmt = tracing_subscriber::fmt::layer().with_writer(|| Sink).event_format(Switched::new());
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

    /// Applies a change: a Janus level, or ICE debugging on or off.
    pub fn apply(&self, change: LogChange) {
        let changed = self.handle.modify(|t| {
            let level = t.default_level().unwrap_or(LevelFilter::OFF);
            let ice = t.iter().any(|(target, _)| target == ICE_TARGET);
            *t = match change {
                LogChange::Level(l) => targets(level_filter(l), ice),
                LogChange::IceDebug(on) => targets(level, on),
            };
        });
        if let Err(e) = changed {
            tracing::warn!("cannot change what the log writes: {e}");
        }
    }
}

/// Counts one more refusal (of a job, a timer, a connection); true when it is time to say so
/// in the log (the 1st, 2nd, 4th, 8th… time), so a flood is reported without a line each.
pub fn time_to_report(counter: &mut u64) -> bool {
    *counter += 1;
    counter.is_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ICE debugging lets the ICE agent's lines through whatever the level, and a level change
    /// keeps it.
    #[test]
    fn ice_debugging_opens_the_ice_agents_lines() {
        let logging = init(4);
        let ice = || tracing::enabled!(target: "is::agent", tracing::Level::DEBUG);
        let ours = || tracing::enabled!(target: "portunus::media", tracing::Level::DEBUG);
        assert!(!ice() && !ours());
        logging.apply(LogChange::IceDebug(true));
        assert!(ice() && !ours());
        logging.apply(LogChange::Level(3));
        assert!(ice() && !ours(), "a level keeps ICE debugging");
        logging.apply(LogChange::IceDebug(false));
        assert!(!ice());
    }
}
