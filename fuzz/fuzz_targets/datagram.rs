//! Datagrams on the media port, from a connected client's address and from a stranger's.
#![no_main]

use std::sync::{Mutex, OnceLock};

use portunus::fuzz::Datagrams;

static TARGET: OnceLock<Mutex<Datagrams>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let target = TARGET.get_or_init(|| Mutex::new(Datagrams::new().expect("a connected client")));
    let mut target = target.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    target.feed(data);
});
