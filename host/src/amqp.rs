//! An AMQP 0-9-1 client of our own, as much as Janus's RabbitMQ event handler and transport
//! need: it logs in (PLAIN, a virtual host, the heartbeat asked for), opens a channel, declares
//! exchanges and queues, binds and consumes queues, publishes (content type, correlation id,
//! reply-to) and puts deliveries back together, noticing the broker's closes.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

pub use crate::http_client::write_in_time as write;

/// How long the broker may take to answer a method.
pub const ANSWER: Duration = Duration::from_secs(10);
/// The largest frame we ask for (the broker may ask for less).
const FRAME_MAX: u32 = 131_072;
/// The longest frame taken from the broker (its `frame_max` cannot be above ours).
const FRAME_LIMIT: u32 = FRAME_MAX;

/// Frame types.
mod frame {
    pub const METHOD: u8 = 1;
    pub const HEADER: u8 = 2;
    pub const BODY: u8 = 3;
    pub const HEARTBEAT: u8 = 8;
    pub const END: u8 = 0xce;
}

/// A method's arguments as they are written.
#[derive(Default)]
struct Args(Vec<u8>);

impl Args {
    fn method(class: u16, method: u16) -> Self {
        let mut a = Self::default();
        a.short(class).short(method);
        a
    }
    fn octet(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn short(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn long(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn longlong(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A short string (at most 255 bytes: longer is cut).
    fn shortstr(&mut self, s: &str) -> &mut Self {
        self.shortbytes(s.as_bytes())
    }
    /// A short string of any bytes (at most 255: longer is cut).
    fn shortbytes(&mut self, s: &[u8]) -> &mut Self {
        let s = &s[..s.len().min(255)];
        self.octet(s.len() as u8);
        self.0.extend_from_slice(s);
        self
    }
    fn longstr(&mut self, s: &[u8]) -> &mut Self {
        self.long(s.len() as u32);
        self.0.extend_from_slice(s);
        self
    }
    fn empty_table(&mut self) -> &mut Self {
        self.long(0)
    }
    /// A field table of `entries` (names and typed values, as [`client_properties`] writes).
    fn table(&mut self, entries: &Args) -> &mut Self {
        self.longstr(&entries.0)
    }
}

/// Our Connection.StartOk client properties: who we are, and the capability to be told
/// (Basic.Cancel) when the broker ends a consumer because its queue was deleted, which it
/// otherwise does silently: requests would stop coming and nothing would say so.
fn client_properties() -> Args {
    let mut capabilities = Args::default();
    capabilities.shortstr("consumer_cancel_notify").octet(b't').octet(1);
    let mut properties = Args::default();
    properties.shortstr("product").octet(b'S').longstr(b"Portunus");
    properties.shortstr("capabilities").octet(b'F').table(&capabilities);
    properties
}

/// A frame: its type, channel and payload, then the frame end.
fn framed(kind: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.push(kind);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out.push(frame::END);
    out
}

/// Reads one frame: its type, channel and payload.
pub async fn read_frame(from: &mut (impl AsyncRead + Unpin)) -> Result<(u8, u16, Vec<u8>), String> {
    let read = async {
        let kind = from.read_u8().await?;
        let channel = from.read_u16().await?;
        let size = from.read_u32().await?;
        if size > FRAME_LIMIT {
            return Err(std::io::Error::other(format!("a frame of {size} bytes")));
        }
        let mut payload = vec![0; size as usize];
        from.read_exact(&mut payload).await?;
        if from.read_u8().await? != frame::END {
            return Err(std::io::Error::other("a frame without its end"));
        }
        Ok((kind, channel, payload))
    };
    read.await.map_err(|e| e.to_string())
}

/// Reads the next frame of a connection whose heartbeat is `heartbeat_s`: two heartbeats
/// with nothing from the broker mean it is gone (AMQP 0-9-1); with none agreed, it may stay
/// silent for ever.
pub async fn read_frame_alive(
    from: &mut (impl AsyncRead + Unpin),
    heartbeat_s: u16,
) -> Result<(u8, u16, Vec<u8>), String> {
    if heartbeat_s == 0 {
        return read_frame(from).await;
    }
    let silence = std::time::Duration::from_secs(2 * u64::from(heartbeat_s));
    match tokio::time::timeout(silence, read_frame(from)).await {
        Ok(frame) => frame,
        Err(_) => Err(format!("nothing from the broker for {silence:?}")),
    }
}

/// A method frame's class and method ids, and its arguments.
fn method_of(payload: &[u8]) -> Option<(u16, u16, &[u8])> {
    let class = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]);
    let method = u16::from_be_bytes([*payload.get(2)?, *payload.get(3)?]);
    Some((class, method, &payload[4..]))
}

/// What a broker's close says: its reply code and text.
fn close_reason(args: &[u8]) -> String {
    let code = args.get(..2).map_or(0, |c| u16::from_be_bytes([c[0], c[1]]));
    let len = usize::from(*args.get(2).unwrap_or(&0));
    let text = args.get(3..3 + len).map(String::from_utf8_lossy).unwrap_or_default();
    format!("{code} {text}")
}

/// What to log in with.
#[derive(Debug, Clone)]
pub struct Login {
    /// User name and password (PLAIN).
    pub username: String,
    /// The password.
    pub password: String,
    /// The virtual host.
    pub vhost: String,
    /// The heartbeat asked for, seconds (0: none).
    pub heartbeat_s: u16,
}

/// The client of a configured broker: any address (the broker is the operator's own), and
/// TLS as its settings say; an error names a TLS file that cannot be used.
pub fn client(broker: &crate::config::AmqpBroker) -> Result<crate::http_client::Client, String> {
    let tls = broker.tls.as_ref().map(crate::tls::client_config).transpose()?;
    let any = crate::plugins::policy::AddrPolicy::any();
    Ok(crate::http_client::Client::new(any, "the address policy").with_tls(tls))
}

/// Connects to a configured broker (with [`client`]'s client), logs in, opens channel 1 and declares its exchange if it
/// names one.
pub async fn connect(
    client: &crate::http_client::Client,
    broker: &crate::config::AmqpBroker,
) -> Result<Connection<Box<dyn crate::http_client::Stream>>, String> {
    let scheme = if broker.tls.is_some() { "https" } else { "http" };
    let host = match broker.host.contains(':') {
        true => format!("[{}]", broker.host),
        false => broker.host.clone(),
    };
    let backend = crate::http_client::Backend::parse(&format!("{scheme}://{host}:{}", broker.port))
        .map_err(|e| format!("host: {e}"))?;
    let login = Login {
        username: broker.username.clone(),
        password: broker.password.clone(),
        vhost: broker.vhost.clone(),
        heartbeat_s: broker.heartbeat_s,
    };
    let mut c = Connection::open(client.stream(&backend).await?, &login).await?;
    if let Some(exchange) = &broker.exchange {
        c.declare_exchange(exchange, &broker.exchange_type).await?;
    }
    Ok(c)
}

/// An open connection with channel 1 open.
pub struct Connection<S> {
    stream: S,
    frame_max: u32,
    /// The heartbeat agreed, seconds (0: none).
    pub heartbeat_s: u16,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Logs in over `stream` and opens channel 1.
    pub async fn open(mut stream: S, login: &Login) -> Result<Self, String> {
        write(&mut stream, b"AMQP\x00\x00\x09\x01").await?;
        let mut c = Self { stream, frame_max: FRAME_MAX, heartbeat_s: login.heartbeat_s };
        c.expect(0, 10, 10).await?;
        let mut response = vec![0];
        response.extend_from_slice(login.username.as_bytes());
        response.push(0);
        response.extend_from_slice(login.password.as_bytes());
        let mut start_ok = Args::method(10, 11);
        start_ok.table(&client_properties()).shortstr("PLAIN").longstr(&response).shortstr("en_US");
        c.send_method(0, start_ok).await?;
        let tune = c.expect(0, 10, 30).await?;
        let (channel_max, frame_max) = match tune.as_slice() {
            [a, b, c, d, e, f, ..] => (u16::from_be_bytes([*a, *b]), u32::from_be_bytes([*c, *d, *e, *f])),
            _ => return Err("a short Connection.Tune".into()),
        };
        if frame_max != 0 {
            c.frame_max = frame_max.clamp(4096, FRAME_MAX);
        }
        let mut tune_ok = Args::method(10, 31);
        tune_ok.short(channel_max).long(c.frame_max).short(c.heartbeat_s);
        c.send_method(0, tune_ok).await?;
        let mut open = Args::method(10, 40);
        open.shortstr(&login.vhost).shortstr("").octet(0);
        c.send_method(0, open).await?;
        c.expect(0, 10, 41).await?;
        let mut channel = Args::method(20, 10);
        channel.shortstr("");
        c.send_method(1, channel).await?;
        c.expect(1, 20, 11).await?;
        Ok(c)
    }

    /// Declares an exchange of a type (not durable, not auto-deleted: as Janus's handler).
    pub async fn declare_exchange(&mut self, name: &str, kind: &str) -> Result<(), String> {
        let mut declare = Args::method(40, 10);
        declare.short(0).shortstr(name).shortstr(kind).octet(0).empty_table();
        self.send_method(1, declare).await?;
        self.expect(1, 40, 11).await.map(drop)
    }

    /// Declares a queue (not durable, not exclusive, not auto-deleted: as Janus's handler).
    pub async fn declare_queue(&mut self, name: &str) -> Result<(), String> {
        self.declare_queue_as(name, QueueFlags::default()).await
    }

    /// Declares a queue with these flags.
    pub async fn declare_queue_as(&mut self, name: &str, flags: QueueFlags) -> Result<(), String> {
        let bits =
            u8::from(flags.durable) << 1 | u8::from(flags.exclusive) << 2 | u8::from(flags.auto_delete) << 3;
        let mut declare = Args::method(50, 10);
        declare.short(0).shortstr(name).octet(bits).empty_table();
        self.send_method(1, declare).await?;
        self.expect(1, 50, 11).await.map(drop)
    }

    /// Binds a queue to an exchange with a routing key.
    pub async fn bind_queue(&mut self, queue: &str, exchange: &str, routing_key: &str) -> Result<(), String> {
        let mut bind = Args::method(50, 20);
        bind.short(0).shortstr(queue).shortstr(exchange).shortstr(routing_key).octet(0).empty_table();
        self.send_method(1, bind).await?;
        self.expect(1, 50, 21).await.map(drop)
    }

    /// Consumes a queue without acknowledgements (as Janus's transport) under our `tag`,
    /// which its deliveries carry. No answer is awaited (no-wait): deliveries may follow at
    /// once, and a wait for an answer would skip them; a refusal comes as the channel's close.
    pub async fn consume(&mut self, queue: &str, tag: &str) -> Result<(), String> {
        let mut consume = Args::method(60, 20);
        consume.short(0).shortstr(queue).shortstr(tag).octet(0x02 | 0x08).empty_table();
        self.send_method(1, consume).await
    }

    /// The stream, to read the broker's frames apart (see [`take`]) and write what
    /// [`Publisher`] makes; and the publisher for this connection.
    pub fn into_parts(self) -> (S, Publisher) {
        (self.stream, Publisher { frame_max: self.frame_max })
    }

    async fn send_method(&mut self, channel: u16, args: Args) -> Result<(), String> {
        write(&mut self.stream, &framed(frame::METHOD, channel, &args.0)).await
    }

    /// Waits for a method on a channel: its arguments. A close from the broker is an error
    /// with its reason; heartbeats are skipped.
    async fn expect(&mut self, channel: u16, class: u16, method: u16) -> Result<Vec<u8>, String> {
        let deadline = tokio::time::Instant::now() + ANSWER;
        loop {
            let got = tokio::time::timeout_at(deadline, read_frame(&mut self.stream)).await;
            let (kind, on, payload) =
                got.map_err(|_| format!("no answer ({class}.{method}) within {ANSWER:?}"))??;
            if kind != frame::METHOD {
                continue;
            }
            match method_of(&payload) {
                Some((c, m, args)) if (c, m, on) == (class, method, channel) => return Ok(args.to_vec()),
                Some((10, 50, args)) | Some((20, 40, args)) => {
                    return Err(format!("the broker closed: {}", close_reason(args)))
                }
                _ => {}
            }
        }
    }
}

/// A queue's flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFlags {
    /// It survives a broker restart.
    pub durable: bool,
    /// Only this connection uses it.
    pub exclusive: bool,
    /// It goes when its last consumer does.
    pub auto_delete: bool,
}

/// A short string at `at` (moved past it).
fn shortstr(args: &[u8], at: &mut usize) -> Option<String> {
    shortbytes(args, at).map(|s| String::from_utf8_lossy(&s).into_owned())
}

/// A short string's bytes at `at` (moved past it).
fn shortbytes(args: &[u8], at: &mut usize) -> Option<Vec<u8>> {
    let len = usize::from(*args.get(*at)?);
    let s = args.get(*at + 1..*at + 1 + len)?;
    *at += 1 + len;
    Some(s.to_vec())
}

/// A message's properties the client writes and reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// `content-type`.
    pub content_type: Option<String>,
    /// `correlation-id`, as sent (any bytes: it goes back as it came).
    pub correlation_id: Option<Vec<u8>>,
    /// `reply-to`.
    pub reply_to: Option<String>,
}

