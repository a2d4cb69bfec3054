//! TextRoom over real data channels: webrtc-rs peers set up with the gateway's data-only
//! offer, then talk JSON on the channel as janus.js's TextRoom page does, checked against the
//! replies and events Janus 1.1 sends.

use serde_json::{json, Value};

use super::WAIT;
use crate::harness::{Conf, Gateway, PluginClient as Client};
use crate::peer::{DataMessage, Peer};

const TEXTROOM: &str = "janus.plugin.textroom";

/// A gateway whose room 1234 keeps 5 messages.
fn gateway() -> Gateway {
    let mut conf = Conf::default();
    conf.extra.push((
        "janus.plugin.textroom.jcfg".to_owned(),
        "room-1234: { description = \"Demo Room\" secret = \"adminpwd\" history = 5 }\n".to_owned(),
    ));
    Gateway::with(conf)
}

/// A TextRoom client: its Janus API handle, and a peer whose data channel came from `setup`.
struct Chatter {
    api: Client,
    peer: Peer,
    /// The gateway's offer.
    offer: String,
    /// The data messages already read (by index): events and answers may come in any order.
    taken: std::collections::HashSet<usize>,
    next: u64,
}

impl Chatter {
    /// Attaches, asks for `setup`, answers the offer with `ack`, and waits for the channel.
    async fn new(gw: &Gateway) -> Chatter {
        let mut api = Client::new(gw, TEXTROOM).await;
        let setup = api.send(json!({"request": "setup"}), None).await;
        assert_eq!(setup["plugindata"]["data"], json!({"textroom": "event", "result": "ok"}), "{setup}");
        let offer = setup["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {setup}"));
        assert!(offer.contains("m=application") && !offer.contains("m=audio"), "{offer}");
        let peer = Peer::new(false, false, false).await.expect("peer");
        let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
        let acked = api.send(json!({"request": "ack"}), Some(json!({"type": "answer", "sdp": answer}))).await;
        assert_eq!(acked["plugindata"]["data"], json!({"textroom": "event", "result": "ok"}), "{acked}");
        peer.wait_data_open(WAIT).await.expect("the data channel opens");
        Chatter { api, peer, offer: offer.to_owned(), taken: Default::default(), next: 0 }
    }

    /// The data messages not read yet, with their index, as JSON.
    fn unread_in(&self, stats: &crate::peer::PeerStats) -> Vec<(usize, Value)> {
        let json = |m: &DataMessage| match m {
            DataMessage::Text(t) => serde_json::from_str::<Value>(t).ok(),
            DataMessage::Binary(_) => None,
        };
        let messages = stats.data_messages.iter().enumerate();
        messages
            .filter(|(i, _)| !self.taken.contains(i))
            .filter_map(|(i, (_, m))| Some((i, json(m)?)))
            .collect()
    }

    /// The first unread data message that `pred` accepts.
    async fn next_where(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let stats = self
            .peer
            .wait_until(what, WAIT, |s| self.unread_in(s).iter().any(|(_, v)| pred(v)))
            .await
            .unwrap_or_else(|e| panic!("{}", e.0));
        let (i, v) =
            self.unread_in(&stats).into_iter().find(|(_, v)| pred(v)).expect("checked by wait_until");
        self.taken.insert(i);
        v
    }

    /// Where the first data message `pred` accepts arrived, among all of them.
    fn arrival(&self, pred: impl Fn(&Value) -> bool) -> Option<usize> {
        let stats = self.peer.stats();
        stats.data_messages.iter().position(|(_, m)| match m {
            DataMessage::Text(t) => serde_json::from_str::<Value>(t).is_ok_and(|v| pred(&v)),
            DataMessage::Binary(_) => false,
        })
    }

    /// Every data message not read yet.
    fn unread(&self) -> Vec<Value> {
        self.unread_in(&self.peer.stats()).into_iter().map(|(_, v)| v).collect()
    }

    /// A request on the data channel; returns its answer (without the transaction).
    async fn ask(&mut self, mut request: Value) -> Value {
        self.next += 1;
        let tx = format!("dc{}", self.next);
        request["transaction"] = json!(tx);
        self.peer.send_text(&request.to_string()).await.expect("send");
        let mut answer =
            self.next_where(&format!("the answer to {request}"), |v| v["transaction"] == tx).await;
        answer.as_object_mut().unwrap().remove("transaction");
        answer
    }

    /// The next event of `kind` on the data channel.
    async fn event(&mut self, kind: &str) -> Value {
        self.next_where(&format!("a {kind} event"), |v| v["textroom"] == kind).await
    }
}

fn code_of(answer: &Value) -> (&Value, &Value) {
    (&answer["error_code"], &answer["error"])
}

