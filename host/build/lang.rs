//! The Python and JavaScript plugins: built into components with `componentize-py` and
//! `componentize-js`, at the versions `plugins-wasm/python/requirements.txt` and
//! `plugins-wasm/js/package-lock.json` pin.
//!
//! - The tools are installed once per target directory (`<wasm target dir>/lang-tools/`), from
//!   PyPI with `python3 -m pip install --target` and from npm with `npm ci`, and again only when
//!   the pins change. Building a plugin downloads nothing.
//! - A Python plugin is a folder of `plugins-wasm/python/` with an `app.py` (whose `WitWorld`
//!   is the component), built with the SDK folder `portunus/` on its path; a JavaScript plugin
//!   is a folder of `plugins-wasm/js/` with a `plugin.js`.
//! - A plugin ships (`<name>.wasm` beside the Rust plugins, loaded by default) unless a Rust
//!   plugin has its name (the EchoTest in Python and JavaScript: other builds of one plugin) or
//!   its name starts with `test`: those go to the other folder as `<name>-py.wasm` and
//!   `<name>-js.wasm`.
//! - The templates (`plugins-wasm/templates/python`, `…/js`) are built too, as
//!   `template-py.wasm` and `template-js.wasm`, so that the tutorial cannot rot.
//!
//! - The TypeScript declarations of the plugin world as JavaScript sees it are generated into
//!   `<builds>/js-types/` (`plugins-wasm/js/types.mjs`); a test checks that the copy committed
//!   in `plugins-wasm/js/types/` for editors is current.
//!
//! - JavaScript plugins are compiled ahead of time with `weval` (componentize-js's AOT mode:
//!   the engine's interpreter specialised to the plugin's code, a third off each call). weval
//!   is built from crates.io at the version [`WEVAL`] pins, once per target directory
//!   (`cargo install`, about 6 minutes of two cores), as componentize-js's own download of it
//!   from GitHub is not something a build may rely on.
//!
//! - A build is kept (`<wasm target dir>/lang-tools/built/`) under a hash of its inputs (its
//!   language's folder, the template's folder, the WIT, the pinned weval) and reused while they
//!   are unchanged: componentize-py and componentize-js do not make the same bytes twice, so
//!   every rerun of this script (each new commit) would otherwise ship a new component, which
//!   the gateway compiles again at start and keeps another copy of in its cache.
//!
//! All builds run at once (each takes seconds of one core).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The weval componentize-js 0.23 expects (its npm `@bytecodealliance/weval` is 0.5.0).
const WEVAL: &str = "0.5.0";

/// One component to build.
struct Job {
    /// `py` or `js`.
    lang: &'static str,
    /// The plugin's source folder.
    dir: PathBuf,
    /// Where the component goes.
    out: PathBuf,
}

/// Where the components go.
pub struct Outputs<'a> {
    /// The plugins that ship.
    pub shipped: &'a Path,
    /// Other builds of Rust plugins, and test plugins.
    pub builds: &'a Path,
    /// The templates.
    pub templates: &'a Path,
}

/// Builds every Python and JavaScript plugin and the templates; `tools_dir` holds the
/// installed toolchains, `rust_plugins` names the Rust plugins.
pub fn build(
    repo: &Path,
    tools_dir: &Path,
    out: &Outputs<'_>,
    rust_plugins: &[String],
) -> Result<(), String> {
    let python = repo.join("plugins-wasm").join("python");
    let js = repo.join("plugins-wasm").join("js");
    let templates = repo.join("plugins-wasm").join("templates");
    let mut jobs = Vec::new();
    for (lang, root, entry, skip) in [("py", &python, "app.py", "portunus"), ("js", &js, "plugin.js", "sdk")]
    {
        for name in folders_with(root, entry)?.into_iter().filter(|name| name != skip) {
            let file = if name.starts_with("test") || rust_plugins.contains(&name) {
                out.builds.join(format!("{name}-{lang}.wasm"))
            } else {
                out.shipped.join(format!("{name}.wasm"))
            };
            if jobs.iter().any(|job: &Job| job.out == file) {
                return Err(format!("two plugins are named {name}: {}", file.display()));
            }
            jobs.push(Job { lang, dir: root.join(&name), out: file });
        }
    }
    for (lang, folder) in [("py", "python"), ("js", "js")] {
        let dir = templates.join(folder);
        jobs.push(Job { lang, out: out.templates.join(format!("template-{lang}.wasm")), dir });
    }

    let py_tools = tools_dir.join("python");
    let js_tools = tools_dir.join("js");
    let wit = repo.join("wit");
    // The installs in parallel, then every build in parallel.
    let weval = std::thread::scope(|scope| {
        let py = scope.spawn(|| install_python(&python, &py_tools));
        let weval = scope.spawn(|| install_weval(&tools_dir.join("weval")));
        let js_install = install_js(&js, &js_tools);
        py.join().unwrap_or_else(|_| Err("the Python install panicked".into()))?;
        js_install?;
        weval.join().unwrap_or_else(|_| Err("the weval install panicked".into()))
    })?;
    let built = tools_dir.join("built");
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                let (wit, python, py_tools, js, js_tools) = (&wit, &python, &py_tools, &js, &js_tools);
                let (weval, built) = (weval.as_path(), built.as_path());
                scope.spawn(move || {
                    let root = if job.lang == "py" { python } else { js };
                    let key = inputs_key(repo, &[root, &job.dir, wit], &[job.lang, WEVAL]);
                    reuse_or_build(job, built, key, || match job.lang {
                        "py" => build_python(job, wit, python, py_tools),
                        _ => build_js(job, wit, js, js_tools, weval),
                    })
                })
            })
            .collect();
        let types = scope.spawn(|| js_types(&wit, &js, &js_tools, &out.builds.join("js-types")));
        let errors: Vec<String> = handles
            .into_iter()
            .chain([types])
            .filter_map(|h| h.join().unwrap_or_else(|_| Err("a plugin build panicked".into())).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n\n"))
        }
    })
}

