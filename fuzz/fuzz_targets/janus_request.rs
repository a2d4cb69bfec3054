//! A Janus API request as a transport hands it to the core: JSON, envelope, JSEP checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::janus_request(data));
