//! Batched UDP for a media thread: datagrams are received up to [`BATCH`] per `recvmmsg` and
//! queued for sending to be flushed with one `sendmmsg` per batch (Linux). Buffers are allocated
//! once per thread; sending or receiving a datagram allocates nothing.

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use nix::sys::socket::{recvmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
use socket2::SockAddr;
use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::core::Transmitter;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Largest datagram handled (str0m keeps its output well under a 1500-byte MTU).
const SLOT: usize = 2048;

/// Datagrams waiting to be sent: copies of up to [`BATCH`] datagrams and their destinations.
struct Slots {
    slots: Box<[[u8; SLOT]; BATCH]>,
    lens: [usize; BATCH],
    addrs: [Option<SockAddr>; BATCH],
    queued: usize,
}

impl Default for Slots {
    fn default() -> Self {
        Self {
            slots: Box::new([[0; SLOT]; BATCH]),
            lens: [0; BATCH],
            addrs: std::array::from_fn(|_| None),
            queued: 0,
        }
    }
}

impl Slots {
    fn full(&self) -> bool {
        self.queued == BATCH
    }

    /// Queues a copy of `data` (at most a slot long) for `to`; the batch must not be full.
    fn push(&mut self, to: SocketAddr, data: &[u8]) {
        let i = self.queued;
        self.slots[i][..data.len()].copy_from_slice(data);
        self.lens[i] = data.len();
        self.addrs[i] = Some(SockAddr::from(to));
        self.queued += 1;
    }

    /// Sends datagrams `range` on `socket`; returns how many went (see [`send_many`]).
    fn send(&self, socket: &UdpSocket, range: std::ops::Range<usize>) -> usize {
        send_many(socket, &self.slots[range.clone()], &self.lens[range.clone()], &self.addrs[range])
    }

    /// Drops the first `sent` datagrams; the rest move to the front, in order.
    fn consume(&mut self, sent: usize) {
        let queued = self.queued;
        self.slots.copy_within(sent..queued, 0);
        self.lens.copy_within(sent..queued, 0);
        self.addrs[..queued].rotate_left(sent);
        self.queued = queued - sent;
    }
}

/// Counts datagrams lost to a full socket buffer, with a warning each time the count passes a
/// power of two (1, 2, 4, …).
fn count_dropped(dropped: &mut u64, more: u64, what: &str) {
    let before = *dropped;
    *dropped += more;
    if more > 0 && before.leading_zeros() != dropped.leading_zeros() {
        tracing::warn!("{what} socket buffer full: {dropped} datagrams dropped so far");
    }
}

/// Outgoing datagrams waiting for the next `sendmmsg`.
pub struct SendBatch<'s> {
    socket: &'s UdpSocket,
    out: Slots,
    dropped: u64,
}

impl<'s> SendBatch<'s> {
    /// An empty batch for a socket.
    pub fn new(socket: &'s UdpSocket) -> Self {
        Self { socket, out: Slots::default(), dropped: 0 }
    }

    /// Sends what is queued. When the socket's buffer is full the rest stays queued (in order)
    /// for [`SendBatch::pending`] to report, and the worker flushes again once the socket is
    /// writable; a datagram the kernel refuses outright (no route) is dropped alone.
    pub fn flush(&mut self) {
        if self.out.queued == 0 {
            return;
        }
        let sent = self.out.send(self.socket, 0..self.out.queued);
        // What did not fit waits at the front of the batch, in order.
        self.out.consume(sent);
    }

    /// Datagrams wait for the socket to become writable.
    pub fn pending(&self) -> bool {
        self.out.queued > 0
    }
}

/// UDP segmentation offload (`UDP_SEGMENT`, Linux 4.18+) is used until the kernel refuses it
/// this many times (a device or route that cannot take it): then datagrams go one by one.
const GSO_FAILURES_TO_STOP: u32 = 3;
static GSO_FAILURES: AtomicU32 = AtomicU32::new(0);
/// At most this many bytes in one segmented send (the kernel's limit is 64 KB).
const GSO_MAX_BYTES: usize = 60_000;

