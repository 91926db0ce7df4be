//! Kafka's FileStream connectors (`org.apache.kafka.connect.file`): the source tails a
//! file (stdin when `file` is unset) into `topic`, one record per line; the sink appends
//! each record's value as a line to `file` (stdout when unset).
//!
//! Source partition `{"filename":<file>}`, offset `{"position":<byte after the line>}`;
//! on start the task skips to the committed position, as Kafka's does. Kafka counts the
//! position in UTF-16 chars but skips bytes; rafka counts bytes, which is the same for
//! ASCII and correct for the rest. The sink flushes its file after each `put` (Kafka
//! flushes in `flush()`): earlier is never wrong for a file that is only appended to.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::time::Duration;

use rafka_connect_data::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use rafka_connect_data::connector::{
    BoxFuture, Connector, ConnectorError, Props, SinkConnector, SinkTask, SinkTaskContext,
    SourceConnector, SourceTask, SourceTaskContext, TopicPartition,
};
use rafka_connect_data::{ConnectRecord, Schema, SchemaAndValue, Type, Value};

pub const SOURCE_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
pub const SINK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
const VERSION: &str = crate::KAFKA_VERSION;
/// Kafka's task waits this long for a file to appear or grow before returning no records.
const IDLE_WAIT: Duration = Duration::from_millis(1000);

fn source_config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            "file",
            ConfigType::String,
            DefaultValue::Null,
            None,
            Importance::High,
            "Source filename. If not specified, the standard input will be used",
        )
        .define(
            "topic",
            ConfigType::String,
            DefaultValue::Required,
            Some(Validator::NonEmptyString),
            Importance::High,
            "The topic to publish data to",
        )
        .define(
            "batch.size",
            ConfigType::Int,
            DefaultValue::Text("2000".into()),
            None,
            Importance::Low,
            "The maximum number of records the source task can read from the file each time it is polled",
        )
}

fn sink_config_def() -> ConfigDef {
    ConfigDef::new().define(
        "file",
        ConfigType::String,
        DefaultValue::Null,
        None,
        Importance::High,
        "Destination filename. If not specified, the standard output will be used",
    )
}

#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    props: Props,
}

impl Connector for FileStreamSourceConnector {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn start(&mut self, props: &Props) -> Result<(), ConnectorError> {
        source_config_def().parse(props)?;
        self.props = props.clone();
        Ok(())
    }
    /// One task only: a file has one reader.
    fn task_configs(&self, _max_tasks: usize) -> Vec<Props> {
        vec![self.props.clone()]
    }
    fn stop(&mut self) {}
    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }
}

impl SourceConnector for FileStreamSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::new(FileStreamSourceTask::default())
    }

    /// Kafka's: a real file (only appended to) has offsets that commit with its
    /// records; stdin has none.
    fn exactly_once_support(
        &self,
        config: &Props,
    ) -> Option<rafka_connect_data::connector::ExactlyOnceSupport> {
        use rafka_connect_data::connector::ExactlyOnceSupport;
        let file = config.get("file").map(|f| f.trim()).unwrap_or("");
        Some(if file.is_empty() {
            ExactlyOnceSupport::Unsupported
        } else {
            ExactlyOnceSupport::Supported
        })
    }
}

#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    props: Props,
}

impl Connector for FileStreamSinkConnector {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn start(&mut self, props: &Props) -> Result<(), ConnectorError> {
        sink_config_def().parse(props)?;
        self.props = props.clone();
        Ok(())
    }
    fn task_configs(&self, max_tasks: usize) -> Vec<Props> {
        vec![self.props.clone(); max_tasks.max(1)]
    }
    fn stop(&mut self) {}
    fn config_def(&self) -> ConfigDef {
        sink_config_def()
    }
}

impl SinkConnector for FileStreamSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::new(FileStreamSinkTask::default())
    }
}

enum Input {
    File(std::fs::File),
    Stdin(tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::File(_) => "File",
            Input::Stdin(_) => "Stdin",
        })
    }
}

/// Kafka's `FileStreamSourceTask`.
#[derive(Debug, Default)]
pub struct FileStreamSourceTask {
    filename: Option<String>,
    topic: String,
    batch_size: usize,
    context: Option<ContextHandle>,
    input: Option<Input>,
    /// Bytes read but not yet a whole line.
    buffer: Vec<u8>,
    /// The position (in the file) of `buffer`'s first byte.
    position: i64,
}

struct ContextHandle(Arc<dyn SourceTaskContext>);

impl std::fmt::Debug for ContextHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceTaskContext")
    }
}

impl FileStreamSourceTask {
    fn partition(&self) -> Value {
        match &self.filename {
            Some(f) => Value::string_map([("filename", Value::string(f.clone()))]),
            None => Value::Null,
        }
    }

