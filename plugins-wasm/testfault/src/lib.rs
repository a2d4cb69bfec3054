//! `janus.plugin.testfault`: a plugin that misbehaves on request. **For tests only.**
//!
//! The gateway's tests use it to check that a plugin cannot hurt the gateway (CPU, memory,
//! panics, oversized events, too many rules) and that hot reload keeps state. Every request is
//! a `message` whose body names it in `request`:
//!
//! | request | what happens |
//! |---|---|
//! | `ping` | ok `{"testfault":"pong","version":V,"count":N}`; `N` counts pings and survives reloads |
//! | `spin` | an endless loop (the CPU limit must stop it) |
//! | `alloc` `{mb}` | allocates and touches `mb` MiB (past the memory limit: a trap) |
//! | `panic` | panics (a trap) |
//! | `big-event` `{bytes}` | pushes an event whose `data` string has `bytes` bytes, then ok `{"testfault":"big-event","bytes":B,"pushed":bool,"error":text\|null}` |
//! | `rules` `{count}` | asks for `count` echo rules, then ok `{"testfault":"rules","requested":C,"ok":N,"error":first error\|null}` |
//! | `async` | `ack`, then the event `{"testfault":"event","result":"later"}` with the transaction |
//! | `config` | ok `{"testfault":"config","config":<what init received>}` |
//! | `end` | ends its own handle (`end-handle`), then ok `{"testfault":"end"}` |
//! | `answer` | answers the client's offer (everything accepted): ack, then `{"result":"answered"}` with the JSEP |
//! | `forward` `{to_session, to_handle, kinds?}` | forwards this handle's media (only `kinds`, e.g. `["video"]`, if given) to another handle: ok `{"testfault":"forward","rule":id}` |
//! | `offer` `{from_session, from_handle, mids}` or `{from_input, mids}` | offers this handle those streams of another handle (or of an RTP input): ack, then `{"result":"offered","mids":[…]}` with the offer JSEP |
//! | `start` | (with the client's answer JSEP) forwards the offered streams: ok `{"testfault":"start","rules":[…]}` |
//! | `sleep` `{ms}` | sleeps through WASI (the host must refuse: a trap) |
//! | `clock_spin` | reads the clock in an endless loop (the CPU limit must stop it) |
//! | `host_spin` | calls `push-event-many` with a 200 KB event and no handles in an endless loop: little time of its own, much of the host's (the call's overall limit must stop it) |
//! | `broadcast` `{handles:[[session,handle],…]}` | one event `{"testfault":"broadcast"}` to those handles: ok `{"testfault":"broadcast","reached":N,"error":…}` |
//! | `events` `{count}` | pushes `count` events to its own handle: ok `{"testfault":"events","pushed":N,"error":first error\|null}` |
//! | `timers` `{count, ms}` | sets `count` timers of `ms` ms; each one that fires pushes `{"testfault":"timer","token":T}` to this handle |
//! | `handles` | ok `{"testfault":"handles","handles":[ids…]}`: the handles the plugin knows, sorted |
//! | `forward_then_panic` | makes an echo rule, then panics (the host must not keep the rule) |
//! | `join_room` `{subscribers:[[session,handle],…]}` | a publisher joining a room: offers each subscriber a data channel, forwards this handle to each, tells them all in one broadcast `{"joined":this handle}`, ack; each subscriber then gets `{"result":"offered"}` with its offer JSEP |
//! | `rtp_forward` `{mid, host, port, ssrc?, pt?, substream?, srtp_suite?, srtp_crypto?}` | sends this handle's stream `mid` as plain RTP to host:port: ok `{"testfault":"rtp_forward","rule":id}` or `{"error":…}` |
//! | `rtp_forward_input` `{input, mid, host, port, …}` | as `rtp_forward`, from a stream of an RTP input |
//! | `unforward` `{rule}` | removes a rule: ok `{"testfault":"unforwarded"}` |
//! | `set_layers` `{rule, substream?, temporal?}` | changes a rule's layers: ok `{"testfault":"layers","error":…}` |
//! | `udp_bind` `{address, tcp?}` | binds a UDP socket (with `tcp`, a TCP listener): ok `{"testfault":"udp_bind","socket":id,"local":addr}` or `{…,"error":…}`; datagrams then come to this handle as `{"datagram":{socket,from,data}}` |
//! | `udp_bind_then_panic` `{address}` | binds, then panics (the host must close the socket) |
//! | `udp_send` `{socket, to, data, count?, size?, then_ms?, then_data?}` | sends `count` datagrams `data0`, `data1`, … (padded to `size`); with `then_data`, waits `then_ms` on the clock and sends `then_data` too: ok `{"testfault":"udp_send","sent":N,"error":first error}` |
//! | `udp_close` `{socket}` | closes a socket |
//! | `leg_open` `{kind, codecs:[{pt,name,clock}], srtp_suite?}` | opens a plain RTP leg: ok `{"testfault":"leg","leg":id,"address":…,"sdp":…,"srtp_crypto":…}` or `{…,"error":…}` |
//! | `leg_connect` `{leg, address, rtcp_address?, rtcp_mux?, codec, dtmf_pt?, srtp_suite?, srtp_crypto?, latch?, latch_ip?}` | points a leg at its far end: ok `{"testfault":"leg_connect","error":…}` |
//! | `leg_close` `{leg}` | closes a leg |
//! | `leg_dtmf` `{leg, digits, duration?, gap?}` | sends DTMF on a leg: ok `{"testfault":"leg_dtmf","error":…}` |
//! | `forward_ep` `{src, dst, src_mid?, dst_mid?}` | a rule between endpoints (`{"peer":[session,handle]}` or `{"leg":id}`): ok `{"testfault":"forward_ep","rule":id}` or `{…,"error":…}` |
//! | `input_open` `{streams:[{mid,kind,codec,ports}], source?, bind?, no_media_ms?, rtsp?, reconnect_ms?, trap_playing?}` | opens an RTP input (pulling the `rtsp` URL if given): ok `{"testfault":"input","input":id,"ports":[[…]]}`; its `input-media` and `input-source` events come to this handle as `{"input_media":{input,mid,receiving}}` and `{"input_source":{input,playing,why}}`; with `trap_playing`, this instance traps on the news that the source plays (a rebuilt one does not) |
//! | `input_close` `{input}` | closes an input |
//! | `end_later` | ends this handle from a 10 ms timer |
//! | `last_hangup` | ok `{"testfault":"last_hangup","reason":text\|null}`: the reason of the last `hangup` media event |
//!
//! Versions, chosen at build time: the default build is version 1 ("1.0.0"), `--features v2`
//! is 2 ("2.0.0"), `--features refuse-restore` is 3 ("3.0.0") and refuses every snapshot.
//! `init` fails when the configuration has `general.fail_init` true (a canary that must fail);
//! `create-handle` refuses every attach when it has `general.refuse_attach` true;
//! `query-handle` answers a JSON string instead of an object when `general.bad_query` is true.

