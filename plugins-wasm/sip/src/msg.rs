//! SIP messages: read from a datagram and written for one, with `ezk-sip-types` doing the
//! grammar (start lines, headers, URIs, digest challenges); this module only frames them and
//! bounds what a datagram may hold.

use bytes::Bytes;
use bytesstr::BytesStr;
use ezk_sip_types::header::typed::{CSeq, CallID, Contact, FromTo, Routing, Via};
use ezk_sip_types::header::HeaderError;
use ezk_sip_types::msg::{Line, MessageLine, PullParser, RequestLine, StatusLine};
use ezk_sip_types::parse::Parse;
use ezk_sip_types::print::{AppendCtx, PrintCtx, UriContext};
use ezk_sip_types::uri::SipUri;
use ezk_sip_types::{Headers, Method, Name, StatusCode};

/// The most a message may be (a UDP datagram of the host's).
pub const MAX_BYTES: usize = 65_507;
/// The most header lines a message may have.
pub const MAX_HEADERS: usize = 128;

/// A message read from the network.
#[derive(Debug, Clone)]
pub struct SipMessage {
    /// Its start line.
    pub line: MessageLine,
    /// Its headers.
    pub headers: Headers,
    /// Its body.
    pub body: Bytes,
    /// The datagram it came in.
    pub raw: Bytes,
}

/// Why a datagram is not a SIP message we can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(text: impl Into<String>) -> Malformed {
    Malformed(text.into())
}

impl From<HeaderError> for Malformed {
    fn from(e: HeaderError) -> Self {
        bad(e.to_string())
    }
}

/// Reads one message from a datagram. Keep-alives (blank lines) and anything that is not a
/// whole SIP message with the headers every transaction needs (Via, From, To, Call-ID, CSeq)
/// are errors.
pub fn parse(data: &[u8]) -> Result<SipMessage, Malformed> {
    if data.len() > MAX_BYTES {
        return Err(bad("too large"));
    }
    let start = data.iter().position(|b| !b.is_ascii_whitespace()).ok_or_else(|| bad("blank"))?;
    let data = &data[start..];
    let mut lines = PullParser::new(data, 0);
    let mut count = 0;
    for line in lines.by_ref() {
        line.map_err(|_| bad("incomplete head"))?;
        count += 1;
        if count > MAX_HEADERS + 1 {
            return Err(bad("too many headers"));
        }
    }
    let head_end = lines.head_end();
    let head = Bytes::copy_from_slice(&data[..head_end]);
    let text = std::str::from_utf8(&head).map_err(|_| bad("head is not UTF-8"))?;
    let mut lines = PullParser::new(text.as_bytes(), 0);
    let first = lines.next().ok_or_else(|| bad("empty"))?.map_err(|_| bad("incomplete"))?;
    let first = std::str::from_utf8(first).map_err(|_| bad("start line is not UTF-8"))?;
    let (_, line) = MessageLine::parse(&head)(first).map_err(|_| bad("bad start line"))?;
    let mut headers = Headers::with_capacity(count);
    for l in lines {
        let l = l.map_err(|_| bad("incomplete"))?;
        let l = std::str::from_utf8(l).map_err(|_| bad("header is not UTF-8"))?;
        let (_, Line { name, value }) = Line::parse(&head, l).map_err(|_| bad("bad header line"))?;
        headers.insert(name, value);
    }
    let rest = &data[head_end..];
    let body = match headers.get_raw(&Name::CONTENT_LENGTH).next() {
        Some(len) => {
            let len: usize = len.trim().parse().map_err(|_| bad("bad Content-Length"))?;
            if len > rest.len() {
                return Err(bad("body shorter than Content-Length"));
            }
            Bytes::copy_from_slice(&rest[..len])
        }
        None => Bytes::copy_from_slice(rest),
    };
    let msg = SipMessage { line, headers, body, raw: Bytes::copy_from_slice(data) };
    // What every transaction and dialog reads must be there and parse.
    msg.via()?;
    msg.from()?;
    msg.to()?;
    msg.call_id()?;
    msg.cseq()?;
    Ok(msg)
}

impl SipMessage {
    /// The top Via.
    pub fn via(&self) -> Result<Via, Malformed> {
        Ok(self.headers.get_named::<Via>()?)
    }

