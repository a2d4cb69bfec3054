//! The one wasmtime engine, its epoch ticker and the compiled-code cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// How often the epoch advances; CPU limits are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The most the compiled-code cache keeps: past it, the entries used longest ago go. Every
/// rebuild of a plugin is a new entry (a JavaScript plugin's is some 50 MB), so without a
/// bound the folder only grows.
const CACHE_CAP: u64 = 1 << 30;

/// The engine shared by every plugin.
#[derive(Clone)]
pub struct PluginEngine {
    /// The wasmtime engine.
    pub engine: Engine,
    /// Advances the engine's epoch while calls run.
    pub ticker: Arc<Ticker>,
    cache_dir: Option<Arc<PathBuf>>,
}

/// Advances the epoch every [`EPOCH_TICK`] while some plugin call runs, and sleeps while none
/// does: an idle gateway does not wake 100 times a second. A call's CPU budget is counted in
/// ticks from its start, so ticks while no call runs would count for nothing.
pub struct Ticker {
    /// Calls running now.
    busy: std::sync::atomic::AtomicUsize,
    /// The ticking thread (unparked when the first call starts).
    thread: std::sync::OnceLock<std::thread::Thread>,
    /// Epoch increments so far.
    ticks: std::sync::atomic::AtomicU64,
}

/// A running call: the epoch advances until it is dropped.
pub struct Busy(Arc<Ticker>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Ticker {
    /// A call starts: the epoch advances until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        if self.busy.fetch_add(1, std::sync::atomic::Ordering::AcqRel) == 0 {
            if let Some(t) = self.thread.get() {
                t.unpark();
            }
        }
        Busy(self.clone())
    }

    /// How many times the epoch advanced.
    #[cfg(test)]
    pub fn ticks(&self) -> u64 {
        self.ticks.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl PluginEngine {
    /// An engine with epoch interruption, only the features plugins need, and a ticker.
    pub fn new(cache_dir: Option<PathBuf>) -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&config)?;
        let weak = engine.weak();
        let ticker = Arc::new(Ticker {
            busy: std::sync::atomic::AtomicUsize::new(0),
            thread: std::sync::OnceLock::new(),
            ticks: std::sync::atomic::AtomicU64::new(0),
        });
        let ticking = Arc::downgrade(&ticker);
        let thread = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || loop {
                let Some(t) = ticking.upgrade() else { break };
                if t.busy.load(std::sync::atomic::Ordering::Acquire) == 0 {
                    // (An unpark from a call that started meanwhile makes this return at once.)
                    drop(t);
                    std::thread::park_timeout(Duration::from_secs(1));
                    continue;
                }
                drop(t);
                std::thread::sleep(EPOCH_TICK);
                match (weak.upgrade(), ticking.upgrade()) {
                    (Some(e), Some(t)) => {
                        e.increment_epoch();
                        t.ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    _ => break,
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch thread: {e}"))?;
        let _ = ticker.thread.set(thread.thread().clone());
        let cache_dir = cache_dir.and_then(|d| match prepare_cache_dir(&d) {
            Ok(()) => Some(Arc::new(d)),
            Err(e) => {
                tracing::warn!("plugin cache {} unusable, compiling without it: {e}", d.display());
                None
            }
        });
        Ok(Self { engine, ticker, cache_dir })
    }

    /// Compiles a component, or loads it from the `.cwasm` cache keyed by the wasm's hash and
    /// the engine's compatibility hash.
    pub fn compile(&self, wasm: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.cache_dir else {
            let component = Component::new(&self.engine, wasm);
            trim_heap();
            return component;
        };
        let path = dir.join(format!("{}.cwasm", self.cache_key(wasm)));
        if path.exists() {
            // SAFETY: `deserialize_file` trusts its input to be code that this engine
            // produced. The cache folder is created by us with owner-only permissions
            // (`prepare_cache_dir`), files are written there only by `precompile_component`
            // below, and the name binds both the source wasm hash and the engine's
            // compatibility hash, so a file there is always our own output for this wasm
            // and this engine configuration.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(c) => {
                    map_sparsely(&c, &path);
                    // Used now: the last to be evicted.
                    let _ =
                        std::fs::File::open(&path).and_then(|f| f.set_modified(std::time::SystemTime::now()));
                    return Ok(c);
                }
                Err(e) => tracing::warn!("cached {} unusable ({e}); recompiling", path.display()),
            }
        }
        let bytes = self.engine.precompile_component(wasm);
        trim_heap();
        let bytes = bytes?;
        let tmp = path.with_extension("tmp");
        // Written out to the disk before it is mapped: the page cache's copy is then clean, and
        // `map_sparsely` can drop it (dirty pages stay cached, and a fault maps their
        // neighbours: most of a just-compiled plugin was resident).
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| {
                use std::io::Write;
                f.write_all(&bytes)?;
                f.sync_data()
            })
            .and_then(|()| std::fs::rename(&tmp, &path));
        evict(dir, CACHE_CAP);
        match written {
            // Mapped from the file, as on a later start: only the code pages used are resident
            // (from the bytes, all of a JavaScript plugin's 48 MB were, for the gateway's life).
            Ok(()) => {
                drop(bytes);
                // SAFETY: the file was written just now from `precompile_component`'s output on
                // this engine, in the owner-only cache folder (see above).
                let component = unsafe { Component::deserialize_file(&self.engine, &path) }?;
                map_sparsely(&component, &path);
                Ok(component)
            }
            Err(e) => {
                tracing::warn!("cannot write plugin cache {}: {e}", path.display());
                // SAFETY: `bytes` was produced just now by `precompile_component` on this engine.
                unsafe { Component::deserialize(&self.engine, &bytes) }
            }
        }
    }

    fn cache_key(&self, wasm: &[u8]) -> String {
        use std::hash::{Hash, Hasher};
        let mut engine_hash = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut engine_hash);
        let digest = Sha256::digest(wasm);
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{hex}-{:016x}", engine_hash.finish())
    }
}

