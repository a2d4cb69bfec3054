//! SIP: the gateway's SIP plugin against sipp (Debian `sip-tester`) on loopback, with the
//! scenarios in `tests/sip/`, and a webrtc-rs peer on the browser side. Media is checked end to
//! end: sipp runs with `-rtp_echo`, so the peer's own marked PCMU packets must come back.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use super::WAIT;
use crate::harness::{BrokerTls, Conf, Gateway, PluginClient as Client};
use crate::peer::{AudioCodec, Kind, Peer};

const SIP: &str = "janus.plugin.sip";

/// A free UDP port on loopback (bound and released: sipp binds it next).
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether sipp is installed.
fn have_sipp() -> bool {
    let found = std::process::Command::new("sipp").arg("-v").output().is_ok();
    crate::tool_present(found, "apt-get install sip-tester", "the SIP tests need sipp")
}

/// A gateway whose SIP plugin listens on a port of its own; returns it and that port.
fn gateway() -> (Gateway, u16) {
    gateway_with("")
}

/// As [`gateway`], with more `general` settings of `janus.plugin.sip.jcfg`.
fn gateway_with(general: &str) -> (Gateway, u16) {
    gateway_sandboxed(general, "")
}

/// As [`gateway_with`], with more `sandbox` settings.
fn gateway_sandboxed(general: &str, sandbox: &str) -> (Gateway, u16) {
    gateway_in(general, sandbox, Conf::default())
}

/// As [`gateway_sandboxed`], on top of `conf`.
fn gateway_in(general: &str, sandbox: &str, mut conf: Conf) -> (Gateway, u16) {
    let port = free_udp_port();
    let sip = format!(
        "general: {{\n\tlocal_ip = \"127.0.0.1\"\n\tlocal_port = {port}\n\tuser_agent = \"Portunus test\"\n{general}\n}}\n\
         sandbox: {{ udp_bind = \"127.0.0.1:*\" {sandbox} }}\n"
    );
    conf.extra.push(("janus.plugin.sip.jcfg".to_owned(), sip));
    (Gateway::with(conf), port)
}

/// Whether process `pid` holds UDP sockets bound to all of `ports` (from `/proc/net/udp`, whose
/// socket inodes the process's descriptors name).
fn holds_udp_ports(pid: u32, ports: &[u16]) -> bool {
    holds_ports(pid, "udp", ports)
}

/// As [`holds_udp_ports`], for the sockets of `/proc/net/<table>` (`udp`, `tcp`).
fn holds_ports(pid: u32, table: &str, ports: &[u16]) -> bool {
    let bound = bound_ports(pid, table, false);
    ports.iter().all(|p| bound.contains(p))
}

/// The local ports of process `pid`'s sockets in `/proc/net/<table>`, sorted (with
/// `listening`, only TCP's listening ones).
fn bound_ports(pid: u32, table: &str, listening: bool) -> Vec<u16> {
    let table = std::fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
    let owned: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut bound: Vec<u16> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
            let state_ok = !listening || *fields.get(3)? == "0A";
            (state_ok && owned.contains(*fields.get(9)?)).then_some(port)
        })
        .collect();
    bound.sort_unstable();
    bound
}

/// With free ports (`local_port` and `local_tls_port` 0, the embedded configuration's), a hot
/// reload of the plugin keeps the sockets the registrations and calls know: the gateway holds
/// the same UDP ports and TCP listeners after it (the new version's own, bound in its `init`,
/// are closed), and the plugin still answers on the old port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_free_ports_sip_had() {
    if !have_sipp() {
        return;
    }
    let mut conf = Conf::default();
    let sip = "general: {\n\tlocal_ip = \"127.0.0.1\"\n\tlocal_port = 0\n}\nsandbox: { udp_bind = \"127.0.0.1:*\" }\n";
    conf.extra.push(("janus.plugin.sip.jcfg".to_owned(), sip.to_owned()));
    let gw = Gateway::with(conf);
    let mut c = guest(&gw, "alice").await;
    let ports = || (bound_ports(gw.pid(), "udp", false), bound_ports(gw.pid(), "tcp", true));
    let before = ports();
    let reload =
        json!({"janus": "reload_plugin", "transaction": "r", "admin_secret": "janusoverlord", "plugin": SIP});
    let r = gw.admin_http().post("", &reload).await;
    assert_eq!(r["janus"], "success", "{r}");
    // (The new version's own sockets close as their tasks end: soon after the reload.)
    let deadline = std::time::Instant::now() + WAIT;
    while ports() != before && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ports(), before, "the sockets SIP holds (UDP; TCP and TLS listeners)");
    // The old port still reaches alice: the one the first version bound, a free one then.
    let sip_port = (before.0.iter().copied())
        .find(|p| before.1.contains(p))
        .expect("SIP's UDP port, with its TCP listener on it");
    let sender = Sipp::start("uac_message.xml", Some(sip_port), "alice");
    let m = c.event("message", |d| result(d)["event"] == "message").await;
    assert_eq!(result(&m)["content"], "Hello from the phone\r\n", "{m}");
    sender.passes().await;
}

/// A DNS server (dnsmasq, Debian `dnsmasq-base`) on a free loopback port, the authority of the
/// `test` domain only, with `records` (its `--srv-host=…` and `--host-record=…` options);
/// stopped when dropped. `None` when dnsmasq is missing (outside CI only, said loudly).
struct Dnsmasq {
    _child: Child,
    port: u16,
}

impl Dnsmasq {
    fn start(records: &[String]) -> Option<Dnsmasq> {
        const DNSMASQ: &str = "/usr/sbin/dnsmasq";
        let found = Path::new(DNSMASQ).exists();
        if !crate::tool_present(found, "apt-get install dnsmasq-base", "the SRV test needs dnsmasq") {
            return None;
        }
        let (child, port) = on_a_free_port("dnsmasq", "udp", free_udp_port, |port| {
            let mut cmd = Command::new(DNSMASQ);
            cmd.args(["-k", "--conf-file=/dev/null", "--listen-address=127.0.0.1", "--bind-interfaces"])
                .args(["--no-resolv", "--no-hosts", "--pid-file=", "--local=/test/"])
                .arg(format!("--port={port}"))
                .args(records);
            cmd
        });
        Some(Dnsmasq { _child: child, port })
    }
}