    /// Where the top Via says the far end saw us (`received`, `rport`), if it says so.
    pub fn seen_at(&self) -> Option<String> {
        let via = self.via().ok()?;
        let received = via.params.get_val("received").map(|r| r.to_string());
        let rport = via.params.get_val("rport").and_then(|p| p.parse::<u16>().ok());
        if received.is_none() && rport.is_none() {
            return None;
        }
        let ip = match received {
            Some(r) => r.parse().ok()?,
            None => via.sent_by.ip()?,
        };
        let port = rport.or(via.sent_by.port).unwrap_or(5060);
        Some(std::net::SocketAddr::new(ip, port).to_string())
    }

    /// The top Via's branch.
    pub fn branch(&self) -> String {
        self.via().ok().and_then(|v| v.params.get_val("branch").map(|b| b.to_string())).unwrap_or_default()
    }

    /// From.
    pub fn from(&self) -> Result<FromTo, Malformed> {
        Ok(self.headers.get::<FromTo>(Name::FROM)?)
    }

    /// To.
    pub fn to(&self) -> Result<FromTo, Malformed> {
        Ok(self.headers.get::<FromTo>(Name::TO)?)
    }

    /// Call-ID.
    pub fn call_id(&self) -> Result<String, Malformed> {
        Ok(self.headers.get_named::<CallID>()?.0.to_string())
    }

    /// CSeq.
    pub fn cseq(&self) -> Result<CSeq, Malformed> {
        Ok(self.headers.get_named::<CSeq>()?)
    }

    /// The first Contact's URI.
    pub fn contact(&self) -> Option<String> {
        let c = self.headers.get_named::<Vec<Contact>>().ok()?;
        let ctx = PrintCtx { method: None, uri: Some(UriContext::Contact) };
        c.first().map(|c| c.uri.uri.print_ctx(ctx).to_string())
    }

    /// Record-Route, each entry as printed.
    pub fn record_route(&self) -> Vec<String> {
        let routes = self.headers.get::<Vec<Routing>>(Name::RECORD_ROUTE).unwrap_or_default();
        let ctx = PrintCtx { method: None, uri: Some(UriContext::Routing) };
        routes.iter().map(|r| r.print_ctx(ctx).to_string()).collect()
    }

    /// A header's raw values.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get_raw(&Name::from(BytesStr::from(name))).next().map(|v| v.to_string())
    }

    /// All values of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers.get_raw(&Name::from(BytesStr::from(name))).map(|v| v.to_string()).collect()
    }

    /// The request line, for a request.
    pub fn request(&self) -> Option<&RequestLine> {
        match &self.line {
            MessageLine::Request(r) => Some(r),
            MessageLine::Response(_) => None,
        }
    }

    /// The response's status line.
    pub fn status(&self) -> Option<&StatusLine> {
        match &self.line {
            MessageLine::Response(s) => Some(s),
            MessageLine::Request(_) => None,
        }
    }

    /// The body as text (SDP), if any.
    pub fn sdp(&self) -> Option<String> {
        let is_sdp = self
            .header("Content-Type")
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/sdp"));
        (is_sdp && !self.body.is_empty()).then(|| String::from_utf8_lossy(&self.body).into_owned())
    }
}

/// A response's status code as a number.
pub fn code_of(status: &StatusLine) -> u16 {
    status.code.into_u16()
}

/// Parses a SIP URI (`sip:user@ip:port;params`).
pub fn uri(text: &str) -> Result<SipUri, Malformed> {
    SipUri::from_str_checked(text)
}

/// URIs parse through `FromStr` (ezk's nom grammar).
trait FromStrChecked: Sized {
    fn from_str_checked(text: &str) -> Result<Self, Malformed>;
}

impl FromStrChecked for SipUri {
    fn from_str_checked(text: &str) -> Result<Self, Malformed> {
        text.trim().parse::<SipUri>().map_err(|_| bad(format!("not a SIP URI: {text}")))
    }
}

/// The address a URI points at (RFC 3263 §4): `ip:port` or `name:port` (which the host
/// resolves), over the transport the URI asks for: TLS for a `sips:` URI or `transport=tls`,
/// TCP for `transport=tcp`, UDP for `transport=udp`, else UDP.
pub fn address_of(uri: &SipUri) -> Result<String, Malformed> {
    address_over(uri, Transport::Udp)
}

