//! The WebSocket transport: `janus-protocol` for the Janus API, `janus-admin-protocol` for the
//! admin API. One JSON request per message; replies and events go back on the same socket.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::messages::{self, Messages};
use super::state::{Counted, TransportState};
use super::Api;
use crate::api::Core;

fn subprotocol(api: Api) -> &'static str {
    match api {
        Api::Janus => "janus-protocol",
        Api::Admin => "janus-admin-protocol",
    }
}

/// How long a new connection may take to complete its WebSocket handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A WebSocket as a message connection: text and binary messages are requests (pings are
/// answered by tungstenite), replies and events go as text.
struct Socket(WebSocketStream<TcpStream>, u64);

impl Messages for Socket {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            match self.0.next().await? {
                Ok(Message::Text(t)) => return Some(t.as_bytes().to_vec()),
                Ok(Message::Binary(b)) => return Some(b.to_vec()),
                Ok(Message::Close(_)) => return None,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(connection = self.1, "websocket read error: {e}");
                    return None;
                }
            }
        }
    }

    async fn send(&mut self, text: String) -> bool {
        self.0.send(Message::text(text)).await.is_ok()
    }

    async fn close(&mut self) {
        let _ = self.0.close(None).await;
    }
}

/// Serves one WebSocket listener until the task is dropped; `state` is the transport's.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    api: Api,
    state: Arc<TransportState>,
    max_connections: usize,
) {
    let open = (state.clone(), if api == Api::Admin { Counted::Admin } else { Counted::Api });
    super::accept_loop(listener, "websocket", max_connections, open, move |stream, peer| {
        let (core, state) = (core.clone(), state.clone());
        async move {
            if let Err(e) = connection(stream, peer, core, api, state).await {
                tracing::debug!("websocket from {peer} ended: {e}");
            }
        }
    })
    .await;
}

/// Accepts the handshake, choosing our subprotocol when the client offers it.
#[allow(clippy::result_large_err)] // the callback signature is tungstenite's
fn negotiate(api: Api, req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let wanted = subprotocol(api);
    let offered = req
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == wanted);
    if offered {
        resp.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(wanted));
    }
    Ok(resp)
}

/// The read buffer of a connection, bytes: a larger message grows it. tungstenite's default
/// (128 KiB, zeroed on every read) cost each connection 134 KB of memory, a client per
/// participant 134 MB a thousand; with this, 16 KB (`portunus-bench-api --connections`: each
/// with a session and a 6 KB request). Janus's libwebsockets reads 4 KiB at a time.
const READ_BUFFER: usize = 4 << 10;

async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    core: Core,
    api: Api,
    state: Arc<TransportState>,
) -> anyhow::Result<()> {
    let limit = core.general().max_request_size;
    let config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
        .read_buffer_size(READ_BUFFER);
    // The callback's error type is tungstenite's; it is never returned here.
    #[allow(clippy::result_large_err)]
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        |req: &Request, resp| negotiate(api, req, resp),
        Some(config),
    );
    // A connection that never finishes its handshake does not keep its slot.
    let ws = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| anyhow::anyhow!("no WebSocket handshake within {HANDSHAKE_TIMEOUT:?}"))??;
    let id = messages::next_connection_id();
    let about = json!({"event": "connected", "admin_api": api == Api::Admin, "ip": peer.ip().to_string()});
    messages::serve(Socket(ws, id), id, core, api, state, Some(about)).await;
    Ok(())
}
