//! Builds the wasm plugins (`plugins-wasm/`, a workspace of its own) for `wasm32-wasip2`, so that
//! a plain `cargo build` / `cargo run` / `cargo test` of the gateway needs no other command.
//!
//! - Installs the `wasm32-wasip2` target with rustup when the compiler's sysroot lacks it
//!   (`rust-toolchain.toml` lists it, but rustup does not install it when `RUSTUP_AUTO_INSTALL=0`).
//! - Runs an inner `cargo build --release --locked --target wasm32-wasip2` on
//!   `plugins-wasm/Cargo.toml` with its own target directory (`<target dir>/wasm-plugins`), so it
//!   never waits for the lock the outer build holds, and with the outer build's cargo and rustc
//!   settings removed from its environment. The jobserver (`CARGO_MAKEFLAGS`) is inherited, so
//!   both builds share the cores. `--locked`: it builds what `plugins-wasm/Cargo.lock` says and
//!   never rewrites that file; after a change to the plugins' dependencies, update the lock with
//!   `cargo update --workspace --manifest-path plugins-wasm/Cargo.toml`.
//! - Builds the test plugin three times (default, `--features v2`, `--features refuse-restore`).
//! - Copies the components to `$OUT_DIR/plugins/` (the plugins that ship: every plugin crate whose
//!   name does not start with `test`) and `$OUT_DIR/test-plugins/` (`testfault.wasm`,
//!   `testfault-v2.wasm`, `testfault-v3.wasm`), and tells the crate where they are through
//!   `PORTUNUS_BUILTIN_PLUGINS_DIR` and `PORTUNUS_TEST_PLUGINS_DIR` (absolute paths, `env!`).
//! - Builds the Python and JavaScript plugins (`plugins-wasm/python`, `plugins-wasm/js`, see
//!   `build/lang.rs`): those that ship into `$OUT_DIR/plugins/`, other builds of the Rust
//!   plugins (the EchoTest) and test plugins into `$OUT_DIR/lang-plugins/`
//!   (`PORTUNUS_LANG_PLUGINS_DIR`), and the templates of every language into `test-plugins/`
//!   (`template-{rust,py,js}.wasm`).
//!
//! It runs again only when `wit/`, `sdk/` or the sources and manifests of `plugins-wasm/` change.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "build/lang.rs"]
mod lang;

const WASM_TARGET: &str = "wasm32-wasip2";

/// The test plugin and the extra builds of it: (cargo features, file name in test-plugins/).
const TEST_PLUGIN: &str = "testfault";
const TEST_PLUGIN_BUILDS: &[(&str, &str)] =
    &[("", "testfault.wasm"), ("v2", "testfault-v2.wasm"), ("refuse-restore", "testfault-v3.wasm")];

fn main() {
    if let Err(err) = run() {
        // Cargo shows a failing build script's stderr.
        eprintln!("error: building the wasm plugins (plugins-wasm/) failed\n\n{err}");
        std::process::exit(1);
    }
}

/// The commit being built (`info`'s `commit-hash`), or "not-a-git-repo"; the build script
/// runs again when the checked-out commit changes.
fn commit_hash(repo: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(hash) = git(&["rev-parse", "HEAD"]) else { return "not-a-git-repo".to_owned() };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        let dir = PathBuf::from(dir);
        watch(&dir.join("HEAD"));
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&dir.join(head));
        }
    }
    hash
}