/// The control message of a segmented send: `UDP_SEGMENT` with the datagrams' size.
#[repr(C)]
#[derive(Clone, Copy)]
struct Segmented {
    header: libc::cmsghdr,
    size: u16,
}

// SAFETY (both): `CMSG_LEN` and `CMSG_SPACE` are arithmetic on their argument; they read and
// write no memory.
const SEGMENT_LEN: usize = unsafe { libc::CMSG_LEN(2) } as usize;
const SEGMENT_SPACE: usize = unsafe { libc::CMSG_SPACE(2) } as usize;
// The size sits where the kernel reads a control message's data, and the kernel reads no
// further than the struct goes.
const _: () = assert!(std::mem::offset_of!(Segmented, size) + 2 == SEGMENT_LEN);
const _: () = assert!(std::mem::size_of::<Segmented>() >= SEGMENT_SPACE);

/// Sends datagrams on `socket` with `sendmmsg` until all went or its buffer is full; returns
/// how many went. A run of datagrams to one address, all of one size but a shorter last one (a
/// video frame's packets to one viewer), goes as one segmented message: the kernel walks its
/// stack once for the run and cuts it into the same datagrams. A datagram the kernel refuses
/// outright (no route) is skipped and counted as gone.
fn send_many(socket: &UdpSocket, slots: &[[u8; SLOT]], lens: &[usize], addrs: &[Option<SockAddr>]) -> usize {
    let gso = GSO_FAILURES.load(Ordering::Relaxed) < GSO_FAILURES_TO_STOP;
    send_runs(socket, &slots[..slots.len().min(BATCH)], lens, addrs, gso)
}

/// [`send_many`], with runs segmented or not (`gso`).
fn send_runs(
    socket: &UdpSocket,
    slots: &[[u8; SLOT]],
    lens: &[usize],
    addrs: &[Option<SockAddr>],
    gso: bool,
) -> usize {
    let queued = slots.len();
    let mut iovs = [libc::iovec { iov_base: std::ptr::null_mut(), iov_len: 0 }; BATCH];
    // SAFETY: `mmsghdr` and `cmsghdr` are plain C structs of integers and raw pointers, for
    // which all zero bytes (null pointers, zero lengths) is a valid value.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above, `Segmented` being a `cmsghdr` and an integer.
    let mut controls: [Segmented; BATCH] = unsafe { std::mem::zeroed() };
    // Per message: one past its last datagram. (A run has at most `BATCH` datagrams, under
    // the kernel's 64 segments.)
    let mut ends = [0usize; BATCH];
    let mut count = 0;
    let mut i = 0;
    while i < queued {
        let mut j = i + 1;
        if gso && addrs[i].is_some() {
            let size = lens[i];
            while j < queued && addrs[j] == addrs[i] && lens[j] <= size && (j - i + 1) * size <= GSO_MAX_BYTES
            {
                j += 1;
                if lens[j - 1] < size {
                    break;
                }
            }
        }
        for k in i..j {
            iovs[k] = libc::iovec { iov_base: slots[k].as_ptr() as *mut libc::c_void, iov_len: lens[k] };
        }
        if let Some(addr) = &addrs[i] {
            let h = &mut msgs[count].msg_hdr;
            h.msg_name = addr.as_ptr() as *mut libc::c_void;
            h.msg_namelen = addr.len();
            h.msg_iov = &mut iovs[i];
            h.msg_iovlen = j - i;
            if j - i > 1 {
                let c = &mut controls[count];
                c.header.cmsg_len = SEGMENT_LEN as _;
                c.header.cmsg_level = libc::SOL_UDP;
                c.header.cmsg_type = libc::UDP_SEGMENT;
                c.size = lens[i] as u16;
                h.msg_control = c as *mut Segmented as *mut libc::c_void;
                h.msg_controllen = SEGMENT_SPACE as _;
            }
        }
        ends[count] = j;
        count += 1;
        i = j;
    }
    let fd = socket.as_raw_fd();
    let mut sent = 0;
    while sent < count {
        let rest = &mut msgs[sent..count];
        let r = socket.try_io(Interest::WRITABLE, || {
            // SAFETY: every pointer in `rest` points into `iovs`, `controls`, `slots` and
            // `addrs`, which live until after this call and are not touched during it; each
            // `iov_len`, `msg_iovlen`, `msg_controllen` and `msg_namelen` is the length of what
            // it describes; the count is `rest.len()`. The kernel only reads those buffers and
            // writes each message's `msg_len`, a field of `rest`.
            let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), rest.len() as libc::c_uint, 0) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        let first = if sent == 0 { 0 } else { ends[sent - 1] };
        match r {
            Ok(0) => break,
            Ok(k) => sent += k,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if ends[sent] - first > 1 => {
                // The kernel refused the segmented run: it and the rest go one by one.
                if GSO_FAILURES.fetch_add(1, Ordering::Relaxed) + 1 == GSO_FAILURES_TO_STOP {
                    tracing::info!("UDP segmentation refused ({e}): datagrams go one by one from now on");
                }
                let r = first..queued;
                return first + send_runs(socket, &slots[r.clone()], &lens[r.clone()], &addrs[r], false);
            }
            Err(e) => {
                tracing::trace!("media send: {e}; one datagram dropped");
                sent += 1;
            }
        }
    }
    if sent == 0 {
        0
    } else {
        ends[sent - 1]
    }
}

