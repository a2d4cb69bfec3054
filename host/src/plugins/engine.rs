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
    cache_dir: Option<Arc<PathBuf>>,
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
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(e) => e.increment_epoch(),
                    None => break,
                }
            })
            .map_err(|e| wasmtime::format_err!("cannot start the epoch thread: {e}"))?;
        let cache_dir = cache_dir.and_then(|d| match prepare_cache_dir(&d) {
            Ok(()) => Some(Arc::new(d)),
            Err(e) => {
                tracing::warn!("plugin cache {} unusable, compiling without it: {e}", d.display());
                None
            }
        });
        Ok(Self { engine, cache_dir })
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
        if let Err(e) = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &path)) {
            tracing::warn!("cannot write plugin cache {}: {e}", path.display());
        }
        evict(dir, CACHE_CAP);
        // SAFETY: `bytes` was produced just now by `precompile_component` on this engine.
        unsafe { Component::deserialize(&self.engine, &bytes) }
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
