//! What MQTT 5 adds to the MQTT transport (Janus's "transaction states"): a Janus API request
//! with a `transaction` keeps its properties, and the messages that carry that transaction
//! back (the reply, a plugin's event) go to the request's response topic with its correlation
//! data, the request's user properties named in `proxy_transaction_user_properties` and those
//! of `add_transaction_user_properties`. A reply ends a transaction but for an ack, so that the
//! plugin's event that follows it goes where its request asked too (Janus forgets it at a
//! success, an error or an ack, and that event goes either way, as its threads race; it keeps
//! it after a pong until the vacuum). What is not ended is forgotten after `vacuum_interval`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::Mqtt;
use crate::mqtt::Properties;

/// Transactions remembered at most; beyond, the oldest are forgotten.
const MAX_REMEMBERED: usize = 65_536;

/// The requests whose answers are still to come, by transaction.
pub struct Answers {
    /// By transaction: when the request came and its properties.
    waiting: HashMap<String, (Instant, Properties)>,
    /// Transactions in the order they came, to forget them after `lifetime`.
    order: VecDeque<(Instant, String)>,
    lifetime: Duration,
    proxy: Vec<String>,
    add: Vec<(String, String)>,
}

/// Where an answer goes and what it carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Routing {
    /// The request's response topic (none: the API's publish topic).
    pub topic: Option<String>,
    /// The answer's properties.
    pub properties: Properties,
}

/// The fields of a message that say what it is and which request it answers.
#[derive(Deserialize)]
struct Head {
    janus: Option<serde_json::Value>,
    transaction: Option<serde_json::Value>,
}

impl Answers {
    /// Empty, with the transport's MQTT 5 settings.
    pub fn new(config: &Mqtt) -> Self {
        Self {
            waiting: HashMap::new(),
            order: VecDeque::new(),
            lifetime: Duration::from_secs(config.vacuum_s),
            proxy: config.proxy_user_properties.clone(),
            add: config.add_user_properties.clone(),
        }
    }

    /// A request came with these properties: kept for its answers when it names a
    /// transaction (a request used again replaces the first one's).
    pub fn request(&mut self, now: Instant, payload: &[u8], properties: Properties) {
        self.forget_old(now);
        let Ok(head) = serde_json::from_slice::<Head>(payload) else { return };
        let Some(serde_json::Value::String(transaction)) = head.transaction else { return };
        self.waiting.insert(transaction.clone(), (now, properties));
        self.order.push_back((now, transaction));
        while self.order.len() > MAX_REMEMBERED {
            self.forget_first();
        }
    }

    /// Where a message the API sends goes: `None` for one of no waiting transaction (to the
    /// publish topic, without properties).
    pub fn answer(&mut self, now: Instant, text: &str) -> Option<Routing> {
        self.forget_old(now);
        if self.waiting.is_empty() {
            return None;
        }
        let head = serde_json::from_str::<Head>(text).ok()?;
        let Some(serde_json::Value::String(transaction)) = &head.transaction else { return None };
        let (_, request) = self.waiting.get(transaction)?;
        let mut properties =
            Properties { correlation_data: request.correlation_data.clone(), ..Properties::default() };
        // A request's property whose name starts with a configured one comes back under that
        // name, as Janus's does.
        for (name, value) in &request.user {
            if let Some(key) = self.proxy.iter().find(|key| name.starts_with(key.as_str())) {
                properties.user.push((key.clone(), value.clone()));
            }
        }
        properties.user.extend(self.add.iter().cloned());
        let topic = request.response_topic.clone().filter(|t| crate::mqtt::valid_topic(t));
        if !matches!(head.janus.as_ref().and_then(|j| j.as_str()), Some("ack" | "event")) {
            self.waiting.remove(transaction);
        }
        Some(Routing { topic, properties })
    }

