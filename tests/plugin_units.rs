//! The plugins' own unit tests (`plugins-wasm/`, a workspace of its own that `cargo test
//! --workspace` does not reach): run natively, so one test command runs them too.

use std::path::Path;
use std::process::Command;

#[test]
fn the_plugins_unit_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Next to the wasm builds of host/build.rs, apart from the outer build's directory.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../wasm-plugins");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--locked", "--manifest-path"])
        .arg(root.join("plugins-wasm/Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "the plugins' unit tests failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test result: ok"), "no test ran:\n{stdout}\n{stderr}");
}
