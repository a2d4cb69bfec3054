//! VideoRoom without media: rooms and participants, with the answers, events and error codes
//! Janus 1.1.2 gives (recorded from janus-ref: the texts below are Janus's).

use serde_json::{json, Value};

use crate::harness::PluginClient as Client;

use crate::harness::{Conf, Gateway};

const VIDEOROOM: &str = "janus.plugin.videoroom";

/// The demo room of Janus's sample configuration, and one with a pin.
const ROOMS: &str = "general: {}\n\
    room-1234: { description = \"Demo Room\" secret = \"adminpwd\" publishers = 6 bitrate = 128000 fir_freq = 10 record = false }\n\
    room-5555: { pin = \"pp\" }\n";

fn gateway() -> Gateway {
    let mut conf = Conf::default();
    conf.extra.push(("janus.plugin.videoroom.jcfg".to_owned(), ROOMS.to_owned()));
    Gateway::with(conf)
}

fn error(data: &Value, code: u64, text: &str) {
    assert_eq!(data["videoroom"], "event", "{data}");
    assert_eq!(data["error_code"], code, "{data}");
    assert_eq!(data["error"], text, "{data}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_managed_as_janus_does() {
    let gw = gateway();
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let list = c.request(json!({"request": "list"})).await;
    assert_eq!(list["videoroom"], "success");
    let demo =
        list["list"].as_array().unwrap().iter().find(|r| r["room"] == 1234).cloned().expect("room 1234");
    for (key, value) in [
        ("description", json!("Demo Room")),
        ("pin_required", json!(false)),
        ("is_private", json!(false)),
        ("max_publishers", json!(6)),
        ("bitrate", json!(128000)),
        ("fir_freq", json!(10)),
        ("audiocodec", json!("opus")),
        ("videocodec", json!("vp8")),
        ("num_participants", json!(0)),
    ] {
        assert_eq!(demo[key], value, "{key} in {demo}");
    }
    assert_eq!(
        c.request(json!({"request": "exists", "room": 1234})).await,
        json!({"videoroom": "success", "room": 1234, "exists": true})
    );
    assert_eq!(c.request(json!({"request": "exists", "room": 99999})).await["exists"], false);
    error(&c.request(json!({"request": "exists"})).await, 429, "Missing mandatory element (room)");
    // Janus compares requests without case; an unknown one is named as sent.
    assert_eq!(c.request(json!({"request": "Exists", "room": 1234})).await["exists"], true);
    error(&c.request(json!({"request": "FOO"})).await, 423, "Unknown request 'FOO'");

    let created = c.request(json!({"request": "create"})).await;
    assert_eq!(created["videoroom"], "created", "{created}");
    let auto = created["room"].as_u64().expect("a random room id");
    let body = json!({"request": "create", "room": 4321, "description": "x", "publishers": 3, "secret": "s", "pin": "p"});
    assert_eq!(
        c.request(body.clone()).await,
        json!({"videoroom": "created", "room": 4321, "permanent": false})
    );
    error(&c.request(body).await, 427, "Room 4321 already exists");
    error(
        &c.request(json!({"request": "create", "room": "abc"})).await,
        430,
        "Invalid element type (room should be a positive integer)",
    );
    error(
        &c.request(json!({"request": "create", "publishers": "x"})).await,
        430,
        "Invalid element type (publishers should be a positive integer)",
    );
    // Room 0 is no room: a random one is picked.
    let zero = c.request(json!({"request": "create", "room": 0})).await;
    assert!(zero["room"].as_u64().is_some_and(|r| r > 0), "{zero}");
    // Codecs must be known ones, tokens strings (Janus's 430s).
    error(
        &c.request(json!({"request": "create", "videocodec": "vp8,foo"})).await,
        430,
        "Invalid element (videocodec can only be or contain vp8, vp9, av1, h264 or h265)",
    );
    error(
        &c.request(json!({"request": "create", "audiocodec": "vp8"})).await,
        430,
        "Invalid element (audiocodec can only be or contain opus, isac32, isac16, pcmu, pcma or g722)",
    );
    error(
        &c.request(json!({"request": "create", "allowed": ["a", 1]})).await,
        430,
        "Invalid element in the allowed array (not a string)",
    );
    // Janus 1.1's `video_svc` holds only in a room whose one video codec is VP9.
    for (room, codec) in [(4331, "vp9"), (4332, "vp8")] {
        let body = json!({"request": "create", "room": room, "videocodec": codec, "video_svc": true});
        assert_eq!(c.request(body).await["videoroom"], "created");
    }
    error(
        &c.request(json!({"request": "create", "video_svc": "yes"})).await,
        430,
        "Invalid element type (video_svc should be a boolean)",
    );
    let list = c.request(json!({"request": "list"})).await;
    let svc = |room: u64| {
        list["list"].as_array().unwrap().iter().find(|r| r["room"] == room).unwrap()["video_svc"].clone()
    };
    assert_eq!((svc(4331), svc(4332)), (json!(true), Value::Null), "{list}");
    let auto_room = list["list"].as_array().unwrap().iter().find(|r| r["room"] == auto).cloned().unwrap();
    assert_eq!(auto_room["description"], format!("Room {auto}"));
    assert_eq!(auto_room["max_publishers"], 3);

    let edit = json!({"request": "edit", "room": 4321, "secret": "s", "new_description": "y"});
    assert_eq!(c.request(edit).await, json!({"videoroom": "edited", "room": 4321, "permanent": false}));
    // Empty new values change nothing: the room keeps its description, secret and pin; nor
    // do keys `edit` does not take.
    let edit = json!({"request": "edit", "room": 4321, "secret": "s", "new_description": "", "new_secret": "",
                      "new_pin": "", "new_audiocodec": "pcmu", "new_allowed": []});
    assert_eq!(c.request(edit).await["videoroom"], "edited");
    let listed = c.request(json!({"request": "list"})).await;
    let room = listed["list"].as_array().unwrap().iter().find(|r| r["room"] == 4321).cloned().unwrap();
    assert_eq!(
        (&room["description"], &room["pin_required"], &room["audiocodec"]),
        (&json!("y"), &json!(true), &json!("opus")),
        "{room}"
    );
    error(
        &c.request(json!({"request": "edit", "room": 4321, "secret": "no", "new_description": "z"})).await,
        433,
        "Unauthorized (wrong secret)",
    );
    error(
        &c.request(json!({"request": "edit", "room": 4321})).await,
        429,
        "Missing mandatory element (secret)",
    );
    error(&c.request(json!({"request": "edit", "room": 99999})).await, 426, "No such room (99999)");
    assert_eq!(
        c.request(json!({"request": "listparticipants", "room": 4321})).await,
        json!({"videoroom": "participants", "room": 4321, "participants": []})
    );
    let allowed =
        json!({"request": "allowed", "room": 4321, "secret": "s", "action": "add", "allowed": ["tok"]});
    assert_eq!(c.request(allowed).await, json!({"videoroom": "success", "room": 4321, "allowed": ["tok"]}));
    // The list outlives the check: disabled and enabled again, it is still there; `add`
    // without tokens changes nothing, and an emptied list is still listed.
    let action = |action: &str| json!({"request": "allowed", "room": 4321, "secret": "s", "action": action});
    assert_eq!(c.request(action("disable")).await, json!({"videoroom": "success", "room": 4321}));
    assert_eq!(c.request(action("enable")).await["allowed"], json!(["tok"]));
    assert_eq!(c.request(action("add")).await["allowed"], json!(["tok"]));
    let mut remove = action("Remove");
    remove["allowed"] = json!(["tok"]);
    assert_eq!(c.request(remove).await["allowed"], json!([]));
    let mut bad = action("add");
    bad["allowed"] = json!(["a", 1]);
    error(&c.request(bad).await, 430, "Invalid element in the allowed array (not a string)");
    error(
        &c.request(json!({"request": "allowed", "room": 4321, "secret": "s", "action": "zzz"})).await,
        430,
        "Unsupported action 'zzz' (allowed)",
    );
    error(
        &c.request(json!({"request": "destroy", "room": 4321, "secret": "no"})).await,
        433,
        "Unauthorized (wrong secret)",
    );
    error(
        &c.request(json!({"request": "destroy", "room": 4321, "secret": "s", "permanent": "x"})).await,
        430,
        "Invalid element type (permanent should be a boolean)",
    );
    assert_eq!(
        c.request(json!({"request": "destroy", "room": 4321, "secret": "s"})).await,
        json!({"videoroom": "destroyed", "room": 4321, "permanent": false})
    );
    error(
        &c.request(json!({"request": "destroy", "room": 4321, "secret": "s"})).await,
        426,
        "No such room (4321)",
    );
    error(&c.request(json!({"request": "foo"})).await, 423, "Unknown request 'foo'");
    // Recording a room, as janus-ref answers it.
    for record in [true, false] {
        let r = c
            .request(
                json!({"request": "enable_recording", "room": 1234, "secret": "adminpwd", "record": record}),
            )
            .await;
        assert_eq!(r, json!({"videoroom": "success", "record": record}));
    }
    error(
        &c.request(json!({"request": "enable_recording", "room": 1234, "record": false})).await,
        429,
        "Missing mandatory element (secret)",
    );
    // What waits for features the gateway does not have yet says so.
    error(
        &c.request(
            json!({"request": "add_remote_publisher", "room": 1234, "secret": "adminpwd", "streams": [{}]}),
        )
        .await,
        499,
        "Remote publishers are not supported yet",
    );
    // They check their fields, the room, its secret and the publisher first, as Janus's;
    // there are no remote copies or remote publishers to name.
    error(
        &c.request(json!({"request": "add_remote_publisher", "room": 1234})).await,
        429,
        "Missing mandatory element (streams)",
    );
    error(
        &c.request(json!({"request": "add_remote_publisher", "room": 1234, "streams": [{}]})).await,
        429,
        "Missing mandatory element (secret)",
    );
    let remotes = json!({"request": "listremotes", "room": 1234, "secret": "adminpwd", "publisher_id": 99});
    error(&c.request(remotes).await, 428, "No such publisher (99)");
    let publish = json!({"request": "publish_remotely", "room": 1234, "secret": "adminpwd",
                         "publisher_id": 99, "remote_id": "x", "host": "127.0.0.1", "port": 1});
    error(&c.request(publish).await, 428, "No such feed (99)");
    let stop = json!({"request": "stop_rtp_forward", "room": 1234, "secret": "adminpwd"});
    error(&c.request(stop).await, 429, "Missing mandatory element (publisher_id)");
    let remove = json!({"request": "remove_remote_publisher", "room": 1234, "secret": "adminpwd", "id": 5});
    error(&c.request(remove).await, 428, "No such remote publisher (5)");
    // Over the Admin API (`message_plugin`), the synchronous requests, as Janus takes them.
    let admin = gw.admin_http();
    let plugin = |request: Value| {
        json!({"janus": "message_plugin", "transaction": "m", "admin_secret": "janusoverlord",
               "plugin": VIDEOROOM, "request": request})
    };
    let r = admin.post("", &plugin(json!({"request": "create", "room": 7777}))).await;
    assert_eq!(r["response"], json!({"videoroom": "created", "room": 7777, "permanent": false}), "{r}");
    assert_eq!(c.request(json!({"request": "exists", "room": 7777})).await["exists"], true);
    let r = admin.post("", &plugin(json!({"request": "list"}))).await;
    assert!(r["response"]["list"].as_array().is_some_and(|l| l.iter().any(|r| r["room"] == 7777)), "{r}");
    let r = admin.post("", &plugin(json!({"request": "join", "room": 7777}))).await;
    error(&r["response"], 423, "Unknown request 'join'");
    let r = admin.post("", &plugin(json!({"request": "destroy", "room": 7777}))).await;
    assert_eq!(r["response"]["videoroom"], "destroyed", "{r}");
    let r = admin.post("", &json!({"janus": "message_plugin", "transaction": "m", "admin_secret": "janusoverlord", "plugin": VIDEOROOM})).await;
    error(&r["response"], 429, "Missing mandatory element (request)");
    error(&c.request(json!({})).await, 429, "Missing mandatory element (request)");
    error(&c.request(json!({"request": 5})).await, 430, "Invalid element type (request should be a string)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_join_leave_and_are_kicked_as_janus_does() {
    let gw = gateway();
    let mut alice = Client::new(&gw, VIDEOROOM).await;
    let joined = alice
        .send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": "alice"}), None)
        .await;
    let data = &joined["plugindata"]["data"];
    assert_eq!(data["videoroom"], "joined", "{joined}");
    assert_eq!(
        (&data["room"], &data["description"], &data["publishers"]),
        (&json!(1234), &json!("Demo Room"), &json!([]))
    );
    let alice_id = data["id"].as_u64().expect("id");
    assert!(data["private_id"].as_u64().is_some_and(|p| p > 0 && p <= u64::from(u32::MAX)), "{data}");
    assert!(data.get("attendees").is_none(), "no attendees without notify_joining: {data}");

    let again = alice.send(json!({"request": "join", "ptype": "publisher", "room": 1234}), None).await;
    error(&again["plugindata"]["data"], 425, "Already in as a publisher on this handle");
    let mut other = Client::new(&gw, VIDEOROOM).await;
    for (body, code, text) in [
        (json!({"request": "start"}), 424, "Invalid request on unconfigured participant".to_owned()),
        (
            json!({"request": "join", "ptype": "publisher", "room": 99999}),
            426,
            "No such room (99999)".to_owned(),
        ),
        (json!({"request": "join", "ptype": "xyz", "room": 1234}), 430, "Invalid element (ptype)".to_owned()),
        (json!({"request": "join", "room": 1234}), 429, "Missing mandatory element (ptype)".to_owned()),
        (
            json!({"request": "join", "ptype": "publisher", "room": 5555}),
            429,
            "Missing mandatory element (pin)".to_owned(),
        ),
        (
            json!({"request": "join", "ptype": "publisher", "room": 5555, "pin": "no"}),
            433,
            "Unauthorized (wrong pin)".to_owned(),
        ),
        (
            json!({"request": "join", "ptype": "publisher", "room": 1234, "id": alice_id}),
            436,
            format!("User ID {alice_id} already exists"),
        ),
        (
            json!({"request": "join", "ptype": "subscriber", "room": 1234, "streams": [{"feed": alice_id}]}),
            428,
            format!("No such feed ({alice_id})"),
        ),
        (
            json!({"request": "join", "ptype": "subscriber", "room": 1234, "feed": 424242}),
            428,
            "No such feed (424242)".to_owned(),
        ),
        (
            json!({"request": "join", "ptype": "subscriber", "room": 1234}),
            429,
            "Missing mandatory element (feed)".to_owned(),
        ),
        (
            json!({"request": "join", "ptype": "subscriber", "room": 1234, "streams": []}),
            429,
            "Missing mandatory element (feed)".to_owned(),
        ),
        // Janus 0.x's name for a subscriber is not taken.
        (
            json!({"request": "join", "ptype": "listener", "room": 1234, "feed": alice_id}),
            430,
            "Invalid element (ptype)".to_owned(),
        ),
    ] {
        let r = other.send(body.clone(), None).await;
        error(&r["plugindata"]["data"], code, &text);
    }

    let mut bob = Client::new(&gw, VIDEOROOM).await;
    let joined = bob
        .send(json!({"request": "join", "ptype": "publisher", "room": 1234, "display": "bob"}), None)
        .await;
    let bob_id = joined["plugindata"]["data"]["id"].as_u64().expect("bob's id");
    // A local publisher is sent to no other gateway: it has no remote copies.
    let remotes =
        json!({"request": "listremotes", "room": 1234, "secret": "adminpwd", "publisher_id": bob_id});
    assert_eq!(
        alice.request(remotes).await,
        json!({"videoroom": "success", "room": 1234, "id": bob_id, "list": []})
    );
    let unpublish = json!({"request": "unpublish_remotely", "room": 1234, "secret": "adminpwd",
                           "publisher_id": bob_id, "remote_id": "r1"});
    error(&alice.request(unpublish).await, 428, "No such remotization (r1)");
    let mut participants =
        alice.request(json!({"request": "listparticipants", "room": 1234})).await["participants"].clone();
    participants.as_array_mut().unwrap().sort_by_key(|p| p["display"].as_str().map(str::to_owned));
    assert_eq!(
        participants,
        json!([{"id": alice_id, "display": "alice", "publisher": false}, {"id": bob_id, "display": "bob", "publisher": false}])
    );

    let configured = alice.send(json!({"request": "configure", "display": "alice2"}), None).await;
    assert_eq!(
        configured["plugindata"]["data"],
        json!({"videoroom": "event", "room": 1234, "configured": "ok"})
    );
    let renamed = bob.event("alice's new display", |d| d.get("display").is_some()).await;
    assert_eq!(renamed, json!({"videoroom": "event", "id": alice_id, "display": "alice2"}));
    let r = alice.send(json!({"request": "unpublish"}), None).await;
    error(&r["plugindata"]["data"], 435, "Can't unpublish, not published");
    let r = alice.send(json!({"request": "publish"}), None).await;
    assert_eq!(
        r["plugindata"]["data"],
        json!({"videoroom": "event", "room": 1234, "configured": "ok"}),
        "no offer, no error"
    );

    let kicked =
        alice.request(json!({"request": "kick", "room": 1234, "secret": "adminpwd", "id": bob_id})).await;
    assert_eq!(kicked, json!({"videoroom": "success"}));
    let told = bob.event("bob kicked", |d| d.get("reason").is_some()).await;
    assert_eq!(told, json!({"videoroom": "event", "room": 1234, "leaving": "ok", "reason": "kicked"}));
    let heard = alice.event("bob's kick", |d| d.get("kicked").is_some()).await;
    assert_eq!(heard, json!({"videoroom": "event", "room": 1234, "kicked": bob_id}));
    let again =
        alice.request(json!({"request": "kick", "room": 1234, "secret": "adminpwd", "id": bob_id})).await;
    error(&again, 428, &format!("No such user {bob_id} in room 1234"));
    let r = bob.send(json!({"request": "configure", "display": "x"}), None).await;
    error(&r["plugindata"]["data"], 426, "No such room");

    // A third joins; alice leaves: the room hears it before alice's own answer.
    let mut carol = Client::new(&gw, VIDEOROOM).await;
    carol.send(json!({"request": "join", "ptype": "publisher", "room": 1234}), None).await;
    // A codec the room does not have is refused before any negotiation.
    let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n\
        a=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n\
        a=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n";
    for (body, text) in [
        (json!({"request": "publish", "audiocodec": "foo"}), "Audio codec unavailable in this room"),
        (json!({"request": "publish", "videocodec": "h264"}), "Video codec unavailable in this room"),
    ] {
        let r = carol.send(body, Some(json!({"type": "offer", "sdp": offer}))).await;
        error(&r["plugindata"]["data"], 430, text);
    }
    let left = alice.send(json!({"request": "leave"}), None).await;
    assert_eq!(left["plugindata"]["data"], json!({"videoroom": "event", "room": 1234, "leaving": "ok"}));
    let heard = carol.event("alice leaving", |d| d.get("leaving").is_some()).await;
    assert_eq!(heard, json!({"videoroom": "event", "room": 1234, "leaving": alice_id}));
    let list = carol.request(json!({"request": "listparticipants", "room": 1234})).await;
    assert_eq!(list["participants"].as_array().map(Vec::len), Some(1), "{list}");
    // A handle that left does not join again (Janus: create a new handle); nor does one kicked.
    for client in [&mut alice, &mut bob] {
        let r = client.send(json!({"request": "join", "ptype": "publisher", "room": 1234}), None).await;
        error(&r["plugindata"]["data"], 425, "Not in a room (create a new handle)");
    }
    let r = alice.send(json!({"request": "leave"}), None).await;
    error(&r["plugindata"]["data"], 426, "No such room");
}

/// Destroying a room tells everyone in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroying_a_room_tells_its_participants() {
    let gw = gateway();
    let mut admin = Client::new(&gw, VIDEOROOM).await;
    admin.request(json!({"request": "create", "room": 7000, "notify_joining": true})).await;
    let mut a = Client::new(&gw, VIDEOROOM).await;
    let joined =
        a.send(json!({"request": "join", "ptype": "publisher", "room": 7000, "display": "A"}), None).await;
    assert_eq!(joined["plugindata"]["data"]["attendees"], json!([]), "{joined}");
    let a_id = joined["plugindata"]["data"]["id"].clone();
    let mut b = Client::new(&gw, VIDEOROOM).await;
    let joined = b.send(json!({"request": "join", "ptype": "publisher", "room": 7000}), None).await;
    assert_eq!(joined["plugindata"]["data"]["attendees"], json!([{"id": a_id, "display": "A"}]), "{joined}");
    let b_id = joined["plugindata"]["data"]["id"].clone();
    let joining = a.event("B joining", |d| d.get("joining").is_some()).await;
    assert_eq!(joining, json!({"videoroom": "event", "room": 7000, "joining": {"id": b_id}}));
    let destroyed = admin.request(json!({"request": "destroy", "room": 7000})).await;
    assert_eq!(destroyed, json!({"videoroom": "destroyed", "room": 7000, "permanent": false}));
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.event("destroyed", |d| d["videoroom"] == "destroyed").await,
            json!({"videoroom": "destroyed", "room": 7000})
        );
    }
}

