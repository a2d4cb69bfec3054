//! The ICMP errors a plugin's UDP sends bring back (`IP_RECVERR`): which addresses refused
//! a datagram (port or host unreachable), so that the plugin learns at once that nothing
//! there will answer, as Janus's SIP stack does, instead of waiting out its timers.
//!
//! An unconnected UDP socket hears of ICMP errors only with `IP_RECVERR` on. The kernel then
//! queues each error, with the destination of the datagram that caused it, in the socket's
//! error queue, and the next read fails once; the queue is read with `MSG_ERRQUEUE`. It must
//! be read: its entries count against the socket's receive buffer.

use std::net::SocketAddr;

/// Asks the kernel for the ICMP errors of `socket`'s sends (Linux; elsewhere nothing).
pub fn enable(socket: &std::net::UdpSocket) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let v6 = socket.local_addr()?.is_ipv6();
        let (level, name) =
            if v6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVERR) } else { (libc::IPPROTO_IP, libc::IP_RECVERR) };
        let on: libc::c_int = 1;
        // SAFETY: the descriptor is open while `socket` lives; the option value is a c_int
        // read by the kernel during the call, and its length is that of a c_int.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
    Ok(())
}

/// Whether a send or read failed as an ICMP error of an earlier send makes it fail once (the
/// error's details wait in the queue; a send so failed may be tried again).
pub fn is_earlier(e: &std::io::Error) -> bool {
    e.raw_os_error().is_some_and(refusal)
}

/// Whether an error number is one of a refused datagram: port (ECONNREFUSED), host or network
/// unreachable, or administratively prohibited (EACCES).
fn refusal(errno: i32) -> bool {
    matches!(errno, libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EACCES)
}

/// Errors read from the queue at most per call: more than a receive buffer holds.
const MAX_PER_DRAIN: usize = 4096;

/// Empties `fd`'s error queue; returns the destinations the network refused, each once: an
/// ICMP or ICMPv6 "destination unreachable" (port, host, network, prohibited), not a time
/// exceeded or a "fragmentation needed" (a route that loops a while, or a path's MTU, are
/// no refusal).
#[cfg(target_os = "linux")]
pub fn refused(fd: std::os::fd::RawFd) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    for _ in 0..MAX_PER_DRAIN {
        // SAFETY: all-zero bytes are a valid sockaddr_storage and msghdr (plain C structs).
        let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        // u64s: aligned for the cmsghdr the kernel writes there.
        let mut control = [0u64; 32];
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: byte.len() };
        // SAFETY: as above.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: every pointer in `msg` points at a live local of the length given beside it;
        // the kernel writes within those lengths and never keeps the pointers.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if n < 0 {
            break;
        }
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            continue;
        }
        let mut refused = false;
        // SAFETY: `msg` was filled by recvmsg above; CMSG_FIRSTHDR/CMSG_NXTHDR walk its control
        // buffer within `msg_controllen` and return null at its end.
        let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        let whole = std::mem::size_of::<libc::sock_extended_err>() as u32;
        while !cmsg.is_null() {
            // SAFETY: a non-null cmsg points at a header inside `control`.
            let c = unsafe { &*cmsg };
            let ours = (c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_RECVERR)
                || (c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_RECVERR);
            // SAFETY: CMSG_LEN only computes a length.
            if ours && c.cmsg_len as usize >= unsafe { libc::CMSG_LEN(whole) } as usize {
                // SAFETY: an IP_RECVERR/IPV6_RECVERR message carries a sock_extended_err at
                // CMSG_DATA (ip(7), ipv6(7)), whole as `cmsg_len` says; read unaligned, as a copy.
                let ee: libc::sock_extended_err =
                    unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
                // ICMP type 3 and ICMPv6 type 1 are "destination unreachable".
                let unreachable = (ee.ee_origin == libc::SO_EE_ORIGIN_ICMP && ee.ee_type == 3)
                    || (ee.ee_origin == libc::SO_EE_ORIGIN_ICMP6 && ee.ee_type == 1);
                refused |= unreachable && refusal(ee.ee_errno as i32);
            }
            // SAFETY: as for CMSG_FIRSTHDR.
            cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
        }
        if let Some(to) = refused.then(|| address(&name)).flatten() {
            if !out.contains(&to) {
                out.push(to);
            }
        }
    }
    out
}

/// The address in `name`, an IPv4 or IPv6 one.
#[cfg(target_os = "linux")]
fn address(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match name.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large and
            // aligned enough for.
            let a = unsafe { &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::from((ip, u16::from_be(a.sin6_port))))
        }
        _ => None,
    }
}

/// Elsewhere the errors are not asked for, so there are none.
#[cfg(not(target_os = "linux"))]
pub fn refused(_fd: i32) -> Vec<SocketAddr> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_closed_port_is_reported_with_its_address() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        enable(&socket).unwrap();
        // A port bound and closed: nothing listens there now.
        let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let open = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.send_to(b"hello", closed).unwrap();
        // The error fails the next call once, a send (loopback answers at once, before it) or
        // a read; then the queue tells where.
        let err = socket.send_to(b"hello", open.local_addr().unwrap()).unwrap_err();
        assert!(is_earlier(&err), "{err}");
        socket.send_to(b"hello", open.local_addr().unwrap()).unwrap();
        assert_eq!(refused(socket.as_raw_fd()), vec![closed]);
        socket.send_to(b"again", closed).unwrap();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 16];
        let err = socket.recv_from(&mut buf).unwrap_err();
        assert!(is_earlier(&err), "{err}");
        assert_eq!(refused(socket.as_raw_fd()), vec![closed]);
        assert_eq!(open.recv_from(&mut buf).unwrap().0, 5, "the open port got the datagram sent again");
        assert_eq!(refused(socket.as_raw_fd()), Vec::<SocketAddr>::new(), "the queue is empty");
    }
}