/// A hash of the files under `dirs` (their names within `repo` and their bytes; installed
/// packages and bytecode left out) and of `also`: the same in every checkout of the same
/// sources, which may share a target directory.
fn inputs_key(repo: &Path, dirs: &[&Path], also: &[&str]) -> u64 {
    // FNV-1a: the same on every build, unlike std's hashers.
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for text in also {
        eat(text.as_bytes());
        eat(&[0]);
    }
    let mut files = Vec::new();
    for dir in dirs {
        files_under(dir, &mut files);
    }
    files.sort();
    files.dedup();
    for file in files {
        eat(file.strip_prefix(repo).unwrap_or(&file).to_string_lossy().as_bytes());
        eat(&[0]);
        eat(&fs::read(&file).unwrap_or_default());
    }
    hash
}

/// Every file under `dir`, but for `node_modules` and `__pycache__`.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "node_modules" && name != "__pycache__" {
                files_under(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

/// Puts the build kept for `key` in place, or builds it and keeps it (the one before of that
/// output goes).
fn reuse_or_build(
    job: &Job,
    built: &Path,
    key: u64,
    build: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let name = job.out.file_name().and_then(|n| n.to_str()).ok_or("a plugin output has no name")?;
    let prefix = format!("{name}-");
    let kept = built.join(format!("{prefix}{key:016x}"));
    if kept.is_file() {
        return super::copy_if_changed(&kept, &job.out);
    }
    build()?;
    fs::create_dir_all(built).map_err(|e| format!("cannot create {}: {e}", built.display()))?;
    for old in fs::read_dir(built).into_iter().flatten().filter_map(Result::ok) {
        if old.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = fs::remove_file(old.path());
        }
    }
    let bytes = fs::read(&job.out).map_err(|e| format!("cannot read {}: {e}", job.out.display()))?;
    write(&kept, &bytes)
}

/// The source folders the build script watches.
pub fn sources(repo: &Path) -> Vec<PathBuf> {
    let root = repo.join("plugins-wasm");
    vec![
        root.join("python"),
        root.join("js"),
        root.join("templates").join("python"),
        root.join("templates").join("js"),
    ]
}