/// Property flags (the content header's, highest bit first).
mod flag {
    pub const CONTENT_TYPE: u16 = 0x8000;
    pub const CONTENT_ENCODING: u16 = 0x4000;
    pub const HEADERS: u16 = 0x2000;
    pub const DELIVERY_MODE: u16 = 0x1000;
    pub const PRIORITY: u16 = 0x0800;
    pub const CORRELATION_ID: u16 = 0x0400;
    pub const REPLY_TO: u16 = 0x0200;
}

impl Properties {
    /// Reads what a content header's properties say (those before `reply-to` skipped).
    fn read(flags: u16, list: &[u8]) -> Option<Self> {
        let mut at = 0;
        let mut p = Self::default();
        if flags & flag::CONTENT_TYPE != 0 {
            p.content_type = Some(shortstr(list, &mut at)?);
        }
        if flags & flag::CONTENT_ENCODING != 0 {
            shortstr(list, &mut at)?;
        }
        if flags & flag::HEADERS != 0 {
            let len = u32::from_be_bytes(list.get(at..at + 4)?.try_into().ok()?) as usize;
            at = at.checked_add(4)?.checked_add(len)?;
            if at > list.len() {
                return None;
            }
        }
        if flags & flag::DELIVERY_MODE != 0 {
            at += 1;
        }
        if flags & flag::PRIORITY != 0 {
            at += 1;
        }
        if flags & flag::CORRELATION_ID != 0 {
            p.correlation_id = Some(shortbytes(list, &mut at)?);
        }
        if flags & flag::REPLY_TO != 0 {
            p.reply_to = Some(shortstr(list, &mut at)?);
        }
        Some(p)
    }

