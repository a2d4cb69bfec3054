//! RTP forwarders of a call (`rtp_forward`, `stop_rtp_forward`, `listforwarders`), its
//! recordings (`recording`) and keyframe requests (`keyframe`), as Janus's SIP plugin has them:
//! the call's bridge does them (see [`portunus_sdk::forwarders`]); a call must be up.

use portunus_sdk::bridge::RecordingRequest;
use portunus_sdk::forwarders::ForwardCodes;
use portunus_sdk::{Message, PluginError, Value};
use serde_json::Map;

use crate::account::Account;
use crate::{code, err, event, json, push, Sip, CODES};

/// The error codes of the forwarder requests.
const FORWARD: ForwardCodes =
    ForwardCodes { body: CODES, no_such_stream: code::NO_SUCH_STREAM, unknown: code::UNKNOWN };

impl Sip {
    /// The handle's account, in a call that is up (else Janus's "not in a call"); and the
    /// call's id.
    fn in_call(&mut self, req: &Message, text: &str) -> Result<(&mut Account, String), PluginError> {
        let id = self.confirmed_call_id(req.handle.handle).ok_or_else(|| err(code::WRONG_STATE, text))?;
        Ok((self.account(req.handle), id))
    }

    /// `rtp_forward{streams: [{type, host, port, ssrc?, pt?, srtp_suite?, srtp_crypto?}]}`.
    pub(crate) fn rtp_forward(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let (a, _) = self.in_call(req, "Wrong state (not in a call)")?;
        let made = a.bridge.forward(body, FORWARD)?;
        let done = json!({"event": "rtp_forward", "forwarders": made});
        push(req.handle, Some(&req.transaction), &event(None, done), None);
        Ok(())
    }

    /// `stop_rtp_forward{stream_id}`.
    pub(crate) fn stop_rtp_forward(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let stream_id = self.account(req.handle).bridge.stop_forward(body, FORWARD)?;
        let done = json!({"event": "stop_rtp_forward", "stream_id": stream_id});
        push(req.handle, Some(&req.transaction), &event(None, done), None);
        Ok(())
    }

    /// `listforwarders`.
    pub(crate) fn list_forwarders(&mut self, req: &Message) -> Result<(), PluginError> {
        let list = self.account(req.handle).bridge.forwarder_list();
        let done = json!({"event": "forwarders", "rtp_forwarders": list});
        push(req.handle, Some(&req.transaction), &event(None, done), None);
        Ok(())
    }

    /// `keyframe{user?, peer?}`: a PLI to the browser, to the far end, or both (`keyframesent`).
    pub(crate) fn keyframe(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let (a, call_id) = self.in_call(req, "Wrong state (not in a call?)")?;
        a.bridge.keyframe(body, &CODES)?;
        let sent = event(Some(&call_id), json!({"event": "keyframesent"}));
        push(req.handle, Some(&req.transaction), &sent, None);
        Ok(())
    }

    /// `recording`: the call's media to .mjr files, as Janus's SIP plugin records it (see
    /// [`RecordingRequest`]); the call's end ends it.
    pub(crate) fn recording(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let (a, call_id) = self.in_call(req, "Wrong state (not in a call?)")?;
        let request = RecordingRequest::parse(body, &CODES, code::RECORDING_ERROR, "sip", req.handle)?;
        if let Some(why) = a.bridge.record(&request).first() {
            return Err(err(code::RECORDING_ERROR, format!("Error starting recorder: {why}")));
        }
        let updated = event(Some(&call_id), json!({"event": "recordingupdated"}));
        push(req.handle, Some(&req.transaction), &updated, None);
        Ok(())
    }
}
