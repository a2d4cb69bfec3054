//! The gateway behind a NAT learns its public address from a STUN server, as Janus does with
//! `nat: { stun_server, stun_port }`, and advertises it beside its local one.

use crate::harness::Conf;

/// The address this test's STUN server says every asker has, with the asker's own port.
const PUBLIC_IP: &str = "203.0.113.9";

/// A STUN server on loopback: each Binding request gets a success response whose
/// XOR-MAPPED-ADDRESS is [`PUBLIC_IP`] and the asker's port. Returns its port.
fn stun_server() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = socket.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if n < 20 || buf[..2] != [0, 1] {
                continue;
            }
            let ip: std::net::Ipv4Addr = PUBLIC_IP.parse().unwrap();
            let cookie = [0x21u8, 0x12, 0xa4, 0x42];
            let mut value = vec![0, 1];
            value.extend_from_slice(&(from.port() ^ 0x2112).to_be_bytes());
            value.extend(ip.octets().iter().zip(cookie).map(|(b, m)| b ^ m));
            let mut r = vec![0x01, 0x01, 0, 12];
            r.extend_from_slice(&buf[4..20]);
            r.extend_from_slice(&[0, 0x20, 0, 8]);
            r.extend_from_slice(&value);
            let _ = socket.send_to(&r, from);
        }
    });
    port
}

/// Each media socket asked the server: the answer carries a candidate with the public
/// address and the media port beside the local one, and a peer still connects (here by the
/// local one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_address_from_stun_is_advertised() {
    let port = stun_server();
    let conf = Conf { nat: format!("stun_server = \"127.0.0.1\"\nstun_port = {port}"), ..Conf::default() };
    crate::checked_echo(conf, |answer| {
        let candidates: Vec<&str> = answer.lines().filter(|l| l.starts_with("a=candidate:")).collect();
        let local = candidates.iter().find_map(|c| {
            let f: Vec<&str> = c.split_whitespace().collect();
            (f.get(4) == Some(&"127.0.0.1")).then(|| f[5].to_owned())
        });
        let local = local.unwrap_or_else(|| panic!("no local candidate: {answer}"));
        assert!(
            candidates.iter().any(|c| c.contains(&format!(" {PUBLIC_IP} {local} "))),
            "the public address with the media port: {answer}"
        );
    })
    .await;
}
