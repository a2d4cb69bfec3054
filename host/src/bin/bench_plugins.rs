//! `portunus-bench-plugins`: costs of the wasm plugin runtime, measured in-process with the
//! plugins built by `host/build.rs` (Rust guests) and a real media engine on loopback:
//!
//! - one request (an EchoTest message, up to its event) with the plugin holding 10, 1,000
//!   and 10,000 handles: median and p99, and the ratio to the 10-handle figure; the same for
//!   one attach;
//! - a publisher joining a room of 500 subscribers (500 offers, 500 forwards, one broadcast
//!   and 500 offer events), from the request to the last event delivered;
//! - one event to 500 handles (`push-event-many`), from the request to the 500th delivery;
//! - the runtime basics: a message through the actor, through the whole WebSocket path,
//!   instantiate time, reload pause;
//! - the EchoTest built in Rust, Python and JavaScript: component size, cold compile, cached
//!   load, instantiate time and memory, one request's median and p99, the reload pause.
//!
//! ```sh
//! cargo run --release --bin portunus-bench-plugins [-- --rounds 2000] [--only scaling|room|basics|languages] [--sizes 10,1000,10000]
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use portunus::api::plugin::{PluginMessage, PluginReply};
use portunus::api::session::{ClientKey, EventSink};
use portunus::api::{Core, CoreOptions, PathIds, RequestCtx};
use portunus::config::{General, JsonStyle, Media, Nat};
use portunus::media::{MediaEngine, Tunables};
use portunus::plugins::{PluginHost, Registry};
use portunus::transport::state::{Kind, TransportState};
use portunus::transport::{self, ws};
use portunus::vocab::HandleRef;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const TESTFAULT: &str = "janus.plugin.testfault";
const ECHOTEST: &str = "janus.plugin.echotest";

/// Counts the events delivered to its sessions and wakes a waiter at a target.
struct Counter {
    id: u64,
    seen: AtomicUsize,
    target: AtomicUsize,
    reached: Notify,
}

impl EventSink for Counter {
    fn deliver(&self, _event: &Value) -> bool {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.target.load(Ordering::SeqCst) {
            self.reached.notify_one();
        }
        true
    }

    fn connection_id(&self) -> u64 {
        self.id
    }
}

static NEXT_SINK: AtomicU64 = AtomicU64::new(1_000_000);

