//! What a DNS server answers the gateway's own client (SRV, A and AAAA lookups for plugins).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::dns_answer(data));