/// Gives the memory a compilation freed back to the system: glibc keeps freed heap pages, and a
/// gateway that compiled its plugins stayed some 300 MB bigger for the rest of its life.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` returns free heap memory to the system; it takes no pointer and
    // leaves every live allocation where it is.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Keeps a plugin's resident code to the pages it runs. On a page fault the kernel also maps
/// the neighbours the page cache holds, up to 64 KiB around it, and the cache holds the whole
/// file (just written, or read by an earlier start): a plugin whose code runs here and there
/// had most of it resident, 20 of a JavaScript plugin's 28 MB. With random-access advice on
/// the mapping and the file's unmapped pages dropped from the cache, a fault brings in its
/// own page (read from the file when it is not cached).
fn map_sparsely(component: &Component, path: &Path) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let range = component.image_range();
        // SAFETY: `sysconf` reads a constant of the system.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1);
        let start = range.start as usize / page * page;
        let len = range.end as usize - start;
        // SAFETY: MADV_RANDOM is advice: it changes how the kernel reads these pages in, never
        // their contents or the mapping. The range is the component's image, mapped while
        // `component` lives (a range outside a mapping only makes the call fail, ignored).
        unsafe {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_RANDOM);
        }
        if let Ok(file) = std::fs::File::open(path) {
            // SAFETY: the descriptor is open during the call. POSIX_FADV_DONTNEED drops the
            // file's clean cached pages that nothing maps; the kernel reads them again if
            // they are needed.
            unsafe {
                libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (component, path);
}

/// Deletes the cache's entries used longest ago (by modification time, which a hit renews)
/// until the rest fit in `cap` bytes.
fn evict(dir: &Path, cap: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut kept = 0u64;
    for (_, len, path) in files {
        kept += len;
        if kept > cap {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::debug!("plugin cache: evicted {}", path.display()),
                Err(e) => tracing::warn!("plugin cache: cannot evict {}: {e}", path.display()),
            }
        }
    }
}

fn prepare_cache_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_advances_only_while_a_call_runs() {
        let engine = PluginEngine::new(None).expect("an engine");
        let ticker = engine.ticker.clone();
        let idle = ticker.ticks();
        std::thread::sleep(EPOCH_TICK * 10);
        assert_eq!(ticker.ticks(), idle, "no call, no tick");
        let busy = ticker.busy();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while ticker.ticks() < idle + 3 {
            assert!(std::time::Instant::now() < deadline, "a running call gets ticks");
            std::thread::sleep(EPOCH_TICK);
        }
        drop(busy);
        std::thread::sleep(EPOCH_TICK * 2);
        let after = ticker.ticks();
        std::thread::sleep(EPOCH_TICK * 10);
        assert_eq!(ticker.ticks(), after, "idle again");
    }

    #[test]
    fn the_cache_keeps_the_entries_used_last_within_its_cap() {
        let dir = std::env::temp_dir().join(format!("portunus-evict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a folder");
        let now = std::time::SystemTime::now();
        for (i, name) in ["old", "middle", "new"].iter().enumerate() {
            let path = dir.join(format!("{name}.cwasm"));
            std::fs::write(&path, [0u8; 100]).expect("written");
            let f = std::fs::File::options().write(true).open(&path).expect("open");
            f.set_modified(now - Duration::from_secs(100 * (3 - i as u64))).expect("mtime");
        }
        std::fs::write(dir.join("other.txt"), [0u8; 1000]).expect("written");
        evict(&dir, 250);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(left, ["middle.cwasm", "new.cwasm", "other.txt"]);
    }
}
