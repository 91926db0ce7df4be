//! `rafka-floor`: the cost floor of rafka's produce path, for `bench/run.sh`.
//!
//! It speaks just enough Kafka for `rafka producer-perf-test` (librdkafka) to produce to
//! it: ApiVersions, Metadata (one broker, itself; every requested topic with
//! `--partitions` partitions led by itself) and Produce, which appends each partition's
//! `records` bytes as received to one file per partition and answers with base offsets.
//! Nothing is validated beyond framing: no CRC, no sequence, no offset rewriting, no
//! index. The broker's CPU per GB produced divided by this program's is the ratio the
//! benchmark reports; whatever the broker spends above the floor is its own overhead.
//!
//! One tokio task per connection, requests answered in order, as a broker does.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use clap::Parser;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataRequest, MetadataResponse, ProduceRequest,
    ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::frame::FrameDecoder;
use rafka_protocol::request::{encode_response, parse_request, RequestFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the floor serves, and nothing else. Produce stops at v12: v13 names topics by id.
const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
];

/// Kafka's default `socket.request.max.bytes`.
const REQUEST_BYTES_MAX: usize = 100 * 1024 * 1024;

const NODE_ID: i32 = 1;

#[derive(Debug, Parser)]
#[command(
    name = "rafka-floor",
    about = "Minimal Kafka produce sink: the benchmark's floor"
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

/// One partition's file and the offset its next batch gets.
#[derive(Debug)]
struct PartitionFile {
    file: File,
    next_offset: i64,
}

/// The open partition files by (topic, partition), each behind its own lock so that
/// connections producing to different partitions do not wait for each other.
type PartitionFiles = HashMap<(TopicName, i32), Arc<Mutex<PartitionFile>>>;

#[derive(Debug)]
struct Floor {
    dir: PathBuf,
    partitions: i32,
    host: String,
    port: i32,
    files: Mutex<PartitionFiles>,
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
        files: Mutex::new(HashMap::new()),
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
            if let Some(response) = handle(floor, parse_request(frame)?)? {
                stream.write_all(&response).await?;
            }
        }
        if stream.read_buf(&mut buffer).await? == 0 {
            return Ok(());
        }
    }
}

/// The response frame, or `None` for Produce with acks=0.
fn handle(floor: &Floor, request: RequestFrame) -> anyhow::Result<Option<Bytes>> {
    let version = request.api_version();
    let correlation_id = request.correlation_id();
    let response = match request.api_key {
        ApiKey::ApiVersions => {
            let response = ApiVersionsResponse::default().with_api_keys(
                SUPPORTED_APIS
                    .iter()
                    .map(|(key, min, max)| {
                        ApiVersion::default()
                            .with_api_key(*key as i16)
                            .with_min_version(*min)
                            .with_max_version(*max)
                    })
                    .collect(),
            );
            // A version past ours gets the v0 answer with UNSUPPORTED_VERSION (35).
            if version > 3 {
                encode_response(
                    request.api_key,
                    0,
                    correlation_id,
                    &response.with_error_code(35),
                )?
            } else {
                encode_response(request.api_key, version, correlation_id, &response)?
            }
        }
        ApiKey::Metadata => {
            let body: MetadataRequest = request.decode_body()?;
            encode_response(
                request.api_key,
                version,
                correlation_id,
                &metadata(floor, body),
            )?
        }
        ApiKey::Produce => {
            let body: ProduceRequest = request.decode_body()?;
            let acks = body.acks;
            let response = produce(floor, body)?;
            if acks == 0 {
                return Ok(None);
            }
            encode_response(request.api_key, version, correlation_id, &response)?
        }
        other => anyhow::bail!("{other:?} is not served by the floor"),
    };
    Ok(Some(response))
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

fn produce(floor: &Floor, request: ProduceRequest) -> anyhow::Result<ProduceResponse> {
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic_data in request.topic_data {
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for partition_data in topic_data.partition_data {
            let records = partition_data.records.as_deref().unwrap_or(&[]);
            let file = floor.partition_file(&topic_data.name, partition_data.index)?;
            let base_offset = {
                let mut file = file
                    .lock()
                    .map_err(|_| anyhow::anyhow!("a partition file's lock was poisoned"))?;
                file.file.write_all(records)?;
                let base = file.next_offset;
                file.next_offset += record_count(records);
                base
            };
            partitions.push(
                PartitionProduceResponse::default()
                    .with_index(partition_data.index)
                    .with_base_offset(base_offset)
                    .with_log_append_time_ms(-1),
            );
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_partition_responses(partitions),
        );
    }
    Ok(ProduceResponse::default().with_responses(responses))
}

/// Records in a run of v2 batches, from each header's `lastOffsetDelta`, so the offsets
/// answered advance as a broker's do. Not a validation: a short tail is simply not counted.
fn record_count(mut records: &[u8]) -> i64 {
    // baseOffset (8) batchLength (4) partitionLeaderEpoch (4) magic (1) crc (4)
    // attributes (2) lastOffsetDelta (4).
    const LAST_OFFSET_DELTA_AT: usize = 23;
    let mut count = 0;
    while records.len() >= LAST_OFFSET_DELTA_AT + 4 {
        let length = i32::from_be_bytes([records[8], records[9], records[10], records[11]]);
        let delta_bytes = &records[LAST_OFFSET_DELTA_AT..LAST_OFFSET_DELTA_AT + 4];
        let delta = i32::from_be_bytes([
            delta_bytes[0],
            delta_bytes[1],
            delta_bytes[2],
            delta_bytes[3],
        ]);
        count += i64::from(delta) + 1;
        let batch_size = 12 + length.max(0) as usize;
        if batch_size > records.len() {
            break;
        }
        records = &records[batch_size..];
    }
    count
}

impl Floor {
    fn partition_file(
        &self,
        topic: &TopicName,
        index: i32,
    ) -> anyhow::Result<Arc<Mutex<PartitionFile>>> {
        let mut files = self
            .files
            .lock()
            .map_err(|_| anyhow::anyhow!("the file table's lock was poisoned"))?;
        if let Some(file) = files.get(&(topic.clone(), index)) {
            return Ok(Arc::clone(file));
        }
        let path = self.dir.join(format!("{}-{index}.log", topic.as_str()));
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let file = Arc::new(Mutex::new(PartitionFile {
            file,
            next_offset: 0,
        }));
        files.insert((topic.clone(), index), Arc::clone(&file));
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_count_sums_last_offset_deltas_of_whole_batches() {
        let mut batches = Vec::new();
        for (delta, body) in [(4i32, 10usize), (0, 3)] {
            let length = (49 + body) as i32; // bytes after the length field
            let mut batch = vec![0u8; 12 + length as usize];
            batch[8..12].copy_from_slice(&length.to_be_bytes());
            batch[23..27].copy_from_slice(&delta.to_be_bytes());
            batches.extend_from_slice(&batch);
        }
        assert_eq!(record_count(&batches), 6);
        assert_eq!(record_count(&[]), 0);
    }
}
