//! Logging with `tracing`, at a Janus `debug_level` (0..=7) that can change at run time.

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

/// Installs the global logger (stderr) at a Janus level.
pub fn init(level: u8) -> Logging {
    let (filter, handle) = reload::Layer::new(level_filter(level));
    let fmt =
        tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false);
    // A second init (in tests) keeps the first logger; the handle still works for ours.
    let _ = tracing_subscriber::registry().with(filter).with(fmt).try_init();
    Logging { handle }
}

impl Logging {
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