fn run() -> Result<(), String> {
    let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let repo = manifest_dir.parent().ok_or("host/ has no parent directory")?.to_path_buf();
    let out_dir = PathBuf::from(env_var("OUT_DIR")?);
    let workspace = repo.join("plugins-wasm");
    let manifest = workspace.join("Cargo.toml");

    let plugins = plugin_crates(&workspace)?;
    watch_sources(&repo, &plugins);

    ensure_wasm_target(&repo)?;

    let target_dir = wasm_target_dir(&repo, &out_dir);
    let artifacts = target_dir.join(WASM_TARGET).join("release");
    let builtin_dir = out_dir.join("plugins");
    let test_dir = out_dir.join("test-plugins");
    for dir in [&builtin_dir, &test_dir] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }

    // Every plugin with default features, in one build.
    inner_cargo(&repo, &manifest, &target_dir, &["--workspace"])?;
    for name in plugins.iter().filter(|name| !is_test_plugin(name)) {
        copy_if_changed(&artifact(&artifacts, name), &builtin_dir.join(format!("{name}.wasm")))?;
    }
    // The test plugin in its versions; each copy right after its build, which overwrites the last.
    for (features, file) in TEST_PLUGIN_BUILDS {
        if !features.is_empty() {
            inner_cargo(&repo, &manifest, &target_dir, &["--package", TEST_PLUGIN, "--features", features])?;
        }
        copy_if_changed(&artifact(&artifacts, TEST_PLUGIN), &test_dir.join(file))?;
    }

    // The Rust template, under the name the tutorial's test loads it by.
    copy_if_changed(&artifact(&artifacts, "hello"), &test_dir.join("template-rust.wasm"))?;
    // The Python and JavaScript plugins and templates.
    let lang_dir = out_dir.join("lang-plugins");
    fs::create_dir_all(&lang_dir).map_err(|e| format!("cannot create {}: {e}", lang_dir.display()))?;
    let outputs = lang::Outputs { shipped: &builtin_dir, builds: &lang_dir, templates: &test_dir };
    lang::build(&repo, &target_dir.join("lang-tools"), &outputs, &plugins)?;

    println!("cargo:rustc-env=PORTUNUS_COMMIT={}", commit_hash(&repo));
    println!("cargo:rustc-env=PORTUNUS_DEPENDENCIES={}", dependencies(&repo.join("Cargo.lock")));
    println!("cargo:rustc-env=PORTUNUS_LANG_PLUGINS_DIR={}", absolute(&lang_dir).display());
    println!("cargo:rustc-env=PORTUNUS_BUILTIN_PLUGINS_DIR={}", absolute(&builtin_dir).display());
    println!("cargo:rustc-env=PORTUNUS_TEST_PLUGINS_DIR={}", absolute(&test_dir).display());
    Ok(())
}

/// The crates `info` names under `dependencies` (as Janus names its libraries), with the
/// versions `Cargo.lock` has: `name=version,…`.
fn dependencies(lock: &Path) -> String {
    const NAMED: &[&str] = &["str0m", "dimpl", "aws-lc-rs", "wasmtime", "tokio", "hyper", "rustls"];
    watch(lock);
    let text = fs::read_to_string(lock).unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"'));
        } else if let (Some(n), Some(v)) = (name.take(), line.strip_prefix("version = ")) {
            if NAMED.contains(&n) && !found.iter().any(|(f, _)| *f == n) {
                found.push((n, v.trim_matches('"')));
            }
        }
    }
    found.sort_by_key(|(n, _)| NAMED.iter().position(|x| x == n));
    found.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(",")
}

fn env_var(name: &str) -> Result<OsString, String> {
    env::var_os(name).ok_or_else(|| format!("cargo did not set {name}"))
}

