//! Nanomsg's scalability protocols (SP, what nanomsg and nng speak) over `ipc://` and `tcp://`,
//! as much as Janus's Nanomsg event handler (a PUB socket) and transport (a PAIR socket) need:
//! addresses, the protocol header each peer sends first, and the framing of messages.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The PAIR protocol.
pub const PAIR: u16 = 16;
/// The PUB protocol.
pub const PUB: u16 = 32;
/// The SUB protocol (a PUB socket's peer).
pub const SUB: u16 = 33;
/// How long a peer may take to connect and send its header.
pub const HANDSHAKE: Duration = Duration::from_secs(10);

/// Where a socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `ipc://<path>`: a Unix stream socket.
    Ipc(PathBuf),
    /// `tcp://<host>:<port>` (`*` for every address when binding).
    Tcp(String),
}

impl Address {
    /// An `ipc://` or `tcp://` address.
    pub fn parse(address: &str) -> Result<Self, String> {
        let host_port =
            |s: &str| s.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        match address.split_once("://") {
            Some(("ipc", path)) if !path.is_empty() => Ok(Address::Ipc(PathBuf::from(path))),
            Some(("tcp", rest)) if host_port(rest) => Ok(Address::Tcp(rest.replacen('*', "0.0.0.0", 1))),
            _ => Err(format!("address: '{address}' is not an ipc:// path or a tcp://host:port")),
        }
    }

    /// A message as this transport frames it: its length on eight bytes (after a message-type
    /// byte, 1, over IPC), then it.
    pub fn frame(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 9);
        if matches!(self, Address::Ipc(_)) {
            out.push(1);
        }
        out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// Reads one message framed as [`Address::frame`] frames it. One longer than `limit` is
    /// skipped and read as empty (a request the core then refuses with 454).
    pub async fn read_message(
        &self,
        from: &mut (impl AsyncRead + Unpin),
        limit: usize,
    ) -> std::io::Result<Vec<u8>> {
        if matches!(self, Address::Ipc(_)) {
            let kind = from.read_u8().await?;
            if kind != 1 {
                return Err(std::io::Error::other(format!("an IPC message of type {kind}")));
            }
        }
        let len = from.read_u64().await?;
        if len > limit as u64 {
            tracing::warn!("nanomsg: a message of {len} bytes (at most {limit} taken) skipped");
            let skipped = tokio::io::copy(&mut (&mut *from).take(len), &mut tokio::io::sink()).await?;
            if skipped < len {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            return Ok(Vec::new());
        }
        let mut message = vec![0; len as usize];
        from.read_exact(&mut message).await?;
        Ok(message)
    }

    /// Connects to the address.
    pub async fn connect(&self) -> Result<Box<dyn Link>, String> {
        let connecting = async {
            match self {
                Address::Ipc(path) => {
                    Ok(Box::new(tokio::net::UnixStream::connect(path).await?) as Box<dyn Link>)
                }
                Address::Tcp(host_port) => {
                    let stream = tokio::net::TcpStream::connect(host_port.as_str()).await?;
                    let _ = stream.set_nodelay(true);
                    Ok(Box::new(stream) as Box<dyn Link>)
                }
            }
        };
        match tokio::time::timeout(HANDSHAKE, connecting).await {
            Ok(r) => r.map_err(|e: std::io::Error| e.to_string()),
            Err(_) => Err(format!("not connected within {HANDSHAKE:?}")),
        }
    }

    /// Binds the address (a file already at an IPC path is replaced).
    pub async fn bind(&self) -> Result<Listener, String> {
        match self {
            Address::Ipc(path) => {
                let _ = std::fs::remove_file(path);
                tokio::net::UnixListener::bind(path).map(Listener::Ipc).map_err(|e| e.to_string())
            }
            Address::Tcp(host_port) => tokio::net::TcpListener::bind(host_port.as_str())
                .await
                .map(Listener::Tcp)
                .map_err(|e| e.to_string()),
        }
    }
}

/// A connection to a peer, either transport.
pub trait Link: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Link for T {}

/// A bound address.
pub enum Listener {
    /// An IPC path.
    Ipc(tokio::net::UnixListener),
    /// A TCP address.
    Tcp(tokio::net::TcpListener),
}

impl Listener {
    /// The next peer (transient failures, such as running out of descriptors, wait a little
    /// and try again).
    pub async fn accept(&self) -> Box<dyn Link> {
        loop {
            let accepted = match self {
                Listener::Ipc(l) => l.accept().await.map(|(s, _)| Box::new(s) as Box<dyn Link>),
                Listener::Tcp(l) => l.accept().await.map(|(s, _)| {
                    let _ = s.set_nodelay(true);
                    Box::new(s) as Box<dyn Link>
                }),
            };
            match accepted {
                Ok(link) => return link,
                Err(e) => {
                    tracing::warn!("nanomsg accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Sends our protocol header (`\0SP\0`, `ours`, two reserved bytes) and checks the peer's
/// speaks `theirs`.
pub async fn handshake(link: &mut dyn Link, ours: u16, theirs: u16) -> Result<(), String> {
    let mut header = [0, b'S', b'P', 0, 0, 0, 0, 0];
    header[4..6].copy_from_slice(&ours.to_be_bytes());
    let mut got = [0u8; 8];
    let exchanged = async {
        link.write_all(&header).await?;
        link.read_exact(&mut got).await
    };
    match tokio::time::timeout(HANDSHAKE, exchanged).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no SP header within {HANDSHAKE:?}")),
    }
    let protocol = u16::from_be_bytes([got[4], got[5]]);
    if got[..4] != header[..4] || protocol != theirs {
        return Err(format!("the peer does not speak protocol {theirs} (its header: {got:?})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_frames_are_nanomsgs() {
        assert_eq!(Address::parse("ipc:///tmp/janusevh.ipc"), Ok(Address::Ipc("/tmp/janusevh.ipc".into())));
        assert_eq!(Address::parse("tcp://*:5555"), Ok(Address::Tcp("0.0.0.0:5555".into())));
        assert_eq!(Address::parse("tcp://127.0.0.1:5555"), Ok(Address::Tcp("127.0.0.1:5555".into())));
        for bad in ["ws://x:1", "tcp://x", "tcp://:1", "ipc://", "/tmp/x"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Address::Ipc("/x".into()).frame(b"hi"), [1, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(Address::Tcp("h:1".into()).frame(b"hi"), [0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }

    #[tokio::test]
    async fn messages_read_back_as_framed() {
        for address in [Address::Ipc("/x".into()), Address::Tcp("h:1".into())] {
            let framed = [address.frame(b"one"), address.frame(b"")].concat();
            let mut from = framed.as_slice();
            assert_eq!(address.read_message(&mut from, 10).await.unwrap(), b"one");
            assert_eq!(address.read_message(&mut from, 10).await.unwrap(), b"");
            assert!(address.read_message(&mut from, 10).await.is_err(), "the end");
            let long = [address.frame(&[0; 11]), address.frame(b"two")].concat();
            let mut from = long.as_slice();
            assert_eq!(address.read_message(&mut from, 10).await.unwrap(), b"", "over the limit: skipped");
            assert_eq!(address.read_message(&mut from, 10).await.unwrap(), b"two");
        }
    }
}
