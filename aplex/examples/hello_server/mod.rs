//! The quickstarts' HTTP server: hyper on 127.0.0.1, answering every request with
//! `200 OK` and a short body, on a thread of its own — so the demos need no network.

use std::convert::Infallible;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};

/// Answers every request with `200 OK`.
async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"hello from aplex",
    ))))
}

/// Serves [`hello`] on 127.0.0.1 (a free port), on a thread of its own; its address.
pub(crate) fn start() -> SocketAddr {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    // A deep accept backlog: a map opens many connections at once, and a full backlog
    // drops SYNs (retried only after 1 s).
    let listener: TcpListener = runtime.block_on(async {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind 127.0.0.1");
        socket.listen(4096).expect("listen")
    });
    let address = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        runtime.block_on(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(hello));
                    let _ = connection.await;
                });
            }
        });
    });
    address
}