/// The domain whose DNS records choose the transport of a URI that does not (RFC 3263 §4.1):
/// a `sip:` URI's host, a name given without a port or a `transport` parameter.
pub fn locatable(uri: &SipUri) -> Option<String> {
    use ezk_sip_types::host::Host;
    if uri.sips || uri.uri_params.get_val("transport").is_some() || uri.host_port.port.is_some() {
        return None;
    }
    match &uri.host_port.host {
        Host::Name(name) => Some(name.to_string()),
        _ => None,
    }
}

/// The address of the servers SRV name `name` finds over `transport`, which the records chose
/// (`tcp:_sip._tcp.example.com:5060`).
pub fn service_address(transport: Transport, name: &str) -> String {
    format!("{}{name}:{}", transport.prefix(), transport.default_port())
}

/// As [`address_of`], over `otherwise` when the URI asks for no transport. The port is the
/// transport's default (5060, 5061 over TLS) when none is given, and a name without a port is
/// found by the transport's SRV records (RFC 3263 §4.2; the host looks them up, and without
/// any goes to the name on that port).
pub fn address_over(uri: &SipUri, otherwise: Transport) -> Result<String, Malformed> {
    use ezk_sip_types::host::Host;
    let asked = uri.uri_params.get_val("transport").map(|t| t.to_ascii_lowercase());
    let transport = match asked.as_deref() {
        _ if uri.sips => Transport::Tls,
        Some("tls") => Transport::Tls,
        Some("tcp") => Transport::Tcp,
        Some("udp") => Transport::Udp,
        None => otherwise,
        Some(other) => return Err(bad(format!("SIP over {other} is not supported"))),
    };
    let port = uri.host_port.port.unwrap_or(transport.default_port());
    let addr = match &uri.host_port.host {
        Host::IP4(v4) => format!("{v4}:{port}"),
        Host::IP6(v6) => format!("[{v6}]:{port}"),
        Host::Name(name) if uri.host_port.port.is_none() => format!("{}{name}:{port}", transport.srv()),
        Host::Name(name) => format!("{name}:{port}"),
    };
    Ok(format!("{}{addr}", transport.prefix()))
}

/// A URI's `host[:port]`, as written.
pub fn host_of(uri: &SipUri) -> String {
    use ezk_sip_types::print::AppendCtx;
    uri.host_port.default_print_ctx().to_string()
}

/// The URI of a From or To, as text (with its port, as Janus reports it).
pub fn name_addr_uri(ft: &FromTo) -> String {
    uri_text(&ft.uri.uri)
}

/// A URI as text, with its port and parameters.
pub fn uri_text(uri: &SipUri) -> String {
    uri.default_print_ctx().to_string()
}

/// The `expires` of the first Contact, if it has one.
pub fn contact_expires(m: &SipMessage) -> Option<u32> {
    let c = m.headers.get_named::<Vec<Contact>>().ok()?;
    c.first()?.params.get_val("expires")?.trim().parse().ok()
}

/// The standard reason phrase of a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    StatusCode::from(code).text().unwrap_or("Unknown")
}

/// The user part of a URI.
pub fn user_of(uri: &SipUri) -> Option<String> {
    use ezk_sip_types::uri::SipUriUserPart;
    match &uri.user_part {
        SipUriUserPart::Empty => None,
        SipUriUserPart::User(u) => Some(u.to_string()),
        SipUriUserPart::UserPw(up) => Some(up.user.to_string()),
    }
}

/// Builds a message: start line, headers in order, body.
#[derive(Debug)]
pub struct Builder {
    line: String,
    headers: Headers,
    method: Option<Method>,
}

impl Builder {
    /// A request of `method` to `uri` (already a SIP URI's text).
    pub fn request(method: Method, uri: &SipUri) -> Self {
        let line = RequestLine { method: method.clone(), uri: uri.clone() };
        let ctx = PrintCtx { method: Some(&method), uri: Some(UriContext::ReqUri) };
        let line = line.print_ctx(ctx).to_string();
        Builder { line, headers: Headers::new(), method: Some(method) }
    }

