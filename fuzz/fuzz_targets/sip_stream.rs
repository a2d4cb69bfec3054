//! What a SIP peer sends a plugin's TCP connection (messages framed by Content-Length, pings).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::sip_stream(data));
