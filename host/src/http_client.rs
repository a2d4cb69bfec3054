//! An HTTP/1.1 client for the posts the gateway makes to backends (a plugin's `http-post`,
//! the sample event handler), as Janus makes them with libcurl: `http://` or `https://` URLs, a
//! kept-alive connection per backend (one the backend closed meanwhile is replaced, the post
//! sent again once, only when no answer had begun), only to the addresses a policy allows.
//! An `https://` backend is verified against the system's trusted certificates, as libcurl
//! does (or those of `SSL_CERT_FILE` / `SSL_CERT_DIR`).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};

use crate::plugins::policy::AddrPolicy;

/// Where a post goes: an `http://` or `https://` URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    tls: bool,
    host: String,
    port: u16,
    /// `host[:port]`, the `Host` header.
    authority: String,
    path: String,
}

impl Backend {
    /// Reads an `http[s]://host[:port][/path][?query]` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|_| format!("'{url}' is not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("'{url}' is not an http:// or https:// URL")),
        };
        let authority = uri.authority().ok_or_else(|| format!("'{url}' names no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!("'{url}': credentials in the URL are not sent"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_owned();
        if host.is_empty() {
            return Err(format!("'{url}' names no host"));
        }
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        // `http://host?q` asks for `/?q`.
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let backend = Self { tls, host, port, authority: authority.as_str().to_owned(), path };
        backend.request(Bytes::new(), PostHeaders::default()).map_err(|e| format!("'{url}': {e}"))?;
        Ok(backend)
    }

    /// The URL without its path: a kept connection serves the posts to the same one.
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.authority)
    }

    /// The backend's address when the URL names one (no name to resolve).
    pub fn literal(&self) -> Option<std::net::IpAddr> {
        self.host.parse().ok()
    }

    /// Its path (and query).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The POST of `body` to this backend, with Janus's headers (and those `with` asks for).
    fn request(&self, body: Bytes, with: PostHeaders<'_>) -> Result<Request<Full<Bytes>>, String> {
        let mut request = Request::post(self.path.as_str())
            .header(hyper::header::HOST, self.authority.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("charsets", "utf-8");
        if let Some(value) = with.authorization {
            request = request.header(hyper::header::AUTHORIZATION, value);
        }
        if with.gzipped {
            request = request.header(hyper::header::CONTENT_ENCODING, "gzip");
        }
        request.body(Full::new(body)).map_err(|e| e.to_string())
    }
}

/// What a post carries besides its JSON body.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostHeaders<'a> {
    /// The `Authorization` header's value.
    pub authorization: Option<&'a str>,
    /// The body is gzipped (`Content-Encoding: gzip`).
    pub gzipped: bool,
}

/// Posts to backends over a kept connection, to the addresses `allows` lets through.
pub struct Client {
    allows: AddrPolicy,
    /// What `allows` is, for the error when it lets none through.
    policy: &'static str,
    /// The connection of the last post, and the origin it is to, kept for the next post
    /// to that origin.
    kept: Option<(String, SendRequest<Full<Bytes>>)>,
    /// The TLS client for `https://` (TLS) backends (none: the system's trust, no client
    /// certificate).
    tls: Option<Arc<ClientConfig>>,
}

impl Client {
    /// A client to the addresses `allows` lets through (`policy` names it in errors).
    pub fn new(allows: AddrPolicy, policy: &'static str) -> Self {
        Self { allows, policy, kept: None, tls: None }
    }

    /// The same client with its own TLS settings (a broker's files, see [`crate::tls`]).
    pub fn with_tls(self, tls: Option<Arc<ClientConfig>>) -> Self {
        Self { tls, ..self }
    }

    /// Forgets the kept connection (after a failure).
    pub fn drop_connection(&mut self) {
        self.kept = None;
    }

    /// Posts `body` to `to` on the kept connection, else on a new one; the answer's status. A
    /// kept connection the backend closed meanwhile (an idle timeout) fails before any answer
    /// came: the post then goes again on a new connection, once.
    pub async fn post(
        &mut self,
        to: &Backend,
        body: Bytes,
        with: PostHeaders<'_>,
    ) -> Result<hyper::StatusCode, String> {
        let origin = to.origin();
        if let Some((_, conn)) = self.kept.take().filter(|(o, c)| *o == origin && !c.is_closed()) {
            if let Ok(status) = self.exchange(conn, to, body.clone(), with).await {
                return Ok(status);
            }
        }
        let conn = self.connect(to).await?;
        self.exchange(conn, to, body, with).await
    }

