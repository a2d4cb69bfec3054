//! AudioBridge's API without media, answer by answer as Janus 1.1.2 gives them (recorded from
//! janus-ref): rooms, participants joining and leaving, moderation, and the errors a client can
//! provoke.

use serde_json::json;

use crate::harness::{Gateway, PluginClient as Client};

const AUDIOBRIDGE: &str = "janus.plugin.audiobridge";

fn error(code: u64, text: &str) -> serde_json::Value {
    json!({"audiobridge": "event", "error_code": code, "error": text})
}

#[tokio::test]
async fn rooms_are_created_listed_and_destroyed_as_janus_does() {
    let gw = Gateway::start();
    let mut c = Client::new(&gw, AUDIOBRIDGE).await;
    let r = c.request(json!({"request": "create", "room": 5000, "description": "Five", "secret": "s"})).await;
    assert_eq!(r, json!({"audiobridge": "created", "room": 5000, "permanent": false}));
    assert_eq!(
        c.request(json!({"request": "create", "room": 5000})).await,
        error(486, "Room 5000 already exists")
    );
    assert_eq!(
        c.request(json!({"request": "create", "sampling_rate": 12345})).await,
        error(499, "Unsupported sampling rate 12345")
    );
    assert_eq!(
        c.request(json!({"request": "create", "room": "5005"})).await,
        error(484, "Invalid element type (room should be a positive integer)")
    );
    assert_eq!(
        c.request(json!({"request": "create", "default_prebuffering": -1})).await,
        error(484, "Invalid element type (default_prebuffering should be a positive integer)")
    );
    // `allowed`: the list outlives its check, as in Janus (`add` with the check off, then
    // `enable`, `disable` and `enable` again keep it).
    let allowed = |action: &str, tokens: serde_json::Value| json!({"request": "allowed", "room": 5000, "secret": "s", "action": action, "allowed": tokens});
    let listed = json!({"audiobridge": "success", "room": 5000, "allowed": ["t"]});
    assert_eq!(c.request(allowed("add", json!(["t"]))).await, listed);
    assert_eq!(c.request(allowed("Enable", json!([]))).await, listed);
    let join = c.send(json!({"request": "join", "room": 5000}), None).await;
    assert_eq!(join["plugindata"]["data"], error(489, "Unauthorized (not in the allowed list)"));
    assert_eq!(
        c.request(allowed("disable", json!([]))).await,
        json!({"audiobridge": "success", "room": 5000})
    );
    assert_eq!(c.request(allowed("enable", json!([]))).await, listed);
    assert_eq!(
        c.request(allowed("remove", json!(["t", 1]))).await,
        error(484, "Invalid element in the allowed array (not a string)")
    );
    assert_eq!(
        c.request(allowed("open", json!([]))).await,
        error(484, "Unsupported action 'open' (allowed)")
    );
    let picked = c.request(json!({"request": "create", "room": 0, "is_private": true})).await;
    let private = picked["room"].as_u64().filter(|id| *id > 0).unwrap_or_else(|| panic!("{picked}"));

    let listed = c.request(json!({"request": "list"})).await;
    assert_eq!(listed["audiobridge"], "success");
    let rooms = listed["list"].as_array().unwrap_or_else(|| panic!("Janus 1.1 says list: {listed}"));
    let five = rooms.iter().find(|r| r["room"] == 5000).unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(
        five,
        &json!({"room": 5000, "description": "Five", "sampling_rate": 16000, "spatial_audio": false,
                "pin_required": false, "record": false, "muted": false, "num_participants": 0})
    );
    assert!(rooms.iter().all(|r| r["room"] != private), "a private room is not listed: {listed}");
    let exists = c.request(json!({"request": "exists", "room": private})).await;
    assert_eq!(exists, json!({"audiobridge": "success", "room": private, "exists": true}));

    assert_eq!(
        c.request(json!({"request": "destroy", "room": 5000})).await,
        error(483, "Missing mandatory element (secret)")
    );
    assert_eq!(
        c.request(json!({"request": "destroy", "room": 5000, "secret": "x"})).await,
        error(489, "Unauthorized (wrong secret)")
    );
    let r = c.request(json!({"request": "destroy", "room": 5000, "secret": "s"})).await;
    assert_eq!(r, json!({"audiobridge": "destroyed", "room": 5000, "permanent": false}));
    assert_eq!(
        c.request(json!({"request": "destroy", "room": 9999})).await,
        error(485, "No such room (9999)")
    );
    assert_eq!(c.request(json!({})).await, error(483, "Missing mandatory element (request)"));
    assert_eq!(c.request(json!({"request": "frobnicate"})).await, error(482, "Unknown request 'frobnicate'"));
    assert_eq!(c.request(json!({"request": "FrobNicate"})).await, error(482, "Unknown request 'FrobNicate'"));
    // Over the Admin API (`message_plugin`), the synchronous requests, as Janus takes them.
    let admin = gw.admin_http();
    let plugin = |request: serde_json::Value| {
        json!({"janus": "message_plugin", "transaction": "m", "admin_secret": "janusoverlord",
               "plugin": AUDIOBRIDGE, "request": request})
    };
    let r = admin.post("", &plugin(json!({"request": "create", "room": 5100}))).await;
    assert_eq!(r["response"], json!({"audiobridge": "created", "room": 5100, "permanent": false}), "{r}");
    assert_eq!(c.request(json!({"request": "exists", "room": 5100})).await["exists"], true);
    let r = admin.post("", &plugin(json!({"request": "join", "room": 5100}))).await;
    assert_eq!(r["response"], error(482, "Unknown request 'join'"), "{r}");
    let r = admin.post("", &plugin(json!({"request": "resetdecoder"}))).await;
    assert_eq!(r["response"], error(482, "Unknown request 'resetdecoder'"), "no participant asks: {r}");
    let r = admin.post("", &plugin(json!({"request": "destroy", "room": 5100}))).await;
    assert_eq!(r["response"]["audiobridge"], "destroyed", "{r}");
}

