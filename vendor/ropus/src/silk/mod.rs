pub mod common;
pub mod decoder;
pub mod encoder;
pub mod tables;
