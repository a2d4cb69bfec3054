//! Files the media thread writes (recordings, packet captures) without waiting for the disk:
//! it appends to a buffer; full buffers (and, every housekeeping tick, what there is) go to one
//! writer thread for all files, which hands the buffers back to be filled again, so nothing is
//! allocated per packet. When the writer falls behind by [`QUEUE`] buffers, buffers are lost
//! and counted rather than the media delayed; when writing fails (a full disk) that file stops.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

use crate::vocab::RecordFile;

/// A buffer goes to the writer when the next piece would not fit in this much.
pub const CHUNK: usize = 64 * 1024;
/// Buffers that may wait for the writer, all files together.
const QUEUE: usize = 1024;

/// A buffer for the writer, and where to hand it back.
struct Chunk {
    file: Arc<RecordFile>,
    what: &'static str,
    data: Vec<u8>,
    back: SyncSender<Vec<u8>>,
}

/// What the writer thread is given: a buffer to write, or a mark to say when it got there.
enum Job {
    Write(Chunk),
    Mark(std::sync::mpsc::Sender<()>),
}

/// The writer thread's queue, once started.
static WRITER: OnceLock<SyncSender<Job>> = OnceLock::new();

/// The writer thread's queue, started with the first file. A file is complete (and renamed,
/// when it has a temporary name) when its last buffer has been written here.
fn writer() -> &'static SyncSender<Job> {
    WRITER.get_or_init(|| {
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let spawned = std::thread::Builder::new().name("file-writer".into()).spawn(move || {
            for job in rx {
                let mut c = match job {
                    Job::Write(c) => c,
                    Job::Mark(reached) => {
                        let _ = reached.send(());
                        continue;
                    }
                };
                if !c.file.failed.load(Ordering::Relaxed) {
                    if let Err(e) = (&c.file.file).write_all(&c.data) {
                        c.file.failed.store(true, Ordering::Relaxed);
                        tracing::warn!("{} {} stopped: {e}", c.what, c.file.path.display());
                    }
                }
                c.data.clear();
                let _ = c.back.try_send(c.data);
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("no file writer: {e}");
        }
        tx
    })
}

/// Waits (at most `within`) until the writer has written everything handed to it so far;
/// false when it did not in time.
pub fn written(within: std::time::Duration) -> bool {
    let Some(writer) = WRITER.get() else { return true };
    let (reached, mark) = std::sync::mpsc::channel();
    let deadline = std::time::Instant::now() + within;
    let mut job = Job::Mark(reached);
    // The queue may be full: try until there is room.
    loop {
        match writer.try_send(job) {
            Ok(()) => break,
            Err(TrySendError::Full(j)) if std::time::Instant::now() < deadline => {
                job = j;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(_) => return false,
        }
    }
    mark.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())).is_ok()
}

/// The media thread's end of a file.
#[derive(Debug)]
pub struct Appender {
    file: Arc<RecordFile>,
    /// What the file is, for the log ("recording", "capture").
    what: &'static str,
    buf: Vec<u8>,
    spare: Receiver<Vec<u8>>,
    back: SyncSender<Vec<u8>>,
    /// Buffers lost to a writer that fell behind.
    lost: u64,
}

impl Appender {
    /// Appends to `file`; `what` names it in the log.
    pub fn new(file: Arc<RecordFile>, what: &'static str) -> Self {
        let (back, spare) = sync_channel(4);
        Self { file, what, buf: Vec::with_capacity(CHUNK), spare, back, lost: 0 }
    }

    /// The buffer, with room for `need` more bytes (what was buffered goes to the writer first
    /// when they would not fit: the buffer never grows); none when writing failed, or when
    /// `need` is more than a buffer holds.
    pub fn room(&mut self, need: usize) -> Option<&mut Vec<u8>> {
        if self.file.failed.load(Ordering::Relaxed) {
            return None;
        }
        if self.buf.len() + need > self.buf.capacity() {
            self.flush();
            if need > self.buf.capacity() {
                return None;
            }
        }
        Some(&mut self.buf)
    }

    /// Bytes buffered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// What the buffer holds at most.
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Hands what is buffered to the writer.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let data = std::mem::replace(&mut self.buf, next);
        let chunk = Chunk { file: self.file.clone(), what: self.what, data, back: self.back.clone() };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            writer().try_send(Job::Write(chunk))
        {
            if crate::logging::time_to_report(&mut self.lost) {
                tracing::warn!(
                    "{} {}: {} buffers lost, the disk is behind",
                    self.what,
                    self.file.path.display(),
                    self.lost
                );
            }
        }
    }
}

impl Drop for Appender {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Files for tests of what the media thread writes.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::vocab::RecordFile;

    /// A new file in the temporary folder, named for `name`.
    pub fn file(name: &str) -> Arc<RecordFile> {
        let path = std::env::temp_dir().join(format!("portunus-{name}-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        Arc::new(RecordFile { path, file, failed: AtomicBool::new(false), complete_as: None })
    }

    /// What was written to `file` once nothing else holds it (the writer has written its last
    /// buffer then); the file is removed.
    pub fn written(file: Arc<RecordFile>) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&file) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let bytes = std::fs::read(&file.path).unwrap();
        let _ = std::fs::remove_file(&file.path);
        bytes
    }
}
