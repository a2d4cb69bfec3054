//! The wasm plugin runtime: one wasmtime engine, plugins loaded from a folder, one actor per
//! plugin, hot reload (admin request or file change) and the sandbox.

mod actor;
mod bindings;
mod convert;
mod engine;
pub(crate) mod http_post;
mod legs;
pub mod limits;
mod lookups;
mod mixers;
mod names;
pub(crate) mod policy;
pub mod rules;
mod saved;
mod sockets;
mod state;
pub(crate) mod streams;
mod udp_errors;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use std::sync::mpsc::Sender;
use tokio::sync::oneshot;
use wasmtime::component::Linker;

use self::actor::{Actor, Artifact, Job, Stats};
use self::engine::PluginEngine;
use self::limits::Limits;
use self::state::{PluginShared, StoreState};
use crate::api::plugin::{
    BoxFuture, MessageOutcome, Plugin, PluginEvent, PluginInfo, PluginMessage, PluginRegistry, PluginReply,
};
use crate::api::Core;
use crate::vocab::{HandleRef, MediaEvent};

/// Where the plugins built with the project are (set by `build.rs`).
pub fn builtin_plugins_dir() -> PathBuf {
    PathBuf::from(option_env!("PORTUNUS_BUILTIN_PLUGINS_DIR").unwrap_or("plugins"))
}

/// A mailbox whose depth is counted, so that a flood of media events or data-channel
/// messages is shed instead of queued without limit. Its urgent lane holds what must not wait
/// for the jobs queued before it (a reload): the actor takes it before its next job.
#[derive(Clone)]
pub(crate) struct Mailbox {
    tx: Sender<Job>,
    depth: Arc<AtomicUsize>,
    urgent: Arc<Mutex<Vec<Job>>>,
}

impl Mailbox {
    fn new() -> (Self, actor::Inbox) {
        let (tx, rx) = std::sync::mpsc::channel();
        let depth = Arc::new(AtomicUsize::new(0));
        let urgent = Arc::new(Mutex::new(Vec::new()));
        let inbox = actor::Inbox { rx, depth: depth.clone(), urgent: urgent.clone() };
        (Self { tx, depth, urgent }, inbox)
    }

    /// Queues a job ahead of every queued one; false when the actor is gone.
    fn send_first(&self, job: Job) -> bool {
        self.urgent.lock().unwrap_or_else(|e| e.into_inner()).push(job);
        // Wakes a parked actor; it finds the urgent job before this one.
        self.send(Job::Wake)
    }

    /// Queues a job; false when the actor is gone.
    pub(crate) fn send(&self, job: Job) -> bool {
        self.depth.fetch_add(1, Ordering::Relaxed);
        let sent = self.tx.send(job).is_ok();
        if !sent {
            self.depth.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }

    /// Jobs waiting.
    pub(crate) fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }
}

/// One loaded plugin as the core sees it: a mailbox to its actor.
struct PluginProxy {
    mailbox: Mailbox,
    /// The code the actor runs now.
    artifact: Mutex<Arc<Artifact>>,
    stats: Arc<Mutex<Stats>>,
    shared: Arc<PluginShared>,
    config: String,
    /// The file it was loaded or last reloaded from, as it was then (the watcher watches it).
    path: Mutex<Loaded>,
    /// Reloads of one plugin run one at a time.
    reloading: tokio::sync::Mutex<()>,
}