/// `permanent: true` writes rooms back to the config file, as Janus does: a room created,
/// edited or destroyed so is there (or gone) after a restart; the file's other rooms stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_room_survives_a_restart() {
    let gw = gateway();
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let create = json!({"request": "create", "room": 4444, "description": "kept", "secret": "s", "publishers": 9,
                        "videocodec": "vp8,h264", "dummy_publisher": true,
                        "dummy_streams": [{"codec": "opus"}, {"codec": "h264", "fmtp": "profile-level-id=42e01f"}],
                        "permanent": true});
    assert_eq!(c.request(create).await, json!({"videoroom": "created", "room": 4444, "permanent": true}));
    let edit = json!({"request": "edit", "room": 4444, "secret": "s", "new_description": "kept and edited",
                      "permanent": true});
    assert_eq!(c.request(edit).await, json!({"videoroom": "edited", "room": 4444, "permanent": true}));
    c.request(json!({"request": "create", "room": 4445})).await;
    let destroy = json!({"request": "destroy", "room": 1234, "secret": "adminpwd", "permanent": true});
    assert_eq!(c.request(destroy).await, json!({"videoroom": "destroyed", "room": 1234, "permanent": true}));
    drop(c);

    let dir = gw.stop_keeping_folder();
    let text = std::fs::read_to_string(dir.join("janus.plugin.videoroom.jcfg")).expect("the config file");
    assert!(
        text.contains("room-4444") && !text.contains("room-1234") && !text.contains("room-4445"),
        "{text}"
    );
    let gw = Gateway::in_folder(dir);
    let mut c = Client::new(&gw, VIDEOROOM).await;
    for (room, exists) in [(4444, true), (5555, true), (1234, false), (4445, false)] {
        let r = c.request(json!({"request": "exists", "room": room})).await;
        assert_eq!(r["exists"], exists, "room {room}: {r}");
    }
    let list = c.request(json!({"request": "list"})).await;
    let kept = list["list"].as_array().unwrap().iter().find(|r| r["room"] == 4444).cloned().unwrap();
    assert_eq!(
        (&kept["description"], &kept["max_publishers"]),
        (&json!("kept and edited"), &json!(9)),
        "{kept}"
    );
    let r = c.request(json!({"request": "edit", "room": 4444, "secret": "wrong"})).await;
    error(&r, 433, "Unauthorized (wrong secret)");
    // Its dummy publisher came back with the streams `dummy_streams` names (Janus's fields).
    assert_eq!(kept["dummy_publisher"], true, "{kept}");
    let joined = c.send(json!({"request": "join", "ptype": "publisher", "room": 4444}), None).await;
    let mut dummy = joined["plugindata"]["data"]["publishers"][0].clone();
    assert!(dummy["id"].is_u64(), "{joined}");
    dummy.as_object_mut().unwrap().remove("id");
    assert_eq!(
        dummy,
        json!({"display": "Dummy publisher", "dummy": true, "audio_codec": "opus", "video_codec": "h264",
               "streams": [{"type": "audio", "mindex": 0, "mid": "0", "codec": "opus"},
                           {"type": "video", "mindex": 1, "mid": "1", "codec": "h264", "h264_profile": "42e01f"}]})
    );
}

