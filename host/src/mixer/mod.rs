//! The audio mixer behind AudioBridge: rooms (mixers) of participants (ports) mixed on a
//! fixed 20 ms clock by a small pool of threads. A port is a media endpoint: rules bring it a
//! participant's audio and take the mix of everyone else from it, so a WebRTC peer and a plain
//! RTP leg join alike. Decoding and encoding are Opus in pure Rust (`ropus`).

pub mod codec;
pub mod jitter;
pub mod pool;
pub mod room;

pub use pool::{Job, MixIn, Outlet, Pool, TICK};
pub use room::{MixFrame, PortStats};
