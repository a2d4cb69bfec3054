//! Starts the real `portunus` binary on loopback with a generated configs folder and talks to
//! it as clients do: raw HTTP/1.1 over TCP and WebSockets.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// Generous upper bound for anything a test waits on.
pub const WAIT: Duration = Duration::from_secs(10);

/// How long a gateway may take to start: a plugin built from Python or JavaScript takes seconds
/// to compile the first time (then it is cached), longer when tests compile several at once.
pub const STARTUP_WAIT: Duration = Duration::from_secs(90);

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A fresh folder under the system's temporary folder, removed with what it holds when dropped
/// (a test that fails too).
pub struct TempDir(PathBuf);

impl TempDir {
    /// An empty folder named for `what`, this process and a counter.
    pub fn new(what: &str) -> Self {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("portunus-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary folder");
        Self(dir)
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A configs folder for one gateway.
pub struct Conf {
    /// Extra lines for `janus.jcfg`'s `general` section.
    pub general: String,
    /// More sections for `janus.jcfg`.
    pub core_sections: String,
    /// Extra lines for `janus.jcfg`'s `nat` section.
    pub nat: String,
    /// Extra lines for `janus.transport.http.jcfg`'s `cors` section.
    pub cors: String,
    /// Extra lines for `janus.transport.http.jcfg`'s `general` section.
    pub http: String,
    /// Whether the admin API is on (HTTP and WS).
    pub admin: bool,
    /// More files to write, by name.
    pub extra: Vec<(String, String)>,
    /// Folders the configuration names (plugins, say), removed when the gateway goes.
    pub owned: Vec<TempDir>,
    /// Environment variables for the gateway's process.
    pub env: Vec<(String, String)>,
}

impl Default for Conf {
    fn default() -> Self {
        Self {
            general: String::new(),
            core_sections: String::new(),
            nat: String::new(),
            cors: String::new(),
            http: String::new(),
            admin: true,
            extra: Vec::new(),
            owned: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl Conf {
    /// This configuration, whose gateway removes `dir` when it goes.
    pub fn owning(mut self, dir: TempDir) -> Self {
        self.owned.push(dir);
        self
    }

    /// The default test configuration plus these `general` lines.
    pub fn general(lines: &str) -> Self {
        Self { general: lines.to_owned(), ..Self::default() }
    }

    fn files(&self) -> Vec<(String, String)> {
        let admin = self.admin;
        let mut files = vec![
            (
                "janus.jcfg".to_owned(),
                format!(
                    "general: {{\n\tadmin_secret = \"janusoverlord\"\n\tdebug_level = 4\n{}\n}}\n\
                     nat: {{ ice_enforce_list = \"lo\"\n{}\n}}\nmedia: {{ media_threads = 2 }}\n{}",
                    self.general, self.nat, self.core_sections
                ),
            ),
            (
                "janus.transport.http.jcfg".to_owned(),
                format!(
                    "general: {{ http = true; port = 0; ip = \"127.0.0.1\"; base_path = \"/janus\"\n{}\n}}\n\
                     admin: {{ admin_http = {admin}; admin_port = 0; admin_ip = \"127.0.0.1\" }}\n\
                     cors: {{\n{}\n}}\n",
                    self.http, self.cors
                ),
            ),
            (
                "janus.transport.websockets.jcfg".to_owned(),
                format!(
                    "general: {{ ws = true; ws_port = 0; ws_ip = \"127.0.0.1\" }}\n\
                     admin: {{ admin_ws = {admin}; admin_ws_port = 0; admin_ws_ip = \"127.0.0.1\" }}\n"
                ),
            ),
        ];
        files.extend(self.extra.iter().cloned());
        files
    }
}

/// A running gateway; killed on drop.
pub struct Gateway {
    child: Child,
    dir: PathBuf,
    /// Addresses by listener name (`http`, `ws`, `admin-http`, `admin-ws`).
    pub addrs: HashMap<String, SocketAddr>,
    /// Unix sockets' paths by listener name (`unix`, `admin-unix`).
    paths: HashMap<String, PathBuf>,
    stderr: mpsc::Receiver<String>,
    /// Folders removed once the gateway is stopped.
    owned: Vec<TempDir>,
}

/// Writes a configs folder and returns its path.
pub fn write_conf(files: &[(String, String)]) -> PathBuf {
    let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("portunus-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create config dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write config file");
    }
    dir
}

/// Runs `portunus -F dir` to completion (for start-up failures) and returns (exit code, stderr).
pub fn run_to_exit(files: &[(String, String)]) -> (i32, String) {
    let dir = write_conf(files);
    let out = Command::new(env!("CARGO_BIN_EXE_portunus"))
        .arg("-F")
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("run portunus");
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

impl Gateway {
    /// Starts a gateway with the default test configuration.
    pub fn start() -> Self {
        Self::with(Conf::default())
    }

    /// Starts a gateway with this configuration and waits until it is ready.
    pub fn with(conf: Conf) -> Self {
        let mut gateway = Self::spawn(write_conf(&conf.files()), &conf.env);
        gateway.owned = conf.owned;
        gateway
    }

    /// The gateway, which now removes `dir` when it goes (after it stopped).
    #[allow(dead_code)] // the media tests use it, not the api tests
    pub fn owning(mut self, dir: TempDir) -> Self {
        self.owned.push(dir);
        self
    }

    /// Starts a gateway on a configs folder (removed when the gateway is dropped).
    pub fn in_folder(dir: PathBuf) -> Self {
        Self::spawn(dir, &[])
    }

    /// Starts a gateway on a configs folder with these environment variables.
    fn spawn(dir: PathBuf, env: &[(String, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_portunus"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg("-F")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn portunus");
        let (tx, rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (etx, erx) = mpsc::channel::<String>();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let (mut addrs, mut paths) = (HashMap::new(), HashMap::new());
        loop {
            let line = match rx.recv_timeout(STARTUP_WAIT) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let logs: Vec<String> = erx.try_iter().collect();
                    panic!("gateway did not become ready:\n{}", logs.join("\n"));
                }
            };
            if line == "ready" {
                break;
            }
            if let Some(rest) = line.strip_prefix("listening: ") {
                let (name, addr) = rest.split_once(' ').expect("listening line");
                // Unix sockets are listed by their paths.
                if addr.starts_with('/') {
                    paths.insert(name.to_owned(), PathBuf::from(addr));
                } else {
                    addrs.insert(name.to_owned(), addr.parse().expect("address"));
                }
            }
        }
        Self { child, dir, addrs, paths, stderr: erx, owned: Vec::new() }
    }

    /// The address of a listener.
    pub fn addr(&self, name: &str) -> SocketAddr {
        *self.addrs.get(name).unwrap_or_else(|| panic!("no {name} listener"))
    }

    /// The path of a Unix-socket listener.
    pub fn unix_path(&self, name: &str) -> &Path {
        self.paths.get(name).unwrap_or_else(|| panic!("no {name} listener"))
    }

    /// The gateway's process id.
    #[allow(dead_code)] // the api tests use it, not the media tests
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the gateway logged so far.
    pub fn logs(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// Everything the gateway logged, once it has exited (its log pipe read to the end).
    #[allow(dead_code)] // the api tests use it, not the media tests
    pub fn logs_after_exit(&self) -> String {
        self.stderr.iter().collect::<Vec<_>>().join("\n")
    }

    /// Waits (at most [`WAIT`]) for a log line with `needle` and returns the log read until
    /// then, that line last (consumed: [`Gateway::logs`] gives what comes after). The log comes
    /// on its own pipe, so a line logged before `ready`, or before the process ended, may be
    /// read after it.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => {
                    seen.push(line);
                    return seen.join("\n");
                }
                Ok(line) => seen.push(line),
                Err(_) => panic!("no log line with '{needle}' in:\n{}", seen.join("\n")),
            }
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "gateway did not exit on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An HTTP client for the Janus API.
    pub fn http(&self) -> HttpClient {
        HttpClient { addr: self.addr("http"), base: "/janus".into() }
    }

    /// An HTTP client for the admin API.
    pub fn admin_http(&self) -> HttpClient {
        HttpClient { addr: self.addr("admin-http"), base: "/admin".into() }
    }

    /// A WebSocket client on the Janus API (`janus-protocol`).
    pub async fn ws(&self) -> WsClient {
        WsClient::connect(self.addr("ws"), Some("janus-protocol")).await
    }

    /// A WebSocket client on the admin API (`janus-admin-protocol`).
    pub async fn admin_ws(&self) -> WsClient {
        WsClient::connect(self.addr("admin-ws"), Some("janus-admin-protocol")).await
    }
}

impl Gateway {
    /// Stops the gateway and gives its configs folder, kept (to start another on it).
    pub fn stop_keeping_folder(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::take(&mut self.dir)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// A one-request-per-connection HTTP/1.1 client.
pub struct HttpClient {
    /// Server address.
    pub addr: SocketAddr,
    /// API base path.
    pub base: String,
}

impl HttpClient {
    /// Sends a raw request; `path` is relative to the base. Answered within [`STARTUP_WAIT`]:
    /// a request may compile a plugin as a start does (`reload_plugin` with a JavaScript one
    /// took over 40 s with a cold cache while other tests compiled theirs).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        tokio::time::timeout(STARTUP_WAIT, self.request_inner(method, path, headers, body))
            .await
            .expect("HTTP request timed out")
    }

    async fn request_inner(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let mut s = TcpStream::connect(self.addr).await.expect("connect");
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.base,
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await.expect("write head");
        // A server may answer (413) before reading a large body; ignore write errors then.
        let _ = s.write_all(body).await;
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw).await;
        parse_response(&raw)
    }

    /// POSTs JSON to `path` (relative to the base) and returns the JSON reply.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let r = self.request("POST", path, &[], body.to_string().as_bytes()).await;
        assert_eq!(r.status, 200, "POST {path}: {}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// GETs `path` and returns the response.
    pub async fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, &[], b"").await
    }

    /// Creates a session and returns its id.
    pub async fn create(&self) -> u64 {
        let r = self.post("", &json!({"janus": "create", "transaction": "c"})).await;
        r["data"]["id"].as_u64().unwrap_or_else(|| panic!("create failed: {r}"))
    }
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status line");
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        body = dechunk(&body);
    }
    HttpResponse { status, headers, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

type WsStream = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A WebSocket client.
pub struct WsClient {
    ws: WsStream,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    next_tx: u64,
}

impl WsClient {
    /// Connects, offering `protocol`.
    pub async fn connect(addr: SocketAddr, protocol: Option<&str>) -> Self {
        let mut req = format!("ws://{addr}/").into_client_request().expect("request");
        if let Some(p) = protocol {
            req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_str(p).expect("header"));
        }
        let (ws, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("ws connect timed out")
            .expect("ws connect");
        let protocol =
            resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Self { ws, protocol, next_tx: 0 }
    }

    /// Sends a raw message.
    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("ws send");
    }

    /// Sends JSON.
    pub async fn send(&mut self, v: &Value) {
        self.send_raw(Message::text(v.to_string())).await;
    }

    /// The next message, or `None` if the socket closed (panics after [`WAIT`]).
    pub async fn next_message(&mut self) -> Option<Message> {
        self.next_message_within(WAIT).await.expect("no WebSocket message in time")
    }

    /// The next message within `wait`: `Err(())` on time-out, `Ok(None)` when closed.
    pub async fn next_message_within(&mut self, wait: Duration) -> Result<Option<Message>, ()> {
        match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => Err(()),
            Ok(None) | Ok(Some(Err(_))) => Ok(None),
            Ok(Some(Ok(m))) => Ok(Some(m)),
        }
    }

    /// The next JSON text message (skipping control frames).
    pub async fn recv(&mut self) -> Value {
        loop {
            match self.next_message().await {
                Some(Message::Text(t)) => return serde_json::from_str(&t).expect("JSON message"),
                Some(Message::Ping(_)) | Some(Message::Pong(_)) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Sends a request with a fresh transaction and returns the message that answers it
    /// (other messages in between are returned in the second value).
    pub async fn call(&mut self, mut v: Value) -> Value {
        self.next_tx += 1;
        let tx = format!("tx{}", self.next_tx);
        v["transaction"] = json!(tx);
        self.send(&v).await;
        loop {
            let m = self.recv().await;
            if m["transaction"] == json!(tx) && m["janus"] != json!("event") {
                return m;
            }
        }
    }

    /// Creates a session and returns its id.
    pub async fn create(&mut self) -> u64 {
        let r = self.call(json!({"janus": "create"})).await;
        r["data"]["id"].as_u64().unwrap_or_else(|| panic!("create failed: {r}"))
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A client with one handle of a plugin on its own WebSocket (so its events are its own).
pub struct PluginClient {
    ws: WsClient,
    sid: u64,
    hid: u64,
    next: u64,
    /// Messages that came while waiting for something else.
    held: std::collections::VecDeque<Value>,
    /// The `token` every request carries (`token_auth`).
    token: Option<String>,
}

impl PluginClient {
    /// Connects, creates a session and attaches `plugin`.
    pub async fn new(gw: &Gateway, plugin: &str) -> Self {
        Self::with_token(gw, plugin, None).await
    }

    /// As [`PluginClient::new`], with a `token` on every request.
    pub async fn with_token(gw: &Gateway, plugin: &str, token: Option<&str>) -> Self {
        let mut ws = WsClient::connect(gw.addr("ws"), Some("janus-protocol")).await;
        let r = ws.call(json!({"janus": "create", "token": token})).await;
        let sid = r["data"]["id"].as_u64().unwrap_or_else(|| panic!("create: {r}"));
        let r =
            ws.call(json!({"janus": "attach", "session_id": sid, "plugin": plugin, "token": token})).await;
        let hid = r["data"]["id"].as_u64().unwrap_or_else(|| panic!("attach: {r}"));
        Self { ws, sid, hid, next: 0, held: Default::default(), token: token.map(str::to_owned) }
    }

    /// The handle id.
    #[allow(dead_code)] // the media tests use it
    pub fn handle(&self) -> u64 {
        self.hid
    }

    /// A synchronous request: the `success` reply's plugin data.
    pub async fn request(&mut self, body: Value) -> Value {
        let msg = json!({"janus": "message", "session_id": self.sid, "handle_id": self.hid, "body": body});
        let r = self.exchange(msg, |m| m["janus"] != "ack").await;
        assert_eq!(r["janus"], "success", "{r}");
        r["plugindata"]["data"].clone()
    }

    /// An asynchronous request (with a JSEP, maybe): `ack`, then the event with its
    /// transaction; returns that event (plugin data and `jsep`). Notifications that come in
    /// between are kept for [`PluginClient::event`].
    pub async fn send(&mut self, body: Value, jsep: Option<Value>) -> Value {
        let mut msg =
            json!({"janus": "message", "session_id": self.sid, "handle_id": self.hid, "body": body});
        if let Some(jsep) = jsep {
            msg["jsep"] = jsep;
        }
        let mut acked = false;
        self.exchange(msg, |m| match m["janus"].as_str() {
            Some("ack") => {
                acked = true;
                false
            }
            Some("event") => {
                assert!(acked, "event before ack: {m}");
                true
            }
            _ => panic!("unexpected answer {m}"),
        })
        .await
    }

    /// An asynchronous request that is only acknowledged (no event follows, as for Janus's
    /// SIP `send_ringing`).
    #[allow(dead_code)] // the media tests use it
    pub async fn send_acked(&mut self, body: Value) {
        let msg = json!({"janus": "message", "session_id": self.sid, "handle_id": self.hid, "body": body});
        let r = self.exchange(msg, |_| true).await;
        assert_eq!(r["janus"], "ack", "{r}");
    }

    /// A request Janus ignores: acknowledged, and nothing follows. `then` (an asynchronous
    /// request sent next) proves it: the plugin answers in order, so an answer to the first
    /// would come before `then`'s, which is returned.
    #[allow(dead_code)] // the media tests use it
    pub async fn send_ignored(&mut self, body: Value, then: Value) -> Value {
        self.send_acked(body.clone()).await;
        let ignored = json!(format!("pc{}", self.next));
        let r = self.send(then, None).await;
        let answer = self.held.iter().find(|m| m["transaction"] == ignored);
        assert!(answer.is_none(), "{body} got an answer: {}", answer.unwrap_or(&Value::Null));
        r
    }

    /// Janus API `hangup`: the handle's PeerConnection closes.
    #[allow(dead_code)] // the media tests use it
    pub async fn hangup(&mut self) {
        let msg = json!({"janus": "hangup", "session_id": self.sid, "handle_id": self.hid});
        let r = self.exchange(msg, |m| m["janus"] != "ack").await;
        assert_eq!(r["janus"], "success", "{r}");
    }

    /// Sends `msg` with a fresh transaction; returns the first message of that transaction
    /// `done` accepts, holding the others that arrive meanwhile.
    async fn exchange(&mut self, mut msg: Value, mut done: impl FnMut(&Value) -> bool) -> Value {
        self.next += 1;
        let tx = format!("pc{}", self.next);
        msg["transaction"] = json!(tx);
        if let Some(token) = &self.token {
            msg["token"] = json!(token);
        }
        self.ws.send(&msg).await;
        loop {
            let m = self.ws.recv().await;
            if m["transaction"] != json!(tx) {
                self.held.push_back(m);
            } else if done(&m) {
                return m;
            }
        }
    }

    /// The next event's plugin data that satisfies `pred` (others are skipped).
    pub async fn event(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.message(what, |m| m["janus"] == "event" && pred(&m["plugindata"]["data"])).await["plugindata"]
            ["data"]
            .clone()
    }

    /// The next message (of any kind: `webrtcup`, `hangup`, …) that satisfies `pred`; those
    /// before it are dropped.
    pub async fn message(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        self.message_within(what, WAIT, pred).await
    }

    /// [`PluginClient::message`], waiting up to `wait` (for what the far end takes its time
    /// over).
    pub async fn message_within(
        &mut self,
        what: &str,
        wait: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        while let Some(m) = self.held.pop_front() {
            if pred(&m) {
                return m;
            }
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m: Value = match self.ws.next_message_within(left).await {
                Err(()) => panic!("no {what} within {wait:?}"),
                Ok(Some(Message::Text(t))) => serde_json::from_str(&t).expect("JSON message"),
                Ok(Some(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text message before {what}, got {other:?}"),
            };
            if pred(&m) {
                return m;
            }
        }
    }
}

/// A plugin `message` request on handle `hid` of session `sid`.
pub fn message(sid: u64, hid: u64, transaction: &str, body: Value) -> Value {
    json!({"janus": "message", "session_id": sid, "handle_id": hid, "transaction": transaction, "body": body})
}

/// An admin API request `verb` with these `fields`, the test configuration's admin secret and
/// transaction `a`.
pub fn admin_request(verb: &str, fields: Value) -> Value {
    let mut r = json!({"janus": verb, "transaction": "a", "admin_secret": "janusoverlord"});
    if let Value::Object(fields) = fields {
        r.as_object_mut().expect("an object").extend(fields);
    }
    r
}

/// A port below the system's ephemeral range (where binding port 0 never lands), free on
/// loopback for TCP and on every address for UDP when picked: for a test that needs a port to
/// stay unused until it binds it.
pub fn quiet_port() -> u16 {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| {
            let mut it = r.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    let (from, to) = if low > 11_000 { (10_000, low) } else { (high.saturating_add(1), u16::MAX) };
    loop {
        let port = from + rand::random::<u16>() % (to - from);
        let free = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok();
        if free {
            return port;
        }
    }
}

/// Asserts a Janus error reply with this code.
#[track_caller]
pub fn assert_error(reply: &Value, code: u64) {
    assert_eq!(reply["janus"], "error", "expected error {code}, got {reply}");
    assert_eq!(reply["error"]["code"], code, "wrong error code in {reply}");
    assert!(reply["error"]["reason"].is_string(), "no reason in {reply}");
}

/// A language plugins are written in: the EchoTest and testfault exist in each (the Python and
/// JavaScript builds come from `plugins-wasm/python` and `plugins-wasm/js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
}

impl Lang {
    /// The component of plugin `name` (`echotest`, `testfault`) built in this language.
    pub fn plugin(self, name: &str) -> PathBuf {
        let lang = |suffix: &str| {
            std::path::Path::new(env!("PORTUNUS_LANG_PLUGINS_DIR")).join(format!("{name}-{suffix}.wasm"))
        };
        match self {
            Lang::Rust if name.starts_with("test") => {
                std::path::Path::new(env!("PORTUNUS_TEST_PLUGINS_DIR")).join(format!("{name}.wasm"))
            }
            Lang::Rust => {
                std::path::Path::new(env!("PORTUNUS_BUILTIN_PLUGINS_DIR")).join(format!("{name}.wasm"))
            }
            Lang::Python => lang("py"),
            Lang::JavaScript => lang("js"),
        }
    }

    /// A fresh plugins folder holding these plugins of this language (as `<name>.wasm`).
    pub fn plugins_folder(self, names: &[&str]) -> TempDir {
        let dir = TempDir::new("plugins");
        for name in names {
            std::fs::copy(self.plugin(name), dir.join(format!("{name}.wasm"))).expect("copy a plugin");
        }
        dir
    }
}

impl Conf {
    /// The default test configuration with the EchoTest of `lang` as the only plugin.
    pub fn echotest(lang: Lang) -> Self {
        let dir = lang.plugins_folder(&["echotest"]);
        Self::general(&format!("wasm_plugins_folder = \"{}\"", dir.display())).owning(dir)
    }
}

/// Defines a module `$name` with one test per language (`rust`, `python`, `javascript`), each
/// running `$test(lang)` (an async fn taking a [`Lang`]).
#[allow(unused_macros)]
macro_rules! per_language {
    ($name:ident, $test:path) => {
        mod $name {
            use super::*;
            use $crate::harness::Lang;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rust() {
                $test(Lang::Rust).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn python() {
                $test(Lang::Python).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn javascript() {
                $test(Lang::JavaScript).await
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use per_language;

/// Whether an outside tool a test needs is there (`found`); under CI its absence fails the
/// test (`install` says how to get it), elsewhere the test is skipped loudly (`what` says
/// which and why).
pub fn tool_present(found: bool, install: &str, what: &str) -> bool {
    if !found {
        assert!(std::env::var_os("CI").is_none(), "{what} under CI: {install}");
        eprintln!("SKIPPED: {what} ({install})");
    }
    found
}

/// A free TCP port on the loopback (free when asked).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A mosquitto broker on a free loopback port, stopped when dropped.
pub struct Mosquitto {
    _broker: Killed,
    /// Its port.
    pub port: u16,
    _conf: TempDir,
}

/// A broker's TLS listener and the files it and its clients need: a test CA of its own, the
/// broker's certificate for `name` (an address or a host name) and a client's, all readable by
/// the user a broker started as root runs as.
#[allow(dead_code)] // each test crate uses part of this file
pub struct BrokerTls {
    /// The listener's port (free when made).
    pub port: u16,
    /// The test CA's certificate.
    pub ca: String,
    /// The broker's certificate and its key.
    pub broker_cert: String,
    /// The broker's key.
    pub broker_key: String,
    /// A client certificate of that CA, and its key.
    pub client_cert: String,
    /// The client certificate's key.
    pub client_key: String,
    _dir: TempDir,
}

#[allow(dead_code)] // each test crate uses part of this file
impl BrokerTls {
    /// The files, in a folder of their own, for a broker named `name`.
    pub fn new(name: &str) -> Self {
        let dir = TempDir::new("broker-tls");
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        // Each its own name (rcgen names every certificate alike: OpenSSL would take a leaf
        // for self-signed).
        ca.distinguished_name.push(rcgen::DnType::CommonName, "Portunus test CA");
        let ca =
            rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().expect("a key")).expect("CA");
        let write = |file: &str, subject: &str| {
            let key = rcgen::KeyPair::generate().expect("a key");
            let mut params = rcgen::CertificateParams::new(vec![subject.to_owned()]).expect("params");
            params.distinguished_name.push(rcgen::DnType::CommonName, subject);
            let cert = params.signed_by(&key, &ca).expect("signed");
            std::fs::write(dir.join(format!("{file}.pem")), cert.pem()).expect("cert file");
            std::fs::write(dir.join(format!("{file}.key")), key.serialize_pem()).expect("key file");
        };
        write("broker", name);
        write("client", "portunus-client");
        std::fs::write(dir.join("ca.pem"), ca.pem()).expect("CA file");
        // Brokers started as root read their files as their own user (mosquitto, rabbitmq).
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&*dir).expect("the folder") {
            let path = entry.expect("an entry").path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        std::fs::set_permissions(&*dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let at = |f: &str| dir.join(f).display().to_string();
        Self {
            port: free_port(),
            ca: at("ca.pem"),
            broker_cert: at("broker.pem"),
            broker_key: at("broker.key"),
            client_cert: at("client.pem"),
            client_key: at("client.key"),
            _dir: dir,
        }
    }
}

impl Mosquitto {
    /// Starts a broker and waits until it listens; `None` when mosquitto or its clients are
    /// missing (outside CI only, said loudly; under CI that fails).
    pub async fn start(what: &str) -> Option<Self> {
        Self::start_on(what, None).await
    }

    /// As [`Mosquitto::start`], on a given port (a broker that comes back) or a free one.
    pub async fn start_on(what: &str, port: Option<u16>) -> Option<Self> {
        Self::start_with(what, port, "").await
    }

    /// As [`Mosquitto::start_on`], with more lines for its configuration (another listener).
    pub async fn start_with(what: &str, port: Option<u16>, more: &str) -> Option<Self> {
        Some(Self::start_full(what, port, more, false).await?.0)
    }

    /// As [`Mosquitto::start_with`] on a free port, with the lines of the broker's log (its
    /// notices: clients that came, and how each went), as they come.
    #[allow(dead_code)] // each test crate uses part of this file
    pub async fn start_logged(
        what: &str,
        more: &str,
    ) -> Option<(Self, tokio::sync::mpsc::UnboundedReceiver<String>)> {
        let more = format!("log_dest stderr\nlog_type notice\n{more}");
        let (broker, log) = Self::start_full(what, None, &more, true).await?;
        Some((broker, log.expect("a log")))
    }

    async fn start_full(
        what: &str,
        port: Option<u16>,
        more: &str,
        logged: bool,
    ) -> Option<(Self, Option<tokio::sync::mpsc::UnboundedReceiver<String>>)> {
        let found = ["mosquitto", "mosquitto_sub", "mosquitto_pub"]
            .iter()
            .all(|tool| Command::new(tool).arg("--help").output().is_ok());
        if !tool_present(
            found,
            "apt-get install mosquitto mosquitto-clients",
            &format!("{what} needs mosquitto"),
        ) {
            return None;
        }
        let port = port.unwrap_or_else(free_port);
        let conf = TempDir::new("mosquitto");
        let file = conf.join("mosquitto.conf");
        std::fs::write(&file, format!("listener {port} 127.0.0.1\nallow_anonymous true\n{more}"))
            .expect("conf");
        // (On stderr, which is not buffered.)
        let err = if logged { Stdio::piped() } else { Stdio::null() };
        let mut broker =
            Killed(Command::new("mosquitto").arg("-c").arg(&file).stderr(err).spawn().expect("mosquitto"));
        let log = broker.0.stderr.take().map(|out| {
            let (tx, log) = tokio::sync::mpsc::unbounded_channel();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            log
        });
        let deadline = std::time::Instant::now() + STARTUP_WAIT;
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "mosquitto did not listen");
            tokio::time::sleep(Duration::from_millis(20)).await; // polls the port, bounded
        }
        Some((Self { _broker: broker, port, _conf: conf }, log))
    }

    /// A broker with a TLS listener besides its plain one (see [`BrokerTls::new`]), which
    /// asks clients for a certificate of the test CA. Returns the broker and the files a
    /// client needs.
    pub async fn start_tls(what: &str, name: &str) -> Option<(Self, BrokerTls)> {
        let tls = BrokerTls::new(name);
        let listener = format!(
            "listener {} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n",
            tls.port, tls.ca, tls.broker_cert, tls.broker_key
        );
        let broker = Self::start_with(what, None, &listener).await?;
        Some((broker, tls))
    }

    /// A subscriber to `filter` (at QoS 1): the lines `topic payload` it prints, as they come.
    pub fn subscribe(&self, filter: &str) -> (Killed, tokio::sync::mpsc::UnboundedReceiver<String>) {
        self.subscribe_with(filter, &["-v"])
    }

    /// As [`Mosquitto::subscribe`] in MQTT 5: each line is what [`V5Message::parse`] reads.
    #[allow(dead_code)] // each test crate uses part of this file
    pub fn subscribe_v5(&self, filter: &str) -> (Killed, tokio::sync::mpsc::UnboundedReceiver<String>) {
        self.subscribe_with(filter, &["-V", "mqttv5", "-F", "%t\\t%R\\t%D\\t%P\\t%p"])
    }

    fn subscribe_with(
        &self,
        filter: &str,
        more: &[&str],
    ) -> (Killed, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let mut sub = Command::new("mosquitto_sub");
        sub.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", filter, "-q", "1"]).args(more);
        let mut sub = Killed(sub.stdout(Stdio::piped()).spawn().expect("mosquitto_sub"));
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        let out = sub.0.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        (sub, lines)
    }

    /// Publishes `payload` on `topic` at QoS 1 (mosquitto_pub, which returns once it is sent).
    pub fn publish(&self, topic: &str, payload: &str) {
        self.publish_with(topic, payload, &[]);
    }

    /// As [`Mosquitto::publish`], retained by the broker for later subscribers.
    #[allow(dead_code)] // the media tests use it, not the api tests
    pub fn publish_retained(&self, topic: &str, payload: &str) {
        self.publish_with(topic, payload, &["-r"]);
    }

    /// Publishes in MQTT 5 with properties: each is `-D PUBLISH`'s words (`["response-topic",
    /// "a/b"]`, `["user-property", "name", "value"]`).
    #[allow(dead_code)] // each test crate uses part of this file
    pub fn publish_v5(&self, topic: &str, payload: &str, properties: &[&[&str]]) {
        let mut more = vec!["-V", "mqttv5"];
        for words in properties {
            more.extend(["-D", "PUBLISH"]);
            more.extend(words.iter().copied());
        }
        self.publish_with(topic, payload, &more);
    }

    fn publish_with(&self, topic: &str, payload: &str, more: &[&str]) {
        let status = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", topic, "-q", "1", "-m", payload])
            .args(more)
            .status()
            .expect("mosquitto_pub");
        assert!(status.success(), "mosquitto_pub failed");
    }
}

/// A message an MQTT 5 subscriber ([`Mosquitto::subscribe_v5`]) heard.
#[allow(dead_code)] // each test crate uses part of this file
#[derive(Debug)]
pub struct V5Message {
    /// Its topic.
    pub topic: String,
    /// Its response topic ("" for none).
    pub response_topic: String,
    /// Its correlation data ("" for none).
    pub correlation: String,
    /// Its user properties as mosquitto_sub prints them: `name:value` separated by spaces.
    pub user: String,
    /// Its payload.
    pub payload: String,
}

#[allow(dead_code)] // each test crate uses part of this file
impl V5Message {
    /// The fields of a line, separated by tabs (compact JSON has none).
    fn parse(line: &str) -> Option<Self> {
        let mut f = line.splitn(5, '\t').map(str::to_owned);
        Some(Self {
            topic: f.next()?,
            response_topic: f.next()?,
            correlation: f.next()?,
            user: f.next()?,
            payload: f.next()?,
        })
    }

    /// The payload as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.payload).unwrap_or_else(|e| panic!("JSON ({e}): {}", self.payload))
    }

    /// The next message an MQTT 5 subscriber heard whose payload has `want`, within 10 s
    /// (requests, on topics `to-…`, are passed over).
    pub async fn next_with(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>, want: &str) -> Self {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(10), lines.recv())
                .await
                .unwrap_or_else(|_| panic!("a message with {want} within 10 s"))
                .expect("the subscriber runs");
            match Self::parse(&line) {
                Some(m) if m.payload.contains(want) && !m.topic.starts_with("to-") => return m,
                _ => {}
            }
        }
    }
}

/// The payload (JSON) of the next `topic payload` line on `topic` (within 10 s).
pub async fn next_on(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>, topic: &str) -> Value {
    loop {
        let line = tokio::time::timeout(Duration::from_secs(10), lines.recv())
            .await
            .unwrap_or_else(|_| panic!("a message on {topic} within 10 s"))
            .expect("the subscriber runs");
        if let Some(payload) = line.strip_prefix(topic).and_then(|l| l.strip_prefix(' ')) {
            return serde_json::from_str(payload).expect("JSON");
        }
    }
}

/// nanomsg's `nanocat` with these arguments: the messages it prints (one a line, `--ascii`), as
/// they come; `None` when it is missing (outside CI only, said loudly).
pub fn nanocat(args: &[&str]) -> Option<(Killed, tokio::sync::mpsc::UnboundedReceiver<String>)> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let found = Command::new("nanocat").arg("--help").output().is_ok();
    if !tool_present(found, "apt-get install nanomsg-utils", "the Nanomsg tests need nanocat") {
        return None;
    }
    let mut child =
        Command::new("nanocat").args(args).arg("--ascii").stdout(Stdio::piped()).spawn().expect("nanocat");
    let out = child.stdout.take().expect("stdout");
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Some((Killed(child), lines))
}

/// A RabbitMQ broker of its own (a node in a temporary folder, on a free port), stopped when
/// dropped.
pub struct RabbitMq {
    node: Child,
    /// Its AMQP port.
    pub port: u16,
    /// Where the node writes its process id (it runs in a session of its own).
    pid_file: PathBuf,
    _dir: TempDir,
}

impl RabbitMq {
    /// Starts a broker and waits until it listens (it takes seconds); `None` when
    /// rabbitmq-server or amqp-tools are missing (outside CI only, said loudly).
    pub async fn start(what: &str) -> Option<Self> {
        Self::start_with(what, None).await
    }

    /// As [`RabbitMq::start`], with a TLS listener too (see [`BrokerTls::new`]) that asks
    /// clients for a certificate of the test CA.
    pub async fn start_tls(what: &str, name: &str) -> Option<(Self, BrokerTls)> {
        let tls = BrokerTls::new(name);
        let broker = Self::start_with(what, Some(&tls)).await?;
        Some((broker, tls))
    }

    async fn start_with(what: &str, tls: Option<&BrokerTls>) -> Option<Self> {
        let found = std::path::Path::new("/usr/sbin/rabbitmq-server").exists()
            && Command::new("amqp-consume").arg("--help").output().is_ok();
        if !tool_present(
            found,
            "apt-get install rabbitmq-server amqp-tools",
            &format!("{what} needs RabbitMQ"),
        ) {
            return None;
        }
        let (port, dist) = (free_port(), free_port());
        let dir = TempDir::new("rabbitmq");
        for sub in ["mnesia", "log"] {
            std::fs::create_dir_all(dir.join(sub)).expect("a folder");
        }
        std::fs::write(dir.join("plugins"), "[].\n").expect("plugins file");
        let conf = tls.map(|t| {
            format!(
                "listeners.ssl.default = {}\nssl_options.cacertfile = {}\nssl_options.certfile = {}\n\
                 ssl_options.keyfile = {}\nssl_options.verify = verify_peer\nssl_options.fail_if_no_peer_cert = true\n",
                t.port, t.ca, t.broker_cert, t.broker_key
            )
        });
        std::fs::write(dir.join("rabbitmq.conf"), conf.unwrap_or_default()).expect("rabbitmq.conf");
        // The server script runs the node as the rabbitmq user: it must write here.
        let _ = Command::new("chmod").args(["-R", "777"]).arg(&*dir).status();
        let d = |name: &str| dir.join(name).display().to_string();
        let mut node = Command::new("rabbitmq-server");
        node.env("HOME", &*dir)
            .env("RABBITMQ_NODENAME", format!("portunus-{port}@localhost"))
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist.to_string())
            .env("RABBITMQ_MNESIA_BASE", d("mnesia"))
            .env("RABBITMQ_LOG_BASE", d("log"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d("plugins"))
            .env("RABBITMQ_FEATURE_FLAGS_FILE", d("feature_flags"))
            .env("RABBITMQ_PLUGINS_EXPAND_DIR", d("plugins-expand"))
            .env("RABBITMQ_PID_FILE", d("pid"))
            .env("RABBITMQ_CONFIG_FILE", d("rabbitmq.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that the node the script starts goes with it.
        std::os::unix::process::CommandExt::process_group(&mut node, 0);
        let node = node.spawn().expect("rabbitmq-server");
        let pid_file = dir.join("pid");
        let broker = Self { node, port, pid_file, _dir: dir };
        let deadline = std::time::Instant::now() + STARTUP_WAIT;
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "RabbitMQ did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await; // polls the port, bounded
        }
        Some(broker)
    }

    /// Runs an amqp-tools command (`amqp-declare-queue`, …) against the broker.
    pub fn tool(&self, tool: &str, args: &[&str]) -> Command {
        let mut c = Command::new(tool);
        c.args(["-s", "127.0.0.1", "--port", &self.port.to_string()]).args(args);
        c
    }
}

impl Drop for RabbitMq {
    fn drop(&mut self) {
        let node = std::fs::read_to_string(&self.pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok());
        // SAFETY: kill(2) only sends a signal (to the node's process, and with a negative pid to
        // the script's process group); it reads and writes no memory of ours.
        unsafe {
            if let Some(pid) = node.filter(|p| *p > 0) {
                libc::kill(pid, libc::SIGKILL);
            }
            libc::kill(-(self.node.id() as i32), libc::SIGKILL);
        }
        let _ = self.node.wait();
    }
}
