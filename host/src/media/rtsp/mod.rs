//! The host's RTSP client (RFC 2326), for Streaming's `rtsp` mountpoints: an RTP input whose
//! source it pulls. It connects, DESCRIBEs (answering Digest or Basic challenges), SETs UP
//! each stream the plugin asked for (RTP over UDP to the input's own ports, or interleaved
//! on the connection), PLAYs, keeps the session alive, and notices when it ends: the
//! connection drops, or no packet arrives for the timeout. Then it tells the plugin
//! ([`SourceState::Lost`]) and starts again after the reconnect delay, on the same ports, so
//! the input, its rules and its viewers carry on. The plugin decides what a failure means;
//! the host owns the connection.
//!
//! Interleaved RTP is relayed over loopback to the input's own socket: one path for packets,
//! whichever way they come.

pub mod auth;
pub mod describe;
pub mod message;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use self::auth::Challenge;
use self::describe::Described;
use self::message::{Item, Message};
use super::inputs::InputStatus;
use crate::vocab::{HandleRef, InputStreamSpec, LegCodec, MediaEvent, Notice, RtspSource, SourceState};

/// The session timeout a server that names none gets (RFC 2326 §12.37).
const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(60);

/// What the client is given: the input, its streams and ports, and where to report.
pub struct Pull {
    /// The input's id.
    pub id: u64,
    /// The source.
    pub source: RtspSource,
    /// The streams the plugin asked for, in order: their mids and kinds, and what overrides
    /// the source's description (a payload type other than 0, format parameters).
    pub wanted: Vec<InputStreamSpec>,
    /// Where each stream's socket listens.
    pub ports: Vec<SocketAddr>,
    /// What the input's thread records of its packets (to notice that media stopped).
    pub status: Arc<InputStatus>,
    /// Tells the input's thread (and offers) the codecs the source described, where it sends
    /// from, and each stream's RTCP port at the server (over UDP).
    pub described: Box<OnPlaying>,
    /// Where the plugin hears of the source.
    pub notices: UnboundedSender<Notice>,
}

/// What a pull tells when its source plays: per stream the spec it got (none: the source
/// gave nothing for it), the address media comes from, and per stream the server's RTCP port.
pub type OnPlaying = dyn Fn(Vec<Option<InputStreamSpec>>, IpAddr, Vec<Option<u16>>) + Send + Sync;

/// What the pull's owner may ask of it; dropping the sender stops it.
#[derive(Debug)]
pub enum PullControl {
    /// Tear the session down (the plugin hears it lost, for this reason) and start again
    /// after the reconnect delay: after the plugin crashed on the news that it plays, so that
    /// its rebuilt instance hears the source's state anew.
    Restart(String),
}

/// Runs a pull until its control sender is dropped; then tears the session down.
pub async fn run(pull: Pull, mut control: UnboundedReceiver<PullControl>) {
    let mut first = true;
    loop {
        if !first {
            let wait = tokio::time::sleep(pull.source.reconnect);
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    _ = &mut wait => break,
                    // Between sessions the plugin already heard the source lost.
                    c = control.recv() => if c.is_none() { return },
                }
            }
        }
        first = false;
        let reason = match session(&pull, &mut control).await {
            Ok(()) => return,
            Err(e) => e,
        };
        let url = Url::parse(&pull.source.url).map(|u| u.request_uri).unwrap_or_default();
        tracing::info!(input = pull.id, url, "RTSP source lost: {reason}");
        let event = MediaEvent::InputSource { input: pull.id, state: SourceState::Lost(reason) };
        let _ = pull.notices.send(Notice::new(HandleRef::NONE, event));
    }
}

