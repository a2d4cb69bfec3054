//! The HTTP transport: Janus API routes, the long poll, CORS, and the admin API routes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::demo::Demo;
use super::state::{Counted, TransportState};
use super::{to_text, Api};
use crate::api::auth::Credentials;
use crate::api::session::ClientKey;
use crate::api::{Core, Instance, PathIds, PollError, RequestCtx};
use crate::config::Http as HttpConfig;

/// How long a long poll waits for events before answering with a keepalive.
const LONG_POLL_WAIT: Duration = Duration::from_secs(30);
/// Most events one long poll may ask for.
const MAX_EVENTS_PER_POLL: usize = 100;

/// Each request's id in its transport events.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

struct Server {
    core: Core,
    state: Arc<TransportState>,
    config: HttpConfig,
    api: Api,
    base: String,
    demo: Option<Demo>,
}

type Reply = Response<Full<Bytes>>;

/// Serves one HTTP listener until the task is dropped (with the demo pages, when given);
/// `state` is the transport's.
pub async fn serve(
    listener: TcpListener,
    core: Core,
    state: Arc<TransportState>,
    config: HttpConfig,
    api: Api,
    demo: Option<Demo>,
) {
    let base = match api {
        Api::Janus => config.base_path.clone(),
        Api::Admin => config.admin_base_path.clone(),
    };
    let max_connections = config.max_connections;
    let header_timeout = Duration::from_secs(config.header_timeout);
    let idle_timeout = Duration::from_secs(config.idle_timeout);
    let open = (state.clone(), if api == Api::Admin { Counted::Admin } else { Counted::Api });
    let server = Arc::new(Server { core, state, config, api, base, demo });
    super::accept_loop(listener, "http", max_connections, open, move |stream, peer| {
        let server = server.clone();
        async move {
            // Requests in progress, and when the last one ended: a keep-alive connection with
            // none for `idle_timeout` is closed.
            let activity = Arc::new(Activity::default());
            let tracked = activity.clone();
            let service = service_fn(move |req| {
                let server = server.clone();
                let activity = tracked.clone();
                async move {
                    activity.begin();
                    let serving = server.state.count(Counted::Request);
                    let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
                    server.state.notify(id, || {
                        let admin_api = server.api == Api::Admin;
                        json!({"event": "request", "admin_api": admin_api, "ip": peer.ip().to_string(), "port": peer.port()})
                    });
                    let mut req = req;
                    req.extensions_mut().insert(Instance { transport: server.state.package(), id });
                    let response = server.route(req, peer).await;
                    drop(serving);
                    activity.end();
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let mut tick = tokio::time::interval(idle_timeout.min(Duration::from_secs(1)));
            let mut closing = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!("http connection from {peer} ended: {e}");
                        }
                        break;
                    }
                    _ = tick.tick(), if !closing => {
                        if activity.idle_for() >= idle_timeout {
                            tracing::debug!("http connection from {peer} idle for {idle_timeout:?}, closing");
                            conn.as_mut().graceful_shutdown();
                            closing = true;
                        }
                    }
                }
            }
        }
    })
    .await;
}

/// What a connection is doing, for its idle timeout.
struct Activity {
    in_flight: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<std::time::Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self { in_flight: 0.into(), last: std::sync::Mutex::new(std::time::Instant::now()) }
    }
}

impl Activity {
    fn begin(&self) {
        self.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    fn end(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = std::time::Instant::now();
        self.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// How long the connection has had no request (zero while one runs).
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
    }
}

/// The path below the base, split into segments; `None` if the path is outside the base.
fn segments<'a>(path: &'a str, base: &str) -> Option<Vec<&'a str>> {
    let rest = path.strip_prefix(base)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    Some(rest.split('/').filter(|s| !s.is_empty()).collect())
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse::<u64>().ok()
}

impl Server {
    async fn route(&self, req: Request<Incoming>, peer: SocketAddr) -> Reply {
        let origin = req.headers().get(header::ORIGIN).cloned();
        if self.config.enforce_cors {
            if let (Some(allowed), Some(o)) = (&self.config.allow_origin, &origin) {
                if o.as_bytes() != allowed.as_bytes() {
                    return self.with_cors(status_only(StatusCode::FORBIDDEN), origin.as_ref(), None);
                }
            }
        }
        if req.method() == Method::OPTIONS {
            let preflight = req.headers().clone();
            return self.with_cors(status_only(StatusCode::OK), origin.as_ref(), Some(&preflight));
        }
        let reply = self.route_api(req, peer).await;
        self.with_cors(reply, origin.as_ref(), None)
    }