impl PluginProxy {
    /// Queues a job now (so jobs keep the order of the calls) and waits for its answer, at
    /// most `call_timeout_ms`: a plugin that is slow to answer costs its caller an error, never
    /// a transport or the watchdog their progress.
    fn send<T: Send + 'static>(
        &self,
        job: impl FnOnce(oneshot::Sender<T>) -> Job,
        gone: impl FnOnce(&str) -> T + Send + 'static,
    ) -> BoxFuture<'static, T> {
        let (tx, rx) = oneshot::channel();
        let sent = self.mailbox.send(job(tx));
        let deadline = Duration::from_millis(self.shared.limits.call_timeout_ms);
        let package = self.shared.package.clone();
        Box::pin(async move {
            if !sent {
                return gone("plugin is gone");
            }
            match tokio::time::timeout(deadline, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) => gone("plugin is gone"),
                Err(_) => {
                    tracing::warn!(plugin = %package, "no answer within {} ms", deadline.as_millis());
                    gone("plugin did not answer in time")
                }
            }
        })
    }

    /// Queues a notification, unless the mailbox is full (then it is shed and counted).
    fn notify(&self, job: Job) {
        if self.mailbox.depth() >= self.shared.limits.max_queued {
            let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            if crate::logging::time_to_report(&mut stats.shed) {
                tracing::warn!(
                    plugin = %self.shared.package,
                    "mailbox full ({} jobs): media events and data-channel messages dropped ({} so far)",
                    self.mailbox.depth(),
                    stats.shed
                );
            }
            return;
        }
        self.mailbox.send(job);
    }

    fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Plugin for PluginProxy {
    fn info(&self) -> PluginInfo {
        self.stats().info.unwrap_or_else(|| PluginInfo {
            package: self.shared.package.clone(),
            name: self.shared.package.clone(),
            author: String::new(),
            description: String::new(),
            version_string: String::new(),
            version: 0,
        })
    }

    fn create_handle(&self, handle: HandleRef) -> BoxFuture<'_, Result<(), String>> {
        self.send(|tx| Job::CreateHandle(handle, tx), |why| Err(why.to_owned()))
    }

    fn handle_message(&self, msg: PluginMessage) -> BoxFuture<'_, MessageOutcome> {
        let gone = |why: &str| MessageOutcome {
            reply: PluginReply::Error(why.to_owned()),
            events: Vec::new(),
            effects: Vec::new(),
        };
        self.send(|tx| Job::Message(msg, tx), gone)
    }

    fn handle_admin_message(&self, request: Value) -> BoxFuture<'_, Result<Value, String>> {
        self.send(|tx| Job::Admin(request, tx), |why| Err(why.to_owned()))
    }

    fn hangup_media(&self, handle: HandleRef, reason: &str) -> BoxFuture<'static, Vec<PluginEvent>> {
        let reason = reason.to_owned();
        self.send(|tx| Job::Hangup(handle, reason, tx), |_| Vec::new())
    }

    fn destroy_handle(&self, handle: HandleRef) -> BoxFuture<'static, ()> {
        self.send(|tx| Job::DestroyHandle(handle, tx), |_| ())
    }

    fn query_handle(&self, handle: HandleRef) -> BoxFuture<'_, Value> {
        self.send(|tx| Job::Query(handle, tx), |why| json!({ "error": why }))
    }

    fn media_event(&self, handle: HandleRef, event: MediaEvent) {
        if event.sheddable() {
            self.notify(Job::Media(handle, event));
        } else {
            self.mailbox.send(Job::Media(handle, event));
        }
    }
}

/// The plugin runtime: implements the core's [`PluginRegistry`].
pub struct PluginHost {
    engine: PluginEngine,
    linker: Arc<Linker<StoreState>>,
    core: Core,
    configs: BTreeMap<String, Value>,
    /// The configs folder (`-F`) a plugin's `save-config` writes to; none with the embedded
    /// configuration.
    configs_folder: Option<PathBuf>,
    plugins: RwLock<BTreeMap<String, Arc<PluginProxy>>>,
    /// The plugins folder, once loaded.
    folder: Mutex<Option<PathBuf>>,
    rt: tokio::runtime::Handle,
    /// Janus's `recordings_tmp_ext`, for the plugins loaded after it is set.
    recordings_tmp_ext: std::sync::OnceLock<String>,
}

/// A file's modification time and size, to tell when it changed.
type Stamp = Option<(Option<SystemTime>, u64)>;

fn stamp(p: &Path) -> Stamp {
    std::fs::metadata(p).ok().map(|m| (m.modified().ok(), m.len()))
}

/// The file a plugin's code came from, and its stamp when it was read.
struct Loaded {
    path: PathBuf,
    stamp: Stamp,
}