/// One session, from connecting to its end: `Ok` when stopped, else why it ended.
async fn session(pull: &Pull, control: &mut UnboundedReceiver<PullControl>) -> Result<(), String> {
    let source = &pull.source;
    let url = Url::parse(&source.url)?;
    let connect = async {
        let addrs = tokio::net::lookup_host((url.host.as_str(), url.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", url.host))?;
        let mut why = format!("cannot resolve {}", url.host);
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(tcp) => return Ok(tcp),
                Err(e) => why = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(why)
    };
    let tcp = tokio::time::timeout(source.connect_timeout, connect)
        .await
        .map_err(|_| format!("no connection within {} ms", source.connect_timeout.as_millis()))??;
    let server = tcp.peer_addr().map_err(|e| e.to_string())?;
    let mut conn = Conn {
        tcp,
        buf: Vec::new(),
        cseq: 0,
        challenge: None,
        nc: 0,
        session: None,
        user: source.user.clone().or(url.user.clone()),
        password: source.password.clone().or(url.password.clone()),
        timeout: source.timeout,
    };
    // DESCRIBE: the streams, matched to what the plugin asked for, in its order.
    let accept = [("Accept", "application/sdp")];
    let mut uri = url.request_uri.clone();
    let mut described = conn.exchange("DESCRIBE", &uri, &accept).await?;
    if described.status == 404 && source.path_only_retry {
        // Some servers know a stream by its path alone.
        uri = url.path.clone();
        described = conn.exchange("DESCRIBE", &uri, &accept).await?;
    }
    let described = ok(described, "DESCRIBE")?;
    let base =
        described.header("Content-Base").or(described.header("Content-Location")).unwrap_or(&uri).to_owned();
    let sdp = String::from_utf8_lossy(&described.body);
    let session = describe::parse(&sdp, &base)?;
    let chosen = choose(&pull.wanted, &session.media);
    if chosen.iter().all(Option::is_none) {
        return Err("the source has no stream in a codec the mountpoint can take".to_owned());
    }
    // The relay for interleaved RTP (its address is where the packets come from), or the
    // server's address.
    let mut interleaved = source.interleaved;
    let mut relay = if interleaved { Some(relay_socket(&pull.ports).await?) } else { None };
    let mut from = match &relay {
        Some(r) => r.local_addr().map_err(|e| e.to_string())?.ip(),
        None => server.ip(),
    };
    // SETUP each chosen stream; the answer's Transport may name other interleaved channels
    // or another source address.
    let mut keepalive = DEFAULT_SESSION_TIMEOUT / 2;
    let mut channels: Vec<(u8, usize)> = Vec::new();
    let mut rtcp = vec![None; chosen.len()];
    for (i, d) in chosen.iter().enumerate() {
        let Some(d) = d else { continue };
        let port = pull.ports.get(i).map_or(0, SocketAddr::port);
        let transport = |interleaved: bool| {
            if interleaved {
                format!("RTP/AVP/TCP;unicast;interleaved={}-{}", 2 * i, 2 * i + 1)
            } else {
                format!("RTP/AVP;unicast;client_port={port}-{}", port.saturating_add(1))
            }
        };
        let mut reply = conn.exchange("SETUP", &d.control, &[("Transport", &transport(interleaved))]).await?;
        // A server that sends no RTP over UDP (461 Unsupported Transport) is asked again for it
        // interleaved on the connection, before any stream is set up.
        if reply.status == 461 && !interleaved && conn.session.is_none() {
            tracing::info!(input = pull.id, "RTSP: no RTP over UDP from the server, interleaved instead");
            let r = relay_socket(&pull.ports).await?;
            from = r.local_addr().map_err(|e| e.to_string())?.ip();
            (relay, interleaved) = (Some(r), true);
            reply = conn.exchange("SETUP", &d.control, &[("Transport", &transport(true))]).await?;
        }
        let reply = ok(reply, "SETUP")?;
        let given = reply.header("Transport").map(Transport::parse).unwrap_or_default();
        if interleaved {
            channels.push((given.channel.unwrap_or((2 * i) as u8), i));
        } else {
            if let Some(ip) = given.source {
                from = ip;
            }
            rtcp[i] = given.server_rtcp;
        }
        if conn.session.is_none() {
            let value = reply.header("Session").ok_or("SETUP: the server gave no Session")?;
            let mut parts = value.split(';');
            conn.session = parts.next().map(|s| s.trim().to_owned());
            if let Some(t) = parts.find_map(|p| p.trim().strip_prefix("timeout=")?.trim().parse::<u64>().ok())
            {
                keepalive = Duration::from_secs(t.clamp(2, 3600) / 2);
            }
        }
    }
    let keepalive = source.keepalive.map_or(keepalive, |k| k.min(keepalive));
    let specs: Vec<Option<InputStreamSpec>> = pull
        .wanted
        .iter()
        .zip(&chosen)
        .zip(&pull.ports)
        .map(|((w, d), port)| {
            d.map(|d| InputStreamSpec {
                mid: w.mid.clone(),
                kind: w.kind,
                codec: LegCodec {
                    pt: if w.codec.pt == 0 { d.pt } else { w.codec.pt },
                    name: d.codec.clone(),
                    clock: d.clock,
                },
                fmtp: w.fmtp.clone().or_else(|| d.fmtp.clone()),
                ports: vec![port.port()],
                ssrcs: Vec::new(),
                rtcp_port: None,
                mcast: None,
            })
        })
        .collect();
    // (A stream set up over UDP before a 461 turned the session interleaved has no RTCP.)
    if interleaved {
        rtcp.iter_mut().for_each(|p| *p = None);
    }
    (pull.described)(specs.clone(), from, rtcp);
    conn.call("PLAY", &session.control, &[("Range", "npt=0.000-")]).await?;
    let playing = Instant::now();
    let event = MediaEvent::InputSource {
        input: pull.id,
        state: SourceState::Playing(specs.into_iter().flatten().collect()),
    };
    let _ = pull.notices.send(Notice::new(HandleRef::NONE, event));
    tracing::info!(input = pull.id, url = url.request_uri, "RTSP source playing");

    // Playing: relay frames, answer the server, keep alive, watch the media.
    let mut alive = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let mut check = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            item = conn.next() => match item? {
                Item::Frame(channel, data) => {
                    let stream = channels.iter().find(|(c, _)| *c == channel).map(|(_, i)| *i);
                    if let (Some(relay), Some(to)) = (&relay, stream.and_then(|i| pull.ports.get(i))) {
                        let _ = relay.send_to(&data, SocketAddr::new(loopback_if_any(to.ip()), to.port())).await;
                    }
                }
                Item::Message(m) if m.status == 0 => conn.send(&message::not_implemented(&m)).await?,
                Item::Message(m) if m.status == 454 => return Err("the server lost the session".to_owned()),
                Item::Message(_) => {}
            },
            _ = alive.tick() => {
                let uri = session.control.clone();
                conn.send_request("OPTIONS", &uri, &[]).await?;
            }
            _ = check.tick() => {
                // Only this session's packets count (not those of before a reconnection).
                let newest = pull.status.report().iter().filter_map(|(_, age, _)| *age).min();
                let quiet = newest.map_or(playing.elapsed(), |age| Duration::from_millis(age).min(playing.elapsed()));
                if quiet > source.reconnect {
                    // The server may still be sending: the session ends before another starts.
                    let uri = session.control.clone();
                    let _ = tokio::time::timeout(Duration::from_secs(1), conn.send_request("TEARDOWN", &uri, &[])).await;
                    return Err(format!("no media for {} ms", quiet.as_millis()));
                }
            }
            c = control.recv() => {
                let uri = session.control.clone();
                let _ = tokio::time::timeout(Duration::from_secs(1), conn.send_request("TEARDOWN", &uri, &[])).await;
                return match c {
                    Some(PullControl::Restart(why)) => Err(why),
                    None => Ok(()),
                };
            }
        }
    }
}