/// Runs the command `command` makes for a port `pick` picks, until the process holds that
/// port in `/proc/net/<table>` (`udp`; `tcp`: listening): a port free when picked may be taken
/// before the process binds it, so it tries five ports.
fn on_a_free_port(
    what: &str,
    table: &str,
    pick: impl Fn() -> u16,
    command: impl Fn(u16) -> Command,
) -> (Child, u16) {
    for _ in 0..5 {
        let port = pick();
        let mut child = command(port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("run {what}: {e}"));
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            if child.try_wait().expect("its status").is_some() {
                break;
            }
            if bound_ports(child.id().expect("its pid"), table, table == "tcp").contains(&port) {
                return (child, port);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    panic!("{what} found no free port in five tries")
}

/// A running sipp.
struct Sipp {
    child: Child,
    port: u16,
    log: PathBuf,
    /// The messages it sent and received (`-trace_msg`).
    messages: PathBuf,
}

impl Sipp {
    /// Runs `scenario` (a file of `tests/sip/`) once, on loopback, with RTP echo; `remote` is
    /// the gateway's SIP address for a UAC; `service` the user a UAC calls.
    fn start(scenario: &str, remote: Option<u16>, service: &str) -> Sipp {
        Self::start_with(scenario, remote, service, &[])
    }

    /// As [`Sipp::start`], with the scenario's variables `vars` (`[$name]` in it) set.
    ///
    /// sipp binds its SIP port, the RTP echo port and that port + 2; the ports are free when
    /// picked, but another test may bind one before sipp does (then sipp exits at once,
    /// "Unable to bind"). So this returns only once sipp holds all three, and picks new ports
    /// when it could not bind them.
    fn start_with(scenario: &str, remote: Option<u16>, service: &str, vars: &[(&str, &str)]) -> Sipp {
        Self::launch(scenario, remote, service, vars, false)
    }

    /// As [`Sipp::start`], with SIP over TCP (`-t t1`: one connection; as a UAC, from its SIP
    /// port, where it also listens).
    fn start_tcp(scenario: &str, remote: Option<u16>, service: &str) -> Sipp {
        Self::launch(scenario, remote, service, &[], true)
    }

    fn launch(scenario: &str, remote: Option<u16>, service: &str, vars: &[(&str, &str)], tcp: bool) -> Sipp {
        for _ in 0..5 {
            let (port, media_port) = (free_udp_port(), free_udp_port());
            let mut sipp = Self::spawn(scenario, remote, service, vars, port, media_port, tcp);
            let deadline = std::time::Instant::now() + WAIT;
            while std::time::Instant::now() < deadline {
                if let Some(status) = sipp.child.try_wait().expect("sipp status") {
                    let log = std::fs::read_to_string(&sipp.log).unwrap_or_default();
                    assert!(log.contains("Unable to bind"), "sipp ended at its start ({status}):\n{log}");
                    break;
                }
                let pid = sipp.child.id().expect("sipp's pid");
                let signaling =
                    if tcp { holds_ports(pid, "tcp", &[port]) } else { holds_udp_ports(pid, &[port]) };
                if signaling && holds_udp_ports(pid, &[media_port, media_port + 2]) {
                    return sipp;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(std::time::Instant::now() < deadline, "sipp did not bind its ports within {WAIT:?}");
        }
        panic!("sipp found no free ports in five tries")
    }

    /// Runs sipp on the given ports.
    fn spawn(
        scenario: &str,
        remote: Option<u16>,
        service: &str,
        vars: &[(&str, &str)],
        port: u16,
        media_port: u16,
        tcp: bool,
    ) -> Sipp {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sip");
        let log = std::env::temp_dir().join(format!("portunus-sipp-{port}.log"));
        let messages = std::env::temp_dir().join(format!("portunus-sipp-{port}-messages.log"));
        let _ = (std::fs::remove_file(&log), std::fs::remove_file(&messages));
        let mut cmd = Command::new("sipp");
        cmd.arg("-sf")
            .arg(dir.join(scenario))
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mp", &media_port.to_string(), "-rtp_echo", "-m", "1", "-nostdin"])
            .args(["-timeout", "60s", "-s", service])
            .args(vars.iter().flat_map(|(name, value)| ["-set", name, value]))
            .arg("-trace_err")
            .arg("-error_file")
            .arg(&log)
            .args(["-trace_msg", "-message_file"])
            .arg(&messages)
            .args(if tcp { &["-t", "t1"][..] } else { &[] })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        if let Some(remote) = remote {
            cmd.arg(format!("127.0.0.1:{remote}"));
        }
        let child = cmd.spawn().expect("run sipp");
        Sipp { child, port, log, messages }
    }

    /// Waits for the scenario to end; asserts it passed.
    async fn passes(mut self) {
        self.ends_passing().await;
    }

    /// As [`Sipp::passes`], keeping it (for [`Sipp::received`]).
    async fn ends_passing(&mut self) {
        let status =
            tokio::time::timeout(WAIT * 3, self.child.wait()).await.expect("sipp ends").expect("sipp status");
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(status.success(), "sipp failed ({status}):\n{log}");
    }

    /// The messages sipp received that start with `start`, as it logged them (once it ended).
    fn received(&self, start: &str) -> Vec<String> {
        let log = std::fs::read_to_string(&self.messages).expect("sipp's messages");
        log.split("message received")
            .skip(1)
            .filter_map(|m| m.split_once(":\n").map(|(_, m)| m.trim_start()))
            // (Up to the separator before the next message.)
            .map(|m| m.split("\n-----").next().unwrap_or_default().to_owned())
            .filter(|m| m.starts_with(start))
            .collect()
    }
}

/// A failed test keeps sipp's log and messages to read (`portunus-sipp-<port>*.log` in the
/// temporary folder).
impl Drop for Sipp {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = (std::fs::remove_file(&self.log), std::fs::remove_file(&self.messages));
        }
    }
}

/// `result` of a SIP event's plugin data.
fn result(data: &Value) -> &Value {
    &data["result"]
}

/// The next SIP event named `name` (its whole message, for the JSEP).
async fn sip_event(c: &mut Client, name: &str) -> Value {
    c.message(name, |m| m["janus"] == "event" && m["plugindata"]["data"]["result"]["event"] == name).await
}

/// Until the peer has had `n` of its own audio packets back.
async fn echoed(peer: &Peer, n: u64) {
    peer.wait_until("the phone's echo", WAIT, |s| s.recv(Kind::Audio).valid_markers >= n)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
}

/// The peer sends DTMF `1#` as RFC 4733 telephone events; the phone echoes them, so the
/// gateway reports each digit once (`dtmf`, from the SIP leg, with the phone's URI) and the
/// peer gets its events back in its own payload type.
async fn dtmf_round_trip(c: &mut Client, peer: &Peer, phone: &str) {
    peer.send_dtmf("1#");
    for digit in ["1", "#"] {
        let e = c.event("a dtmf event", |d| result(d)["event"] == "dtmf").await;
        assert_eq!(result(&e)["signal"], digit, "{e}");
        assert!(result(&e)["duration"].as_u64().is_some_and(|d| d > 0), "{e}");
        assert!(result(&e)["sender"].as_str().is_some_and(|s| s.starts_with(phone)), "{e}");
    }
    peer.wait_until("the echoed telephone events", WAIT, |s| {
        [1, 11]
            .iter()
            .all(|&code| s.audio.telephone_events.iter().any(|(_, e)| e[0] == code && e[1] & 0x80 != 0))
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
}

/// The plugin's `hangup` event and the core's `hangup` (the PeerConnection closed), which
/// come by different paths and so in either order; returns the event's plugin data.
async fn both_hangups(c: &mut Client) -> Value {
    let (event, closed) = (std::cell::RefCell::new(Value::Null), std::cell::Cell::new(false));
    c.message("the hangup event and the PeerConnection's hangup", |m| {
        closed.set(closed.get() || m["janus"] == "hangup");
        if m["janus"] == "event" && result(&m["plugindata"]["data"])["event"] == "hangup" {
            *event.borrow_mut() = m["plugindata"]["data"].clone();
        }
        closed.get() && !event.borrow().is_null()
    })
    .await;
    event.into_inner()
}

/// REGISTER is challenged, answered with digest (qop=auth) and accepted: `registering`, then
/// `registered`; a wrong password is `registration_failed` with the registrar's 403.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_answers_a_digest_challenge() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    for (secret, outcome) in [("secret", "registered"), ("wrong", "registration_failed")] {
        let sipp = Sipp::start("register_auth.xml", None, "x");
        let mut c = Client::new(&gw, SIP).await;
        let username = format!("sip:alice@127.0.0.1:{}", sipp.port);
        let r = c.send(json!({"request": "register", "username": username, "secret": secret}), None).await;
        assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
        let e = c.event(outcome, |d| result(d)["event"] == outcome).await;
        if outcome == "registered" {
            assert_eq!(result(&e)["username"], "alice", "{e}");
            assert_eq!(result(&e)["register_sent"], true, "{e}");
        } else {
            assert_eq!(result(&e)["code"], 403, "{e}");
        }
        sipp.passes().await;
    }
}

/// A guest's `call` with `secret` and `authuser` answers the phone's challenge of the INVITE
/// (401, digest): the phone answers only for carol's password. Both kinds of
/// secret at once are 444, as in Janus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_answers_a_challenge_with_its_own_credentials() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_challenge.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let both = json!({"request": "call", "uri": uri, "secret": "a", "ha1_secret": "b"});
    let r = c.send(both, Some(offer.clone())).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 444, "{r}");
    let call = json!({"request": "call", "uri": uri, "authuser": "carol", "secret": "callsecret"});
    let r = c.send(call, Some(offer)).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    let accepted = sip_event(&mut c, "accepted").await;
    peer.set_answer(accepted["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");
    hang_up_ending(&mut c, 200).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// A call to a port where nothing listens ends at once, as Janus's does: the ICMP port
/// unreachable is a `hangup` with 503 "Service Unavailable", not 32 s of retransmissions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_to_a_closed_port_fails_at_once() {
    let (gw, _) = gateway();
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", free_udp_port());
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    let hangup = sip_event(&mut c, "hangup").await;
    let hangup = result(&hangup["plugindata"]["data"]);
    assert_eq!(
        (&hangup["code"], &hangup["reason"]),
        (&json!(503), &json!("Service Unavailable")),
        "{hangup}"
    );
    peer.close().await.ok();
}

/// `user_agent` and `contact_params` reach the REGISTER; a second `register` is 445 while
/// `refresh: true` registers again with new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_registers_again_with_new_values() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("register_refresh.xml", None, "x");
    let mut c = Client::new(&gw, SIP).await;
    let username = format!("sip:alice@127.0.0.1:{}", sipp.port);
    let register = |n: u32| {
        json!({"request": "register", "username": username, "secret": "secret",
               "user_agent": format!("Alice Phone {n}"), "contact_params": {"line": n.to_string()}})
    };
    for n in [1, 2] {
        let mut body = register(n);
        if n == 2 {
            let r = c.send(body.clone(), None).await;
            assert_eq!(r["plugindata"]["data"]["error_code"], 445, "{r}");
            assert_eq!(r["plugindata"]["data"]["error"], "Already registered (alice)", "{r}");
            body["refresh"] = json!(true);
        }
        let r = c.send(body, None).await;
        assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
        c.event("registered", |d| result(d)["event"] == "registered").await;
    }
    sipp.passes().await;
}

/// An outgoing call to a phone that answers with PCMU and telephone events: `calling`,
/// `ringing`, `accepted` with the answer; the peer's audio and DTMF come back through the
/// phone's echo; `hangup` sends BYE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outgoing_call_carries_audio_both_ways() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_answer.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    let calling = &r["plugindata"]["data"];
    assert_eq!(result(calling)["event"], "calling", "{r}");
    let call_id = calling["call_id"].as_str().expect("call_id").to_owned();
    sip_event(&mut c, "ringing").await;
    let accepted = sip_event(&mut c, "accepted").await;
    assert_eq!(accepted["plugindata"]["data"]["call_id"], call_id.as_str(), "{accepted}");
    assert_eq!(result(&accepted["plugindata"]["data"])["username"], uri.as_str(), "{accepted}");
    let answer = accepted["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no answer: {accepted}"));
    assert!(answer.contains("PCMU/8000"), "{answer}");
    peer.set_answer(answer).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    echoed(&peer, 25).await;
    dtmf_round_trip(&mut c, &peer, "sip:bob@127.0.0.1").await;
    hang_up_ending(&mut c, 200).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// An incoming call from a phone to a registered user: `incomingcall` with the offer, `accept`
/// with the peer's answer (the phone gets 200 with our SDP and ACKs it), audio both ways; the
/// browser's `hangup` sends the phone a BYE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_call_is_accepted_from_the_browser() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uac_call.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let data = &incoming["plugindata"]["data"];
    assert!(
        result(data)["username"].as_str().is_some_and(|u| u.starts_with("sip:bob@127.0.0.1")),
        "{incoming}"
    );
    assert_eq!(result(data)["displayname"], "\"Bob Phone\"", "{incoming}");
    let offer = incoming["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no offer: {incoming}"));
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    echoed(&peer, 25).await;
    dtmf_round_trip(&mut c, &peer, "sip:bob@127.0.0.1").await;
    hang_up(&mut c).await;
    c.event("hangup", |d| result(d)["event"] == "hangup").await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// SIP over TCP (`force_tcp`): alice registers at a registrar that only speaks TCP and checks
/// the REGISTER says so (Via, Contact); the registrar then calls her over the same connection,
/// as one reaches a user behind a NAT; the browser accepts, audio goes both ways, and its
/// `hangup` sends the BYE over that connection too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_registration_brings_calls_over_its_connection() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let registrar = Sipp::start_tcp("tcp_registrar.xml", None, "x");
    let username = format!("sip:alice@127.0.0.1:{}", registrar.port);
    registers_over_tcp_and_is_called(&gw, json!({"username": username, "force_tcp": true}), registrar).await;
}

