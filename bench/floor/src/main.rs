//! `rafka-floor`: the cost floor of rafka's produce and fetch paths, for `bench/run.sh`.
//!
//! It speaks just enough Kafka for `rafka producer-perf-test` and `rafka
//! consumer-perf-test` (librdkafka) to produce to it and consume from it:
//! - ApiVersions, and Metadata (one broker, itself; every requested topic with
//!   `--partitions` partitions led by itself);
//! - Produce ([`produce`]): appends each partition's batches to one file per partition,
//!   with the base offsets assigned (a gathered write of 8 new bytes and the client's
//!   bytes per batch) and one in-memory (base offset, position) entry per batch;
//! - ListOffsets and Fetch ([`fetch`]): the earliest and latest offsets, and whole
//!   batches from the file with `sendfile`, as the broker sends them;
//! - the consumer-group calls of a group of one ([`group`]): the one member leads, its
//!   own assignment comes back, nothing is committed.
//!
//! Nothing is validated beyond framing: no CRC, no sequence, no timestamps, no index file,
//! no fetch sessions, no waking a waiting fetch on append (it sleeps out `max_wait_ms`).
//! The broker's CPU per GB produced or fetched divided by this program's is the ratio the
//! benchmark reports; whatever the broker spends above the floor is its own overhead.
//!
//! One tokio task per connection, requests answered in order, as a broker does.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use clap::Parser;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::fetch_frame::Part;
use rafka_protocol::frame::FrameDecoder;
use rafka_protocol::request::{
    api_versions_response, encode_response, parse_request, RequestFrame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod fetch;
mod group;
mod produce;

use produce::PartitionLog;

/// What the floor serves, and nothing else. Versions stop before topic ids (Produce v13,
/// Fetch v13), OffsetFetch's group batches (v8) and member epochs (OffsetCommit v9).
const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::ApiVersions, 0, 3),
];

/// Kafka's default `socket.request.max.bytes`.
const REQUEST_BYTES_MAX: usize = 100 * 1024 * 1024;

const NODE_ID: i32 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "rafka-floor",
    about = "Minimal Kafka produce sink and fetch source: the benchmark's floor"
)]
struct Args {
    /// address to listen on; port 0 picks a free one (printed on stdout)
    #[arg(long, default_value = "127.0.0.1:9092")]
    listen: String,
    /// directory of the partition files (`<topic>-<partition>.log`)
    #[arg(long, default_value = "floor-data")]
    dir: PathBuf,
    /// partitions of every topic
    #[arg(long, default_value_t = 1)]
    partitions: i32,
}

/// The partition logs by (topic, partition), each behind its own lock so that
/// connections producing to different partitions do not wait for each other.
type PartitionLogs = HashMap<(TopicName, i32), Arc<Mutex<PartitionLog>>>;

#[derive(Debug)]
struct Floor {
    dir: PathBuf,
    partitions: i32,
    host: String,
    port: i32,
    logs: Mutex<PartitionLogs>,
}

