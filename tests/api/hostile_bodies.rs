//! Every plugin takes hostile message bodies (each of its requests with fields of every wrong
//! type, out-of-range numbers, huge and odd strings) without crashing: each answer is a reply
//! or a Janus error, never a crashed plugin, and the plugin's rooms are still there after.

use serde_json::{json, Value};

use crate::harness::{Conf, Gateway};

/// The plugins, with the requests of their APIs (`janus-api.md`).
const PLUGINS: &[(&str, &[&str])] = &[
    (
        "janus.plugin.videoroom",
        &[
            "create",
            "edit",
            "destroy",
            "exists",
            "list",
            "allowed",
            "kick",
            "moderate",
            "listparticipants",
            "listforwarders",
            "join",
            "joinandconfigure",
            "publish",
            "configure",
            "unpublish",
            "leave",
            "start",
            "pause",
            "switch",
            "subscribe",
            "unsubscribe",
            "update",
            "rtp_forward",
            "stop_rtp_forward",
            "enable_recording",
        ],
    ),
    (
        "janus.plugin.audiobridge",
        &[
            "create",
            "edit",
            "destroy",
            "exists",
            "list",
            "allowed",
            "kick",
            "kick_all",
            "suspend",
            "resume",
            "join",
            "configure",
            "mute",
            "unmute",
            "mute_room",
            "unmute_room",
            "changeroom",
            "leave",
            "listparticipants",
            "rtp_forward",
            "stop_rtp_forward",
            "listforwarders",
            "play_file",
            "is_playing",
            "stop_file",
            "stop_all_files",
            "enable_recording",
            "enable_mjrs",
            "hangup",
        ],
    ),
    (
        "janus.plugin.streaming",
        &[
            "list",
            "info",
            "create",
            "edit",
            "destroy",
            "recording",
            "enable",
            "disable",
            "kick_all",
            "watch",
            "start",
            "pause",
            "switch",
            "configure",
            "stop",
        ],
    ),
    (
        "janus.plugin.textroom",
        &[
            "list",
            "exists",
            "create",
            "edit",
            "destroy",
            "join",
            "leave",
            "message",
            "announcement",
            "allowed",
            "kick",
            "listparticipants",
            "setup",
            "ack",
            "restart",
        ],
    ),
    ("janus.plugin.videocall", &["list", "register", "call", "accept", "set", "hangup"]),
    ("janus.plugin.nosip", &["generate", "process", "hangup", "keyframe", "recording", "rtp_forward"]),
    (
        "janus.plugin.sip",
        &[
            "register",
            "unregister",
            "call",
            "accept",
            "decline",
            "hangup",
            "hold",
            "unhold",
            "update",
            "message",
            "info",
            "dtmf_info",
            "recording",
            "transfer",
            "subscribe",
            "unsubscribe",
            "keyframe",
        ],
    ),
    ("janus.plugin.echotest", &[""]),
];

/// Field names the requests above read.
const FIELDS: &[&str] = &[
    "room",
    "id",
    "feed",
    "feeds",
    "secret",
    "pin",
    "admin_key",
    "display",
    "description",
    "bitrate",
    "publishers",
    "streams",
    "mid",
    "substream",
    "temporal",
    "fallback",
    "audio",
    "video",
    "data",
    "record",
    "filename",
    "permanent",
    "is_private",
    "allowed",
    "action",
    "host",
    "port",
    "ssrc",
    "pt",
    "uri",
    "username",
    "proxy",
    "digit",
    "duration",
    "content",
    "type",
    "volume",
    "quality",
    "media",
    "expected_loss",
    "prebuffer",
    "group",
    "file_id",
    "sampling_rate",
    "new_room",
    "muted",
    "codec",
    "srtp_suite",
    "srtp_crypto",
    "audiocodec",
    "videocodec",
    "history",
    "to",
    "tos",
    "text",
    "transaction",
    "sdp",
    "spatial_position",
    "secret_update",
    "new_publishers",
    "rooms",
    "token",
    "tokens",
    "mountpoint",
];

/// What a hostile client puts in a field.
fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(0),
        json!(4_294_967_296u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(9.9e300),
        json!(-0.5),
        json!(""),
        json!("x".repeat(5000)),
        json!("\u{0}\"'}{\\n# \u{202e}é"),
        json!("-1"),
        json!([]),
        json!([null, -1, "x", {}]),
        json!({}),
        json!({"a": {"b": [1, {"c": null}]}}),
        json!([{"feed": u64::MAX, "mid": "0", "substream": 300, "temporal": -1, "send": "yes"}]),
        json!([{"mid": null, "feed": -1, "type": "data", "port": 70000}]),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_never_crash_a_plugin() {
    let mut conf = Conf::default();
    for (plugin, room) in [
        ("videoroom", "room-1234: { description = \"Demo Room\" secret = \"adminpwd\" publishers = 6 }\n"),
        (
            "audiobridge",
            "room-1234: { description = \"Demo Room\" secret = \"adminpwd\" sampling_rate = 16000 }\n",
        ),
        ("textroom", "room-1234: { description = \"Demo Room\" secret = \"adminpwd\" }\n"),
    ] {
        conf.extra.push((format!("janus.plugin.{plugin}.jcfg"), room.to_owned()));
    }
    let gw = Gateway::with(conf);
    let http = gw.http();
    let sid = http.create().await;
    let values = hostile_values();
    let mut sent = 0;
    for (plugin, requests) in PLUGINS {
        let r = http
            .post(&format!("/{sid}"), &json!({"janus": "attach", "transaction": "a", "plugin": plugin}))
            .await;
        let hid = r["data"]["id"].as_u64().unwrap_or_else(|| panic!("attach {plugin}: {r}"));
        let path = format!("/{sid}/{hid}");
        for (r, request) in requests.iter().enumerate() {
            for (f, field) in FIELDS.iter().enumerate() {
                // Two of the values per request and field, in turn (every field sees them all).
                for i in [(r + f) % values.len(), (r * 7 + f * 3 + 5) % values.len()] {
                    let value = &values[i];
                    let mut body = json!({field.to_string(): value});
                    if !request.is_empty() {
                        body["request"] = json!(request);
                    }
                    // Half of them about an existing room, to get past the first checks.
                    if i % 2 == 0 && *field != "room" {
                        body["room"] = json!(1234);
                    }
                    let r = http
                        .post(&path, &json!({"janus": "message", "transaction": "m", "body": body}))
                        .await;
                    sent += 1;
                    let code = r["error"]["code"].as_u64();
                    assert!(code != Some(462) && code != Some(500), "{plugin} {request}: {body} → {r}");
                }
            }
        }
        let logs = gw.logs();
        assert!(!logs.contains("plugin instance crashed"), "{plugin} crashed:\n{logs}");
    }
    println!("{sent} hostile requests");
    // The rooms are still there.
    for plugin in ["videoroom", "audiobridge", "textroom"] {
        let r = http
            .post(
                &format!("/{sid}"),
                &json!({"janus": "attach", "transaction": "a", "plugin": format!("janus.plugin.{plugin}")}),
            )
            .await;
        let hid = r["data"]["id"].as_u64().expect("a handle");
        let body = json!({"request": "exists", "room": 1234});
        let r = http
            .post(&format!("/{sid}/{hid}"), &json!({"janus": "message", "transaction": "e", "body": body}))
            .await;
        assert_eq!(r["plugindata"]["data"]["exists"], true, "{plugin}: {r}");
    }
}
