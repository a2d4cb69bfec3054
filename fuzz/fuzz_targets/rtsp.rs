//! What an RTSP server sends the gateway's RTSP client (answers, interleaved frames, SDP).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::rtsp(data));
