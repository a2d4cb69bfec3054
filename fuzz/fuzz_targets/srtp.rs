//! SRTP and SRTCP datagrams as a plain RTP leg receives them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::srtp(data));
