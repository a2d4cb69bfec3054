//! Packets from the network as a mixer port takes them (Opus and G.711 participants of one room).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::mix_packets(data));
