//! A backend URL a plugin posts to (TextRoom's `post`), read as `http-post` reads it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::http_post_url(data));
