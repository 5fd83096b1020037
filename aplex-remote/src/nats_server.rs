//! `NatsServer`: a real `nats-server` with JetStream, started on a free loopback port with
//! a store of its own and stopped (its store removed) when dropped — for tests, examples
//! and trying the remote pool on one machine.
//!
//! The binary is `$APLEX_NATS_SERVER`, else `nats-server` on `PATH`, else
//! `/usr/sbin/nats-server` (Debian's package: `apt-get install nats-server`).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a starting server may take to say which port it listens on.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `nats-server`; see the module docs.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    config: Option<PathBuf>,
    extra: Vec<String>,
}

impl NatsServer {
    /// Starts a server with JetStream on 127.0.0.1 and a free port.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let server = aplex_remote::NatsServer::start()?;
    /// assert!(server.url().starts_with("nats://127.0.0.1:"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start() -> io::Result<NatsServer> {
        Self::start_with(None, Vec::new())
    }

    /// Starts a server with the configuration `config` (the server's own file format:
    /// accounts, authorization, TLS, limits), JetStream on, on 127.0.0.1 and a free port.
    pub fn start_with_config(config: &str) -> io::Result<NatsServer> {
        Self::start_with(Some(config), Vec::new())
    }

    /// Starts a server with extra command-line arguments (`--max_payload 4096`, say).
    pub fn start_with_args(args: &[&str]) -> io::Result<NatsServer> {
        Self::start_with(None, args.iter().map(|arg| (*arg).to_owned()).collect())
    }

    fn start_with(config: Option<&str>, extra: Vec<String>) -> io::Result<NatsServer> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "aplex-nats-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let config = match config {
            None => None,
            Some(text) => {
                let path = dir.join("server.conf");
                std::fs::write(&path, text)?;
                Some(path)
            }
        };
        let mut server = NatsServer {
            child: None,
            dir,
            port: 0,
            config,
            extra,
        };
        server.launch(None)?;
        Ok(server)
    }

    /// Where clients connect: `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server process's id, while it runs (to pause it with `SIGSTOP` in a test, say).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server (kill, then reap), keeping its store.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the same store (what JetStream kept on
    /// disk survives).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        let port = self.port;
        self.launch(Some(port))
    }

    /// Where the `nats-server` binary is, or what to do to get one.
    pub fn binary() -> Result<PathBuf, String> {
        if let Some(path) = std::env::var_os("APLEX_NATS_SERVER") {
            return Ok(PathBuf::from(path));
        }
        let on_path = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.is_file());
        on_path.ok_or_else(|| {
            "no nats-server found: install it (Debian: `apt-get install nats-server`), or set \
             APLEX_NATS_SERVER to its path; `cargo xtask test` installs it when run as root"
                .to_owned()
        })
    }

    fn launch(&mut self, port: Option<u16>) -> io::Result<()> {
        let binary =
            Self::binary().map_err(|reason| io::Error::new(io::ErrorKind::NotFound, reason))?;
        let ports_dir = self.dir.join("ports");
        let _ = std::fs::remove_dir_all(&ports_dir);
        std::fs::create_dir_all(&ports_dir)?;
        let mut command = Command::new(binary);
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        command
            .args(["-a", "127.0.0.1", "-js"])
            .arg("-p")
            .arg(port.map_or("-1".to_owned(), |port| port.to_string()))
            .arg("-sd")
            .arg(self.dir.join("store"))
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn()?;
        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            if let Some(port) = read_port(&ports_dir) {
                break port;
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "nats-server exited at start ({status})"
                )));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "nats-server did not say which port it listens on",
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.port = port;
        self.child = Some(child);
        Ok(())
    }
}

/// The client port in the ports file a server wrote into `dir`, once it is complete.
fn read_port(dir: &Path) -> Option<u16> {
    let entry = std::fs::read_dir(dir).ok()?.flatten().next()?;
    let text = std::fs::read_to_string(entry.path()).ok()?;
    let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = ports.get("nats")?.get(0)?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
