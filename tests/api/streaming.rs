//! Streaming without media: mountpoints managed with the answers and error codes Janus 1.1.2
//! gives (recorded from janus-ref), mountpoints from the config file (both of its forms), and
//! permanent ones.

use serde_json::{json, Value};

use crate::harness::{Conf, Gateway, PluginClient as Client};

const STREAMING: &str = "janus.plugin.streaming";

/// A mountpoint in Janus's `media` list form, one in its older form (both on free ports), and an
/// rtsp one this gateway cannot run yet (kept in the file when others are saved).
/// The sandbox lets the plugin bind the fixed ports a permanent mountpoint is saved with.
const CONFIG: &str = "general: {}\n\
    sandbox: { udp_bind = \"*:*\" }\n\
    rtp-sample: { type = \"rtp\" id = 1 description = \"Opus/VP8 live stream\" secret = \"adminpwd\"\n\
        audio = true audioport = 0 audiopt = 111 audiortpmap = \"opus/48000/2\"\n\
        video = true videoport = 0 videopt = 100 videortpmap = \"VP8/90000\" }\n\
    rtsp-test: { type = \"rtsp\" id = 99 url = \"rtsp://127.0.0.1/x\" }\n\
    multistream-test: { type = \"rtp\" id = 123 description = \"Multistream test\" metadata = \"m\"\n\
        media = ( { type = \"audio\" mid = \"a\" label = \"Audio stream\" port = 0 pt = 111 codec = \"opus\" },\n\
                  { type = \"video\" mid = \"v1\" port = 0 pt = 100 codec = \"vp8\" } ) }\n";

fn gateway() -> Gateway {
    let mut conf = Conf::default();
    conf.extra.push(("janus.plugin.streaming.jcfg".to_owned(), CONFIG.to_owned()));
    Gateway::with(conf)
}

fn error(data: &Value, code: u64, text: &str) {
    assert_eq!(
        (&data["streaming"], &data["error_code"], &data["error"]),
        (&json!("event"), &json!(code), &json!(text)),
        "{data}"
    );
}

const MED: &str = r#"[{"type":"audio","mid":"a","port":0,"pt":111,"codec":"opus"},{"type":"video","mid":"v","port":0,"pt":96,"codec":"vp8"}]"#;