    fn write(&self, out: &mut Args) {
        let mut flags = 0;
        for (set, bit) in [
            (self.content_type.is_some(), flag::CONTENT_TYPE),
            (self.correlation_id.is_some(), flag::CORRELATION_ID),
            (self.reply_to.is_some(), flag::REPLY_TO),
        ] {
            if set {
                flags |= bit;
            }
        }
        out.short(flags);
        if let Some(v) = &self.content_type {
            out.shortstr(v);
        }
        if let Some(v) = &self.correlation_id {
            out.shortbytes(v);
        }
        if let Some(v) = &self.reply_to {
            out.shortstr(v);
        }
    }
}

/// Makes the frames of what is sent on an open connection's channel 1.
#[derive(Debug, Clone, Copy)]
pub struct Publisher {
    frame_max: u32,
}

impl Publisher {
    /// Basic.Publish of `body` to `exchange` (`""`: the default one) with `routing_key`, as
    /// `content_type`: the method, the content header and the body in frames.
    pub fn publish(&self, exchange: &str, routing_key: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
        let properties = Properties { content_type: Some(content_type.to_owned()), ..Properties::default() };
        self.publish_with(exchange, routing_key, &properties, body)
    }

    /// As [`Publisher::publish`], with these properties.
    pub fn publish_with(
        &self,
        exchange: &str,
        routing_key: &str,
        properties: &Properties,
        body: &[u8],
    ) -> Vec<u8> {
        let mut publish = Args::method(60, 40);
        publish.short(0).shortstr(exchange).shortstr(routing_key).octet(0);
        let mut out = framed(frame::METHOD, 1, &publish.0);
        // The content header: class 60, weight 0, the body's size, then the properties.
        let mut header = Args::default();
        header.short(60).short(0).longlong(body.len() as u64);
        properties.write(&mut header);
        out.extend_from_slice(&framed(frame::HEADER, 1, &header.0));
        for chunk in body.chunks((self.frame_max - 8) as usize) {
            out.extend_from_slice(&framed(frame::BODY, 1, chunk));
        }
        out
    }

