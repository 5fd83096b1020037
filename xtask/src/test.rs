//! `cargo xtask test`: the README's test command — every test, including those that need
//! a real `nats-server` (the remote pool's), which it provides where it is missing.
//!
//! 1. Find `nats-server` (`$APLEX_NATS_SERVER`, `PATH`, `/usr/sbin`). If it is missing
//!    and this runs as root, install Debian's package (`apt-get install nats-server`);
//!    otherwise fail, saying exactly what to install.
//! 2. Run `cargo test --workspace` with the features `aplex/server-tests` (the shared
//!    pool suite on the remote pool) and `aplex-remote/server-tests` (the remote pool's
//!    own tests): one build, every test.

use std::path::PathBuf;
use std::process::Command;

use crate::tidy::workspace_root;

/// What installs the server on a Debian machine.
const INSTALL: &str = "apt-get update && apt-get install -y --no-install-recommends nats-server";

/// Runs every test; see the module docs.
pub(crate) fn run() -> Result<(), String> {
    let server = ensure_nats_server()?;
    println!("== nats-server: {}", server.display());
    let root = workspace_root();
    // One build: every test of the workspace, with the features of the server tests.
    println!("== cargo test --workspace, with the tests that need nats-server");
    let status = Command::new("cargo")
        .args([
            "test",
            "--workspace",
            "--features",
            "aplex/server-tests,aplex-remote/server-tests",
        ])
        .env("APLEX_NATS_SERVER", &server)
        .current_dir(&root)
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!("the tests failed ({status})"));
    }
    Ok(())
}

/// The `nats-server` binary, installed first if it is missing and this runs as root.
pub(crate) fn ensure_nats_server() -> Result<PathBuf, String> {
    if let Some(found) = find() {
        return Ok(found);
    }
    if !is_root() {
        return Err(format!(
            "the remote pool's tests need nats-server, which is not installed; install it \
             (Debian/Ubuntu, as root: `{INSTALL}`) or set APLEX_NATS_SERVER to its path"
        ));
    }
    println!("== installing nats-server: {INSTALL}");
    let status = Command::new("sh")
        .args(["-c", INSTALL])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|error| format!("cannot run apt-get: {error}"))?;
    if !status.success() {
        return Err(format!(
            "installing nats-server failed ({status}): `{INSTALL}`"
        ));
    }
    find().ok_or_else(|| "nats-server was installed but is not found".to_owned())
}

fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("APLEX_NATS_SERVER") {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}
