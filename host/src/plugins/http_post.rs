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

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::policy::AddrPolicy;
use crate::http_client::{Backend, Client, PostHeaders};
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
        write!(f, "Post({}{}, {} bytes)", self.to.origin(), self.to.path(), self.body.len())
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
                timeout: self.timeout,
                client: Client::new(self.send_to.clone(), "the plugin's sandbox.send_to"),
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
    timeout: Duration,
    /// The connection, kept from post to post.
    client: Client,
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
            let sent = self.client.post(&post.to, post.body.clone().into(), PostHeaders::default());
            let outcome = match tokio::time::timeout(self.timeout, sent).await {
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
            self.client.drop_connection();
            if time_to_report(&mut self.failed) {
                tracing::warn!(
                    plugin = %self.package,
                    "http-post to {}{}: {outcome} ({} failed so far)",
                    self.origin,
                    post.to.path(),
                    self.failed
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