    /// A heartbeat frame.
    pub fn heartbeat(&self) -> Vec<u8> {
        framed(frame::HEARTBEAT, 0, &[])
    }
}

/// What the broker sends once the connection is open, as the client takes it.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A heartbeat, part of a delivery, or anything else the client does not act on.
    Nothing,
    /// The broker closes the connection or the channel: why.
    Closed(String),
    /// A message from a queue consumed: the consumer's tag, its properties and its body.
    Delivered {
        /// Which consumer (queue) it is for.
        consumer_tag: String,
        /// Its properties.
        properties: Properties,
        /// Its body.
        body: Vec<u8>,
    },
}

/// A delivery being put together: its method, then its header, then its body frames.
#[derive(Debug, Default)]
pub struct Deliveries {
    consumer_tag: Option<String>,
    header: Option<(u64, Properties)>,
    body: Vec<u8>,
}

impl Deliveries {
    /// Takes one frame; a delivery longer than `limit` is read and dropped.
    pub fn take(&mut self, (kind, _channel, payload): (u8, u16, Vec<u8>), limit: usize) -> Incoming {
        match (kind, method_of(&payload)) {
            (frame::METHOD, Some((10, 50, args))) | (frame::METHOD, Some((20, 40, args))) => {
                return Incoming::Closed(close_reason(args));
            }
            // Basic.Cancel: the broker ended a consumer (its queue was deleted); the
            // connection is of no use as it is (a new one declares the queue again).
            (frame::METHOD, Some((60, 30, args))) => {
                let tag = shortstr(args, &mut 0).unwrap_or_default();
                return Incoming::Closed(format!("consumer {tag} cancelled (its queue deleted?)"));
            }
            (frame::METHOD, Some((60, 60, args))) => {
                *self = Self { consumer_tag: shortstr(args, &mut 0), ..Self::default() };
            }
            (frame::HEADER, _) if self.consumer_tag.is_some() && self.header.is_none() => {
                let size = payload.get(4..12).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
                let flags = payload.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]));
                let properties = flags.and_then(|f| Properties::read(f, &payload[14..]));
                match (size, properties) {
                    (Some(size), Some(p)) => self.header = Some((size, p)),
                    _ => *self = Self::default(),
                }
            }
            (frame::BODY, _) if self.header.is_some() => {
                // Kept up to one byte over the limit: enough to know it is too long.
                let room = (limit.saturating_add(1)).saturating_sub(self.body.len());
                self.body.extend_from_slice(&payload[..payload.len().min(room)]);
                if let Some((size, _)) = &mut self.header {
                    *size = size.saturating_sub(payload.len().saturating_sub(payload.len().min(room)) as u64);
                }
            }
            _ => return Incoming::Nothing,
        }
        match &self.header {
            Some((size, _)) if self.body.len() as u64 >= *size => {
                let done = std::mem::take(self);
                let (Some(consumer_tag), Some((_, properties))) = (done.consumer_tag, done.header) else {
                    return Incoming::Nothing;
                };
                if done.body.len() > limit {
                    tracing::warn!("amqp: a message over {limit} bytes dropped");
                    return Incoming::Nothing;
                }
                Incoming::Delivered { consumer_tag, properties, body: done.body }
            }
            _ => Incoming::Nothing,
        }
    }
}

