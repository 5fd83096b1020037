//! A delaying TCP proxy: every connection made to it is forwarded to one upstream
//! address, each chunk of bytes held back `delay` in each direction (order kept), and
//! [`DelayProxy::cut`] drops every connection it carries at once — what a slow, flaky
//! network does to the nodes behind it. Plain threads: four per connection, a handful of
//! connections in a test.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A running proxy; it stops accepting when dropped (its connections die with the test).
pub(crate) struct DelayProxy {
    address: SocketAddr,
    live: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
}

impl DelayProxy {
    /// Listens on `listen` (port 0: any free one) and forwards to `upstream`.
    pub(crate) fn start(
        listen: &str,
        upstream: SocketAddr,
        delay: Duration,
    ) -> io::Result<DelayProxy> {
        let listener = TcpListener::bind(listen)?;
        let address = listener.local_addr()?;
        let live = Arc::new(Mutex::new(Vec::new()));
        let registry = Arc::clone(&live);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if let Err(error) = forward(client, upstream, delay, &registry) {
                    eprintln!("delay proxy: a connection failed: {error}");
                }
            }
        });
        Ok(DelayProxy { address, live })
    }

    /// Where clients connect.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// How many connections it carries now.
    pub(crate) fn carrying(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Drops every connection it carries now; returns how many.
    pub(crate) fn cut(&self) -> usize {
        let cut: Vec<_> = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
            .collect();
        for (client, server) in &cut {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
        }
        cut.len()
    }
}

/// Connects `client` to `upstream` through two delaying pumps.
fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    delay: Duration,
    live: &Mutex<Vec<(TcpStream, TcpStream)>>,
) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    live.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((client.try_clone()?, server.try_clone()?));
    pump(client.try_clone()?, server.try_clone()?, delay);
    pump(server, client, delay);
    Ok(())
}

/// Copies `from` to `to`, each chunk `delay` late: one thread reads and stamps, one
/// writes when due. The end of `from` (or any error) ends both sides.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (chunks, due) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => {
                    let chunk = (Instant::now() + delay, buffer[..read].to_vec());
                    if chunks.send(chunk).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        for (when, chunk) in due {
            let wait = when.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}
