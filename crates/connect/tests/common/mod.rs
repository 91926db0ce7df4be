//! A real `rafka` broker for the integration tests: the release binary (`RAFKA_BIN`, else
//! `$CARGO_TARGET_DIR/release/rafka`, built by `cargo build --release -p rafka-cli`) on a
//! free loopback port with its own data directory. Dropping the guard kills it.
#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn rafka_bin() -> PathBuf {
    if let Ok(explicit) = std::env::var("RAFKA_BIN") {
        return PathBuf::from(explicit);
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
        format!(
            "{}/.cache/rafka/target",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let path = PathBuf::from(target).join("release/rafka");
    assert!(
        path.exists(),
        "rafka binary not found at {}: run `cargo build --release -p rafka-cli` or set RAFKA_BIN",
        path.display()
    );
    path
}

impl Broker {
    pub fn start() -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = format!(
            "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\n",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("server.properties"), config).expect("write config");
        let mut broker = Broker {
            port,
            dir,
            child: None,
        };
        broker.restart();
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// (Re)starts the process on the same data and waits until it listens.
    pub fn restart(&mut self) {
        self.kill();
        let log_path = self.dir.path().join("broker.log");
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(log_path);
        let child = Command::new(rafka_bin())
            .args(["server", "start"])
            .arg(self.dir.path().join("server.properties"))
            .stdout(Stdio::null())
            .stderr(log.expect("log file"))
            .spawn()
            .expect("spawn rafka");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "rafka did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
