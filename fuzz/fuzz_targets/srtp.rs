//! Datagrams as a plain RTP leg or an RTP input receives them: RTP, RTCP, SRTP, SRTCP.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::srtp(data));
