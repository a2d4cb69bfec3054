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
    logging.set_level(config.general.debug_level);
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
    match runtime.block_on(gateway::run(config, logging)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portunus: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
