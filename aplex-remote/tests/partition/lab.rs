//! A lab of hosts on one machine: each host a network namespace of its own with one
//! address on `10.99.0.0/24`, wired by a veth pair to a bridge that lives in a namespace
//! of its own — so a host's link can be unplugged (`ip link set .. down`) and plugged back.
//! Needs root (CI runs as root). Everything is removed when the lab drops; labs left by a
//! killed run (their owner's pid gone) are removed when the next one starts.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

/// The bridge's namespace and the prefix of every namespace of this run.
pub(crate) struct Lab {
    prefix: String,
    hosts: Vec<String>,
}

/// One host of the lab.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// Its namespace's name.
    pub(crate) namespace: String,
    /// Its name in the lab (`srv`, `n1`, ...).
    pub(crate) name: String,
    /// Its address.
    pub(crate) address: String,
}

impl Lab {
    /// A new lab with just its bridge; an error says why not (not root, no `ip`).
    pub(crate) fn new() -> io::Result<Lab> {
        remove_abandoned_labs();
        let prefix = format!("aplexlab{}-", std::process::id());
        let lab = Lab {
            prefix,
            hosts: Vec::new(),
        };
        ip(&["netns", "add", &lab.bridge()])?;
        ip(&["-n", &lab.bridge(), "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &lab.bridge(), "link", "set", "br0", "up"])?;
        Ok(lab)
    }

    /// Adds host `name` with address `10.99.0.<number>`, plugged into the bridge.
    pub(crate) fn host(&mut self, name: &str, number: u8) -> io::Result<Host> {
        let namespace = format!("{}{name}", self.prefix);
        let address = format!("10.99.0.{number}");
        let port = self.port(name);
        ip(&["netns", "add", &namespace])?;
        self.hosts.push(namespace.clone());
        let bridge = self.bridge();
        ip(&[
            "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
            &namespace,
        ])?;
        ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"])?;
        ip(&[
            "-n",
            &namespace,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            "eth0",
        ])?;
        ip(&["-n", &namespace, "link", "set", "eth0", "up"])?;
        ip(&["-n", &namespace, "link", "set", "lo", "up"])?;
        Ok(Host {
            namespace,
            name: name.to_owned(),
            address,
        })
    }

    /// Unplugs `host`'s cable: its bridge port goes down.
    pub(crate) fn unplug(&self, host: &Host) -> io::Result<()> {
        self.set_port(host, "down")
    }

    /// Plugs it back.
    pub(crate) fn replug(&self, host: &Host) -> io::Result<()> {
        self.set_port(host, "up")
    }

    fn set_port(&self, host: &Host, state: &str) -> io::Result<()> {
        let (bridge, port) = (self.bridge(), self.port(&host.name));
        ip(&["-n", &bridge, "link", "set", &port, state])
    }

    /// A command that runs `program` on `host` (`ip netns exec` execs it: its pid is the
    /// program's).
    pub(crate) fn command(&self, host: &Host, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &host.namespace])
            .arg(program);
        command
    }

    /// Moves the calling thread onto `host`'s network: the sockets it (and the threads
    /// and processes it starts from now on) opens are `host`'s.
    pub(crate) fn enter(&self, host: &Host) -> io::Result<()> {
        let namespace = File::open(format!("/var/run/netns/{}", host.namespace))?;
        // SAFETY: `setns` only reads the descriptor, which stays open for the call, and
        // changes the network namespace of the calling thread alone.
        #[allow(unsafe_code)]
        let status = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
        if status == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn bridge(&self) -> String {
        format!("{}bridge", self.prefix)
    }

    /// The bridge's end of `name`'s cable (interface names are at most 15 bytes).
    fn port(&self, name: &str) -> String {
        format!("p-{name}")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for namespace in self.hosts.iter().chain([&self.bridge()]) {
            let _ = ip(&["netns", "del", namespace]);
        }
    }
}

/// Runs `ip args`; a failure says what failed.
fn ip(args: &[&str]) -> io::Result<()> {
    let output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| io::Error::new(error.kind(), format!("cannot run `ip`: {error}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Deletes the namespaces of labs whose owner process is gone.
fn remove_abandoned_labs() {
    let Ok(entries) = std::fs::read_dir("/var/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix("aplexlab")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{owner}")).exists() {
            let _ = ip(&["netns", "del", &name]);
        }
    }
}