    /// A response with `code` to `req`: its Via, From, To (with `to_tag` added when it has
    /// none), Call-ID and CSeq, as RFC 3261 §8.2.6 copies them.
    pub fn response(req: &SipMessage, code: u16, reason: Option<&str>, to_tag: Option<&str>) -> Self {
        let status =
            StatusLine { code: StatusCode::from(code), reason: reason.map(|r| BytesStr::from(r.to_owned())) };
        let mut headers = Headers::new();
        for name in [Name::VIA, Name::FROM] {
            for v in req.headers.get_raw(&name) {
                headers.insert(name.clone(), v.clone());
            }
        }
        if let Ok(mut to) = req.to() {
            if to.tag.is_none() {
                to.tag = to_tag.map(|t| BytesStr::from(t.to_owned()));
            }
            headers.insert_type(Name::TO, &to);
        }
        for name in [Name::CALL_ID, Name::CSEQ] {
            for v in req.headers.get_raw(&name) {
                headers.insert(name.clone(), v.clone());
            }
        }
        if (100..200).contains(&code) {
            // A provisional response copies Timestamp as well (§8.2.6.1); nothing else is needed.
        }
        Builder { line: status.to_string(), headers, method: None }
    }

    /// Adds the application's headers (`headers` of a request, already checked).
    pub fn custom(mut self, headers: &[(String, String)]) -> Self {
        for (name, value) in headers {
            self = self.header(name, value.clone());
        }
        self
    }

    /// Adds a header from its text.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(Name::from(BytesStr::from(name.to_owned())), BytesStr::from(value.into()));
        self
    }

    /// Adds a typed header under `name` (From, To, Route...).
    pub fn typed<H: ezk_sip_types::header::ExtendValues>(mut self, name: Name, h: &H) -> Self {
        self.headers.insert_type(name, h);
        self
    }

    /// Adds a typed header under its own name (Via, CSeq, Call-ID...).
    pub fn named<H: ezk_sip_types::header::ExtendValues + ezk_sip_types::header::DynNamed>(
        mut self,
        h: &H,
    ) -> Self {
        self.headers.insert_named(h);
        self
    }

    /// The message's text with `body` (`content_type` names it) and Content-Length.
    pub fn finish(mut self, content_type: Option<&str>, body: &str) -> String {
        let _ = &self.method;
        if let Some(t) = content_type.filter(|_| !body.is_empty()) {
            self.headers.insert(Name::CONTENT_TYPE, BytesStr::from(t.to_owned()));
        }
        self.headers.insert(Name::CONTENT_LENGTH, BytesStr::from(body.len().to_string()));
        format!("{}\r\n{}\r\n{}", self.line, self.headers, body)
    }
}

/// A Call-ID header value.
pub fn call_id(id: &str) -> CallID {
    CallID::new(BytesStr::from(id.to_owned()))
}

/// A From or To.
pub fn from_to(uri: &SipUri, display: Option<&str>, tag: Option<&str>) -> FromTo {
    use ezk_sip_types::uri::NameAddr;
    let name = NameAddr { name: display.map(|d| BytesStr::from(d.to_owned())), uri: uri.clone() };
    FromTo::new(name, tag.map(|t| BytesStr::from(t.to_owned())))
}

/// How SIP messages travel (RFC 3261 §18, §26.2). Addresses (ours, where a message goes,
/// where one came from) are kept as text that says it: `ip:port` over UDP, `tcp:ip:port` over
/// TCP, `tls:ip:port` over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Datagrams (retransmitted by the transactions).
    #[default]
    Udp,
    /// A TCP connection.
    Tcp,
    /// A TLS connection.
    Tls,
}

/// Saved state from before TLS said `tcp: true` or `false`: both read as a transport.
impl<'de> serde::Deserialize<'de> for Transport {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Saved {
            Tcp(bool),
            Name(String),
        }
        Ok(match Saved::deserialize(d)? {
            Saved::Tcp(true) => Transport::Tcp,
            Saved::Tcp(false) => Transport::Udp,
            Saved::Name(n) => match n.as_str() {
                "tcp" => Transport::Tcp,
                "tls" => Transport::Tls,
                _ => Transport::Udp,
            },
        })
    }
}

impl Transport {
    /// The prefix of an address over it.
    fn prefix(self) -> &'static str {
        match self {
            Transport::Udp => "",
            Transport::Tcp => "tcp:",
            Transport::Tls => "tls:",
        }
    }

    /// Over a connection (no retransmissions but the INVITE's 2xx's, §17.1.1.2).
    pub fn reliable(self) -> bool {
        self != Transport::Udp
    }

    /// Its name in a Via.
    pub fn via(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The Contact URI parameter that asks for it (none for UDP).
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        }
    }

    /// The port a URI without one means.
    fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            _ => 5060,
        }
    }

    /// The SRV service of a name reached over it (RFC 3263 §4.2).
    fn srv(self) -> &'static str {
        match self {
            Transport::Udp => SRV_UDP,
            Transport::Tcp => "_sip._tcp.",
            Transport::Tls => "_sips._tcp.",
        }
    }
}