/// A 2xx answer, or an error naming the status.
fn ok(reply: Message, method: &str) -> Result<Message, String> {
    if (200..300).contains(&reply.status) {
        Ok(reply)
    } else {
        Err(format!("{method}: {} {}", reply.status, reply.reason))
    }
}

/// A socket that relays interleaved RTP to the input's ports, over loopback.
async fn relay_socket(ports: &[SocketAddr]) -> Result<UdpSocket, String> {
    let ip = ports.first().map_or(IpAddr::from([127, 0, 0, 1]), |a| loopback_if_any(a.ip()));
    UdpSocket::bind((ip, 0)).await.map_err(|e| format!("relay socket: {e}"))
}

/// What a SETUP answer's `Transport` tells: the interleaved channel of RTP, and where the
/// server sends from.
#[derive(Debug, Default, PartialEq, Eq)]
struct Transport {
    channel: Option<u8>,
    source: Option<IpAddr>,
    /// The server's RTCP port (`server_port`'s second, or the one after its first).
    server_rtcp: Option<u16>,
}

impl Transport {
    fn parse(value: &str) -> Self {
        let mut t = Transport::default();
        for p in value.split(',').next().unwrap_or_default().split(';').map(str::trim) {
            if let Some(c) = p.strip_prefix("interleaved=") {
                t.channel = c.split('-').next().and_then(|c| c.trim().parse().ok());
            } else if let Some(ip) = p.strip_prefix("source=") {
                t.source = ip.trim().parse().ok();
            } else if let Some(ports) = p.strip_prefix("server_port=") {
                let mut ports = ports.split('-').map(|p| p.trim().parse::<u16>().ok());
                let rtp = ports.next().flatten();
                t.server_rtcp = ports.next().flatten().or(rtp.and_then(|p| p.checked_add(1)));
            }
        }
        t
    }
}

