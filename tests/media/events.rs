//! The event handler hears an EchoTest call, as Janus tells it: both SDPs (the client's offer
//! as `remote`, the answer as `local`), the plugin's own event (its settings), the
//! PeerConnection up, media coming, and the hangup.

use serde_json::{json, Value};

use super::{echo_call_on, wait_for, EchoCall};
use crate::backend::{backend, next_post};
use crate::harness::{Conf, Gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echotest_call_is_told_to_the_event_handler() {
    let (addr, mut posts) = backend("127.0.0.1", false).await;
    let evh = format!(
        "general: {{ enabled = true backend = \"http://{addr}/\" events = \"jsep, webrtc, media, plugins\" grouping = false }}\n"
    );
    let gw = Gateway::with(Conf {
        core_sections: "events: { broadcast = true }\n".into(),
        extra: vec![("janus.eventhandler.sampleevh.jcfg".into(), evh)],
        ..Conf::default()
    });
    let EchoCall { mut ws, sid, hid, peer, offer, answer } = echo_call_on(&gw).await;
    ws.send(&json!({"janus": "hangup", "session_id": sid, "handle_id": hid, "transaction": "h"})).await;
    wait_for(&mut ws, "the hangup", |v| v["janus"] == "hangup").await;
    // Everything the backend heard of the handle, in order, until the hangup.
    let mut events: Vec<Value> = Vec::new();
    while !events.iter().any(|e| e["event"]["connection"] == "hangup") {
        let e = next_post(&mut posts).await.body;
        assert_eq!((e["session_id"].clone(), e["handle_id"].clone()), (json!(sid), json!(hid)), "{e}");
        events.push(e);
    }
    let find = |what: &str, pred: &dyn Fn(&Value) -> bool| {
        events.iter().position(pred).unwrap_or_else(|| panic!("no {what} in {events:#?}"))
    };
    let remote = find("remote offer", &|e| e["type"] == 8 && e["event"]["owner"] == "remote");
    assert_eq!(events[remote]["event"]["jsep"], json!({"type": "offer", "sdp": offer}));
    let local = find("local answer", &|e| e["type"] == 8 && e["event"]["owner"] == "local");
    assert_eq!(events[local]["event"]["jsep"], json!({"type": "answer", "sdp": answer}));
    let plugin = find("the plugin's event", &|e| e["type"] == 64);
    assert_eq!(
        events[plugin]["event"],
        json!({"plugin": "janus.plugin.echotest", "data": {"audio_active": true, "video_active": true, "bitrate": 0}})
    );
    let up = find("webrtcup", &|e| e["type"] == 16 && e["event"]["connection"] == "webrtcup");
    assert_eq!(events[up]["subtype"], 6);
    let media = find("media", &|e| e["type"] == 32 && e["event"]["receiving"] == true);
    assert_eq!(events[media]["subtype"], 1);
    assert!(
        ["audio", "video"].contains(&events[media]["event"]["media"].as_str().unwrap_or("")),
        "{events:#?}"
    );
    let hangup = find("hangup", &|e| e["event"]["connection"] == "hangup");
    assert!(events[hangup]["event"]["reason"].is_string(), "{events:#?}");
    assert!(remote < local && local < up && up < hangup, "out of order: {events:#?}");
    peer.close().await.ok();
}
