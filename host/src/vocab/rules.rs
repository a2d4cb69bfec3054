//! Forwarding rules: which media of which source goes to which destination.

use super::{HandleRef, MediaKind};

/// A forwarding rule: `src`'s media goes to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRule {
    /// The sending handle.
    pub src: HandleRef,
    /// Its stream, or all.
    pub src_mid: Option<String>,
    /// The receiving handle.
    pub dst: HandleRef,
    /// The receiving stream, or the matching one.
    pub dst_mid: Option<String>,
    /// Simulcast substream.
    pub substream: Option<u8>,
    /// Temporal layer.
    pub temporal: Option<u8>,
    /// Kinds to forward (empty: all).
    pub kinds: Vec<MediaKind>,
}

/// A change of what a rule forwards, for the plugin's media events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerChange {
    /// Now forwarding this simulcast substream (0 lowest).
    Substream(u8),
    /// Now forwarding up to this temporal layer.
    Temporal(u8),
}