/// Three peers in a room: who is there, history on join, public messages and whispers (`to`,
/// `tos`), `ack: false`, kick and destroy, with every event the others get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_peers_chat_whisper_and_are_kicked() {
    let gw = gateway();
    let (mut alice, mut bob, mut carol) =
        (Chatter::new(&gw).await, Chatter::new(&gw).await, Chatter::new(&gw).await);
    let join = |name: &str| json!({"textroom": "join", "room": 1234, "username": name, "display": name.to_uppercase()});
    assert_eq!(alice.ask(join("alice")).await, json!({"textroom": "success", "participants": []}));
    assert_eq!(alice.event("join").await["username"], "alice");
    // Before bob comes: kept for him.
    let said = alice.ask(json!({"textroom": "message", "room": 1234, "text": "first!"})).await;
    assert_eq!(said, json!({"textroom": "success"}));
    let mine = alice.event("message").await;
    assert_eq!(
        (&mine["from"], &mine["text"], &mine["room"]),
        (&json!("alice"), &json!("first!"), &json!(1234))
    );
    assert!(mine.get("whisper").is_none(), "{mine}");
    let joined = bob.ask(join("bob")).await;
    assert_eq!(
        joined,
        json!({"textroom": "success", "participants": [{"username": "alice", "display": "ALICE"}]})
    );
    // The kept copy names alice's display too, as from Janus.
    let mut kept = mine.clone();
    kept["display"] = json!("ALICE");
    assert_eq!(bob.event("message").await, kept, "bob gets alice's message as it was sent");
    let bob_joined = json!({"textroom": "join", "room": 1234, "username": "bob", "display": "BOB"});
    assert_eq!(alice.event("join").await, bob_joined);
    assert_eq!(bob.event("join").await, bob_joined, "the joiner hears its own join");
    // In Janus's order: the kept messages, then the joiner's own join, then the answer.
    let order = [
        bob.arrival(|v| v["textroom"] == "message"),
        bob.arrival(|v| v["textroom"] == "join"),
        bob.arrival(|v| v["participants"].is_array()),
    ];
    assert!(order.iter().all(Option::is_some) && order.is_sorted(), "bob's join came as {order:?}");
    let again = carol.ask(join("bob")).await;
    assert_eq!(code_of(&again), (&json!(420), &json!("Username already taken")), "{again}");
    carol.ask(join("carol")).await;
    assert_eq!(carol.event("message").await["text"], "first!");
    let twice = carol.ask(join("carol2")).await;
    assert_eq!(code_of(&twice), (&json!(421), &json!("Already in room 1234")), "{twice}");

    // A whisper to carol: only she gets it.
    let whisper = json!({"textroom": "message", "room": 1234, "text": "psst", "to": "carol"});
    assert_eq!(bob.ask(whisper).await, json!({"textroom": "success", "sent": {"carol": true}}));
    let got = carol.event("message").await;
    assert_eq!((&got["from"], &got["text"], &got["whisper"]), (&json!("bob"), &json!("psst"), &json!(true)));
    // To several, some unknown: the answer says who got it.
    let tos = json!({"textroom": "message", "room": 1234, "text": "you two", "tos": ["bob", "dave"]});
    let sent = alice.ask(tos).await;
    assert_eq!(sent["sent"], json!({"bob": true, "dave": false}), "{sent}");
    let got = bob.event("message").await;
    assert_eq!((&got["text"], &got["whisper"]), (&json!("you two"), &json!(true)));
    // No answer with `ack: false`; everyone gets the message.
    let quiet =
        json!({"textroom": "message", "room": 1234, "text": "no ack", "ack": false, "transaction": "silent"});
    carol.peer.send_text(&quiet.to_string()).await.expect("send");
    for c in [&mut alice, &mut bob] {
        let got = c.event("message").await;
        assert_eq!((&got["from"], &got["text"]), (&json!("carol"), &json!("no ack")));
        assert!(!c.unread().iter().any(|v| v["text"] == "psst"), "the whisper leaked");
    }
    carol.event("message").await;
    // The channel keeps order: once a later request is answered, an answer to the silent one
    // would have come.
    carol.ask(json!({"textroom": "exists", "room": 1234})).await;
    assert!(carol.arrival(|v| v["transaction"] == "silent").is_none(), "ack: false was answered");
    // Who is there, over the Janus API.
    let listed = alice.api.request(json!({"request": "listparticipants", "room": 1234})).await;
    let names: Vec<&Value> =
        listed["participants"].as_array().unwrap().iter().map(|p| &p["username"]).collect();
    assert_eq!(names, [&json!("alice"), &json!("bob"), &json!("carol")], "{listed}");

    // carol is kicked: she and the others hear it, and she can no longer talk there.
    let kick = json!({"request": "kick", "room": 1234, "secret": "adminpwd", "username": "carol"});
    assert_eq!(alice.api.request(kick).await, json!({"textroom": "success"}));
    for c in [&mut alice, &mut carol] {
        assert_eq!(c.event("kicked").await, json!({"textroom": "kicked", "room": 1234, "username": "carol"}));
    }
    let out = carol.ask(json!({"textroom": "message", "room": 1234, "text": "hey"})).await;
    assert_eq!(code_of(&out), (&json!(422), &json!("Not in room 1234")), "{out}");
    // She may come back; when her PeerConnection goes, the room hears her leave.
    carol.ask(join("carol")).await;
    assert_eq!(alice.event("join").await["username"], "carol");
    carol.api.hangup().await;
    assert_eq!(alice.event("leave").await, json!({"textroom": "leave", "room": 1234, "username": "carol"}));

    // bob leaves: alice hears it. Then the room goes.
    assert_eq!(bob.ask(json!({"textroom": "leave", "room": 1234})).await, json!({"textroom": "success"}));
    assert_eq!(alice.event("leave").await, json!({"textroom": "leave", "room": 1234, "username": "bob"}));
    let destroy = json!({"textroom": "destroy", "room": 1234, "secret": "adminpwd"});
    assert_eq!(alice.ask(destroy).await, json!({"textroom": "success", "room": 1234, "permanent": false}));
    assert_eq!(alice.event("destroyed").await, json!({"textroom": "destroyed", "room": 1234}));
    let gone = alice.ask(json!({"textroom": "message", "room": 1234, "text": "anyone?"})).await;
    assert_eq!(code_of(&gone), (&json!(417), &json!("No such room (1234)")), "{gone}");
    for c in [alice, bob, carol] {
        c.peer.close().await.ok();
    }
}

