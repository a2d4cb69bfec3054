//! Sockets of legs and inputs, read when they have something. A small task per socket waits
//! until it is readable, queues the socket's key and waits until the media thread has drained
//! it, so a wake-up reads only the sockets with packets, however many a thread holds.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// A socket's key: its endpoint's id and an index within the endpoint.
pub type Key = (u64, u8);

/// The sockets of one media thread that have packets waiting.
#[derive(Debug, Default)]
pub struct Ready {
    queue: Mutex<VecDeque<Key>>,
    /// Signalled when a key is queued.
    pub wake: Notify,
}

impl Ready {
    /// Queues a socket (again, when one wake-up did not drain it).
    pub fn push(&self, key: Key) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(key);
        self.wake.notify_one();
    }

    /// The sockets queued so far.
    pub fn take(&self) -> Vec<Key> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).drain(..).collect()
    }
}

/// A socket with its reader task.
#[derive(Debug)]
pub struct Watched {
    /// The socket.
    pub socket: Arc<UdpSocket>,
    reader: AbortHandle,
    drained: Arc<Notify>,
}

impl Watched {
    /// Joins the thread's runtime with `socket` and starts its reader (call on the media
    /// thread).
    pub fn new(socket: std::net::UdpSocket, key: Key, ready: &Arc<Ready>) -> std::io::Result<Self> {
        let socket = Arc::new(UdpSocket::from_std(socket)?);
        let drained = Arc::new(Notify::new());
        let (s, d, q) = (socket.clone(), drained.clone(), ready.clone());
        let reader = tokio::spawn(async move {
            loop {
                if s.readable().await.is_err() {
                    return;
                }
                q.push(key);
                d.notified().await;
            }
        })
        .abort_handle();
        Ok(Self { socket, reader, drained })
    }

    /// The thread read until the socket had nothing more: its reader waits again.
    pub fn drained(&self) {
        self.drained.notify_one();
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
