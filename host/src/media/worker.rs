//! A media thread's loop: reads its UDP socket in batches, the commands, the timers and the plain
//! RTP legs that have packets, and feeds them to its [`MediaCore`]; the datagrams the core
//! produces leave in batches too.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;

use super::core::{MediaCore, TICK};
use super::udp::{RecvBatch, SendBatch, BATCH};

/// Full receive batches read per wake-up before commands and timers get their turn: a flood
/// on the socket never starves them.
const BATCHES_PER_WAKE: usize = 8;
use super::Command;

/// Where a wake-up's reading hands its datagrams.
trait Reader {
    /// One datagram.
    fn datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]);
    /// A full batch was read: its output leaves before more is read.
    fn batch_done(&mut self);
}

impl Reader for MediaCore<SendBatch<'_>> {
    fn datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.receive(now, from, datagram);
    }

    fn batch_done(&mut self) {
        self.finish_round();
    }
}

/// Reads the socket until it is empty or `batches` full batches were read, whichever comes
/// first; returns the datagrams read.
fn read_bounded(socket: &UdpSocket, rx: &mut RecvBatch, to: &mut impl Reader, batches: usize) -> usize {
    let mut read = 0;
    for _ in 0..batches {
        match rx.recv(socket) {
            Ok(n) => {
                let now = Instant::now();
                for (source, datagram) in rx.datagrams() {
                    to.datagram(now, source, datagram);
                }
                read += n;
                if n < BATCH {
                    break;
                }
                to.batch_done();
            }
            Err(e) => {
                if e.kind() != std::io::ErrorKind::WouldBlock {
                    tracing::debug!("media socket: {e}");
                }
                break;
            }
        }
    }
    read
}

/// Runs a core until every command sender is gone.
pub async fn run(
    socket: &UdpSocket,
    mut core: MediaCore<SendBatch<'_>>,
    mut commands: UnboundedReceiver<Command>,
) {
    let mut rx = RecvBatch::default();
    let mut tick = tokio::time::interval(TICK);
    let ready = core.ready();
    let sleep = tokio::time::sleep(TICK);
    tokio::pin!(sleep);
    loop {
        // Reset only when the deadline moves (a thread without timers sleeps a tick at a time).
        match core.next_timeout().map(tokio::time::Instant::from_std) {
            Some(deadline) if deadline != sleep.deadline() || sleep.is_elapsed() => {
                sleep.as_mut().reset(deadline);
            }
            None if sleep.is_elapsed() => sleep.as_mut().reset(tokio::time::Instant::now() + TICK),
            _ => {}
        }
        let waiting_to_send = core.transmitter().pending();
        tokio::select! {
            r = socket.readable() => match r {
                Ok(()) => {
                    read_bounded(socket, &mut rx, &mut core, BATCHES_PER_WAKE);
                }
                Err(e) => tracing::debug!("media socket: {e}"),
            },
            c = commands.recv() => match c {
                Some(c) => {
                    let now = Instant::now();
                    core.command(now, c);
                    // Take whatever else is queued (packets from other media threads come this way).
                    for _ in 0..BATCH {
                        match commands.try_recv() {
                            Ok(c) => core.command(now, c),
                            Err(_) => break,
                        }
                    }
                }
                None => break,
            },
            r = socket.writable(), if waiting_to_send => if let Err(e) = r {
                tracing::debug!("media socket: {e}");
            },
            _ = ready.wake.notified() => core.poll_ready(Instant::now(), &mut rx),
            () = &mut sleep => {}
            _ = tick.tick() => core.housekeeping(Instant::now()),
        }
        // Whatever woke the thread, the timers due by now run on this wake-up (see
        // `super::timers`: a peer's timer waits a little for one).
        core.timeouts(Instant::now());
        core.finish_round();
        core.transmitter().flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Count {
        datagrams: usize,
        batches: usize,
    }

    impl Reader for Count {
        fn datagram(&mut self, _: Instant, _: SocketAddr, _: &[u8]) {
            self.datagrams += 1;
        }

        fn batch_done(&mut self) {
            self.batches += 1;
        }
    }

    /// With more queued than a wake-up may read, a wake-up reads its share and leaves the
    /// rest for the next one (commands and timers go in between).
    #[tokio::test]
    async fn a_wake_up_reads_a_bounded_share_of_a_flood() {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = socket.local_addr().unwrap();
        // Loopback queues a datagram before send_to returns.
        for i in 0..(4 * BATCH) as u32 {
            sender.send_to(&i.to_be_bytes(), to).unwrap();
        }
        let mut rx = RecvBatch::default();
        let mut count = Count::default();
        socket.readable().await.unwrap();
        assert_eq!(read_bounded(&socket, &mut rx, &mut count, 2), 2 * BATCH, "two batches, no more");
        assert_eq!(count.batches, 2, "each full batch's output leaves before the next is read");
        socket.readable().await.unwrap();
        assert_eq!(read_bounded(&socket, &mut rx, &mut count, 8), 2 * BATCH, "the rest, then empty");
        assert_eq!(count.datagrams, 4 * BATCH);
    }
}