/// With `string_ids`, rooms and participants have string ids, as in Janus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_ids_name_rooms_and_participants() {
    let mut conf = Conf::default();
    conf.extra.push((
        "janus.plugin.videoroom.jcfg".to_owned(),
        "general: { string_ids = true }\nroom-lobby: { description = \"Lobby\" }\n".to_owned(),
    ));
    let gw = Gateway::with(conf);
    let mut c = Client::new(&gw, VIDEOROOM).await;
    assert_eq!(c.request(json!({"request": "exists", "room": "lobby"})).await["exists"], true);
    error(
        &c.request(json!({"request": "exists", "room": 1234})).await,
        430,
        "Invalid element type (room should be a non-empty string)",
    );
    let created = c.request(json!({"request": "create"})).await;
    assert!(created["room"].is_string(), "a random string id: {created}");
    let joined =
        c.send(json!({"request": "join", "ptype": "publisher", "room": "lobby", "id": "alice"}), None).await;
    assert_eq!(joined["plugindata"]["data"]["id"], "alice", "{joined}");
    let list = c.request(json!({"request": "listparticipants", "room": "lobby"})).await;
    assert_eq!(
        list,
        json!({"videoroom": "participants", "room": "lobby", "participants": [{"id": "alice", "publisher": false}]})
    );
}

/// `signed_tokens` on a gateway without signed tokens: the room is made, and the flag is
/// dropped with a warning, as Janus does ("signed-mode not in use"): anyone may join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_tokens_need_the_gateways_signed_mode() {
    let gw = gateway();
    let mut c = Client::new(&gw, VIDEOROOM).await;
    let created = c.request(json!({"request": "create", "room": 905, "signed_tokens": true})).await;
    assert_eq!(created["videoroom"], "created", "{created}");
    let joined = c.send(json!({"request": "join", "ptype": "publisher", "room": 905}), None).await;
    assert_eq!(joined["plugindata"]["data"]["videoroom"], "joined", "{joined}");
    tokio::task::block_in_place(|| gw.wait_log("can't enforce signed tokens, signed-mode not in use"));
}
