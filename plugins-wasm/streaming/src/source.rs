//! What the host's RTSP client tells of an `rtsp` mountpoint's source: it plays (with the
//! codecs its description gives each stream) or it was lost (the host connects again).

use portunus_sdk::{host, json, HandleRef, PluginError, SourceState, Value};
use serde::{Deserialize, Serialize};

use crate::mountpoint::Mountpoint;
use crate::{code, err, Streaming, PACKAGE};

/// An `rtsp` mountpoint whose `create` waits for its source to play.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Creating {
    pub mountpoint: Mountpoint,
    /// Who asked, to hear the answer.
    pub handle: HandleRef,
    pub transaction: String,
    /// The answer, once the source plays.
    pub answer: Value,
}

impl Streaming {
    /// The RTSP source of `input` plays, or was lost.
    pub(crate) fn source(&mut self, input: u64, state: SourceState) {
        if let Some(Creating { mountpoint, handle, transaction, answer }) = self.creating.remove(&input) {
            let outcome = match &state {
                SourceState::Playing(_) => self.add_created(mountpoint, Some(handle)).map(|()| answer),
                SourceState::Lost(why) => {
                    host::rtp_input_close(input);
                    portunus_sdk::warn!("RTSP mountpoint {}: {why}", mountpoint.id);
                    Err(err(code::CANT_CREATE, format!("Error creating 'RTSP' stream: {why}")))
                }
            };
            match outcome {
                Ok(answer) => crate::push(handle, Some(&transaction), &answer, None),
                Err(e) => return e.push_logged(handle, Some(&transaction), PACKAGE),
            }
        }
        let Some(id) = self.inputs.get(&input).cloned() else { return };
        let Some(mp) = self.mountpoints.get_mut(&id) else { return };
        let Some(rtsp) = mp.rtsp.as_mut() else { return };
        let playing = matches!(state, SourceState::Playing(_));
        let changed = std::mem::replace(&mut rtsp.playing, playing) != playing;
        let notify = rtsp.notify_changes && changed;
        let event = match state {
            SourceState::Playing(streams) => {
                described(mp, &streams);
                portunus_sdk::info!("RTSP mountpoint {id} plays");
                "rtsp-reconnected"
            }
            SourceState::Lost(why) => {
                portunus_sdk::warn!("RTSP mountpoint {id}: {why}; connecting again");
                "rtsp-disconnected"
            }
        };
        if changed {
            portunus_sdk::notify_event(None, || json!({"event": event, "id": id.to_json()}));
        }
        // With `rtsp_notify_changes`, its viewers hear of it (Janus's event has no `streaming`).
        if notify {
            let event = json!({"event": event, "id": id.to_json()});
            for (_, handle) in self.watching.range((id.clone(), 0)..=(id.clone(), u64::MAX)) {
                crate::push(*handle, None, &event, None);
            }
        }
    }
}

/// The source's streams give the mountpoint's their codecs and ports; a stream it could not
/// give keeps none (viewers are not offered it).
fn described(mp: &mut Mountpoint, streams: &[portunus_sdk::InputStream]) {
    for m in &mut mp.media {
        match streams.iter().find(|s| s.mid == m.mid) {
            Some(s) => {
                m.pt = s.codec.pt;
                m.codec.clone_from(&s.codec.name);
                m.fmtp.clone_from(&s.fmtp);
                m.bound.clone_from(&s.ports);
            }
            None => m.codec.clear(),
        }
    }
}

/// The error for watching an `rtsp` mountpoint whose source has never played.
pub fn not_described() -> PluginError {
    err(code::INVALID_STATE, "The mountpoint's RTSP source has not played yet")
}
