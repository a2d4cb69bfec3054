//! TextRoom over the Janus API, without a data channel: rooms managed with the answers and
//! error codes Janus 1.1.2 gives (recorded from janus-ref), permanent rooms, and participants
//! that join and talk through the API and hear the room as plugin events.

use serde_json::{json, Value};

use crate::backend::{backend, backend_with, https_fixture, next_post};
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

    // Over the Admin API (`message_plugin`), the requests that manage rooms, answered as over
    // the Janus API (Janus's TextRoom takes these there).
    let admin = gw.admin_http();
    let plugin = |request: Value| {
        json!({"janus": "message_plugin", "transaction": "m", "admin_secret": "janusoverlord",
               "plugin": TEXTROOM, "request": request})
    };
    let r = admin.post("", &plugin(json!({"request": "create", "room": 7777, "secret": "s"}))).await;
    assert_eq!(r["response"], json!({"textroom": "created", "room": 7777, "permanent": false}), "{r}");
    assert_eq!(c.request(json!({"request": "exists", "room": 7777})).await["exists"], true);
    let r = admin.post("", &plugin(json!({"request": "join", "room": 7777, "username": "u"}))).await;
    assert_eq!(
        r["response"],
        json!({"textroom": "event", "error_code": 415, "error": "Unknown request 'join'"})
    );
    let r = admin.post("", &plugin(json!({"request": "destroy", "room": 7777}))).await;
    error(&r["response"], 413, "Missing mandatory element (secret)");
    let r = admin.post("", &plugin(json!({"request": "destroy", "room": 7777, "secret": "s"}))).await;
    assert_eq!(r["response"], json!({"textroom": "destroyed", "room": 7777, "permanent": false}), "{r}");
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

