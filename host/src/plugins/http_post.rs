//! `http-post`: a plugin's JSON posts to an HTTP backend, as Janus's plugins post with libcurl
//! (TextRoom's `post`: every public message of a room). The plugin never waits: a post is
//! queued when its call ends well (a call that traps posts nothing) and one task per plugin
//! sends the queue in order, over one kept-alive connection per backend (one the backend
//! closed meanwhile is replaced, the post sent again once), each post within
//! [`POST_TIMEOUT`]. What the backend answers is not the plugin's business, as in Janus: a
//! failure or a status other than 2xx is logged. The backend's addresses must be allowed by the
//! plugin's `sandbox.send_to`, like every other address a plugin sends to. An `https://`
//! backend is verified against the system's trusted certificates, as libcurl does (or those of
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::sync::mpsc;

use super::policy::AddrPolicy;
use crate::logging::time_to_report;

/// Posts waiting to be sent, at most; beyond, a post is dropped and counted.
pub const QUEUE: usize = 1024;
/// Bytes of posts waiting to be sent, at most, for a backend slower than the room.
pub const QUEUE_BYTES: usize = 16 << 20;
/// How long one post may take, connection included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest body a plugin may post.
pub const MAX_BODY: usize = 1 << 20;

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
        backend.request(Bytes::new()).map_err(|e| format!("'{url}': {e}"))?;
        Ok(backend)
    }

    /// The URL without its path: a kept connection serves the posts to the same one.
    fn origin(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.authority)
    }

    /// The backend's address when the URL names one (no name to resolve).
    fn literal(&self) -> Option<std::net::IpAddr> {
        self.host.parse().ok()
    }

    /// The POST of `body` to this backend, with Janus's headers.
    pub fn request(&self, body: Bytes) -> Result<Request<Full<Bytes>>, String> {
        Request::post(self.path.as_str())
            .header(hyper::header::HOST, self.authority.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("charsets", "utf-8")
            .body(Full::new(body))
            .map_err(|e| e.to_string())
    }
}

/// One post.
struct Post {
    to: Backend,
    body: String,
}

/// A plugin's posts: the queue, and the task that sends it (started with the first post).
pub struct Poster {
    package: String,
    send_to: AddrPolicy,
    rt: tokio::runtime::Handle,
    queue: OnceLock<mpsc::Sender<Post>>,
    /// Posts dropped, and posts that failed: for reports that do not flood the log.
    counts: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    dropped: u64,
    failed: u64,
    /// Bytes of the posts queued and not yet sent.
    waiting: usize,
}

impl Poster {
    /// A plugin's poster; nothing runs until the first post.
    pub fn new(package: &str, send_to: AddrPolicy, rt: tokio::runtime::Handle) -> Self {
        Self { package: package.to_owned(), send_to, rt, queue: OnceLock::new(), counts: Arc::default() }
    }

    /// Checks a post before it is queued: the URL, the size, and a literal address against
    /// `sandbox.send_to` (a name is checked when it is resolved).
    pub fn check(&self, url: &str, body: &str) -> Result<Backend, String> {
        let to = Backend::parse(url)?;
        if body.len() > MAX_BODY {
            return Err(format!("a post of {} bytes is more than {MAX_BODY}", body.len()));
        }
        if let Some(ip) = to.literal().filter(|ip| !self.send_to.allows(*ip)) {
            return Err(format!("the plugin's sandbox.send_to does not allow {ip}"));
        }
        Ok(to)
    }

    /// Queues a checked post; a full queue ([`QUEUE`] posts or [`QUEUE_BYTES`]) drops it
    /// (counted, reported).
    pub fn post(&self, to: Backend, body: String) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            let sender = Sender {
                package: self.package.clone(),
                send_to: self.send_to.clone(),
                counts: self.counts.clone(),
                kept: None,
            };
            self.rt.spawn(sender.run(rx));
            tx
        });
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let len = body.len();
        if counts.waiting + len <= QUEUE_BYTES && queue.try_send(Post { to, body }).is_ok() {
            counts.waiting += len;
        } else if time_to_report(&mut counts.dropped) {
            tracing::warn!(plugin = %self.package, "http-post queue full: posts dropped ({} so far)", counts.dropped);
        }
    }

    /// Bytes of the posts waiting to be sent.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).waiting
    }
}

/// The task that sends a plugin's posts.
struct Sender {
    package: String,
    send_to: AddrPolicy,
    counts: Arc<Mutex<Counts>>,
    /// The connection of the last post and its origin, kept for the next one to the same.
    kept: Option<(String, SendRequest<Full<Bytes>>)>,
}

