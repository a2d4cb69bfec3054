//! Logging through the host.

use crate::LogLevel;

/// Writes a log line under the plugin's name (the host's `log`).
///
/// Outside WebAssembly (the SDK's own native tests) the line goes to stderr instead, so code
/// that logs can be tested natively.
///
/// The macros [`error!`](crate::error!), [`warn!`](crate::warn!), [`info!`](crate::info!),
/// [`debug!`](crate::debug!) and [`trace!`](crate::trace!) format and log in one step.
pub fn log(level: LogLevel, text: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::host::log(level, text);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {text}");
}

/// Logs a formatted line at level `error`: `portunus_sdk::error!("lost {}", n)`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log($crate::LogLevel::Error, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at level `warn`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log($crate::LogLevel::Warn, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at level `info`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log($crate::LogLevel::Info, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at level `debug`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log($crate::LogLevel::Debug, &::std::format!($($arg)+))
    };
}

/// Logs a formatted line at level `trace`.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => {
        $crate::log($crate::LogLevel::Trace, &::std::format!($($arg)+))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn macros_expand_natively() {
        crate::error!("e {}", 1);
        crate::warn!("w {}", 2);
        crate::info!("i");
        crate::debug!("d {x}", x = 3);
        crate::trace!("t");
    }
}
