//! Panics in the WebRTC stacks are contained: the peer that panicked is closed and the media
//! thread goes on. Fuzzing must see them, so the fuzz entry points turn containment off for
//! their thread.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static LET_THROUGH: Cell<bool> = const { Cell::new(false) };
}

/// From now on, panics on this thread are not contained (for fuzzing).
pub(crate) fn let_panics_through() {
    LET_THROUGH.with(|c| c.set(true));
}

/// Runs `f`; a panic comes back as an error, unless this thread lets panics through.
pub(crate) fn contain<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    if LET_THROUGH.with(Cell::get) {
        return Ok(f());
    }
    catch_unwind(AssertUnwindSafe(f))
}