impl Sender {
    async fn run(mut self, mut queue: mpsc::Receiver<Post>) {
        while let Some(post) = queue.recv().await {
            let outcome = match tokio::time::timeout(POST_TIMEOUT, self.send(&post)).await {
                Ok(Ok(status)) if status.is_success() => None,
                Ok(Ok(status)) => Some(format!("answered {status}")),
                Ok(Err(e)) => Some(e),
                Err(_) => Some(format!("no answer within {} s", POST_TIMEOUT.as_secs())),
            };
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            counts.waiting -= post.body.len();
            let Some(outcome) = outcome else { continue };
            self.kept = None;
            if time_to_report(&mut counts.failed) {
                tracing::warn!(
                    plugin = %self.package,
                    "http-post to {}{}: {outcome} ({} failed so far)",
                    post.to.origin(),
                    post.to.path,
                    counts.failed
                );
            }
        }
    }

    /// Sends one post on the kept connection when it is to the same backend, else on a new
    /// one, and reads the whole answer so that the connection can serve the next post. A kept
    /// connection the backend closed meanwhile (an idle timeout) fails before any answer: the
    /// post then goes again on a new connection, once.
    async fn send(&mut self, post: &Post) -> Result<hyper::StatusCode, String> {
        let kept = self.kept.take().filter(|(origin, conn)| *origin == post.to.origin() && !conn.is_closed());
        if let Some((_, conn)) = kept {
            if let Ok(status) = self.exchange(conn, post).await {
                return Ok(status);
            }
        }
        let conn = self.connect(&post.to).await?;
        self.exchange(conn, post).await
    }

    /// One request and its whole answer on `conn`, which is kept for the next post.
    async fn exchange(
        &mut self,
        mut conn: SendRequest<Full<Bytes>>,
        post: &Post,
    ) -> Result<hyper::StatusCode, String> {
        conn.ready().await.map_err(|e| e.to_string())?;
        let request = post.to.request(Bytes::from(post.body.clone()))?;
        let answer = conn.send_request(request).await.map_err(|e| e.to_string())?;
        let status = answer.status();
        answer.into_body().collect().await.map_err(|e| e.to_string())?;
        self.kept = Some((post.to.origin(), conn));
        Ok(status)
    }

    /// A new connection to the first of the backend's addresses that `send_to` allows.
    async fn connect(&self, to: &Backend) -> Result<SendRequest<Full<Bytes>>, String> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((to.host.as_str(), to.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", to.host))?
            .collect();
        let addr = found
            .iter()
            .find(|a| self.send_to.allows(a.ip()))
            .ok_or_else(|| format!("the plugin's sandbox.send_to allows none of {found:?}"))?;
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("{addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        if !to.tls {
            return handshake(stream).await;
        }
        let name = ServerName::try_from(to.host.clone()).map_err(|e| format!("{}: {e}", to.host))?;
        let stream = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, stream)
            .await
            .map_err(|e| format!("TLS with {}: {e}", to.authority))?;
        handshake(stream).await
    }
}

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

/// The TLS client of every plugin's posts: the system's trusted certificates (read once, at the
/// first `https://` post; `SSL_CERT_FILE` and `SSL_CERT_DIR` name others), on aws-lc.
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(format!(
                    "no trusted certificates to verify https backends with ({:?})",
                    found.errors
                ));
            }
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

    #[tokio::test]
    async fn literal_addresses_outside_send_to_are_refused_at_once() {
        let poster =
            Poster::new("p", AddrPolicy::parse("10.0.0.0/8").unwrap(), tokio::runtime::Handle::current());
        assert!(poster.check("http://10.1.2.3/x", "{}").is_ok());
        let e = poster.check("http://127.0.0.1/x", "{}").unwrap_err();
        assert!(e.contains("sandbox.send_to"), "{e}");
        let e = poster.check("http://10.1.2.3/x", &"x".repeat(MAX_BODY + 1)).unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }

    /// A backend that takes posts and never answers holds at most QUEUE_BYTES of them in the
    /// gateway: the rest are dropped, and what was sent is no longer counted.
    #[tokio::test]
    async fn a_stuck_backend_holds_a_bounded_queue() {
        let stuck = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", stuck.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((conn, _)) = stuck.accept().await {
                open.push(conn);
            }
        });
        let poster = Poster::new("p", AddrPolicy::any(), tokio::runtime::Handle::current());
        let body = "x".repeat(MAX_BODY);
        for _ in 0..40 {
            poster.post(poster.check(&url, &body).unwrap(), body.clone());
        }
        let waiting = poster.waiting();
        assert!((QUEUE_BYTES - MAX_BODY..=QUEUE_BYTES).contains(&waiting), "{waiting}");
        assert_eq!(poster.counts.lock().unwrap().dropped, 40 - (waiting / MAX_BODY) as u64);
        held.abort();
    }
}
