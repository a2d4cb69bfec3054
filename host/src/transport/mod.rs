//! Transports: HTTP (REST + long poll + CORS), WebSocket (`janus-protocol`) and the admin API
//! over both. They parse nothing but paths and frames; the API core answers everything.

pub mod demo;
pub mod http;
pub mod ws;

use std::net::SocketAddr;

use serde_json::Value;

use crate::config::JsonStyle;

/// Serialises a reply in the configured style.
pub fn to_text(value: &Value, style: JsonStyle) -> String {
    let text = match style {
        JsonStyle::Indented => serde_json::to_string_pretty(value),
        JsonStyle::Compact => serde_json::to_string(value),
    };
    // Serialising a `Value` cannot fail: its keys are strings and numbers are finite.
    text.unwrap_or_default()
}

/// Accepts connections forever (retrying after transient errors such as running out of file
/// descriptors) and hands each one, with `TCP_NODELAY` set, to `serve`. At most
/// `max_connections` are served at once; beyond that a new connection is closed at once.
pub async fn accept_loop<F, Fut>(
    listener: tokio::net::TcpListener,
    what: &'static str,
    max_connections: usize,
    serve: F,
) where
    F: Fn(tokio::net::TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(max_connections));
    let mut refused = 0u64;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    if crate::logging::time_to_report(&mut refused) {
                        tracing::warn!(
                            "{what}: {max_connections} connections open (max_connections); {peer} refused ({refused} so far)"
                        );
                    }
                    drop(stream);
                    continue;
                };
                // Replies are small and latency-bound: never wait for Nagle's algorithm.
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!("cannot set TCP_NODELAY for {peer}: {e}");
                }
                let connection = serve(stream, peer);
                tokio::spawn(async move {
                    connection.await;
                    drop(slot);
                });
            }
            Err(e) => {
                tracing::warn!("{what} accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Binds a TCP listener and announces it on stdout as `listening: <name> <addr>`
/// (tests and scripts read this line to learn ports chosen with port 0).
pub async fn bind(name: &str, ip: &str, port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind((ip, port))
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {ip}:{port} for {name}: {e}"))?;
    let addr: SocketAddr = listener.local_addr()?;
    println!("listening: {name} {addr}");
    tracing::info!("{name} listening on {addr}");
    Ok(listener)
}
