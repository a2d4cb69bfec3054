//! The Janus API and the admin API over Unix sockets (Janus's `janus.transport.pfunix`):
//! `SOCK_SEQPACKET` connections and `SOCK_DGRAM` clients known by their paths.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::socket::{self as sock, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::time::TimeVal;
use serde_json::{json, Value};

use crate::harness::{assert_error, Conf, Gateway, TempDir};

const WAIT: Duration = Duration::from_secs(10);

/// A gateway with the Unix-sockets transport on: the Janus API at `dir/janus` and the admin
/// API at `dir/admin`, of the given type (requests up to 64 KB).
fn gateway(dir: TempDir, kind: &str) -> (Gateway, std::path::PathBuf, std::path::PathBuf) {
    let (api, admin) = (dir.join("janus"), dir.join("admin"));
    let file = format!(
        "general: {{ enabled = true, path = \"{}\", type = \"{kind}\" }}\n\
         admin: {{ admin_enabled = true, admin_path = \"{}\", admin_type = \"{kind}\" }}\n",
        api.display(),
        admin.display()
    );
    let extra = vec![("janus.transport.pfunix.jcfg".into(), file)];
    let conf = Conf { extra, ..Conf::general("max_request_size = 65536") };
    let gw = Gateway::with(conf.owning(dir));
    // The gateway names the paths it listens on.
    assert_eq!((gw.unix_path("unix"), gw.unix_path("admin-unix")), (api.as_path(), admin.as_path()));
    (gw, api, admin)
}

/// A `SOCK_SEQPACKET` client: one message per packet.
struct SeqPacket(OwnedFd);

impl SeqPacket {
    fn connect(path: &Path) -> Self {
        let fd =
            sock::socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None).unwrap();
        sock::connect(fd.as_raw_fd(), &UnixAddr::new(path).unwrap())
            .expect("connect to the gateway's socket");
        sock::setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(WAIT.as_secs() as i64, 0)).unwrap();
        Self(fd)
    }

    fn send_raw(&self, bytes: &[u8]) {
        sock::send(self.0.as_raw_fd(), bytes, MsgFlags::empty()).expect("send");
    }

    fn recv(&self) -> Value {
        let mut buf = vec![0; 1 << 16];
        let n = sock::recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()).expect("an answer in time");
        serde_json::from_slice(&buf[..n]).expect("JSON")
    }

    fn call(&self, mut request: Value) -> Value {
        request["transaction"] = json!("t-unix");
        self.send_raw(request.to_string().as_bytes());
        let reply = self.recv();
        assert_eq!(reply["transaction"], "t-unix", "{reply}");
        reply
    }
}

/// A `SOCK_DGRAM` client bound to a path of its own.
struct Dgram(UnixDatagram, std::path::PathBuf);

impl Dgram {
    fn bind(own: &Path, gateway: &Path) -> Self {
        let socket = UnixDatagram::bind(own).expect("bind the client's path");
        socket.set_read_timeout(Some(WAIT)).unwrap();
        Self(socket, gateway.to_path_buf())
    }

    fn call(&self, mut request: Value) -> Value {
        request["transaction"] = json!("t-dgram");
        self.0.send_to(request.to_string().as_bytes(), &self.1).expect("send");
        let mut buf = vec![0; 1 << 16];
        let n = self.0.recv(&mut buf).expect("an answer in time");
        serde_json::from_slice(&buf[..n]).expect("JSON")
    }
}