/// Outgoing datagrams of the sockets a thread's legs own, sent together at the end of a
/// round: one `sendmmsg` per run of datagrams for one socket (a video frame's packets to one
/// leg go in one call). What a full socket buffer does not take is dropped, as UDP would.
#[derive(Default)]
pub struct SocketBatch {
    out: Slots,
    sockets: [Option<Arc<UdpSocket>>; BATCH],
    dropped: u64,
}

impl SocketBatch {
    /// Queues a datagram for `socket` (sending what is queued first when the batch is full).
    pub fn push(&mut self, socket: &Arc<UdpSocket>, to: SocketAddr, data: &[u8]) {
        if data.len() > SLOT {
            if let Err(e) = socket.try_send_to(data, to) {
                tracing::trace!("leg send to {to}: {e}");
            }
            return;
        }
        if self.out.full() {
            self.flush();
        }
        self.sockets[self.out.queued] = Some(socket.clone());
        self.out.push(to, data);
    }

    /// Sends what is queued, one system call per run of one socket's datagrams.
    pub fn flush(&mut self) {
        let queued = std::mem::take(&mut self.out.queued);
        let mut start = 0;
        while start < queued {
            let Some(socket) = self.sockets[start].take() else { break };
            let mut end = start + 1;
            while end < queued && self.sockets[end].as_ref().is_some_and(|s| Arc::ptr_eq(s, &socket)) {
                self.sockets[end] = None;
                end += 1;
            }
            let sent = self.out.send(&socket, start..end);
            count_dropped(&mut self.dropped, (end - start - sent) as u64, "leg");
            start = end;
        }
    }
}

impl Transmitter for SendBatch<'_> {
    fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
        if data.len() > SLOT {
            if let Err(e) = self.socket.try_send_to(data, to) {
                tracing::trace!("media send to {to}: {e}");
            }
            return;
        }
        if self.out.full() {
            self.flush();
            if self.out.full() {
                // The socket's buffer is full and the batch too: this one is lost, as UDP would.
                count_dropped(&mut self.dropped, 1, "media");
                return;
            }
        }
        self.out.push(to, data);
    }
}

