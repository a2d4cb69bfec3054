//! TextRoom over the Janus API, without a data channel: rooms managed with the answers and
//! error codes Janus 1.1.2 gives (recorded from janus-ref), permanent rooms, and participants
//! that join and talk through the API and hear the room as plugin events.

use serde_json::{json, Value};

use crate::harness::{Conf, Gateway, PluginClient as Client};

const TEXTROOM: &str = "janus.plugin.textroom";

const ROOMS: &str = "general: {}\n\
    room-1234: { description = \"Demo Room\" secret = \"adminpwd\" }\n\
    room-5555: { pin = \"pp\" history = 2 }\n";

fn gateway() -> Gateway {
    let mut conf = Conf::default();
    conf.extra.push(("janus.plugin.textroom.jcfg".to_owned(), ROOMS.to_owned()));
    Gateway::with(conf)
}

/// An error the request processor gives (`textroom: error`).
fn error(data: &Value, code: u64, text: &str) {
    assert_eq!(
        (&data["textroom"], &data["error_code"], &data["error"]),
        (&json!("error"), &json!(code), &json!(text)),
        "{data}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_managed_as_janus_does() {
    let gw = gateway();
    let mut c = Client::new(&gw, TEXTROOM).await;
    let list = c.request(json!({"request": "list"})).await;
    let demo = list["list"].as_array().unwrap().iter().find(|r| r["room"] == 1234).cloned();
    assert_eq!(
        demo,
        Some(
            json!({"room": 1234, "description": "Demo Room", "pin_required": false, "num_participants": 0, "history": 0})
        )
    );
    assert_eq!(
        c.request(json!({"request": "exists", "room": 1234})).await,
        json!({"textroom": "success", "room": 1234, "exists": true})
    );
    error(&c.request(json!({"request": "exists"})).await, 413, "Missing mandatory element (room)");
    error(
        &c.request(json!({"request": "exists", "room": "1234"})).await,
        414,
        "Invalid element type (room should be a positive integer)",
    );

    let create = json!({"request": "create", "room": 4321, "description": "x", "secret": "s", "pin": "p", "history": 5});
    assert_eq!(
        c.request(create.clone()).await,
        json!({"textroom": "created", "room": 4321, "permanent": false})
    );
    error(&c.request(create).await, 418, "Room 4321 already exists");
    let auto = c.request(json!({"request": "create"})).await;
    assert!(auto["room"].as_u64().is_some_and(|r| r > 0), "{auto}");
    error(
        &c.request(json!({"request": "create", "history": "x"})).await,
        414,
        "Invalid element type (history should be a positive integer)",
    );
    error(
        &c.request(json!({"request": "create", "allowed": [1]})).await,
        414,
        "Invalid element in the allowed array (not a string)",
    );
    let post = c.request(json!({"request": "create", "post": "http://127.0.0.1:9/x"})).await;
    error(&post, 499, "post is not supported: the gateway gives plugins no HTTP client");

    let edit = json!({"request": "edit", "room": 4321, "secret": "s", "new_description": "y"});
    assert_eq!(c.request(edit).await, json!({"textroom": "edited", "room": 4321, "permanent": false}));
    let wrong = json!({"request": "edit", "room": 4321, "secret": "no", "new_description": "z"});
    error(&c.request(wrong).await, 419, "Unauthorized (wrong secret)");
    error(
        &c.request(json!({"request": "edit", "room": 4321})).await,
        413,
        "Missing mandatory element (secret)",
    );
    error(&c.request(json!({"request": "edit", "room": 999})).await, 417, "No such room (999)");

    assert_eq!(
        c.request(json!({"request": "listparticipants", "room": 4321})).await,
        json!({"textroom": "success", "room": 4321, "participants": []})
    );
    let allowed = |action: &str, tokens: Value| json!({"request": "allowed", "room": 4321, "secret": "s", "action": action, "allowed": tokens});
    assert_eq!(
        c.request(allowed("add", json!(["a", "b"]))).await,
        json!({"textroom": "success", "room": 4321, "allowed": ["a", "b"]})
    );
    assert_eq!(
        c.request(allowed("remove", json!(["a"]))).await,
        json!({"textroom": "success", "room": 4321, "allowed": ["b"]})
    );
    // The list is kept apart from the check: tokens added to a room that does not check them
    // change nothing for those who join; `enable` does.
    let join = |name: &str, token: Option<&str>| {
        let mut j = json!({"request": "join", "room": 4321, "pin": "p", "username": name});
        if let Some(t) = token {
            j["token"] = json!(t);
        }
        j
    };
    let mut others = [
        Client::new(&gw, TEXTROOM).await,
        Client::new(&gw, TEXTROOM).await,
        Client::new(&gw, TEXTROOM).await,
    ];
    assert_eq!(others[0].request(join("x", None)).await["textroom"], "success");
    assert_eq!(
        c.request(allowed("enable", json!([]))).await,
        json!({"textroom": "success", "room": 4321, "allowed": ["b"]})
    );
    error(&others[1].request(join("y", None)).await, 419, "Unauthorized (not in the allowed list)");
    assert_eq!(others[1].request(join("y", Some("b"))).await["textroom"], "success");
    let disable = json!({"request": "allowed", "room": 4321, "secret": "s", "action": "disable"});
    assert_eq!(c.request(disable).await, json!({"textroom": "success", "room": 4321}));
    assert_eq!(others[2].request(join("z", None)).await["textroom"], "success");
    error(&c.request(allowed("zzz", json!([]))).await, 414, "Unsupported action 'zzz' (allowed)");

    let announce = json!({"request": "announcement", "room": 4321, "secret": "s", "text": "hello"});
    assert_eq!(c.request(announce).await, json!({"textroom": "success"}));
    let no_text = json!({"request": "announcement", "room": 4321, "secret": "s"});
    error(&c.request(no_text).await, 413, "Missing mandatory element (text)");
    let kick = json!({"request": "kick", "room": 4321, "secret": "s", "username": "bob"});
    error(&c.request(kick).await, 423, "No such user bob in room 4321");

    error(
        &c.request(json!({"request": "destroy", "room": 4321, "secret": "no"})).await,
        419,
        "Unauthorized (wrong secret)",
    );
    assert_eq!(
        c.request(json!({"request": "destroy", "room": 4321, "secret": "s"})).await,
        json!({"textroom": "destroyed", "room": 4321, "permanent": false})
    );
    error(
        &c.request(json!({"request": "destroy", "room": 4321, "secret": "s"})).await,
        417,
        "No such room (4321)",
    );

    // What is wrong with the request itself is an `event` error, as from Janus.
    let unknown = c.request(json!({"request": "foo"})).await;
    assert_eq!(unknown, json!({"textroom": "event", "error_code": 415, "error": "Unknown request 'foo'"}));
    let none = c.request(json!({})).await;
    assert_eq!(
        none,
        json!({"textroom": "event", "error_code": 413, "error": "Missing mandatory element (request)"})
    );
    // A restart needs a setup first.
    let restart = c.send(json!({"request": "restart"}), None).await;
    error(&restart["plugindata"]["data"], 416, "PeerConnection not setup");
}

/// Participants can also join and talk over the Janus API (Janus 1.1 has this on the data
/// channel only): they get the room's events, history and whispers as plugin events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_talk_through_the_janus_api() {
    let gw = gateway();
    let (mut alice, mut bob) = (Client::new(&gw, TEXTROOM).await, Client::new(&gw, TEXTROOM).await);
    let join = |name: &str| json!({"request": "join", "room": 5555, "pin": "pp", "username": name});
    error(
        &alice.request(json!({"request": "join", "room": 5555, "username": "alice"})).await,
        413,
        "Missing mandatory element (pin)",
    );
    let wrong = json!({"request": "join", "room": 5555, "pin": "no", "username": "alice"});
    error(&alice.request(wrong).await, 419, "Unauthorized (wrong pin)");
    assert_eq!(alice.request(join("alice")).await, json!({"textroom": "success", "participants": []}));
    for text in ["one", "two", "three"] {
        let said = alice.request(json!({"request": "message", "room": 5555, "text": text})).await;
        assert_eq!(said, json!({"textroom": "success"}));
    }
    // The room keeps two: bob gets them when he joins, before his own join.
    assert_eq!(
        bob.request(join("bob")).await,
        json!({"textroom": "success", "participants": [{"username": "alice"}]})
    );
    for text in ["two", "three"] {
        let kept = bob.event("a kept message", |d| d["textroom"] == "message").await;
        assert_eq!((&kept["from"], &kept["text"]), (&json!("alice"), &json!(text)), "{kept}");
    }
    let heard = alice.event("bob's join", |d| d["textroom"] == "join" && d["username"] == "bob").await;
    assert_eq!(heard, json!({"textroom": "join", "room": 5555, "username": "bob"}));
    let whisper = json!({"request": "message", "room": 5555, "text": "psst", "tos": ["alice", "zed"]});
    assert_eq!(
        bob.request(whisper).await,
        json!({"textroom": "success", "sent": {"alice": true, "zed": false}})
    );
    let got = alice.event("the whisper", |d| d["textroom"] == "message" && d["text"] == "psst").await;
    assert_eq!((&got["from"], &got["whisper"]), (&json!("bob"), &json!(true)));
    let both = json!({"request": "message", "room": 5555, "text": "x", "to": "a", "tos": ["b"]});
    error(&bob.request(both).await, 414, "Both to and tos array provided");
    assert_eq!(bob.request(json!({"request": "leave", "room": 5555})).await, json!({"textroom": "success"}));
    let left = alice.event("bob's leave", |d| d["textroom"] == "leave").await;
    assert_eq!(left, json!({"textroom": "leave", "room": 5555, "username": "bob"}));
    error(&bob.request(json!({"request": "leave", "room": 5555})).await, 422, "Not in room 5555");
}

