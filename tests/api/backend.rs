//! An HTTP/1.1 backend for the gateway's posts (TextRoom's `post`, the event handler), over
//! TLS too, that reports each POST it gets.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::harness::{Conf, WAIT};

/// A request an HTTP backend got: its path, `Content-Type`, `Accept`, `Authorization` and
/// `Content-Encoding`, and its JSON body (gunzipped when it came gzipped).
#[derive(Debug)]
pub struct Posted {
    /// The request's path.
    pub path: String,
    /// `Content-Type`.
    pub content_type: String,
    /// `Accept`.
    pub accept: String,
    /// `Authorization`, if any.
    pub authorization: Option<String>,
    /// `Content-Encoding`, if any.
    pub content_encoding: Option<String>,
    /// The body.
    pub body: Value,
}

/// The test CA and the backend certificate it signed (for `localhost` and `127.0.0.1`).
pub fn https_fixture(file: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/https");
    dir.join(file).display().to_string()
}

/// An HTTP/1.1 backend on `ip` (over TLS with the fixture's certificate when `tls`) that
/// answers every POST with 200 and reports it, keeping connections alive as a backend does.
pub async fn backend(ip: &str, tls: bool) -> (SocketAddr, mpsc::UnboundedReceiver<Posted>) {
    backend_with(ip, tls, false).await
}

/// As [`backend`]; with `one_each`, a connection answers one POST, then drops the next
/// unanswered, as a backend whose idle timeout closes a connection as a request arrives.
pub async fn backend_with(
    ip: &str,
    tls: bool,
    one_each: bool,
) -> (SocketAddr, mpsc::UnboundedReceiver<Posted>) {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.expect("bind a backend");
    backend_serving(listener, tls, one_each)
}

/// As [`backend`], on a listener already bound.
pub async fn backend_on(
    listener: tokio::net::TcpListener,
    tls: bool,
) -> (SocketAddr, mpsc::UnboundedReceiver<Posted>) {
    backend_serving(listener, tls, false)
}

fn backend_serving(
    listener: tokio::net::TcpListener,
    tls: bool,
    one_each: bool,
) -> (SocketAddr, mpsc::UnboundedReceiver<Posted>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.then(|| {
        let certs: Vec<_> =
            CertificateDer::pem_file_iter(https_fixture("server.pem")).unwrap().map(Result::unwrap).collect();
        let key = PrivateKeyDer::from_pem_file(https_fixture("server.key")).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config))
    });
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (tx, acceptor) = (tx.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    None => serve(conn, tx, one_each).await,
                    Some(a) => {
                        if let Ok(conn) = a.accept(conn).await {
                            serve(conn, tx, one_each).await;
                        }
                    }
                }
            });
        }
    });
    (addr, rx)
}

