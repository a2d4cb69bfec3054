//! The admin API's global tools (janus-api.md §2.5), with Janus's answers: `query_transport`
//! and its kin, `custom_event`, `custom_logline`, `resolve_address`, `test_stun` and
//! `loops_info`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::core::Core;
use super::envelope::Envelope;
use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields::{self, Obj};
use crate::media::public_address;

/// How long `test_stun` waits for the server's answer: Janus's 5 s.
const STUN_WAIT: Duration = Duration::from_secs(5);

impl Core {
    /// The global tools; `None` for any other request.
    pub(super) async fn admin_tool(&self, env: &Envelope) -> Option<ApiResult<Value>> {
        let b = &env.body;
        let answer = match env.verb.as_str() {
            "query_transport" => self.query_transport(b),
            "query_eventhandler" => self.query_eventhandler(b),
            // Portunus has no logger plugins: none is found.
            "query_logger" => query_missing(b, "logger", "Invalid logger"),
            "custom_event" => self.custom_event(b),
            "custom_logline" => custom_logline(b),
            "resolve_address" => resolve_address(b).await,
            "test_stun" => test_stun(b).await,
            // Janus lists its static event loops; Portunus has none (`info` says 0).
            "loops_info" => Ok(json!({"loops": []})),
            _ => return None,
        };
        Some(answer.map(|fields| self.success(env, fields)))
    }

    /// `query_transport{transport, request}`: the transport's own answer.
    fn query_transport(&self, b: &Obj) -> ApiResult<Value> {
        let package = fields::req_str(b, "transport")?;
        let request = optional_object(b, "request")?;
        let transport = self
            .inner
            .transports
            .iter()
            .find(|t| t.package == package)
            .ok_or_else(|| ApiError::new(ErrorCode::PluginNotFound, "Invalid transport"))?;
        Ok(json!({"response": transport.query.query(request)}))
    }

    /// `query_eventhandler{handler, request}`: the handler's own answer.
    fn query_eventhandler(&self, b: &Obj) -> ApiResult<Value> {
        let package = fields::req_str(b, "handler")?;
        let request = optional_object(b, "request")?;
        match self.events().query(package, request) {
            Some(response) => Ok(json!({"response": response})),
            None => Err(ApiError::new(ErrorCode::PluginNotFound, "Invalid event handler")),
        }
    }

    /// `custom_event{schema, data}`: an external event for the event handlers (checked and
    /// accepted when there are none, as by Janus).
    fn custom_event(&self, b: &Obj) -> ApiResult<Value> {
        let schema = fields::req_str(b, "schema")?;
        let data = match b.get("data") {
            None => return Err(ApiError::missing("data")),
            Some(data @ Value::Object(_)) => data,
            Some(_) => return Err(ApiError::wrong_type("data", "an object")),
        };
        let body = json!({"schema": schema, "data": data});
        self.events().notify(crate::events::Kind::External, 0, crate::events::About::default(), body);
        Ok(Value::Null)
    }
}

/// `request`, an optional object.
fn optional_object<'a>(b: &'a Obj, name: &str) -> ApiResult<Option<&'a Value>> {
    match b.get(name) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v)),
        Some(_) => Err(ApiError::wrong_type(name, "an object")),
    }
}

/// A query of a module kind Portunus has none of (logger plugins): the request is checked
/// as Janus checks it, then the module is not found (460).
fn query_missing(b: &Obj, field: &str, not_found: &str) -> ApiResult<Value> {
    fields::req_str(b, field)?;
    optional_object(b, "request")?;
    Err(ApiError::new(ErrorCode::PluginNotFound, not_found))
}

/// `custom_logline{line, level?}`: the line goes into the log at that Janus level (4, info,
/// when absent or above 7; 0 logs nothing).
fn custom_logline(b: &Obj) -> ApiResult<Value> {
    let line = fields::req_str(b, "line")?;
    let level = fields::opt_u64(b, "level")?.filter(|l| *l <= 7).unwrap_or(4);
    match level {
        0 => {}
        1 | 2 => tracing::error!("{line}"),
        3 => tracing::warn!("{line}"),
        4 => tracing::info!("{line}"),
        5 | 6 => tracing::debug!("{line}"),
        _ => tracing::trace!("{line}"),
    }
    Ok(Value::Null)
}

/// The first address `host` resolves to (490 "Could not resolve address" when none).
async fn resolve(host: &str) -> ApiResult<IpAddr> {
    let found = tokio::net::lookup_host((host, 0)).await.map(|mut all| all.next());
    match found {
        Ok(Some(addr)) => Ok(addr.ip()),
        Ok(None) | Err(_) => {
            tracing::error!("could not resolve {host}");
            Err(ApiError::new(ErrorCode::Unknown, "Could not resolve address"))
        }
    }
}

/// `resolve_address{address}`: `ip`, and `elapsed` µs.
async fn resolve_address(b: &Obj) -> ApiResult<Value> {
    let host = fields::req_str(b, "address")?;
    let start = Instant::now();
    let ip = resolve(host).await?;
    Ok(json!({"ip": ip.to_string(), "elapsed": start.elapsed().as_micros() as u64}))
}

/// `test_stun{address, port, localport?}`: a Binding request to that STUN server from a socket
/// on `localport` (any when absent); `public_ip`, `public_port`, and `elapsed` µs.
async fn test_stun(b: &Obj) -> ApiResult<Value> {
    let host = fields::req_str(b, "address")?;
    let port = port_field(b, "port")?.ok_or_else(|| ApiError::missing("port"))?;
    let local_port = port_field(b, "localport")?.unwrap_or(0);
    let start = Instant::now();
    let server = SocketAddr::new(resolve(host).await?, port);
    let any =
        if server.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    let asked = tokio::task::spawn_blocking(move || {
        let socket = std::net::UdpSocket::bind(SocketAddr::new(any, local_port))?;
        public_address::query(&socket, server, STUN_WAIT)
    })
    .await;
    match asked {
        Ok(Ok(public)) => Ok(json!({
            "public_ip": public.ip().to_string(),
            "public_port": public.port(),
            "elapsed": start.elapsed().as_micros() as u64,
        })),
        Ok(Err(e)) => {
            tracing::error!("STUN test with {server} (local port {local_port}): {e}");
            Err(ApiError::new(ErrorCode::Unknown, "STUN request failed"))
        }
        Err(e) => Err(ApiError::new(ErrorCode::Unknown, format!("STUN request failed: {e}"))),
    }
}

/// An optional UDP port field (467 for anything but an integer from 0 to 65535).
fn port_field(b: &Obj, name: &str) -> ApiResult<Option<u16>> {
    fields::opt_u64(b, name)?
        .map(|p| u16::try_from(p).map_err(|_| ApiError::wrong_type(name, "a port (0 to 65535)")))
        .transpose()
}