/// Buffers for receiving up to [`BATCH`] datagrams per system call.
pub struct RecvBatch {
    slots: Box<[[u8; SLOT]; BATCH]>,
    got: [(usize, Option<SocketAddr>); BATCH],
    count: usize,
    headers: MultiHeaders<SockaddrStorage>,
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self {
            slots: Box::new([[0; SLOT]; BATCH]),
            got: [(0, None); BATCH],
            count: 0,
            headers: MultiHeaders::preallocate(BATCH, None),
        }
    }
}

fn std_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

impl RecvBatch {
    /// Reads what the socket has (without waiting): `Ok(0)` when nothing is there. Datagrams
    /// larger than a slot are truncated by the kernel and skipped.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let fd = socket.as_raw_fd();
        let headers = &mut self.headers;
        let got = &mut self.got;
        let mut iov: [[IoSliceMut<'_>; 1]; BATCH] = {
            let mut rest: &mut [[u8; SLOT]] = &mut self.slots[..];
            std::array::from_fn(|_| {
                let (first, tail) = std::mem::take(&mut rest).split_at_mut(1);
                rest = tail;
                [IoSliceMut::new(&mut first[0][..])]
            })
        };
        let mut n = 0;
        let r = socket.try_io(Interest::READABLE, || {
            let results = recvmmsg(fd, headers, iov.iter_mut(), MsgFlags::MSG_DONTWAIT, None)?;
            for (slot, msg) in got.iter_mut().zip(results) {
                let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
                *slot = (if truncated { 0 } else { msg.bytes }, msg.address.as_ref().and_then(std_addr));
                n += 1;
            }
            // A short batch emptied the socket: said as WouldBlock, so that the socket is no
            // longer taken as readable and the loop parks, instead of coming back at once for
            // a read that finds nothing (a system call and a loop turn per wake-up). Nothing
            // is missed: the socket is edge-triggered, and a datagram arriving after this
            // read is a new edge that the next wait reports.
            match n < BATCH {
                true => Err(io::ErrorKind::WouldBlock.into()),
                false => Ok(()),
            }
        });
        self.count = match r {
            Ok(()) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => n,
            Err(e) => return Err(e),
        };
        Ok(self.count)
    }

