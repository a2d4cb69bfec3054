//! Text messages framed as HTTP's, RTSP's and SIP's on a stream: a head (a start line and
//! headers) ended by an empty line, then as many bytes of body as its `Content-Length` says
//! (none without one). Finding where a message ends is bounded: a head over `max_head` or a
//! body over `max_body` is an error, not more buffering.

/// Why a stream's bytes cannot be split into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A header that frames the message cannot be read (its name).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// Over a bound (`header` or `body`).
    #[error("the {0} is too large")]
    TooLarge(&'static str),
}

/// Where the message at the start of a buffer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The head's length, without the empty line that ends it.
    pub head: usize,
    /// The whole message's length: head, empty line and body.
    pub total: usize,
}

/// The message at the start of `buf`, or `None` when more bytes are needed. `length` names
/// the headers that give the body's length (case-insensitive; SIP's compact form is `l`).
pub fn split(
    buf: &[u8],
    max_head: usize,
    max_body: usize,
    length: &[&str],
) -> Result<Option<Span>, FrameError> {
    let Some(head) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > max_head { Err(FrameError::TooLarge("header")) } else { Ok(None) };
    };
    if head > max_head {
        return Err(FrameError::TooLarge("header"));
    }
    let mut body = 0;
    for line in buf[..head].split(|b| *b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let name = line[..colon].trim_ascii();
        if length.iter().any(|l| name.eq_ignore_ascii_case(l.as_bytes())) {
            body = std::str::from_utf8(line[colon + 1..].trim_ascii())
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or(FrameError::Malformed("Content-Length"))?;
        }
    }
    if body > max_body {
        return Err(FrameError::TooLarge("body"));
    }
    let total = head + 4 + body;
    Ok((buf.len() >= total).then_some(Span { head, total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENGTH: &[&str] = &["Content-Length", "l"];

    #[test]
    fn heads_and_bodies() {
        let m = b"MESSAGE sip:a SIP/2.0\r\nl: 3\r\n\r\nabcNEXT";
        assert_eq!(split(m, 100, 100, LENGTH), Ok(Some(Span { head: 27, total: 34 })));
        assert_eq!(split(&m[..33], 100, 100, LENGTH), Ok(None), "the body is not all there");
        assert_eq!(
            split(b"OPTIONS x SIP/2.0\r\n\r\n", 100, 100, LENGTH),
            Ok(Some(Span { head: 17, total: 21 }))
        );
        assert_eq!(
            split(b"A\r\ncontent-length:  2 \r\n\r\nab", 100, 100, LENGTH).unwrap().unwrap().total,
            28
        );
        assert_eq!(
            split(b"A\r\nContent-Length: x\r\n\r\n", 100, 100, LENGTH),
            Err(FrameError::Malformed("Content-Length"))
        );
        assert_eq!(
            split(b"A\r\nContent-Length: 101\r\n\r\n", 100, 100, LENGTH),
            Err(FrameError::TooLarge("body"))
        );
        assert_eq!(split(&[b'a'; 101], 100, 100, LENGTH), Err(FrameError::TooLarge("header")));
        assert_eq!(split(&[b'a'; 100], 100, 100, LENGTH), Ok(None));
    }
}
