//! A throwaway PostgreSQL server for the integration tests: Debian's server programs (found,
//! or installed, by `scripts/setup-postgres.sh`), `initdb` into a temporary directory and
//! `pg_ctl start` on a free loopback port; as root both run as the `postgres` OS user,
//! since the server refuses root. Dropping the guard stops the server and removes the
//! directory.
//!
//! Shared: rafka-connect's JDBC tests include this file with `#[path]` (a test module, not
//! a dependency, so no crate border is crossed).
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;

#[path = "../../../cli/tests/support/paths.rs"]
mod paths;
use std::process::Command;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// A running server. `Drop` stops it (immediate mode) and removes its directory.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
    as_postgres_user: bool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("port", &self.port)
            .finish()
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Postgres {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts a server with a `rafka` superuser (trust authentication) and database `rafka`.
    pub async fn start() -> Postgres {
        let script = paths::repo_path("scripts/setup-postgres.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run setup-postgres.sh");
        assert!(
            out.status.success(),
            "setup-postgres.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let dir = tempfile::Builder::new()
            .prefix("rafka-pg-")
            .tempdir()
            .unwrap();
        let as_postgres_user = is_root();
        if as_postgres_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let mut server = Postgres {
            bin,
            dir,
            port: 0,
            as_postgres_user,
        };
        let out = server
            .command("initdb")
            .arg("-D")
            .arg(server.data())
            .args([
                "--auth=trust",
                "-U",
                "rafka",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A port can be taken between our probe and the server's bind: try a few.
        for _ in 0..5 {
            let port = free_port();
            if server.pg_ctl_start(port).status.success() {
                server.port = port;
                break;
            }
        }
        assert!(
            server.port != 0,
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(server.dir.path().join("log")).unwrap_or_default()
        );
        let admin = server.connect_to("postgres").await;
        admin.batch_execute("CREATE DATABASE rafka").await.unwrap();
        server
    }

    fn pg_ctl_start(&self, port: u16) -> std::process::Output {
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -F -c fsync=off -c full_page_writes=off",
            self.dir.path().display()
        );
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "-o", &options, "-l"])
            .arg(self.dir.path().join("log"))
            .arg("start")
            .output()
            .unwrap()
    }

    /// Stops the server (fast shutdown: every connection is closed); `start_again` brings
    /// it back on the same port with the same data.
    pub fn stop(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start_again(&self) {
        let out = self.pg_ctl_start(self.port);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Restarts the server (fast shutdown: every connection is closed), same port. The log
    /// file matters: without it the server would inherit, and hold open, the pipes that
    /// `output()` reads to their end.
    pub fn restart(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "-t", "60", "-l"])
            .arg(self.dir.path().join("log"))
            .arg("restart")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl restart failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!("jdbc:postgresql://127.0.0.1:{}/rafka?user=rafka", self.port)
    }

    async fn connect_to(&self, database: &str) -> Client {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user("rafka")
            .dbname(database)
            .connect(NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    /// A connection to database `rafka`, for setting up and checking tables.
    pub async fn client(&self) -> Client {
        self.connect_to("rafka").await
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

/// String properties from pairs.
pub fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Polls `task` until `count` records arrived or the deadline passes (then fails).
pub async fn poll_records(
    task: &mut rafka_connect_jdbc::JdbcSourceTask,
    count: usize,
) -> Vec<rafka_connect_data::ConnectRecord> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut records = Vec::new();
    while records.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, task.poll()).await {
            Ok(batch) => records.extend(batch.unwrap()),
            Err(_) => panic!(
                "only {} of {count} records before the deadline",
                records.len()
            ),
        }
    }
    records
}

/// Asserts that no record arrives for `quiet` (several poll intervals): a poll that returns
/// something is a failure. This is a bounded wait for an absence, not a sleep standing in
/// for a condition.
pub async fn assert_no_records(task: &mut rafka_connect_jdbc::JdbcSourceTask, quiet: Duration) {
    if let Ok(batch) = tokio::time::timeout(quiet, task.poll()).await {
        panic!("expected no records, got {:?}", batch.map(|b| b.len()));
    }
}