/// The file a plugin runs from.
fn lock_path(p: &PluginProxy) -> std::sync::MutexGuard<'_, Loaded> {
    p.path.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why a plugin file was not loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file is no plugin: unreadable, not a component, or not the plugin contract (what
    /// Janus's failing `dlopen` or `dlsym` is).
    NotAPlugin(String),
    /// The plugin refused to start: its `init` failed, or its package is loaded already.
    Refused(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAPlugin(why) | Self::Refused(why) => f.write_str(why),
        }
    }
}

/// The package whose config file belongs to a wasm file: `echotest.wasm` →
/// `janus.plugin.echotest`.
fn package_for_file(path: &Path) -> String {
    crate::config::plugin_package(&path.file_name().map(|s| s.to_string_lossy()).unwrap_or_default())
}

impl PluginHost {
    /// Nanoseconds a plugin's thread has spent working (jobs and checkpoints), and its jobs.
    pub fn busy(&self, package: &str) -> Option<(u64, u64)> {
        let s = self.proxy(package)?.stats();
        Some((s.busy_ns, s.jobs))
    }

    /// Whether a plugin's mailbox is empty and its state checkpointed (it is idle).
    pub fn saved_state_clean(&self, package: &str) -> bool {
        self.proxy(package).is_some_and(|p| p.mailbox.depth() == 0 && !p.stats().unsaved)
    }

