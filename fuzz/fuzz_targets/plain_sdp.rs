//! A plain RTP endpoint's SDP (a SIP phone's, a NoSIP peer's) as plugins read it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = portunus_sdk::plain_sdp::parse(text);
    }
});