    /// Forgets the transactions that came `lifetime` ago or more.
    fn forget_old(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(at, _)| now.duration_since(*at) >= self.lifetime) {
            self.forget_first();
        }
    }

    /// Forgets the oldest transaction (unless it came again since: its entry is newer).
    fn forget_first(&mut self) {
        if let Some((at, transaction)) = self.order.pop_front() {
            if self.waiting.get(&transaction).is_some_and(|(came, _)| *came == at) {
                self.waiting.remove(&transaction);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(vacuum_s: u64) -> Answers {
        Answers {
            waiting: HashMap::new(),
            order: VecDeque::new(),
            lifetime: Duration::from_secs(vacuum_s),
            proxy: vec!["keep".into(), "pre".into()],
            add: vec![("added".into(), "yes".into())],
        }
    }

    fn asked(topic: &str, correlation: &[u8]) -> Properties {
        Properties {
            response_topic: Some(topic.into()),
            correlation_data: Some(correlation.to_vec()),
            user: vec![
                ("keep".into(), "kv".into()),
                ("prefixed".into(), "pv".into()),
                ("other".into(), "ov".into()),
            ],
        }
    }

    /// Checked against Janus 1.1.2 with mosquitto: the reply goes to the response topic with
    /// the correlation data, the proxied properties (a prefix names them) and the added ones.
    #[test]
    fn replies_go_where_their_request_asked() {
        let mut a = answers(60);
        let now = Instant::now();
        a.request(now, br#"{"janus":"create","transaction":"c1"}"#, asked("my/replies", b"abc"));
        let user =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let want = Routing {
            topic: Some("my/replies".into()),
            properties: Properties {
                response_topic: None,
                correlation_data: Some(b"abc".to_vec()),
                user: user(&[("keep", "kv"), ("pre", "pv"), ("added", "yes")]),
            },
        };
        assert_eq!(a.answer(now, r#"{"janus":"success","transaction":"c1","data":{"id":1}}"#), Some(want));
        // A success ends the transaction; messages of none go to the publish topic.
        assert_eq!(a.answer(now, r#"{"janus":"success","transaction":"c1"}"#), None);
        assert_eq!(a.answer(now, r#"{"janus":"event","sender":1}"#), None);
    }

    #[test]
    fn an_ack_keeps_the_transaction_for_the_event_after_it() {
        let mut a = answers(60);
        let now = Instant::now();
        a.request(now, br#"{"janus":"message","transaction":"m1","body":{}}"#, asked("r", b"m"));
        for reply in [r#"{"janus":"ack","transaction":"m1"}"#, r#"{"janus":"event","transaction":"m1"}"#] {
            assert_eq!(a.answer(now, reply).and_then(|r| r.topic), Some("r".into()), "{reply}");
        }
        // Forgotten after the vacuum interval.
        assert_eq!(a.answer(now + Duration::from_secs(60), r#"{"janus":"event","transaction":"m1"}"#), None);
        assert!(a.order.is_empty());
    }

    /// A request without a transaction (or not JSON) keeps nothing; a response topic that is
    /// no topic name (a wildcard) is not published to; a transaction used again is answered
    /// as its last request asked, and not forgotten with the first.
    #[test]
    fn only_well_formed_requests_are_remembered() {
        let mut a = answers(10);
        let t0 = Instant::now();
        a.request(t0, br#"{"janus":"ping"}"#, asked("r", b"x"));
        a.request(t0, b"{bad", asked("r", b"x"));
        a.request(t0, br#"{"janus":"ping","transaction":7}"#, asked("r", b"x"));
        assert!(a.waiting.is_empty());
        // Only the transaction counts (a `janus` of another type too, as in Janus).
        a.request(t0, br#"{"janus":5,"transaction":"n"}"#, asked("r", b"x"));
        assert_eq!(
            a.answer(t0, r#"{"janus":"error","transaction":"n"}"#).and_then(|r| r.topic),
            Some("r".into())
        );
        a.request(t0, br#"{"janus":"ping","transaction":"w"}"#, asked("to/#", b"x"));
        assert_eq!(a.answer(t0, r#"{"janus":"pong","transaction":"w"}"#).map(|r| r.topic), Some(None));
        a.request(t0, br#"{"janus":"ping","transaction":"p"}"#, asked("first", b"1"));
        let t5 = t0 + Duration::from_secs(5);
        a.request(t5, br#"{"janus":"ping","transaction":"p"}"#, asked("second", b"2"));
        let t12 = t0 + Duration::from_secs(12);
        assert_eq!(
            a.answer(t12, r#"{"janus":"pong","transaction":"p"}"#).and_then(|r| r.topic),
            Some("second".into())
        );
    }

    #[test]
    fn at_most_so_many_transactions_are_remembered() {
        let mut a = answers(60);
        let now = Instant::now();
        for i in 0..MAX_REMEMBERED + 10 {
            a.request(now, format!(r#"{{"transaction":"t{i}"}}"#).as_bytes(), Properties::default());
        }
        assert_eq!((a.waiting.len(), a.order.len()), (MAX_REMEMBERED, MAX_REMEMBERED));
        assert!(a.answer(now, r#"{"janus":"pong","transaction":"t0"}"#).is_none(), "the oldest went first");
        assert!(a.answer(now, r#"{"janus":"pong","transaction":"t10"}"#).is_some());
    }
}
