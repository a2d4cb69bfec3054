//! The media engine as the API core and the plugins see it: intents that return at once.

use serde_json::Value;

use super::{
    AnswerPolicy, DescriptionError, ForwardRule, HandleRef, InputLocal, InputSpec, LegLocal, LegRemote,
    LegSpec, MediaKind, MixCodec, MixerSpec, OfferItem, PortSettings,
};

/// Streams (mids) that take a new direction in an offer of ours.
pub type Directions = Vec<(String, crate::sdp::Direction)>;

/// A packet capture for a handle (admin `start_pcap`, `start_text2pcap`): its file, opened
/// for appending, as pcap or as text, each packet cut to `truncate` bytes (0: whole); `fresh`
/// when the file was empty (a pcap file then gets its header).
#[derive(Debug)]
pub struct CaptureSpec {
    /// The file.
    pub file: std::sync::Arc<super::RecordFile>,
    /// Text for `text2pcap`, not pcap.
    pub text: bool,
    /// Bytes kept of each packet (0: all).
    pub truncate: usize,
    /// The file was empty.
    pub fresh: bool,
}

/// What the media engine answers when it is missing.
pub const NO_MEDIA: &str = "not available: media engine";

/// The media engine as the core and plugins see it. Every call returns at once: the
/// negotiations plugins ask for (`answer`, `offer`, `accept_answer`) take an id and report
/// their outcome later, as a notice for that handle. Only `remote_description` for a client's
/// answer and `describe` wait for the media thread (microseconds).
pub trait MediaControl: Send + Sync {
    /// A client JSEP arrived on a handle (already checked): an offer is kept for the plugin's
    /// `answer`; an answer completes an offer of ours.
    fn remote_description(&self, handle: HandleRef, offer: bool, sdp: &str) -> Result<(), DescriptionError>;
    /// A trickled candidate (the Janus `candidate` object, or `{completed:true}`).
    fn trickle(&self, handle: HandleRef, candidate: Value);
    /// Hangs up the handle's PeerConnection; `reason` goes into the `hangup` event.
    fn hangup(&self, handle: HandleRef, reason: &str);
    /// The handle is gone: its PeerConnection and rules are dropped without events.
    fn handle_gone(&self, handle: HandleRef);
    /// Answers the handle's pending client offer; negotiation `id` reports the answer SDP.
    /// An error now: no media engine to ask.
    fn answer(&self, handle: HandleRef, policy: AnswerPolicy, id: u64) -> Result<(), String>;
    /// Offers the handle's client these streams (added to what it already has, each on an
    /// inactive stream of its kind when there is one, as Janus recycles m-lines) and makes the
    /// streams `stop` (mids) inactive, and others take a new direction (`directions`: ours,
    /// a far end's hold); negotiation `id` reports the offer SDP and the mid of each item, in
    /// order. Nothing to add, stop or redirect restarts ICE. An item whose source has not
    /// negotiated that stream is an error now.
    fn offer(
        &self,
        handle: HandleRef,
        stop: Vec<String>,
        directions: Directions,
        items: Vec<OfferItem>,
        id: u64,
    ) -> Result<(), String>;
    /// Reports when the handle's audio streams start and stop talking (`MediaEvent::Talking`):
    /// levels averaged over `packets` packets against `threshold`; `packets` 0 stops it.
    fn watch_talking(&self, handle: HandleRef, packets: u32, threshold: u8);
    /// The RTP header extensions the handle's next negotiations offer and accept.
    fn set_rtp_extensions(&self, handle: HandleRef, extensions: super::RtpExtensions);
    /// Applies an answer (SDP) a plugin got some other way to the handle's pending offer;
    /// negotiation `id` reports the outcome. An error now: no media engine to ask.
    fn accept_answer(&self, handle: HandleRef, sdp: &str, id: u64) -> Result<(), String>;
    /// Starts forwarding by a rule the caller numbered.
    fn forward(&self, id: u64, rule: ForwardRule);
    /// Stops a rule.
    fn unforward(&self, id: u64);
    /// Ends every recording and waits (at most `within`) until their files are complete, as at
    /// shutdown: what they buffered written, temporary names (`recordings_tmp_ext`) renamed.
    fn end_recordings(&self, _within: std::time::Duration) {}
    /// Changes a rule's simulcast substream (0 lowest; none: highest) and top temporal layer
    /// (none: all).
    fn set_layers(&self, id: u64, substream: Option<u8>, temporal: Option<u8>);
    /// Caps what the handle's client sends (REMB), 0 = no cap.
    fn set_bitrate_cap(&self, handle: HandleRef, bps: u32);
    /// Asks the handle's client for a keyframe, on one stream (`mid`) or on all.
    fn request_keyframe(&self, handle: HandleRef, mid: Option<String>);
    /// Turns relaying of one kind of the handle's media on or off.
    fn set_media_enabled(&self, handle: HandleRef, kind: MediaKind, enabled: bool);
    /// What admin `handle_info` shows of the handle's PeerConnection (Janus's `flags`, `sdps`,
    /// `ice-mode`, `ice-role` and `webrtc` members), or none when it has none.
    fn describe(&self, handle: HandleRef) -> Option<Value>;
    /// Sends a data-channel message to the handle's client (dropped when it has no open
    /// channel).
    fn send_data(&self, handle: HandleRef, label: Option<String>, data: Vec<u8>, text: bool);
    /// Opens a plain RTP leg: its ports are bound now (an error when none is free).
    fn leg_open(&self, spec: LegSpec) -> Result<LegLocal, String>;
    /// Points a leg at its far end.
    fn leg_connect(&self, leg: u64, remote: LegRemote);
    /// Closes a leg (its rules are removed by the caller).
    fn leg_close(&self, leg: u64);
    /// Sends RFC 4733 telephone events (codes) on a leg, each `length` long and `gap` apart
    /// (nothing when the far end negotiated no telephone events).
    fn leg_dtmf(&self, leg: u64, events: Vec<u8>, length: std::time::Duration, gap: std::time::Duration);
    /// Asks a video leg's far end for a keyframe (RTCP PLI).
    fn leg_keyframe(&self, leg: u64);
    /// Opens an RTP input: its ports are bound now.
    fn input_open(&self, spec: InputSpec) -> Result<InputLocal, String>;
    /// Per stream of an input: its mid, how long ago its last packet came (ms) and from where; none
    /// for an unknown input.
    fn input_status(&self, input: u64) -> Option<Vec<InputStreamReport>>;
    /// Connects an input's source again (an RTSP pull: torn down, reported lost for `why`,
    /// and set up anew after its reconnect delay); nothing for other inputs.
    fn input_restart(&self, input: u64, why: String);
    /// Closes an input (its rules are removed by the caller).
    fn input_close(&self, input: u64);
    /// Creates an audio mixer; its id.
    fn mixer_create(&self, spec: MixerSpec) -> Result<u64, String>;
    /// Adds a participant to a mixer: a port, an endpoint (`Endpoint::Mix`) rules feed with the
    /// participant's audio and take the mix of everyone else from.
    fn mixer_join(
        &self,
        mixer: u64,
        owner: Option<HandleRef>,
        codec: MixCodec,
        settings: PortSettings,
    ) -> Result<u64, String>;
    /// Changes a participant's settings.
    fn mixer_set(&self, port: u64, settings: PortSettings);
    /// Starts a participant's decoding over (`resetdecoder`).
    fn mixer_reset(&self, port: u64);
    /// Removes a participant (its rules are removed by the caller).
    fn mixer_leave(&self, port: u64);
    /// Destroys a mixer (its ports are left by the caller first).
    fn mixer_destroy(&self, mixer: u64);
    /// Records a mixer's whole mix to `file` (just created), or stops (none); a failure to
    /// write stops it and is reported (`MediaEvent::MixerRecordFailed`).
    fn mixer_record(&self, mixer: u64, file: Option<std::fs::File>);