/// `permanent` rooms go to `janus.plugin.textroom.jcfg` and come back after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_room_survives_a_restart() {
    let gw = gateway();
    let mut c = Client::new(&gw, TEXTROOM).await;
    let create = json!({"request": "create", "room": 4444, "description": "kept", "secret": "s", "history": 3,
                        "permanent": true});
    assert_eq!(c.request(create).await, json!({"textroom": "created", "room": 4444, "permanent": true}));
    let edit = json!({"request": "edit", "room": 4444, "secret": "s", "new_description": "kept and edited",
                      "permanent": true});
    assert_eq!(c.request(edit).await, json!({"textroom": "edited", "room": 4444, "permanent": true}));
    c.request(json!({"request": "create", "room": 4445})).await;
    let destroy = json!({"request": "destroy", "room": 1234, "secret": "adminpwd", "permanent": true});
    assert_eq!(c.request(destroy).await, json!({"textroom": "destroyed", "room": 1234, "permanent": true}));
    drop(c);

    let dir = gw.stop_keeping_folder();
    let text = std::fs::read_to_string(dir.join("janus.plugin.textroom.jcfg")).expect("the config file");
    assert!(
        text.contains("room-4444") && !text.contains("room-1234") && !text.contains("room-4445"),
        "{text}"
    );
    let gw = Gateway::in_folder(dir);
    let mut c = Client::new(&gw, TEXTROOM).await;
    for (room, exists) in [(4444, true), (5555, true), (1234, false), (4445, false)] {
        let r = c.request(json!({"request": "exists", "room": room})).await;
        assert_eq!(r["exists"], exists, "room {room}: {r}");
    }
    let list = c.request(json!({"request": "list"})).await;
    let kept = list["list"].as_array().unwrap().iter().find(|r| r["room"] == 4444).cloned().unwrap();
    assert_eq!((&kept["description"], &kept["history"]), (&json!("kept and edited"), &json!(3)), "{kept}");
    error(
        &c.request(json!({"request": "edit", "room": 4444, "secret": "wrong"})).await,
        419,
        "Unauthorized (wrong secret)",
    );
}

