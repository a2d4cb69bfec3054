//! Client SDP: the offer checks and the answer the media engine builds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::sdp(data));