    /// A runtime with no plugins yet.
    pub fn new(
        core: Core,
        configs: BTreeMap<String, Value>,
        configs_folder: Option<PathBuf>,
        cache_dir: Option<PathBuf>,
    ) -> anyhow::Result<Arc<Self>> {
        let wasm_err = |e: wasmtime::Error| anyhow::anyhow!("plugin runtime: {e:#}");
        let engine = PluginEngine::new(cache_dir).map_err(wasm_err)?;
        let mut linker = Linker::<StoreState>::new(&engine.engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(wasm_err)?;
        refuse_blocking(&mut linker).map_err(wasm_err)?;
        bindings::Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
            .map_err(wasm_err)?;
        Ok(Arc::new(Self {
            engine,
            linker: Arc::new(linker),
            core,
            configs,
            configs_folder,
            plugins: RwLock::new(BTreeMap::new()),
            folder: Mutex::new(None),
            rt: tokio::runtime::Handle::current(),
            recordings_tmp_ext: std::sync::OnceLock::new(),
        }))
    }

    /// Janus's `recordings_tmp_ext`: the plugins loaded from now on write their recordings as
    /// `<file>.<ext>`, renamed to `<file>` when complete.
    pub fn set_recordings_tmp_ext(&self, ext: &str) {
        let _ = self.recordings_tmp_ext.set(ext.to_owned());
    }

    fn shared_for(&self, package: &str) -> (Arc<PluginShared>, String) {
        let config = self.configs.get(package).cloned().unwrap_or_else(|| json!({}));
        let limits = Limits::from_config(package, &config);
        let shared = Arc::new(PluginShared {
            core: self.core.clone(),
            package: package.to_owned(),
            poster: http_post::Poster::new(package, limits.send_to.clone(), self.rt.clone()),
            recordings_tmp_ext: self.recordings_tmp_ext.get().cloned(),
            // Janus reads `events` as a boolean or "yes"/"no".
            notify_events: match &config["general"]["events"] {
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::Number(n) => n.as_i64() != Some(0),
                serde_json::Value::String(s) => {
                    !matches!(s.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0" | "off")
                }
                _ => true,
            },
            limits,
            rt: self.rt.clone(),
            lookups: Arc::default(),
            rules: Mutex::new(rules::RuleTable::default()),
            sockets: Mutex::new(sockets::SocketTable::default()),
            legs: Mutex::new(legs::LegTable::default()),
            inputs: Mutex::default(),
            mixers: Mutex::default(),
            config_file: self.configs_folder.as_ref().map(|f| f.join(format!("{package}.jcfg"))),
            ticker: self.engine.ticker.clone(),
        });
        (shared, config.to_string())
    }

    /// Compiles and canaries a wasm file (blocking; run off the signaling path).
    fn build(&self, path: &Path, shared: &Arc<PluginShared>, config: &str) -> Result<Artifact, LoadError> {
        let not_a_plugin = LoadError::NotAPlugin;
        let wasm =
            std::fs::read(path).map_err(|e| not_a_plugin(format!("cannot read {}: {e}", path.display())))?;
        let component = self
            .engine
            .compile(&wasm)
            .map_err(|e| not_a_plugin(format!("{} does not compile: {e:#}", path.display())))?;
        actor::prepare(&self.engine.engine, &self.linker, &component, shared, config, path.to_path_buf())
    }

    /// Loads one plugin file and starts its actor.
    pub fn load(&self, path: &Path) -> Result<PluginInfo, String> {
        self.load_file(path).map_err(|e| e.to_string())
    }

    /// As [`PluginHost::load`], saying why a file was not loaded.
    fn load_file(&self, path: &Path) -> Result<PluginInfo, LoadError> {
        let expected = package_for_file(path);
        let (shared, config) = self.shared_for(&expected);
        let artifact = self.build(path, &shared, &config)?;
        let info = artifact.info.clone();
        let (shared, config) = if info.package == expected {
            (shared, config)
        } else {
            // The component names another package: use that package's config and limits.
            let (s, c) = self.shared_for(&info.package);
            let artifact_again = self.build(path, &s, &c)?;
            return self.start(artifact_again, s, c).map_err(LoadError::Refused);
        };
        self.start(artifact, shared, config).map_err(LoadError::Refused)?;
        Ok(info)
    }

    fn start(
        &self,
        artifact: Artifact,
        shared: Arc<PluginShared>,
        config: String,
    ) -> Result<PluginInfo, String> {
        let info = artifact.info.clone();
        if self.plugins.read().unwrap_or_else(|e| e.into_inner()).contains_key(&info.package) {
            return Err(format!("{} is loaded already; use reload_plugin", info.package));
        }
        let (mailbox, inbox) = Mailbox::new();
        let stats = Arc::new(Mutex::new(Stats { info: Some(info.clone()), ..Stats::default() }));
        let path = artifact.path.clone();
        let artifact = Arc::new(artifact);
        let actor = Actor::new(
            self.engine.engine.clone(),
            shared.clone(),
            config.clone(),
            artifact.clone(),
            mailbox.clone(),
            stats.clone(),
            self.rt.clone(),
        );
        std::thread::Builder::new()
            .name(format!("plugin-{}", info.package.trim_start_matches("janus.plugin.")))
            .spawn(move || actor.run(inbox))
            .map_err(|e| format!("cannot start the plugin thread: {e}"))?;
        let proxy = Arc::new(PluginProxy {
            mailbox,
            artifact: Mutex::new(artifact),
            stats,
            shared,
            config,
            path: Mutex::new(Loaded { stamp: stamp(&path), path }),
            reloading: tokio::sync::Mutex::new(()),
        });
        self.plugins.write().unwrap_or_else(|e| e.into_inner()).insert(info.package.clone(), proxy);
        tracing::info!("loaded plugin {} {} ({})", info.package, info.version_string, info.name);
        Ok(info)
    }

    /// Loads every `.wasm` file in a folder but the `disabled` packages' (by file name);
    /// failures are logged and skipped. The folder is then where `reload_plugin` may load from.
    /// Loads every plugin of `folder` but the `disabled` ones; returns those loaded, and why
    /// the files that are no plugin (Janus's library errors, for `exit_on_dl_error`) were not;
    /// a plugin that refused to start is only logged, as Janus skips it.
    pub fn load_folder(&self, folder: &Path, disabled: &[String]) -> (Vec<PluginInfo>, Vec<String>) {
        *self.folder.lock().unwrap_or_else(|e| e.into_inner()) = Some(folder.to_path_buf());
        let mut files: Vec<PathBuf> = match std::fs::read_dir(folder) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
                .filter(|p| {
                    let off = disabled.contains(&package_for_file(p));
                    if off {
                        tracing::info!("plugin {} disabled (plugins.disable)", p.display());
                    }
                    !off
                })
                .collect(),
            Err(e) => {
                let why = format!("plugins folder {} unreadable: {e}", folder.display());
                tracing::warn!("{why}");
                return (Vec::new(), vec![why]);
            }
        };
        files.sort();
        let (mut loaded, mut failed) = (Vec::new(), Vec::new());
        for p in &files {
            match self.load_file(p) {
                Ok(info) => loaded.push(info),
                Err(e) => {
                    let why = format!("plugin {} not loaded: {e}", p.display());
                    tracing::error!("{why}");
                    if matches!(e, LoadError::NotAPlugin(_)) {
                        failed.push(why);
                    }
                }
            }
        }
        (loaded, failed)
    }

    fn proxy(&self, package: &str) -> Option<Arc<PluginProxy>> {
        self.plugins.read().unwrap_or_else(|e| e.into_inner()).get(package).cloned()
    }

    /// Where `reload_plugin` may load from: the plugins folder (or, for plugins loaded one by
    /// one, the folder of the plugin's file), and below it.
    fn reload_root(&self, proxy: &PluginProxy) -> Option<PathBuf> {
        let folder = self.folder.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let root = folder.or_else(|| lock_path(proxy).path.parent().map(Path::to_path_buf))?;
        root.canonicalize().ok()
    }

    /// Hot-reloads a plugin from its file or `path` (which must be inside the plugins folder):
    /// compiled and canaried off the signaling path, then swapped inside the actor. The old
    /// version keeps serving on any failure. Reloads of one plugin run one at a time; the file
    /// watcher follows the new path afterwards.
    pub async fn reload(self: &Arc<Self>, package: &str, path: Option<PathBuf>) -> Result<Value, String> {
        let proxy = self.proxy(package).ok_or_else(|| format!("no such plugin '{package}'"))?;
        let _one_at_a_time = proxy.reloading.lock().await;
        let path = match path {
            None => lock_path(&proxy).path.clone(),
            Some(p) => {
                let root = self.reload_root(&proxy).ok_or("the plugins folder is unreadable")?;
                let real = p.canonicalize().map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                if !real.starts_with(&root) {
                    return Err(format!(
                        "{} is outside the plugins folder {}: reload_plugin loads only from there",
                        p.display(),
                        root.display()
                    ));
                }
                real
            }
        };
        let this = self.clone();
        let (shared, config) = (proxy.shared.clone(), proxy.config.clone());
        let source = path.clone();
        let read = stamp(&path);
        let artifact = tokio::task::spawn_blocking(move || this.build(&source, &shared, &config))
            .await
            .map_err(|e| format!("reload task failed: {e}"))?
            .map_err(|e| e.to_string())?;
        if artifact.info.package != package {
            return Err(format!("{} is {}, not {package}", artifact.path.display(), artifact.info.package));
        }
        let (tx, rx) = oneshot::channel();
        let artifact = Arc::new(artifact);
        // The swap waits only for the call running now: the queued jobs go to the new code.
        if !proxy.mailbox.send_first(Job::Reload(artifact.clone(), tx)) {
            return Err("plugin is gone".to_owned());
        }
        let report = rx.await.map_err(|_| "plugin is gone".to_owned())??;
        *proxy.artifact.lock().unwrap_or_else(|e| e.into_inner()) = artifact;
        *lock_path(&proxy) = Loaded { path, stamp: read };
        Ok(report)
    }

    /// Times one fresh instance of a loaded plugin with its `init` (what a crash rebuild
    /// costs) and returns the bytes of memories and tables it holds then. The instance is
    /// thrown away.
    pub fn instantiate_time(&self, package: &str) -> Result<(Duration, usize), String> {
        let proxy = self.proxy(package).ok_or_else(|| format!("no such plugin '{package}'"))?;
        let artifact = proxy.artifact.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let started = std::time::Instant::now();
        let (instance, _) =
            actor::instantiate(&self.engine.engine, &artifact.pre, &proxy.shared, &proxy.config)?;
        Ok((started.elapsed(), instance.memory_bytes()))
    }

    /// Watches the plugin files and reloads a plugin when its file differs from what was
    /// loaded. After a reload from another file, that file is the one watched.
    pub fn spawn_watcher(self: &Arc<Self>, period: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let plugins: Vec<(String, Arc<PluginProxy>)> = this
                    .plugins
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .map(|(k, p)| (k.clone(), p.clone()))
                    .collect();
                for (package, proxy) in plugins {
                    let (path, loaded) = {
                        let l = lock_path(&proxy);
                        (l.path.clone(), l.stamp)
                    };
                    let now = stamp(&path);
                    if now.is_some() && now != loaded {
                        tracing::info!("{} changed; reloading {package}", path.display());
                        match this.reload(&package, None).await {
                            Ok(r) => tracing::info!("reloaded {package}: {r}"),
                            Err(e) => {
                                tracing::error!("reload of {package} failed, old version kept: {e}");
                                // Not again until the file changes once more.
                                lock_path(&proxy).stamp = now;
                            }
                        }
                    }
                }
            }
        })
    }
}