#[tokio::test]
async fn participants_join_are_moderated_and_leave_as_janus_tells_it() {
    let gw = Gateway::start();
    let mut alice = Client::new(&gw, AUDIOBRIDGE).await;
    alice.request(json!({"request": "create", "room": 7100, "secret": "adm", "pin": "1234"})).await;
    let data = |m: serde_json::Value| m["plugindata"]["data"].clone();

    let r = data(alice.send(json!({"request": "join", "room": 7100}), None).await);
    assert_eq!(r, error(483, "Missing mandatory element (pin)"));
    let r = data(alice.send(json!({"request": "join", "room": 7100, "pin": "0"}), None).await);
    assert_eq!(r, error(489, "Unauthorized (wrong pin)"));
    let r = data(alice.send(json!({"request": "join", "room": 9999}), None).await);
    assert_eq!(r, error(485, "No such room (9999)"));
    let r = data(alice.send(json!({"request": "configure", "muted": true}), None).await);
    assert_eq!(r, error(487, "Can't configure (not in a room)"));
    let r = data(
        alice
            .send(json!({"request": "join", "room": 7100, "pin": "1234", "id": 1, "display": "Alice"}), None)
            .await,
    );
    assert_eq!(r, json!({"audiobridge": "joined", "room": 7100, "id": 1, "participants": []}));
    let r = data(alice.send(json!({"request": "join", "room": 7100, "pin": "1234"}), None).await);
    assert_eq!(r, error(491, "Already in a room (use changeroom to join another one)"));

    let mut bob = Client::new(&gw, AUDIOBRIDGE).await;
    let r = data(bob.send(json!({"request": "join", "room": 7100, "pin": "1234", "id": 1}), None).await);
    assert_eq!(r, error(490, "User ID 1 already exists"));
    let r = data(
        bob.send(
            json!({"request": "join", "room": 7100, "pin": "1234", "id": 2, "display": "Bob", "quality": 11}),
            None,
        )
        .await,
    );
    assert_eq!(r, error(484, "Invalid element (quality should be a positive integer between 1 and 10)"));
    let r = data(
        bob.send(json!({"request": "join", "room": 7100, "pin": "1234", "id": 2, "display": "Bob"}), None)
            .await,
    );
    assert_eq!(
        r,
        json!({"audiobridge": "joined", "room": 7100, "id": 2,
               "participants": [{"id": 1, "display": "Alice", "setup": false, "muted": false}]})
    );
    let heard = alice.event("bob joining", |d| d["audiobridge"] == "joined").await;
    assert_eq!(
        heard,
        json!({"audiobridge": "joined", "room": 7100,
               "participants": [{"id": 2, "display": "Bob", "setup": false, "muted": false}]})
    );

    // configure: `result: ok`, and the others hear of a mute.
    let r = data(bob.send(json!({"request": "configure", "muted": true}), None).await);
    assert_eq!(r, json!({"audiobridge": "event", "result": "ok"}));
    let heard = alice.event("bob muted", |d| d.get("participants").is_some()).await;
    assert_eq!(
        heard,
        json!({"audiobridge": "event", "room": 7100,
               "participants": [{"id": 2, "display": "Bob", "setup": false, "muted": true}]})
    );

    // A moderator unmutes bob: everyone hears it; a second unmute changes nothing.
    let r = alice.request(json!({"request": "unmute", "room": 7100, "id": 2, "secret": "adm"})).await;
    assert_eq!(r, json!({"audiobridge": "success", "room": 7100}));
    let r = alice.request(json!({"request": "unmute", "room": 7100, "id": 2, "secret": "adm"})).await;
    assert_eq!(r, json!({"audiobridge": "success"}));
    let r = alice.request(json!({"request": "mute", "room": 7100, "id": 99, "secret": "adm"})).await;
    assert_eq!(r, error(492, "No such user 99 in room 7100"));
    bob.event("bob unmuted", |d| d["participants"][0]["muted"] == false).await;
    let r = alice.request(json!({"request": "mute_room", "room": 7100, "secret": "adm"})).await;
    assert_eq!(r, json!({"audiobridge": "success", "room": 7100}));
    let heard = bob.event("the room muted", |d| d.get("muted").is_some()).await;
    assert_eq!(heard, json!({"audiobridge": "event", "room": 7100, "muted": true}));

    // carol joins suspended, her events paused: the others see it.
    let mut carol = Client::new(&gw, AUDIOBRIDGE).await;
    let join = json!({"request": "join", "room": 7100, "pin": "1234", "id": 3, "display": "Carol",
                      "suspended": true, "pause_events": true});
    assert_eq!(data(carol.send(join, None).await)["audiobridge"], "joined");
    let heard = alice.event("carol joining", |d| d["audiobridge"] == "joined").await;
    assert_eq!(heard["participants"][0]["suspended"], true, "{heard}");

    let listed = alice.request(json!({"request": "listparticipants", "room": 7100})).await;
    assert_eq!(listed["participants"].as_array().map(Vec::len), Some(3), "{listed}");
    assert_eq!(alice.request(json!({"request": "resetdecoder"})).await, json!({"audiobridge": "success"}));

    // Kicked: everyone hears `kicked` (carol too, her events paused), the others then `leaving`.
    let r = alice.request(json!({"request": "kick", "room": 7100, "id": 2, "secret": "adm"})).await;
    assert_eq!(r, json!({"audiobridge": "success"}));
    let heard = bob.event("his kick", |d| d.get("kicked").is_some()).await;
    assert_eq!(heard, json!({"audiobridge": "event", "room": 7100, "kicked": 2}));
    let heard = carol.event("bob's kick", |d| d.get("kicked").is_some()).await;
    assert_eq!(heard, json!({"audiobridge": "event", "room": 7100, "kicked": 2}));
    let heard = alice.event("bob leaving", |d| d.get("leaving").is_some()).await;
    assert_eq!(heard, json!({"audiobridge": "event", "room": 7100, "leaving": 2}));
    let r = data(bob.send(json!({"request": "leave"}), None).await);
    assert_eq!(r, error(487, "Can't leave (not in a room)"));

    // alice changes room without a display: she is nameless there, as in Janus.
    alice.request(json!({"request": "create", "room": 7101})).await;
    let r = data(alice.send(json!({"request": "changeroom", "room": 7101, "id": 1}), None).await);
    assert_eq!(r, json!({"audiobridge": "roomchanged", "room": 7101, "id": 1, "participants": []}));
    let listed = alice.request(json!({"request": "listparticipants", "room": 7101})).await;
    assert_eq!(listed["participants"], json!([{"id": 1, "setup": false, "muted": false}]), "{listed}");

    // carol and alice leave.
    let r = data(carol.send(json!({"request": "leave"}), None).await);
    assert_eq!(r, json!({"audiobridge": "left", "room": 7100, "id": 3}));
    let r = data(alice.send(json!({"request": "leave"}), None).await);
    assert_eq!(r, json!({"audiobridge": "left", "room": 7101, "id": 1}));
    let listed = alice.request(json!({"request": "listparticipants", "room": 7100})).await;
    assert_eq!(listed, json!({"audiobridge": "participants", "room": 7100, "participants": []}));
}

