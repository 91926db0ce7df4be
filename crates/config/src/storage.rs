//! What a log directory holds besides partitions: `meta.properties` (written by
//! `rafka storage format`, as Kafka's `kafka-storage.sh` does), the cluster metadata this
//! single node keeps until the Raft quorum owns it, and Kafka's offset checkpoint files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rafka_types::{Offset, TopicPartition};
use serde::{Deserialize, Serialize};

pub const META_PROPERTIES: &str = "meta.properties";
pub const METADATA_FILE: &str = "rafka-metadata.json";
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
pub const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";
/// Kafka's high watermark checkpoint.
pub const REPLICATION_OFFSET_CHECKPOINT: &str = "replication-offset-checkpoint";
pub const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` so that a crash leaves either the old or the new file
/// ([`rafka_types::write_atomically`], through `<name>.tmp` as Kafka names its temp files).
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StorageError> {
    rafka_types::write_atomically(path, contents).map_err(io_error(path))
}

/// Kafka's `meta.properties` (version 1, KRaft).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    pub cluster_id: String,
    pub node_id: i32,
    pub directory_id: String,
}

impl MetaProperties {
    pub fn read(dir: &Path) -> Result<Option<MetaProperties>, StorageError> {
        let path = dir.join(META_PROPERTIES);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path)(e)),
        };
        let props = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
            StorageError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
        let field = |k: &str| {
            props.get(k).cloned().ok_or_else(|| StorageError::Corrupt {
                path: path.clone(),
                reason: format!("missing {k}"),
            })
        };
        Ok(Some(MetaProperties {
            cluster_id: field("cluster.id")?,
            node_id: field("node.id")?
                .parse()
                .map_err(|_| StorageError::Corrupt {
                    path: path.clone(),
                    reason: "node.id is not a number".into(),
                })?,
            directory_id: props.get("directory.id").cloned().unwrap_or_default(),
        }))
    }

    pub fn write(&self, dir: &Path) -> Result<(), StorageError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let text = format!(
            "#\n#{}\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n",
            written_at_comment(),
            self.cluster_id,
            self.directory_id,
            self.node_id
        );
        write_atomically(&dir.join(META_PROPERTIES), text.as_bytes())
    }
}

fn written_at_comment() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("written at unix time {secs}")
}

/// A random id in Kafka's form: 16 random bytes, URL-safe base64 without padding.
pub fn random_kafka_uuid() -> String {
    base64_url(uuid::Uuid::new_v4().as_bytes())
}

pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// One topic as the cluster metadata records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub name: String,
    pub topic_id: uuid::Uuid,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Topic-level overrides only; defaults are resolved at read time.
    pub configs: BTreeMap<String, String>,
}

/// The cluster metadata of a single node, kept as one JSON document rewritten atomically.
/// Issue 5 replaces this with the Raft metadata log; the shape of the records stays.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataImage {
    pub topics: BTreeMap<String, TopicRecord>,
    /// Dynamic cluster-wide broker configs (AlterConfigs on the default broker resource).
    pub broker_configs: BTreeMap<String, String>,
    /// This node's own dynamic broker configs (AlterConfigs on the BROKER resource "<id>"),
    /// which override the cluster-wide ones.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_broker_configs: BTreeMap<String, String>,
    /// Group config overrides by group id (the GROUP config resource).
    #[serde(default)]
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// The first producer id of the next block InitProducerId takes (a cluster keeps it
    /// in the metadata log instead).
    #[serde(default)]
    pub next_producer_id: i64,
    /// SCRAM credentials by user, then by mechanism name (`SCRAM-SHA-256`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scram_credentials: ScramCredentials,
}

/// SCRAM credentials by user, then by mechanism name, as both metadata images keep them.
pub type ScramCredentials =
    BTreeMap<String, BTreeMap<String, rafka_security::scram::ScramCredential>>;

/// The file in the first log dir where `storage format --add-scram` leaves the SCRAM
/// credentials the metadata starts with (Kafka writes them into its bootstrap
/// checkpoint): applied once, when the metadata is created.
pub const BOOTSTRAP_SCRAM_FILE: &str = "bootstrap-scram.json";

/// One `--add-scram` credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapScram {
    pub name: String,
    pub mechanism: String,
    pub credential: rafka_security::scram::ScramCredential,
}

/// Writes the `--add-scram` credentials into `dir`.
pub fn write_bootstrap_scram(
    dir: &Path,
    credentials: &[BootstrapScram],
) -> Result<(), StorageError> {
    let path = dir.join(BOOTSTRAP_SCRAM_FILE);
    let bytes = serde_json::to_vec_pretty(credentials).map_err(|e| StorageError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_atomically(&path, &bytes)
}

/// The `--add-scram` credentials `storage format` left in `dir` (none if it left none).
pub fn read_bootstrap_scram(dir: &Path) -> Result<Vec<BootstrapScram>, StorageError> {
    let path = dir.join(BOOTSTRAP_SCRAM_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt {
            path,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error(&path)(e)),
    }
}

impl MetadataImage {
    pub fn load(dir: &Path) -> Result<MetadataImage, StorageError> {
        let path = dir.join(METADATA_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let mut image: MetadataImage =
                    serde_json::from_slice(&bytes).map_err(|e| StorageError::Corrupt {
                        path,
                        reason: e.to_string(),
                    })?;
                // A group whose overrides were all deleted is listed until a restart,
                // as Kafka lists it (its image drops the empty resource).
                image.group_configs.retain(|_, configs| !configs.is_empty());
                Ok(image)
            }
            // A new node: its metadata starts with the credentials of `--add-scram`.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut image = MetadataImage::default();
                for added in read_bootstrap_scram(dir)? {
                    image
                        .scram_credentials
                        .entry(added.name)
                        .or_default()
                        .insert(added.mechanism, added.credential);
                }
                Ok(image)
            }
            Err(e) => Err(io_error(&path)(e)),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| StorageError::Corrupt {
            path: dir.join(METADATA_FILE),
            reason: e.to_string(),
        })?;
        write_atomically(&dir.join(METADATA_FILE), &bytes)
    }
}

/// An offset per partition, as a checkpoint file holds them. `TopicPartition` orders by
/// topic, then partition: the order of the file's lines.
pub type OffsetCheckpoint = BTreeMap<TopicPartition, Offset>;

/// Kafka's offset checkpoint file: a version line (0), a count line, then
/// `topic partition offset` lines.
pub fn read_offset_checkpoint(path: &Path) -> Result<OffsetCheckpoint, StorageError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_error(path)(e)),
    };
    let corrupt = |reason: &str| StorageError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("0") {
        return Err(corrupt("unknown checkpoint version"));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| corrupt("bad entry count"))?;
    let mut out = BTreeMap::new();
    for line in lines.take(count) {
        let mut parts = line.split_whitespace();
        let (Some(topic), Some(partition), Some(offset)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(corrupt("malformed entry"));
        };
        let partition = partition.parse().map_err(|_| corrupt("bad partition"))?;
        let offset = offset.parse().map_err(|_| corrupt("bad offset"))?;
        out.insert(TopicPartition::new(topic, partition), Offset(offset));
    }
    if out.len() != count {
        return Err(corrupt("fewer entries than announced"));
    }
    Ok(out)
}

pub fn write_offset_checkpoint(
    path: &Path,
    entries: &OffsetCheckpoint,
) -> Result<(), StorageError> {
    let mut text = format!("0\n{}\n", entries.len());
    for (TopicPartition { topic, partition }, offset) in entries {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_uuid_is_22_url_safe_chars() {
        let id = random_kafka_uuid();
        assert_eq!(id.len(), 22);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn meta_properties_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(MetaProperties::read(dir.path()).unwrap(), None);
        let meta = MetaProperties {
            cluster_id: "abc".into(),
            node_id: 3,
            directory_id: "dir".into(),
        };
        meta.write(dir.path()).unwrap();
        assert_eq!(MetaProperties::read(dir.path()).unwrap(), Some(meta));
    }

    #[test]
    fn checkpoint_round_trip_and_rejects_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(RECOVERY_POINT_CHECKPOINT);
        let entries = BTreeMap::from([
            (TopicPartition::new("a", 0), Offset(5)),
            (TopicPartition::new("b.c", 2), Offset(9)),
        ]);
        write_offset_checkpoint(&path, &entries).unwrap();
        // Kafka's layout, lines in (topic, partition) order.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "0\n2\na 0 5\nb.c 2 9\n"
        );
        assert_eq!(read_offset_checkpoint(&path).unwrap(), entries);
        std::fs::write(&path, "0\n2\na 0 5\n").unwrap();
        assert!(read_offset_checkpoint(&path).is_err());
    }

    #[test]
    fn metadata_image_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut image = MetadataImage::default();
        image.topics.insert(
            "t".into(),
            TopicRecord {
                name: "t".into(),
                topic_id: uuid::Uuid::new_v4(),
                partitions: 3,
                replication_factor: 1,
                configs: BTreeMap::from([("retention.ms".into(), "10".into())]),
            },
        );
        image.save(dir.path()).unwrap();
        assert_eq!(MetadataImage::load(dir.path()).unwrap(), image);
    }
}