/// Plugins may not block their thread: WASI's waiting calls (`poll`, `pollable.block`, and so
/// every sleep) trap at once instead of waiting, which epochs could not interrupt. Plugins
/// have `set-timer` for time.
fn refuse_blocking(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    use wasmtime::component::Resource;
    use wasmtime_wasi::p2::DynPollable;
    const WHY: &str = "plugins may not block (a WASI poll or sleep): use set-timer";
    linker.allow_shadowing(true);
    let mut poll = linker.instance("wasi:io/poll@0.2.12")?;
    poll.func_wrap("poll", |_, (_,): (Vec<Resource<DynPollable>>,)| -> wasmtime::Result<(Vec<u32>,)> {
        Err(wasmtime::format_err!(WHY))
    })?;
    poll.func_wrap("[method]pollable.block", |_, (_,): (Resource<DynPollable>,)| -> wasmtime::Result<()> {
        Err(wasmtime::format_err!(WHY))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The core's view of the runtime.
pub struct Registry(pub Arc<PluginHost>);

impl PluginRegistry for Registry {
    fn find(&self, package: &str) -> Option<Arc<dyn Plugin>> {
        self.0.proxy(package).map(|p| p as Arc<dyn Plugin>)
    }

    fn input_event(&self, input: u64, event: MediaEvent) {
        let plugins = self.0.plugins.read().unwrap_or_else(|e| e.into_inner());
        let owner = plugins.values().find(|p| {
            p.shared.inputs.lock().unwrap_or_else(|e| e.into_inner()).contains(&input)
                || p.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).has_mixer(input)
        });
        if let Some(p) = owner {
            p.mailbox.send(Job::Input(input, event));
        }
    }

    fn list(&self) -> Vec<PluginInfo> {
        let plugins = self.0.plugins.read().unwrap_or_else(|e| e.into_inner());
        plugins.values().map(|p| p.info()).collect()
    }

    fn status(&self) -> Value {
        let plugins = self.0.plugins.read().unwrap_or_else(|e| e.into_inner());
        let map: serde_json::Map<String, Value> = plugins
            .iter()
            .map(|(k, p)| {
                let s = p.stats();
                let info = p.info();
                let v = json!({
                    "version": info.version,
                    "version_string": info.version_string,
                    "file": lock_path(p).path.display().to_string(),
                    "reloads": s.reloads,
                    "last_swap_pause_us": s.last_swap_pause_us,
                    "crashes": s.crashes,
                    "checkpoints": s.checkpoints,
                    "unsaved_changes": s.unsaved,
                    "failed": s.failed,
                    "busy_us": s.busy_ns / 1000,
                    "jobs": s.jobs,
                    "last_checkpoint_changes": s.last_checkpoint_changes,
                    "last_checkpoint_bytes": s.last_checkpoint_bytes,
                    "saved_bytes": s.saved_bytes,
                    "saved_entries": s.saved_entries,
                    "checkpoints_refused": s.checkpoints_refused,
                    "shed": s.shed,
                    "timers_refused": s.timers_refused,
                    "queued": p.mailbox.depth(),
                    "rules": p.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).len(),
                });
                (k.clone(), v)
            })
            .collect();
        Value::Object(map)
    }

    fn reload(&self, package: &str, path: Option<PathBuf>) -> BoxFuture<'_, Result<Value, String>> {
        let package = package.to_owned();
        Box::pin(async move { self.0.reload(&package, path).await })
    }
}

#[cfg(test)]
mod tests;
