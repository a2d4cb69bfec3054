//! The Nanomsg transport (Janus's `janus.transport.nanomsg`): the Janus API and the admin API
//! each on a Nanomsg PAIR socket (nanomsg's and nng's SP protocol over `ipc://` or `tcp://`),
//! bound (Janus's default) or connecting to the client's address. As with Janus's, a PAIR has
//! one peer at a time and each API is one client of the core (one transport session): the
//! sessions made over it outlive a peer's connection, and their events go to whichever peer is
//! connected (waiting, up to 4096, while none is).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::messages::{self, Messages};
use super::state::TransportState;
use super::Api;
use crate::api::Core;
use crate::config::{Nanomsg, NanomsgSocket};
use crate::nanomsg::{self as sp, Address, Link};

/// Replies and events waiting for a peer; beyond this they are dropped.
const OUTGOING: usize = 4096;
/// Requests waiting for the core.
const INCOMING: usize = 256;

/// One API's traffic as a message connection, whichever peer is connected.
struct Pair {
    from: mpsc::Receiver<Vec<u8>>,
    to: mpsc::Sender<String>,
}

impl Messages for Pair {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        self.from.recv().await
    }

    async fn send(&mut self, text: String) -> bool {
        messages::hand_on(&self.to, text, "Nanomsg transport (no peer takes the messages)")
    }
}

/// Runs the transport until the task is dropped.
pub async fn serve(config: Nanomsg, core: Core, state: Arc<TransportState>) {
    let mut running = Vec::new();
    for (api, socket) in [(Api::Janus, &config.api), (Api::Admin, &config.admin)] {
        let Some(NanomsgSocket { address, bind }) = socket else { continue };
        let address = match Address::parse(address) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!("Nanomsg transport: {e}; not started");
                continue;
            }
        };
        let (requests, from) = mpsc::channel(INCOMING);
        let (to, replies) = mpsc::channel(OUTGOING);
        let id = messages::next_connection_id();
        let core_side = messages::serve(Pair { from, to }, id, core.clone(), api, state.clone(), None);
        let peer_side = peers(address, *bind, requests, replies, core.general().max_request_size);
        running.push(async move {
            tokio::join!(core_side, peer_side);
        });
    }
    join_all(running).await;
}

/// Serves one peer after another: accepted on the bound address, or connected to the peer's
/// (again after 1, 2, 4, 8 s when that fails or the peer goes).
async fn peers(
    address: Address,
    bind: bool,
    requests: mpsc::Sender<Vec<u8>>,
    mut replies: mpsc::Receiver<String>,
    limit: usize,
) {
    let listener = match bind {
        true => match address.bind().await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::error!("Nanomsg transport: cannot bind {address:?}: {e}");
                return;
            }
        },
        false => None,
    };
    let mut delay = Duration::ZERO;
    loop {
        let link = match &listener {
            Some(l) => Ok(l.accept().await),
            None => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                delay = crate::events::next_retry(delay);
                address.connect().await
            }
        };
        let served = match link {
            Ok(link) => serve_peer(link, &address, &requests, &mut replies, limit).await,
            Err(e) => Err(e),
        };
        match served {
            Ok(()) => delay = Duration::from_secs(1),
            Err(e) => tracing::warn!("Nanomsg transport: {address:?}: {e}"),
        }
    }
}

/// One peer's connection: the PAIR headers exchanged, then its requests to the core and the
/// replies and events to it, until it goes. A reply that could not be written is lost with
/// the connection.
async fn serve_peer(
    mut link: Box<dyn Link>,
    address: &Address,
    requests: &mpsc::Sender<Vec<u8>>,
    replies: &mut mpsc::Receiver<String>,
    limit: usize,
) -> Result<(), String> {
    sp::handshake(link.as_mut(), sp::PAIR, sp::PAIR).await?;
    let (mut reader, mut writer) = tokio::io::split(link);
    // Messages are read by a task of their own: a read cut short would lose a message's start.
    let (read_tx, mut read) = mpsc::channel(INCOMING);
    let reading = {
        let address = address.clone();
        tokio::spawn(async move {
            loop {
                let message = address.read_message(&mut reader, limit).await;
                let end = message.is_err();
                if read_tx.send(message).await.is_err() || end {
                    break;
                }
            }
        })
    };
    let result = loop {
        tokio::select! {
            message = read.recv() => match message {
                Some(Ok(m)) => {
                    if requests.send(m).await.is_err() {
                        break Ok(());
                    }
                }
                Some(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break Ok(()),
                Some(Err(e)) => break Err(e.to_string()),
                None => break Ok(()),
            },
            reply = replies.recv() => match reply {
                Some(text) => {
                    if let Err(e) = writer.write_all(&address.frame(text.as_bytes())).await {
                        break Err(e.to_string());
                    }
                }
                None => break Ok(()),
            },
        }
    };
    reading.abort();
    result
}
