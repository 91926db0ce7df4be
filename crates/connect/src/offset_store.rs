//! Source offsets: the worker's `OffsetStore` trait, and standalone mode's store,
//! Kafka's `FileOffsetBackingStore`, file format included, so a worker moved from Kafka
//! to rafka (or back) keeps its offsets. Distributed mode's store is
//! `storage::offset_store::KafkaOffsetStore`.
//!
//! On disk (`offset.storage.file.filename`): one Java-serialized `java.util.HashMap` of
//! `byte[]` → `byte[]` (Kafka's `save()` writes `ObjectOutputStream.writeObject(raw)`):
//!
//! ```text
//! AC ED 00 05                      stream magic, version
//! 73 72 "java.util.HashMap" suid   TC_OBJECT, TC_CLASSDESC (flags 03, fields F loadFactor, I threshold)
//! 78 70                            end of annotations, no superclass
//! <loadFactor f32> <threshold i32> default fields
//! 77 08 <capacity i32> <size i32>  block data
//! (key value) * size               each TC_ARRAY of class `[B` (first with its class
//!                                  descriptor, then TC_REFERENCE to it), or TC_NULL
//! 78                               end of block data
//! ```
//!
//! Keys and values are JSON as Kafka's internal JsonConverter (schemas disabled) writes
//! them: key `["<connector>",{partition}]`, value `{offset}`. A `null` value removes the
//! partition's offset (KIP-875 tombstones). The file is rewritten whole on every flush,
//! through a temporary file and a rename, so a crash leaves the old or the new map.
//! Thread-safety: `FileOffsetStore` is shared by all tasks behind a mutex.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use rafka_connect_data::connector::BoxFuture;
use rafka_connect_data::converters::{Converter, ConverterType, JsonConverter};
use rafka_connect_data::Value;

use crate::error::RuntimeError;

const STREAM_MAGIC: [u8; 4] = [0xAC, 0xED, 0x00, 0x05];
const TC_NULL: u8 = 0x70;
const TC_REFERENCE: u8 = 0x71;
const TC_CLASSDESC: u8 = 0x72;
const TC_OBJECT: u8 = 0x73;
const TC_STRING: u8 = 0x74;
const TC_ARRAY: u8 = 0x75;
const TC_BLOCKDATA: u8 = 0x77;
const TC_ENDBLOCKDATA: u8 = 0x78;
const BASE_HANDLE: u32 = 0x7E_0000;
const HASHMAP_SUID: u64 = 0x0507_DAC1_C316_60D1;
const BYTE_ARRAY_SUID: u64 = 0xACF3_17F8_0608_54E0;

/// Raw store entries: key bytes and value bytes (`None`: Java's `null`).
pub type RawEntries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// Serializes `map` as Java's `ObjectOutputStream` writes a `HashMap<byte[], byte[]>`.
pub fn encode_java_map(map: &[(Vec<u8>, Option<Vec<u8>>)]) -> Vec<u8> {
    let mut out = STREAM_MAGIC.to_vec();
    out.push(TC_OBJECT);
    out.push(TC_CLASSDESC);
    put_utf(&mut out, "java.util.HashMap");
    out.extend_from_slice(&HASHMAP_SUID.to_be_bytes());
    out.push(0x03); // SC_WRITE_METHOD | SC_SERIALIZABLE
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    put_utf(&mut out, "loadFactor");
    out.push(b'I');
    put_utf(&mut out, "threshold");
    out.push(TC_ENDBLOCKDATA);
    out.push(TC_NULL);
    // Handles: 0 = HashMap's descriptor, 1 = the map, 2 = `[B`'s descriptor.
    let mut capacity: i32 = 16;
    while (map.len() as f64) > f64::from(capacity) * 0.75 {
        capacity *= 2;
    }
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&((capacity / 4) * 3).to_be_bytes());
    out.push(TC_BLOCKDATA);
    out.push(8);
    out.extend_from_slice(&capacity.to_be_bytes());
    out.extend_from_slice(&(map.len() as i32).to_be_bytes());
    let mut described = false;
    let mut put_array = |out: &mut Vec<u8>, bytes: Option<&[u8]>| {
        let Some(bytes) = bytes else {
            out.push(TC_NULL);
            return;
        };
        out.push(TC_ARRAY);
        if described {
            out.push(TC_REFERENCE);
            out.extend_from_slice(&(BASE_HANDLE + 2).to_be_bytes());
        } else {
            described = true;
            out.push(TC_CLASSDESC);
            put_utf(out, "[B");
            out.extend_from_slice(&BYTE_ARRAY_SUID.to_be_bytes());
            out.push(0x02); // SC_SERIALIZABLE
            out.extend_from_slice(&0u16.to_be_bytes());
            out.push(TC_ENDBLOCKDATA);
            out.push(TC_NULL);
        }
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    for (key, value) in map {
        put_array(&mut out, Some(key));
        put_array(&mut out, value.as_deref());
    }
    out.push(TC_ENDBLOCKDATA);
    out
}