/// What a request gets back.
#[derive(Debug)]
enum Reply {
    /// Nothing (Produce with acks=0).
    None,
    Frame(Bytes),
    /// A Fetch response: its parts, with each partition's records sent from its file.
    Fetch {
        parts: Vec<Part>,
        records: Vec<Option<fetch::FileRange>>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    let listener = TcpListener::bind(&args.listen).await?;
    let local = listener.local_addr()?;
    println!("rafka-floor listening on {local}");
    let floor = Arc::new(Floor {
        dir: args.dir,
        partitions: args.partitions.max(1),
        host: local.ip().to_string(),
        port: i32::from(local.port()),
        logs: Mutex::new(HashMap::new()),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let floor = Arc::clone(&floor);
        tokio::spawn(async move {
            if let Err(e) = serve(&floor, stream).await {
                eprintln!("connection closed: {e}");
            }
        });
    }
}

async fn serve(floor: &Floor, mut stream: TcpStream) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let decoder = FrameDecoder::new(REQUEST_BYTES_MAX);
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    loop {
        while let Some(frame) = decoder.decode(&mut buffer)? {
            match handle(floor, parse_request(frame)?).await? {
                Reply::None => {}
                Reply::Frame(bytes) => stream.write_all(&bytes).await?,
                Reply::Fetch { parts, records } => {
                    for part in parts {
                        match part {
                            Part::Bytes(bytes) => stream.write_all(&bytes).await?,
                            Part::Records(n) => {
                                let Some(Some(range)) = records.get(n) else {
                                    anyhow::bail!("the fetch frame names missing records");
                                };
                                fetch::send_file(&stream, range).await?;
                            }
                        }
                    }
                }
            }
        }
        if stream.read_buf(&mut buffer).await? == 0 {
            return Ok(());
        }
    }
}

async fn handle(floor: &Floor, request: RequestFrame) -> anyhow::Result<Reply> {
    let version = request.api_version();
    let correlation_id = request.correlation_id();
    let key = request.api_key;
    let frame = match key {
        ApiKey::ApiVersions => api_versions(version, correlation_id)?,
        ApiKey::Metadata => {
            let body: MetadataRequest = request.decode_body()?;
            encode_response(key, version, correlation_id, &metadata(floor, body))?
        }
        ApiKey::Produce => return produce::handle(floor, &request),
        ApiKey::ListOffsets => {
            let response = fetch::list_offsets(floor, request.decode_body()?)?;
            encode_response(key, version, correlation_id, &response)?
        }
        ApiKey::Fetch => return fetch::handle(floor, &request).await,
        _ => match group::handle(floor, &request)? {
            Some(frame) => frame,
            None => anyhow::bail!("{key:?} is not served by the floor"),
        },
    };
    Ok(Reply::Frame(frame))
}

fn api_versions(version: i16, correlation_id: i32) -> anyhow::Result<Bytes> {
    let response = api_versions_response(SUPPORTED_APIS);
    // A version past ours gets the v0 answer with UNSUPPORTED_VERSION (35).
    Ok(if version > 3 {
        encode_response(
            ApiKey::ApiVersions,
            0,
            correlation_id,
            &response.with_error_code(35),
        )?
    } else {
        encode_response(ApiKey::ApiVersions, version, correlation_id, &response)?
    })
}

fn metadata(floor: &Floor, request: MetadataRequest) -> MetadataResponse {
    let names: Vec<TopicName> = request
        .topics
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.name)
        .collect();
    let topics = names
        .into_iter()
        .map(|name| {
            MetadataResponseTopic::default()
                .with_name(Some(name))
                .with_partitions(
                    (0..floor.partitions)
                        .map(|index| {
                            MetadataResponsePartition::default()
                                .with_partition_index(index)
                                .with_leader_id(BrokerId(NODE_ID))
                                .with_leader_epoch(0)
                                .with_replica_nodes(vec![BrokerId(NODE_ID)])
                                .with_isr_nodes(vec![BrokerId(NODE_ID)])
                        })
                        .collect(),
                )
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(NODE_ID))
            .with_host(StrBytes::from_string(floor.host.clone()))
            .with_port(floor.port)])
        .with_cluster_id(Some(StrBytes::from_static_str("rafka-floor")))
        .with_controller_id(BrokerId(NODE_ID))
        .with_topics(topics)
}

impl Floor {
    /// The log of a partition, created empty on first use.
    fn partition_log(
        &self,
        topic: &TopicName,
        index: i32,
    ) -> anyhow::Result<Arc<Mutex<PartitionLog>>> {
        let mut logs = self
            .logs
            .lock()
            .map_err(|_| anyhow::anyhow!("the partition table's lock was poisoned"))?;
        if let Some(log) = logs.get(&(topic.clone(), index)) {
            return Ok(Arc::clone(log));
        }
        let path = self.dir.join(format!("{}-{index}.log", topic.as_str()));
        let log = Arc::new(Mutex::new(PartitionLog::create(path)?));
        logs.insert((topic.clone(), index), Arc::clone(&log));
        Ok(log)
    }

    /// The log of a partition that has one; `None` for one never produced to.
    fn existing_log(&self, topic: &TopicName, index: i32) -> Option<Arc<Mutex<PartitionLog>>> {
        let logs = self.logs.lock().ok()?;
        logs.get(&(topic.clone(), index)).cloned()
    }
}