/// Asks the admin API until the gateway has `want` sessions.
async fn wait_sessions(gw: &Gateway, want: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = gw
            .admin_http()
            .post("", &json!({"janus": "list_sessions", "transaction": "l", "admin_secret": "janusoverlord"}))
            .await;
        let n = r["sessions"].as_array().map_or(0, Vec::len);
        if n == want {
            return;
        }
        assert!(Instant::now() < deadline, "{n} sessions, not {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn seqpacket_clients_have_sessions_events_and_errors() {
    let (mut gw, api, admin) = gateway(TempDir::new("unix-seq"), "SOCK_SEQPACKET");
    let c = SeqPacket::connect(&api);
    let info = c.call(json!({"janus": "info"}));
    assert_eq!(info["janus"], "server_info");
    let t = &info["transports"]["janus.transport.pfunix"];
    assert_eq!(t["name"], "JANUS Unix Sockets transport plugin", "{info}");
    let sid = c.call(json!({"janus": "create"}))["data"]["id"].as_u64().unwrap();
    let hid = c.call(json!({"janus": "attach", "session_id": sid, "plugin": "janus.plugin.echotest"}))
        ["data"]["id"]
        .as_u64()
        .unwrap();
    // The plugin's answer comes as an event on the same connection, after the ack.
    let ack =
        c.call(json!({"janus": "message", "session_id": sid, "handle_id": hid, "body": {"audio": true}}));
    assert_eq!(ack["janus"], "ack");
    let event = c.recv();
    assert_eq!(event["janus"], "event", "{event}");
    assert_eq!(event["sender"], hid);
    assert_eq!(event["plugindata"]["data"]["result"], "ok", "{event}");
    // Bad input: errors, and the connection goes on.
    c.send_raw(b"{bad");
    assert_error(&c.recv(), 454);
    c.send_raw(br#"[{"janus":"ping","transaction":"x"}]"#);
    assert_error(&c.recv(), 456);
    assert_error(&c.call(json!({"janus": "keepalive", "session_id": 42})), 458);
    let too_long = format!(r#"{{"janus":"ping","transaction":"x","pad":"{}"}}"#, "x".repeat(1 << 16));
    c.send_raw(too_long.as_bytes());
    assert_error(&c.recv(), 454);
    assert_eq!(c.call(json!({"janus": "ping"}))["janus"], "pong");
    // The admin API on its own socket: the transport counts its clients.
    let a = SeqPacket::connect(&admin);
    let q = a.call(json!({"janus": "query_transport", "transport": "janus.transport.pfunix", "admin_secret": "janusoverlord", "request": {"request": "connections"}}));
    assert_eq!(q["response"]["connections"], 2, "{q}");
    assert_error(&a.call(json!({"janus": "list_sessions"})), 403);
    // The client goes: its session goes too (no reclaim timeout), as with a WebSocket.
    wait_sessions(&gw, 1).await;
    drop(c);
    wait_sessions(&gw, 0).await;
    // The gateway stops: the paths are gone.
    assert!(api.exists() && admin.exists());
    gw.terminate();
    assert!(!api.exists() && !admin.exists(), "the sockets' paths stay after the gateway stopped");
}

#[tokio::test]
async fn dgram_clients_are_known_by_their_paths() {
    let dir = TempDir::new("unix-dgram-clients");
    let (gw, api, admin) = gateway(TempDir::new("unix-dgram"), "SOCK_DGRAM");
    let one = Dgram::bind(&dir.join("one"), &api);
    let two = Dgram::bind(&dir.join("two"), &api);
    let s1 = one.call(json!({"janus": "create"}))["data"]["id"].as_u64().unwrap();
    let s2 = two.call(json!({"janus": "create"}))["data"]["id"].as_u64().unwrap();
    assert_eq!(one.call(json!({"janus": "keepalive", "session_id": s1}))["janus"], "ack");
    let hid = two.call(json!({"janus": "attach", "session_id": s2, "plugin": "janus.plugin.echotest"}))
        ["data"]["id"]
        .as_u64()
        .unwrap();
    let ack =
        two.call(json!({"janus": "message", "session_id": s2, "handle_id": hid, "body": {"video": false}}));
    assert_eq!(ack["janus"], "ack");
    let mut buf = vec![0; 1 << 16];
    let n = two.0.recv(&mut buf).expect("the event in time");
    let event: Value = serde_json::from_slice(&buf[..n]).unwrap();
    assert_eq!(event["plugindata"]["data"]["result"], "ok", "{event}");
    let adm = Dgram::bind(&dir.join("adm"), &admin);
    let q = adm.call(json!({"janus": "query_transport", "transport": "janus.transport.pfunix", "admin_secret": "janusoverlord", "request": {"request": "connections"}}));
    assert_eq!(q["response"]["connections"], 3, "{q}");
    // A client whose path is gone is forgotten when something is sent to it: its sessions go.
    wait_sessions(&gw, 2).await;
    drop(two);
    std::fs::remove_file(dir.join("two")).unwrap();
    let r =
        one.call(json!({"janus": "message", "session_id": s2, "handle_id": hid, "body": {"video": true}}));
    assert_eq!(r["janus"], "ack", "{r}");
    wait_sessions(&gw, 1).await;
    // A datagram from a socket with no path has nowhere to be answered: dropped, the
    // listener goes on.
    let unnamed = UnixDatagram::unbound().unwrap();
    unnamed.send_to(br#"{"janus":"ping","transaction":"x"}"#, &api).unwrap();
    assert_eq!(one.call(json!({"janus": "ping"}))["janus"], "pong");
}

/// Event handlers hear the transport's clients come and go: a `SOCK_SEQPACKET` connection
/// (with its descriptor) until it closes, and a `SOCK_DGRAM` client from its first datagram
/// until it has been silent, owning no session, for twice `session_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_coming_and_going_are_events() {
    use crate::backend::{backend, events_until, handler_conf, Heard};
    let (addr, posts) = backend("127.0.0.1", false).await;
    let mut posts = Heard::new(posts);
    let dir = TempDir::new("unix-events");
    let (api, admin) = (dir.join("janus"), dir.join("admin"));
    let file = format!(
        "general: {{ enabled = true, path = \"{}\", type = \"SOCK_SEQPACKET\" }}\n\
         admin: {{ admin_enabled = true, admin_path = \"{}\", admin_type = \"SOCK_DGRAM\" }}\n",
        api.display(),
        admin.display()
    );
    let mut conf =
        handler_conf(&format!("http://{addr}/events"), "\tevents = \"transports\"\n\tgrouping = false");
    conf.extra.push(("janus.transport.pfunix.jcfg".into(), file));
    conf.general = "session_timeout = 1".into();
    let gw = Gateway::with(conf);
    let told = |what: &'static str, admin_api: bool| {
        move |e: &Value| {
            e["event"]["transport"] == "janus.transport.pfunix"
                && e["event"]["data"]["event"] == what
                && e["event"]["data"]["admin_api"] == admin_api
        }
    };
    let c = SeqPacket::connect(&api);
    assert_eq!(c.call(json!({"janus": "ping"}))["janus"], "pong");
    let connected = events_until(&mut posts, told("connected", false)).await.pop().unwrap();
    assert_eq!(connected["type"], 128, "{connected}");
    assert!(connected["event"]["data"]["fd"].as_i64().is_some_and(|fd| fd > 2), "{connected}");
    let id = connected["event"]["id"].clone();
    drop(c);
    let gone =
        events_until(&mut posts, |e| e["event"]["data"]["event"] == "disconnected").await.pop().unwrap();
    assert_eq!(gone["event"]["id"], id, "{gone}");
    // A datagram client of the admin API: known from its first message, forgotten once idle
    // (2 s here) since it owns no session.
    let adm = Dgram::bind(&dir.join("adm"), &admin);
    let q = adm.call(json!({"janus": "ping", "admin_secret": "janusoverlord"}));
    assert_eq!(q["janus"], "pong", "{q}");
    let connected = events_until(&mut posts, told("connected", true)).await.pop().unwrap();
    assert_eq!(connected["event"]["data"]["type"], "SOCK_DGRAM", "{connected}");
    let id = connected["event"]["id"].clone();
    let gone =
        events_until(&mut posts, |e| e["event"]["data"]["event"] == "disconnected").await.pop().unwrap();
    assert_eq!(gone["event"]["id"], id, "{gone}");
    drop(gw);
}
