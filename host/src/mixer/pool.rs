//! The mixing threads: a small fixed pool (not a thread per room), each running its rooms on
//! one 20 ms clock. Media threads hand them participants' packets in batches; what they mix
//! goes back to the media thread that owns each port, one batch per thread and tick.

use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::room::{MixFrame, PortStats, Room};
use crate::vocab::{HandleRef, MediaEvent, MixCodec, MixerSpec, PortSettings};

/// A tick.
pub const TICK: Duration = Duration::from_millis(20);

/// A packet from a participant, for its mixer.
#[derive(Debug, Clone)]
pub struct MixIn {
    /// The port it arrived for.
    pub port: u64,
    /// Its codec.
    pub codec: MixCodec,
    /// Its extended sequence number.
    pub seq: u64,
    /// The Opus packet.
    pub payload: Arc<[u8]>,
}

/// Work for a mixing thread.
pub enum Job {
    /// A new mixer.
    Create(u64, MixerSpec),
    /// A mixer goes, with its participants.
    Destroy(u64),
    /// A participant joins a mixer: port, mixer, its media thread, its owner, its codec,
    /// settings.
    Join(u64, u64, usize, Option<HandleRef>, MixCodec, PortSettings),
    /// A participant's settings change.
    Set(u64, PortSettings),
    /// A participant's decoder starts over.
    ResetDecoder(u64),
    /// A participant leaves.
    Leave(u64),
    /// Packets for participants.
    Packets(Vec<MixIn>),
    /// A participant's counters.
    Stats(u64, Sender<Option<PortStats>>),
    /// A mixer's whole mix is recorded to a file (none: no longer), with who hears a failure.
    Record(u64, Option<std::fs::File>, super::record::Failed),
}

/// Where mixed frames go: a media thread's index and its batch.
pub type Outlet = Arc<dyn Fn(usize, Vec<MixFrame>) + Send + Sync>;

/// Where a port's news goes: its owner's media event (`talking`).
pub type Told = Arc<dyn Fn(HandleRef, MediaEvent) + Send + Sync>;

/// The pool: one job queue per thread. A mixer and its ports live on one thread, named by the
/// low byte of their ids.
#[derive(Clone)]
pub struct Pool {
    threads: Vec<Sender<Job>>,
}

/// Ids carry their thread in the low byte.
const THREAD_BITS: u32 = 8;

impl Pool {
    /// Starts `count` mixing threads (at most 255).
    pub fn start(count: usize, outlet: Outlet, told: Told) -> std::io::Result<Self> {
        let mut threads = Vec::new();
        for i in 0..count.clamp(1, 255) {
            let (tx, rx) = channel();
            let (outlet, told) = (outlet.clone(), told.clone());
            std::thread::Builder::new().name(format!("mixer-{i}")).spawn(move || run(rx, outlet, told))?;
            threads.push(tx);
        }
        Ok(Self { threads })
    }

    /// How many threads mix.
    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    /// The id for the `n`th mixer or port made, on a thread chosen in turn (ports pass their
    /// mixer's id as `with` to land on its thread).
    pub fn id(&self, n: u64, with: Option<u64>) -> u64 {
        let thread = with.map_or(n % self.threads.len() as u64, |m| m & ((1 << THREAD_BITS) - 1));
        (n << THREAD_BITS) | thread
    }

    /// The thread of a mixer or port.
    pub fn thread_of(&self, id: u64) -> usize {
        (id & ((1 << THREAD_BITS) - 1)) as usize
    }

    /// Sends a job to the thread of `id`.
    pub fn send(&self, id: u64, job: Job) {
        if let Some(t) = self.threads.get(self.thread_of(id)) {
            let _ = t.send(job);
        }
    }

    /// Sends a batch of packets to thread `thread`.
    pub fn send_packets(&self, thread: usize, packets: Vec<MixIn>) {
        if let Some(t) = self.threads.get(thread) {
            let _ = t.send(Job::Packets(packets));
        }
    }
}