    async fn route_api(&self, req: Request<Incoming>, peer: SocketAddr) -> Reply {
        let path = req.uri().path().to_owned();
        if let (Some(demo), &Method::GET) = (&self.demo, req.method()) {
            if let Some(page) = demo.serve(&path).await {
                return page;
            }
        }
        let query = req.uri().query().map(str::to_owned);
        let Some(segs) = segments(&path, &self.base) else {
            return status_only(StatusCode::NOT_FOUND);
        };
        let method = req.method().clone();
        if method != Method::GET && method != Method::POST {
            return self.json(StatusCode::OK, &transport_error(&format!("Unsupported method {method}")));
        }
        let ids: Vec<Option<u64>> = segs.iter().map(|s| parse_id(s)).collect();
        match (method, segs.as_slice(), ids.as_slice()) {
            (Method::GET, ["info"], _) => self.json(StatusCode::OK, &self.core_info().await),
            (Method::GET, ["ping"], _) => {
                self.json(StatusCode::OK, &json!({"janus": "pong", "transaction": "ping"}))
            }
            (Method::POST, ["info"], _) if self.api == Api::Admin => {
                self.json(StatusCode::OK, &transport_error("Use GET for the info endpoint"))
            }
            (Method::POST, ["info" | "ping"], _) => status_only(StatusCode::BAD_REQUEST),
            (Method::GET, [_], [Some(sid)]) if self.api == Api::Janus => {
                self.long_poll(*sid, query.as_deref()).await
            }
            (Method::GET, [sid, _], [Some(_), Some(_)]) if self.api == Api::Janus => {
                if self.core.auth().check(poll_credentials(query.as_deref())).is_err() {
                    return status_only(StatusCode::FORBIDDEN);
                }
                let location = format!("{}/{}", self.base, sid);
                let mut r = status_only(StatusCode::FOUND);
                if let Ok(v) = HeaderValue::from_str(&location) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
            (Method::POST, [], _) => self.post(req, PathIds::default(), peer).await,
            (Method::POST, [_], [Some(sid)]) => {
                let ids = PathIds { session: Some(*sid), handle: None };
                self.post(req, ids, peer).await
            }
            (Method::POST, [_, _], [Some(sid), Some(hid)]) => {
                let ids = PathIds { session: Some(*sid), handle: Some(*hid) };
                self.post(req, ids, peer).await
            }
            // The admin API has no long poll: Janus reads a GET there as a request without a body.
            (Method::GET, segs, _) if self.api == Api::Admin && segs.len() <= 2 => self.json(
                StatusCode::OK,
                &json!({"janus": "error", "error": {"code": 454, "reason": "Request payload missing"}}),
            ),
            _ => status_only(StatusCode::NOT_FOUND),
        }
    }

    async fn core_info(&self) -> Value {
        let body = br#"{"janus":"info","transaction":"info"}"#;
        match self.api {
            Api::Janus => {
                let instance = Instance { transport: self.state.package(), id: 0 };
                let ctx = RequestCtx {
                    sink: None,
                    client: ClientKey::Connection(0),
                    path: PathIds::default(),
                    instance,
                };
                self.core.handle_api(body, &ctx).await.body
            }
            Api::Admin => self.core.handle_admin(body, PathIds::default()).await,
        }
    }

    async fn post(&self, req: Request<Incoming>, path: PathIds, peer: SocketAddr) -> Reply {
        let instance = req
            .extensions()
            .get::<Instance>()
            .copied()
            .unwrap_or(Instance { transport: self.state.package(), id: 0 });
        let limit = self.core.general().max_request_size;
        let bytes = match Limited::new(req.into_body(), limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                let too_big = e.downcast_ref::<http_body_util::LengthLimitError>().is_some();
                return if too_big {
                    status_only(StatusCode::PAYLOAD_TOO_LARGE)
                } else {
                    status_only(StatusCode::BAD_REQUEST)
                };
            }
        };
        let reply = match self.api {
            Api::Janus => {
                let ctx = RequestCtx { sink: None, client: ClientKey::Addr(peer.ip()), path, instance };
                let reply = self.core.handle_api(&bytes, &ctx).await;
                self.core.deliver(reply.deferred);
                reply.body
            }
            Api::Admin => self.core.handle_admin(&bytes, path).await,
        };
        self.json(StatusCode::OK, &reply)
    }

    async fn long_poll(&self, sid: u64, query: Option<&str>) -> Reply {
        let session = match self.core.poll_session(sid, poll_credentials(query)) {
            Ok(s) => s,
            Err(PollError::Unauthorized) => return status_only(StatusCode::FORBIDDEN),
            Err(PollError::NotFound) => return status_only(StatusCode::NOT_FOUND),
        };
        let maxev = query_param(query, "maxev")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, MAX_EVENTS_PER_POLL);
        let mut events = session.queue.wait_take(maxev, LONG_POLL_WAIT).await;
        if events.is_empty() {
            events.push(json!({"janus": "keepalive"}));
        }
        let body = if maxev > 1 { Value::Array(events) } else { events.swap_remove(0) };
        self.json(StatusCode::OK, &body)
    }

    fn json(&self, status: StatusCode, value: &Value) -> Reply {
        let mut r = Response::new(Full::new(Bytes::from(to_text(value, self.state.style()))));
        *r.status_mut() = status;
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    }

    fn with_cors(&self, mut r: Reply, origin: Option<&HeaderValue>, preflight: Option<&HeaderMap>) -> Reply {
        let h = r.headers_mut();
        match &self.config.allow_origin {
            Some(allowed) => {
                if let Ok(v) = HeaderValue::from_str(allowed) {
                    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                }
                h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
                h.insert(header::VARY, HeaderValue::from_static("Origin"));
            }
            None => {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            }
        }
        let _ = origin;
        if let Some(pre) = preflight {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
            if let Some(m) = pre.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
                h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, m.clone());
            }
            if let Some(hd) = pre.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, hd.clone());
            }
        }
        r
    }
}

/// A long poll carries its credentials in the query string.
fn poll_credentials(query: Option<&str>) -> Credentials<'_> {
    Credentials { apisecret: query_param(query, "apisecret"), token: query_param(query, "token") }
}

/// A 450 transport error body.
fn transport_error(reason: &str) -> Value {
    json!({"janus": "error", "error": {"code": 450, "reason": reason}})
}

fn status_only(status: StatusCode) -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}
