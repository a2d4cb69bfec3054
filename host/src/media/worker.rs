//! A media thread's loop: reads its UDP socket, the commands and the timers, and feeds them to
//! its [`MediaCore`]; the datagrams the core produces leave through the socket.

use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;

use super::core::{MediaCore, Transmitter, TICK};
use super::Command;

/// Sends straight on the socket (a full send buffer drops the datagram, as UDP would).
pub struct SocketOut<'a>(pub &'a UdpSocket);

impl Transmitter for SocketOut<'_> {
    fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
        if let Err(e) = self.0.try_send_to(data, to) {
            tracing::trace!("media send to {to}: {e}");
        }
    }
}

/// Runs a core until every command sender is gone.
pub async fn run<T: Transmitter>(
    socket: &UdpSocket,
    mut core: MediaCore<T>,
    mut commands: UnboundedReceiver<Command>,
) {
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(TICK);
    loop {
        let deadline = core
            .next_timeout()
            .map_or_else(|| tokio::time::Instant::now() + TICK, tokio::time::Instant::from_std);
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, source)) => core.datagram(Instant::now(), source, &buf[..n]),
                Err(e) => tracing::debug!("media socket: {e}"),
            },
            c = commands.recv() => match c {
                Some(c) => core.command(Instant::now(), c),
                None => break,
            },
            _ = tokio::time::sleep_until(deadline) => core.timeouts(Instant::now()),
            _ = tick.tick() => core.housekeeping(Instant::now()),
        }
        core.flush();
    }
}