/// An address's transport, and its `ip:port` (or `name:port`).
pub fn transport_of(addr: &str) -> (Transport, &str) {
    for t in [Transport::Tcp, Transport::Tls] {
        if let Some(bare) = addr.strip_prefix(t.prefix()) {
            return (t, bare);
        }
    }
    (Transport::Udp, addr)
}

/// The SIP service over UDP, as SRV names start (RFC 3263).
const SRV_UDP: &str = "_sip._udp.";

/// `addr` over `transport` (an address that says its transport already keeps it; an SRV name
/// becomes the transport's service, on its default port).
pub fn on(transport: Transport, addr: &str) -> String {
    if transport == Transport::Udp || transport_of(addr).0 != Transport::Udp {
        return addr.to_owned();
    }
    let prefix = transport.prefix();
    match addr.strip_prefix(SRV_UDP) {
        Some(domain) => {
            let name = domain.rsplit_once(':').map_or(domain, |(name, _port)| name);
            format!("{prefix}{}{name}:{}", transport.srv(), transport.default_port())
        }
        None => format!("{prefix}{addr}"),
    }
}

/// A Via of ours (`SIP/2.0/UDP local;branch=...;rport`; `TCP` or `TLS` as `local` says).
pub fn via(local: &str, branch: &str) -> Via {
    let (transport, local) = transport_of(local);
    let mut v = Via::new(transport.via(), host_port(local), BytesStr::from(branch.to_owned()));
    v.params.push(ezk_sip_types::uri::params::Param::name("rport"));
    v
}

