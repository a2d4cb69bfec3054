//! A datagram on the SIP plugin's socket: parsed with ezk-sip-types, its headers, SDP and
//! digest challenge read as the user agent reads them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sip::fuzz_datagram(data));
