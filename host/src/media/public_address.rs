//! The public address of a media socket behind a NAT, asked of a STUN server as Janus does
//! with `nat: { stun_server, stun_port }`: a Binding request (RFC 5389) from the socket itself,
//! and the XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS) of the answer, which the gateway then
//! advertises beside its local address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// STUN's magic cookie.
const COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// Binding request and success response.
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const MAPPED_ADDRESS: u16 = 0x0001;
const XOR_MAPPED_ADDRESS: u16 = 0x0020;
/// When a request is sent again without an answer (then twice as long each time).
const FIRST_RETRY: Duration = Duration::from_millis(250);
/// How long the gateway waits for its STUN server at start-up.
pub const GIVE_UP: Duration = Duration::from_secs(3);

/// A Binding request with transaction `id`.
fn request(id: &[u8; 12]) -> [u8; 20] {
    let mut r = [0u8; 20];
    r[..2].copy_from_slice(&BINDING_REQUEST.to_be_bytes());
    r[4..8].copy_from_slice(&COOKIE);
    r[8..].copy_from_slice(id);
    r
}

/// The mapped address of a Binding success response to transaction `id`: XOR-MAPPED-ADDRESS,
/// else MAPPED-ADDRESS; none for anything else (another transaction, an error, garbage).
pub fn mapped_address(response: &[u8], id: &[u8; 12]) -> Option<SocketAddr> {
    if response.len() < 20
        || u16::from_be_bytes([response[0], response[1]]) != BINDING_SUCCESS
        || response[4..8] != COOKIE
        || response[8..20] != id[..]
    {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([response[2], response[3]]));
    let body = response.get(20..20 + length)?;
    let (mut at, mut plain) = (0, None);
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body.get(at + 4..at + 4 + len)?;
        match kind {
            XOR_MAPPED_ADDRESS => return address(value, Some(id)),
            MAPPED_ADDRESS => plain = plain.or_else(|| address(value, None)),
            _ => {}
        }
        // Attributes are padded to four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    plain
}

/// An address attribute's value: family, port, address; XOR'd with the cookie (and, for
/// IPv6, the transaction id) when `xor` names the transaction.
fn address(value: &[u8], xor: Option<&[u8; 12]>) -> Option<SocketAddr> {
    let mask: Vec<u8> = match xor {
        Some(id) => COOKIE.iter().chain(id.iter()).copied().collect(),
        None => vec![0; 16],
    };
    let port = u16::from_be_bytes([value.get(2)? ^ mask[0], value.get(3)? ^ mask[1]]);
    let ip = match value.get(1)? {
        1 => {
            let b: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            IpAddr::V4(Ipv4Addr::from(std::array::from_fn::<u8, 4, _>(|i| b[i] ^ mask[i])))
        }
        2 => {
            let b: [u8; 16] = value.get(4..20)?.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(std::array::from_fn::<u8, 16, _>(|i| b[i] ^ mask[i])))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Asks `server` for `socket`'s public address, from the socket itself, sending again while no
/// answer comes, for up to `give_up`. The socket must block (the gateway asks at start-up,
/// before its media threads take their sockets).
pub fn query(socket: &UdpSocket, server: SocketAddr, give_up: Duration) -> std::io::Result<SocketAddr> {
    let id: [u8; 12] = rand::random();
    let message = request(&id);
    let (started, give_up) = (Instant::now(), Instant::now() + give_up);
    let mut wait = FIRST_RETRY;
    let mut buf = [0u8; 1500];
    let result = loop {
        let now = Instant::now();
        if now >= give_up {
            break Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer from the STUN server {server} in {:?}", give_up - started),
            ));
        }
        socket.send_to(&message, server)?;
        let until = (now + wait).min(give_up);
        wait *= 2;
        let answer = loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            socket.set_read_timeout(Some(left))?;
            match socket.recv_from(&mut buf) {
                Ok((n, from)) if from == server => {
                    if let Some(mapped) = mapped_address(&buf[..n], &id) {
                        break Some(mapped);
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    break None
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(mapped) = answer {
            break Ok(mapped);
        }
    };
    socket.set_read_timeout(None)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Binding success response to `id` with these attributes.
    fn response(id: &[u8; 12], attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attributes {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        let mut r = Vec::new();
        r.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(&COOKIE);
        r.extend_from_slice(id);
        r.extend_from_slice(&body);
        r
    }

    /// An XOR-MAPPED-ADDRESS value for an IPv4 address (RFC 5389 §15.2).
    fn xor_v4(addr: SocketAddr) -> Vec<u8> {
        let SocketAddr::V4(a) = addr else { unreachable!() };
        let mut v = vec![0, 1];
        v.extend_from_slice(&(a.port() ^ 0x2112).to_be_bytes());
        v.extend(a.ip().octets().iter().zip(COOKIE).map(|(b, m)| b ^ m));
        v
    }

    #[test]
    fn the_mapped_address_is_read_as_stun_servers_write_it() {
        let id = [7u8; 12];
        let public: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        // A software attribute first (odd length, padded), then the address.
        let r = response(&id, &[(0x8022, b"srv".to_vec()), (XOR_MAPPED_ADDRESS, xor_v4(public))]);
        assert_eq!(mapped_address(&r, &id), Some(public));
        // An old server's MAPPED-ADDRESS.
        let plain = vec![0, 1, 0x9c, 0x40, 203, 0, 113, 9];
        assert_eq!(mapped_address(&response(&id, &[(MAPPED_ADDRESS, plain)]), &id), Some(public));
        // Another transaction, a truncated attribute, nothing: none.
        assert_eq!(mapped_address(&r, &[8u8; 12]), None);
        assert_eq!(mapped_address(&r[..r.len() - 3], &id), None);
        assert_eq!(mapped_address(&response(&id, &[]), &id), None);
    }

    #[test]
    fn a_socket_asks_a_server_and_a_silent_one_gives_up() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = server.local_addr().unwrap();
        let public: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        let answering = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            // The first request is lost; the second is answered.
            let _ = server.recv_from(&mut buf).unwrap();
            let (n, from) = server.recv_from(&mut buf).unwrap();
            let id: [u8; 12] = buf[8..20].try_into().unwrap();
            assert_eq!(&buf[..2], &BINDING_REQUEST.to_be_bytes()[..], "{:?}", &buf[..n]);
            server.send_to(&response(&id, &[(XOR_MAPPED_ADDRESS, xor_v4(public))]), from).unwrap();
        });
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(query(&socket, at, GIVE_UP).unwrap(), public);
        answering.join().unwrap();
        // A port nothing answers on.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let err =
            query(&socket, silent.local_addr().unwrap(), Duration::from_millis(300)).expect_err("no answer");
        assert!(err.to_string().contains("no answer"), "{err}");
    }
}