/// `restart` before `ack` offers the data channel again (Janus sends a new offer then too),
/// up to four times (each is a new channel for the WebRTC stack, which keeps them); the last
/// offer's answer opens the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_before_the_ack_offers_again() {
    let gw = gateway();
    let mut api = Client::new(&gw, TEXTROOM).await;
    let setup = api.send(json!({"request": "setup"}), None).await;
    assert!(setup["jsep"]["sdp"].as_str().is_some(), "an offer: {setup}");
    let mut restart = Value::Null;
    for _ in 0..4 {
        restart = api.send(json!({"request": "restart"}), None).await;
        assert_eq!(restart["plugindata"]["data"], json!({"textroom": "event", "result": "ok"}), "{restart}");
    }
    let fifth = api.send(json!({"request": "restart"}), None).await;
    assert_eq!(fifth["plugindata"]["data"]["error_code"], 499, "{fifth}");
    let offer = restart["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {restart}"));
    assert!(offer.contains("m=application"), "{offer}");
    let peer = Peer::new(false, false, false).await.expect("peer");
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    let acked = api.send(json!({"request": "ack"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(acked["plugindata"]["data"], json!({"textroom": "event", "result": "ok"}), "{acked}");
    peer.wait_data_open(WAIT).await.expect("the data channel opens");
    let mut alice = Chatter { api, peer, offer: offer.to_owned(), taken: Default::default(), next: 0 };
    let exists = alice.ask(json!({"textroom": "exists", "room": 1234})).await;
    assert_eq!(exists, json!({"textroom": "success", "room": 1234, "exists": true}));
    alice.peer.close().await.ok();
}

/// `restart` makes a new offer with new ICE credentials; once answered, the channel still
/// carries requests. A second `setup` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_restart_keeps_the_channel() {
    let gw = gateway();
    let mut alice = Chatter::new(&gw).await;
    let again = alice.api.send(json!({"request": "setup"}), None).await;
    let data = &again["plugindata"]["data"];
    assert_eq!(code_of(data), (&json!(416), &json!("PeerConnection already setup")), "{again}");
    let ufrag = |sdp: &str| sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")).map(str::to_owned);
    let first = alice.offer.clone();
    let restart = alice.api.send(json!({"request": "restart"}), None).await;
    let offer = restart["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {restart}"));
    let answer = alice.peer.answer_offer(offer, WAIT).await.expect("answer");
    let acked =
        alice.api.send(json!({"request": "ack"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(acked["plugindata"]["data"], json!({"textroom": "event", "result": "ok"}));
    assert_ne!(ufrag(offer), ufrag(&first), "the restart's offer has new ICE credentials");
    let exists = alice.ask(json!({"textroom": "exists", "room": 1234})).await;
    assert_eq!(exists, json!({"textroom": "success", "room": 1234, "exists": true}));
    alice.peer.close().await.ok();
}
