//! What a Nanomsg peer sends the gateway (the Nanomsg transport and event handler).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::nanomsg_frames(data));
