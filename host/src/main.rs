//! `portunus`: the gateway binary.

use std::path::PathBuf;

use clap::Parser;
use portunus::config::Config;
use portunus::gateway;

/// A WebRTC gateway that speaks the Janus API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Janus configs folder (janus.jcfg, janus.transport.*.jcfg, janus.plugin.*.jcfg);
    /// without it the embedded defaults are used.
    #[arg(short = 'F', long = "configs-folder")]
    configs_folder: Option<PathBuf>,
    /// Log level 0 (none) .. 7 (debug), overriding `debug_level`.
    #[arg(short = 'd', long = "debug-level", value_parser = clap::value_parser!(u8).range(0..=7))]
    debug_level: Option<u8>,
    /// Start each log line with the time, overriding `debug_timestamps`.
    #[arg(short = 'D', long = "debug-timestamps")]
    debug_timestamps: bool,
    /// No colours in the log, overriding `debug_colors`.
    #[arg(short = 'o', long = "disable-colors")]
    disable_colors: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // Config warnings are logged, so the logger starts first, at the default level.
    let logging = portunus::logging::init(args.debug_level.unwrap_or(4));
    let config = match &args.configs_folder {
        Some(folder) => Config::load_folder(folder),
        None => Config::embedded(),
    };
    let mut config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("portunus: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(level) = args.debug_level {
        config.general.debug_level = level;
    }
    logging.apply(portunus::logging::LogChange::Level(config.general.debug_level));
    let g = &mut config.general;
    g.debug_timestamps |= args.debug_timestamps;
    g.debug_colors &= !args.disable_colors;
    portunus::logging::set_timestamps(g.debug_timestamps);
    portunus::logging::set_colors(g.debug_colors);
    let g = &config.general;
    if let Err(e) = logging.set_outputs(g.log_to_stdout, g.log_to_file.as_deref(), &g.log_prefix) {
        let file = g.log_to_file.as_deref().unwrap_or(std::path::Path::new("")).display();
        eprintln!("portunus: cannot open the log file {file}: {e}");
        return std::process::ExitCode::from(2);
    }
    let pid_file = match config.general.pid_file.as_deref().map(PidFile::create).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("portunus: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.general.api_threads)
        .thread_name("api")
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("portunus: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(gateway::run(config, logging));
    drop(pid_file);
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portunus: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `pid_file`, as Janus keeps it: the process id, in a file locked while the gateway runs (a
/// second gateway with the same file does not start) and removed when it stops.
struct PidFile {
    path: PathBuf,
    _locked: std::fs::File,
}

impl PidFile {
    fn create(path: &std::path::Path) -> Result<Self, String> {
        use std::io::Write;
        let shown = path.display();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("cannot create the pid file {shown}: {e}"))?;
        file.try_lock()
            .map_err(|_| format!("the pid file {shown} is locked: is another gateway running?"))?;
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(|e| format!("cannot write the pid file {shown}: {e}"))?;
        Ok(Self { path: path.to_owned(), _locked: file })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