    /// Captures the handle's packets as `spec` says, or stops (none; the file is complete once
    /// the writer has written what was captured).
    fn capture(&self, handle: HandleRef, spec: Option<CaptureSpec>);
}

/// A stream of an input as [`MediaControl::input_status`] gives it: mid, age (ms), source.
pub type InputStreamReport = (String, Option<u64>, Option<std::net::SocketAddr>);

/// No media engine: intents fail with [`NO_MEDIA`], notifications are ignored.
#[derive(Debug, Default)]
pub struct NoMedia;

impl MediaControl for NoMedia {
    fn remote_description(&self, _: HandleRef, _: bool, _: &str) -> Result<(), DescriptionError> {
        Ok(())
    }
    fn trickle(&self, _: HandleRef, _: Value) {}
    fn hangup(&self, _: HandleRef, _: &str) {}
    fn handle_gone(&self, _: HandleRef) {}
    fn answer(&self, _: HandleRef, _: AnswerPolicy, _: u64) -> Result<(), String> {
        Err(NO_MEDIA.into())
    }
    fn offer(
        &self,
        _: HandleRef,
        _: Vec<String>,
        _: Directions,
        _: Vec<OfferItem>,
        _: u64,
    ) -> Result<(), String> {
        Err(NO_MEDIA.into())
    }
    fn watch_talking(&self, _: HandleRef, _: u32, _: u8) {}
    fn set_rtp_extensions(&self, _: HandleRef, _: super::RtpExtensions) {}
    fn accept_answer(&self, _: HandleRef, _: &str, _: u64) -> Result<(), String> {
        Err(NO_MEDIA.into())
    }
    fn forward(&self, _: u64, _: ForwardRule) {}
    fn unforward(&self, _: u64) {}
    fn set_layers(&self, _: u64, _: Option<u8>, _: Option<u8>) {}
    fn set_bitrate_cap(&self, _: HandleRef, _: u32) {}
    fn request_keyframe(&self, _: HandleRef, _: Option<String>) {}
    fn describe(&self, _: HandleRef) -> Option<Value> {
        None
    }
    fn set_media_enabled(&self, _: HandleRef, _: MediaKind, _: bool) {}
    fn send_data(&self, _: HandleRef, _: Option<String>, _: Vec<u8>, _: bool) {}
    fn leg_open(&self, _: LegSpec) -> Result<LegLocal, String> {
        Err(NO_MEDIA.into())
    }
    fn leg_connect(&self, _: u64, _: LegRemote) {}
    fn leg_close(&self, _: u64) {}
    fn leg_dtmf(&self, _: u64, _: Vec<u8>, _: std::time::Duration, _: std::time::Duration) {}
    fn leg_keyframe(&self, _: u64) {}
    fn input_open(&self, _: InputSpec) -> Result<InputLocal, String> {
        Err(NO_MEDIA.into())
    }
    fn input_status(&self, _: u64) -> Option<Vec<InputStreamReport>> {
        None
    }
    fn input_restart(&self, _: u64, _: String) {}
    fn input_close(&self, _: u64) {}
    fn mixer_create(&self, _: MixerSpec) -> Result<u64, String> {
        Err(NO_MEDIA.into())
    }
    fn mixer_join(&self, _: u64, _: Option<HandleRef>, _: MixCodec, _: PortSettings) -> Result<u64, String> {
        Err(NO_MEDIA.into())
    }
    fn mixer_set(&self, _: u64, _: PortSettings) {}
    fn mixer_reset(&self, _: u64) {}
    fn mixer_leave(&self, _: u64) {}
    fn mixer_destroy(&self, _: u64) {}
    fn mixer_record(&self, _: u64, _: Option<std::fs::File>) {}
    fn capture(&self, _: HandleRef, _: Option<CaptureSpec>) {}
}
