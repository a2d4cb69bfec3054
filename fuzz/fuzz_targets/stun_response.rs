//! A STUN server's answer to the gateway's Binding request: its mapped address read.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::stun_response(data));
