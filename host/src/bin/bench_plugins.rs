//! `portunus-bench-plugins`: costs of the wasm plugin runtime, measured in-process with the
//! test plugin (a Rust guest) built by `host/build.rs`:
//!
//! - per-message cost through the actor alone (`handle-message` via the plugin's mailbox);
//! - per-message cost through the whole path (WebSocket request → core → plugin → reply);
//! - instantiate time (a fresh instance with `init`, what a crash rebuild costs);
//! - reload pause (snapshot → new instance → init → restore → swap, inside the actor).
//!
//! ```sh
//! cargo run --release --bin portunus-bench-plugins [-- --rounds 20000]
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use portunus::api::plugin::{HandleRef, PluginMessage, PluginReply};
use portunus::api::session::ClientKey;
use portunus::api::{Core, CoreOptions, PathIds, RequestCtx};
use portunus::config::{General, JsonStyle, Nat};
use portunus::plugins::{PluginHost, Registry};
use portunus::transport::{self, ws};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const PLUGIN: &str = "janus.plugin.testfault";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn api(core: &Core, req: Value) -> Value {
    let ctx = RequestCtx { sink: None, client: ClientKey::Connection(1), path: PathIds::default() };
    core.handle_api(req.to_string().as_bytes(), &ctx).await.body
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rounds = 20_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rounds" {
            rounds = args.next().ok_or_else(|| anyhow::anyhow!("--rounds needs a value"))?.parse()?;
        }
    }
    let general = General { session_timeout: 0, max_sessions_per_client: usize::MAX, ..General::default() };
    let core = Core::new(CoreOptions {
        general,
        nat: Nat::default(),
        network: Default::default(),
        transports: Vec::new(),
        set_log_level: Box::new(|_| {}),
    });
    let host = PluginHost::new(core.clone(), BTreeMap::new(), None)?;
    let dir = Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR"));
    let t = Instant::now();
    host.load(&dir.join("testfault.wasm")).map_err(|e| anyhow::anyhow!(e))?;
    let load = t.elapsed();
    core.set_plugins(Arc::new(Registry(host.clone())));

    let sid =
        api(&core, json!({"janus": "create", "transaction": "c"})).await["data"]["id"].as_u64().unwrap_or(0);
    let attach = json!({"janus": "attach", "transaction": "a", "session_id": sid, "plugin": PLUGIN});
    let hid = api(&core, attach).await["data"]["id"].as_u64().unwrap_or(0);
    let handle = HandleRef { session_id: sid, handle_id: hid };
    let plugin = core.session(sid).and_then(|s| s.handle(hid)).map(|h| h.plugin.clone());
    let plugin = plugin.ok_or_else(|| anyhow::anyhow!("attach to {PLUGIN} failed"))?;

    // Through the actor alone.
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

    // Through the whole path: a WebSocket client of an in-process WS transport.
    let listener = transport::bind("ws", "127.0.0.1", 0).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(ws::serve(listener, core.clone(), ws::Api::Janus, JsonStyle::Compact));
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
    let ws_median = median(times);

    // Instantiate, and reload pauses.
    let instantiate = median(
        (0..50)
            .map(|_| host.instantiate_time(PLUGIN))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!(e))?,
    );
    let mut pauses = Vec::new();
    for _ in 0..20 {
        let r = host.reload(PLUGIN, None).await.map_err(|e| anyhow::anyhow!(e))?;
        pauses.push(Duration::from_micros(r["pause_us"].as_u64().unwrap_or(0)));
    }
    let pause = median(pauses);

    println!("plugin load (compile + canary): {:.1} ms", load.as_secs_f64() * 1e3);
    println!("handle-message through the actor: {:.2} us/message (mean of {rounds})", us(actor));
    println!("WS request -> plugin -> reply: median {:.1} us ({rounds} round trips)", us(ws_median));
    println!("instantiate + init: median {:.1} us", us(instantiate));
    println!("reload pause (snapshot, instantiate, init, restore, swap): median {:.1} us", us(pause));
    Ok(())
}
