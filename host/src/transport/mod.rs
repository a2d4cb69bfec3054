//! Transports: HTTP (REST + long poll + CORS), WebSocket (`janus-protocol`), Unix sockets
//! (Janus's `pfunix`), MQTT, Nanomsg, RabbitMQ and the admin API over each. They parse nothing but paths and frames; the
//! API core answers everything.

pub mod demo;
pub mod http;
pub mod messages;
pub mod mqtt;
pub mod mqtt_answers;
pub mod nanomsg;
pub mod rabbitmq;
pub mod state;
pub mod unix;
pub mod ws;

use std::net::SocketAddr;

use serde_json::Value;

use crate::config::JsonStyle;

/// Which API a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The Janus API.
    Janus,
    /// The admin API.
    Admin,
}

/// Serialises a reply in the configured style.
pub fn to_text(value: &Value, style: JsonStyle) -> String {
    let text = match style {
        JsonStyle::Indented => serde_json::to_string_pretty(value),
        JsonStyle::Plain => {
            let mut out = Vec::with_capacity(128);
            let mut ser = serde_json::Serializer::with_formatter(&mut out, Plain);
            serde::Serialize::serialize(value, &mut ser).map(|()| String::from_utf8(out).unwrap_or_default())
        }
        JsonStyle::Compact => serde_json::to_string(value),
    };
    // Serialising a `Value` cannot fail: its keys are strings and numbers are finite.
    text.unwrap_or_default()
}

/// Janus's `plain` JSON: one line, with a space after each `:` and `,`.
struct Plain;

impl serde_json::ser::Formatter for Plain {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.begin_array_value(w, first)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

/// Accepts connections forever (retrying after transient errors such as running out of file
/// descriptors) and hands each one, with `TCP_NODELAY` set, to `serve`. At most
/// `max_connections` are served at once; beyond that a new connection is closed at once.
/// `open` counts the connections being served.
pub async fn accept_loop<F, Fut>(
    listener: tokio::net::TcpListener,
    what: &'static str,
    max_connections: usize,
    open: Open,
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
                let counted = open.0.count(open.1);
                tokio::spawn(async move {
                    connection.await;
                    drop((slot, counted));
                });
            }
            Err(e) => {
                tracing::warn!("{what} accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Where a listener counts its open connections: its transport's state, as the API or the
/// admin listener.
pub type Open = (std::sync::Arc<state::TransportState>, state::Counted);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_json_style_formats_as_janus_names_it() {
        let v = serde_json::json!({"janus": "success", "list": [1, {"a": null}]});
        assert_eq!(to_text(&v, JsonStyle::Compact), r#"{"janus":"success","list":[1,{"a":null}]}"#);
        assert_eq!(to_text(&v, JsonStyle::Plain), r#"{"janus": "success", "list": [1, {"a": null}]}"#);
        assert!(to_text(&v, JsonStyle::Indented).contains("\n  \"list\": [\n"));
        for (name, style) in
            [("indented", JsonStyle::Indented), ("PLAIN", JsonStyle::Plain), ("compact", JsonStyle::Compact)]
        {
            assert_eq!(JsonStyle::from_name(name), Some(style));
        }
        assert_eq!(JsonStyle::from_name("weird"), None);
    }
}
