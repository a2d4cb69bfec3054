//! What an AMQP broker sends the gateway's AMQP client (the RabbitMQ event handler).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portunus::fuzz::amqp_frames(data));
