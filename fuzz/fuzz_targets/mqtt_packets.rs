//! What an MQTT broker sends the gateway's MQTT client (event handler and transport).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::mqtt_packets(data));
