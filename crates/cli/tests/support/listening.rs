//! Whether a server listens on a loopback port — the readiness probe of every test that
//! starts one. Shared by `#[path]` with rafka-connect's and rafka-rest-proxy's tests.
//!
//! `TcpStream::connect(port).is_ok()` is not enough: test ports come from `bind(0)`, so
//! they lie in the ephemeral range, and while nothing listens yet the kernel may pick the
//! very same port as the probe's own source port — a TCP *self-connect* (simultaneous
//! open) that succeeds with no server at all. The probe then said "ready" and the test's
//! first request was refused. A connection whose two ends are the same address is not a
//! server.

#![allow(unreachable_pub)]

use std::net::TcpStream;

/// True when something accepts connections on `127.0.0.1:port`.
pub fn listening(port: u16) -> bool {
    match TcpStream::connect(("127.0.0.1", port)) {
        Ok(stream) => match (stream.local_addr(), stream.peer_addr()) {
            (Ok(local), Ok(peer)) => local != peer,
            _ => false,
        },
        Err(_) => false,
    }
}
