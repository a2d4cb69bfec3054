//! `http-post`: a plugin's JSON posts to an HTTP backend, as Janus's plugins post with libcurl
//! (TextRoom's `post`: every public message of a room). The plugin never waits: a post is
//! queued when its call ends well (a call that traps posts nothing) and one task per backend
//! sends its posts in order (a slow backend holds up only its own), over a kept-alive
//! connection (one the backend closed meanwhile is replaced, the post sent again once), each
//! post within [`POST_TIMEOUT`]. What the backend answers is not the plugin's business, as in Janus: a
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
/// Backends a plugin posts to (each with its own queue and task), at most.
pub const MAX_BACKENDS: usize = 64;
/// Posts waiting for one backend, at most.
pub const BACKEND_QUEUE: usize = QUEUE / 4;
/// After a post found no answer in time, the backend's posts are dropped for this long, so
/// that a backend that hangs cannot fill the plugin's queue.
pub const HOLD_OFF: Duration = Duration::from_secs(30);
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
    fn request(&self, body: Bytes) -> Result<Request<Full<Bytes>>, String> {
        Request::post(self.path.as_str())
            .header(hyper::header::HOST, self.authority.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("charsets", "utf-8")
            .body(Full::new(body))
            .map_err(|e| e.to_string())
    }
}

/// One post, checked, holding its place in the plugin's queue until it is sent, dropped or
/// discarded with a call that trapped.
pub struct Post {
    to: Backend,
    body: String,
    /// Read by its `Drop` only: the post's place is given back when it goes.
    _held: Held,
}

impl std::fmt::Debug for Post {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Post({}{}, {} bytes)", self.to.origin(), self.to.path, self.body.len())
    }
}

/// A post's place in the queue: its bytes count against [`QUEUE_BYTES`] while it lives.
struct Held {
    bytes: usize,
    queue: Arc<Mutex<Queue>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.posts -= 1;
        q.bytes -= self.bytes;
    }
}

/// What a plugin's posts hold: the posts and bytes waiting (sent or not), one sender per
/// backend origin, and the posts dropped.
#[derive(Default)]
struct Queue {
    posts: usize,
    bytes: usize,
    senders: std::collections::HashMap<String, mpsc::Sender<Post>>,
    dropped: u64,
}

/// A plugin's posts. Each backend (scheme, host and port) has its own queue and task, so a
/// slow one holds up only its own posts; all of them together hold at most [`QUEUE`] posts and
/// [`QUEUE_BYTES`].
pub struct Poster {
    package: String,
    send_to: AddrPolicy,
    rt: tokio::runtime::Handle,
    queue: Arc<Mutex<Queue>>,
    /// How long a post may take ([`POST_TIMEOUT`]).
    timeout: Duration,
}

impl Poster {
    /// A plugin's poster; nothing runs until the first post.
    pub fn new(package: &str, send_to: AddrPolicy, rt: tokio::runtime::Handle) -> Self {
        Self { package: package.to_owned(), send_to, rt, queue: Arc::default(), timeout: POST_TIMEOUT }
    }

    /// Checks a post and holds its place in the queue: the URL, the size, a literal address
    /// against `sandbox.send_to` (a name is checked when it is resolved), and room in the
    /// queue, counting the posts of the call under way.
    pub fn check(&self, url: &str, body: String) -> Result<Post, String> {
        let to = Backend::parse(url)?;
        if body.len() > MAX_BODY {
            return Err(format!("a post of {} bytes is more than {MAX_BODY}", body.len()));
        }
        if let Some(ip) = to.literal().filter(|ip| !self.send_to.allows(*ip)) {
            return Err(format!("the plugin's sandbox.send_to does not allow {ip}"));
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.posts >= QUEUE || q.bytes + body.len() > QUEUE_BYTES {
            return Err(format!(
                "the http-post queue is full ({} posts, {} bytes waiting)",
                q.posts, q.bytes
            ));
        }
        q.posts += 1;
        q.bytes += body.len();
        let held = Held { bytes: body.len(), queue: self.queue.clone() };
        Ok(Post { to, body, _held: held })
    }

    /// Queues a checked post to its backend's sender (started with the first post to it; at
    /// most [`MAX_BACKENDS`] of them: a post to one more is dropped, counted and reported).
    pub fn post(&self, post: Post) {
        let origin = post.to.origin();
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if !q.senders.contains_key(&origin) && q.senders.len() >= MAX_BACKENDS {
            if time_to_report(&mut q.dropped) {
                tracing::warn!(
                    plugin = %self.package,
                    "http-post to {origin} dropped: already {MAX_BACKENDS} backends ({} dropped so far)",
                    q.dropped
                );
            }
            return;
        }
        let sender = q.senders.entry(origin.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(BACKEND_QUEUE);
            let sender = Sender {
                origin,
                package: self.package.clone(),
                send_to: self.send_to.clone(),
                timeout: self.timeout,
                kept: None,
                failed: 0,
                held_off: None,
            };
            self.rt.spawn(sender.run(rx));
            tx
        });
        if let Err(e) = sender.try_send(post) {
            let origin = e.into_inner().to.origin();
            if time_to_report(&mut q.dropped) {
                tracing::warn!(plugin = %self.package, "http-post to {origin}: its queue is full ({} dropped so far)", q.dropped);
            }
        }
    }

    /// The posts and bytes waiting.
    #[cfg(test)]
    fn waiting(&self) -> (usize, usize) {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        (q.posts, q.bytes)
    }
}

