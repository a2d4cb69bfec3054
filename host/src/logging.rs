//! Logging with `tracing`, at a Janus `debug_level` (0..=7) that can change at run time, to the
//! console (stderr) and, as Janus's `log_to_file`, a file, each line after `log_prefix`; with
//! or without the time and colours (`debug_timestamps`, `debug_colors`), which the admin API
//! may also change at run time.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use tracing::{Event, Subscriber};
use tracing_subscriber::filter::LevelFilter;
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
