//! `kafka-transactions.sh`: the transactional state of the cluster's producers, and the
//! way out of a hanging transaction. The subcommands, flags, tables and messages are
//! those of Kafka 4.1's `TransactionsCommand`:
//!
//! - `list`: every broker's transactions (ListTransactions to each, as the Java admin
//!   client's `AllBrokersStrategy`), with `--duration-filter` and
//!   `--transactional-id-pattern`;
//! - `describe --transactional-id`: DescribeTransactions at the id's coordinator
//!   (FindCoordinator key type 1);
//! - `describe-producers --topic --partition [--broker-id]`: DescribeProducers at the
//!   partition's leader, or at the broker named;
//! - `abort`: an ABORT marker (WriteTxnMarkers) for the producer whose open transaction
//!   starts at `--start-offset` (found by DescribeProducers), or for the producer id,
//!   epoch and coordinator epoch given;
//! - `find-hanging`: open transactions older than `--max-transaction-timeout` whose
//!   coordinator does not know them (any more), by Kafka's algorithm;
//! - `forceTerminateTransaction --transactionalId`: InitProducerId for the id at its
//!   coordinator, which fences the producer and aborts its open transaction.
//!
//! The command line is parsed as argparse4j parses Kafka's (`crate::argparse`): `-h`
//! prints help and exits 1, a bad command line prints the usage and
//! `kafka-transactions.sh: error: …` on stderr. A failed call prints Kafka's
//! `<what failed>: <why>. Enable debug logging for additional detail.` on stderr.
//!
//! Where it differs from Kafka's: `-v` prints rafka's version (`0.1.0 (Commit:unknown)`);
//! a bootstrap broker that cannot be reached fails at once instead of after
//! `default.api.timeout.ms` (whose default is the other rafka tools' 30 s, not the Java
//! client's 60 s); the numbers in a timeout message are this run's; `--command-config`
//! is read for its timeouts and refused unless plaintext; option values take ASCII
//! digits only (Java's `Integer.valueOf` takes any Unicode digit).

mod admin;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::argparse::{Argument, Parsed, Parser, Value, ValueType};
use crate::common::{admin_timeout, read_properties, runtime};
use crate::java_order::{self, Capacity};
use crate::ToolError;
use admin::{AbortSpec, Admin, Description, Failure, ProducerState, TopicPartition};
use rafka_protocol::ErrorCode;

const PROG: &str = "kafka-transactions.sh";
/// `FindHangingTransactionsCommand.MAX_BATCH_SIZE`: topics described, and partitions
/// asked about, per request.
const MAX_BATCH_SIZE: usize = 500;
/// The Java admin client's `request.timeout.ms` default.
const REQUEST_TIMEOUT_MS: i32 = 30_000;

const LIST_HEADERS: &[&str] = &[
    "TransactionalId",
    "Coordinator",
    "ProducerId",
    "TransactionState",
];
const DESCRIBE_HEADERS: &[&str] = &[
    "CoordinatorId",
    "TransactionalId",
    "ProducerId",
    "ProducerEpoch",
    "TransactionState",
    "TransactionTimeoutMs",
    "CurrentTransactionStartTimeMs",
    "TransactionDurationMs",
    "TopicPartitions",
];
const PRODUCERS_HEADERS: &[&str] = &[
    "ProducerId",
    "ProducerEpoch",
    "LatestCoordinatorEpoch",
    "LastSequence",
    "LastTimestamp",
    "CurrentTransactionStartOffset",
];
const HANGING_HEADERS: &[&str] = &[
    "Topic",
    "Partition",
    "ProducerId",
    "ProducerEpoch",
    "CoordinatorEpoch",
    "StartOffset",
    "LastTimestamp",
    "Duration(min)",
];