fn put_utf(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Reads what `encode_java_map` (or Kafka's worker) wrote: the subset of Java
/// serialization a `HashMap<byte[], byte[]>` uses.
pub fn decode_java_map(bytes: &[u8]) -> Result<RawEntries, String> {
    let mut reader = JavaReader {
        bytes,
        position: 0,
        next_handle: BASE_HANDLE,
        byte_array_handle: None,
    };
    if reader.take(4)? != STREAM_MAGIC {
        return Err("not a Java serialization stream".into());
    }
    if reader.u8()? != TC_OBJECT {
        return Err("expected an object".into());
    }
    let class = reader.class_desc()?;
    if class.name != "java.util.HashMap" {
        return Err(format!("Expected HashMap but found {}", class.name));
    }
    reader.next_handle += 1; // the map itself
    for field in &class.primitive_fields {
        let size = match field {
            b'B' | b'Z' => 1,
            b'C' | b'S' => 2,
            b'I' | b'F' => 4,
            b'J' | b'D' => 8,
            other => return Err(format!("unexpected field type {}", *other as char)),
        };
        reader.take(size)?;
    }
    if reader.u8()? != TC_BLOCKDATA || reader.u8()? != 8 {
        return Err("expected HashMap's capacity and size".into());
    }
    reader.take(4)?;
    let size = reader.i32()?;
    let mut entries = Vec::new();
    for _ in 0..size {
        let key = reader
            .byte_array()?
            .ok_or_else(|| "a null key".to_string())?;
        let value = reader.byte_array()?;
        entries.push((key, value));
    }
    Ok(entries)
}

struct ClassDesc {
    name: String,
    primitive_fields: Vec<u8>,
}

struct JavaReader<'a> {
    bytes: &'a [u8],
    position: usize,
    next_handle: u32,
    byte_array_handle: Option<u32>,
}

impl JavaReader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.position + n;
        if end > self.bytes.len() {
            return Err("truncated offsets file".into());
        }
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf(&mut self) -> Result<String, String> {
        let b = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }
    fn class_desc(&mut self) -> Result<ClassDesc, String> {
        if self.u8()? != TC_CLASSDESC {
            return Err("expected a class descriptor".into());
        }
        let name = self.utf()?;
        self.take(9)?; // serialVersionUID, flags
        let b = self.take(2)?;
        let fields = u16::from_be_bytes([b[0], b[1]]);
        let mut primitive_fields = Vec::new();
        for _ in 0..fields {
            let code = self.u8()?;
            self.utf()?;
            if code == b'L' || code == b'[' {
                match self.u8()? {
                    TC_STRING => {
                        self.utf()?;
                        self.next_handle += 1;
                    }
                    TC_REFERENCE => {
                        self.take(4)?;
                    }
                    _ => return Err("expected a field's class name".into()),
                }
            } else {
                primitive_fields.push(code);
            }
        }
        let handle = self.next_handle;
        self.next_handle += 1;
        if name == "[B" {
            self.byte_array_handle = Some(handle);
        }
        if self.u8()? != TC_ENDBLOCKDATA {
            return Err("class annotations are not supported".into());
        }
        if self.u8()? != TC_NULL {
            return Err(format!("{name}: a superclass is not supported"));
        }
        Ok(ClassDesc {
            name,
            primitive_fields,
        })
    }
    fn byte_array(&mut self) -> Result<Option<Vec<u8>>, String> {
        match self.u8()? {
            TC_NULL => return Ok(None),
            TC_ARRAY => {}
            other => return Err(format!("expected byte[], found tag {other:#x}")),
        }
        if self.bytes.get(self.position) == Some(&TC_REFERENCE) {
            self.position += 1;
            let handle = self.i32()? as u32;
            if Some(handle) != self.byte_array_handle {
                return Err("expected byte[]".into());
            }
        } else if self.class_desc()?.name != "[B" {
            return Err("expected byte[]".into());
        }
        self.next_handle += 1;
        let len = usize::try_from(self.i32()?).map_err(|_| "negative array length")?;
        Ok(Some(self.take(len)?.to_vec()))
    }
}