/// For each stream asked for, the source's first unused one of its kind in a codec viewers
/// can be offered.
fn choose<'a>(wanted: &[InputStreamSpec], media: &'a [Described]) -> Vec<Option<&'a Described>> {
    let mut used = vec![false; media.len()];
    wanted
        .iter()
        .map(|InputStreamSpec { mid, kind, .. }| {
            let i = media.iter().enumerate().position(|(i, d)| {
                !used[i]
                    && d.kind == *kind
                    && LegCodec { pt: d.pt, name: d.codec.clone(), clock: d.clock }.check(false).is_ok()
            });
            if i.is_none() {
                tracing::warn!(mid, "the RTSP source has no {} stream the viewers could take", kind.as_str());
            }
            i.map(|i| {
                used[i] = true;
                &media[i]
            })
        })
        .collect()
}

fn loopback_if_any(ip: IpAddr) -> IpAddr {
    if ip.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        ip
    }
}

/// The parts of an `rtsp://[user[:password]@]host[:port]/path` URL the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The host (a name or an address, without brackets).
    pub host: String,
    /// The port (554 when not given).
    pub port: u16,
    /// Credentials in the URL.
    pub user: Option<String>,
    /// See `user`.
    pub password: Option<String>,
    /// The URL as requests name it: without the credentials.
    pub request_uri: String,
    /// Its path (and query), `/` when it has none.
    pub path: String,
}

impl Url {
    /// Parses an `rtsp://` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let bad = || format!("'{url}' is not an rtsp:// URL");
        let rest = url.strip_prefix("rtsp://").ok_or_else(bad)?;
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        let (creds, hostport) = authority.rsplit_once('@').map_or((None, authority), |(c, h)| (Some(c), h));
        let (user, password) = match creds {
            Some(c) => {
                let (u, p) = c.split_once(':').map_or((c, None), |(u, p)| (u, Some(p.to_owned())));
                (Some(u.to_owned()), p)
            }
            None => (None, None),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            (h, after.strip_prefix(':'))
        } else {
            hostport.split_once(':').map_or((hostport, None), |(h, p)| (h, Some(p)))
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None => 554,
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            user,
            password,
            request_uri: format!("rtsp://{hostport}{path}"),
            path: if path.is_empty() { "/".to_owned() } else { path.to_owned() },
        })
    }
}

/// The connection: requests out, the server's bytes in.
struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    challenge: Option<Challenge>,
    nc: u32,
    session: Option<String>,
    user: Option<String>,
    password: Option<String>,
    timeout: Duration,
}

impl Conn {
    /// Sends a request and waits for its answer (frames before it are dropped), answering an
    /// authentication challenge once; anything but 2xx is an error.
    async fn call(&mut self, method: &str, uri: &str, headers: &[(&str, &str)]) -> Result<Message, String> {
        let reply = self.exchange(method, uri, headers).await?;
        ok(reply, method)
    }

