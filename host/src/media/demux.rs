//! First-contact demultiplexing: the local ICE ufrag in a STUN request's USERNAME
//! ("<our ufrag>:<their ufrag>") names the peer a datagram belongs to.

/// The local (first) half of a STUN message's USERNAME attribute, if the datagram is a STUN
/// message that has one. Never panics, whatever the bytes.
pub fn stun_local_ufrag(buf: &[u8]) -> Option<&str> {
    const MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
    const USERNAME: u16 = 0x0006;
    if buf.len() < 20 || buf[0] >= 2 || buf[4..8] != MAGIC {
        return None;
    }
    let end = (20 + usize::from(u16::from_be_bytes([buf[2], buf[3]]))).min(buf.len());
    let mut i = 20;
    while i + 4 <= end {
        let kind = u16::from_be_bytes([buf[i], buf[i + 1]]);
        let len = usize::from(u16::from_be_bytes([buf[i + 2], buf[i + 3]]));
        let value = buf.get(i + 4..i + 4 + len)?;
        if kind == USERNAME {
            return std::str::from_utf8(value).ok()?.split(':').next();
        }
        i += 4 + ((len + 3) & !3);
    }
    None
}

/// Whether a datagram is DTLS (RFC 7983: its first byte is 20 to 63).
pub fn is_dtls(buf: &[u8]) -> bool {
    buf.first().is_some_and(|b| (20..64).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attrs {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(body.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn reads_the_local_ufrag() {
        let m = stun(&[(0x8022, b"x"), (0x0006, b"ours:theirs")]);
        assert_eq!(stun_local_ufrag(&m), Some("ours"));
    }

    #[test]
    fn hostile_datagrams_are_refused() {
        assert_eq!(stun_local_ufrag(&[]), None);
        assert_eq!(stun_local_ufrag(&[0x80; 40]), None); // RTP
        let mut m = stun(&[(0x0006, b"ours:theirs")]);
        m[23] = 200; // attribute longer than the datagram
        assert_eq!(stun_local_ufrag(&m), None);
        let mut m = stun(&[(0x0006, b"ours:theirs")]);
        m[2] = 0xff; // message length beyond the datagram
        assert_eq!(stun_local_ufrag(&m), Some("ours"));
        for len in 0..m.len() {
            let _ = stun_local_ufrag(&m[..len]);
        }
    }
}