/// Kafka's internal JSON for offsets (JsonConverter, `schemas.enable=false`).
fn json() -> JsonConverter {
    let props = HashMap::from([("schemas.enable".to_string(), "false".to_string())]);
    JsonConverter::new(&props, ConverterType::Key).expect("built-in converter config")
}

/// `["<connector>",{partition}]` as bytes.
pub fn offset_key(connector: &str, partition: &Value) -> Vec<u8> {
    let key = Value::Array(vec![Value::string(connector), partition.clone()]);
    json()
        .from_connect_data("", None, &key)
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn encode_value(value: &Value) -> Option<Vec<u8>> {
    json().from_connect_data("", None, value).ok().flatten()
}

pub fn decode_value(bytes: &[u8]) -> Option<Value> {
    json()
        .to_connect_data("", Some(bytes))
        .ok()
        .map(|v| v.value)
}

/// Splits a stored key into its connector name and partition.
pub fn parse_key(bytes: &[u8]) -> Option<(String, Value)> {
    match decode_value(bytes)? {
        Value::Array(mut parts) if parts.len() == 2 => {
            let partition = parts.pop()?;
            match parts.pop()? {
                Value::String(name) => Some((name, partition)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Where a worker keeps source offsets, as raw key/value bytes in Kafka's JSON (see the
/// module docs). Object-safe: the worker holds an `Arc<dyn OffsetStore>`.
///
/// Reads are synchronous (a source task's `OffsetStorageReader` is) and see every write
/// whose `set` has resolved; `set` resolves once the offsets are durable (the file
/// rewritten, or every record acknowledged by the broker).
pub trait OffsetStore: Send + Sync + std::fmt::Debug {
    /// The stored value of `key`.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;

    /// Every stored key and value.
    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)>;

    /// Sets (or, with `None`, removes) offsets.
    fn set(&self, entries: RawEntries) -> BoxFuture<'_, Result<(), RuntimeError>>;

    /// Catches up with writes of other workers (Kafka's `readToEnd` before a `get`);
    /// nothing to do for a store only this worker writes.
    fn refresh(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async { Ok(()) })
    }

    /// The topic the store keeps offsets in, when it is a Kafka topic (exactly-once
    /// source tasks write their offsets there themselves, inside their transactions).
    fn topic(&self) -> Option<String> {
        None
    }

    /// Entries another producer wrote to `topic()` and committed: (key, value, topic
    /// offset of the record), made visible to `get` without reading them back.
    fn committed_elsewhere(&self, _written: Vec<(Vec<u8>, Option<Vec<u8>>, i64)>) {}

    /// Every (partition, offset) stored for `connector`.
    fn connector_offsets(&self, connector: &str) -> Vec<(Value, Value)> {
        self.entries()
            .iter()
            .filter_map(|(k, v)| {
                let (name, partition) = parse_key(k)?;
                (name == connector).then(|| Some((partition, decode_value(v)?)))?
            })
            .collect()
    }

    /// The offset of one partition, decoded.
    fn offset(&self, connector: &str, partition: &Value) -> Option<Value> {
        self.get(&offset_key(connector, partition))
            .and_then(|v| decode_value(&v))
    }
}

/// The standalone worker's offset store (or an in-memory one when no file is set).
#[derive(Debug)]
pub struct FileOffsetStore {
    path: Option<PathBuf>,
    data: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl FileOffsetStore {
    /// Loads `path` when it exists (an empty store otherwise).
    pub fn open(path: Option<&Path>) -> Result<FileOffsetStore, RuntimeError> {
        let mut data = Vec::new();
        if let Some(path) = path {
            match std::fs::read(path) {
                Ok(bytes) => {
                    for (key, value) in decode_java_map(&bytes).map_err(|e| {
                        RuntimeError::Config(format!(
                            "Failed to read offsets file {}: {e}",
                            path.display()
                        ))
                    })? {
                        if let Some(value) = value {
                            data.push((key, value));
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(RuntimeError::Config(format!(
                        "Failed to read offsets file {}: {e}",
                        path.display()
                    )))
                }
            }
        }
        Ok(FileOffsetStore {
            path: path.map(Path::to_path_buf),
            data: Mutex::new(data),
        })
    }

    /// Sets (or, with `None`, removes) offsets and writes the file.
    pub fn write_entries(&self, entries: RawEntries) -> Result<(), RuntimeError> {
        let mut data = self.data.lock();
        let mut next = data.clone();
        for (key, value) in entries {
            next.retain(|(k, _)| *k != key);
            if let Some(value) = value {
                next.push((key, value));
            }
        }
        self.save(&next)?;
        *data = next;
        Ok(())
    }

    fn save(&self, data: &[(Vec<u8>, Vec<u8>)]) -> Result<(), RuntimeError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let raw: Vec<(Vec<u8>, Option<Vec<u8>>)> = data
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        let temporary = path.with_extension("tmp");
        let result = std::fs::write(&temporary, encode_java_map(&raw))
            .and_then(|()| std::fs::rename(&temporary, path));
        result.map_err(|e| {
            RuntimeError::Internal(format!(
                "Failed to write offsets file {}: {e}",
                path.display()
            ))
        })
    }
}

impl OffsetStore for FileOffsetStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.data
            .lock()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.data.lock().clone()
    }

    /// Rewrites the file before resolving (a small file: done inline).
    fn set(&self, entries: RawEntries) -> BoxFuture<'_, Result<(), RuntimeError>> {
        let result = self.write_entries(entries);
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Java 21's `ObjectOutputStream` exactly as Kafka's
    /// `FileOffsetBackingStore.save()` does, for a FileStreamSource connector
    /// `local-file-source` at position 8 (a HashMap with one byte[] → byte[] entry).
    const JAVA_WRITTEN: &[u8] = include_bytes!("../testdata/java-hashmap-offsets.bin");

    #[test]
    fn writes_and_reads_kafkas_java_serialized_hashmap() {
        let key = br#"["local-file-source",{"filename":"test.txt"}]"#.to_vec();
        let value = br#"{"position":8}"#.to_vec();
        assert_eq!(
            encode_java_map(&[(key.clone(), Some(value.clone()))]),
            JAVA_WRITTEN
        );
        assert_eq!(
            decode_java_map(JAVA_WRITTEN).unwrap(),
            vec![(key, Some(value))]
        );
    }

    #[test]
    fn round_trips_many_entries_and_nulls() {
        let entries: Vec<_> = (0..20)
            .map(|i| {
                (
                    format!("k{i}").into_bytes(),
                    (i % 3 != 0).then(|| format!("v{i}").into_bytes()),
                )
            })
            .collect();
        assert_eq!(
            decode_java_map(&encode_java_map(&entries)).unwrap(),
            entries
        );
        assert!(decode_java_map(b"{}").is_err());
        assert!(decode_java_map(&encode_java_map(&entries)[..40]).is_err());
    }

    #[test]
    fn store_survives_reopening_and_tombstones_remove() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.offsets");
        let partition = Value::string_map([("filename", Value::string("/tmp/a"))]);
        let key = offset_key("src", &partition);
        assert_eq!(key, br#"["src",{"filename":"/tmp/a"}]"#.to_vec());
        let store = FileOffsetStore::open(Some(&path)).unwrap();
        let offset = Value::string_map([("position", Value::Int64(42))]);
        store
            .write_entries(vec![(key.clone(), encode_value(&offset))])
            .unwrap();
        let reopened = FileOffsetStore::open(Some(&path)).unwrap();
        assert_eq!(reopened.offset("src", &partition), Some(offset.clone()));
        assert_eq!(
            reopened.connector_offsets("src"),
            vec![(partition.clone(), offset)]
        );
        assert!(reopened.connector_offsets("other").is_empty());
        reopened.write_entries(vec![(key, None)]).unwrap();
        let again = FileOffsetStore::open(Some(&path)).unwrap();
        assert_eq!(again.offset("src", &partition), None);
    }
}
