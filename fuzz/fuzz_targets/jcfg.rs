//! A `.jcfg` configuration: parsed, converted to JSON, written back and parsed alike.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::jcfg(data));