/// A room with `post` has its public messages and announcements posted to that backend, as
/// Janus does: the JSON the room hears. Whispers are not posted; `edit`'s
/// `new_post` moves the backend; the address must be one `sandbox.send_to` allows; a backend
/// that is down does not hold the others up; an `https://` backend is verified against the
/// trusted certificates; a permanent room keeps its `post`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_messages_are_posted_to_the_rooms_backend() {
    let (at, mut posts) = backend("127.0.0.1", false).await;
    let (closing, mut closing_posts) = backend_with("127.0.0.1", false, true).await;
    let (forbidden, mut refused) = backend("127.0.0.3", false).await;
    let (secure, mut secure_posts) = backend("127.0.0.1", true).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let port = at.port();
    let mut conf = Conf::default();
    // The configured room names its backend by name, resolved when it posts.
    let rooms = format!(
        "general: {{}}\nsandbox: {{ send_to = \"127.0.0.1, 127.0.0.2\" }}\n\
         room-7: {{ post = \"http://localhost:{port}/config-room\" }}\n"
    );
    conf.extra.push(("janus.plugin.textroom.jcfg".to_owned(), rooms));
    // The gateway trusts the test CA as libcurl would: through SSL_CERT_FILE.
    conf.env.push(("SSL_CERT_FILE".to_owned(), https_fixture("ca.pem")));
    let gw = Gateway::with(conf);
    let (mut alice, mut bob) = (Client::new(&gw, TEXTROOM).await, Client::new(&gw, TEXTROOM).await);
    let join = |room: u64, name: &str| json!({"request": "join", "room": room, "username": name});
    let say = |room: u64, text: &str| json!({"request": "message", "room": room, "text": text});

    assert_eq!(alice.request(join(7, "alice")).await["textroom"], "success");
    assert_eq!(alice.request(say(7, "from a configured room")).await, json!({"textroom": "success"}));
    let got = next_post(&mut posts).await;
    assert_eq!((got.path.as_str(), got.content_type.as_str()), ("/config-room", "application/json"));
    assert_eq!(got.accept, "application/json");
    let date = got.body["date"].clone();
    assert!(date.as_str().is_some_and(|d| d.len() >= 20), "{}", got.body);
    assert_eq!(
        got.body,
        json!({"textroom": "message", "room": 7, "from": "alice", "date": date, "text": "from a configured room"})
    );

    let url = format!("http://127.0.0.1:{port}/created?room=8");
    let create = json!({"request": "create", "room": 8, "secret": "s", "post": url});
    assert_eq!(alice.request(create).await["textroom"], "created");
    assert_eq!(alice.request(join(8, "alice")).await["textroom"], "success");
    assert_eq!(bob.request(join(8, "bob")).await["textroom"], "success");
    let whisper = json!({"request": "message", "room": 8, "text": "psst", "to": "alice"});
    assert_eq!(bob.request(whisper).await["sent"], json!({"alice": true}));
    let announce = json!({"request": "announcement", "room": 8, "secret": "s", "text": "news"});
    assert_eq!(alice.request(announce).await, json!({"textroom": "success"}));
    assert_eq!(bob.request(say(8, "for everyone")).await, json!({"textroom": "success"}));
    // Posts go in order: the whisper is not posted; the announcement is, then the message.
    let got = next_post(&mut posts).await;
    assert_eq!(got.path, "/created?room=8");
    let date = got.body["date"].clone();
    assert_eq!(got.body, json!({"textroom": "announcement", "room": 8, "date": date, "text": "news"}));
    let got = next_post(&mut posts).await;
    assert_eq!((&got.body["from"], &got.body["text"]), (&json!("bob"), &json!("for everyone")));
    let heard = alice.event("bob's message", |d| d["text"] == "for everyone").await;
    assert_eq!(heard["from"], "bob");

    let moved = format!("http://127.0.0.1:{port}/edited");
    let edit = json!({"request": "edit", "room": 8, "secret": "s", "new_post": moved});
    assert_eq!(alice.request(edit).await["textroom"], "edited");
    assert_eq!(alice.request(say(8, "after the edit")).await, json!({"textroom": "success"}));
    let got = next_post(&mut posts).await;
    assert_eq!((got.path.as_str(), &got.body["text"]), ("/edited", &json!("after the edit")));

    // A backend send_to does not allow: the message still reaches the room, the post is
    // refused with the reason. One that is down: logged, and later posts still go.
    for (room, backend) in [(9, format!("http://{forbidden}/")), (10, format!("http://{dead}/"))] {
        assert_eq!(
            alice.request(json!({"request": "create", "room": room, "post": backend})).await["textroom"],
            "created"
        );
        assert_eq!(alice.request(join(room, "alice")).await["textroom"], "success");
        assert_eq!(bob.request(join(room, "bob")).await["textroom"], "success");
        assert_eq!(alice.request(say(room, "lost")).await, json!({"textroom": "success"}));
        let heard = bob.event("alice's message", |d| d["text"] == "lost" && d["room"] == room).await;
        assert_eq!(heard["from"], "alice");
    }
    tokio::task::block_in_place(|| gw.wait_log("sandbox.send_to does not allow 127.0.0.3"));
    assert_eq!(alice.request(say(8, "still posted")).await, json!({"textroom": "success"}));
    let got = next_post(&mut posts).await;
    assert_eq!(got.body["text"], "still posted");
    tokio::task::block_in_place(|| gw.wait_log(&format!("http-post to http://{dead}/")));
    assert!(refused.try_recv().is_err(), "the refused backend got a post");

    // A backend that drops a kept connection as the next post comes still gets every post.
    let url_closing = format!("http://{closing}/");
    assert_eq!(
        alice.request(json!({"request": "create", "room": 15, "post": url_closing})).await["textroom"],
        "created"
    );
    assert_eq!(alice.request(join(15, "alice")).await["textroom"], "success");
    for text in ["one", "two", "three"] {
        assert_eq!(alice.request(say(15, text)).await, json!({"textroom": "success"}));
        assert_eq!(next_post(&mut closing_posts).await.body["text"], text);
    }

    // An https backend, its certificate verified against the trusted CA, by name and by address.
    for (room, host) in [(12, "localhost"), (13, "127.0.0.1")] {
        let https = format!("https://{host}:{}/secure", secure.port());
        assert_eq!(
            alice.request(json!({"request": "create", "room": room, "post": https})).await["textroom"],
            "created"
        );
        assert_eq!(alice.request(join(room, "alice")).await["textroom"], "success");
        assert_eq!(alice.request(say(room, "over TLS")).await, json!({"textroom": "success"}));
        let got = next_post(&mut secure_posts).await;
        assert_eq!(
            (got.path.as_str(), &got.body["room"], &got.body["text"]),
            ("/secure", &json!(room), &json!("over TLS"))
        );
    }
    // One whose certificate does not name it is not posted to.
    let (unnamed, mut unverified) = backend("127.0.0.2", true).await;
    let https = format!("https://{unnamed}/");
    assert_eq!(
        alice.request(json!({"request": "create", "room": 14, "post": https})).await["textroom"],
        "created"
    );
    assert_eq!(alice.request(join(14, "alice")).await["textroom"], "success");
    assert_eq!(alice.request(say(14, "unverified")).await, json!({"textroom": "success"}));
    tokio::task::block_in_place(|| {
        gw.wait_log(&format!("http-post to https://{unnamed}/: TLS with {unnamed}"))
    });
    assert!(unverified.try_recv().is_err(), "a backend with another's certificate got a post");

    let permanent = json!({"request": "create", "room": 11, "post": url, "permanent": true});
    assert_eq!(alice.request(permanent).await["textroom"], "created");
    drop((alice, bob));
    let dir = gw.stop_keeping_folder();
    let text = std::fs::read_to_string(dir.join("janus.plugin.textroom.jcfg")).expect("the config file");
    assert!(text.contains(&format!("post = \"{url}\"")), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