/// `ip:port` as ezk's HostPort.
pub fn host_port(addr: &str) -> ezk_sip_types::host::HostPort {
    let sock: std::net::SocketAddr = addr.parse().unwrap_or_else(|_| ([127, 0, 0, 1], 5060).into());
    let host = match sock.ip() {
        std::net::IpAddr::V4(v4) => ezk_sip_types::host::Host::IP4(v4),
        std::net::IpAddr::V6(v6) => ezk_sip_types::host::Host::IP6(v6),
    };
    ezk_sip_types::host::HostPort { host, port: Some(sock.port()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@127.0.0.1:5070 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK776asdhds;rport\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@127.0.0.1>\r\n\
        From: Alice <sip:alice@127.0.0.1>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710@pc33\r\n\
        CSeq: 314159 INVITE\r\n\
        Contact: <sip:alice@127.0.0.1:5080>\r\n\
        Content-Type: application/sdp\r\n\
        Content-Length: 4\r\n\r\nv=0\r\n";

    #[test]
    fn a_request_parses_with_its_headers_and_body() {
        let m = parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.request().unwrap().method, Method::INVITE);
        assert_eq!(m.branch(), "z9hG4bK776asdhds");
        assert_eq!(m.call_id().unwrap(), "a84b4c76e66710@pc33");
        assert_eq!(m.cseq().unwrap().cseq, 314159);
        assert_eq!(m.from().unwrap().tag.unwrap(), "1928301774");
        assert_eq!(m.contact().unwrap(), "sip:alice@127.0.0.1:5080");
        assert_eq!(&m.body[..], b"v=0\r");
        assert_eq!(m.sdp().unwrap(), "v=0\r");
    }

    #[test]
    fn a_response_copies_the_request_and_adds_a_tag() {
        let m = parse(INVITE.as_bytes()).unwrap();
        let text = Builder::response(&m, 180, Some("Ringing"), Some("xyz")).finish(None, "");
        let r = parse(text.as_bytes()).unwrap();
        assert_eq!(code_of(r.status().unwrap()), 180);
        assert_eq!(r.to().unwrap().tag.unwrap(), "xyz");
        assert_eq!(r.branch(), "z9hG4bK776asdhds");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"), "{text}");
    }

    /// A name without a port is found by its SRV records, the transport's service; an address
    /// or a port is used as it is; `sips:` and `transport=` say the transport.
    #[test]
    fn where_uris_go() {
        let to = |u: &str| address_of(&uri(u).unwrap()).unwrap();
        assert_eq!(to("sip:alice@pbx.test"), "_sip._udp.pbx.test:5060");
        // Only a name without port or transport is for its DNS records to choose.
        let locatable = |u: &str| locatable(&uri(u).unwrap());
        assert_eq!(locatable("sip:alice@pbx.test"), Some("pbx.test".to_owned()));
        for chosen in [
            "sip:alice@pbx.test:5070",
            "sip:alice@pbx.test;transport=udp",
            "sips:alice@pbx.test",
            "sip:alice@10.0.0.1",
        ] {
            assert_eq!(locatable(chosen), None, "{chosen}");
        }
        assert_eq!(service_address(Transport::Tcp, "_sip._tcp.pbx.test"), "tcp:_sip._tcp.pbx.test:5060");
        assert_eq!(service_address(Transport::Tls, "_sips._tcp.pbx.test"), "tls:_sips._tcp.pbx.test:5061");
        assert_eq!(on(Transport::Tcp, &to("sip:alice@pbx.test")), "tcp:_sip._tcp.pbx.test:5060");
        assert_eq!(on(Transport::Tls, &to("sip:alice@pbx.test")), "tls:_sips._tcp.pbx.test:5061");
        assert_eq!(to("sip:alice@pbx.test:5070"), "pbx.test:5070");
        assert_eq!(to("sip:alice@127.0.0.1"), "127.0.0.1:5060");
        let tcp = Transport::Tcp;
        assert_eq!(on(tcp, "tcp:_sip._udp.x:5060"), "tcp:_sip._udp.x:5060", "an address with its transport");
        assert_eq!(on(tcp, "tls:x:5061"), "tls:x:5061");
        assert_eq!(to("sips:alice@pbx.test"), "tls:_sips._tcp.pbx.test:5061");
        assert_eq!(to("sips:alice@127.0.0.1"), "tls:127.0.0.1:5061");
        assert_eq!(to("sip:alice@127.0.0.1:5070;transport=TLS"), "tls:127.0.0.1:5070");
        assert_eq!(to("sip:alice@pbx.test;transport=tcp"), "tcp:_sip._tcp.pbx.test:5060");
        assert_eq!(to("sip:alice@pbx.test;transport=udp"), "_sip._udp.pbx.test:5060");
        assert!(address_of(&uri("sip:alice@pbx.test;transport=sctp").unwrap()).is_err());
        let over = |u: &str, t| address_over(&uri(u).unwrap(), t).unwrap();
        assert_eq!(over("sip:bob@1.2.3.4", Transport::Tls), "tls:1.2.3.4:5061", "TLS's default port");
        assert_eq!(over("sip:bob@pbx.test", Transport::Tcp), "tcp:_sip._tcp.pbx.test:5060");
        assert_eq!(over("sip:bob@1.2.3.4;transport=udp", Transport::Tls), "1.2.3.4:5060", "the URI's own");
        assert_eq!(transport_of("tls:1.2.3.4:5061"), (Transport::Tls, "1.2.3.4:5061"));
        assert_eq!(transport_of("1.2.3.4:5060"), (Transport::Udp, "1.2.3.4:5060"));
    }

    /// Saved state written before TLS (`tcp: true`) reads as a transport, as does the new.
    #[test]
    fn transports_read_from_old_and_new_state() {
        let read = |v: serde_json::Value| serde_json::from_value::<Transport>(v).unwrap();
        assert_eq!(read(serde_json::json!(true)), Transport::Tcp);
        assert_eq!(read(serde_json::json!(false)), Transport::Udp);
        assert_eq!(read(serde_json::to_value(Transport::Tls).unwrap()), Transport::Tls);
    }

    #[test]
    fn bad_datagrams_are_errors() {
        for data in [&b""[..], b"\r\n\r\n", b"INVITE sip:x SIP/2.0\r\n", b"HELLO\r\n\r\n"] {
            assert!(parse(data).is_err(), "{data:?}");
        }
        let no_via = INVITE.replace("Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK776asdhds;rport\r\n", "");
        assert!(parse(no_via.as_bytes()).is_err());
        let long = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        assert!(parse(long.as_bytes()).is_err());
    }

    /// Random and mutated datagrams: the parser answers, it never panics.
    #[test]
    fn the_parser_survives_mutations() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let mut data = INVITE.as_bytes().to_vec();
            for _ in 0..(next() % 8) {
                let i = (next() as usize) % data.len();
                match next() % 3 {
                    0 => data[i] = next() as u8,
                    1 => {
                        data.remove(i);
                    }
                    _ => data.insert(i, b":;<>@\r\n \"\\%"[(next() % 11) as usize]),
                }
            }
            crate::fuzz_datagram(&data);
        }
    }
}
