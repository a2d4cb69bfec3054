//! SDES `a=crypto` values (RFC 4568).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::crypto_attr(data));