/// `permanent` rooms go to `janus.plugin.audiobridge.jcfg`, with their groups and spatial
/// audio, and come back after a restart; edits and destroys reach the file too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_room_survives_a_restart() {
    let gw = Gateway::start();
    let mut c = Client::new(&gw, AUDIOBRIDGE).await;
    let create = json!({"request": "create", "room": 7000, "description": "kept", "secret": "s", "pin": "p",
                        "sampling_rate": 24000, "spatial_audio": true, "groups": ["a", "b"], "permanent": true});
    assert_eq!(c.request(create).await, json!({"audiobridge": "created", "room": 7000, "permanent": true}));
    let edit = json!({"request": "edit", "room": 7000, "secret": "s", "new_description": "kept and edited",
                      "permanent": true});
    assert_eq!(c.request(edit).await, json!({"audiobridge": "edited", "room": 7000, "permanent": true}));
    c.request(json!({"request": "create", "room": 7001, "permanent": true})).await;
    let destroy = json!({"request": "destroy", "room": 7001, "permanent": true});
    assert_eq!(
        c.request(destroy).await,
        json!({"audiobridge": "destroyed", "room": 7001, "permanent": true})
    );
    c.request(json!({"request": "create", "room": 7002})).await;
    drop(c);

    let dir = gw.stop_keeping_folder();
    let text = std::fs::read_to_string(dir.join("janus.plugin.audiobridge.jcfg")).expect("the config file");
    assert!(
        text.contains("room-7000") && !text.contains("room-7001") && !text.contains("room-7002"),
        "{text}"
    );
    let gw = Gateway::in_folder(dir);
    let mut c = Client::new(&gw, AUDIOBRIDGE).await;
    for (room, exists) in [(7000, true), (7001, false), (7002, false)] {
        let r = c.request(json!({"request": "exists", "room": room})).await;
        assert_eq!(r["exists"], exists, "room {room}: {r}");
    }
    let list = c.request(json!({"request": "list"})).await;
    let kept = list["list"].as_array().expect("a list").iter().find(|r| r["room"] == 7000).cloned();
    assert_eq!(
        kept,
        Some(
            json!({"room": 7000, "description": "kept and edited", "sampling_rate": 24000, "spatial_audio": true,
                    "pin_required": true, "record": false, "muted": false, "num_participants": 0})
        )
    );
    // Its groups came back: a join must name one of them.
    let r = c.send(json!({"request": "join", "room": 7000, "pin": "p", "group": "c"}), None).await;
    assert_eq!(r["plugindata"]["data"], error(494, "No such group (c)"));
    let r = c.send(json!({"request": "join", "room": 7000, "pin": "p", "group": "b"}), None).await;
    assert_eq!(r["plugindata"]["data"]["audiobridge"], "joined", "{r}");
    let listed = c.request(json!({"request": "listparticipants", "room": 7000})).await;
    assert_eq!(listed["participants"][0]["spatial_position"], 50, "{listed}");
}
