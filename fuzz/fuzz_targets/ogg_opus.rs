//! Opus-in-Ogg files as Streaming's file mountpoints read and play them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::ogg_opus(data));