/// The plugin crates: the directories of `plugins-wasm/` with a `Cargo.toml`, sorted.
fn plugin_crates(workspace: &Path) -> Result<Vec<String>, String> {
    let entries = fs::read_dir(workspace).map_err(|e| format!("cannot read {}: {e}", workspace.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

fn is_test_plugin(name: &str) -> bool {
    name.starts_with("test")
}

/// Where cargo puts a cdylib built for wasm: `<crate name with _ for ->.wasm`.
fn artifact(artifacts: &Path, name: &str) -> PathBuf {
    artifacts.join(format!("{}.wasm", name.replace('-', "_")))
}

/// Sources and manifests only: never a target directory, or every build would rerun this.
fn watch_sources(repo: &Path, plugins: &[String]) {
    watch(&repo.join("host").join("build.rs"));
    watch(&repo.join("wit"));
    watch(&repo.join("sdk").join("Cargo.toml"));
    watch(&repo.join("sdk").join("src"));
    let workspace = repo.join("plugins-wasm");
    watch(&workspace.join("Cargo.toml"));
    watch(&workspace.join("Cargo.lock"));
    for path in lang::sources(repo) {
        watch(&path);
    }
    for name in plugins.iter().map(String::as_str).chain(["templates/rust"]) {
        let dir = workspace.join(name);
        for item in ["Cargo.toml", "build.rs", "src", "wit"] {
            watch(&dir.join(item));
        }
    }
}

/// `rerun-if-changed` for paths that exist (a missing path would rerun the script every time).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The directory for the inner build: `wasm-plugins` in the outer build's target directory.
///
/// `OUT_DIR` is `<target dir>[/<triple>]/<profile>/build/<package>-<hash>/out`, and cargo marks
/// the target directory (and the `<triple>` one under it) with `CACHEDIR.TAG`.
fn wasm_target_dir(repo: &Path, out_dir: &Path) -> PathBuf {
    let is_cache = |dir: &Path| dir.join("CACHEDIR.TAG").is_file();
    let triple = env::var_os("TARGET").unwrap_or_default();
    let from_layout = out_dir.ancestors().nth(4).filter(|dir| is_cache(dir)).map(|dir| match dir.parent() {
        // Built with --target: one level more.
        Some(parent) if dir.file_name() == Some(triple.as_os_str()) && is_cache(parent) => parent,
        _ => dir,
    });
    let base = from_layout
        .or_else(|| out_dir.ancestors().skip(1).find(|dir| is_cache(dir)))
        .map(Path::to_path_buf)
        .or_else(|| env::var_os("CARGO_TARGET_DIR").map(|dir| absolute_in(repo, Path::new(&dir))))
        .unwrap_or_else(|| repo.join("target"));
    base.join("wasm-plugins")
}

/// Adds the wasm target with rustup if the compiler that builds us does not have it.
fn ensure_wasm_target(repo: &Path) -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let has_target = || -> Result<bool, String> {
        let output = Command::new(&rustc)
            .args(["--print", "sysroot"])
            .output()
            .map_err(|e| format!("cannot run {} --print sysroot: {e}", rustc.to_string_lossy()))?;
        if !output.status.success() {
            return Err(format!(
                "{} --print sysroot failed:\n{}",
                rustc.to_string_lossy(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok(Path::new(&sysroot).join("lib").join("rustlib").join(WASM_TARGET).is_dir())
    };
    if has_target()? {
        return Ok(());
    }
    eprintln!("installing the {WASM_TARGET} target with rustup (needed for the plugins)");
    // From the repository, so rustup picks the toolchain of rust-toolchain.toml (or the one
    // RUSTUP_TOOLCHAIN names, which rustup's proxies set for the build).
    let mut cmd = Command::new("rustup");
    cmd.current_dir(repo).args(["target", "add", WASM_TARGET]);
    let output = cmd.output().map_err(|e| {
        format!("the {WASM_TARGET} target is missing and rustup could not be run ({e}); install the target for this toolchain")
    })?;
    if !output.status.success() {
        return Err(format!(
            "`rustup target add {WASM_TARGET}` failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if !has_target()? {
        return Err(format!(
            "`rustup target add {WASM_TARGET}` succeeded, but {} still has no {WASM_TARGET} target \
             (is RUSTC a toolchain rustup does not manage?)",
            rustc.to_string_lossy()
        ));
    }
    Ok(())
}

/// Runs `cargo build --release --target wasm32-wasip2` on the plugins workspace.
fn inner_cargo(repo: &Path, manifest: &Path, target_dir: &Path, extra: &[&str]) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(repo.join("plugins-wasm"))
        .arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(target_dir)
        .args(extra);
    clean_env(&mut cmd);
    let shown = format!(
        "cargo build --release --locked --manifest-path {} --target {WASM_TARGET} --target-dir {} {}",
        manifest.display(),
        target_dir.display(),
        extra.join(" ")
    );
    let output: Output = cmd.output().map_err(|e| format!("cannot run {}: {e}", cargo.to_string_lossy()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!(
            "`{shown}` (outer build's cargo and rustc settings removed) failed ({}). Its output:\n\n{}{stderr}",
            output.status,
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    // Warnings in plugin code would otherwise stay hidden.
    for line in stderr.lines().filter(|line| line.starts_with("warning:")) {
        println!("cargo:warning=plugins-wasm: {}", line.trim_start_matches("warning:").trim());
    }
    Ok(())
}

/// Removes what the outer cargo set for us (target, flags, wrappers, profile, package
/// metadata) and what would redirect the inner build (`CARGO_TARGET_DIR`, `CARGO_BUILD_*`).
/// Kept: PATH, HOME, `RUSTUP_*`, `CARGO_HOME`, `CARGO_MAKEFLAGS` (the jobserver), `RUSTC`
/// (the same compiler), and the user's registry, network and terminal settings.
fn clean_env(cmd: &mut Command) {
    const KEEP_PREFIXES: &[&str] = &[
        "CARGO_HOME",
        "CARGO_MAKEFLAGS",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
    ];
    const REMOVE: &[&str] = &[
        "CARGO",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "NUM_JOBS",
    ];
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let cargo_var = key.starts_with("CARGO_") && !KEEP_PREFIXES.iter().any(|p| key.starts_with(p));
        if cargo_var || key.starts_with("__CARGO") || key.starts_with("DEP_") || REMOVE.contains(&key) {
            cmd.env_remove(key);
        }
    }
}

/// Copies `from` to `to` unless `to` already has the same bytes (so its timestamp only moves
/// when the plugin changed), through a temporary file and a rename.
fn copy_if_changed(from: &Path, to: &Path) -> Result<(), String> {
    let bytes =
        fs::read(from).map_err(|e| format!("the inner build did not produce {}: {e}", from.display()))?;
    if fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let tmp = to.with_extension("wasm.tmp");
    fs::write(&tmp, &bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, to).map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), to.display()))
}

fn absolute(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn absolute_in(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
