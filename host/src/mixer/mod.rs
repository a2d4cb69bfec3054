//! The audio mixer behind AudioBridge: rooms (mixers) of participants (ports) mixed on a
//! fixed 20 ms clock by a small pool of threads. A port is a media endpoint: rules bring it a
//! participant's audio and take the mix of everyone else from it, so a WebRTC peer and a plain
//! RTP leg join alike. Participants speak Opus (pure Rust, `ropus`) or G.711 (converted to and
//! from the room's rate).

pub mod codec;
pub mod conceal;
pub mod g711;
pub mod jitter;
pub mod pool;
pub mod record;
pub mod resample;
pub mod room;
pub mod tone;
pub mod voice;

pub use pool::{Job, MixIn, Outlet, Pool, Told, TICK};
pub use room::{MixFrame, PortStats};
