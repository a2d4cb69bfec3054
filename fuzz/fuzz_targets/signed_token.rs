//! A signed token a client sends (`token_auth_secret`): checked as the core and plugins check it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::signed_token(data));
