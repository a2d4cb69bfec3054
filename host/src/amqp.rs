//! An AMQP 0-9-1 client of our own, as much as Janus's RabbitMQ event handler needs: it logs in
//! (PLAIN, a virtual host, the heartbeat asked for), opens a channel, declares an exchange and
//! a queue, and publishes (with a content type), answering the broker's heartbeats and closes.

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
        let s = &s.as_bytes()[..s.len().min(255)];
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
        start_ok.empty_table().shortstr("PLAIN").longstr(&response).shortstr("en_US");
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
        let mut declare = Args::method(50, 10);
        declare.short(0).shortstr(name).octet(0).empty_table();
        self.send_method(1, declare).await?;
        self.expect(1, 50, 11).await.map(drop)
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

/// Makes the frames of what is sent on an open connection's channel 1.
#[derive(Debug, Clone, Copy)]
pub struct Publisher {
    frame_max: u32,
}

impl Publisher {
    /// Basic.Publish of `body` to `exchange` (`""`: the default one) with `routing_key`, as
    /// `content_type`: the method, the content header and the body in frames.
    pub fn publish(&self, exchange: &str, routing_key: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
        let mut publish = Args::method(60, 40);
        publish.short(0).shortstr(exchange).shortstr(routing_key).octet(0);
        let mut out = framed(frame::METHOD, 1, &publish.0);
        // The content header: class 60, weight 0, the body's size, then the content type only.
        let mut header = Args::default();
        header.short(60).short(0).longlong(body.len() as u64).short(0x8000).shortstr(content_type);
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
    /// A heartbeat, or anything else the client does not act on.
    Nothing,
    /// The broker closes the connection or the channel: why.
    Closed(String),
}

/// Takes one frame from the broker.
pub fn take((kind, _channel, payload): (u8, u16, Vec<u8>)) -> Incoming {
    match (kind, method_of(&payload)) {
        (frame::METHOD, Some((10, 50, args))) | (frame::METHOD, Some((20, 40, args))) => {
            Incoming::Closed(close_reason(args))
        }
        _ => Incoming::Nothing,
    }
}

/// What a broker sends, read frame by frame as the client takes it (the fuzz target's entry).
pub fn take_from_broker(data: &[u8]) {
    use futures_util::FutureExt;
    let mut stream = data;
    while let Some(Ok(f)) = read_frame(&mut stream).now_or_never() {
        let _ = take(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