/// A message the broker delivered: its consumer's tag, its properties and its body.
pub type Delivery = (String, Properties, Vec<u8>);

/// A broker's stream, plain or TLS.
pub type Stream = Box<dyn crate::http_client::Stream>;

/// Keeps a connection to a configured broker until `outgoing` closes, for the RabbitMQ
/// transport and event handler alike. Each connection is opened with [`connect`], then
/// `set_up` declares and consumes what its owner needs and says where deliveries go; a
/// connection that fails or goes is opened again after 1, 2, 4, 8 s (`who` names the owner in
/// the log). Each item of `outgoing` becomes frames with `frames` (which may take more items
/// waiting in the queue: it says how many it took); `done` is told that count once they are
/// written, and a message that could not be written goes first on the next connection.
/// Heartbeats go as agreed; deliveries over `limit` bytes are dropped.
pub async fn keep<T, F, D>(
    who: &'static str,
    broker: &crate::config::AmqpBroker,
    set_up: impl Fn(Connection<Stream>) -> F,
    mut outgoing: tokio::sync::mpsc::Receiver<T>,
    mut frames: impl FnMut(&Publisher, T, &mut tokio::sync::mpsc::Receiver<T>) -> (Vec<u8>, usize),
    done: impl Fn(usize),
    limit: usize,
) where
    F: std::future::Future<Output = Result<(Connection<Stream>, D), String>>,
    D: FnMut(Delivery) + Send + 'static,
{
    let client = match client(broker) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{who}: {e}; not started");
            return;
        }
    };
    let where_ = format!("{}:{}", broker.host, broker.port);
    // A message that could not be written, and how many items it holds.
    let mut unsent: Option<(Vec<u8>, usize)> = None;
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        delay = crate::events::next_retry(delay);
        let opened = async { set_up(connect(&client, broker).await?).await };
        let (connection, mut deliver) = match opened.await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("{who}: couldn't set up RabbitMQ at {where_}: {e} (next try in {delay:?})");
                continue;
            }
        };
        tracing::info!("{who} connected to RabbitMQ at {where_}");
        let agreed = connection.heartbeat_s;
        let heartbeat = match agreed {
            0 => Duration::from_secs(3600),
            s => Duration::from_secs(u64::from(s)) / 2,
        };
        let (stream, publisher) = connection.into_parts();
        let (mut reader, mut writer) = tokio::io::split(stream);
        // The broker's frames, read apart (a read is not cut short by the other branches).
        let (closed_tx, mut closed) = tokio::sync::mpsc::channel::<String>(1);
        let reading = tokio::spawn(async move {
            let mut deliveries = Deliveries::default();
            let why = loop {
                let frame = match read_frame_alive(&mut reader, agreed).await {
                    Ok(f) => f,
                    Err(e) => break e,
                };
                match deliveries.take(frame, limit) {
                    Incoming::Closed(why) => break format!("the broker closed: {why}"),
                    Incoming::Delivered { consumer_tag, properties, body } => {
                        deliver((consumer_tag, properties, body))
                    }
                    Incoming::Nothing => {}
                }
            };
            let _ = closed_tx.send(why).await;
        });
        let mut last_sent = tokio::time::Instant::now();
        let went = loop {
            if let Some((bytes, count)) = unsent.take() {
                if let Err(e) = write(&mut writer, &bytes).await {
                    unsent = Some((bytes, count));
                    break e;
                }
                last_sent = tokio::time::Instant::now();
                done(count);
                delay = Duration::ZERO;
                continue;
            }
            tokio::select! {
                why = closed.recv() => break why.unwrap_or_else(|| "the connection closed".into()),
                () = tokio::time::sleep_until(last_sent + heartbeat) => {
                    if let Err(e) = write(&mut writer, &publisher.heartbeat()).await {
                        break e;
                    }
                    last_sent = tokio::time::Instant::now();
                }
                item = outgoing.recv() => {
                    let Some(item) = item else {
                        reading.abort();
                        return;
                    };
                    unsent = Some(frames(&publisher, item, &mut outgoing));
                }
            }
        };
        reading.abort();
        tracing::warn!("{who}: RabbitMQ at {where_} went away ({went})");
        delay = delay.max(Duration::from_secs(1));
    }
}