fn med() -> Value {
    serde_json::from_str(MED).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mountpoints_are_managed_as_janus_does() {
    let gw = gateway();
    let mut c = Client::new(&gw, STREAMING).await;
    // The config's two forms.
    let list = c.request(json!({"request": "list"})).await;
    let mut multi = list["list"].as_array().unwrap().iter().find(|m| m["id"] == 123).cloned();
    // Each stream's age, before any packet, counts from the mountpoint's making (as Janus's).
    for m in multi.iter_mut().flat_map(|m| m["media"].as_array_mut()).flatten() {
        let age = m.as_object_mut().and_then(|m| m.remove("age_ms"));
        assert!(age.as_ref().and_then(Value::as_u64).is_some(), "no age: {list}");
    }
    assert_eq!(
        multi,
        Some(
            json!({"id": 123, "type": "live", "description": "Multistream test", "metadata": "m", "enabled": true,
                    "media": [{"mid": "a", "type": "audio", "label": "Audio stream"}, {"mid": "v1", "type": "video", "label": "video"}]})
        ),
        "{list}"
    );
    let info = c.request(json!({"request": "info", "id": 1})).await;
    let media = &info["info"]["media"];
    assert_eq!(
        (&media[0]["mid"], &media[0]["rtpmap"], &media[1]["codec"]),
        (&json!("a"), &json!("opus/48000/2"), &json!("vp8"))
    );
    assert!(
        info["info"].get("viewers").is_none() && media[0].get("port").is_none(),
        "no secret, no ports: {info}"
    );
    let admin = c.request(json!({"request": "info", "id": 1, "secret": "adminpwd"})).await;
    assert_eq!(
        (&admin["info"]["name"], &admin["info"]["viewers"]),
        (&json!("rtp-sample"), &json!(0)),
        "{admin}"
    );
    assert!(admin["info"]["media"][0]["port"].as_u64().is_some_and(|p| p > 0), "{admin}");
    error(&c.request(json!({"request": "info", "id": 999})).await, 455, "No such mountpoint/stream 999");
    error(&c.request(json!({"request": "info"})).await, 453, "Missing mandatory element (id)");
    error(
        &c.request(json!({"request": "info", "id": "1"})).await,
        454,
        "Invalid element type (id should be a positive integer)",
    );

    // create, with Janus's answer and defaults.
    let created = c.request(json!({"request": "create", "type": "rtp", "id": 500, "media": med()})).await;
    assert_eq!(
        (&created["streaming"], &created["created"], &created["permanent"]),
        (&json!("created"), &json!("mp-500"), &json!(false)),
        "{created}"
    );
    let stream = &created["stream"];
    assert_eq!(
        (&stream["id"], &stream["type"], &stream["description"], &stream["is_private"]),
        (&json!(500), &json!("live"), &json!("mp-500"), &json!(false))
    );
    assert!(
        stream["ports"][1]["port"].as_u64().is_some_and(|p| p > 0) && stream["ports"][1]["mid"] == "v",
        "{created}"
    );
    let legacy = json!({"request": "create", "type": "rtp", "id": 521, "audio": true, "audioport": 0, "audiopt": 111, "audiocodec": "opus"});
    let old = c.request(legacy).await;
    assert_eq!(old["warning"], "deprecated_api", "{old}");
    assert!(old["stream"]["audio_port"].as_u64().is_some(), "{old}");
    let again = c.request(json!({"request": "create", "type": "rtp", "id": 500, "media": med()})).await;
    error(&again, 456, "A stream with the provided ID already exists");
    error(
        &c.request(json!({"request": "create", "media": med()})).await,
        453,
        "Missing mandatory element (type)",
    );
    error(
        &c.request(json!({"request": "create", "type": "foo", "id": 503})).await,
        454,
        "Unknown stream type 'foo'...\n",
    );
    error(
        &c.request(json!({"request": "create", "type": 5})).await,
        454,
        "Invalid element type (type should be a string)",
    );
    let none = c.request(json!({"request": "create", "type": "rtp", "id": 504})).await;
    error(&none, 456, "Can't add 'rtp' stream, no audio or video have to be streamed...");
    // An RTSP source's streams are checked before its url, as in Janus.
    let rtsp = c.request(json!({"request": "create", "type": "rtsp", "id": 505})).await;
    error(&rtsp, 456, "Can't add 'rtsp' stream, no audio or video have to be streamed...");
    error(
        &c.request(json!({"request": "create", "type": "rtp", "media": {}})).await,
        454,
        "Invalid element type (media should be an array)",
    );
    let entry = |m: Value| json!({"request": "create", "type": "rtp", "media": [m]});
    error(
        &c.request(entry(json!({"type": "audio", "mid": "a", "pt": 111, "codec": "opus"}))).await,
        453,
        "Missing mandatory element (port)",
    );
    error(
        &c.request(entry(json!({"type": "audio", "port": 0, "pt": 111, "codec": "opus"}))).await,
        453,
        "Missing mandatory element (mid)",
    );
    error(
        &c.request(entry(json!({"mid": "a", "port": 0, "pt": 111, "codec": "opus"}))).await,
        453,
        "Missing mandatory element (type)",
    );
    error(
        &c.request(entry(json!({"type": "foo", "mid": "a", "port": 0, "pt": 111, "codec": "opus"}))).await,
        456,
        "Unsupported media type in media stream",
    );
    let port = c
        .request(entry(json!({"type": "audio", "mid": "a", "port": "5000", "pt": 111, "codec": "opus"})))
        .await;
    error(&port, 454, "Invalid element type (port should be a positive integer)");
    // SRTP suites, and the older form's payload types, as Janus checks them.
    let srtp = |suite: Value| json!({"request": "create", "type": "rtp", "media": med(), "srtpsuite": suite, "srtpcrypto": "abc"});
    error(&c.request(srtp(json!(40))).await, 456, "Can't add 'rtp' stream, invalid SRTP suite...");
    error(
        &c.request(srtp(json!("32"))).await,
        454,
        "Invalid element type (srtpsuite should be a positive integer)",
    );
    let older = json!({"request": "create", "type": "rtp", "audio": true, "audioport": 0});
    error(&c.request(older).await, 453, "Missing mandatory element (audiopt)");
    let older =
        json!({"request": "create", "type": "rtp", "video": true, "videoport": 0, "videocodec": "vp8"});
    error(&c.request(older).await, 453, "Missing mandatory element (videopt)");
    let rtsp = c.request(json!({"request": "create", "type": "rtsp", "url": "rtsp://127.0.0.1/x"})).await;
    assert_eq!(rtsp["error_code"], 456, "{rtsp}");

    // edit, enable/disable, kick_all, destroy.
    let edit = json!({"request": "edit", "id": 1, "secret": "adminpwd", "new_description": "edited"});
    assert_eq!(c.request(edit).await, json!({"streaming": "edited", "id": 1, "permanent": false}));
    error(
        &c.request(json!({"request": "edit", "id": 1, "secret": "no"})).await,
        457,
        "Unauthorized (wrong secret)",
    );
    error(&c.request(json!({"request": "edit", "id": 1})).await, 453, "Missing mandatory element (secret)");
    assert_eq!(c.request(json!({"request": "disable", "id": 500})).await, json!({"streaming": "ok"}));
    let listed = c.request(json!({"request": "list"})).await;
    let disabled = listed["list"].as_array().unwrap().iter().find(|m| m["id"] == 500).cloned().unwrap();
    assert_eq!(disabled["enabled"], false, "{disabled}");
    assert_eq!(c.request(json!({"request": "enable", "id": 500})).await, json!({"streaming": "ok"}));
    // The mountpoint first, then `stop_recording`'s type, as Janus checks them.
    error(
        &c.request(json!({"request": "disable", "id": 501, "stop_recording": "x"})).await,
        455,
        "No such mountpoint/stream 501",
    );
    error(
        &c.request(json!({"request": "disable", "id": 500, "stop_recording": "x"})).await,
        454,
        "Invalid element type (stop_recording should be a boolean)",
    );
    assert_eq!(
        c.request(json!({"request": "kick_all", "id": 500})).await,
        json!({"streaming": "kicked_all"})
    );
    assert_eq!(
        c.request(json!({"request": "destroy", "id": 500})).await,
        json!({"streaming": "destroyed", "destroyed": 500})
    );
    error(&c.request(json!({"request": "destroy", "id": 500})).await, 455, "No such mountpoint/stream 500");
    // `edit` has words of its own in Janus.
    error(&c.request(json!({"request": "edit", "id": 500})).await, 455, "No such mountpoint (500)");
    error(
        &c.request(json!({"request": "recording", "id": 99999, "action": "start"})).await,
        455,
        "No such mountpoint/stream 99999",
    );
    error(&c.request(json!({"request": "foo"})).await, 452, "Unknown request 'foo'");
    error(&c.request(json!({})).await, 453, "Missing mandatory element (request)");

    // Viewer requests before watching, and watch errors.
    let r = c.send(json!({"request": "start"}), None).await;
    error(&r["plugindata"]["data"], 455, "Can't start: no mountpoint set");
    let r = c.send(json!({"request": "configure"}), None).await;
    error(&r["plugindata"]["data"], 455, "Can't configure: not on a mountpoint");
    let r = c.send(json!({"request": "watch", "id": 9999}), None).await;
    error(&r["plugindata"]["data"], 455, "No such mountpoint/stream 9999");
    c.request(json!({"request": "create", "type": "rtp", "id": 603, "pin": "1234", "media": med()})).await;
    let r = c.send(json!({"request": "watch", "id": 603}), None).await;
    error(&r["plugindata"]["data"], 453, "Missing mandatory element (pin)");
    let r = c.send(json!({"request": "watch", "id": 603, "pin": "no"}), None).await;
    error(&r["plugindata"]["data"], 457, "Unauthorized (wrong pin)");
    let r = c.send(json!({"request": "watch", "id": 603, "media": [1]}), None).await;
    error(&r["plugindata"]["data"], 454, "The media array must only contain strings (mid values)");
    let r = c.send(json!({"request": "watch", "id": 603, "pin": "1234", "media": ["v"]}), None).await;
    assert_eq!(
        r["plugindata"]["data"],
        json!({"streaming": "event", "result": {"status": "preparing"}}),
        "{r}"
    );
    let offer = r["jsep"]["sdp"].as_str().unwrap_or_default();
    assert!(offer.contains("m=video") && !offer.contains("m=audio"), "only the video: {offer}");
    let r = c.send(json!({"request": "watch", "id": 1}), None).await;
    error(&r["plugindata"]["data"], 460, "Already watching mountpoint 603");
    // The older flags leave out a kind.
    let mut d = Client::new(&gw, STREAMING).await;
    let r = d.send(json!({"request": "watch", "id": 603, "pin": "1234", "offer_video": false}), None).await;
    let offer = r["jsep"]["sdp"].as_str().unwrap_or_default();
    assert!(offer.contains("m=audio") && !offer.contains("m=video"), "offer_video false: {offer}");
    error(&d.request(json!({"request": "FOO"})).await, 452, "Unknown request 'FOO'");

    // Over the Admin API (`message_plugin`), the requests answered at once, as Janus takes them.
    let admin = gw.admin_http();
    let plugin = |request: Value| {
        json!({"janus": "message_plugin", "transaction": "m", "admin_secret": "janusoverlord",
               "plugin": STREAMING, "request": request})
    };
    let legacy = json!({"request": "create", "type": "rtp", "id": 7777, "audio": true, "audioport": 0, "audiopt": 111, "audiocodec": "opus"});
    let r = admin.post("", &plugin(legacy)).await;
    assert_eq!(r["response"]["streaming"], "created", "{r}");
    assert_eq!(r["response"]["stream"]["id"], 7777, "{r}");
    let r = admin.post("", &plugin(json!({"request": "info", "id": 7777}))).await;
    assert_eq!(r["response"]["info"]["id"], 7777, "{r}");
    let r = admin.post("", &plugin(json!({"request": "watch", "id": 7777}))).await;
    error(&r["response"], 452, "Unknown request 'watch'");
    let r = admin.post("", &plugin(json!({"request": "destroy", "id": 7777}))).await;
    assert_eq!(r["response"], json!({"streaming": "destroyed", "destroyed": 7777}), "{r}");
    let r = admin.post("", &plugin(json!({"request": "destroy", "id": 7777}))).await;
    error(&r["response"], 455, "No such mountpoint/stream 7777");
}

/// `permanent` mountpoints go to `janus.plugin.streaming.jcfg` and come back after a restart,
/// on the same ports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_mountpoint_survives_a_restart() {
    let gw = gateway();
    let mut c = Client::new(&gw, STREAMING).await;
    let create = json!({"request": "create", "type": "rtp", "id": 700, "name": "kept", "secret": "s", "permanent": true,
                        "media": med()});
    let created = c.request(create).await;
    assert_eq!(created["permanent"], true, "{created}");
    let port = created["stream"]["ports"][0]["port"].clone();
    let edit = json!({"request": "edit", "id": 700, "secret": "s", "new_description": "kept and edited", "permanent": true});
    assert_eq!(c.request(edit).await["permanent"], true);
    c.request(json!({"request": "create", "type": "rtp", "id": 701, "media": med()})).await;
    // A name names a section of the file: it is unique.
    let twice = json!({"request": "create", "type": "rtp", "name": "multistream-test", "media": med()});
    assert_eq!(c.request(twice).await["error_code"], 456);
    let destroy = json!({"request": "destroy", "id": 1, "secret": "adminpwd", "permanent": true});
    assert_eq!(c.request(destroy).await, json!({"streaming": "destroyed", "destroyed": 1}));
    drop(c);

    let dir = gw.stop_keeping_folder();
    let text = std::fs::read_to_string(dir.join("janus.plugin.streaming.jcfg")).expect("the config file");
    assert!(
        text.contains("kept: {")
            && !text.contains("rtp-sample")
            && text.contains("multistream-test")
            && text.contains("rtsp-test"),
        "{text}"
    );
    let gw = Gateway::in_folder(dir);
    let mut c = Client::new(&gw, STREAMING).await;
    let info = c.request(json!({"request": "info", "id": 700, "secret": "s"})).await;
    assert_eq!(
        (&info["info"]["description"], &info["info"]["media"][0]["port"]),
        (&json!("kept and edited"), &port),
        "{info}"
    );
    for (id, exists) in [(123, true), (1, false), (701, false)] {
        let r = c.request(json!({"request": "info", "id": id})).await;
        assert_eq!(r["streaming"] == "info", exists, "mountpoint {id}: {r}");
    }
}
