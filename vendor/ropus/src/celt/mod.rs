pub mod bands;
pub mod cwrs;
pub mod decoder;
pub mod ec_ctx;
pub mod encoder;
pub mod fft;
pub mod lpc;
pub mod math_ops;
pub mod mdct;
pub mod modes;
pub mod pitch;
pub mod quant_bands;
pub mod range_coder;
pub mod rate;
pub mod tables;
pub mod vq;

pub mod simd;