/// Serves one backend connection: each POST reported, answered 200 (with `one_each`, only
/// the first: the next one's connection is dropped).
async fn serve<S>(conn: S, tx: mpsc::UnboundedSender<Posted>, one_each: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut conn = BufReader::new(conn);
    for answered in 0.. {
        let mut line = String::new();
        if conn.read_line(&mut line).await.unwrap_or(0) == 0 || (one_each && answered == 1) {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        assert!(line.starts_with("POST "), "{line}");
        let (mut length, mut content_type, mut accept, mut authorization, mut content_encoding) =
            (0, String::new(), String::new(), None, None);
        loop {
            let mut header = String::new();
            conn.read_line(&mut header).await.unwrap();
            let Some((name, value)) = header.trim_end().split_once(':') else { break };
            let value = value.trim().to_owned();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap(),
                "content-type" => content_type = value,
                "accept" => accept = value,
                "authorization" => authorization = Some(value),
                "content-encoding" => content_encoding = Some(value),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        conn.read_exact(&mut body).await.unwrap();
        if content_encoding.as_deref() == Some("gzip") {
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain)
                .expect("gzip");
            body = plain;
        }
        let body = serde_json::from_slice(&body).expect("a JSON body");
        let _ = tx.send(Posted { path, content_type, accept, authorization, content_encoding, body });
        conn.get_mut().write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.unwrap();
    }
}

/// The next post a backend gets.
pub async fn next_post(posts: &mut mpsc::UnboundedReceiver<Posted>) -> Posted {
    tokio::time::timeout(WAIT, posts.recv()).await.expect("a post in time").expect("the backend runs")
}

/// The event handler's events as a backend gets them, taken apart from their groups; those
/// after the one a test waited for are kept for the next wait.
pub struct Heard {
    posts: mpsc::UnboundedReceiver<Posted>,
    pending: std::collections::VecDeque<Value>,
}

impl Heard {
    /// The events of these posts.
    pub fn new(posts: mpsc::UnboundedReceiver<Posted>) -> Self {
        Self { posts, pending: Default::default() }
    }

    /// The next post itself (when no event of an earlier one waits).
    pub async fn next_post(&mut self) -> Posted {
        self.next_post_within(WAIT).await
    }

    /// As [`Heard::next_post`], waiting up to `wait`.
    pub async fn next_post_within(&mut self, wait: std::time::Duration) -> Posted {
        assert!(self.pending.is_empty(), "events of an earlier post wait: {:?}", self.pending);
        tokio::time::timeout(wait, self.posts.recv())
            .await
            .expect("a post in time")
            .expect("the backend runs")
    }

    /// The events until one satisfies `want` (each post has basic authentication `u:p`);
    /// returns them all, that one last.
    pub async fn until(&mut self, want: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            if self.pending.is_empty() {
                let post = next_post(&mut self.posts).await;
                assert_eq!(post.authorization.as_deref(), Some("Basic dTpw"), "basic authentication u:p");
                assert_eq!(post.content_type, "application/json");
                match post.body {
                    Value::Array(events) => self.pending.extend(events),
                    one => self.pending.push_back(one),
                }
            }
            while let Some(e) = self.pending.pop_front() {
                let done = want(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
        }
    }
}

/// [`Heard::until`].
pub async fn events_until(heard: &mut Heard, want: impl Fn(&Value) -> bool) -> Vec<Value> {
    heard.until(want).await
}

/// A gateway configuration whose sample event handler posts to the backend at `backend`
/// (`http://…`), with basic authentication `u`/`p`; `settings` are more lines of its
/// `general` (`events`, `grouping`, …).
#[allow(dead_code)] // each test crate uses part of this file
pub fn handler_conf(backend: &str, settings: &str) -> Conf {
    let general =
        format!("\tbackend = \"{backend}\"\n\tbackend_user = \"u\"\n\tbackend_pwd = \"p\"\n{settings}");
    evh_conf("sampleevh", &general)
}

/// A gateway configuration with events on and Janus's event handler `janus.eventhandler.<name>`
/// enabled with `general` (lines of its file's `general`).
#[allow(dead_code)] // each test crate uses part of this file
pub fn evh_conf(name: &str, general: &str) -> Conf {
    Conf {
        core_sections: "events: { broadcast = true }\n".into(),
        extra: vec![(
            format!("janus.eventhandler.{name}.jcfg"),
            format!("general: {{\n\tenabled = true\n{general}\n}}\n"),
        )],
        ..Conf::default()
    }
}

/// [`handler_conf`] for one event a post of the plugins' events.
#[allow(dead_code)] // each test crate uses part of this file
pub fn plugin_events_conf(backend: &str) -> Conf {
    handler_conf(backend, "\tevents = \"plugins\"\n\tgrouping = false")
}

/// A text message a WebSocket backend got: the number of its connection (from 0), the
/// subprotocol the connection asked for, and the message's JSON.
#[derive(Debug)]
pub struct Said {
    /// Which connection, in the order they came.
    pub connection: usize,
    /// `Sec-WebSocket-Protocol` of the connection's request.
    pub subprotocol: String,
    /// The message (null: the server closed the connection, and the close handshake is over).
    pub body: Value,
}

/// A WebSocket server for the WebSockets event handler on 127.0.0.1: it takes the subprotocol
/// asked for and reports each text message; with `close_first_after`, the first connection is
/// closed after that many messages (a server that goes away), which is reported too once the
/// client answered the close. Unless `names_subprotocol`, its answer names none (as some
/// servers answer).
#[allow(dead_code)] // each test crate uses part of this file
#[allow(clippy::result_large_err)] // the handshake callback's error type is tungstenite's
pub async fn ws_backend(
    close_first_after: Option<usize>,
    names_subprotocol: bool,
) -> (SocketAddr, mpsc::UnboundedReceiver<Said>) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a backend");
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((conn, _)) = listener.accept().await else { return };
            let mut subprotocol = String::new();
            let accept = |request: &Request, mut response: Response| {
                if let Some(p) = request.headers().get("sec-websocket-protocol") {
                    subprotocol = p.to_str().unwrap_or_default().to_owned();
                    if names_subprotocol {
                        response.headers_mut().insert("sec-websocket-protocol", p.clone());
                    }
                }
                Ok(response)
            };
            let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(conn, accept).await else { continue };
            let tx = tx.clone();
            let limit = if connection == 0 { close_first_after } else { None };
            tokio::spawn(async move {
                let mut heard = 0;
                while let Some(Ok(message)) = ws.next().await {
                    let Ok(text) = message.to_text() else { continue };
                    if text.is_empty() {
                        continue;
                    }
                    let body = serde_json::from_str(text).expect("a JSON message");
                    let _ = tx.send(Said { connection, subprotocol: subprotocol.clone(), body });
                    heard += 1;
                    if limit == Some(heard) {
                        let _ = ws.close(None).await;
                        while ws.next().await.is_some() {}
                        let _ = tx.send(Said { connection, subprotocol, body: Value::Null });
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}