/// Kafka's parser: `buildBaseParser` and each command's `addSubparser`, in the order
/// `execute` adds them.
fn parser() -> Parser {
    let topic = || Argument::new(&["--topic"], ValueType::String, "topic name");
    let partition = || Argument::new(&["--partition"], ValueType::Integer, "partition number");
    Parser::new(
        PROG,
        "This tool is used to analyze the transactional state of producers in the cluster. It can be used to detect and recover from hanging transactions.",
    )
    .argument(Argument::version(
        "show the version of this Kafka distribution and exit",
    ))
    .argument(
        Argument::new(
            &["--command-config"],
            ValueType::String,
            "property file containing configs to be passed to admin client",
        )
        .metavar("FILE"),
    )
    .argument(
        Argument::new(
            &["--bootstrap-server"],
            ValueType::String,
            "hostname and port for the broker to connect to, in the form `host:port`  (multiple comma-separated entries can be given)",
        )
        .metavar("host:port")
        .required(),
    )
    .subcommands("commands", "COMMAND")
    .subcommand(
        "list",
        "list transactions",
        Parser::new(PROG, "")
            .argument(Argument::new(
                &["--duration-filter"],
                ValueType::Long,
                "Duration (in millis) to filter by: if < 0, all transactions will be returned; otherwise, only transactions running longer than this duration will be returned",
            ))
            .argument(Argument::new(
                &["--transactional-id-pattern"],
                ValueType::String,
                "Transactional id regular expression pattern to filter by",
            )),
    )
    .subcommand(
        "describe",
        "describe the state of an active transactional-id",
        Parser::new(PROG, "Describe the state of an active transactional-id.").argument(
            Argument::new(&["--transactional-id"], ValueType::String, "transactional id")
                .required(),
        ),
    )
    .subcommand(
        "describe-producers",
        "describe the states of active producers for a topic partition",
        Parser::new(PROG, "")
            .argument(Argument::new(
                &["--broker-id"],
                ValueType::Integer,
                "optional broker id to describe the producer state on a specific replica",
            ))
            .argument(topic().required())
            .argument(partition().required()),
    )
    .subcommand(
        "abort",
        "abort a hanging transaction (requires administrative privileges)",
        Parser::new(PROG, "")
            .argument(topic().required())
            .argument(partition().required())
            .group(
                "Brokers on versions 3.0 and above",
                "For newer brokers, only the start offset of the transaction to be aborted is required",
                vec![Argument::new(
                    &["--start-offset"],
                    ValueType::Long,
                    "start offset of the transaction to abort",
                )],
            )
            .group(
                "Brokers on versions older than 3.0",
                "For older brokers, you must provide all of these arguments",
                vec![
                    Argument::new(&["--producer-id"], ValueType::Long, "producer id"),
                    Argument::new(&["--producer-epoch"], ValueType::Short, "producer epoch"),
                    Argument::new(
                        &["--coordinator-epoch"],
                        ValueType::Integer,
                        "coordinator epoch",
                    ),
                ],
            ),
    )
    .subcommand(
        "find-hanging",
        "find hanging transactions",
        Parser::new(PROG, "")
            .argument(Argument::new(
                &["--broker-id"],
                ValueType::Integer,
                "broker id to search for hanging transactions",
            ))
            .argument(
                Argument::new(
                    &["--max-transaction-timeout"],
                    ValueType::Integer,
                    "maximum transaction timeout in minutes to limit the scope of the search (15 minutes by default)",
                )
                .default_value(Value::Integer(15)),
            )
            .argument(Argument::new(
                &["--topic"],
                ValueType::String,
                "topic name to limit search to (required if --partition is specified)",
            ))
            .argument(partition()),
    )
    .subcommand(
        "forceTerminateTransaction",
        "Force abort an ongoing transaction on transactionalId (requires administrative privileges)",
        Parser::new(PROG, "Force abort an ongoing transaction on transactionalId").argument(
            Argument::new(&["--transactionalId"], ValueType::String, "transactional id")
                .required(),
        ),
    )
}

/// A command, its arguments checked as Kafka's `execute` checks them before any call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    List {
        duration_filter_ms: Option<i64>,
        transactional_id_pattern: Option<String>,
    },
    Describe {
        transactional_id: String,
    },
    DescribeProducers {
        partition: TopicPartition,
        broker_id: Option<i32>,
    },
    Abort {
        partition: TopicPartition,
        target: AbortTarget,
    },
    FindHanging {
        scope: HangingScope,
        broker_id: Option<i32>,
        max_transaction_timeout_ms: i64,
    },
    ForceTerminate {
        transactional_id: String,
    },
}