    /// One request on `conn`: an error only before the answer's head came (so that sending
    /// again cannot post twice); the connection is kept when the whole answer was read.
    async fn exchange(
        &mut self,
        mut conn: SendRequest<Full<Bytes>>,
        to: &Backend,
        body: Bytes,
        with: PostHeaders<'_>,
    ) -> Result<hyper::StatusCode, String> {
        conn.ready().await.map_err(|e| e.to_string())?;
        let request = to.request(body, with)?;
        let answer = conn.send_request(request).await.map_err(|e| e.to_string())?;
        let status = answer.status();
        if answer.into_body().collect().await.is_ok() {
            self.kept = Some((to.origin(), conn));
        }
        Ok(status)
    }

    /// A new connection to the first of the backend's addresses that `allows` lets through.
    async fn connect(&self, to: &Backend) -> Result<SendRequest<Full<Bytes>>, String> {
        handshake(self.stream(to).await?).await
    }

    /// A byte stream to the first of the backend's addresses that `allows` lets through,
    /// over TLS (verified) for an `https://` one, within [`CONNECT_TIMEOUT`]: for other
    /// protocols over HTTP's connection (a WebSocket, MQTT).
    pub async fn stream(&self, to: &Backend) -> Result<Box<dyn Stream>, String> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.stream_now(to)).await {
            Ok(stream) => stream,
            Err(_) => Err(format!("{}: not connected within {CONNECT_TIMEOUT:?}", to.authority)),
        }
    }

    async fn stream_now(&self, to: &Backend) -> Result<Box<dyn Stream>, String> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((to.host.as_str(), to.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", to.host))?
            .collect();
        let addr = found
            .iter()
            .find(|a| self.allows.allows(a.ip()))
            .ok_or_else(|| format!("{} allows none of {found:?}", self.policy))?;
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("{addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        if !to.tls {
            return Ok(Box::new(stream));
        }
        let name = ServerName::try_from(to.host.clone()).map_err(|e| format!("{}: {e}", to.host))?;
        let config = match &self.tls {
            Some(config) => config.clone(),
            None => tls_config()?,
        };
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS with {}: {e}", to.authority))?;
        Ok(Box::new(stream))
    }
}

/// How long a connection (and its TLS handshake) may take.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Writes and flushes `bytes` on a stream of [`Client::stream`]'s within [`CONNECT_TIMEOUT`]
/// (for the brokers' clients: a stalled connection is a lost one).
pub async fn write_in_time(
    stream: &mut (impl tokio::io::AsyncWrite + Unpin),
    bytes: &[u8],
) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let written = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, written).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("not written within {CONNECT_TIMEOUT:?}")),
    }
}

/// A connection's byte stream, plain or TLS.
pub trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Stream for S {}

/// HTTP/1.1 over a connected stream; its connection runs on a task of its own until closed.
async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (conn, driver) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = driver.await;
    });
    Ok(conn)
}

/// The system's trusted certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` name others).
pub fn system_roots() -> Result<RootCertStore, String> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    match added {
        0 => Err(format!("no trusted certificates to verify TLS servers with ({:?})", found.errors)),
        _ => Ok(roots),
    }
}

/// The TLS client of every post: the system's trusted certificates (read once, at the
/// first `https://` post; `SSL_CERT_FILE` and `SSL_CERT_DIR` name others), on aws-lc.
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = system_roots()?;
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_read_from_http_urls() {
        let b = Backend::parse("http://127.0.0.1:8080/rooms/1?x=y").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.path.as_str()), ("127.0.0.1", 8080, "/rooms/1?x=y"));
        assert_eq!(b.authority, "127.0.0.1:8080");
        let b = Backend::parse("http://backend.example").unwrap();
        assert_eq!((b.host.as_str(), b.port, b.path.as_str()), ("backend.example", 80, "/"));
        assert_eq!(Backend::parse("http://[::1]?").unwrap().path, "/?");
        let b = Backend::parse("http://[::1]:9/").unwrap();
        assert_eq!((b.host.as_str(), b.literal()), ("::1", Some("::1".parse().unwrap())));
        let b = Backend::parse("https://backend.example/hook").unwrap();
        assert_eq!((b.tls, b.port, b.origin().as_str()), (true, 443, "https://backend.example"));
        for bad in ["", "backend:80", "ftp://x/", "http://", "http://u:p@host/", "https://"] {
            assert!(Backend::parse(bad).is_err(), "{bad}");
        }
    }
}