/// A hot reload of the plugin keeps the rooms, who is in them and what they keep: the new
/// instance goes on where the old one stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_reload_keeps_rooms_members_and_history() {
    let gw = gateway();
    let (mut alice, mut bob) = (Client::new(&gw, TEXTROOM).await, Client::new(&gw, TEXTROOM).await);
    let join = |name: &str| json!({"request": "join", "room": 5555, "pin": "pp", "username": name});
    alice.request(join("alice")).await;
    bob.request(join("bob")).await;
    alice.request(json!({"request": "message", "room": 5555, "text": "before"})).await;
    let reload = json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord",
                        "plugin": TEXTROOM});
    let r = gw.admin_http().post("", &reload).await;
    assert_eq!(r["janus"], "success", "{r}");

    error(&alice.request(join("alice2")).await, 421, "Already in room 5555");
    let mut carol = Client::new(&gw, TEXTROOM).await;
    error(&carol.request(join("bob")).await, 420, "Username already taken");
    let said = bob.request(json!({"request": "message", "room": 5555, "text": "after"})).await;
    assert_eq!(said, json!({"textroom": "success"}));
    let got = alice.event("bob's message", |d| d["textroom"] == "message" && d["text"] == "after").await;
    assert_eq!(got["from"], "bob");
    assert_eq!(carol.request(join("carol")).await["participants"].as_array().map(Vec::len), Some(2));
    let kept = carol.event("the kept message", |d| d["textroom"] == "message").await;
    assert_eq!((&kept["from"], &kept["text"]), (&json!("alice"), &json!("before")));
    let list = carol.request(json!({"request": "list"})).await;
    let room = list["list"].as_array().unwrap().iter().find(|r| r["room"] == 5555).cloned().unwrap();
    assert_eq!(room["num_participants"], 3, "{room}");
    assert_eq!(bob.request(json!({"request": "leave", "room": 5555})).await, json!({"textroom": "success"}));
}