/// The sub-folders of `root` that hold `entry`, sorted.
fn folders_with(root: &Path, entry: &str) -> Result<Vec<String>, String> {
    let entries = fs::read_dir(root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(entry).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Installs the pinned `componentize-py` into `tools` unless it is there already.
fn install_python(python: &Path, tools: &Path) -> Result<(), String> {
    let requirements = python.join("requirements.txt");
    let pins = read(&requirements)?;
    let marker = tools.join(".installed");
    if fs::read_to_string(&marker).is_ok_and(|done| done == pins) {
        return Ok(());
    }
    let _ = fs::remove_dir_all(tools);
    let install = |extra: &[&str]| {
        Command::new(python3())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-warn-script-location",
            ])
            .arg("--target")
            .arg(tools)
            .arg("-r")
            .arg(&requirements)
            .args(extra)
            .output()
            .map_err(|e| {
                format!(
                    "the Python plugins need Python 3 with pip to build ({} could not be run: {e}); \
                     install them (Debian: apt install python3 python3-pip) or set PYTHON",
                    python3()
                )
            })
    };
    let mut output = install(&[])?;
    if !output.status.success() && String::from_utf8_lossy(&output.stderr).contains("externally-managed") {
        // Debian's Python refuses installs outside a venv; this one goes to our own folder.
        output = install(&["--break-system-packages"])?;
    }
    if !output.status.success() {
        return Err(format!(
            "installing the Python plugins' toolchain ({}) with `{} -m pip install --target {}` failed; \
             pip needs to reach PyPI once. Its output:\n{}{}",
            pins.trim(),
            python3(),
            tools.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    write(&marker, pins.as_bytes())
}

/// Installs the pinned `componentize-js` into `tools` (`npm ci`) unless it is there already.
fn install_js(js: &Path, tools: &Path) -> Result<(), String> {
    let manifest = read(&js.join("package.json"))?;
    let lock = read(&js.join("package-lock.json"))?;
    let marker = tools.join(".installed");
    let pins = format!("{manifest}{lock}");
    if fs::read_to_string(&marker).is_ok_and(|done| done == pins) {
        return Ok(());
    }
    let _ = fs::remove_dir_all(tools);
    fs::create_dir_all(tools).map_err(|e| format!("cannot create {}: {e}", tools.display()))?;
    write(&tools.join("package.json"), manifest.as_bytes())?;
    write(&tools.join("package-lock.json"), lock.as_bytes())?;
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(tools)
        .output()
        .map_err(|e| {
            format!(
                "the JavaScript plugins need Node.js and npm to build (npm could not be run: {e}); \
                 install them (Debian: apt install nodejs npm)"
            )
        })?;
    if !output.status.success() {
        return Err(format!(
            "installing the JavaScript plugins' toolchain (`npm ci` of plugins-wasm/js/package-lock.json in {}) \
             failed; npm needs to reach its registry once. Its output:\n{}{}",
            tools.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    write(&marker, pins.as_bytes())
}

fn python3() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `componentize-py -d wit -w plugin componentize -p <sdk> -p <plugin> app -o <out>`.
fn build_python(job: &Job, wit: &Path, python: &Path, tools: &Path) -> Result<(), String> {
    let tmp = job.out.with_extension("wasm.tmp");
    let mut cmd = Command::new(python3());
    cmd.args(["-c", "from componentize_py import script; script()"])
        .arg("-d")
        .arg(wit)
        .args(["-w", "plugin", "componentize", "-p"])
        .arg(python)
        .arg("-p")
        .arg(&job.dir)
        .args(["app", "-o"])
        .arg(&tmp)
        .env("PYTHONPATH", tools)
        // No __pycache__ folders in the sources.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run(cmd, job, &tmp)
}

/// `node build.mjs <plugin.js> <wit> <out> <node_modules> <weval>`.
fn build_js(job: &Job, wit: &Path, js: &Path, tools: &Path, weval: &Path) -> Result<(), String> {
    let tmp = job.out.with_extension("wasm.tmp");
    // componentize-js reads the sources through a view of the folder it runs in: run it in
    // `plugins-wasm/`, which holds every plugin and the SDK they import.
    let root = js.parent().ok_or("plugins-wasm/js has no parent")?;
    let source = job
        .dir
        .strip_prefix(root)
        .map_err(|_| format!("{} is outside {}", job.dir.display(), root.display()))?;
    let mut cmd = Command::new("node");
    cmd.current_dir(root)
        .arg(js.join("build.mjs"))
        .arg(source.join("plugin.js"))
        .arg(wit)
        .arg(&tmp)
        .arg(tools.join("node_modules"))
        .arg(weval);
    run(cmd, job, &tmp)
}

/// Builds the pinned weval into `dir` (`cargo install`) unless it is there already; its path.
fn install_weval(dir: &Path) -> Result<PathBuf, String> {
    let bin = dir.join("bin").join("weval");
    let marker = dir.join(".installed");
    if bin.is_file() && fs::read_to_string(&marker).is_ok_and(|v| v == WEVAL) {
        return Ok(bin);
    }
    let build = dir.join("build");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["install", "weval", "--locked", "--force", "--version", &format!("={WEVAL}")])
        .arg("--root")
        .arg(dir)
        .arg("--target-dir")
        .arg(&build);
    super::clean_env(&mut cmd);
    let output = cmd.output().map_err(|e| format!("cannot run cargo to install weval: {e}"))?;
    let _ = fs::remove_dir_all(&build);
    if !output.status.success() {
        return Err(format!(
            "installing weval {WEVAL} (`cargo install weval --locked`, for the JavaScript plugins' \
             ahead-of-time compilation) failed; cargo needs to reach crates.io once. Its output:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    write(&marker, WEVAL.as_bytes())?;
    Ok(bin)
}

/// `node types.mjs <plugin.wit> <out dir> <node_modules>`.
fn js_types(wit: &Path, js: &Path, tools: &Path, out: &Path) -> Result<(), String> {
    let output = Command::new("node")
        .arg(js.join("types.mjs"))
        .arg(wit.join("plugin.wit"))
        .arg(out)
        .arg(tools.join("node_modules"))
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "generating the JavaScript types failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Runs a build and moves its output into place when the bytes changed.
fn run(mut cmd: Command, job: &Job, tmp: &Path) -> Result<(), String> {
    let output = cmd.output().map_err(|e| format!("cannot build {}: {e}", job.dir.display()))?;
    if !output.status.success() {
        return Err(format!(
            "building the plugin {} failed ({}):\n{}{}",
            job.dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let bytes =
        fs::read(tmp).map_err(|e| format!("the build of {} wrote nothing: {e}", job.dir.display()))?;
    let _ = fs::remove_file(tmp);
    if fs::read(&job.out).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    write(&job.out, &bytes)
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes through a temporary file and a rename.
fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("part");
    fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("cannot rename {}: {e}", tmp.display()))
}
