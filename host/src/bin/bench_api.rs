//! `portunus-bench-api`: the median round trip of create + attach + detach + destroy over the
//! Janus WebSocket API, against any Janus-compatible server (Portunus or Janus itself).
//!
//! ```sh
//! portunus-bench-api [ws://127.0.0.1:8188] [--plugin janus.plugin.echotest] [--rounds 1000] [--ping]
//! portunus-bench-api [ws://127.0.0.1:8188] --attach-scale 10000
//! portunus-bench-api [ws://127.0.0.1:8188] --connections 1000 --pid <gateway pid>
//! ```
//!
//! `--attach-scale N` attaches N handles one after another on one session and prints, per
//! block of a tenth of N, the block's time and the median and p99 of one attach in it: how
//! the cost of an attach grows with the handles a plugin holds.
//!
//! `--connections N --pid P` opens N WebSocket connections, as N participants' clients do
//! (each creates a session and sends one SDP-sized, 6 KB, request), and prints after each
//! tenth the memory of the gateway (process `P`) per connection: how a connection's cost grows
//! with their number.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use portunus::resident::Resident;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Client {
    ws: Ws,
    next: u64,
}

impl Client {
    async fn connect(url: &str) -> anyhow::Result<Client> {
        let mut req = url.into_client_request()?;
        req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("janus-protocol"));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(req, None, true).await?;
        Ok(Client { ws, next: 0 })
    }

    async fn call(&mut self, mut req: Value) -> anyhow::Result<Value> {
        self.next += 1;
        let tx = format!("b{}", self.next);
        req["transaction"] = json!(tx);
        self.ws.send(Message::text(req.to_string())).await?;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await?
                .ok_or_else(|| anyhow::anyhow!("socket closed"))??;
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(&text)?;
            if v["transaction"] == json!(tx) && v["janus"] != "event" {
                if v["janus"] == "error" {
                    anyhow::bail!("{} failed: {}", req["janus"], v["error"]);
                }
                return Ok(v);
            }
        }
    }

    async fn round(&mut self, plugin: &str, ping: bool) -> anyhow::Result<()> {
        if ping {
            self.call(json!({"janus": "ping"})).await?;
            return Ok(());
        }
        let sid = self.call(json!({"janus": "create"})).await?["data"]["id"].clone();
        let hid = self.call(json!({"janus": "attach", "session_id": sid, "plugin": plugin})).await?["data"]
            ["id"]
            .clone();
        self.call(json!({"janus": "detach", "session_id": sid, "handle_id": hid})).await?;
        self.call(json!({"janus": "destroy", "session_id": sid})).await?;
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut url = "ws://127.0.0.1:8188".to_owned();
    let mut plugin = "janus.plugin.echotest".to_owned();
    let mut rounds = 1000usize;
    let mut ping = false;
    let mut attach_scale = None;
    let (mut connections, mut pid) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--plugin" => plugin = args.next().ok_or_else(|| anyhow::anyhow!("--plugin needs a value"))?,
            "--ping" => ping = true,
            "--attach-scale" => {
                let n = args.next().ok_or_else(|| anyhow::anyhow!("--attach-scale needs a value"))?;
                attach_scale = Some(n.parse::<usize>()?.max(10));
            }
            "--connections" => connections = Some(args.next().unwrap_or_default().parse::<usize>()?.max(10)),
            "--pid" => pid = Some(args.next().unwrap_or_default().parse::<u32>()?),
            "--rounds" => {
                rounds = args.next().ok_or_else(|| anyhow::anyhow!("--rounds needs a value"))?.parse()?
            }
            other => url = other.to_owned(),
        }
    }
    if let Some(n) = connections {
        let pid = pid.ok_or_else(|| anyhow::anyhow!("--connections needs the gateway's --pid"))?;
        return connections_memory(&url, n, pid).await;
    }
    let mut client = Client::connect(&url).await?;
    if let Some(n) = attach_scale {
        return scale(&mut client, &plugin, &url, n).await;
    }
    for _ in 0..rounds.min(100) {
        client.round(&plugin, ping).await?;
    }
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        client.round(&plugin, ping).await?;
        times.push(t.elapsed());
    }
    times.sort();
    let what = if ping { "ping".to_owned() } else { format!("create+attach+detach+destroy ({plugin})") };
    println!(
        "{what} over {url}, {rounds} rounds: median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}

/// Attaches `n` handles on one session, reporting each tenth.
async fn scale(client: &mut Client, plugin: &str, url: &str, n: usize) -> anyhow::Result<()> {
    let sid = client.call(json!({"janus": "create"})).await?["data"]["id"].clone();
    let block = n / 10;
    println!("attach to {plugin} over {url}, {n} handles on one session, in blocks of {block}:");
    let mut handles = Vec::with_capacity(n);
    for b in 0..10 {
        let mut times = Vec::with_capacity(block);
        let started = Instant::now();
        for _ in 0..block {
            let t = Instant::now();
            let r = client.call(json!({"janus": "attach", "session_id": sid, "plugin": plugin})).await?;
            times.push(t.elapsed());
            handles.push(r["data"]["id"].clone());
        }
        let total = started.elapsed();
        times.sort();
        println!(
            "  handles {:>6}..{:<6} block {:>8.1} ms  attach median {:.3} ms  p99 {:.3} ms",
            b * block,
            (b + 1) * block,
            total.as_secs_f64() * 1e3,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
        );
    }
    client.call(json!({"janus": "destroy", "session_id": sid})).await?;
    Ok(())
}

/// Opens `n` connections, each with a session and one 6 KB request, reporting the memory of
/// the gateway `pid` per connection after each tenth.
async fn connections_memory(url: &str, n: usize, pid: u32) -> anyhow::Result<()> {
    let before = Resident::of(pid);
    println!(
        "{n} WebSocket connections to {url}, each with a session and a 6 KB request; the gateway's memory:"
    );
    let mut clients = Vec::with_capacity(n);
    let padding = "x".repeat(6000);
    for i in 1..=n {
        let mut c = Client::connect(url).await?;
        c.call(json!({"janus": "create"})).await?;
        c.call(json!({"janus": "ping", "padding": padding})).await?;
        clients.push(c);
        if (1..=10).any(|k| i == k * n / 10) {
            let now = Resident::of(pid);
            println!(
                "  {i:>6} connections: RSS {:>6.1} MB, {:>5.1} KB more a connection ({:>5.1} KB anonymous)",
                now.total_kb as f64 / 1024.0,
                now.total_kb.saturating_sub(before.total_kb) as f64 / i as f64,
                now.anon_kb.saturating_sub(before.anon_kb) as f64 / i as f64,
            );
        }
    }
    Ok(())
}
