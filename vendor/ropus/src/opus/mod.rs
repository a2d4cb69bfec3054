#[doc(hidden)]
pub mod analysis;
pub mod decoder;
pub mod dred;
pub mod encoder;
pub mod extensions;
pub(crate) mod mlp;
pub(crate) mod mlp_data;
pub mod multistream;
pub mod repacketizer;
pub mod soft_clip;
