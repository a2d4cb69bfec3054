//! Offer → first echoed video frame, end to end on loopback: a webrtc-rs peer sends its offer to
//! the EchoTest over the Janus WebSocket API, answers, and waits for the first video packet that
//! comes back carrying its own payload marker. Runs against Portunus (started here on free ports)
//! and, when a URL is given, against any other Janus-API server (e.g. the real Janus started by
//! `janus-ref/run.sh`), alternating rounds so both see the same machine load.
//!
//! ```sh
//! cargo bench --bench echo_latency                         # Portunus only
//! cargo bench --bench echo_latency -- 127.0.0.1:8188       # and a Janus on that WebSocket port
//! ```

#[path = "../../tests/api/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../../tests/media/peer.rs"]
mod peer;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use harness::{Gateway, WsClient};
use peer::Peer;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);
const ROUNDS: usize = 10;

/// One EchoTest negotiation; returns offer → connected and offer → first echoed video packet.
async fn round(addr: SocketAddr) -> Result<(Duration, Duration), String> {
    let mut ws = WsClient::connect(addr, Some("janus-protocol")).await;
    let sid = ws.create().await;
    let r = ws.call(json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest"})).await;
    let hid = r["data"]["id"].as_u64().ok_or(format!("attach: {r}"))?;
    let peer = Peer::new(true, true, false).await.map_err(|e| e.0)?;
    let offer = peer.create_offer(WAIT).await.map_err(|e| e.0)?;
    let started = Instant::now();
    ws.send(&json!({"janus": "message", "session_id": sid, "handle_id": hid, "transaction": "offer",
                    "body": {"audio": true, "video": true}, "jsep": {"type": "offer", "sdp": offer}}))
        .await;
    let answer = loop {
        let msg = ws.next_message_within(WAIT).await.map_err(|()| "no answer".to_owned())?;
        let Some(tokio_tungstenite::tungstenite::Message::Text(t)) = msg else { continue };
        let v: Value = serde_json::from_str(&t).map_err(|e| e.to_string())?;
        if let Some(sdp) = v["jsep"]["sdp"].as_str() {
            break sdp.to_owned();
        }
    };
    peer.set_answer(&answer).await.map_err(|e| e.0)?;
    peer.start_media().await;
    let stats = peer.wait_packets(peer::Kind::Video, 1, WAIT).await.map_err(|e| e.0)?;
    let connected = stats.connected_at.ok_or("never connected")?.duration_since(started);
    let echoed = stats.video.first_at.ok_or("no echoed video")?.duration_since(started);
    peer.close().await.ok();
    let _ = ws.call(json!({"janus": "destroy", "session_id": sid})).await;
    Ok((connected, echoed))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let other: Option<SocketAddr> = std::env::args().skip(1).find_map(|a| a.parse().ok());
    let gw = Gateway::start();
    let mut targets = vec![("Portunus", gw.addr("ws"))];
    if let Some(addr) = other {
        targets.push(("other server", addr));
    }
    let mut results: Vec<(Vec<Duration>, Vec<Duration>)> = vec![(Vec::new(), Vec::new()); targets.len()];
    for _ in 0..ROUNDS {
        for (i, (name, addr)) in targets.iter().enumerate() {
            match round(*addr).await {
                Ok((up, echo)) => {
                    results[i].0.push(up);
                    results[i].1.push(echo);
                }
                Err(e) => eprintln!("{name}: round failed: {e}"),
            }
        }
    }
    for ((name, addr), (up, echo)) in targets.iter().zip(results) {
        if echo.is_empty() {
            println!("{name} ({addr}): no successful round");
            continue;
        }
        let best = *echo.iter().min().unwrap_or(&Duration::ZERO);
        println!(
            "{name} ({addr}): offer → connected median {:.1} ms; offer → first echoed video packet median {:.1} ms, best {:.1} ms ({} rounds)",
            median(up).as_secs_f64() * 1e3,
            median(echo.clone()).as_secs_f64() * 1e3,
            best.as_secs_f64() * 1e3,
            echo.len(),
        );
    }
}