/// `register` (with `fields`) at a registrar of `tcp_registrar.xml`, which checks the REGISTER
/// came over TCP and calls back over its connection: accepted with audio, hung up.
async fn registers_over_tcp_and_is_called(gw: &Gateway, fields: Value, registrar: Sipp) {
    let mut c = Client::new(gw, SIP).await;
    let mut register = json!({"request": "register", "secret": "s"});
    register.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    let r = c.send(register, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    c.event("registered", |d| result(d)["event"] == "registered").await;
    let peer = accept_with_audio(&mut c).await;
    hang_up(&mut c).await;
    c.event("hangup", |d| result(d)["event"] == "hangup").await;
    registrar.passes().await;
    peer.close().await.ok();
}

/// A domain given without a transport or port takes the one its DNS records choose (RFC 3263
/// §4.1, as Janus's Sofia-SIP does), through dnsmasq: `pbx.test`'s NAPTR records prefer
/// SIP+D2T (order 10) to SIP+D2U (order 20, whose servers listen nowhere), so alice registers
/// over TCP at its `_sip._tcp` server, which checks the REGISTER's Via and Contact say TCP;
/// `phone.test` has no NAPTR records, only `_sip._tcp` SRV ones, so bob registers over TCP too.
/// Both registrars call back over the registration's connection. `force_udp` overrides the
/// records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domains_naptr_or_srv_records_choose_the_transport() {
    if !have_sipp() {
        return;
    }
    let (pbx, phone) =
        (Sipp::start_tcp("tcp_registrar.xml", None, "x"), Sipp::start_tcp("tcp_registrar.xml", None, "x"));
    let records = [
        "--naptr-record=pbx.test,20,10,S,SIP+D2U,,_sip._udp.pbx.test".to_owned(),
        "--naptr-record=pbx.test,10,50,S,SIP+D2T,,_sip._tcp.pbx.test".to_owned(),
        format!("--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{},1,0", free_udp_port()),
        format!("--srv-host=_sip._tcp.pbx.test,sip1.pbx.test,{},1,0", pbx.port),
        format!("--srv-host=_sip._tcp.phone.test,sip1.pbx.test,{},1,0", phone.port),
        "--host-record=sip1.pbx.test,127.0.0.1".to_owned(),
    ];
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let (gw, _) = gateway_sandboxed("", &format!("nameserver = \"127.0.0.1:{}\"", dns.port));
    registers_over_tcp_and_is_called(&gw, json!({"username": "sip:alice@pbx.test"}), pbx).await;
    registers_over_tcp_and_is_called(&gw, json!({"username": "sip:bob@phone.test"}), phone).await;
    // `force_udp` has the last word: carol's REGISTER goes to the `_sip._udp` server, whose
    // port is closed (503 at once).
    let mut c = Client::new(&gw, SIP).await;
    let forced =
        json!({"request": "register", "username": "sip:carol@pbx.test", "secret": "s", "force_udp": true});
    let r = c.send(forced, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    let failed = sip_event(&mut c, "registration_failed").await;
    assert_eq!(result(&failed["plugindata"]["data"])["code"], 503, "{failed}");
}

/// socat (Debian `socat`), an independent TLS end (OpenSSL's) in front of sipp, which speaks
/// SIP over TCP only: it listens on a free loopback port and passes each connection's bytes on.
struct Socat {
    _child: Child,
    port: u16,
}

impl Socat {
    /// TLS in: shows `tls`'s broker certificate to whom connects, and passes the clear bytes to
    /// port `to` over TCP. `None` when socat is missing (outside CI only, said loudly).
    fn tls_to_tcp(tls: &BrokerTls, to: u16) -> Option<Socat> {
        let cert = format!("cert={},key={},verify=0", tls.broker_cert, tls.broker_key);
        Self::start(
            &format!("OPENSSL-LISTEN:{{port}},bind=127.0.0.1,reuseaddr,fork,{cert}"),
            &format!("TCP:127.0.0.1:{to}"),
        )
    }

    /// TLS out: passes what connects in the clear to port `to` over TLS, and goes on only with
    /// a server certificate of `tls`'s CA, for 127.0.0.1.
    fn tcp_to_tls(tls: &BrokerTls, to: u16) -> Option<Socat> {
        let out = format!("OPENSSL:127.0.0.1:{to},cafile={},verify=1", tls.ca);
        Self::start("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork", &out)
    }

    fn start(listen: &str, to: &str) -> Option<Socat> {
        let found = std::process::Command::new("socat").arg("-V").output().is_ok();
        if !crate::tool_present(found, "apt-get install socat", "the SIP over TLS tests need socat") {
            return None;
        }
        let (child, port) = on_a_free_port("socat", "tcp", crate::harness::free_port, |port| {
            let mut cmd = Command::new("socat");
            cmd.arg(listen.replace("{port}", &port.to_string())).arg(to);
            cmd
        });
        Some(Socat { _child: child, port })
    }
}

/// SIP over TLS (RFC 3261 §26.2), with OpenSSL (socat) at the other end of each connection.
/// A guest whose proxy is `sips:` calls a phone behind TLS: the INVITE says TLS (Via, Contact),
/// audio goes both ways, and the hangup's BYE goes over TLS too. Then a phone connects in over
/// TLS to the port of `local_tls_port`, checking the certificate of `sips_certs_dir` against
/// its CA, and its MESSAGE reaches the guest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_over_tls_both_ways() {
    if !have_sipp() {
        return;
    }
    let tls = BrokerTls::new("127.0.0.1");
    let certs = crate::harness::TempDir::new("sips-certs");
    let agent = [&tls.broker_key, &tls.broker_cert].map(|f| std::fs::read_to_string(f).expect("a PEM file"));
    std::fs::write(certs.join("agent.pem"), agent.concat()).expect("agent.pem");
    let tls_port = crate::harness::free_port();
    let (gw, _) = gateway_sandboxed(
        &format!("\tlocal_tls_port = {tls_port}\n\tsips_certs_dir = \"{}\"", certs.display()),
        &format!("read_dir = \"{}\"", certs.display()),
    );
    let phone = Sipp::start_tcp("uas_answer.xml", None, "x");
    let Some(front) = Socat::tls_to_tcp(&tls, phone.port) else { return };
    let mut c = Client::new(&gw, SIP).await;
    let proxy = format!("sips:127.0.0.1:{}", front.port);
    let both = json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest",
                      "proxy": proxy, "force_tcp": true});
    assert_eq!(c.send(both, None).await["plugindata"]["data"]["error_code"], 444, "TCP asked, TLS named");
    let r = c
        .send(json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest", "proxy": proxy}), None)
        .await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", front.port);
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    let accepted = sip_event(&mut c, "accepted").await;
    peer.set_answer(accepted["jsep"]["sdp"].as_str().expect("an answer")).await.expect("set answer");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    echoed(&peer, 25).await;
    hang_up_ending(&mut c, 200).await;
    let mut phone = phone;
    phone.ends_passing().await;
    let invite = phone.received("INVITE").pop().expect("the INVITE");
    assert!(invite.contains(&format!("Via: SIP/2.0/TLS 127.0.0.1:{tls_port};")), "{invite}");
    assert!(invite.contains(&format!("@127.0.0.1:{tls_port};transport=tls>")), "{invite}");
    assert!(!phone.received("BYE").is_empty(), "the BYE went over TLS");
    peer.close().await.ok();

    let Some(back) = Socat::tcp_to_tls(&tls, tls_port) else { return };
    let sender = Sipp::start_tcp("uac_message.xml", Some(back.port), "alice");
    let m = c.event("message", |d| result(d)["event"] == "message").await;
    assert_eq!(result(&m)["content"], "Hello from the phone\r\n", "{m}");
    sender.passes().await;
}

/// Names instead of addresses: alice registers at `localhost` over UDP (the host resolves it,
/// the registrar's challenge is answered) and calls `bob@localhost` over TCP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrars_and_callees_may_be_names() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let registrar = Sipp::start("register_auth.xml", None, "x");
    register_alice(&gw, &format!("sip:alice@localhost:{}", registrar.port)).await;
    registrar.passes().await;
    let phone = Sipp::start_tcp("uas_answer.xml", None, "x");
    tcp_guest_calls(&gw, &format!("sip:bob@localhost:{}", phone.port)).await;
    phone.passes().await;
}

/// alice registers as `username` with her secret (at a registrar of `register_auth.xml`).
async fn register_alice(gw: &Gateway, username: &str) {
    let mut c = Client::new(gw, SIP).await;
    let r = c.send(json!({"request": "register", "username": username, "secret": "secret"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    c.event("registered", |d| result(d)["event"] == "registered").await;
}

/// A guest over TCP (`force_tcp`) calls `uri` (a phone of `uas_answer.xml`): accepted, then
/// hung up.
async fn tcp_guest_calls(gw: &Gateway, uri: &str) {
    let mut caller = Client::new(gw, SIP).await;
    let tcp_guest =
        json!({"request": "register", "username": "sip:carol@localhost", "type": "guest", "force_tcp": true});
    let r = caller.send(tcp_guest, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let r = caller
        .send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer})))
        .await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    sip_event(&mut caller, "accepted").await;
    hang_up_ending(&mut caller, 200).await;
    peer.close().await.ok();
}

/// A URI whose host is a name without a port is found by the name's SRV records (RFC 3263
/// §4.2), as Janus's (Sofia-SIP's) are, through a DNS server no one here wrote (dnsmasq):
/// alice registers at `pbx.test`, whose records name first a server without an address, then
/// the registrar (sipp, on a port of its own), then a decoy; a `force_tcp` guest calls
/// `bob@phone.test`, found by `_sip._tcp`, whose first server refuses the connection and whose
/// second, a phone over TCP, answers: hung up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_are_found_by_their_srv_records() {
    if !have_sipp() {
        return;
    }
    let registrar = Sipp::start("register_auth.xml", None, "x");
    let phone = Sipp::start_tcp("uas_answer.xml", None, "x");
    // (Were the priorities not kept to, the REGISTER could go to the decoy, where nothing
    // listens, and the registration would fail.)
    let records = [
        "--srv-host=_sip._udp.pbx.test,gone.pbx.test,9,5,10".to_owned(),
        format!("--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{},10,10", registrar.port),
        format!("--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{},20,10", free_udp_port()),
        // A first server that refuses the connection: the next one is connected to.
        format!("--srv-host=_sip._tcp.phone.test,sip0.phone.test,{},1,0", crate::harness::free_port()),
        format!("--srv-host=_sip._tcp.phone.test,sip2.phone.test,{},2,0", phone.port),
        "--host-record=sip0.phone.test,127.0.0.1".to_owned(),
        "--host-record=sip1.pbx.test,127.0.0.1".to_owned(),
        "--host-record=sip2.phone.test,127.0.0.1".to_owned(),
    ];
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let (gw, _) = gateway_sandboxed("", &format!("nameserver = \"127.0.0.1:{}\"", dns.port));
    register_alice(&gw, "sip:alice@pbx.test").await;
    registrar.passes().await;
    tcp_guest_calls(&gw, "sip:bob@phone.test").await;
    phone.passes().await;
}

/// A domain with more SRV records than a datagram holds: dnsmasq answers the query over UDP
/// truncated (seven records of 31) and the whole over TCP, which the host asks again on (RFC
/// 7766). The registrar's record, the first by priority, is the last dnsmasq lists: alice
/// registers there only when the whole answer was read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_srv_answer_is_asked_for_again_over_tcp() {
    if !have_sipp() {
        return;
    }
    let registrar = Sipp::start("register_auth.xml", None, "x");
    let mut records: Vec<String> = (1..=30)
        .map(|i| {
            format!("--srv-host=_sip._udp.big.test,server-{i}.a-rather-long-name.big.test,5060,{},0", i + 10)
        })
        .collect();
    records.push(format!("--srv-host=_sip._udp.big.test,sip1.pbx.test,{},1,0", registrar.port));
    records.push("--host-record=sip1.pbx.test,127.0.0.1".to_owned());
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let (gw, _) = gateway_sandboxed("", &format!("nameserver = \"127.0.0.1:{}\"", dns.port));
    register_alice(&gw, "sip:alice@big.test").await;
    registrar.passes().await;
}

/// `sandbox.nameserver` may name several servers, asked in turn as the system's resolver asks
/// `/etc/resolv.conf`'s: the first here never answers (a socket that reads nothing), and the
/// second (dnsmasq) finds the registrar by its SRV record after the first's 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_name_server_is_passed_over_for_the_next() {
    if !have_sipp() {
        return;
    }
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a silent socket");
    let registrar = Sipp::start("register_auth.xml", None, "x");
    let records = [
        format!("--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{},1,0", registrar.port),
        "--host-record=sip1.pbx.test,127.0.0.1".to_owned(),
    ];
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let servers = format!("nameserver = \"{}, 127.0.0.1:{}\"", silent.local_addr().unwrap(), dns.port);
    let (gw, _) = gateway_sandboxed("", &servers);
    register_alice(&gw, "sip:alice@pbx.test").await;
    registrar.passes().await;
    let mut got = [0u8; 512];
    silent.set_nonblocking(true).unwrap();
    assert!(silent.recv(&mut got).is_ok(), "the first server was asked");
}

/// dnsmasq's records for the failover tests: `_sip._udp.pbx.test` names a first server on port
/// `first` and a second on `second`, both on 127.0.0.1; `alone` is a domain whose only server
/// is on its port.
fn two_servers(first: u16, second: u16, alone: Option<(&str, u16)>) -> Vec<String> {
    let mut records = vec![
        format!("--srv-host=_sip._udp.pbx.test,sip0.pbx.test,{first},1,0"),
        format!("--srv-host=_sip._udp.pbx.test,sip1.pbx.test,{second},2,0"),
        "--host-record=sip0.pbx.test,127.0.0.1".to_owned(),
        "--host-record=sip1.pbx.test,127.0.0.1".to_owned(),
    ];
    if let Some((domain, port)) = alone {
        records.push(format!("--srv-host=_sip._udp.{domain},sip0.pbx.test,{port},1,0"));
    }
    records
}

