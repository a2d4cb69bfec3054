//! A mixer's recording (AudioBridge's `record`): the whole mix of each tick, as a listener who
//! adds nothing hears the room, written to a WAV file (16-bit PCM, mono or stereo, at the mixer's rate)
//! by a thread of its own. The mixing thread only hands over a buffer and never waits for the
//! disk: when the writer falls behind by more than [`BACKLOG`] ticks, ticks are lost (and
//! counted) rather than the mix delayed. When writing fails (a full disk) the writer stops and
//! says why; the file's sizes are brought up to date every second, so what was written plays.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use crate::vocab::MixerSpec;

/// Ticks that may wait for the writer (10 s).
pub const BACKLOG: usize = 500;
/// How often the header's sizes are written.
const HEADER_EVERY: Duration = Duration::from_secs(1);
/// The WAV header's length.
const HEADER_LEN: u32 = 44;

/// Told why a recording stopped on its own (called on the writer's thread).
pub type Failed = Box<dyn FnOnce(String) + Send>;

/// The mixing thread's end of a recording.
pub struct Recorder {
    frames: SyncSender<Vec<i16>>,
    /// Buffers the writer is done with, to fill again.
    spare: Receiver<Vec<i16>>,
    /// Ticks lost to a writer that fell behind.
    lost: u64,
}

impl Recorder {
    /// Starts a writer for `file` (just created) of a mixer of `spec`.
    pub fn start(file: File, spec: MixerSpec, failed: Failed) -> io::Result<Self> {
        let (frames, queued) = sync_channel(BACKLOG);
        let (done, spare) = sync_channel(BACKLOG);
        std::thread::Builder::new().name("recorder".into()).spawn(move || {
            if let Err(e) = write(file, spec, &queued, &done) {
                failed(e.to_string());
            }
        })?;
        Ok(Self { frames, spare, lost: 0 })
    }

    /// Hands over one tick's mix without waiting; false once the writer has stopped.
    pub fn push(&mut self, mix: &[i16]) -> bool {
        let mut buf = match self.spare.try_recv() {
            Ok(buf) => buf,
            Err(TryRecvError::Empty) => Vec::with_capacity(mix.len()),
            Err(TryRecvError::Disconnected) => return false,
        };
        buf.clear();
        buf.extend_from_slice(mix);
        match self.frames.try_send(buf) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.lost += 1;
                if self.lost.is_power_of_two() {
                    tracing::warn!("recording: the disk is slow, {} ticks lost so far", self.lost);
                }
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// The 44-byte header of a PCM WAV file with `data` bytes of 16-bit samples.
fn header(spec: MixerSpec, data: u32) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data.saturating_add(HEADER_LEN - 8)).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    let channels = spec.channels() as u16;
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&spec.rate.to_le_bytes());
    h[28..32].copy_from_slice(&(spec.rate * 2 * u32::from(channels)).to_le_bytes());
    h[32..34].copy_from_slice(&(2 * channels).to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

/// The writer: the header, each tick as it comes, the sizes every second and at the end (when
/// the recording stops or its mixer goes).
fn write(
    file: File,
    spec: MixerSpec,
    queued: &Receiver<Vec<i16>>,
    done: &SyncSender<Vec<i16>>,
) -> io::Result<()> {
    let mut out = BufWriter::new(file);
    out.write_all(&header(spec, 0))?;
    let mut data: u32 = 0;
    let mut bytes = Vec::new();
    let mut sized = Instant::now();
    while let Ok(frame) = queued.recv() {
        bytes.clear();
        bytes.extend(frame.iter().flat_map(|s| s.to_le_bytes()));
        let _ = done.try_send(frame);
        data = u32::try_from(bytes.len())
            .ok()
            .and_then(|n| data.checked_add(n))
            .filter(|d| *d <= u32::MAX - HEADER_LEN)
            .ok_or_else(|| io::Error::other("the WAV file reached its 4 GB limit"))?;
        out.write_all(&bytes)?;
        if sized.elapsed() >= HEADER_EVERY {
            sized = Instant::now();
            write_sizes(&mut out, spec, data)?;
        }
    }
    write_sizes(&mut out, spec, data)?;
    out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_data()
}

/// Writes the header with `data` bytes of samples, and goes back to the end.
fn write_sizes(out: &mut BufWriter<File>, spec: MixerSpec, data: u32) -> io::Result<()> {
    out.flush()?;
    let file = out.get_mut();
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&header(spec, data))?;
    file.seek(SeekFrom::End(0))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONO: MixerSpec = MixerSpec { rate: 16_000, stereo: false };

    #[test]
    fn a_recording_is_a_wav_file_of_every_tick() {
        let dir = std::env::temp_dir().join(format!("portunus-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mix.wav");
        let (tx, rx) = std::sync::mpsc::channel();
        let mut r =
            Recorder::start(File::create(&path).unwrap(), MONO, Box::new(move |e| tx.send(e).unwrap()))
                .unwrap();
        for t in 0..50i16 {
            assert!(r.push(&[t; 320]));
        }
        drop(r);
        // The writer finishes once the recorder is gone; wait for the whole file.
        let want = 44 + 50 * 640;
        let deadline = Instant::now() + Duration::from_secs(5);
        let bytes = loop {
            let b = std::fs::read(&path).unwrap();
            if b.len() == want && b[40..44] == (50u32 * 640).to_le_bytes() {
                break b;
            }
            assert!(Instant::now() < deadline, "the file is complete: {} bytes", b.len());
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize, want - 8);
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 16_000);
        assert_eq!(i16::from_le_bytes([bytes[44 + 640 * 7], bytes[45 + 640 * 7]]), 7, "tick 7 in its place");
        assert!(rx.try_recv().is_err(), "no failure");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_full_disk_stops_the_recording_and_says_why() {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            eprintln!("SKIPPED: no /dev/full here");
            return;
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let mut r = Recorder::start(full, MONO, Box::new(move |e| tx.send(e).unwrap())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while r.push(&[1; 320]) {
            assert!(Instant::now() < deadline, "the recording stops");
            std::thread::sleep(Duration::from_millis(1));
        }
        let why = rx.recv_timeout(Duration::from_secs(5)).expect("why it stopped");
        assert!(why.contains("No space"), "{why}");
    }
}