#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::hint::black_box;

use portunus_sdk::{
    ack, event, host, json, request_of, AnswerPolicy, Direction, Endpoint, ErrorCodes, Field, ForwardOptions,
    ForwardSource, HandleRef, InputOptions, InputStream, JsonType, Keyed, LegCodec, LegOptions, LegRemote,
    MediaEvent, MediaKind, Message, OfferedStream, Plugin, PluginError, PluginInfo, Reply, RtpTarget,
    RtspSource, Saved, SourceState, SrtpKey, SrtpSuite, StateChange, StateEntry, Value,
};
use serde::{Deserialize, Serialize};

const PACKAGE: &str = "janus.plugin.testfault";

#[cfg(feature = "refuse-restore")]
const VERSION: (u32, &str) = (3, "3.0.0");
#[cfg(all(feature = "v2", not(feature = "refuse-restore")))]
const VERSION: (u32, &str) = (2, "2.0.0");
#[cfg(not(any(feature = "v2", feature = "refuse-restore")))]
const VERSION: (u32, &str) = (1, "1.0.0");

const CODES: ErrorCodes = ErrorCodes { invalid_json: 491, missing_element: 492, invalid_element: 493 };
const ERROR_UNKNOWN_REQUEST: u32 = 494;
/// The timer token with which testfault ends the handle of `end_later`.
const END_LATER: u64 = u64::MAX;

const ALLOC: &[Field] = &[Field::new("mb", JsonType::Integer).required().positive()];
const BIG_EVENT: &[Field] = &[Field::new("bytes", JsonType::Integer).required().positive()];
const RULES: &[Field] = &[Field::new("count", JsonType::Integer).required().positive()];
const SLEEP: &[Field] = &[Field::new("ms", JsonType::Integer).required().positive()];
const TIMERS: &[Field] = &[
    Field::new("count", JsonType::Integer).required().positive(),
    Field::new("ms", JsonType::Integer).positive(),
];

#[derive(Deserialize)]
struct Sleep {
    ms: u64,
}

#[derive(Deserialize)]
struct Timers {
    count: u64,
    ms: Option<u64>,
}

#[derive(Deserialize)]
struct Alloc {
    mb: u64,
}

#[derive(Deserialize)]
struct BigEvent {
    bytes: u64,
}

#[derive(Deserialize)]
struct Rules {
    count: u64,
}

/// The plugin's state: the ping counter, the known handles and the pending offers (saved
/// entry by entry) and the configuration (from this instance's `init`, never saved).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TestFault {
    count: Saved<u64>,
    /// The handles attached to the plugin (handle id → session id).
    handles: Keyed<u64, u64>,
    /// Per subscriber handle: the streams offered to it, as (source session, source handle,
    /// source mid, our mid), forwarded once its answer arrives with `start`.
    offered: Keyed<u64, Vec<(u64, u64, String, String)>>,
    /// Negotiations the host is making, by id.
    negotiating: Keyed<u64, Negotiating>,
    /// The handle whose `timers` or `udp_bind` request came last: (session, handle). Timer
    /// and datagram events go to it.
    timer_handle: Saved<Option<(u64, u64)>>,
    /// The reason of the last `hangup` media event.
    last_hangup: Saved<Option<String>>,
    #[serde(skip)]
    config: Value,
    /// Trap on the news that an input's source plays (never saved: a rebuilt instance does not).
    #[serde(skip)]
    trap_playing: bool,
}

