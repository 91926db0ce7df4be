//! A real `rafka` broker for the integration tests: the release binary (`RAFKA_BIN`, else
//! `$CARGO_TARGET_DIR/release/rafka`, built by `cargo build --release -p rafka-cli`) on a
//! free loopback port with its own data directory. Dropping the guard kills it.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../cli/tests/support/listening.rs"]
mod listening;
use listening::listening;

use rafka_connect::herder::ConnectorTaskId;
use rafka_connect::worker_config::WorkerConfig;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

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

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with("")
    }

    /// A broker with `extra` server.properties lines (`key=value\n` each).
    pub fn start_with(extra: &str) -> Broker {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "node.id=1\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\n{extra}",
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
        while !listening(self.port) {
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

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub fn worker_config(broker: &Broker, extra: &[(&str, &str)]) -> WorkerConfig {
    let mut props: HashMap<String, String> = [
        ("bootstrap.servers", broker.bootstrap()),
        ("group.id", "connect-cluster".into()),
        ("config.storage.topic", "connect-configs".into()),
        ("offset.storage.topic", "connect-offsets".into()),
        ("status.storage.topic", "connect-status".into()),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        props.insert(k.to_string(), v.to_string());
    }
    WorkerConfig::from_props(props).unwrap()
}

pub fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn task(connector: &str, task: usize) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: connector.into(),
        task,
    }
}

/// One raw record: partition, key and value as text (`None`: a tombstone).
pub type Raw = (i32, String, Option<String>);

/// Every record of `topic`, read with a plain consumer until the end of each partition.
pub fn read_raw(broker: &Broker, topic: &str) -> Vec<Raw> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("group.id", "raw-reader")
        .set("enable.partition.eof", "true")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut assignment = TopicPartitionList::new();
    for p in &partitions {
        assignment
            .add_partition_offset(topic, *p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut at_end = HashSet::new();
    let mut records = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while at_end.len() < partitions.len() {
        assert!(
            Instant::now() < deadline,
            "did not reach the end of {topic}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => records.push((
                m.partition(),
                String::from_utf8(m.key().unwrap().to_vec()).unwrap(),
                m.payload().map(|v| String::from_utf8(v.to_vec()).unwrap()),
            )),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    records
}

pub fn raw(key: &str, value: Option<&str>) -> (String, Option<String>) {
    (key.to_string(), value.map(String::from))
}

pub fn without_partitions(records: Vec<Raw>) -> Vec<(String, Option<String>)> {
    records.into_iter().map(|(_, k, v)| (k, v)).collect()
}

/// Java's `Utils.murmur2`, to check a key sits in the partition Kafka's producer picks.
pub fn java_murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

pub fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (java_murmur2(key) & 0x7fff_ffff) % partitions
}