/// What a broker sends, read frame by frame as the client takes it (the fuzz target's entry).
pub fn take_from_broker(data: &[u8]) {
    use futures_util::FutureExt;
    let mut stream = data;
    let mut deliveries = Deliveries::default();
    while let Some(Ok(f)) = read_frame(&mut stream).now_or_never() {
        let _ = deliveries.take(f, 4096);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One frame taken by a client that consumes nothing.
    fn take(f: (u8, u16, Vec<u8>)) -> Incoming {
        Deliveries::default().take(f, usize::MAX)
    }

    #[test]
    fn frames_are_amqp_0_9_1() {
        // A body longer than a frame goes in several.
        let p = Publisher { frame_max: 4096 };
        let out = p.publish("", "k", "application/json", &[7; 5000]);
        let mut rest = out.as_slice();
        let mut kinds = Vec::new();
        while let Some(Ok((kind, _, _))) = futures_util::FutureExt::now_or_never(read_frame(&mut rest)) {
            kinds.push(kind);
        }
        assert_eq!(kinds, [frame::METHOD, frame::HEADER, frame::BODY, frame::BODY]);
        let mut a = Args::method(60, 40);
        a.short(0).shortstr("x").shortstr("k").octet(0);
        assert_eq!(
            framed(frame::METHOD, 1, &a.0),
            [1, 0, 1, 0, 0, 0, 11, 0, 60, 0, 40, 0, 0, 1, b'x', 1, b'k', 0, 0xce]
        );
        let close = [0, 20, 0, 40, 0x01, 0x40, 3, b'b', b'y', b'e', 0, 0, 0, 0];
        assert_eq!(take((frame::METHOD, 1, close.to_vec())), Incoming::Closed("320 bye".into()));
        assert_eq!(take((frame::HEARTBEAT, 0, Vec::new())), Incoming::Nothing);
        let mut cancel = Args::method(60, 30);
        cancel.shortstr("janus").octet(1);
        let cancelled = "consumer janus cancelled (its queue deleted?)".to_string();
        assert_eq!(take((frame::METHOD, 1, cancel.0)), Incoming::Closed(cancelled));
    }

    /// What a publisher writes comes back as a delivery, its properties with it, whatever the
    /// body's frames; one over the limit is dropped.
    #[test]
    fn deliveries_are_put_back_together() {
        let p = Publisher { frame_max: 4096 };
        let props = Properties {
            content_type: Some("application/json".into()),
            // Not UTF-8: it must come back as it was.
            correlation_id: Some(vec![b'c', 0xff, 0, b'1']),
            reply_to: Some("Janus".into()),
        };
        let body = vec![b'x'; 9000];
        let out = p.publish_with("", "to-janus", &props, &body);
        let mut frames = Vec::new();
        let mut rest = out.as_slice();
        while let Some(Ok(f)) = futures_util::FutureExt::now_or_never(read_frame(&mut rest)) {
            frames.push(f);
        }
        // The broker's Basic.Deliver in place of our Basic.Publish.
        let mut deliver = Args::method(60, 60);
        deliver.shortstr("tag-1").longlong(1).octet(0).shortstr("").shortstr("to-janus");
        frames[0] = (frame::METHOD, 1, deliver.0);
        let delivered = Incoming::Delivered {
            consumer_tag: "tag-1".into(),
            properties: props.clone(),
            body: body.clone(),
        };
        let mut d = Deliveries::default();
        let got: Vec<Incoming> = frames.iter().cloned().map(|f| d.take(f, 10_000)).collect();
        assert_eq!(got.last(), Some(&delivered));
        let mut d = Deliveries::default();
        assert!(frames.iter().cloned().all(|f| d.take(f, 100) == Incoming::Nothing), "over the limit");
        // The next delivery after a dropped one is taken.
        let again: Vec<Incoming> = frames.iter().cloned().map(|f| d.take(f, 10_000)).collect();
        assert_eq!(again.last(), Some(&delivered));
    }

    #[tokio::test]
    async fn frames_read_back_and_broken_ones_are_refused() {
        let f = framed(frame::BODY, 3, b"hi");
        assert_eq!(read_frame(&mut f.as_slice()).await, Ok((frame::BODY, 3, b"hi".to_vec())));
        let mut no_end = f.clone();
        *no_end.last_mut().unwrap() = 0;
        assert!(read_frame(&mut no_end.as_slice()).await.is_err());
        assert!(read_frame(&mut &f[..5]).await.is_err());
    }
}