/// Which transaction `abort` aborts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AbortTarget {
    /// The one open at this offset (brokers 3.0+).
    StartOffset(i64),
    /// As given (older brokers); a negative coordinator epoch is already 0.
    Producer {
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
    },
}

/// Where `find-hanging` looks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HangingScope {
    /// One partition.
    Partition(TopicPartition),
    /// The partitions of one topic (those on `--broker-id`, if given).
    Topic(String),
    /// Every topic's partitions on `--broker-id`.
    AllTopics,
}

/// A failure Kafka's tool reports with `printErrorAndExit(message, cause)`.
fn failed(context: impl std::fmt::Display, cause: &Failure) -> ToolError {
    ToolError::Reported(format!(
        "{context}: {}. Enable debug logging for additional detail.",
        cause.message
    ))
}

/// `printErrorAndExit(message)`.
fn refused(message: impl Into<String>) -> ToolError {
    ToolError::Reported(message.into())
}

fn int(ns: &crate::argparse::Namespace, dest: &str) -> Option<i32> {
    ns.integer(dest).and_then(|n| i32::try_from(n).ok())
}

fn command(ns: &crate::argparse::Namespace) -> Result<Command, ToolError> {
    let string = |dest: &str| ns.string(dest).map(str::to_string);
    let partition = || TopicPartition {
        topic: string("topic").unwrap_or_default(),
        partition: int(ns, "partition").unwrap_or_default(),
    };
    match ns.command.as_deref() {
        Some("list") => Ok(Command::List {
            duration_filter_ms: ns.integer("duration_filter"),
            transactional_id_pattern: string("transactional_id_pattern"),
        }),
        Some("describe") => Ok(Command::Describe {
            transactional_id: string("transactional_id").unwrap_or_default(),
        }),
        Some("describe-producers") => Ok(Command::DescribeProducers {
            partition: partition(),
            broker_id: int(ns, "broker_id"),
        }),
        Some("abort") => {
            let start_offset = ns.integer("start_offset");
            let producer_id = ns.integer("producer_id");
            let target = match (start_offset, producer_id) {
                (None, None) => return Err(refused("The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)")),
                (Some(offset), _) => AbortTarget::StartOffset(offset),
                (None, Some(producer_id)) => {
                    let Some(producer_epoch) = ns.integer("producer_epoch") else {
                        return Err(refused("Missing required argument --producer-epoch"));
                    };
                    let Some(coordinator_epoch) = int(ns, "coordinator_epoch") else {
                        return Err(refused("Missing required argument --coordinator-epoch"));
                    };
                    // A transaction begun by a new producer id that hung before its
                    // first commit or abort shows coordinator epoch -1: 0 is at most any
                    // real one, as Kafka reasons.
                    AbortTarget::Producer {
                        producer_id,
                        producer_epoch: i16::try_from(producer_epoch).unwrap_or_default(),
                        coordinator_epoch: coordinator_epoch.max(0),
                    }
                }
            };
            Ok(Command::Abort {
                partition: partition(),
                target,
            })
        }
        Some("find-hanging") => {
            let broker_id = int(ns, "broker_id");
            let topic = string("topic");
            if topic.is_none() && broker_id.is_none() {
                return Err(refused("The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search"));
            }
            let scope = match (topic, int(ns, "partition")) {
                (None, Some(_)) => {
                    return Err(refused(
                        "The --partition argument requires --topic to be provided",
                    ))
                }
                (Some(topic), Some(partition)) => {
                    HangingScope::Partition(TopicPartition { topic, partition })
                }
                (Some(topic), None) => HangingScope::Topic(topic),
                (None, None) => HangingScope::AllTopics,
            };
            Ok(Command::FindHanging {
                scope,
                broker_id,
                max_transaction_timeout_ms: ns.integer("max_transaction_timeout").unwrap_or(15)
                    * 60_000,
            })
        }
        Some("forceTerminateTransaction") => Ok(Command::ForceTerminate {
            transactional_id: string("transactionalId").unwrap_or_default(),
        }),
        other => Err(refused(format!(
            "Unexpected command {}",
            other.unwrap_or("null")
        ))),
    }
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let ns = match parser().parse(&args) {
        Parsed::Args(ns) => ns,
        Parsed::Help(text) => {
            // argparse4j's help throws `HelpScreenException`, which Kafka's tool turns
            // into exit status 1.
            print!("{text}");
            return Err(ToolError::Reported(String::new()));
        }
        Parsed::Version => {
            println!("{} (Commit:unknown)", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Parsed::Error(text) => {
            return Err(ToolError::Reported(text.trim_end_matches('\n').to_string()))
        }
    };
    // `buildAdminClient`: the properties file is read before any command runs.
    let props = match ns.string("command_config") {
        None => BTreeMap::new(),
        Some(path) if !Path::new(path).is_file() => {
            return Err(failed(
                "Failed to load admin client properties",
                &Failure {
                    message: path.to_string(),
                    code: None,
                },
            ))
        }
        Some(path) => read_properties(Path::new(path)).map_err(|e| {
            failed(
                "Failed to load admin client properties",
                &Failure {
                    message: e.to_string(),
                    code: None,
                },
            )
        })?,
    };
    // Like the other tools on rafka's protocol client: plaintext only.
    if let Some(protocol) = props.get("security.protocol") {
        if !protocol.eq_ignore_ascii_case("PLAINTEXT") {
            return Err(ToolError::Usage(format!(
                "security.protocol={protocol} is not supported by {PROG} yet"
            )));
        }
    }
    let command = command(&ns)?;
    let bootstrap = ns
        .string("bootstrap_server")
        .unwrap_or_default()
        .to_string();
    let request_timeout_ms = props
        .get("request.timeout.ms")
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(REQUEST_TIMEOUT_MS);
    let mut admin = Admin::new(&bootstrap, admin_timeout(&props), request_timeout_ms);
    let output = runtime()?.block_on(execute(&mut admin, command))?;
    print!("{output}");
    Ok(())
}

async fn execute(admin: &mut Admin, command: Command) -> Result<String, ToolError> {
    match command {
        Command::List {
            duration_filter_ms,
            transactional_id_pattern,
        } => {
            list(
                admin,
                duration_filter_ms,
                transactional_id_pattern.as_deref(),
            )
            .await
        }
        Command::Describe { transactional_id } => describe(admin, &transactional_id).await,
        Command::DescribeProducers {
            partition,
            broker_id,
        } => describe_producers(admin, &partition, broker_id).await,
        Command::Abort { partition, target } => abort(admin, partition, target).await,
        Command::FindHanging {
            scope,
            broker_id,
            max_transaction_timeout_ms,
        } => find_hanging(admin, scope, broker_id, max_transaction_timeout_ms).await,
        Command::ForceTerminate { transactional_id } => {
            admin.fence_producer(&transactional_id).await.map_err(|e| {
                failed(
                    format!("Failed to force terminate transactionalId `{transactional_id}`"),
                    &e,
                )
            })?;
            Ok(String::new())
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `ToolsUtils.prettyPrintTable`: every cell padded to its column's width and followed
/// by a tab (the last one too), a header row first.
fn pretty_print_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let width = |s: &str| s.encode_utf16().count();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        for (cell, column_width) in row.iter().zip(&widths) {
            out.push_str(cell);
            out.push_str(&" ".repeat(column_width - width(cell)));
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

/// `Long.hashCode`.
fn long_hash(value: i64) -> i32 {
    (value ^ (value >> 32)) as i32
}

/// Each broker's transactions, keyed as `allByBrokerId()`'s `HashMap<Integer, …>`
/// iterates them.
fn by_broker_order<T>(by_broker: Vec<(i32, T)>) -> Vec<(i32, T)> {
    java_order::hash_map_order(by_broker, Capacity::Default, |(id, _)| *id)
}

async fn list(
    admin: &mut Admin,
    duration_filter_ms: Option<i64>,
    pattern: Option<&str>,
) -> Result<String, ToolError> {
    let by_broker = admin
        .list_transactions(&[], duration_filter_ms.unwrap_or(-1), pattern)
        .await
        .map_err(|e| failed("Failed to list transactions", &e))?;
    let rows: Vec<Vec<String>> = by_broker_order(by_broker)
        .into_iter()
        .flat_map(|(broker, listings)| {
            listings.into_iter().map(move |listing| {
                vec![
                    listing.transactional_id,
                    broker.to_string(),
                    listing.producer_id.to_string(),
                    listing.state,
                ]
            })
        })
        .collect();
    Ok(pretty_print_table(LIST_HEADERS, &rows))
}

/// A transaction's partitions as its `TransactionDescription` holds them: a
/// `HashSet<TopicPartition>` filled in the coordinator's order.
fn partition_set_order(partitions: Vec<TopicPartition>) -> Vec<TopicPartition> {
    let mut distinct: Vec<TopicPartition> = Vec::new();
    for tp in partitions {
        if !distinct.contains(&tp) {
            distinct.push(tp);
        }
    }
    java_order::topic_partition_order(distinct, Capacity::Default, |tp| {
        (tp.topic.as_str(), tp.partition)
    })
}

async fn describe(admin: &mut Admin, transactional_id: &str) -> Result<String, ToolError> {
    let context =
        format!("Failed to describe transaction state of transactional-id `{transactional_id}`");
    let description: Description = admin
        .describe_transaction(transactional_id)
        .await
        .map_err(|e| failed(&context, &e))?;
    let (start, duration) = match description.start_time_ms {
        Some(start) => (start.to_string(), (now_ms() - start).to_string()),
        None => ("None".to_string(), "None".to_string()),
    };
    let partitions: Vec<String> = partition_set_order(description.partitions)
        .iter()
        .map(TopicPartition::to_string)
        .collect();
    let row = vec![
        description.coordinator_id.to_string(),
        transactional_id.to_string(),
        description.producer_id.to_string(),
        description.producer_epoch.to_string(),
        description.state,
        description.timeout_ms.to_string(),
        start,
        duration,
        partitions.join(","),
    ];
    Ok(pretty_print_table(DESCRIBE_HEADERS, &[row]))
}

async fn describe_producers(
    admin: &mut Admin,
    partition: &TopicPartition,
    broker_id: Option<i32>,
) -> Result<String, ToolError> {
    let producers = admin
        .describe_producers(std::slice::from_ref(partition), broker_id)
        .await
        .map_err(|e| {
            let on = match broker_id {
                Some(id) => format!("broker {id}"),
                None => "leader".to_string(),
            };
            failed(
                format!("Failed to describe producers for partition {partition} on {on}"),
                &e,
            )
        })?;
    let rows: Vec<Vec<String>> = producers
        .into_iter()
        .flat_map(|(_, producers)| producers)
        .map(|p| {
            vec![
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.coordinator_epoch.unwrap_or(-1).to_string(),
                p.last_sequence.to_string(),
                p.last_timestamp.to_string(),
                p.current_transaction_start_offset
                    .map_or_else(|| "None".to_string(), |o| o.to_string()),
            ]
        })
        .collect();
    Ok(pretty_print_table(PRODUCERS_HEADERS, &rows))
}

async fn abort(
    admin: &mut Admin,
    partition: TopicPartition,
    target: AbortTarget,
) -> Result<String, ToolError> {
    let spec = match target {
        AbortTarget::Producer {
            producer_id,
            producer_epoch,
            coordinator_epoch,
        } => AbortSpec {
            partition,
            producer_id,
            producer_epoch,
            coordinator_epoch,
        },
        AbortTarget::StartOffset(start_offset) => {
            let producers = admin
                .describe_producers(std::slice::from_ref(&partition), None)
                .await
                .map_err(|e| {
                    failed(
                        format!("Failed to validate producer state for partition {partition}"),
                        &e,
                    )
                })?;
            let found = producers
                .into_iter()
                .flat_map(|(_, producers)| producers)
                .find(|p| p.current_transaction_start_offset == Some(start_offset));
            let Some(producer) = found else {
                return Err(refused(format!(
                    "Could not find any open transactions starting at offset {start_offset} on partition {partition}"
                )));
            };
            AbortSpec {
                partition,
                producer_id: producer.producer_id,
                // Kafka's `(short) producerState.producerEpoch()`.
                producer_epoch: producer.producer_epoch as i16,
                coordinator_epoch: producer.coordinator_epoch.unwrap_or(0),
            }
        }
    };
    admin
        .abort_transaction(&spec)
        .await
        .map_err(|e| failed(format!("Failed to abort transaction {spec}"), &e))?;
    Ok(String::new())
}

/// An open transaction on one partition (`OpenTransaction`).
#[derive(Debug, Clone)]
struct OpenTransaction {
    partition: TopicPartition,
    producer: ProducerState,
}

/// Java's `Optional<Integer>.toString()`, as find-hanging's messages print the broker.
fn optional_string(value: Option<i32>) -> String {
    match value {
        Some(v) => format!("Optional[{v}]"),
        None => "Optional.empty".to_string(),
    }
}

async fn find_hanging(
    admin: &mut Admin,
    scope: HangingScope,
    broker_id: Option<i32>,
    max_transaction_timeout_ms: i64,
) -> Result<String, ToolError> {
    // `collectTopicPartitionsToSearch`.
    let partitions: Vec<TopicPartition> = match scope {
        HangingScope::Partition(tp) => vec![tp],
        HangingScope::Topic(topic) => topic_partitions(admin, broker_id, vec![topic]).await?,
        HangingScope::AllTopics => {
            let topics = admin
                .list_topics()
                .await
                .map_err(|e| failed("Failed to list topics", &e))?;
            // `new ArrayList<>(names)` of the names' `HashMap` key set.
            let topics = java_order::hash_map_order(topics, Capacity::Default, |t| {
                java_order::string_hash(t)
            });
            topic_partitions(admin, broker_id, topics).await?
        }
    };

    // `collectCandidateOpenTransactions`, in batches.
    let mut candidates: Vec<OpenTransaction> = Vec::new();
    for batch in partitions.chunks(MAX_BATCH_SIZE) {
        let producers = admin
            .describe_producers(batch, broker_id)
            .await
            .map_err(|e| {
                failed(
                    format!(
                        "Failed to describe producers for {} partitions on broker {}",
                        batch.len(),
                        optional_string(broker_id)
                    ),
                    &e,
                )
            })?;
        let now = now_ms();
        // `DescribeProducersResult.all()`: a `HashMap` of the futures' (itself a
        // `HashMap`) entries.
        let n = producers.len();
        let producers =
            java_order::topic_partition_order(producers, Capacity::Default, |(tp, _)| {
                (tp.topic.as_str(), tp.partition)
            });
        let producers =
            java_order::topic_partition_order(producers, Capacity::Initial(n), |(tp, _)| {
                (tp.topic.as_str(), tp.partition)
            });
        for (partition, states) in producers {
            for producer in states {
                if producer.current_transaction_start_offset.is_some()
                    && now - producer.last_timestamp > max_transaction_timeout_ms
                {
                    candidates.push(OpenTransaction {
                        partition: partition.clone(),
                        producer,
                    });
                }
            }
        }
    }
    if candidates.is_empty() {
        return Ok(hanging_table(&[]));
    }

    // `groupByProducerId`: a `HashMap<Long, List<OpenTransaction>>`.
    let mut by_producer: Vec<(i64, Vec<OpenTransaction>)> = Vec::new();
    for candidate in candidates {
        let id = candidate.producer.producer_id;
        match by_producer.iter_mut().find(|(p, _)| *p == id) {
            Some((_, list)) => list.push(candidate),
            None => by_producer.push((id, vec![candidate])),
        }
    }
    let by_producer =
        java_order::hash_map_order(by_producer, Capacity::Default, |(id, _)| long_hash(*id));

    // `lookupTransactionalIds`: ListTransactions filtered on those producer ids.
    let producer_ids: Vec<i64> = by_producer.iter().map(|(id, _)| *id).collect();
    let listings = admin
        .list_transactions(&producer_ids, -1, None)
        .await
        .map_err(|e| {
            failed(
                format!(
                    "Failed to list transactions for {} producers",
                    producer_ids.len()
                ),
                &e,
            )
        })?;
    let mut transactional_ids: HashMap<i64, String> = HashMap::new();
    for (_, broker_listings) in by_broker_order(listings) {
        for listing in broker_listings {
            if producer_ids.contains(&listing.producer_id) {
                transactional_ids.insert(listing.producer_id, listing.transactional_id);
            }
        }
    }

    // `describeTransactions`: a transactional id the coordinator no longer knows has no
    // description; any other failure fails the command.
    let mut descriptions: HashMap<String, Option<Description>> = HashMap::new();
    let mut ids: Vec<&String> = transactional_ids.values().collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        match admin.describe_transaction(id).await {
            Ok(description) => {
                descriptions.insert(id.clone(), Some(description));
            }
            Err(e) if e.is(ErrorCode::TransactionalIdNotFound) => {
                descriptions.insert(id.clone(), None);
            }
            Err(e) => {
                return Err(failed(
                    format!(
                        "Failed to describe {} transactions",
                        transactional_ids.len()
                    ),
                    &e,
                ))
            }
        }
    }

    // `filterHangingTransactions`.
    let mut hanging: Vec<OpenTransaction> = Vec::new();
    for (producer_id, open) in by_producer {
        match transactional_ids
            .get(&producer_id)
            .and_then(|id| descriptions.get(id).cloned().flatten())
        {
            // No transactional id, or one its coordinator does not know: hanging.
            None => hanging.extend(open),
            // The coordinator still has the partition in the transaction (or markers to
            // write to it): it will finish it.
            Some(description) => hanging.extend(
                open.into_iter()
                    .filter(|t| !description.partitions.contains(&t.partition)),
            ),
        }
    }
    Ok(hanging_table(&hanging))
}

/// `findTopicPartitions`: the partitions of `topics` (on `broker_id`'s replicas, if
/// given), topic by topic as `allTopicNames()`' `HashMap` iterates them.
async fn topic_partitions(
    admin: &mut Admin,
    broker_id: Option<i32>,
    topics: Vec<String>,
) -> Result<Vec<TopicPartition>, ToolError> {
    let mut partitions = Vec::new();
    for batch in topics.chunks(MAX_BATCH_SIZE) {
        let described = admin
            .describe_topics(batch)
            .await
            .map_err(|e| failed(format!("Failed to describe {} topics", batch.len()), &e))?;
        let n = described.len();
        let described = java_order::hash_map_order(described, Capacity::Initial(n), |t| {
            java_order::string_hash(&t.name)
        });
        for topic in described {
            for (partition, replicas) in topic.partitions {
                if broker_id.is_none_or(|id| replicas.contains(&id)) {
                    partitions.push(TopicPartition {
                        topic: topic.name.clone(),
                        partition,
                    });
                }
            }
        }
    }
    Ok(partitions)
}

/// `printHangingTransactions`.
fn hanging_table(hanging: &[OpenTransaction]) -> String {
    let now = now_ms();
    let rows: Vec<Vec<String>> = hanging
        .iter()
        .map(|t| {
            let p = &t.producer;
            vec![
                t.partition.topic.clone(),
                t.partition.partition.to_string(),
                p.producer_id.to_string(),
                p.producer_epoch.to_string(),
                p.coordinator_epoch.unwrap_or(-1).to_string(),
                p.current_transaction_start_offset.unwrap_or(-1).to_string(),
                p.last_timestamp.to_string(),
                // `TimeUnit.MILLISECONDS.toMinutes`: truncated.
                ((now - p.last_timestamp) / 60_000).to_string(),
            ]
        })
        .collect();
    pretty_print_table(HANGING_HEADERS, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command_of(args: &[&str]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match parser().parse_at_width(&args, 75) {
            Parsed::Args(ns) => command(&ns).map_err(|e| e.to_string()),
            other => Err(format!("{other:?}")),
        }
    }

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.to_string(),
            partition,
        }
    }

    #[test]
    fn tables_pad_every_cell_and_end_it_with_a_tab() {
        assert_eq!(
            pretty_print_table(
                LIST_HEADERS,
                &[vec![
                    "a-long-transactional-id".into(),
                    "1".into(),
                    "1234567890123".into(),
                    "Ongoing".into()
                ]]
            ),
            "TransactionalId        \tCoordinator\tProducerId   \tTransactionState\t\n\
             a-long-transactional-id\t1          \t1234567890123\tOngoing         \t\n"
        );
        assert_eq!(
            pretty_print_table(HANGING_HEADERS, &[]),
            "Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\tStartOffset\tLastTimestamp\tDuration(min)\t\n"
        );
    }

    #[test]
    fn commands_are_checked_as_kafkas_execute_checks_them() {
        let bs = ["--bootstrap-server", "h:1"];
        let with = |rest: &[&str]| command_of(&[&bs[..], rest].concat());
        assert_eq!(
            with(&["list", "--duration-filter", "5"]),
            Ok(Command::List {
                duration_filter_ms: Some(5),
                transactional_id_pattern: None
            })
        );
        assert_eq!(
            with(&[
                "abort",
                "--topic",
                "t",
                "--partition",
                "2",
                "--producer-id",
                "7",
                "--producer-epoch",
                "3",
                "--coordinator-epoch",
                "-1"
            ]),
            Ok(Command::Abort {
                partition: tp("t", 2),
                target: AbortTarget::Producer {
                    producer_id: 7,
                    producer_epoch: 3,
                    coordinator_epoch: 0
                }
            })
        );
        // --start-offset wins over the older form.
        assert_eq!(
            with(&[
                "abort",
                "--topic",
                "t",
                "--partition",
                "0",
                "--start-offset",
                "9",
                "--producer-id",
                "7"
            ]),
            Ok(Command::Abort {
                partition: tp("t", 0),
                target: AbortTarget::StartOffset(9)
            })
        );
        assert_eq!(
            with(&["find-hanging", "--broker-id", "3"]),
            Ok(Command::FindHanging {
                scope: HangingScope::AllTopics,
                broker_id: Some(3),
                max_transaction_timeout_ms: 15 * 60_000
            })
        );
        assert_eq!(
            with(&[
                "find-hanging",
                "--topic",
                "t",
                "--partition",
                "1",
                "--max-transaction-timeout",
                "2"
            ]),
            Ok(Command::FindHanging {
                scope: HangingScope::Partition(tp("t", 1)),
                broker_id: None,
                max_transaction_timeout_ms: 2 * 60_000
            })
        );
        assert_eq!(
            with(&[
                "abort",
                "--topic",
                "t",
                "--partition",
                "0",
                "--producer-id",
                "7",
                "--producer-epoch",
                "1"
            ]),
            Err("Missing required argument --coordinator-epoch".to_string())
        );
    }

    #[test]
    fn sets_and_maps_iterate_as_javas() {
        // `HashSet<TopicPartition>` of t-0..t-4, as a JVM iterates it.
        let partitions = partition_set_order((0..5).map(|p| tp("t", p)).collect());
        let shown: Vec<String> = partitions.iter().map(TopicPartition::to_string).collect();
        assert_eq!(shown, ["t-4", "t-3", "t-2", "t-1", "t-0"]);
        // `HashMap<Integer, …>`: small ids by bucket, ties in insertion order.
        let brokers: Vec<i32> = by_broker_order(vec![(3, ()), (1, ()), (2, ()), (17, ())])
            .into_iter()
            .map(|(id, ())| id)
            .collect();
        assert_eq!(brokers, [1, 17, 2, 3]);
        assert_eq!(long_hash(1 << 32), 1);
        assert_eq!(long_hash(-1), 0);
        assert_eq!(optional_string(Some(2)), "Optional[2]");
        assert_eq!(optional_string(None), "Optional.empty");
    }
}