/// A negotiation the host is making for a request.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Negotiating {
    handle: HandleRef,
    transaction: String,
    /// For an offer: the source (session, handle) and its mids offered, in order.
    offered: Option<(u64, u64, Vec<String>)>,
}

/// A list of `[session, handle]` pairs from the body.
fn handle_pairs(body: &serde_json::Map<String, Value>, key: &str) -> Vec<HandleRef> {
    let pairs = body.get(key).and_then(Value::as_array).into_iter().flatten();
    pairs
        .filter_map(|pair| {
            Some(HandleRef { session: pair.get(0)?.as_u64()?, handle: pair.get(1)?.as_u64()? })
        })
        .collect()
}

fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

impl TestFault {
    /// An event to the handle whose `timers`, `udp_bind` or `input_open` came last.
    fn tell(&self, body: Value) {
        if let Some((session, handle)) = *self.timer_handle {
            let _ =
                portunus_sdk::push_event(HandleRef { session, handle }, None, &event(PACKAGE, body), None);
        }
    }

    fn request(&mut self, msg: &Message) -> Result<Reply, PluginError> {
        let body = msg.body_object(&CODES)?;
        let handle = msg.handle;
        match request_of(&body, &CODES)? {
            "ping" => {
                *self.count += 1;
                Ok(portunus_sdk::ok(
                    &json!({"testfault": "pong", "version": VERSION.0, "count": *self.count}),
                ))
            }
            "sleep" => {
                let Sleep { ms } = msg.parse_body(SLEEP, &CODES)?;
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(portunus_sdk::ok(&json!({"testfault": "slept"})))
            }
            "clock_spin" => loop {
                black_box(std::time::Instant::now());
            },
            "host_spin" => {
                // 200 KB of JSON that the host parses on every call (to no handle at all).
                let heavy = format!("{{\"a\":[{}0]}}", "0,".repeat(100_000));
                loop {
                    black_box(host::push_event_many(&[], &heavy).ok());
                }
            }
            "broadcast" => {
                let handles = handle_pairs(&body, "handles");
                let sent =
                    portunus_sdk::push_event_many(&handles, &event(PACKAGE, json!({"broadcast": true})));
                Ok(portunus_sdk::ok(&json!({
                    "testfault": "broadcast",
                    "reached": sent.as_ref().ok(),
                    "error": sent.err(),
                })))
            }
            "events" => {
                let Rules { count } = msg.parse_body(RULES, &CODES)?;
                let mut pushed = 0u64;
                let mut first_error = None;
                for i in 0..count {
                    match msg.push_event(&event(PACKAGE, json!({"n": i})), None) {
                        Ok(()) => pushed += 1,
                        Err(err) => {
                            first_error.get_or_insert(err);
                        }
                    }
                }
                Ok(portunus_sdk::ok(&json!({"testfault": "events", "pushed": pushed, "error": first_error})))
            }
            "timers" => {
                let Timers { count, ms } = msg.parse_body(TIMERS, &CODES)?;
                let ms = u32::try_from(ms.unwrap_or(10)).unwrap_or(u32::MAX);
                for i in 0..count {
                    host::set_timer(i, ms);
                }
                *self.timer_handle = Some((handle.session, handle.handle));
                Ok(portunus_sdk::ok(&json!({"testfault": "timers", "count": count})))
            }
            "join_room" => {
                let subscribers = handle_pairs(&body, "subscribers");
                let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
                for sub in &subscribers {
                    match host::offer(*sub, &[OfferedStream::Data]) {
                        Ok(id) => {
                            let offered = Some((0, 0, Vec::new()));
                            let pending =
                                Negotiating { handle: *sub, transaction: msg.transaction.clone(), offered };
                            self.negotiating.insert(id, pending);
                        }
                        Err(err) => portunus_sdk::warn!("join_room: offer to {}: {err}", sub.handle),
                    }
                    if let Err(err) =
                        host::forward(Endpoint::Peer(handle), None, Endpoint::Peer(*sub), None, &options)
                    {
                        portunus_sdk::warn!("join_room: forward to {}: {err}", sub.handle);
                    }
                }
                let joined = event(PACKAGE, json!({"joined": handle.handle}));
                if let Err(err) = portunus_sdk::push_event_many(&subscribers, &joined) {
                    portunus_sdk::warn!("join_room: broadcast: {err}");
                }
                Ok(ack(None))
            }
            "last_hangup" => {
                Ok(portunus_sdk::ok(&json!({"testfault": "last_hangup", "reason": *self.last_hangup})))
            }
            "handles" => {
                let handles: Vec<u64> = self.handles.keys().copied().collect();
                Ok(portunus_sdk::ok(&json!({"testfault": "handles", "handles": handles})))
            }
            "forward_then_panic" => {
                let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
                let _ = host::forward(Endpoint::Peer(handle), None, Endpoint::Peer(handle), None, &options);
                panic!("testfault: panicking after a forward");
            }
            "spin" => loop {
                black_box(&mut self.count);
            },
            "alloc" => {
                let Alloc { mb } = msg.parse_body(ALLOC, &CODES)?;
                let bytes = usize::try_from(mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
                // Infallible on purpose: past the memory limit this aborts, which traps.
                let mut block: Vec<u8> = Vec::with_capacity(bytes);
                block.resize(bytes, 0xa5);
                black_box(&block);
                Ok(portunus_sdk::ok(&json!({"testfault": "alloc", "mb": mb})))
            }
            "panic" => panic!("testfault: panicking on request"),
            "big-event" => {
                let BigEvent { bytes } = msg.parse_body(BIG_EVENT, &CODES)?;
                let data = "x".repeat(usize::try_from(bytes).unwrap_or(usize::MAX));
                let pushed = msg.push_event(&event(PACKAGE, json!({ "data": data })), None);
                Ok(portunus_sdk::ok(&json!({
                    "testfault": "big-event",
                    "bytes": bytes,
                    "pushed": pushed.is_ok(),
                    "error": pushed.err(),
                })))
            }
            "rules" => {
                let Rules { count } = msg.parse_body(RULES, &CODES)?;
                let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
                let mut ok = 0u64;
                let mut first_error = None;
                for _ in 0..count {
                    match host::forward(Endpoint::Peer(handle), None, Endpoint::Peer(handle), None, &options)
                    {
                        Ok(_) => ok += 1,
                        Err(err) => {
                            first_error.get_or_insert(err);
                        }
                    }
                }
                Ok(portunus_sdk::ok(&json!({
                    "testfault": "rules",
                    "requested": count,
                    "ok": ok,
                    "error": first_error,
                })))
            }
            "accept" => {
                // Works `ms` of CPU (waiting would trap), then accepts the request without
                // ever answering it: as a request whose answer a crash would lose.
                let Sleep { ms } = msg.parse_body(SLEEP, &CODES)?;
                let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
                while std::time::Instant::now() < until {
                    black_box(());
                }
                Ok(ack(None))
            }
            "async" => {
                if let Err(err) = msg.push_event(&event(PACKAGE, json!({"result": "later"})), None) {
                    portunus_sdk::warn!("async: could not push the event: {err}");
                }
                Ok(ack(None))
            }
            "answer" => {
                // Answers the client's offer with everything accepted, in our `direction`
                // (default sendrecv); the answer follows the ack.
                let sdp = msg.parsed_jsep().map(|j| j.sdp).unwrap_or_default();
                let direction = match body.get("direction").and_then(|d| d.as_str()) {
                    None | Some("sendrecv") => Direction::Sendrecv,
                    Some("sendonly") => Direction::Sendonly,
                    Some("recvonly") => Direction::Recvonly,
                    Some("inactive") => Direction::Inactive,
                    Some(other) => {
                        return Err(PluginError::new(CODES.invalid_element, format!("bad direction {other}")))
                    }
                };
                let policy = AnswerPolicy {
                    audio: true,
                    video: true,
                    data: true,
                    audio_codecs: Vec::new(),
                    video_codecs: Vec::new(),
                    simulcast: false,
                    direction,
                };
                match host::answer(handle, &sdp, &policy) {
                    Ok(id) => {
                        let pending =
                            Negotiating { handle, transaction: msg.transaction.clone(), offered: None };
                        self.negotiating.insert(id, pending);
                    }
                    Err(err) => {
                        let _ = msg.push_event(&event(PACKAGE, json!({"error": err})), None);
                    }
                }
                Ok(ack(None))
            }
            "forward" => {
                // Forwards this handle's media to another handle (`to_session`, `to_handle`).
                let body = msg.body_object(&CODES)?;
                let num = |k: &str| body.get(k).and_then(Value::as_u64).unwrap_or(0);
                let dst = HandleRef { session: num("to_session"), handle: num("to_handle") };
                let kinds = body
                    .get("kinds")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| match k.as_str() {
                                Some("audio") => Some(MediaKind::Audio),
                                Some("video") => Some(MediaKind::Video),
                                Some("data") => Some(MediaKind::Data),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let options = ForwardOptions { kinds, substream: None, temporal: None };
                let rule = host::forward(Endpoint::Peer(handle), None, Endpoint::Peer(dst), None, &options);
                Ok(portunus_sdk::ok(
                    &json!({"testfault": "forward", "rule": rule.as_ref().ok(), "error": rule.err()}),
                ))
            }
            "offer" => {
                // Offers this handle the streams `mids` of another handle (`from_session`,
                // `from_handle`); the offer JSEP follows the ack with the mids it gave them.
                let body = msg.body_object(&CODES)?;
                let num = |k: &str| body.get(k).and_then(Value::as_u64).unwrap_or(0);
                // From a handle, or from an RTP input (`from_input`; kept as session 0).
                let src = match num("from_input") {
                    0 => HandleRef { session: num("from_session"), handle: num("from_handle") },
                    input => HandleRef { session: 0, handle: input },
                };
                let source = if src.session == 0 { Endpoint::Input(src.handle) } else { Endpoint::Peer(src) };
                let mids: Vec<String> = body
                    .get("mids")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
                let streams: Vec<OfferedStream> = mids
                    .iter()
                    .map(|mid| OfferedStream::Forward(ForwardSource { source, mid: mid.clone() }))
                    .collect();
                match host::offer(handle, &streams) {
                    Ok(id) => {
                        let offered = Some((src.session, src.handle, mids));
                        let pending = Negotiating { handle, transaction: msg.transaction.clone(), offered };
                        self.negotiating.insert(id, pending);
                    }
                    Err(err) => {
                        let _ = msg.push_event(&event(PACKAGE, json!({"error": err})), None);
                    }
                }
                Ok(ack(None))
            }
            "start" => {
                // The answer to our offer came with this message (the host applied it): forward.
                let pairs = self.offered.remove(&handle.handle).unwrap_or_default();
                let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
                let rules: Vec<Value> = pairs
                    .into_iter()
                    .map(|(session, h, from, to)| {
                        let src = match session {
                            0 => Endpoint::Input(h),
                            _ => Endpoint::Peer(HandleRef { session, handle: h }),
                        };
                        match host::forward(src, Some(&from), Endpoint::Peer(handle), Some(&to), &options) {
                            Ok(rule) => json!(rule),
                            Err(e) => json!(e),
                        }
                    })
                    .collect();
                Ok(portunus_sdk::ok(&json!({"testfault": "start", "rules": rules})))
            }
            "config" => Ok(portunus_sdk::ok(&json!({"testfault": "config", "config": self.config}))),
            "jsep" => {
                let jsep: Value =
                    msg.jsep.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or(Value::Null);
                Ok(portunus_sdk::ok(&json!({"testfault": "jsep", "jsep": jsep})))
            }
            "end" => {
                host::end_handle(handle);
                Ok(portunus_sdk::ok(&json!({"testfault": "end"})))
            }
            "close_pc" => {
                host::close_pc(handle);
                Ok(portunus_sdk::ok(&json!({"testfault": "closed"})))
            }
            request @ ("rtp_forward" | "rtp_forward_input") => {
                let body = msg.body_object(&CODES)?;
                let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                let num = |k: &str| body.get(k).and_then(Value::as_u64);
                let target = RtpTarget {
                    host: text("host"),
                    port: num("port").and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
                    ssrc: num("ssrc").and_then(|s| u32::try_from(s).ok()),
                    payload_type: num("pt").and_then(|p| u8::try_from(p).ok()),
                    // Janus's rtp_forward names the suite by its tag length.
                    srtp: body.get("srtp_crypto").and_then(Value::as_str).map(|key| SrtpKey {
                        suite: match num("srtp_suite") {
                            Some(32) => SrtpSuite::AesCm128HmacSha132,
                            _ => SrtpSuite::AesCm128HmacSha180,
                        },
                        key: key.to_owned(),
                    }),
                };
                let options = ForwardOptions {
                    kinds: Vec::new(),
                    substream: num("substream").and_then(|s| u8::try_from(s).ok()),
                    temporal: None,
                };
                let src = match request {
                    "rtp_forward_input" => Endpoint::Input(num("input").unwrap_or(0)),
                    _ => Endpoint::Peer(handle),
                };
                Ok(portunus_sdk::ok(&match host::forward_rtp(src, &text("mid"), &target, &options) {
                    Ok(rule) => json!({"testfault": "rtp_forward", "rule": rule}),
                    Err(e) => json!({"testfault": "rtp_forward", "error": e}),
                }))
            }
            "unforward" => {
                let rule = msg.body_object(&CODES)?.get("rule").and_then(Value::as_u64).unwrap_or(0);
                host::unforward(rule);
                Ok(portunus_sdk::ok(&json!({"testfault": "unforwarded"})))
            }
            "set_layers" => {
                let body = msg.body_object(&CODES)?;
                let num = |k: &str| body.get(k).and_then(Value::as_u64).and_then(|n| u8::try_from(n).ok());
                let rule = body.get("rule").and_then(Value::as_u64).unwrap_or(0);
                let error = host::set_layers(rule, num("substream"), num("temporal")).err();
                Ok(portunus_sdk::ok(&json!({"testfault": "layers", "error": error})))
            }
            request @ ("udp_bind" | "udp_bind_then_panic") => {
                let body = msg.body_object(&CODES)?;
                let address = body.get("address").and_then(Value::as_str).unwrap_or_default().to_owned();
                let tcp = body.get("tcp").and_then(Value::as_bool).unwrap_or(false);
                *self.timer_handle = Some((handle.session, handle.handle));
                let bound = if tcp { host::tcp_listen(&address) } else { host::udp_bind(&address) };
                if request == "udp_bind_then_panic" {
                    panic!("testfault: udp_bind_then_panic");
                }
                Ok(portunus_sdk::ok(&match bound {
                    Ok(s) => json!({"testfault": "udp_bind", "socket": s.id, "local": s.local}),
                    Err(e) => json!({"testfault": "udp_bind", "error": e}),
                }))
            }
            "udp_send" => {
                let body = msg.body_object(&CODES)?;
                let socket = body
                    .get("socket")
                    .and_then(Value::as_u64)
                    .and_then(|s| u32::try_from(s).ok())
                    .unwrap_or(0);
                let to = body.get("to").and_then(Value::as_str).unwrap_or_default();
                let data = body.get("data").and_then(Value::as_str).unwrap_or_default();
                let size = body.get("size").and_then(Value::as_u64).unwrap_or(0) as usize;
                let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
                let (mut sent, mut error) = (0, None);
                let mut send = |bytes: &[u8]| match host::udp_send(socket, to, bytes) {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        error.get_or_insert(e);
                    }
                };
                for i in 0..count {
                    let mut bytes = format!("{data}{i}").into_bytes();
                    bytes.resize(bytes.len().max(size), b'.');
                    send(&bytes);
                }
                if let Some(then) = body.get("then_data").and_then(Value::as_str) {
                    let ms = body.get("then_ms").and_then(Value::as_u64).unwrap_or(0);
                    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
                    while std::time::Instant::now() < until {
                        black_box(());
                    }
                    send(then.as_bytes());
                }
                Ok(portunus_sdk::ok(&json!({"testfault": "udp_send", "sent": sent, "error": error})))
            }
            "udp_close" => {
                let socket = msg.body_object(&CODES)?.get("socket").and_then(Value::as_u64).unwrap_or(0);
                host::udp_close(u32::try_from(socket).unwrap_or(0));
                Ok(portunus_sdk::ok(&json!({"testfault": "udp_closed"})))
            }
            "leg_open" => {
                let body = msg.body_object(&CODES)?;
                let kind = match body.get("kind").and_then(Value::as_str) {
                    Some("video") => MediaKind::Video,
                    _ => MediaKind::Audio,
                };
                let codecs =
                    body.get("codecs").and_then(Value::as_array).map(|a| a.iter().map(leg_codec).collect());
                let options = LegOptions {
                    kind,
                    codecs: codecs.unwrap_or_default(),
                    srtp: suite(&body),
                    local_ip: None,
                };
                Ok(portunus_sdk::ok(&match host::rtp_leg_open(handle, &options) {
                    Ok(l) => json!({"testfault": "leg", "leg": l.id, "address": l.address, "sdp": l.sdp,
                                    "srtp_crypto": l.srtp.map(|k| k.key)}),
                    Err(e) => json!({"testfault": "leg", "error": e}),
                }))
            }
            "leg_connect" => {
                let body = msg.body_object(&CODES)?;
                let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
                let remote = LegRemote {
                    address: text("address").unwrap_or_default(),
                    rtcp_address: text("rtcp_address"),
                    rtcp_mux: body.get("rtcp_mux").and_then(Value::as_bool).unwrap_or(false),
                    codec: leg_codec(&body["codec"]),
                    dtmf_pt: body.get("dtmf_pt").and_then(Value::as_u64).and_then(|p| u8::try_from(p).ok()),
                    srtp: suite(&body).zip(text("srtp_crypto")).map(|(suite, key)| SrtpKey { suite, key }),
                    latch: body.get("latch").and_then(Value::as_bool).unwrap_or(false),
                    latch_ip: text("latch_ip"),
                };
                let leg = body.get("leg").and_then(Value::as_u64).unwrap_or(0);
                let error = host::rtp_leg_connect(leg, &remote).err();
                Ok(portunus_sdk::ok(&json!({"testfault": "leg_connect", "error": error})))
            }
            "leg_dtmf" => {
                let body = msg.body_object(&CODES)?;
                let num = |k: &str| body.get(k).and_then(Value::as_u64).unwrap_or(0);
                let digits = body.get("digits").and_then(Value::as_str).unwrap_or_default();
                let error =
                    host::rtp_leg_dtmf(num("leg"), digits, num("duration") as u32, num("gap") as u32).err();
                Ok(portunus_sdk::ok(&json!({"testfault": "leg_dtmf", "error": error})))
            }
            "leg_close" => {
                host::rtp_leg_close(msg.body_object(&CODES)?.get("leg").and_then(Value::as_u64).unwrap_or(0));
                Ok(portunus_sdk::ok(&json!({"testfault": "leg_closed"})))
            }
            "forward_ep" => {
                let body = msg.body_object(&CODES)?;
                let text = |k: &str| body.get(k).and_then(Value::as_str);
                let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
                let rule = match (endpoint(&body["src"]), endpoint(&body["dst"])) {
                    (Some(src), Some(dst)) => {
                        host::forward(src, text("src_mid"), dst, text("dst_mid"), &options)
                    }
                    _ => Err("src and dst must be {\"peer\":[session,handle]} or {\"leg\":id}".to_owned()),
                };
                Ok(portunus_sdk::ok(&match rule {
                    Ok(rule) => json!({"testfault": "forward_ep", "rule": rule}),
                    Err(e) => json!({"testfault": "forward_ep", "error": e}),
                }))
            }
            "input_open" => {
                let body = msg.body_object(&CODES)?;
                let streams = body.get("streams").and_then(Value::as_array).cloned().unwrap_or_default();
                let streams = streams
                    .iter()
                    .map(|st| InputStream {
                        mid: st.get("mid").and_then(Value::as_str).unwrap_or_default().to_owned(),
                        kind: match st.get("kind").and_then(Value::as_str) {
                            Some("video") => MediaKind::Video,
                            Some("data") => MediaKind::Data,
                            _ => MediaKind::Audio,
                        },
                        codec: leg_codec(&st["codec"]),
                        fmtp: st.get("fmtp").and_then(Value::as_str).map(str::to_owned),
                        ports: st
                            .get("ports")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().filter_map(|p| p.as_u64()).map(|p| p as u16).collect())
                            .unwrap_or_else(|| vec![0]),
                        ssrcs: st
                            .get("ssrcs")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().filter_map(|s| s.as_u64()).map(|s| s as u32).collect())
                            .unwrap_or_default(),
                        rtcp_port: st.get("rtcp_port").and_then(Value::as_u64).map(|p| p as u16),
                        mcast: st.get("mcast").and_then(Value::as_str).map(str::to_owned),
                    })
                    .collect();
                let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
                let options = InputOptions {
                    bind: text("bind"),
                    source: text("source"),
                    streams,
                    no_media_ms: body.get("no_media_ms").and_then(Value::as_u64).unwrap_or(0) as u32,
                    collision_ms: 0,
                    srtp: None,
                    file: None,
                    loop_file: false,
                    file_on_demand: false,
                    rtsp: text("rtsp").map(|url| RtspSource {
                        url,
                        user: None,
                        password: None,
                        interleaved: false,
                        timeout_ms: 0,
                        connect_timeout_ms: 0,
                        reconnect_ms: body.get("reconnect_ms").and_then(Value::as_u64).unwrap_or(0) as u32,
                        keepalive_ms: 0,
                        path_only_retry: false,
                    }),
                };
                self.trap_playing = body.get("trap_playing").is_some_and(is_true);
                *self.timer_handle = Some((handle.session, handle.handle));
                Ok(portunus_sdk::ok(&match host::rtp_input_open(&options) {
                    Ok(l) => json!({"testfault": "input", "input": l.id, "ports": l.ports}),
                    Err(e) => json!({"testfault": "input", "error": e}),
                }))
            }
            "input_close" => {
                host::rtp_input_close(
                    msg.body_object(&CODES)?.get("input").and_then(Value::as_u64).unwrap_or(0),
                );
                Ok(portunus_sdk::ok(&json!({"testfault": "input_closed"})))
            }
            "end_later" => {
                // Ends the handle from a timer: an effect asked for outside any message.
                host::set_timer(END_LATER, 10);
                *self.timer_handle = Some((handle.session, handle.handle));
                Ok(portunus_sdk::ok(&json!({"testfault": "ending"})))
            }
            other => Err(PluginError::new(ERROR_UNKNOWN_REQUEST, format!("Unknown request '{other}'"))),
        }
    }
}

