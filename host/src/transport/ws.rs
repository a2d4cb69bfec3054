//! The WebSocket transport: `janus-protocol` for the Janus API, `janus-admin-protocol` for the
//! admin API. One JSON request per message; replies and events go back on the same socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use std::task::Poll;

use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::state::{Counted, TransportState};
use super::to_text;
use crate::api::plugin::BoxFuture;
use crate::api::session::{ClientKey, EventSink};
use crate::api::{envelope, ApiError, Core, Deferred, Instance, PathIds, RequestCtx};

/// Which API a WebSocket listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `janus-protocol`.
    Janus,
    /// `janus-admin-protocol`.
    Admin,
}

impl Api {
    fn subprotocol(self) -> &'static str {
        match self {
            Api::Janus => "janus-protocol",
            Api::Admin => "janus-admin-protocol",
        }
    }
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// Outgoing frames waiting for the socket; beyond this the connection is too slow and
/// events are dropped (the client is told nothing, as with a full Janus queue).
const OUTGOING_CAPACITY: usize = 4096;

/// Requests of one connection that may wait at once; beyond this the socket is not read
/// until one finishes.
const MAX_IN_FLIGHT: usize = 256;

/// How long a new connection may take to complete its WebSocket handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Janus answers a JSON array over WebSocket with 456 (it looks for the transaction in it),
/// where HTTP says 455: clients of either see what they saw from Janus.
fn array_reply(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[') {
        return None;
    }
    serde_json::from_slice::<Value>(bytes).ok().filter(Value::is_array)?;
    Some(envelope::error_reply(&ApiError::missing("transaction"), 0, None))
}

/// One request of a connection, as a future that owns what it needs.
fn request(
    core: Core,
    api: Api,
    bytes: Vec<u8>,
    ctx: RequestCtx,
) -> BoxFuture<'static, (Value, Vec<Deferred>)> {
    Box::pin(async move {
        if let Some(reply) = array_reply(&bytes) {
            return (reply, Vec::new());
        }
        match api {
            Api::Janus => {
                let r = core.handle_api(&bytes, &ctx).await;
                (r.body, r.deferred)
            }
            Api::Admin => (core.handle_admin(&bytes, PathIds::default()).await, Vec::new()),
        }
    })
}

/// One WebSocket connection as an event sink.
struct Connection {
    id: u64,
    out: mpsc::Sender<Message>,
    state: Arc<TransportState>,
}

impl EventSink for Connection {
    fn deliver(&self, event: &Value) -> bool {
        match self.out.try_send(Message::text(to_text(event, self.state.style()))) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(connection = self.id, "websocket too slow, event dropped");
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn connection_id(&self) -> u64 {
        self.id
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
    let wanted = api.subprotocol();
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

async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    core: Core,
    api: Api,
    state: Arc<TransportState>,
) -> anyhow::Result<()> {
    let limit = core.general().max_request_size;
    let config = WebSocketConfig::default().max_message_size(Some(limit)).max_frame_size(Some(limit));
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
    let mut ws = ws;
    let (tx, mut rx) = mpsc::channel::<Message>(OUTGOING_CAPACITY);
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    state.notify(
        id,
        || json!({"event": "connected", "admin_api": api == Api::Admin, "ip": peer.ip().to_string()}),
    );
    let conn = Arc::new(Connection { id, out: tx, state: state.clone() });
    let ctx = RequestCtx {
        sink: Some(conn.clone() as Arc<dyn EventSink>),
        client: ClientKey::Connection(conn.id),
        path: PathIds::default(),
        instance: Instance { transport: state.package(), id: conn.id },
    };
    // One task per connection reads requests, writes replies and forwards the events other
    // tasks queue for this socket. A request runs at once up to the point where it waits (for
    // a plugin, say), so requests reach plugins in the order they came; the wait itself goes
    // into `in_flight`, and the socket keeps serving other requests and events meanwhile.
    let mut in_flight: FuturesUnordered<BoxFuture<'static, (Value, Vec<Deferred>)>> = FuturesUnordered::new();
    loop {
        // Finished requests first: an event a plugin pushed after it answered (a JSEP once the
        // media thread made it, say) is queued after the answer was ready, so it goes after.
        tokio::select! {
            biased;
            Some((reply, deferred)) = in_flight.next(), if !in_flight.is_empty() => {
                let sent = ws.send(Message::text(to_text(&reply, state.style()))).await.is_ok();
                // What the request caused happens even if its reply could not be sent.
                core.deliver(deferred);
                if !sent {
                    break;
                }
            }
            out = rx.recv() => match out {
                Some(m) => {
                    if ws.send(m).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            msg = ws.next(), if in_flight.len() < MAX_IN_FLIGHT => {
                let bytes = match msg {
                    Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                    Some(Ok(Message::Binary(b))) => b.to_vec(),
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!(connection = conn.id, "websocket read error: {e}");
                        break;
                    }
                };
                let mut request = request(core.clone(), api, bytes, ctx.clone());
                // The first poll runs the request up to its first wait, in arrival order.
                match std::future::poll_fn(|cx| Poll::Ready(request.as_mut().poll(cx))).await {
                    Poll::Ready((reply, deferred)) => {
                        let sent = ws.send(Message::text(to_text(&reply, state.style()))).await.is_ok();
                        core.deliver(deferred);
                        if !sent {
                            break;
                        }
                    }
                    Poll::Pending => in_flight.push(request),
                }
            }
        }
    }
    let _ = ws.close(None).await;
    // Requests still running finish (a destroy, a hangup), with no one to answer.
    for request in in_flight {
        let core = core.clone();
        tokio::spawn(async move {
            let (_, deferred) = request.await;
            core.deliver(deferred);
        });
    }
    drop(ctx);
    // The event handlers hear of it first, as Janus tells them before the sessions go.
    state.notify(conn.id, || json!({"event": "disconnected"}));
    core.connection_closed(conn.id).await;
    Ok(())
}