/// The task that sends a plugin's posts to one backend, in order.
struct Sender {
    origin: String,
    package: String,
    send_to: AddrPolicy,
    timeout: Duration,
    /// The connection of the last post, kept for the next one.
    kept: Option<SendRequest<Full<Bytes>>>,
    /// Posts that failed, for reports that do not flood the log.
    failed: u64,
    /// Until when posts are dropped, after one found no answer in time ([`HOLD_OFF`]).
    held_off: Option<tokio::time::Instant>,
}

impl Sender {
    async fn run(mut self, mut queue: mpsc::Receiver<Post>) {
        while let Some(post) = queue.recv().await {
            let now = tokio::time::Instant::now();
            if self.held_off.is_some_and(|until| now < until) {
                self.failed += 1;
                continue;
            }
            let outcome = match tokio::time::timeout(self.timeout, self.send(&post)).await {
                Ok(Ok(status)) if status.is_success() => continue,
                Ok(Ok(status)) => format!("answered {status}"),
                Ok(Err(e)) => e,
                Err(_) => {
                    self.held_off = Some(tokio::time::Instant::now() + HOLD_OFF);
                    format!(
                        "no answer within {} ms; its posts are dropped for {} s",
                        self.timeout.as_millis(),
                        HOLD_OFF.as_secs()
                    )
                }
            };
            self.kept = None;
            if time_to_report(&mut self.failed) {
                tracing::warn!(
                    plugin = %self.package,
                    "http-post to {}{}: {outcome} ({} failed so far)",
                    self.origin,
                    post.to.path,
                    self.failed
                );
            }
        }
    }

    /// Sends one post on the kept connection, else on a new one. A kept connection the
    /// backend closed meanwhile (an idle timeout) fails before any answer came: the post then
    /// goes again on a new connection, once.
    async fn send(&mut self, post: &Post) -> Result<hyper::StatusCode, String> {
        if let Some(conn) = self.kept.take().filter(|c| !c.is_closed()) {
            if let Ok(status) = self.exchange(conn, post).await {
                return Ok(status);
            }
        }
        let conn = self.connect(&post.to).await?;
        self.exchange(conn, post).await
    }

    /// One request on `conn`: an error only before the answer's head came (so that sending
    /// again cannot post twice); the connection is kept when the whole answer was read.
    async fn exchange(
        &mut self,
        mut conn: SendRequest<Full<Bytes>>,
        post: &Post,
    ) -> Result<hyper::StatusCode, String> {
        conn.ready().await.map_err(|e| e.to_string())?;
        let request = post.to.request(Bytes::from(post.body.clone()))?;
        let answer = conn.send_request(request).await.map_err(|e| e.to_string())?;
        let status = answer.status();
        if answer.into_body().collect().await.is_ok() {
            self.kept = Some(conn);
        }
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
        assert!(poster.check("http://10.1.2.3/x", "{}".into()).is_ok());
        let e = poster.check("http://127.0.0.1/x", "{}".into()).err().unwrap();
        assert!(e.contains("sandbox.send_to"), "{e}");
        let e = poster.check("http://10.1.2.3/x", "x".repeat(MAX_BODY + 1)).err().unwrap();
        assert!(e.contains("more than"), "{e}");
    }

    /// A call's posts hold their place from the check: past QUEUE_BYTES the next is refused,
    /// and posts discarded (a call that trapped) give their place back.
    #[tokio::test]
    async fn posts_hold_their_place_in_a_bounded_queue() {
        let poster = Poster::new("p", AddrPolicy::any(), tokio::runtime::Handle::current());
        let body = "x".repeat(MAX_BODY);
        let held: Vec<Post> = (0..QUEUE_BYTES / MAX_BODY)
            .map(|_| poster.check("http://b/", body.clone()).ok().unwrap())
            .collect();
        let e = poster.check("http://b/", body.clone()).err().unwrap();
        assert!(e.contains("queue is full"), "{e}");
        assert_eq!(poster.waiting(), (held.len(), QUEUE_BYTES));
        drop(held);
        assert_eq!(poster.waiting(), (0, 0));
    }

    /// Answers every request on a connection with 200 and counts them.
    async fn answering() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let got = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = got.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    // Each test request comes in one read: headers and a two-byte body.
                    while conn.read(&mut buf).await.is_ok_and(|n| n > 0) {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if conn.write_all(ok).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, got)
    }

    /// A backend that takes posts and never answers holds up only its own: another backend
    /// gets its post at once, and once the hung one's first post has timed out its posts are
    /// dropped (for HOLD_OFF) instead of filling the plugin's queue.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_backend_holds_up_only_its_own_posts() {
        let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hung_url = format!("http://{}/", hung.local_addr().unwrap());
        tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((conn, _)) = hung.accept().await {
                open.push(conn);
            }
        });
        let (good_url, got) = answering().await;
        let mut poster = Poster::new("p", AddrPolicy::any(), tokio::runtime::Handle::current());
        poster.timeout = Duration::from_millis(300);
        let until = |what: &str, done: &dyn Fn() -> bool| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !done() {
                assert!(std::time::Instant::now() < deadline, "{what}");
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        for _ in 0..5 {
            poster.post(poster.check(&hung_url, "{}".into()).ok().unwrap());
        }
        poster.post(poster.check(&good_url, "{}".into()).ok().unwrap());
        until("the other backend's post", &|| got.load(std::sync::atomic::Ordering::SeqCst) == 1);
        assert!(poster.waiting().0 >= 4, "the hung backend's posts were sent: {:?}", poster.waiting());
        until("the hung backend's posts dropped", &|| poster.waiting() == (0, 0));
        for _ in 0..5 {
            poster.post(poster.check(&hung_url, "{}".into()).ok().unwrap());
        }
        until("posts to a held-off backend dropped at once", &|| poster.waiting() == (0, 0));
    }
}