    /// Opens the file at the committed position; `None` while it does not exist.
    fn open(&mut self) -> Result<Option<Input>, ConnectorError> {
        let Some(filename) = &self.filename else {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            // Reading stdin blocks: a thread of its own, lines handed over by channel.
            std::thread::spawn(move || {
                let mut stdin = std::io::stdin().lock();
                let mut chunk = [0u8; 8192];
                while let Ok(n) = stdin.read(&mut chunk) {
                    if n == 0 || sender.send(chunk[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
            return Ok(Some(Input::Stdin(receiver)));
        };
        let mut file = match std::fs::File::open(filename) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(
                    "Couldn't find file {filename} for FileStreamSourceTask, sleeping to wait for it to be created"
                );
                return Ok(None);
            }
            Err(e) => {
                return Err(ConnectorError::fatal(format!(
                    "Error while trying to open file {filename}: {e}"
                )))
            }
        };
        let partition = self.partition();
        let stored = self
            .context
            .as_ref()
            .and_then(|c| c.0.offset_storage_reader().offset(&partition));
        self.position = match stored.as_ref().map(|o| o.map_get("position")) {
            None | Some(Value::Null) => 0,
            Some(Value::Int64(p)) => *p,
            Some(Value::Int32(p)) => i64::from(*p),
            Some(_) => {
                return Err(ConnectorError::fatal(
                    "Offset position is the incorrect type",
                ))
            }
        };
        if self.position > 0 {
            tracing::debug!(
                "Found previous offset, trying to skip to file offset {}",
                self.position
            );
            file.seek(SeekFrom::Start(self.position as u64))
                .map_err(|e| {
                    ConnectorError::fatal(format!(
                        "Error while trying to seek to previous offset in file {filename}: {e}"
                    ))
                })?;
        }
        Ok(Some(Input::File(file)))
    }

    /// Whole lines out of `buffer`, as records with the position after each line.
    fn take_lines(&mut self) -> Vec<ConnectRecord> {
        let mut records = Vec::new();
        let mut start = 0;
        while records.len() < self.batch_size {
            let Some(newline) = self.buffer[start..].iter().position(|b| *b == b'\n') else {
                break;
            };
            let end = start + newline;
            let line = &self.buffer[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = String::from_utf8_lossy(line).into_owned();
            start = end + 1;
            let mut record = ConnectRecord::source(
                &self.topic,
                SchemaAndValue::new(
                    Some(Schema::primitive(Type::String, false)),
                    Value::String(text),
                ),
            );
            record.timestamp = Some(now_ms());
            if let rafka_connect_data::RecordKind::Source {
                source_partition,
                source_offset,
            } = &mut record.kind
            {
                *source_partition = self.partition();
                *source_offset = if self.filename.is_some() {
                    Value::string_map([("position", Value::Int64(self.position + start as i64))])
                } else {
                    Value::Null
                };
            }
            records.push(record);
        }
        self.buffer.drain(..start);
        self.position += start as i64;
        records
    }

    async fn poll_lines(&mut self) -> Result<Vec<ConnectRecord>, ConnectorError> {
        let records = self.take_lines();
        if !records.is_empty() {
            return Ok(records);
        }
        if self.input.is_none() {
            match self.open()? {
                Some(input) => self.input = Some(input),
                None => {
                    tokio::time::sleep(IDLE_WAIT).await;
                    return Ok(Vec::new());
                }
            }
        }
        match self.input.as_mut() {
            Some(Input::File(file)) => {
                let mut chunk = vec![0u8; 64 * 1024];
                let n = file.read(&mut chunk).map_err(|e| {
                    ConnectorError::fatal(format!("Error while reading from file: {e}"))
                })?;
                if n == 0 {
                    tokio::time::sleep(IDLE_WAIT).await;
                    return Ok(Vec::new());
                }
                self.buffer.extend_from_slice(&chunk[..n]);
            }
            Some(Input::Stdin(receiver)) => match receiver.recv().await {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => {
                    tokio::time::sleep(IDLE_WAIT).await;
                    return Ok(Vec::new());
                }
            },
            None => {}
        }
        Ok(self.take_lines())
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SourceTask for FileStreamSourceTask {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn start(
        &mut self,
        context: Arc<dyn SourceTaskContext>,
        props: &Props,
    ) -> Result<(), ConnectorError> {
        let config = source_config_def().parse(props)?;
        self.filename = config
            .string("file")
            .filter(|f| !f.is_empty())
            .map(str::to_string);
        self.topic = config.string("topic").unwrap_or_default().to_string();
        self.batch_size =
            usize::try_from(config.int("batch.size").unwrap_or(2000).max(1)).unwrap_or(2000);
        self.context = Some(ContextHandle(context));
        Ok(())
    }
    fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectorError>> {
        Box::pin(self.poll_lines())
    }
    fn stop(&mut self) {
        self.input = None;
    }
}

/// Kafka's `FileStreamSinkTask`.
#[derive(Debug, Default)]
pub struct FileStreamSinkTask {
    output: Option<Box<dyn WriteDebug>>,
}

trait WriteDebug: Write + Send + std::fmt::Debug {}
impl<T: Write + Send + std::fmt::Debug> WriteDebug for T {}

impl SinkTask for FileStreamSinkTask {
    fn version(&self) -> String {
        VERSION.into()
    }
    fn start(
        &mut self,
        _context: Arc<dyn SinkTaskContext>,
        props: &Props,
    ) -> Result<(), ConnectorError> {
        let config = sink_config_def().parse(props)?;
        self.output = Some(match config.string("file").filter(|f| !f.is_empty()) {
            Some(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        ConnectorError::fatal(format!(
                            "Couldn't find or create file '{path}' for FileStreamSinkTask: {e}"
                        ))
                    })?,
            ),
            None => Box::new(std::io::stdout()),
        });
        Ok(())
    }
    fn put(&mut self, records: Vec<ConnectRecord>) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            let Some(output) = self.output.as_mut() else {
                return Err(ConnectorError::fatal("FileStreamSinkTask was not started"));
            };
            let mut text = String::new();
            for record in &records {
                text.push_str(&record.value.java_to_string());
                text.push('\n');
            }
            output
                .write_all(text.as_bytes())
                .and_then(|()| output.flush())
                .map_err(|e| ConnectorError::fatal(format!("Failed to write records: {e}")))
        })
    }
    fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<(), ConnectorError> {
        if let Some(output) = self.output.as_mut() {
            output
                .flush()
                .map_err(|e| ConnectorError::fatal(format!("Failed to flush: {e}")))?;
        }
        Ok(())
    }
    fn stop(&mut self) {
        self.output = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafka_connect_data::connector::OffsetStorageReader;

    #[derive(Debug)]
    struct Context(Option<Value>);
    impl OffsetStorageReader for Context {
        fn offset(&self, _partition: &Value) -> Option<Value> {
            self.0.clone()
        }
    }
    impl SourceTaskContext for Context {
        fn configs(&self) -> Props {
            Props::new()
        }
        fn offset_storage_reader(&self) -> &dyn OffsetStorageReader {
            self
        }
    }

    fn props(file: &std::path::Path) -> Props {
        Props::from([
            ("file".to_string(), file.display().to_string()),
            ("topic".to_string(), "connect-test".to_string()),
        ])
    }

    #[tokio::test]
    async fn source_reads_lines_with_positions_and_resumes_from_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, "foo\r\nbar\npartial").unwrap();
        let mut task = FileStreamSourceTask::default();
        task.start(Arc::new(Context(None)), &props(&path)).unwrap();
        let records = task.poll().await.unwrap();
        let values: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
        assert_eq!(values, vec![Value::string("foo"), Value::string("bar")]);
        let offsets: Vec<_> = records
            .iter()
            .map(|r| match &r.kind {
                rafka_connect_data::RecordKind::Source { source_offset, .. } => {
                    source_offset.map_get("position").clone()
                }
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(offsets, vec![Value::Int64(5), Value::Int64(9)]);
        assert_eq!(records[0].topic, "connect-test");
        assert_eq!(
            records[0].value_schema.as_ref().unwrap().schema_type(),
            Type::String
        );

        let mut resumed = FileStreamSourceTask::default();
        let offset = Value::string_map([("position", Value::Int64(5))]);
        resumed
            .start(Arc::new(Context(Some(offset))), &props(&path))
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"\n")
            .unwrap();
        let records = resumed.poll().await.unwrap();
        let values: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
        assert_eq!(values, vec![Value::string("bar"), Value::string("partial")]);
    }

    #[tokio::test]
    async fn sink_appends_one_value_per_line() {
        #[derive(Debug)]
        struct Sink;
        impl SinkTaskContext for Sink {
            fn configs(&self) -> Props {
                Props::new()
            }
            fn request_commit(&self) {}
            fn pause(&self, _: &[TopicPartition]) {}
            fn resume(&self, _: &[TopicPartition]) {}
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "old\n").unwrap();
        let mut task = FileStreamSinkTask::default();
        task.start(Arc::new(Sink), &props(&path)).unwrap();
        let record = |v: Value| {
            ConnectRecord::sink(
                "t",
                0,
                0,
                SchemaAndValue::new(None, Value::Null),
                SchemaAndValue::new(None, v),
            )
        };
        task.put(vec![record(Value::string("a")), record(Value::Int64(7))])
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\na\n7\n");
    }
}
