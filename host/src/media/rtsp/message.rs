//! RTSP 1.0 on the wire (RFC 2326): requests we write, and what the server's side of the
//! connection carries: responses, its own requests, and RTP interleaved in `$` frames.
//! Reading is bounded: a head over [`MAX_HEAD`] or a body over [`MAX_BODY`] is an error.

use std::fmt::Write as _;

/// Largest status line plus headers accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest body accepted (a DESCRIBE's SDP).
pub const MAX_BODY: usize = 64 * 1024;

/// A response (or, rarely, a request the server sends us).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The status code; 0 for a request of the server's.
    pub status: u16,
    /// The reason phrase, or the server's request line.
    pub reason: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Message {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every header of this name.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Its CSeq, if it has a valid one.
    pub fn cseq(&self) -> Option<u32> {
        self.header("CSeq")?.trim().parse().ok()
    }
}

/// One item the server's side of the connection carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A response or a request of the server's.
    Message(Message),
    /// An interleaved frame: its channel and its bytes.
    Frame(u8, Vec<u8>),
}

/// Why the connection's bytes cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not RTSP: the reason.
    #[error("malformed RTSP from the server: {0}")]
    Malformed(&'static str),
    /// Over a bound.
    #[error("the server's {0} is too large")]
    TooLarge(&'static str),
}

/// Parses one item at the start of `buf`: the item and how many bytes it took, or `None` when
/// more bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<(Item, usize)>, ReadError> {
    // Some servers send a stray line end after a body: skipped.
    let skip = buf.iter().take_while(|b| **b == b'\r' || **b == b'\n').count();
    if skip > MAX_HEAD {
        return Err(ReadError::TooLarge("header"));
    }
    if skip > 0 {
        return Ok(parse(&buf[skip..])?.map(|(item, used)| (item, used + skip)));
    }
    if buf.first() == Some(&b'$') {
        let Some(head) = buf.get(..4) else { return Ok(None) };
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        return Ok(buf.get(4..4 + len).map(|frame| (Item::Frame(head[1], frame.to_vec()), 4 + len)));
    }
    let Some(span) = crate::framing::split(buf, MAX_HEAD, MAX_BODY, &["Content-Length"])? else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..span.head]).map_err(|_| ReadError::Malformed("not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();
    let (status, reason) = match first.strip_prefix("RTSP/1.0 ") {
        Some(rest) => {
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            let code: u16 = code.parse().map_err(|_| ReadError::Malformed("status code"))?;
            if !(100..=999).contains(&code) {
                return Err(ReadError::Malformed("status code"));
            }
            (code, reason.to_owned())
        }
        None if first.ends_with(" RTSP/1.0") => (0, first.to_owned()),
        None => return Err(ReadError::Malformed("status line")),
    };
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ReadError::Malformed("header line"))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let body = buf[span.head + 4..span.total].to_vec();
    Ok(Some((Item::Message(Message { status, reason, headers, body }), span.total)))
}

impl From<crate::framing::FrameError> for ReadError {
    fn from(e: crate::framing::FrameError) -> Self {
        match e {
            crate::framing::FrameError::Malformed(what) => ReadError::Malformed(what),
            crate::framing::FrameError::TooLarge(what) => ReadError::TooLarge(what),
        }
    }
}

/// Writes a request with its CSeq, our User-Agent and the given headers.
pub fn request(method: &str, uri: &str, cseq: u32, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: Portunus\r\n");
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The answer we give a request of the server's: 501, echoing its CSeq.
pub fn not_implemented(request: &Message) -> Vec<u8> {
    let cseq = request.header("CSeq").unwrap_or("0");
    format!("RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_with_a_body_and_a_frame_after_it() {
        let mut wire =
            b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 3\r\ncontent-type: application/sdp\r\n\r\nv=0"
                .to_vec();
        wire.extend_from_slice(&[b'$', 1, 0, 2, 9, 9]);
        let Some((Item::Message(m), used)) = parse(&wire).unwrap() else { panic!("a message") };
        assert_eq!((m.status, m.cseq(), &m.body[..]), (200, Some(2), &b"v=0"[..]));
        assert_eq!(m.header("Content-Type"), Some("application/sdp"));
        assert_eq!(parse(&wire[used..]).unwrap(), Some((Item::Frame(1, vec![9, 9]), 6)));
    }

    #[test]
    fn partial_input_waits_and_bounds_hold() {
        assert_eq!(parse(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n"), Ok(None));
        assert_eq!(parse(b"RTSP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nab"), Ok(None));
        assert_eq!(parse(&[b'$', 0, 0, 9, 1]), Ok(None));
        assert!(parse(&vec![b'a'; MAX_HEAD + 1]).is_err());
        assert!(parse(b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse(b"RTSP/1.0 2x OK\r\n\r\n").is_err());
        assert!(matches!(parse(b"\r\n$\x00\x00\x01\x07"), Ok(Some((Item::Frame(0, _), 7)))));
        let Some((Item::Message(m), _)) =
            parse(b"GET_PARAMETER rtsp://a RTSP/1.0\r\nCSeq: 7\r\n\r\n").unwrap()
        else {
            panic!("a request")
        };
        assert_eq!(m.status, 0);
        assert!(String::from_utf8(not_implemented(&m)).unwrap().contains("CSeq: 7"));
    }
}
