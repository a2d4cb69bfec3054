//! The media settings the admin API changes while the gateway runs, as Janus's
//! `set_no_media_timer`, `set_slowlink_threshold` and `set_min_nack_queue` do: one shared value
//! each, read by every media thread where it is used, so a change holds from the next check on.
//! Beside them, what the event handlers want of the media threads (set once they start).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::config::Media;

/// The most `min_nack_queue` may be, ms: Janus's cap.
pub const MAX_MIN_NACK_QUEUE_MS: u64 = 1000;

/// `no_media_timer`, `slowlink_threshold` and `min_nack_queue`, shared.
#[derive(Debug)]
pub struct Tunables {
    no_media_timer_s: AtomicU64,
    slowlink_threshold: AtomicU32,
    min_nack_queue_ms: AtomicU64,
    /// The event handlers hear of ICE, DTLS and media statistics.
    handler_news: AtomicBool,
    /// Seconds between two media statistics events (0: none).
    stats_period_s: AtomicU64,
    /// A PeerConnection's statistics go in one event, not one per stream.
    combine_media_stats: AtomicBool,
    /// The event handlers, whose masks say whether statistics are wanted (none: they are).
    handlers: std::sync::OnceLock<crate::events::Events>,
}

impl Default for Tunables {
    fn default() -> Self {
        Self::new(&Media::default())
    }
}

impl Tunables {
    /// The values of the configuration.
    pub fn new(media: &Media) -> Self {
        Self {
            no_media_timer_s: AtomicU64::new(media.no_media_timer),
            slowlink_threshold: AtomicU32::new(media.slowlink_threshold),
            min_nack_queue_ms: AtomicU64::new(media.min_nack_queue.min(MAX_MIN_NACK_QUEUE_MS)),
            handler_news: AtomicBool::new(false),
            stats_period_s: AtomicU64::new(0),
            combine_media_stats: AtomicBool::new(false),
            handlers: std::sync::OnceLock::new(),
        }
    }

    /// Seconds without packets before a stream is reported as not receiving (0: never).
    pub fn no_media_timer_s(&self) -> u64 {
        self.no_media_timer_s.load(Ordering::Relaxed)
    }

    /// [`Tunables::no_media_timer_s`] as a duration.
    pub fn no_media_timer(&self) -> Duration {
        Duration::from_secs(self.no_media_timer_s())
    }

    /// Sets `no_media_timer`.
    pub fn set_no_media_timer(&self, seconds: u64) {
        self.no_media_timer_s.store(seconds, Ordering::Relaxed);
    }

    /// Losses a second that make a `slowlink` event (0: none).
    pub fn slowlink_threshold(&self) -> u32 {
        self.slowlink_threshold.load(Ordering::Relaxed)
    }

    /// Sets `slowlink_threshold`.
    pub fn set_slowlink_threshold(&self, lost: u32) {
        self.slowlink_threshold.store(lost, Ordering::Relaxed);
    }

    /// How long sent video is kept at least for retransmissions, ms.
    pub fn min_nack_queue_ms(&self) -> u64 {
        self.min_nack_queue_ms.load(Ordering::Relaxed)
    }

    /// [`Tunables::min_nack_queue_ms`] as a duration.
    pub fn min_nack_queue(&self) -> Duration {
        Duration::from_millis(self.min_nack_queue_ms())
    }

    /// Sets `min_nack_queue`, capped at [`MAX_MIN_NACK_QUEUE_MS`] as in Janus; returns the
    /// value set.
    pub fn set_min_nack_queue(&self, ms: u64) -> u64 {
        let ms = ms.min(MAX_MIN_NACK_QUEUE_MS);
        self.min_nack_queue_ms.store(ms, Ordering::Relaxed);
        ms
    }

    /// Has the media threads tell the event handlers of ICE, DTLS and, every `stats_period_s`
    /// seconds (0: never), of each stream's statistics (`combine`: in one event per
    /// PeerConnection) while one of `handlers` takes media events (none: always; a test's).
    pub fn tell_handlers(&self, stats_period_s: u64, combine: bool, handlers: Option<crate::events::Events>) {
        self.stats_period_s.store(stats_period_s, Ordering::Relaxed);
        self.combine_media_stats.store(combine, Ordering::Relaxed);
        if let Some(events) = handlers {
            let _ = self.handlers.set(events);
        }
        self.handler_news.store(true, Ordering::Relaxed);
    }

    /// Whether a handler takes media events now (its mask may change with admin
    /// `query_eventhandler`): statistics are made only then.
    pub fn stats_wanted(&self) -> bool {
        self.handler_news() && self.handlers.get().is_none_or(|e| e.wants(crate::events::Kind::Media))
    }

    /// Whether the event handlers hear of ICE, DTLS and media statistics.
    pub fn handler_news(&self) -> bool {
        self.handler_news.load(Ordering::Relaxed)
    }

    /// Seconds between two media statistics events (0: none).
    pub fn stats_period_s(&self) -> u64 {
        self.stats_period_s.load(Ordering::Relaxed)
    }

    /// Whether a PeerConnection's statistics go in one event.
    pub fn combine_media_stats(&self) -> bool {
        self.combine_media_stats.load(Ordering::Relaxed)
    }
}