    /// The datagrams of the last [`RecvBatch::recv`], with their sources, to change in place
    /// (SRTP is removed where the datagram lies).
    pub fn datagrams(&mut self) -> impl Iterator<Item = (SocketAddr, &mut [u8])> {
        self.got[..self.count]
            .iter()
            .zip(self.slots.iter_mut())
            .filter_map(|((len, from), buf)| Some((from.as_ref().copied()?, &mut buf[..*len])))
            .filter(|(_, d)| !d.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A send buffer too small for a batch: what does not fit waits for writability and goes
    /// out in order, instead of being dropped with the rest of the batch.
    #[tokio::test]
    async fn a_full_send_buffer_delays_the_rest_of_the_batch_instead_of_dropping_it() {
        const ROUNDS: u32 = 20;
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        // The receiver reads all along (its own buffer must not be what drops).
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            while let Ok(Ok((n, _))) =
                tokio::time::timeout(std::time::Duration::from_secs(2), receiver.recv_from(&mut buf)).await
            {
                assert_eq!(n, 1400);
                got.push(u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
                if got.len() == (ROUNDS as usize) * BATCH {
                    break;
                }
            }
            got
        });
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket2::SockRef::from(&sender).set_send_buffer_size(4096).unwrap();
        sender.set_nonblocking(true).unwrap();
        let sender = UdpSocket::from_std(sender).unwrap();
        let mut batch = SendBatch::new(&sender);
        let mut waited = false;
        for round in 0..ROUNDS {
            for i in 0..BATCH as u32 {
                let mut d = vec![0u8; 1400];
                d[..4].copy_from_slice(&(round * BATCH as u32 + i).to_be_bytes());
                batch.transmit(to, &d);
            }
            batch.flush();
            while batch.pending() {
                waited = true;
                sender.writable().await.unwrap();
                batch.flush();
            }
            tokio::task::yield_now().await;
        }
        let got = reader.await.unwrap();
        if !waited {
            eprintln!("SKIPPED: the send buffer never filled on this machine; the path was not exercised");
        }
        let want: Vec<u32> = (0..ROUNDS * BATCH as u32).collect();
        assert_eq!(got, want, "every datagram, in order");
    }

    /// Runs of datagrams to one address go segmented (one size, a shorter last one): each
    /// destination gets every datagram, whole, in order, whatever the sizes and how they
    /// interleave.
    #[tokio::test]
    async fn segmented_runs_arrive_as_the_same_datagrams() {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sender.writable().await.unwrap();
        let mut batch = SendBatch::new(&sender);
        // (destination, size): a run of three with a shorter last, one that grows (two runs),
        // another address between, one alone.
        let plan: [(u8, usize); 10] = [
            (0, 1000),
            (0, 1000),
            (0, 900),
            (1, 500),
            (0, 1000),
            (0, 1000),
            (0, 1001),
            (0, 1001),
            (1, 200),
            (0, 30),
        ];
        let to = [a.local_addr().unwrap(), b.local_addr().unwrap()];
        for (n, (dst, size)) in plan.iter().enumerate() {
            batch.transmit(to[usize::from(*dst)], &vec![n as u8; *size]);
        }
        batch.flush();
        assert!(!batch.pending());
        assert_eq!(GSO_FAILURES.load(Ordering::Relaxed), 0, "the kernel took the segmented runs");
        for (i, socket) in [&a, &b].into_iter().enumerate() {
            let want: Vec<(u8, usize)> = plan
                .iter()
                .enumerate()
                .filter(|(_, (d, _))| usize::from(*d) == i)
                .map(|(n, (_, s))| (n as u8, *s))
                .collect();
            let mut got = Vec::new();
            let mut buf = [0u8; 2048];
            for _ in 0..want.len() {
                let (n, _) =
                    tokio::time::timeout(std::time::Duration::from_secs(2), socket.recv_from(&mut buf))
                        .await
                        .expect("every datagram")
                        .unwrap();
                assert!(buf[..n].iter().all(|b| *b == buf[0]), "datagram {} whole", buf[0]);
                got.push((buf[0], n));
            }
            assert_eq!(got, want, "destination {i}");
        }
    }

    /// Datagrams of several sockets, interleaved: each reaches its destination from its own
    /// socket, in order.
    #[tokio::test]
    async fn a_socket_batch_sends_each_datagram_from_its_own_socket_in_order() {
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = receiver.local_addr().unwrap();
        // As try_send_to, a send waits for tokio to have seen the socket writable once.
        a.writable().await.unwrap();
        b.writable().await.unwrap();
        let mut batch = SocketBatch::default();
        let order = [&a, &a, &a, &b, &b, &a, &b];
        // More than one batch: the first fills it and goes out when the next is pushed.
        for round in 0..10u8 {
            for (i, s) in order.iter().enumerate() {
                batch.push(s, to, &[round, i as u8]);
            }
        }
        batch.flush();
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        for _ in 0..order.len() * 10 {
            let (n, from) =
                tokio::time::timeout(std::time::Duration::from_secs(2), receiver.recv_from(&mut buf))
                    .await
                    .expect("every datagram")
                    .unwrap();
            assert_eq!(n, 2);
            let sender = if from == a.local_addr().unwrap() { 'a' } else { 'b' };
            got.push((buf[0], buf[1], sender));
        }
        let names: Vec<char> = order.iter().map(|s| if Arc::ptr_eq(s, &a) { 'a' } else { 'b' }).collect();
        let want: Vec<(u8, u8, char)> =
            (0..10u8).flat_map(|r| names.iter().enumerate().map(move |(i, n)| (r, i as u8, *n))).collect();
        assert_eq!(got, want, "each from its socket, in order");
    }
}
