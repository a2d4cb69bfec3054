//! What the message transports share (WebSocket, Unix sockets): one JSON request per message,
//! replies and events back on the same connection, requests served in the order they came.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::state::TransportState;
use super::{to_text, Api};
use crate::api::plugin::BoxFuture;
use crate::api::session::{ClientKey, EventSink};
use crate::api::{envelope, ApiError, Core, Deferred, Instance, PathIds, RequestCtx};

/// A connection that carries whole messages both ways.
pub trait Messages: Send {
    /// The next message (cancel-safe: nothing is lost when the future is dropped); `None`
    /// when the connection is over.
    fn recv(&mut self) -> impl Future<Output = Option<Vec<u8>>> + Send;
    /// Sends one message; `false` when the connection is gone.
    fn send(&mut self, text: String) -> impl Future<Output = bool> + Send;
    /// Ends the connection politely (a WebSocket's close frame).
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// A process-unique connection id (shared by the transports: sessions are owned by one).
pub fn next_connection_id() -> u64 {
    NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed)
}

/// Outgoing messages waiting for the connection; beyond this the client is too slow and
/// events are dropped (the client is told nothing, as with a full Janus queue).
const OUTGOING_CAPACITY: usize = 4096;

/// Requests of one connection that may wait at once; beyond this the connection is not read
/// until one finishes.
const MAX_IN_FLIGHT: usize = 256;

/// Janus answers a JSON array on its message transports with 456 (it looks for the
/// transaction in it), where HTTP says 455: clients of either see what they saw from Janus.
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

/// Queues `item` for a connection's writer without waiting: `false` when the writer is gone;
/// when its queue is full the item is dropped (`what` says whose, in the warning), as Janus
/// drops what a slow client cannot take.
pub fn hand_on<T>(to: &mpsc::Sender<T>, item: T, what: impl std::fmt::Display) -> bool {
    match to.try_send(item) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("{what}: too slow, a message dropped");
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// One connection as an event sink: events wait in a bounded queue for the connection's task.
struct Connection {
    id: u64,
    out: mpsc::Sender<String>,
    state: Arc<TransportState>,
}

impl EventSink for Connection {
    fn deliver(&self, event: &Value) -> bool {
        let what = format_args!("{} connection {}", self.state.package(), self.id);
        hand_on(&self.out, to_text(event, self.state.style()), what)
    }

    fn connection_id(&self) -> u64 {
        self.id
    }
}

/// Serves one connection until it ends: the event handlers hear `connected` (with `about`'s
/// fields) and `disconnected` (nothing without `about`), and the sessions it owns are closed
/// (or wait for a claim) after.
pub async fn serve<M: Messages>(
    mut socket: M,
    id: u64,
    core: Core,
    api: Api,
    state: Arc<TransportState>,
    about: Option<Value>,
) {
    let told = about.is_some();
    let (tx, mut rx) = mpsc::channel::<String>(OUTGOING_CAPACITY);
    if let Some(about) = about {
        state.notify(id, || about);
    }
    let conn = Arc::new(Connection { id, out: tx, state: state.clone() });
    let ctx = RequestCtx {
        sink: Some(conn.clone() as Arc<dyn EventSink>),
        client: ClientKey::Connection(id),
        path: PathIds::default(),
        instance: Instance { transport: state.package(), id },
    };
    // One task per connection reads requests, writes replies and forwards the events other
    // tasks queue for it. A request runs at once up to the point where it waits (for a
    // plugin, say), so requests reach plugins in the order they came; the wait itself goes
    // into `in_flight`, and the connection keeps serving other requests and events meanwhile.
    let mut in_flight: FuturesUnordered<BoxFuture<'static, (Value, Vec<Deferred>)>> = FuturesUnordered::new();
    loop {
        // Finished requests first: an event a plugin pushed after it answered (a JSEP once the
        // media thread made it, say) is queued after the answer was ready, so it goes after.
        tokio::select! {
            biased;
            Some((reply, deferred)) = in_flight.next(), if !in_flight.is_empty() => {
                let sent = socket.send(to_text(&reply, state.style())).await;
                // What the request caused happens even if its reply could not be sent.
                core.deliver(deferred);
                if !sent {
                    break;
                }
            }
            out = rx.recv() => match out {
                Some(text) => {
                    if !socket.send(text).await {
                        break;
                    }
                }
                None => break,
            },
            msg = socket.recv(), if in_flight.len() < MAX_IN_FLIGHT => {
                let Some(bytes) = msg else { break };
                let mut request = request(core.clone(), api, bytes, ctx.clone());
                // The first poll runs the request up to its first wait, in arrival order.
                match std::future::poll_fn(|cx| Poll::Ready(request.as_mut().poll(cx))).await {
                    Poll::Ready((reply, deferred)) => {
                        let sent = socket.send(to_text(&reply, state.style())).await;
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
    socket.close().await;
    // Gone before the sessions are: a transport that hands this connection its messages sees
    // it closed and makes a new one for what comes next.
    drop(socket);
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
    if told {
        state.notify(id, || serde_json::json!({"event": "disconnected"}));
    }
    core.connection_closed(id).await;
}
