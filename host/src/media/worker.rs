//! A media thread's loop: reads its UDP socket in batches, the commands, the timers and the plain
//! RTP legs that have packets, and feeds them to its [`MediaCore`]; the datagrams the core
//! produces leave in batches too.

use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;

use super::core::{MediaCore, TICK};
use super::udp::{RecvBatch, SendBatch, BATCH};

/// Full receive batches read per wake-up before commands and timers get their turn: a flood
/// on the socket never starves them.
const BATCHES_PER_WAKE: usize = 8;
use super::Command;

/// Runs a core until every command sender is gone.
pub async fn run(
    socket: &UdpSocket,
    mut core: MediaCore<SendBatch<'_>>,
    mut commands: UnboundedReceiver<Command>,
) {
    let mut rx = RecvBatch::default();
    let mut tick = tokio::time::interval(TICK);
    let ready = core.ready();
    loop {
        let deadline = core
            .next_timeout()
            .map_or_else(|| tokio::time::Instant::now() + TICK, tokio::time::Instant::from_std);
        let waiting_to_send = core.transmitter().pending();
        tokio::select! {
            r = socket.readable() => match r {
                Ok(()) => for _ in 0..BATCHES_PER_WAKE {
                    match rx.recv(socket) {
                        Ok(n) => {
                            let now = Instant::now();
                            for (source, datagram) in rx.datagrams() {
                                core.datagram(now, source, datagram);
                            }
                            if n < BATCH {
                                break;
                            }
                            // A full batch: hand its output over before reading more.
                            core.flush();
                            core.send_deliveries();
                        }
                        Err(e) => {
                            tracing::debug!("media socket: {e}");
                            break;
                        }
                    }
                },
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
            _ = ready.wake.notified() => core.poll_ready(Instant::now()),
            _ = tokio::time::sleep_until(deadline) => core.timeouts(Instant::now()),
            _ = tick.tick() => core.housekeeping(Instant::now()),
        }
        core.flush();
        core.send_deliveries();
        core.transmitter().flush();
    }
}