/// A first SRV server that refuses datagrams (its port closed: ICMP port unreachable) is
/// passed over: the REGISTER's retransmission goes to the next server, which registers alice;
/// a domain whose only server refuses fails at once (503).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_udp_server_fails_over_to_the_next_srv_record() {
    if !have_sipp() {
        return;
    }
    let registrar = Sipp::start("register_auth.xml", None, "x");
    let records = two_servers(free_udp_port(), registrar.port, Some(("dead.test", free_udp_port())));
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let (gw, _) = gateway_sandboxed("", &format!("nameserver = \"127.0.0.1:{}\"", dns.port));
    register_alice(&gw, "sip:alice@pbx.test").await;
    registrar.passes().await;
    let mut c = Client::new(&gw, SIP).await;
    let r =
        c.send(json!({"request": "register", "username": "sip:carol@dead.test", "secret": "s"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    let failed = sip_event(&mut c, "registration_failed").await;
    assert_eq!(result(&failed["plugindata"]["data"])["code"], 503, "{failed}");
}

/// A first SRV server that answers 503 is passed over (RFC 3263 §4.3, as Sofia-SIP does): the
/// REGISTER goes again, as a new transaction, to the next server, which registers alice; a
/// domain whose only server answers 503 fails with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_503_is_passed_over_for_the_next_srv_record() {
    if !have_sipp() {
        return;
    }
    let unavailable = Sipp::start("uas_unavailable.xml", None, "x");
    let registrar = Sipp::start("register_auth.xml", None, "x");
    let alone = Sipp::start("uas_unavailable.xml", None, "x");
    let records = two_servers(unavailable.port, registrar.port, Some(("alone.test", alone.port)));
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let (gw, _) = gateway_sandboxed("", &format!("nameserver = \"127.0.0.1:{}\"", dns.port));
    register_alice(&gw, "sip:alice@pbx.test").await;
    unavailable.passes().await;
    registrar.passes().await;
    let mut c = Client::new(&gw, SIP).await;
    let r =
        c.send(json!({"request": "register", "username": "sip:carol@alone.test", "secret": "s"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    let failed = sip_event(&mut c, "registration_failed").await;
    assert_eq!(result(&failed["plugindata"]["data"])["code"], 503, "{failed}");
    alone.passes().await;
}

/// A first SRV server that never answers is passed over once the transaction times out (RFC
/// 3263 §4.3), here after Janus's `sip_timer_t1x64` of 2 s: the REGISTER goes again, as a new
/// transaction, to the next server, which registers alice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_passed_over_once_the_transaction_times_out() {
    if !have_sipp() {
        return;
    }
    // A socket that reads nothing: the datagrams sent there get no answer, nor an ICMP error.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("a silent socket");
    let registrar = Sipp::start("register_auth.xml", None, "x");
    let records = two_servers(silent.local_addr().unwrap().port(), registrar.port, None);
    let Some(dns) = Dnsmasq::start(&records) else { return };
    let nameserver = format!("nameserver = \"127.0.0.1:{}\"", dns.port);
    let (gw, _) = gateway_sandboxed("\tsip_timer_t1x64 = 2000", &nameserver);
    let started = std::time::Instant::now();
    register_alice(&gw, "sip:alice@pbx.test").await;
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_secs(2), "after the first server's timeout: {took:?}");
    assert!(took < std::time::Duration::from_secs(3), "at the timeout, not a retransmission later: {took:?}");
    registrar.passes().await;
    let mut got = [0u8; 2048];
    silent.set_nonblocking(true).unwrap();
    assert!(
        silent.recv(&mut got).is_ok_and(|n| got[..n].starts_with(b"REGISTER ")),
        "the first server was tried"
    );
}

/// Over TCP an INVITE is sent once and its one timer is the transaction's timeout, which a
/// provisional answer stops: a phone that rings for 34 s (past 64·T1) still gets its call
/// answered, not a 408.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tcp_may_ring_past_the_transaction_timeout() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let mut c = Client::new(&gw, SIP).await;
    let tcp_guest =
        json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest", "force_tcp": true});
    let r = c.send(tcp_guest, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let phone = Sipp::start_tcp("uas_rings_long.xml", None, "x");
    // The offer without its candidates (as a trickling browser's): the test peer answers no
    // connectivity checks before it has an answer, and the gateway would give the
    // PeerConnection up ("ICE failed") long before the phone answers.
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let offer: String = offer.split_inclusive("\r\n").filter(|l| !l.starts_with("a=candidate")).collect();
    let uri = format!("sip:bob@127.0.0.1:{}", phone.port);
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    sip_event(&mut c, "ringing").await;
    let accepted = c
        .message_within("accepted", std::time::Duration::from_secs(50), |m| {
            m["janus"] == "event" && result(&m["plugindata"]["data"])["event"] == "accepted"
        })
        .await;
    assert!(accepted["jsep"]["sdp"].as_str().is_some_and(|sdp| sdp.contains("PCMU")), "{accepted}");
    hang_up(&mut c).await;
    c.event("hangup", |d| result(d)["event"] == "hangup").await;
    phone.passes().await;
    peer.close().await.ok();
}

/// An empty datagram is the gateway's own word that an address will not answer: one that comes
/// from afar (here from the registrar's own address, as anyone could forge it) is dropped, so
/// the REGISTER waiting there is not failed, and the registrar's 200 that follows registers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_datagram_from_afar_fails_nothing() {
    let (gw, _) = gateway();
    let registrar = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("a registrar socket");
    let mut c = Client::new(&gw, SIP).await;
    let username = format!("sip:alice@{}", registrar.local_addr().expect("its address"));
    let r = c.send(json!({"request": "register", "username": username, "secret": "s"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    let mut buf = vec![0u8; 65_536];
    let (n, gateway_at) =
        tokio::time::timeout(WAIT, registrar.recv_from(&mut buf)).await.expect("a REGISTER").expect("recv");
    let register = String::from_utf8_lossy(&buf[..n]).into_owned();
    registrar.send_to(&[], gateway_at).await.expect("send the empty datagram");
    let copied = |name: &str| {
        register
            .lines()
            .filter(|l| l.starts_with(&format!("{name}:")))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
    };
    let ok = format!(
        "SIP/2.0 200 OK\r\n{}{}{}{}{}Contact: <{username}>;expires=3600\r\nContent-Length: 0\r\n\r\n",
        copied("Via"),
        copied("From"),
        copied("To").replace("\r\n", ";tag=r1\r\n"),
        copied("Call-ID"),
        copied("CSeq"),
    );
    registrar.send_to(ok.as_bytes(), gateway_at).await.expect("send the 200");
    let e = c
        .event("registered", |d| {
            matches!(result(d)["event"].as_str(), Some("registered" | "registration_failed"))
        })
        .await;
    assert_eq!(result(&e)["event"], "registered", "{e}");
}

/// Registrars that cannot be reached: `registration_failed` comes at once with 503, as
/// Janus's (checked against janus-ref for a refused connection), not 408 after the
/// transaction's 32 s: one over TCP whose port refuses the connection, and a name that does
/// not resolve (`.invalid`, RFC 2606).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_registrars_fail_the_registration_at_once() {
    let (gw, _) = gateway();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port");
    for (username, tcp) in
        [(format!("sip:alice@{closed}"), true), ("sip:alice@portunus-test.invalid".to_owned(), false)]
    {
        let mut c = Client::new(&gw, SIP).await;
        let register = json!({"request": "register", "username": username, "secret": "s", "force_tcp": tcp});
        let r = c.send(register, None).await;
        assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
        let failed = c.event("registration_failed", |d| result(d)["event"] == "registration_failed").await;
        let (code, reason) = (result(&failed)["code"].as_u64(), result(&failed)["reason"].as_str());
        assert_eq!((code, reason), (Some(503), Some("Service Unavailable")), "{username}");
    }
}

/// Calls over TCP both ways with phones that only speak TCP: a `force_tcp` account calls one
/// (INVITE, ACK and BYE over the connection the gateway opens), and one calls a user (the
/// answers over the connection it opened, our BYE too); audio both ways each time. Asking for
/// both transports is Janus's 444; a URI asking for SCTP is 446.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_over_tcp_both_ways() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = Client::new(&gw, SIP).await;
    let both = json!({"request": "register", "username": "sip:a@127.0.0.1", "type": "guest",
                      "force_udp": true, "force_tcp": true});
    let r = c.send(both, None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 444, "{r}");
    let tcp_guest =
        json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest", "force_tcp": true});
    let r = c.send(tcp_guest, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let r = c.send(json!({"request": "call", "uri": "sip:bob@127.0.0.1;transport=sctp"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 446, "no SCTP: {r}");
    let phone = Sipp::start_tcp("uas_answer.xml", None, "x");
    let peer = call_up(&mut c, &phone).await;
    echoed(&peer, 25).await;
    hang_up_ending(&mut c, 200).await;
    phone.passes().await;
    peer.close().await.ok();

    let mut callee = guest(&gw, "bob").await;
    let caller = Sipp::start_tcp("uac_call.xml", Some(sip_port), "bob");
    let peer = accept_with_audio(&mut callee).await;
    hang_up(&mut callee).await;
    callee.event("hangup", |d| result(d)["event"] == "hangup").await;
    caller.passes().await;
    peer.close().await.ok();
}

/// The `incomingcall` to come, accepted with a PCMU peer's answer; media up and echoed by
/// the phone: the peer.
async fn accept_with_audio(c: &mut Client) -> Peer {
    let incoming = sip_event(c, "incomingcall").await;
    let offer = incoming["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no offer: {incoming}"));
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer = peer.answer_offer(offer, WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    peer.start_media().await;
    peer.wait_connected(WAIT).await.expect("connected");
    echoed(&peer, 25).await;
    peer
}

/// `hangup` of the handle's call: `hangingup`.
async fn hang_up(c: &mut Client) {
    let r = c.send(json!({"request": "hangup"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "hangingup", "{r}");
}

/// [`hang_up`], and the `hangup` that follows with the far end's `code` (BYE's 200, CANCEL's
/// 487...).
async fn hang_up_ending(c: &mut Client, code: u64) {
    hang_up(c).await;
    let hangup = c.event("hangup", |d| result(d)["event"] == "hangup").await;
    assert_eq!(result(&hangup)["code"], code, "{hangup}");
}

/// alice registered (with a password) at `registrar`, on a new handle.
async fn registered_at(gw: &Gateway, registrar: &Sipp) -> Client {
    let mut c = Client::new(gw, SIP).await;
    let username = format!("sip:alice@127.0.0.1:{}", registrar.port);
    let r = c.send(json!({"request": "register", "username": username, "secret": "secret"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registering", "{r}");
    c.event("registered", |d| result(d)["event"] == "registered").await;
    c
}

/// A guest account on a new handle.
async fn guest(gw: &Gateway, user: &str) -> Client {
    guest_account(gw, user).await.0
}

/// A guest account on a new handle, and its `master_id` (for helpers).
async fn guest_account(gw: &Gateway, user: &str) -> (Client, Value) {
    let mut c = Client::new(gw, SIP).await;
    let username = format!("sip:{user}@127.0.0.1");
    let r = c.send(json!({"request": "register", "username": username, "type": "guest"}), None).await;
    let registered = &r["plugindata"]["data"];
    assert_eq!(result(registered)["event"], "registered", "{r}");
    assert_eq!(result(registered)["register_sent"], false, "{r}");
    let master_id = result(registered)["master_id"].clone();
    assert!(master_id.as_u64().is_some_and(|id| id > 0), "{r}");
    (c, master_id)
}

/// `call` to the phone of `sipp` with a PCMU peer's offer; returns the peer and the `calling`.
async fn call(c: &mut Client, sipp: &Sipp) -> (Peer, Value) {
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    (peer, r)
}

/// [`call`], the phone's answer taken, media up: the browser's peer.
async fn call_up(c: &mut Client, sipp: &Sipp) -> Peer {
    let (peer, _) = call(c, sipp).await;
    take_accepted(c, &peer).await;
    peer.wait_connected(WAIT).await.expect("connected");
    peer
}

/// `accepted` comes with the answer to the browser's offer: the peer takes it and starts its
/// media.
async fn take_accepted(c: &mut Client, peer: &Peer) {
    let accepted = sip_event(c, "accepted").await;
    peer.set_answer(accepted["jsep"]["sdp"].as_str().expect("the answer")).await.expect("set answer");
    peer.start_media().await;
}

/// A 486 from the phone: `hangup` with its code and reason, and the 486 is ACKed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_phone_ends_the_call() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_busy.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let (peer, _) = call(&mut c, &sipp).await;
    let hangup = both_hangups(&mut c).await;
    assert_eq!(
        (&result(&hangup)["code"], &result(&hangup)["reason"]),
        (&json!(486), &json!("Busy Here")),
        "{hangup}"
    );
    // The answer's Reason header, as Janus gives it.
    assert_eq!(
        [&result(&hangup)["reason_header_protocol"], &result(&hangup)["reason_header_cause"]],
        [&json!("SIP"), &json!("486")],
        "{hangup}"
    );
    sipp.passes().await;
    peer.close().await.ok();
}

/// `hangup` while the phone rings sends CANCEL; its 487 ends the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hangup_while_ringing_cancels() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_cancelled.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let (peer, _) = call(&mut c, &sipp).await;
    sip_event(&mut c, "ringing").await;
    hang_up_ending(&mut c, 487).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `message` while the phone rings goes in the early dialog its 180 made (its Contact, its
/// To-tag, the call's Call-ID), as Janus sends it; the phone's 200 is `messagedelivery`. The
/// phone then answers: the ACK carries the INVITE's CSeq number, not the MESSAGE's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_while_ringing_goes_in_the_early_dialog() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_early_message.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let (peer, calling) = call(&mut c, &sipp).await;
    sip_event(&mut c, "ringing").await;
    let r = c.send(json!({"request": "message", "content": "hello while ringing"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "messagesent", "{r}");
    assert_eq!(r["plugindata"]["data"]["call_id"], calling["plugindata"]["data"]["call_id"], "{r}");
    let delivery = c.event("messagedelivery", |d| result(d)["event"] == "messagedelivery").await;
    assert_eq!(result(&delivery)["code"], 200, "{delivery}");
    sip_event(&mut c, "accepted").await;
    hang_up_ending(&mut c, 200).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// The phone hangs up: its BYE gets 200 and the browser side hears `hangup`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_hangs_up() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_hangs_up.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let (peer, _) = call(&mut c, &sipp).await;
    take_accepted(&mut c, &peer).await;
    let hangup = both_hangups(&mut c).await;
    assert_eq!(result(&hangup)["code"], 200, "{hangup}");
    // The BYE's Reason header, its text unquoted (Janus's `reason_header*`).
    assert_eq!(
        [&result(&hangup)["reason_header_protocol"], &result(&hangup)["reason_header_cause"]],
        [&json!("Q.850"), &json!("16")],
        "{hangup}"
    );
    assert_eq!(result(&hangup)["reason_header"], "Normal call clearing", "{hangup}");
    sipp.passes().await;
    peer.close().await.ok();
}

/// An INVITE for a user already ringing is refused with 486 and told as `missed_call`; the
/// ringing call is declined: `declining`, `hangup` 486, and the phone gets the 486.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_users_miss_calls_and_decline() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let first = Sipp::start("uac_refused.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let call_id = incoming["plugindata"]["data"]["call_id"].clone();
    assert_eq!(result(&incoming["plugindata"]["data"])["call_id"], call_id, "{incoming}");
    let callee = format!("sip:alice@127.0.0.1:{sip_port}");
    assert_eq!(result(&incoming["plugindata"]["data"])["callee"], callee.as_str(), "{incoming}");
    let second = Sipp::start("uac_refused.xml", Some(sip_port), "alice");
    let missed = c.event("missed_call", |d| result(d)["event"] == "missed_call").await;
    assert_eq!(result(&missed)["displayname"], "\"Bob Phone\"", "{missed}");
    assert!(
        result(&missed)["caller"].as_str().is_some_and(|u| u.starts_with("sip:bob@127.0.0.1:")),
        "{missed}"
    );
    second.passes().await;
    let r = c.send(json!({"request": "decline"}), None).await;
    let declining = &r["plugindata"]["data"];
    assert_eq!(
        (&result(declining)["event"], &result(declining)["code"]),
        (&json!("declining"), &json!(486)),
        "{r}"
    );
    let hangup = c.event("hangup", |d| result(d)["event"] == "hangup").await;
    assert_eq!(
        (&result(&hangup)["code"], &result(&hangup)["reason"]),
        (&json!(486), &json!("Busy Here")),
        "{hangup}"
    );
    first.passes().await;
}

/// The phone gives up while the call rings (CANCEL): 200 for it, 487 for the INVITE, and the
/// browser hears `hangup` 487 (as Janus's; it heard nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_gives_up_ends_the_ringing_call() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let caller = Sipp::start("uac_cancels.xml", Some(sip_port), "alice");
    // (The `incomingcall` before it is not waited for: under load the caller may give up first.)
    let hangup = c.event("hangup", |d| result(d)["event"] == "hangup").await;
    assert_eq!(
        (&result(&hangup)["code"], &result(&hangup)["reason"]),
        (&json!(487), &json!("Request Terminated")),
        "{hangup}"
    );
    assert_eq!(result(&hangup)["reason_header"], "Caller gave up", "{hangup}");
    caller.passes().await;
}

/// Requests a client can get wrong, with Janus's codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_janus_codes() {
    let (gw, _) = gateway();
    let mut c = Client::new(&gw, SIP).await;
    let error = |r: &Value| r["plugindata"]["data"]["error_code"].clone();
    let r = c.send(json!({"request": "register", "username": "alice"}), None).await;
    assert_eq!(error(&r), 446, "{r}");
    let r = c.send(json!({"request": "register", "username": "sip:alice@127.0.0.1"}), None).await;
    assert_eq!(error(&r), 443, "{r}");
    let r = c.send(json!({"request": "unregister"}), None).await;
    assert_eq!(error(&r), 447, "{r}");
    let r = c.send(json!({"request": "call", "uri": "sip:bob@127.0.0.1"}), None).await;
    assert_eq!(error(&r), 447, "register first: {r}");
    let r = c.send(json!({"request": "accept"}), None).await;
    assert_eq!(error(&r), 447, "{r}");
    let r = c.send(json!({"request": "foo"}), None).await;
    assert_eq!(error(&r), 442, "{r}");
    let r = c.send(json!({"request": "register", "username": 5}), None).await;
    assert_eq!(error(&r), 444, "{r}");
    let r = c
        .send(json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest"}), None)
        .await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let r = c.send(json!({"request": "call", "uri": "sip:bob@127.0.0.1"}), None).await;
    assert_eq!(error(&r), 448, "no offer: {r}");
    let r = c.send(json!({"request": "call", "uri": "bob"}), None).await;
    assert_eq!(error(&r), 446, "{r}");
    // Janus ignores a hangup, hold, unhold or decline without a call.
    let unknown = json!({"request": "foo"});
    for ignored in ["hangup", "hold", "unhold", "decline"] {
        let r = c.send_ignored(json!({"request": ignored, "code": 99}), unknown.clone()).await;
        assert_eq!(error(&r), 442, "{r}");
    }
    // The call comes first, then the fields, as in Janus (whose error_code is left 0 there).
    for request in ["info", "dtmf_info", "update"] {
        let r = c.send(json!({"request": request}), None).await;
        assert_eq!(error(&r), 447, "{request} without a call: {r}");
    }
    let r = c.send(json!({"request": "message", "content": "hi"}), None).await;
    assert_eq!(error(&r), 447, "a message without a uri goes in the call: {r}");
}

/// `register` checks in Janus 1.1.2's order and with its codes; `refresh` registers again
/// with new values where a second `register` is 445; `user_agent` and `contact_params` reach
/// the REGISTER.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_checks_as_janus_does() {
    let (gw, _) = gateway();
    let mut c = Client::new(&gw, SIP).await;
    let error =
        |r: &Value| (r["plugindata"]["data"]["error_code"].clone(), r["plugindata"]["data"]["error"].clone());
    let alice = "sip:alice@127.0.0.1";
    let cases = [
        (
            json!({"request": "Register", "username": alice, "type": "nonsense"}),
            443,
            "Missing element (secret or ha1_secret)",
        ),
        (
            json!({"request": "register", "username": alice, "secret": "a", "ha1_secret": "b"}),
            444,
            "Conflicting elements specified (secret and ha1_secret)",
        ),
        (json!({"request": "register", "username": alice, "proxy": "foo"}), 446, "Invalid proxy address foo"),
        (
            json!({"request": "register", "username": "bad", "outbound_proxy": "foo"}),
            446,
            "Invalid outbound_proxy address foo",
        ),
        (
            json!({"request": "register", "username": alice, "master_id": "x"}),
            444,
            "Invalid element type (master_id should be an integer)",
        ),
        (
            json!({"request": "register", "username": alice, "type": "guest", "contact_params": "x"}),
            444,
            "Invalid element type (contact_params should be an object)",
        ),
        (
            json!({"request": "register", "username": alice, "type": "guest", "send_register": false}),
            444,
            "Conflicting elements: send_register cannot be true if guest is true",
        ),
        (
            json!({"request": "register", "username": alice, "send_register": false}),
            443,
            "Missing element (secret or ha1_secret)",
        ),
        (
            json!({"request": "register", "username": alice, "type": "guest", "contact_params": {"a": "b>\r\nX: y"}}),
            444,
            "Invalid element (contact_params: a)",
        ),
        (
            json!({"request": "register", "username": alice, "type": "guest", "refresh": true}),
            499,
            "Nothing to refresh: the handle never registered",
        ),
        (json!({"request": 5}), 444, "Invalid element type (request should be a string)"),
        (json!({"request": "unregister"}), 447, "Wrong state (register first)"),
    ];
    for (body, code, text) in cases {
        let r = c.send(body.clone(), None).await;
        assert_eq!(error(&r), (json!(code), json!(text)), "{body}: {r}");
    }
    let r =
        c.send(json!({"request": "register", "username": alice, "type": "guest", "proxy": null}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "a null proxy is none: {r}");
}

/// A UDP relay on loopback between the gateway and a phone that loses, once each, the first
/// datagram starting with each of `lose` (`"INVITE"`, `"SIP/2.0 200"`): returns its port and
/// how many it lost. Datagrams from `phone` go to whoever last sent to the relay, others to
/// `phone`.
async fn lossy_relay(
    phone: u16,
    lose: &'static [&'static str],
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("relay");
    let port = socket.local_addr().expect("relay address").port();
    let lost = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = lost.clone();
    let phone: std::net::SocketAddr = ([127, 0, 0, 1], phone).into();
    tokio::spawn(async move {
        let mut pending: Vec<&str> = lose.to_vec();
        let mut other = None;
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let data = &buf[..n];
            if let Some(i) = pending.iter().position(|p| data.starts_with(p.as_bytes())) {
                pending.remove(i);
                counter.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            let to = if from == phone {
                match other {
                    Some(to) => to,
                    None => continue,
                }
            } else {
                other = Some(from);
                phone
            };
            let _ = socket.send_to(data, to).await;
        }
    });
    (port, lost)
}

/// Lost datagrams are sent again: our INVITE (timer A) and our 200 to an incoming INVITE
/// (timer G, until the ACK) each get through on their second try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_requests_and_answers_are_sent_again() {
    use std::sync::atomic::Ordering;
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    // Outgoing: the first INVITE is lost on its way to the phone.
    let sipp = Sipp::start("uas_answer.xml", None, "x");
    let (relay, lost) = lossy_relay(sipp.port, &["INVITE"]).await;
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{relay}");
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    sip_event(&mut c, "accepted").await;
    assert_eq!(lost.load(Ordering::SeqCst), 1, "the first INVITE was lost");
    hang_up(&mut c).await;
    c.event("hangup", |d| result(d)["event"] == "hangup").await;
    sipp.passes().await;
    peer.close().await.ok();

    // Incoming: our first 200 is lost on its way to the phone.
    let (relay, lost) = lossy_relay(sip_port, &["SIP/2.0 200"]).await;
    let mut c = guest(&gw, "carol").await;
    let sipp = Sipp::start("uac_call.xml", Some(relay), "carol");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    hang_up(&mut c).await;
    c.event("hangup", |d| result(d)["event"] == "hangup").await;
    assert_eq!(lost.load(Ordering::SeqCst), 1, "the first 200 was lost");
    sipp.passes().await;
    peer.close().await.ok();
}

/// MESSAGE both ways outside a call (`messagesent` and `messagedelivery`; `message`), and in a
/// call INFO both ways (the phone's DTMF digit as `info`; `dtmf_info` to it, `dtmfsent`) and a
/// MESSAGE in the dialog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_info_both_ways() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uas_message.xml", None, "x");
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let r = c.send(json!({"request": "message", "uri": uri, "content": "hi bob"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "messagesent", "{r}");
    let delivery = c.event("messagedelivery", |d| result(d)["event"] == "messagedelivery").await;
    assert_eq!(
        (&result(&delivery)["code"], &result(&delivery)["reason"]),
        (&json!(200), &json!("OK")),
        "{delivery}"
    );
    sipp.passes().await;

    let sipp = Sipp::start("uac_message.xml", Some(sip_port), "alice");
    let m = c.event("message", |d| result(d)["event"] == "message").await;
    assert_eq!(result(&m)["content"], "Hello from the phone\r\n", "{m}");
    assert_eq!(result(&m)["content_type"], "text/plain", "{m}");
    assert_eq!(result(&m)["displayname"], "\"Bob Phone\"", "{m}");
    sipp.passes().await;

    let r = c.send(json!({"request": "info", "type": "text/plain", "content": "x"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "not in a call: {r}");
    let sipp = Sipp::start("uac_call_info.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    let info = c.event("info", |d| result(d)["event"] == "info").await;
    assert_eq!(result(&info)["type"], "application/dtmf-relay", "{info}");
    assert_eq!(result(&info)["content"], "Signal=7\r\nDuration=160\r\n", "{info}");
    assert_eq!(info["call_id"], incoming["plugindata"]["data"]["call_id"], "{info}");
    let r = c.send(json!({"request": "dtmf_info", "digit": "x"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 444, "{r}");
    let r = c.send(json!({"request": "dtmf_info", "digit": "3", "duration": 200}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "dtmfsent", "{r}");
    let r = c.send(json!({"request": "message", "content": "in the call"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "messagesent", "{r}");
    c.event("messagedelivery", |d| result(d)["event"] == "messagedelivery").await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `hold` re-INVITEs the phone with a=sendonly (`holding`), `unhold` with a=sendrecv
/// (`resuming`); the phone checks each offer's direction and tells with a MESSAGE when each
/// re-INVITE is done. Audio still comes back after the unhold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_unhold_reinvite_the_phone() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_hold.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let peer = call_up(&mut c, &sipp).await;
    let r = c.send(json!({"request": "hold", "direction": "sideways"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 444, "{r}");
    let r = c.send(json!({"request": "hold"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "holding", "{r}");
    let held = c.event("the phone's 'held'", |d| result(d)["event"] == "message").await;
    assert_eq!(result(&held)["content"], "held\r\n", "{held}");
    let r = c.send(json!({"request": "unhold"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "resuming", "{r}");
    c.event("the phone's 'resumed'", |d| {
        result(d)["event"] == "message" && result(d)["content"] == "resumed\r\n"
    })
    .await;
    echoed(&peer, 25).await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// The phone puts the call on hold: its re-INVITE (a=sendonly) is answered a=recvonly at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_holds_the_call() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uac_holds.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    c.event("the phone's 'on hold'", |d| result(d)["event"] == "message").await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `call` with `srtp: sdes_mandatory` to a phone whose media is this test's own socket with
/// webrtc-rs's SRTP (an implementation no one here wrote): the offer is RTP/SAVP with
/// a=crypto (the phone checks), the phone's SRTP reaches the browser peer decrypted, and the
/// peer's audio reaches the phone in SRTP that decrypts with the key the gateway offered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdes_srtp_with_an_independent_implementation() {
    use rtc::srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80 as Profile;
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let phone = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind"));
    let phone_key: Vec<u8> = (0..30u8).map(|i| i.wrapping_mul(13).wrapping_add(7)).collect();
    let (rtp_port, key) =
        (phone.local_addr().expect("addr").port().to_string(), data_encoding::BASE64.encode(&phone_key));
    let sipp = Sipp::start_with("uas_srtp.xml", None, "x", &[("rtpport", &rtp_port), ("key", &key)]);
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let body = json!({"request": "call", "uri": uri, "srtp": "sdes_mandatory"});
    let r = c.send(body, Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    take_accepted(&mut c, &peer).await;
    peer.wait_connected(WAIT).await.expect("connected");
    let handed = c.event("the gateway's key", |d| result(d)["event"] == "message").await;
    let gw_key = result(&handed)["content"].as_str().expect("content").trim().to_owned();
    let gw_key = data_encoding::BASE64.decode(gw_key.as_bytes()).expect("a base64 key");

    // The peer's audio reaches the phone in SRTP; the phone talks back to where it comes from
    // (the leg's address, which the gateway's INVITE gave).
    let mut rx = crate::srtp_context(&gw_key, Profile);
    let mut phone_srtp = Some(crate::srtp_context(&phone_key, Profile));
    let mut talking = None;
    let mut buf = [0u8; 2048];
    for _ in 0..25 {
        let (n, leg) =
            tokio::time::timeout(WAIT, phone.recv_from(&mut buf)).await.expect("SRTP").expect("recv");
        let plain = rx.decrypt_rtp(&buf[..n]).expect("authenticates with the gateway's key");
        let (from, tag, ..) = crate::peer::read_marker(&plain[12..]).expect("the peer's marker");
        assert_eq!((from, tag), (peer.nonce(), b'A'));
        assert!(crate::peer::read_marker(&buf[12..n - 10]).is_none(), "the payload went out in the clear");
        talking.get_or_insert_with(|| {
            crate::phone_talks_in(0, phone.clone(), leg, [4, 3, 2, 1], phone_srtp.take())
        });
    }
    peer.wait_until("the phone's SRTP audio at the peer", WAIT, |s| {
        s.audio.foreign_markers.get(&[4, 3, 2, 1]).copied().unwrap_or(0) >= 25
    })
    .await
    .unwrap_or_else(|e| panic!("{}", e.0));
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `update` with the browser's new offer (an ICE restart): `updating`, a re-INVITE the phone
/// answers, then `accepted` with the answer for the browser; the audio goes on over the new
/// ICE session. Without an offer it is 448.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_reinvites_the_phone_with_the_browsers_new_offer() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_reinvited.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let peer = call_up(&mut c, &sipp).await;
    echoed(&peer, 10).await;
    let r = c.send(json!({"request": "update"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 448, "{r}");
    let offer = peer.create_restart_offer(WAIT).await.expect("the new offer");
    let r = c.send(json!({"request": "update"}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "updating", "{r}");
    let accepted = sip_event(&mut c, "accepted").await;
    peer.set_answer(accepted["jsep"]["sdp"].as_str().expect("the new answer")).await.expect("set it");
    let before = peer.stats().recv(Kind::Audio).valid_markers;
    echoed(&peer, before + 25).await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `incoming_header_prefixes` shows the phone's non-standard headers that match (in any
/// case) in `incomingcall` and `hangup`; `headers` of `accept` go into the 200 (the phone
/// checks), and one that would inject a header line is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_headers_both_ways() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = Client::new(&gw, SIP).await;
    let register = json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest",
                          "incoming_header_prefixes": ["x-"]});
    let r = c.send(register, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let sipp = Sipp::start("uac_headers.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    assert_eq!(result(&incoming["plugindata"]["data"])["headers"], json!({"X-Account": "42"}), "{incoming}");
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let headers = json!({"X-Answered-By": "alice", "X-Evil": "a\r\nVia: SIP/2.0/UDP 10.0.0.1"});
    let r = c
        .send(
            json!({"request": "accept", "headers": headers}),
            Some(json!({"type": "answer", "sdp": answer})),
        )
        .await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    let hangup = c.event("the phone's BYE", |d| result(d)["event"] == "hangup").await;
    assert_eq!(result(&hangup)["headers"], json!({"X-Why": "done"}), "{hangup}");
    let r = c.send(json!({"request": "accept", "headers": "X-A: b"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 444, "{r}");
    sipp.passes().await;
    peer.close().await.ok();
}

/// A helper handle of `master`'s account (`type: helper` with its `master_id`).
async fn helper(gw: &Gateway, master_id: &Value) -> Client {
    let mut c = Client::new(gw, SIP).await;
    let body = json!({"request": "register", "type": "helper", "username": "sip:alice@127.0.0.1",
                      "master_id": master_id});
    let r = c.send(body, None).await;
    let registered = result(&r["plugindata"]["data"]);
    assert_eq!(
        (&registered["event"], &registered["helper"], &registered["master_id"]),
        (&json!("registered"), &json!(true), master_id),
        "{r}"
    );
    c
}

/// Attended transfer: the account has a call to one phone on its handle and one to another
/// on a helper (`call_id` given); `transfer` with `replace` sends the first phone a REFER whose
/// Refer-To carries a Replaces for the helper's call (the phone checks), `transferring`, and
/// the phone's NOTIFYs come as `notify`. Errors: a helper of no account, an unknown `replace`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attended_transfer_refers_with_replaces() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let (transferee, target) =
        (Sipp::start("uas_refer.xml", None, "x"), Sipp::start("uas_answer.xml", None, "x"));
    let (mut c, master_id) = guest_account(&gw, "alice").await;
    let mut lost = Client::new(&gw, SIP).await;
    let body =
        json!({"request": "register", "type": "helper", "username": "sip:x@127.0.0.1", "master_id": 1});
    let r = lost.send(body, None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 453, "{r}");
    let mut h = helper(&gw, &master_id).await;

    let (peer, _) = call(&mut c, &transferee).await;
    let accepted = sip_event(&mut c, "accepted").await;
    peer.set_answer(accepted["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");
    let peer2 = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer2.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", target.port);
    let body = json!({"request": "call", "uri": uri, "call_id": "replaced-call-7f3"});
    let r = h.send(body, Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    let accepted = sip_event(&mut h, "accepted").await;
    peer2.set_answer(accepted["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");

    let r = c.send(json!({"request": "transfer", "uri": uri, "replace": "no-such-call"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 454, "{r}");
    let r = c.send(json!({"request": "transfer", "uri": uri, "replace": "replaced-call-7f3"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "transferring", "{r}");
    for (content, substate) in [("SIP/2.0 100 Trying", "active"), ("SIP/2.0 200 OK", "terminated")] {
        let n = c.event("a notify", |d| result(d)["event"] == "notify").await;
        let n = result(&n);
        assert_eq!((&n["notify"], &n["substate"]), (&json!("refer"), &json!(substate)), "{n}");
        assert!(n["content"].as_str().is_some_and(|s| s.starts_with(content)), "{n}");
    }
    for client in [&mut c, &mut h] {
        hang_up(client).await;
    }
    transferee.passes().await;
    target.passes().await;
    peer.close().await.ok();
    peer2.close().await.ok();
}

/// A blind transfer asked of us: the phone's REFER is accepted (`transfer` with `refer_id`,
/// `refer_to` and `referred_by`); a helper handle calls the target with that `refer_id`, and
/// the phone gets NOTIFYs of the call's 100, 180 and 200 (it checks them). Declining an
/// unknown transfer is 447.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_asked_of_us_is_followed_by_a_helper() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let carol = Sipp::start("uas_answer.xml", None, "x");
    let target = format!("sip:carol@127.0.0.1:{}", carol.port);
    let (mut c, master_id) = guest_account(&gw, "alice").await;
    let transferor = Sipp::start_with("uac_refers.xml", Some(sip_port), "alice", &[("target", &target)]);
    let incoming = sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    let transfer = c.event("the transfer", |d| result(d)["event"] == "transfer").await;
    let t = result(&transfer);
    assert_eq!(t["refer_to"], target.as_str(), "{transfer}");
    assert!(t["referred_by"].as_str().is_some_and(|b| b.contains("sip:bob@127.0.0.1")), "{transfer}");
    let refer_id = t["refer_id"].clone();
    assert!(refer_id.as_u64().is_some_and(|id| id > 0), "{transfer}");
    let r = c.send(json!({"request": "decline", "refer_id": 12345}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");

    let mut h = helper(&gw, &master_id).await;
    let peer2 = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer2.create_offer(WAIT).await.expect("offer");
    let body = json!({"request": "call", "uri": target, "refer_id": refer_id});
    let r = h.send(body, Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    let accepted = sip_event(&mut h, "accepted").await;
    peer2.set_answer(accepted["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");
    peer2.start_media().await;
    echoed(&peer2, 10).await;
    c.event("the transferor's BYE", |d| result(d)["event"] == "hangup").await;
    hang_up(&mut h).await;
    transferor.passes().await;
    carol.passes().await;
    peer.close().await.ok();
    peer2.close().await.ok();
}

/// An incoming call for an account whose handle is ringing goes to its free helper
/// (`incomingcall` there); with every handle busy, the next is a `missed_call`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_account_rings_its_helper() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let (mut c, master_id) = guest_account(&gw, "alice").await;
    let mut h = helper(&gw, &master_id).await;
    let first = Sipp::start("uac_refused.xml", Some(sip_port), "alice");
    sip_event(&mut c, "incomingcall").await;
    let second = Sipp::start("uac_refused.xml", Some(sip_port), "alice");
    sip_event(&mut h, "incomingcall").await;
    let third = Sipp::start("uac_refused.xml", Some(sip_port), "alice");
    c.event("missed_call", |d| result(d)["event"] == "missed_call").await;
    third.passes().await;
    for client in [&mut c, &mut h] {
        let r = client.send(json!({"request": "decline"}), None).await;
        assert_eq!(result(&r["plugindata"]["data"])["event"], "declining", "{r}");
    }
    first.passes().await;
    second.passes().await;
}

/// `subscribe` to a presence server that challenges with 401: `subscribing`, the digest
/// answered, `subscribe_succeeded`; its NOTIFY is `notify` with the document; `unsubscribe`
/// sends Expires 0 (`unsubscribing`) and the last NOTIFY ends it. Unsubscribing from a
/// package never subscribed is 447; without `event`, 443.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_and_unsubscribe_with_digest() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let server = Sipp::start("uas_subscribe.xml", None, "x");
    let mut c = Client::new(&gw, SIP).await;
    let register = json!({"request": "register", "username": "sip:alice@127.0.0.1", "type": "guest",
                          "secret": "secret"});
    let r = c.send(register, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "registered", "{r}");
    let r = c.send(json!({"request": "subscribe"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 443, "{r}");
    let r = c.send(json!({"request": "unsubscribe", "event": "presence"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");
    let to = format!("sip:bob@127.0.0.1:{}", server.port);
    let body = json!({"request": "subscribe", "event": "presence", "to": to,
                      "accept": "application/pidf+xml", "subscribe_ttl": 600});
    let r = c.send(body, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "subscribing", "{r}");
    let ok = c.event("subscribe_succeeded", |d| result(d)["event"] == "subscribe_succeeded").await;
    assert_eq!(result(&ok)["code"], 200, "{ok}");
    let n = c.event("the NOTIFY", |d| result(d)["event"] == "notify").await;
    let n = result(&n);
    assert_eq!(
        (&n["notify"], &n["substate"], &n["content-type"]),
        (&json!("presence"), &json!("active"), &json!("application/pidf+xml")),
        "{n}"
    );
    assert!(n["content"].as_str().is_some_and(|c| c.contains(">open<")), "{n}");
    let r = c.send(json!({"request": "unsubscribe", "event": "presence"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "unsubscribing", "{r}");
    let n = c.event("the last NOTIFY", |d| result(d)["event"] == "notify").await;
    assert_eq!(result(&n)["substate"], "terminated", "{n}");
    server.passes().await;

    let refuser = Sipp::start("uas_bad_event.xml", None, "x");
    let to = format!("sip:bob@127.0.0.1:{}", refuser.port);
    let r = c.send(json!({"request": "subscribe", "event": "dialog", "to": to}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "subscribing", "{r}");
    let failed = c.event("subscribe_failed", |d| result(d)["event"] == "subscribe_failed").await;
    assert_eq!(
        (&result(&failed)["code"], &result(&failed)["reason"]),
        (&json!(489), &json!("Bad Event")),
        "{failed}"
    );
    let r = c.send(json!({"request": "unsubscribe", "event": "dialog"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");
    refuser.passes().await;
}

/// An INVITE without SDP: `incomingcall` without an offer; `accept` with the browser's offer
/// (`accepting`) puts our offer in the 200 (the phone checks it), the phone's ACK answers it
/// (`accepted` with the browser's answer), and audio comes back through the phone's echo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_without_sdp_gets_our_offer() {
    offerless_call("uac_offerless.xml", false).await;
}

/// As [`an_invite_without_sdp_gets_our_offer`], with `progress` first, as Janus does it: our
/// offer goes in a 183 (`progressed`; the phone checks it), then `accept` without a JSEP sends
/// the 200 with it again, and the ACK answers it; a second `progress` is 447.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_puts_our_offer_in_a_183() {
    offerless_call("uac_offerless_early.xml", true).await;
}

/// A phone calls alice without SDP (`scenario`); she answers with the browser's offer, after
/// `progress` with it when `early` (then the 183 and the 200 must carry the same offer).
async fn offerless_call(scenario: &str, early: bool) {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let mut sipp = Sipp::start(scenario, Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    assert!(incoming["jsep"].is_null(), "{incoming}");
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let accept = if early {
        let r = c.send(json!({"request": "progress"}), Some(offer.clone())).await;
        assert_eq!(result(&r["plugindata"]["data"])["event"], "progressed", "{r}");
        let r = c.send(json!({"request": "progress"}), Some(offer.clone())).await;
        assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");
        c.send(json!({"request": "accept"}), None).await
    } else {
        c.send(json!({"request": "accept"}), Some(offer)).await
    };
    assert_eq!(result(&accept["plugindata"]["data"])["event"], "accepting", "{accept}");
    take_accepted(&mut c, &peer).await;
    peer.wait_connected(WAIT).await.expect("connected");
    echoed(&peer, 25).await;
    hang_up(&mut c).await;
    sipp.ends_passing().await;
    if early {
        // The offer the 200 carries is the 183's (its o= line, its m= line).
        let offer_of = |m: &str| -> Vec<String> {
            m.lines().filter(|l| l.starts_with("o=") || l.starts_with("m=")).map(str::to_owned).collect()
        };
        let (early, ok) = (sipp.received("SIP/2.0 183"), sipp.received("SIP/2.0 200"));
        let (early, ok) = (early.first().expect("the 183"), ok.first().expect("the 200"));
        assert!(!offer_of(early).is_empty() && offer_of(early) == offer_of(ok), "183:\n{early}\n200:\n{ok}");
    }
    peer.close().await.ok();
}

/// With `keepalive_interval`, a registered account sends its registrar keep-alive OPTIONS
/// (the registrar waits for two).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_account_sends_keepalives() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway_with("\tkeepalive_interval = 1");
    let registrar = Sipp::start("register_keepalive.xml", None, "x");
    let _alice = registered_at(&gw, &registrar).await;
    registrar.passes().await;
}

/// `sdp_ip` puts that address in our SDP's `c=` and `o=` lines (the phone checks); `reset`
/// answers `reset`; `send_ringing` rings the caller again (it waits for two 180s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdp_ip_reset_and_send_ringing() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway_with("\tsdp_ip = \"192.0.2.10\"");
    let busy = Sipp::start("uas_busy_checks_sdp_ip.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let (peer, _) = call(&mut c, &busy).await;
    let hangup = c.event("hangup", |d| result(d)["event"] == "hangup").await;
    assert_eq!(result(&hangup)["code"], 486, "{hangup}");
    busy.passes().await;
    peer.close().await.ok();

    let r = c.send(json!({"request": "reset"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "reset", "{r}");
    let r = c.send(json!({"request": "send_ringing"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");
    let caller = Sipp::start("uac_rung_twice.xml", Some(sip_port), "alice");
    sip_event(&mut c, "incomingcall").await;
    // With a header of ours, so that the phone can tell it from the first 180 again.
    c.send_acked(json!({"request": "send_ringing", "headers": {"X-Ring": "2"}})).await;
    let r = c.send(json!({"request": "decline"}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "declining", "{r}");
    caller.passes().await;
}

/// `rtp_forward` in a call: the browser's audio (`audio`) and the phone's (`peer_audio`, here
/// the browser's echoed, with the SSRC and payload type asked for) reach plain sockets;
/// `listforwarders` lists them, `stop_rtp_forward` stops one (the other goes on), an unknown
/// `stream_id` is 455, a `type` of nothing is 444, and outside a call it is 447.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_forwarders_copy_both_sides_of_a_call() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let mut c = guest(&gw, "alice").await;
    let browser = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = |s: &tokio::net::UdpSocket| s.local_addr().expect("addr").port();
    let streams = json!([{"type": "audio", "host": "127.0.0.1", "port": port(&browser)},
                         {"type": "peer_audio", "host": "127.0.0.1", "port": port(&phone), "ssrc": 1234, "pt": 99}]);
    let r = c.send(json!({"request": "rtp_forward", "streams": streams.clone()}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");
    let sipp = Sipp::start("uas_answer.xml", None, "x");
    let peer = call_up(&mut c, &sipp).await;
    let bad = json!([{"type": "screen", "host": "127.0.0.1", "port": 9}]);
    let r = c.send(json!({"request": "rtp_forward", "streams": bad}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 444, "{r}");
    let r = c.send(json!({"request": "rtp_forward", "streams": streams}), None).await;
    let done = result(&r["plugindata"]["data"]);
    assert_eq!(done["event"], "rtp_forward", "{r}");
    let ids = crate::forwarder_ids(done);
    assert_eq!(ids.len(), 2, "{r}");
    let nonce = peer.nonce();
    let mine = |p: &crate::Rtp| crate::peer::read_marker(&p.payload).is_some_and(|m| m.0 == nonce);
    let got =
        crate::receive_rtp(&browser, "the browser's audio", |p| p.iter().filter(|p| mine(p)).count() >= 10)
            .await;
    assert!(got.iter().all(|p| p.pt == 0), "PCMU as negotiated");
    let got =
        crate::receive_rtp(&phone, "the phone's audio", |p| p.iter().filter(|p| mine(p)).count() >= 10).await;
    assert!(got.iter().all(|p| (p.ssrc, p.pt) == (1234, 99)), "the SSRC and payload type asked for");
    let r = c.send(json!({"request": "listforwarders"}), None).await;
    let list = result(&r["plugindata"]["data"]);
    assert_eq!(
        (&list["event"], list["rtp_forwarders"].as_array().map(Vec::len)),
        (&json!("forwarders"), Some(2)),
        "{r}"
    );
    let r = c.send(json!({"request": "stop_rtp_forward", "stream_id": ids[0]}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "stop_rtp_forward", "{r}");
    let r = c.send(json!({"request": "stop_rtp_forward", "stream_id": ids[0]}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 455, "{r}");
    crate::wait_quiet(&browser, "the stopped forwarder").await;
    crate::receive_rtp(&phone, "the phone's audio still", |p| p.len() >= 10).await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// The phone refreshes the session with a re-INVITE without SDP: our 200 carries our SDP as an
/// offer (a=sendrecv; the phone checks), its ACK the answer, and the audio goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_without_sdp_gets_our_offer() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uac_refresh.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    peer.start_media().await;
    c.event("the phone's 'refreshed'", |d| result(d)["event"] == "message").await;
    let before = peer.stats().recv(Kind::Audio).valid_markers;
    echoed(&peer, before + 25).await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `keyframe` in a video call: `peer` sends the phone (this test's sockets) an RTCP PLI for
/// the video it sends, `user` one to the browser peer; both answer `keyframesent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyframe_asks_either_side() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let bind = || async { tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind") };
    let (audio, video, video_rtcp) = (bind().await, bind().await, bind().await);
    let port = |s: &tokio::net::UdpSocket| s.local_addr().expect("addr").port().to_string();
    let vars = [("aport", port(&audio)), ("vport", port(&video)), ("vrtcp", port(&video_rtcp))];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let sipp = Sipp::start_with("uas_video.xml", None, "x", &vars);
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), true, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let r =
        c.send(json!({"request": "call", "uri": uri}), Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    take_accepted(&mut c, &peer).await;
    peer.wait_connected(WAIT).await.expect("connected");

    // The phone hears the browser's video and sends its own, so the leg knows its SSRC; a
    // request may reach the host before the phone's first packet: it is asked again until a
    // PLI comes (within WAIT).
    let video = std::sync::Arc::new(video);
    let mut buf = [0u8; 2048];
    let (_, leg) = tokio::time::timeout(WAIT, video.recv_from(&mut buf)).await.expect("video").expect("recv");
    let _sending = crate::phone_talks_in(96, video.clone(), leg, [7, 7, 7, 1], None);
    let deadline = tokio::time::Instant::now() + WAIT;
    'asked: loop {
        assert!(tokio::time::Instant::now() < deadline, "no PLI reached the phone");
        let r = c.send(json!({"request": "keyframe", "peer": true}), None).await;
        assert_eq!(result(&r["plugindata"]["data"])["event"], "keyframesent", "{r}");
        while let Ok(got) =
            tokio::time::timeout(std::time::Duration::from_millis(500), video_rtcp.recv_from(&mut buf)).await
        {
            let (n, _) = got.expect("recv");
            // RTCP PSFB (206) FMT 1, for the phone's SSRC.
            if n >= 12 && buf[1] == 206 && buf[0] & 0x1f == 1 && buf[8..12] == 0x5151u32.to_be_bytes() {
                break 'asked;
            }
        }
    }
    let before = peer.stats().rtcp.pli;
    let r = c.send(json!({"request": "keyframe", "user": true}), None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "keyframesent", "{r}");
    peer.wait_until("a PLI at the browser", WAIT, |s| s.rtcp.pli > before)
        .await
        .unwrap_or_else(|e| panic!("{}", e.0));
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// With `behind_nat`, the address the registrar saw (its 200's Via `received` and `rport`)
/// becomes the Contact: the account registers again with it (the registrar checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nat_registers_the_address_the_registrar_saw() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway_with("\tbehind_nat = true");
    let registrar = Sipp::start("register_nat.xml", None, "x");
    let _alice = registered_at(&gw, &registrar).await;
    registrar.passes().await;
}

/// `local_media_ip`: the call's legs bind there and our SDP gives it (the phone checks); the
/// browser's audio reaches the phone from that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_media_ip_binds_the_legs() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway_with("\tlocal_media_ip = \"127.0.0.2\"");
    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let aport = phone.local_addr().expect("addr").port().to_string();
    let sipp = Sipp::start_with("uas_local_media.xml", None, "x", &[("aport", &aport)]);
    let mut c = guest(&gw, "alice").await;
    let (peer, _) = call(&mut c, &sipp).await;
    take_accepted(&mut c, &peer).await;
    let mut buf = [0u8; 2048];
    let mut heard = 0;
    while heard < 10 {
        let (n, from) =
            tokio::time::timeout(WAIT, phone.recv_from(&mut buf)).await.expect("audio").expect("recv");
        assert_eq!(from.ip().to_string(), "127.0.0.2", "the leg's address");
        if crate::peer::read_marker(&buf[12..n]).is_some_and(|m| m.0 == peer.nonce()) {
            heard += 1;
        }
    }
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// With `autoaccept_reinvites: false`, the phone's re-INVITE (its hold) waits for the browser:
/// `updatingcall` with a new offer, and `update` with the browser's answer (`updated`) lets our
/// 200 go (a=recvonly; the phone checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reinvite_waits_for_the_browser_without_autoaccept() {
    if !have_sipp() {
        return;
    }
    let (gw, _) = gateway();
    let sipp = Sipp::start("uas_reinvites.xml", None, "x");
    let mut c = guest(&gw, "alice").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = peer.create_offer(WAIT).await.expect("offer");
    let uri = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let body = json!({"request": "call", "uri": uri, "autoaccept_reinvites": false});
    let r = c.send(body, Some(json!({"type": "offer", "sdp": offer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "calling", "{r}");
    take_accepted(&mut c, &peer).await;
    browser_answers_reinvite(&mut c, &peer).await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// `autoaccept_reinvites: false` holds for a call accepted without the phone's SDP too (our
/// offer in the 200): the phone's hold re-INVITE waits for the browser (`updatingcall`, then
/// `update`: our 200 says a=recvonly, the phone checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offerless_call_keeps_autoaccept_reinvites() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uac_offerless_holds.xml", Some(sip_port), "alice");
    sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let offer = json!({"type": "offer", "sdp": peer.create_offer(WAIT).await.expect("offer")});
    let r = c.send(json!({"request": "accept", "autoaccept_reinvites": false}), Some(offer)).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepting", "{r}");
    take_accepted(&mut c, &peer).await;
    browser_answers_reinvite(&mut c, &peer).await;
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
}

/// The phone's re-INVITE waits for the browser: `updatingcall` with a new offer, then the
/// browser's answer in `update` (`updated`) lets our 200 go.
async fn browser_answers_reinvite(c: &mut Client, peer: &Peer) {
    let updating = sip_event(c, "updatingcall").await;
    let offer = updating["jsep"]["sdp"].as_str().unwrap_or_else(|| panic!("no offer: {updating}"));
    let answer = peer.answer_offer(offer, WAIT).await.expect("the browser's answer");
    let r = c.send(json!({"request": "update"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "updated", "{r}");
}

/// A request in the call with a CSeq below the far end's last one is out of order: 500
/// (RFC 3261 §12.2.2; the phone waits for it), and the call goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_order_request_gets_500() {
    if !have_sipp() {
        return;
    }
    let (gw, sip_port) = gateway();
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uac_out_of_order.xml", Some(sip_port), "alice");
    let incoming = sip_event(&mut c, "incomingcall").await;
    let peer = Peer::with_audio(Some(AudioCodec::Pcmu), false, false).await.expect("peer");
    let answer =
        peer.answer_offer(incoming["jsep"]["sdp"].as_str().expect("offer"), WAIT).await.expect("answer");
    let r = c.send(json!({"request": "accept"}), Some(json!({"type": "answer", "sdp": answer}))).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "accepted", "{r}");
    let m = c.event("the in-order MESSAGE", |d| result(d)["event"] == "message").await;
    assert_eq!(result(&m)["content"], "in order\r\n", "{m}");
    // The phone hangs up once it has its 500.
    let hangup = both_hangups(&mut c).await;
    assert_eq!(result(&hangup)["code"], 200, "{hangup}");
    sipp.passes().await;
    peer.close().await.ok();
}

/// `recording` in a call records the browser's audio (`audio`) and the phone's (`peer_audio`,
/// here the browser's echoed) to .mjr files that Janus's `janus-pp-rec` reads (G.711 to WAV);
/// outside a call it is 447, with nothing asked 444.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_recorded_for_janus_pp_rec() {
    if !have_sipp() || !crate::recorded::have_pp_rec() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("portunus-sip-mjr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let (gw, _) = gateway_sandboxed("", &format!("write_dir = \"{}\"", dir.display()));
    let mut c = guest(&gw, "alice").await;
    let start = json!({"request": "recording", "action": "start", "audio": true, "peer_audio": true, "filename": "call"});
    let r = c.send(start.clone(), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 447, "{r}");
    let sipp = Sipp::start("uas_answer.xml", None, "x");
    let peer = call_up(&mut c, &sipp).await;
    let r = c.send(json!({"request": "recording", "action": "start"}), None).await;
    assert_eq!(r["plugindata"]["data"]["error_code"], 451, "nothing asked (Janus: a recording error): {r}");
    let r = c.send(start, None).await;
    assert_eq!(result(&r["plugindata"]["data"])["event"], "recordingupdated", "{r}");
    for side in ["user", "peer"] {
        let (mjr, wav) =
            (dir.join(format!("call-{side}-audio.mjr")), dir.join(format!("call-{side}-audio.wav")));
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let out = std::process::Command::new("janus-pp-rec")
                .arg(&mjr)
                .arg(&wav)
                .output()
                .expect("janus-pp-rec");
            // A second of 8 kHz samples after the 44-byte header, at least.
            let samples = wav.metadata().map_or(0, |m| m.len().saturating_sub(44) / 2);
            if out.status.success() && samples >= 8_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "janus-pp-rec makes a WAV of {side}'s audio ({samples} samples): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    hang_up(&mut c).await;
    sipp.passes().await;
    peer.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// The event handler hears a call as Janus's SIP plugin tells it: the guest `registered` (with
/// its identity and `unique_id`), `calling` with the SDP of the INVITE, each SIP message sent
/// (`sip-out`) and received (`sip-in`), `accepted`, and the phone's `hangup` with the code and
/// its BYE's Reason header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_told_to_the_event_handler() {
    if !have_sipp() {
        return;
    }
    let (addr, posts) = crate::backend::backend("127.0.0.1", false).await;
    let mut posts = crate::backend::Heard::new(posts);
    let (gw, _) = gateway_in("", "", crate::backend::plugin_events_conf(&format!("http://{addr}/")));
    let mut c = guest(&gw, "alice").await;
    let sipp = Sipp::start("uas_hangs_up.xml", None, "x");
    let callee = format!("sip:bob@127.0.0.1:{}", sipp.port);
    let (peer, _) = call(&mut c, &sipp).await;
    let accepted = sip_event(&mut c, "accepted").await;
    peer.set_answer(accepted["jsep"]["sdp"].as_str().expect("answer")).await.expect("set answer");
    both_hangups(&mut c).await;
    sipp.passes().await;
    let mut heard: Vec<Value> = Vec::new();
    while !heard.iter().any(|e| e["event"] == "hangup") {
        let e = crate::backend::events_until(&mut posts, |e| e["type"] == 64).await.pop().unwrap();
        assert_eq!(
            (e["event"]["plugin"].as_str(), e["handle_id"].as_u64()),
            (Some(SIP), Some(c.handle())),
            "{e}"
        );
        heard.push(e["event"]["data"].clone());
    }
    let find = |event: &str| {
        heard.iter().find(|e| e["event"] == event).unwrap_or_else(|| panic!("no {event} in {heard:#?}"))
    };
    let registered = find("registered");
    assert_eq!(
        (registered["identity"].as_str(), registered["type"].as_str()),
        (Some("sip:alice@127.0.0.1"), Some("guest"))
    );
    assert_eq!(registered["unique_id"].as_str().map(str::len), Some(36), "{registered}");
    // `calling` comes before the INVITE's `sip-out`, as Janus tells them.
    let position = |pred: &dyn Fn(&Value) -> bool| heard.iter().position(pred).expect("heard");
    assert!(
        position(&|e| e["event"] == "calling")
            < position(
                &|e| e["event"] == "sip-out" && e["sip"].as_str().is_some_and(|m| m.starts_with("INVITE "))
            ),
        "{heard:#?}"
    );
    let calling = find("calling");
    let call_id = calling["call-id"].clone();
    assert_eq!(calling["callee"], callee, "{calling}");
    assert!(calling["sdp"].as_str().is_some_and(|s| s.contains("m=audio")), "{calling}");
    let sent = |start: &str| {
        heard
            .iter()
            .any(|e| e["event"] == "sip-out" && e["sip"].as_str().is_some_and(|m| m.starts_with(start)))
    };
    let got = |start: &str| {
        heard
            .iter()
            .any(|e| e["event"] == "sip-in" && e["sip"].as_str().is_some_and(|m| m.starts_with(start)))
    };
    assert!(sent("INVITE ") && sent("ACK ") && sent("SIP/2.0 200"), "{heard:#?}");
    assert!(got("SIP/2.0 200") && got("BYE "), "{heard:#?}");
    assert_eq!(find("accepted")["call-id"], call_id);
    let hangup = find("hangup");
    assert_eq!(
        hangup,
        &json!({"event": "hangup", "call-id": call_id, "code": 200, "reason": "BYE",
                "reason_header": "Normal call clearing", "reason_header_protocol": "Q.850",
                "reason_header_cause": "16"}),
    );
    peer.close().await.ok();
}