    /// As `call`, with the answer whatever its status.
    async fn exchange(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<Message, String> {
        let mut attempt = 0;
        loop {
            let cseq = self.send_request(method, uri, headers).await?;
            let reply = tokio::time::timeout(self.timeout, self.answer_to(cseq))
                .await
                .map_err(|_| format!("{method}: no answer within {} ms", self.timeout.as_millis()))??;
            attempt += 1;
            if reply.status == 401 && attempt == 1 && self.user.is_some() {
                if let Some(c) = Challenge::pick(reply.headers_named("WWW-Authenticate")) {
                    self.challenge = Some(c);
                    self.nc = 0;
                    continue;
                }
            }
            return Ok(reply);
        }
    }

    /// Writes a request (with the session and credentials it needs); returns its CSeq.
    async fn send_request(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<u32, String> {
        self.cseq += 1;
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        let session = self.session.clone();
        if let Some(s) = &session {
            all.push(("Session", s));
        }
        let authorization = match (&self.challenge, &self.user) {
            (Some(c), Some(user)) => {
                self.nc += 1;
                Some(c.answer(user, self.password.as_deref().unwrap_or(""), method, uri, self.nc))
            }
            _ => None,
        };
        if let Some(a) = &authorization {
            all.push(("Authorization", a));
        }
        let bytes = message::request(method, uri, self.cseq, &all);
        self.send(&bytes).await?;
        Ok(self.cseq)
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        tokio::time::timeout(self.timeout, self.tcp.write_all(bytes))
            .await
            .map_err(|_| "the server does not read".to_owned())?
            .map_err(|e| format!("the connection failed: {e}"))
    }

    /// The response with this CSeq.
    async fn answer_to(&mut self, cseq: u32) -> Result<Message, String> {
        loop {
            match self.next().await? {
                Item::Message(m) if m.status == 0 => self.send(&message::not_implemented(&m)).await?,
                Item::Message(m) if m.cseq() == Some(cseq) => return Ok(m),
                _ => {}
            }
        }
    }

    /// The next item on the connection.
    async fn next(&mut self) -> Result<Item, String> {
        loop {
            if let Some((item, used)) = message::parse(&self.buf).map_err(|e| e.to_string())? {
                self.buf.drain(..used);
                return Ok(item);
            }
            let mut chunk = [0u8; 8192];
            let n = self.tcp.read(&mut chunk).await.map_err(|e| format!("the connection failed: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".to_owned());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::MediaKind;

    #[test]
    fn urls() {
        let u = Url::parse("rtsp://bob:secret@127.0.0.1:8554/cam/1").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 8554));
        assert_eq!((u.user.as_deref(), u.password.as_deref()), (Some("bob"), Some("secret")));
        assert_eq!(u.request_uri, "rtsp://127.0.0.1:8554/cam/1");
        assert_eq!(Url::parse("rtsp://[::1]/x").unwrap().port, 554);
        assert_eq!(Url::parse("rtsp://[::1]:9/x").unwrap().host, "::1");
        for bad in ["http://a/b", "rtsp://", "rtsp://a:x/b", "rtsp://a b/c", "rtsp://a/b\r\nX: y"] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    /// A scripted server that knows its stream by path only (Janus's `rtsp_quirk`), names a
    /// session timeout of 4 s, and expects keep-alives, and the TEARDOWN when the pull is
    /// restarted.
    #[tokio::test]
    async fn a_session_with_a_quirky_server() {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (kept_alive, alive) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(async move {
            let mut kept_alive = Some(kept_alive);
            let (tcp, _) = listener.accept().await.unwrap();
            let (read, mut write) = tcp.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut seen = Vec::new();
            let mut request = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if !line.is_empty() {
                    request.push(line);
                    continue;
                }
                let first = std::mem::take(&mut request);
                let cseq = first.iter().find_map(|l| l.strip_prefix("CSeq: ")).unwrap_or("0").to_owned();
                let line = first[0].clone();
                seen.push(line.clone());
                let sdp = "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=control:trackID=1\r\n";
                let answer = match line.split(' ').take(2).collect::<Vec<_>>()[..] {
                    ["DESCRIBE", "/cam"] => format!(
                        "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Base: rtsp://127.0.0.1:{port}/cam/\r\nContent-Length: {}\r\n\r\n{sdp}",
                        sdp.len()
                    ),
                    ["DESCRIBE", _] => format!("RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n"),
                    ["SETUP", _] => format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nSession: s1;timeout=4\r\n\r\n"),
                    ["TEARDOWN", _] => break,
                    ["OPTIONS", _] => {
                        kept_alive.take().map(|k| k.send(()));
                        format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n")
                    }
                    _ => format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n"),
                };
                write.write_all(answer.as_bytes()).await.unwrap();
            }
            seen
        });
        let (notices, mut heard) = tokio::sync::mpsc::unbounded_channel();
        let source = RtspSource {
            url: format!("rtsp://127.0.0.1:{port}/cam"),
            user: None,
            password: None,
            interleaved: false,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            reconnect: Duration::from_secs(30),
            keepalive: None,
            path_only_retry: true,
        };
        let pull = Pull {
            id: 7,
            source,
            // Overrides of the described payload type and format parameters (Janus's
            // `videopt`, `videofmtp`).
            wanted: vec![wanted("v", MediaKind::Video, 100, Some("x=1"))],
            ports: vec![SocketAddr::from(([127, 0, 0, 1], 40_000))],
            status: Arc::new(InputStatus::new(["v"].into_iter())),
            described: Box::new(|_, _, _| {}),
            notices,
        };
        let (control, controlled) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(run(pull, controlled));
        let playing = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.unwrap().unwrap();
        let MediaEvent::InputSource { state: SourceState::Playing(streams), .. } = playing.event else {
            panic!("{playing:?}")
        };
        let s = &streams[0];
        assert_eq!((s.codec.name.as_str(), s.codec.pt, s.fmtp.as_deref()), ("vp8", 100, Some("x=1")));
        // A keep-alive comes within half the session timeout.
        tokio::time::timeout(Duration::from_secs(3), alive).await.expect("a keep-alive").unwrap();
        // Restarted (its plugin crashed on the news): torn down, and the plugin hears why.
        control.send(PullControl::Restart("the plugin crashed".into())).unwrap();
        let lost = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.unwrap().unwrap();
        assert!(
            matches!(&lost.event, MediaEvent::InputSource { state: SourceState::Lost(why), .. } if why == "the plugin crashed"),
            "{lost:?}"
        );
        let seen = server.await.unwrap();
        // Stopped while waiting to connect again.
        drop(control);
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stopped").unwrap();
        let methods: Vec<&str> = seen.iter().map(|l| l.split(' ').next().unwrap_or("")).collect();
        assert_eq!(methods, ["DESCRIBE", "DESCRIBE", "SETUP", "PLAY", "OPTIONS", "TEARDOWN"], "{seen:?}");
        assert!(seen[1].starts_with("DESCRIBE /cam "), "{seen:?}");
        assert!(seen[2].starts_with(&format!("SETUP rtsp://127.0.0.1:{port}/cam/trackID=1 ")), "{seen:?}");
    }

    #[test]
    fn setup_answers() {
        let t = Transport::parse("RTP/AVP/TCP;unicast;interleaved=4-5;ssrc=1;mode=\"PLAY\"");
        assert_eq!(t, Transport { channel: Some(4), source: None, server_rtcp: None });
        let t = Transport::parse("RTP/AVP;unicast;client_port=5000-5001;server_port=7-8;source=10.0.0.9");
        assert_eq!((t.source, t.server_rtcp), (Some(IpAddr::from([10, 0, 0, 9])), Some(8)));
        assert_eq!(Transport::parse("RTP/AVP;server_port=70").server_rtcp, Some(71));
        assert_eq!(Transport::parse("RTP/AVP;server_port=65535").server_rtcp, None);
        assert_eq!(Transport::parse("garbage"), Transport::default());
    }

    /// A stream the plugin asks for, with its overrides (payload type 0: none).
    fn wanted(mid: &str, kind: MediaKind, pt: u8, fmtp: Option<&str>) -> InputStreamSpec {
        InputStreamSpec {
            mid: mid.to_owned(),
            kind,
            codec: LegCodec { pt, name: String::new(), clock: 0 },
            fmtp: fmtp.map(str::to_owned),
            ports: Vec::new(),
            ssrcs: Vec::new(),
            rtcp_port: None,
            mcast: None,
        }
    }

    #[test]
    fn streams_are_matched_by_kind_in_order() {
        let d = |kind, codec: &str| Described {
            kind,
            control: String::new(),
            pt: 96,
            codec: codec.to_owned(),
            clock: 90_000,
            fmtp: None,
        };
        let media = [d(MediaKind::Video, "mp4v-es"), d(MediaKind::Video, "vp8"), d(MediaKind::Audio, "opus")];
        let wanted = [
            wanted("a", MediaKind::Audio, 0, None),
            wanted("v", MediaKind::Video, 0, None),
            wanted("v2", MediaKind::Video, 0, None),
        ];
        let got = choose(&wanted, &media);
        assert_eq!(got[0].map(|d| d.codec.as_str()), Some("opus"));
        assert_eq!(got[1].map(|d| d.codec.as_str()), Some("vp8"));
        assert!(got[2].is_none());
    }
}