impl Counter {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            id: NEXT_SINK.fetch_add(1, Ordering::Relaxed),
            seen: AtomicUsize::new(0),
            target: AtomicUsize::new(usize::MAX),
            reached: Notify::new(),
        })
    }

    /// Expects `more` events from now on.
    fn expect(&self, more: usize) {
        self.target.store(self.seen.load(Ordering::SeqCst) + more, Ordering::SeqCst);
    }

    async fn wait(&self) -> anyhow::Result<()> {
        if self.seen.load(Ordering::SeqCst) >= self.target.load(Ordering::SeqCst) {
            return Ok(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.reached.notified())
            .await
            .map_err(|_| anyhow::anyhow!("events did not arrive in 30 s"))
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// An in-process client of the core whose events go to a counter.
struct Client {
    core: Core,
    ctx: RequestCtx,
    sink: Arc<Counter>,
}

impl Client {
    fn new(core: &Core) -> Self {
        let sink = Counter::new();
        let ctx = RequestCtx {
            sink: Some(sink.clone() as Arc<dyn EventSink>),
            client: ClientKey::Connection(sink.id),
            path: PathIds::default(),
            instance: portunus::api::Instance { transport: "janus.transport.websockets", id: sink.id },
        };
        Self { core: core.clone(), ctx, sink }
    }

    /// One request; its deferred events are delivered before it returns.
    async fn call(&self, req: Value) -> anyhow::Result<Value> {
        let mut req = req;
        req["transaction"] = json!("t");
        let r = self.core.handle_api(req.to_string().as_bytes(), &self.ctx).await;
        if r.body["janus"] == "error" {
            anyhow::bail!("{} failed: {}", req["janus"], r.body);
        }
        self.core.deliver(r.deferred);
        Ok(r.body)
    }

    async fn create(&self) -> anyhow::Result<u64> {
        let r = self.call(json!({"janus": "create"})).await?;
        r["data"]["id"].as_u64().ok_or_else(|| anyhow::anyhow!("create: {r}"))
    }

    async fn attach(&self, sid: u64, plugin: &str) -> anyhow::Result<u64> {
        let r = self.call(json!({"janus": "attach", "session_id": sid, "plugin": plugin})).await?;
        r["data"]["id"].as_u64().ok_or_else(|| anyhow::anyhow!("attach: {r}"))
    }
}

/// Request costs with the plugin holding more and more handles.
async fn scaling(core: &Core, host: &PluginHost, rounds: usize, sizes: &[usize]) -> anyhow::Result<()> {
    println!(
        "EchoTest request cost by handles held (in-process). 'work' is the plugin thread's own time per"
    );
    println!("request (the call and its checkpoint), steady; 'latency' is request to event, and includes");
    println!("thread wake-ups, which on this VM swing it between two modes from run to run:");
    let busy = || host.busy(ECHOTEST).unwrap_or_default();
    let client = Client::new(core);
    let sid = client.create().await?;
    let mut handles = Vec::new();
    let mut base: Option<f64> = None;
    for &size in sizes {
        while handles.len() < size {
            handles.push(client.attach(sid, ECHOTEST).await?);
        }
        // One attach (and its detach, to keep the size) at this size.
        let mut attach = Vec::with_capacity(200);
        let mut attach_work = 0u64;
        for _ in 0..200 {
            let (before, _) = busy();
            let t = Instant::now();
            let h = client.attach(sid, ECHOTEST).await?;
            attach.push(t.elapsed());
            wait_idle(host).await;
            attach_work += busy().0 - before;
            client.call(json!({"janus": "detach", "session_id": sid, "handle_id": h})).await?;
            wait_idle(host).await;
        }
        attach.sort();
        let (work_before, _) = busy();
        callgrind("--zero");
        let mut times = Vec::with_capacity(rounds);
        for i in 0..rounds {
            let h = handles[(i * 7919) % handles.len()];
            let audio = i % 2 == 0;
            client.sink.expect(1);
            let t = Instant::now();
            let body = json!({"audio": audio});
            client.call(json!({"janus": "message", "session_id": sid, "handle_id": h, "body": body})).await?;
            client.sink.wait().await?;
            times.push(t.elapsed());
            wait_idle(host).await;
        }
        callgrind(&format!("--dump=messages-{size}"));
        let work = (busy().0 - work_before) as f64 / rounds as f64 / 1e3;
        times.sort();
        let (median, p99) = (pct(&times, 0.5), pct(&times, 0.99));
        let b_work = *base.get_or_insert(work);
        println!(
            "  {size:>6} handles: message work {work:>5.1} us ({:.2}x the first size), latency median {:>5.1} us p99 {:>6.1} us | attach work {:>5.1} us, latency median {:>5.1} us p99 {:>6.1} us",
            work / b_work,
            us(median),
            us(p99),
            attach_work as f64 / 200.0 / 1e3,
            us(pct(&attach, 0.5)),
            us(pct(&attach, 0.99)),
        );
    }
    client.call(json!({"janus": "destroy", "session_id": sid})).await?;
    Ok(())
}

/// Under `valgrind --tool=callgrind` with `BENCH_CALLGRIND=1`: zeroes or dumps the counters
/// around the measured requests, so instruction counts (which do not drift with the machine's
/// speed) can be compared between sizes: `callgrind_annotate` on the plugin thread's dump.
fn callgrind(what: &str) {
    if std::env::var_os("BENCH_CALLGRIND").is_none() {
        return;
    }
    let pid = std::process::id().to_string();
    if let Err(e) = std::process::Command::new("callgrind_control").args([what, &pid]).status() {
        eprintln!("callgrind_control {what}: {e}");
    }
}

/// Waits until the EchoTest actor has nothing left to do (its checkpoint taken), so a
/// request's work is counted whole; sleeps meanwhile, so as not to take the plugin's core.
async fn wait_idle(host: &PluginHost) {
    while !host.saved_state_clean(ECHOTEST) {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

/// A publisher joining a room of `size` subscribers, and one event to `size` handles.
async fn room(core: &Core, size: usize) -> anyhow::Result<()> {
    let mut joins = Vec::new();
    let mut calls = Vec::new();
    let mut broadcasts = Vec::new();
    for _ in 0..5 {
        let client = Client::new(core);
        let sid = client.create().await?;
        let publisher = client.attach(sid, TESTFAULT).await?;
        let mut subscribers = Vec::with_capacity(size);
        for _ in 0..size {
            subscribers.push(json!([sid, client.attach(sid, TESTFAULT).await?]));
        }
        // One joined broadcast plus one offer event per subscriber.
        client.sink.expect(2 * size);
        let t = Instant::now();
        let body = json!({"request": "join_room", "subscribers": subscribers});
        let r = client
            .call(json!({"janus": "message", "session_id": sid, "handle_id": publisher, "body": body}))
            .await?;
        calls.push(t.elapsed());
        anyhow::ensure!(r["janus"] == "ack", "join_room: {r}");
        client.sink.wait().await?;
        joins.push(t.elapsed());
        // One event to every subscriber.
        for _ in 0..20 {
            client.sink.expect(size);
            let t = Instant::now();
            let body = json!({"request": "broadcast", "handles": subscribers});
            client
                .call(json!({"janus": "message", "session_id": sid, "handle_id": publisher, "body": body}))
                .await?;
            client.sink.wait().await?;
            broadcasts.push(t.elapsed());
        }
        client.call(json!({"janus": "destroy", "session_id": sid})).await?;
    }
    joins.sort();
    calls.sort();
    broadcasts.sort();
    println!(
        "publisher join into a room of {size} ({size} offers + {size} forwards + {} events), 5 rooms:\n  plugin call median {:.2} ms, all events delivered median {:.2} ms (max {:.2} ms)",
        2 * size,
        calls[calls.len() / 2].as_secs_f64() * 1e3,
        joins[joins.len() / 2].as_secs_f64() * 1e3,
        joins[joins.len() - 1].as_secs_f64() * 1e3,
    );
    println!(
        "one event to {size} handles (push-event-many), {} rounds: median {:.1} us, p99 {:.1} us",
        broadcasts.len(),
        us(pct(&broadcasts, 0.5)),
        us(pct(&broadcasts, 0.99)),
    );
    Ok(())
}

/// The runtime basics: actor, WebSocket path, instantiate, reload.
async fn basics(core: &Core, host: &Arc<PluginHost>, rounds: usize) -> anyhow::Result<()> {
    let client = Client::new(core);
    let sid = client.create().await?;
    let hid = client.attach(sid, TESTFAULT).await?;
    let handle = HandleRef { session_id: sid, handle_id: hid };
    let plugin = core.plugin_of(handle).ok_or_else(|| anyhow::anyhow!("no plugin"))?;
    let body = json!({"request": "ping"});
    let t = Instant::now();
    for _ in 0..rounds {
        let msg = PluginMessage { handle, transaction: "t".into(), body: body.clone(), jsep: None };
        let out = plugin.handle_message(msg).await;
        if !matches!(out.reply, PluginReply::Ok(_)) {
            anyhow::bail!("unexpected reply {:?}", out.reply);
        }
    }
    let actor = t.elapsed() / rounds as u32;

    let listener = transport::bind("ws", "127.0.0.1", 0).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(TransportState::new(
        Kind::WebSockets,
        JsonStyle::Compact,
        (true, false),
        Default::default(),
        false,
    ));
    tokio::spawn(ws::serve(listener, core.clone(), portunus::transport::Api::Janus, state, 1000));
    let mut req = format!("ws://{addr}/").into_client_request()?;
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("janus-protocol"));
    let (mut sock, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await?;
    let frame =
        json!({"janus": "message", "transaction": "m", "session_id": sid, "handle_id": hid, "body": body})
            .to_string();
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        sock.send(Message::text(frame.clone())).await?;
        match sock.next().await {
            Some(Ok(Message::Text(_))) => {}
            other => anyhow::bail!("unexpected frame {other:?}"),
        }
        times.push(t.elapsed());
    }
    times.sort();

    let mut instantiate = (0..50)
        .map(|_| host.instantiate_time(TESTFAULT).map(|(time, _)| time))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!(e))?;
    instantiate.sort();
    let mut pauses = Vec::new();
    for _ in 0..20 {
        let r = host.reload(TESTFAULT, None).await.map_err(|e| anyhow::anyhow!(e))?;
        pauses.push(Duration::from_micros(r["pause_us"].as_u64().unwrap_or(0)));
    }
    pauses.sort();
    println!("handle-message through the actor: {:.2} us/message (mean of {rounds})", us(actor));
    println!(
        "WS request -> plugin -> reply: median {:.1} us, p99 {:.1} us",
        us(pct(&times, 0.5)),
        us(pct(&times, 0.99))
    );
    println!("instantiate + init: median {:.1} us", us(pct(&instantiate, 0.5)));
    println!(
        "reload pause (checkpoint, instantiate, init, restore, swap): median {:.1} us",
        us(pct(&pauses, 0.5))
    );
    Ok(())
}

/// A core with a plugin runtime (compiled code cached in `cache`) and a media engine.
fn gateway(cache: Option<std::path::PathBuf>) -> anyhow::Result<(Core, Arc<PluginHost>)> {
    let general = General {
        session_timeout: 0,
        max_sessions_per_client: usize::MAX,
        max_handles_per_session: usize::MAX,
        ..General::default()
    };
    let nat = Nat { ice_enforce_list: vec!["lo".into()], ..Nat::default() };
    let media = Media { threads: 1, ..Media::default() };
    let tunables = Arc::new(Tunables::new(&media));
    let core = Core::new(CoreOptions {
        general,
        nat: nat.clone(),
        network: Default::default(),
        transports: Vec::new(),
        change_log: Box::new(|_| {}),
        tunables: tunables.clone(),
        events: Default::default(),
    });
    let host = PluginHost::new(core.clone(), BTreeMap::new(), None, cache)?;
    core.set_plugins(Arc::new(Registry(host.clone())));
    let (engine, notices) = MediaEngine::start(&media, &nat, tunables.clone())?;
    core.set_media(Arc::new(engine));
    tokio::spawn(portunus::gateway::relay_notices(core.clone(), notices, tunables));
    Ok((core, host))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The EchoTest built in Rust, Python and JavaScript: what each costs to ship, load, hold and
/// call, and the reload pause.
async fn languages(rounds: usize) -> anyhow::Result<()> {
    let builds = [
        ("Rust", Path::new(env!("PORTUNUS_BUILTIN_PLUGINS_DIR")).join("echotest.wasm")),
        ("Python", Path::new(env!("PORTUNUS_LANG_PLUGINS_DIR")).join("echotest-py.wasm")),
        ("JavaScript", Path::new(env!("PORTUNUS_LANG_PLUGINS_DIR")).join("echotest-js.wasm")),
    ];
    println!("The EchoTest per language (in-process). size: the component; cold: compile + canary with an");
    println!("empty cache; cached: load from the compiled-code cache + canary; instance: instantiate + init");
    println!(
        "and the memories it holds then; message: one EchoTest request ({{\"audio\": true}}: an ack and"
    );
    println!("its event) through the plugin's actor, one at a time (the checkpoint of the one before done);");
    println!("+ckpt: the plugin thread's work per request with its own checkpoint; burst: per request in a");
    println!("burst of as many (checkpoints shared); reload: the pause of a swap.");
    println!(
        "{:<10} {:>8} {:>8} {:>9} {:>9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "language",
        "size MB",
        "cold ms",
        "cached ms",
        "inst ms",
        "mem MB",
        "msg p50us",
        "msg p99us",
        "+ckpt us",
        "burst us",
        "rld p50us",
        "rld p99us"
    );
    for (lang, path) in builds {
        let size = std::fs::metadata(&path)?.len();
        let cache = std::env::temp_dir().join(format!("portunus-bench-cache-{}-{lang}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let cold = {
            let (_core, host) = gateway(Some(cache.clone()))?;
            let t = Instant::now();
            host.load(&path).map_err(|e| anyhow::anyhow!(e))?;
            t.elapsed()
        };
        let (core, host) = gateway(Some(cache.clone()))?;
        let t = Instant::now();
        host.load(&path).map_err(|e| anyhow::anyhow!(e))?;
        let cached = t.elapsed();

        let mut instances = Vec::new();
        let mut memory = 0;
        for _ in 0..20 {
            let (time, bytes) = host.instantiate_time(ECHOTEST).map_err(|e| anyhow::anyhow!(e))?;
            instances.push(time);
            memory = bytes;
        }
        instances.sort();

        let client = Client::new(&core);
        let sid = client.create().await?;
        let hid = client.attach(sid, ECHOTEST).await?;
        let handle = HandleRef { session_id: sid, handle_id: hid };
        let plugin = core.plugin_of(handle).ok_or_else(|| anyhow::anyhow!("no plugin"))?;
        let body = json!({"audio": true});
        let mut calls = Vec::with_capacity(rounds);
        let (busy_before, _) = host.busy(ECHOTEST).unwrap_or_default();
        for _ in 0..rounds {
            // The request alone: the checkpoint of the one before is done.
            while !host.saved_state_clean(ECHOTEST) {
                tokio::task::yield_now().await;
            }
            let msg = PluginMessage { handle, transaction: "t".into(), body: body.clone(), jsep: None };
            let t = Instant::now();
            let out = plugin.handle_message(msg).await;
            calls.push(t.elapsed());
            if !matches!(out.reply, PluginReply::Ack { .. }) {
                anyhow::bail!("{lang}: unexpected reply {:?}", out.reply);
            }
        }
        while !host.saved_state_clean(ECHOTEST) {
            tokio::task::yield_now().await;
        }
        let (busy_after, _) = host.busy(ECHOTEST).unwrap_or_default();
        let with_checkpoint = Duration::from_nanos((busy_after - busy_before) / rounds as u64);
        calls.sort();
        // The same requests all at once: the host checkpoints when the mailbox runs dry (at
        // least every 100 ms), so the checkpoints are shared and this is the call alone.
        let t = Instant::now();
        let burst = futures_util::future::join_all((0..rounds).map(|_| {
            plugin.handle_message(PluginMessage {
                handle,
                transaction: "t".into(),
                body: body.clone(),
                jsep: None,
            })
        }))
        .await;
        let burst_each = t.elapsed() / rounds as u32;
        if burst.iter().any(|out| !matches!(out.reply, PluginReply::Ack { .. })) {
            anyhow::bail!("{lang}: a request of the burst failed");
        }
        let mut pauses = Vec::new();
        for _ in 0..20 {
            let r = host.reload(ECHOTEST, None).await.map_err(|e| anyhow::anyhow!(e))?;
            pauses.push(Duration::from_micros(r["pause_us"].as_u64().unwrap_or(0)));
        }
        pauses.sort();
        let _ = std::fs::remove_dir_all(&cache);
        println!(
            "{lang:<10} {:>8.1} {:>8.0} {:>9.1} {:>9.2} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.0} {:>9.0}",
            size as f64 / 1e6,
            ms(cold),
            ms(cached),
            ms(pct(&instances, 0.5)),
            memory as f64 / (1 << 20) as f64,
            us(pct(&calls, 0.5)),
            us(pct(&calls, 0.99)),
            us(with_checkpoint),
            us(burst_each),
            us(pct(&pauses, 0.5)),
            us(pct(&pauses, 0.99)),
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rounds = 2_000usize;
    let mut only = None;
    let mut sizes = vec![10usize, 1_000, 10_000];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow::anyhow!("{a} needs a value"));
        match a.as_str() {
            "--rounds" => rounds = value()?.parse()?,
            "--only" => only = Some(value()?),
            "--sizes" => sizes = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);
    if only.as_deref() == Some("languages") {
        return languages(rounds).await;
    }
    let (core, host) = gateway(None)?;
    let t = Instant::now();
    host.load(&Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR")).join("testfault.wasm"))
        .map_err(|e| anyhow::anyhow!(e))?;
    let load = t.elapsed();
    host.load(&Path::new(env!("PORTUNUS_BUILTIN_PLUGINS_DIR")).join("echotest.wasm"))
        .map_err(|e| anyhow::anyhow!(e))?;
    println!("plugin load (compile + canary): {:.1} ms", load.as_secs_f64() * 1e3);

    if run("scaling") {
        scaling(&core, &host, rounds, &sizes).await?;
    }
    if run("room") {
        room(&core, 500).await?;
    }
    if run("basics") {
        basics(&core, &host, rounds).await?;
    }
    if run("languages") {
        languages(rounds).await?;
    }
    Ok(())
}