/// `{"pt":…, "name":…, "clock":…}` as a leg codec.
fn leg_codec(v: &Value) -> LegCodec {
    let num = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    LegCodec {
        pt: u8::try_from(num("pt")).unwrap_or(0),
        name: v.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
        clock: u32::try_from(num("clock")).unwrap_or(0),
    }
}

/// `srtp_suite` 80 or 32, as Janus names suites.
fn suite(body: &serde_json::Map<String, Value>) -> Option<SrtpSuite> {
    match body.get("srtp_suite").and_then(Value::as_u64) {
        Some(80) => Some(SrtpSuite::AesCm128HmacSha180),
        Some(32) => Some(SrtpSuite::AesCm128HmacSha132),
        _ => None,
    }
}

/// `{"peer":[session,handle]}` or `{"leg":id}` as an endpoint.
fn endpoint(v: &Value) -> Option<Endpoint> {
    if let Some(id) = v.get("leg").and_then(Value::as_u64) {
        return Some(Endpoint::Leg(id));
    }
    let pair = v.get("peer")?.as_array()?;
    Some(Endpoint::Peer(HandleRef { session: pair.first()?.as_u64()?, handle: pair.get(1)?.as_u64()? }))
}

impl Plugin for TestFault {
    fn init(&mut self, config: &Value) -> Result<PluginInfo, String> {
        if is_true(&config["general"]["fail_init"]) {
            return Err("fail_init is set".to_owned());
        }
        self.config = config.clone();
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: "Portunus test fault plugin".to_owned(),
            author: "Portunus".to_owned(),
            description: "Misbehaves on request, to test the gateway's plugin containment and hot reload."
                .to_owned(),
            version: VERSION.0,
            version_string: VERSION.1.to_owned(),
        })
    }

    fn create_handle(&mut self, handle: HandleRef) -> Result<(), String> {
        if is_true(&self.config["general"]["refuse_attach"]) {
            return Err("refuse_attach is set".to_owned());
        }
        self.handles.insert(handle.handle, handle.session);
        Ok(())
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.handles.remove(&handle.handle);
        self.offered.remove(&handle.handle);
    }

    fn timer(&mut self, token: u64) {
        let Some((session, handle)) = *self.timer_handle else { return };
        if token == END_LATER {
            return host::end_handle(HandleRef { session, handle });
        }
        let _ = portunus_sdk::push_event(
            HandleRef { session, handle },
            None,
            &event(PACKAGE, json!({"timer": token})),
            None,
        );
    }

    fn input_source(&mut self, input: u64, state: SourceState) {
        let (playing, why) = match state {
            SourceState::Playing(_) => (true, None),
            SourceState::Lost(why) => (false, Some(why)),
        };
        if playing && self.trap_playing {
            panic!("testfault: trapping on the news that input {input} plays");
        }
        self.tell(json!({"input_source": {"input": input, "playing": playing, "why": why}}));
    }

    fn input_media(&mut self, input: u64, mid: String, receiving: bool) {
        self.tell(json!({"input_media": {"input": input, "mid": mid, "receiving": receiving}}));
    }

    fn datagram(&mut self, socket: u32, from: String, data: Vec<u8>) {
        let data = String::from_utf8_lossy(&data);
        self.tell(json!({"datagram": {"socket": socket, "from": from, "data": data}}));
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        self.request(&msg).unwrap_or_else(|err| err.into_reply(PACKAGE))
    }

    fn handle_admin_message(&mut self, request: Value) -> Result<Value, String> {
        Ok(json!({"testfault": "admin", "version": VERSION.0, "count": *self.count, "request": request}))
    }

    fn query_handle(&self, _handle: HandleRef) -> Value {
        if is_true(&self.config["general"]["bad_query"]) {
            return json!("not an object");
        }
        json!({"version": VERSION.0, "count": *self.count})
    }

    fn media_event(&mut self, handle: HandleRef, media_event: MediaEvent) {
        match media_event {
            MediaEvent::Hangup(reason) => *self.last_hangup = Some(reason),
            MediaEvent::Negotiation(result) => {
                let Some(pending) = self.negotiating.remove(&result.id) else {
                    // Asked for before a crash rolled this instance back: the JSEP still goes
                    // to its handle, without the transaction it no longer knows.
                    if let Ok(done) = result.outcome {
                        let data = event(PACKAGE, json!({"result": "negotiated"}));
                        let _ = portunus_sdk::push_event(handle, None, &data, done.jsep.as_deref());
                    }
                    return;
                };
                let (handle, tx) = (pending.handle, Some(pending.transaction.as_str()));
                let pushed = match (result.outcome, pending.offered) {
                    (Ok(done), None) => portunus_sdk::push_event(
                        handle,
                        tx,
                        &event(PACKAGE, json!({"result": "answered"})),
                        done.jsep.as_deref(),
                    ),
                    (Ok(done), Some((session, source, from))) => {
                        let pairs = from
                            .iter()
                            .zip(&done.mids)
                            .map(|(from, to)| (session, source, from.clone(), to.clone()))
                            .collect();
                        self.offered.insert(handle.handle, pairs);
                        let data = json!({"result": "offered", "mids": done.mids});
                        portunus_sdk::push_event(handle, tx, &event(PACKAGE, data), done.jsep.as_deref())
                    }
                    (Err(err), _) => {
                        portunus_sdk::push_event(handle, tx, &event(PACKAGE, json!({"error": err})), None)
                    }
                };
                if let Err(err) = pushed {
                    portunus_sdk::warn!("could not push the negotiation's event: {err}");
                }
            }
            _ => {}
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.count.save("count", full, &mut out);
        self.handles.save("handle/", full, &mut out);
        self.offered.save("offered/", full, &mut out);
        self.timer_handle.save("timer_handle", full, &mut out);
        self.last_hangup.save("last_hangup", full, &mut out);
        self.negotiating.save("negotiating/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        if cfg!(feature = "refuse-restore") {
            return Err("refusing old state".to_owned());
        }
        // The configuration stays this instance's: only saved entries come back.
        self.count.load("count", &entries)?;
        self.handles.load("handle/", &entries)?;
        self.offered.load("offered/", &entries)?;
        self.timer_handle.load("timer_handle", &entries)?;
        self.last_hangup.load("last_hangup", &entries)?;
        self.negotiating.load("negotiating/", &entries)
    }
}

portunus_sdk::export_plugin!(TestFault);
