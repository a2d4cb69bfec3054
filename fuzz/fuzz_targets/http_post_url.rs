//! A backend URL a plugin posts to (TextRoom's `post`): what parses makes a valid request.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::http_post_url(data));