/// One mixing thread's rooms.
#[derive(Default)]
struct Rooms {
    rooms: HashMap<u64, Room>,
    /// Which room each port is in.
    port_room: HashMap<u64, u64>,
    /// Who owns each port that has an owner.
    owners: HashMap<u64, HandleRef>,
}

impl Rooms {
    fn room_of(&mut self, port: u64) -> Option<&mut Room> {
        let room = self.port_room.get(&port)?;
        self.rooms.get_mut(room)
    }

    fn apply(&mut self, job: Job) {
        match job {
            Job::Create(id, spec) => {
                self.rooms.entry(id).or_insert_with(|| Room::new(spec));
            }
            Job::Destroy(id) => {
                if let Some(room) = self.rooms.remove(&id) {
                    for port in room.ports() {
                        self.port_room.remove(&port);
                        self.owners.remove(&port);
                    }
                }
            }
            Job::Join(port, mixer, home, owner, codec, settings) => {
                let Some(room) = self.rooms.get_mut(&mixer) else { return };
                match room.join(port, home, codec, settings) {
                    Ok(()) => {
                        self.port_room.insert(port, mixer);
                        if let Some(owner) = owner {
                            self.owners.insert(port, owner);
                        }
                    }
                    Err(e) => tracing::warn!("mixer {mixer}: {e}"),
                }
            }
            Job::Set(port, settings) => {
                if let Some(room) = self.room_of(port) {
                    room.set(port, settings);
                }
            }
            Job::ResetDecoder(port) => {
                if let Some(room) = self.room_of(port) {
                    room.reset_decoder(port);
                }
            }
            Job::Leave(port) => {
                if let Some(room) = self.room_of(port) {
                    room.leave(port);
                }
                self.port_room.remove(&port);
                self.owners.remove(&port);
            }
            Job::Packets(packets) => {
                for p in packets {
                    if let Some(room) = self.room_of(p.port) {
                        room.packet(p.port, p.codec, p.seq, p.payload);
                    }
                }
            }
            Job::Record(mixer, file, failed) => {
                if let Some(room) = self.rooms.get_mut(&mixer) {
                    room.record(file, failed);
                }
            }
            Job::Stats(port, reply) => {
                let stats = self.room_of(port).and_then(|r| r.stats(port));
                let _ = reply.send(stats);
            }
        }
    }
}

/// A mixing thread: each tick, the jobs that came in since the last one, then every room.
/// It sleeps between ticks rather than waiting on its queue: packets only matter at the tick,
/// and a thread woken for each batch of them cost more than the mixing at small rooms
/// (measured: a fifth of the thread's time in context switches at 10 participants), and the
/// media threads a wake-up call per batch.
fn run(rx: Receiver<Job>, outlet: Outlet, told: Told) {
    let mut rooms = Rooms::default();
    let mut batches: Vec<Vec<MixFrame>> = Vec::new();
    let mut due = Instant::now() + TICK;
    loop {
        if rooms.rooms.is_empty() {
            // No room on this thread: nothing to tick until a job comes (an idle gateway does
            // not wake 50 times a second).
            match rx.recv() {
                Ok(job) => rooms.apply(job),
                Err(_) => return,
            }
            due = Instant::now() + TICK;
            continue;
        }
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        }
        loop {
            match rx.try_recv() {
                Ok(job) => rooms.apply(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        for room in rooms.rooms.values_mut() {
            room.tick(&mut |f: MixFrame| {
                if batches.len() <= f.home {
                    batches.resize_with(f.home + 1, Vec::new);
                }
                batches[f.home].push(f);
            });
            for (port, talking, level) in room.talks() {
                if let Some(owner) = rooms.owners.get(&port) {
                    told(*owner, MediaEvent::Talking { mid: String::new(), talking, level });
                }
            }
        }
        for (home, batch) in batches.iter_mut().enumerate() {
            if !batch.is_empty() {
                outlet(home, std::mem::take(batch));
            }
        }
        due += TICK;
        // Fallen far behind (a stalled machine): keep the clock, drop the lost ticks.
        if Instant::now() > due + TICK * 5 {
            due = Instant::now() + TICK;
        }
    }
}
