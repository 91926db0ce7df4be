//! Kafka's `DefaultMessageFormatter` (and `NoOpMessageFormatter`), shared by
//! `kafka-console-consumer.sh` and `kafka-console-share-consumer.sh`.

use std::collections::BTreeMap;
use std::io::Write;

use rdkafka::Timestamp;

use crate::ToolError;

/// `LoggingMessageFormatter` prints as the default one does (and logs each record at
/// INFO, which Kafka's scripts do not show).
const DEFAULT_FORMATTERS: &[&str] = &[
    "org.apache.kafka.tools.consumer.DefaultMessageFormatter",
    "kafka.tools.DefaultMessageFormatter",
    "org.apache.kafka.tools.consumer.LoggingMessageFormatter",
    "kafka.tools.LoggingMessageFormatter",
];
const NO_OP_FORMATTERS: &[&str] = &[
    "org.apache.kafka.tools.consumer.NoOpMessageFormatter",
    "kafka.tools.NoOpMessageFormatter",
];

/// Kafka's `DefaultMessageFormatter`.
#[derive(Debug)]
pub(crate) struct Formatter {
    print_timestamp: bool,
    print_key: bool,
    print_value: bool,
    print_partition: bool,
    print_offset: bool,
    /// `print.delivery`: the share-group delivery count (`NOT_PRESENT` for a consumer).
    print_delivery: bool,
    print_headers: bool,
    key_separator: Vec<u8>,
    line_separator: Vec<u8>,
    headers_separator: Vec<u8>,
    null_literal: Vec<u8>,
    /// `NoOpMessageFormatter`: count records, print nothing.
    silent: bool,
}

impl Formatter {
    pub(crate) fn configure(props: &BTreeMap<String, String>) -> Formatter {
        let flag = |k: &str, default: bool| {
            props
                .get(k)
                .map_or(default, |v| v.trim().eq_ignore_ascii_case("true"))
        };
        let bytes = |k: &str, default: &str| {
            props
                .get(k)
                .map_or(default.as_bytes().to_vec(), |v| v.as_bytes().to_vec())
        };
        Formatter {
            print_timestamp: flag("print.timestamp", false),
            print_key: flag("print.key", false),
            print_value: flag("print.value", true),
            print_partition: flag("print.partition", false),
            print_offset: flag("print.offset", false),
            print_delivery: flag("print.delivery", false),
            print_headers: flag("print.headers", false),
            key_separator: bytes("key.separator", "\t"),
            line_separator: bytes("line.separator", "\n"),
            headers_separator: bytes("headers.separator", ","),
            null_literal: bytes("null.literal", "null"),
            silent: false,
        }
    }

    /// The formatter class `name` names (Kafka's `--formatter`), configured with
    /// `props`; the default one when no name is given.
    pub(crate) fn named(
        name: Option<&str>,
        props: &BTreeMap<String, String>,
    ) -> Result<Formatter, ToolError> {
        let name = name.unwrap_or(DEFAULT_FORMATTERS[0]).trim();
        if DEFAULT_FORMATTERS.contains(&name) {
            Ok(Formatter::configure(props))
        } else if NO_OP_FORMATTERS.contains(&name) {
            Ok(Formatter::no_op())
        } else {
            Err(ToolError::Usage(format!(
                "Formatter {name} is not supported; use {}",
                DEFAULT_FORMATTERS[0]
            )))
        }
    }

    fn no_op() -> Formatter {
        Formatter {
            silent: true,
            ..Formatter::configure(&BTreeMap::new())
        }
    }

    pub(crate) fn write_record(&self, r: &Record<'_>, out: &mut impl Write) -> std::io::Result<()> {
        if self.silent {
            return Ok(());
        }
        // After each field: the key separator if another field follows, else the line's end.
        let separator = |more: bool| {
            if more {
                &self.key_separator
            } else {
                &self.line_separator
            }
        };
        if self.print_timestamp {
            match r.timestamp {
                Timestamp::CreateTime(t) => write!(out, "CreateTime:{t}")?,
                Timestamp::LogAppendTime(t) => write!(out, "LogAppendTime:{t}")?,
                Timestamp::NotAvailable => write!(out, "NO_TIMESTAMP")?,
            }
            out.write_all(separator(
                self.print_offset
                    || self.print_partition
                    || self.print_delivery
                    || self.print_headers
                    || self.print_key
                    || self.print_value,
            ))?;
        }
        if self.print_partition {
            write!(out, "Partition:{}", r.partition)?;
            out.write_all(separator(
                self.print_offset
                    || self.print_delivery
                    || self.print_headers
                    || self.print_key
                    || self.print_value,
            ))?;
        }
        if self.print_offset {
            write!(out, "Offset:{}", r.offset)?;
            out.write_all(separator(
                self.print_delivery || self.print_headers || self.print_key || self.print_value,
            ))?;
        }
        if self.print_delivery {
            match r.delivery_count {
                Some(count) => write!(out, "Delivery:{count}")?,
                None => out.write_all(b"Delivery:NOT_PRESENT")?,
            }
            out.write_all(separator(
                self.print_headers || self.print_key || self.print_value,
            ))?;
        }
        if self.print_headers {
            if r.headers.is_empty() {
                out.write_all(b"NO_HEADERS")?;
            }
            for (i, (key, value)) in r.headers.iter().enumerate() {
                if i > 0 {
                    out.write_all(&self.headers_separator)?;
                }
                write!(out, "{key}:")?;
                out.write_all(value.as_deref().unwrap_or(&self.null_literal))?;
            }
            out.write_all(separator(self.print_key || self.print_value))?;
        }
        if self.print_key {
            out.write_all(r.key.unwrap_or(&self.null_literal))?;
            out.write_all(separator(self.print_value))?;
        }
        if self.print_value {
            out.write_all(r.value.unwrap_or(&self.null_literal))?;
            out.write_all(&self.line_separator)?;
        }
        Ok(())
    }
}

/// The parts of a consumed record the formatter prints.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub(crate) timestamp: Timestamp,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) headers: Vec<(String, Option<Vec<u8>>)>,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    /// A share consumer's delivery count.
    pub(crate) delivery_count: Option<i16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatter(props: &[(&str, &str)]) -> Formatter {
        Formatter::configure(
            &props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn render(f: &Formatter, r: &Record<'_>) -> String {
        let mut out = Vec::new();
        f.write_record(r, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn record<'a>(key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> Record<'a> {
        Record {
            timestamp: Timestamp::CreateTime(1_700_000_000_000),
            partition: 0,
            offset: 3,
            headers: vec![("h1".into(), Some(b"v1".to_vec())), ("h2".into(), None)],
            key,
            value,
            delivery_count: None,
        }
    }

    #[test]
    fn default_prints_only_the_value() {
        let r = record(Some(b"k"), Some(b"v"));
        assert_eq!(render(&formatter(&[]), &r), "v\n");
    }

    #[test]
    fn every_field_in_kafkas_order() {
        let f = formatter(&[
            ("print.timestamp", "true"),
            ("print.partition", "true"),
            ("print.offset", "true"),
            ("print.headers", "true"),
            ("print.key", "true"),
        ]);
        assert_eq!(
            render(&f, &record(Some(b"k"), Some(b"v"))),
            "CreateTime:1700000000000\tPartition:0\tOffset:3\th1:v1,h2:null\tk\tv\n"
        );
    }

    #[test]
    fn separators_null_literal_and_value_off() {
        let f = formatter(&[
            ("print.key", "true"),
            ("print.value", "false"),
            ("key.separator", " => "),
            ("line.separator", "|"),
            ("null.literal", "<none>"),
        ]);
        assert_eq!(render(&f, &record(None, Some(b"v"))), "<none>|");
        let f = formatter(&[("print.headers", "true"), ("headers.separator", ";")]);
        let mut r = record(Some(b"k"), None);
        assert_eq!(render(&f, &r), "h1:v1;h2:null\tnull\n");
        r.headers.clear();
        assert_eq!(render(&f, &r), "NO_HEADERS\tnull\n");
    }
}

#[cfg(test)]
mod delivery_tests {
    use super::*;

    #[test]
    fn a_share_consumers_delivery_count_prints_after_the_offset() {
        let f = Formatter::configure(&BTreeMap::from([
            ("print.offset".to_string(), "true".to_string()),
            ("print.delivery".to_string(), "true".to_string()),
        ]));
        let mut r = Record {
            timestamp: Timestamp::NotAvailable,
            partition: 0,
            offset: 9,
            headers: Vec::new(),
            key: None,
            value: Some(b"v"),
            delivery_count: Some(2),
        };
        let mut out = Vec::new();
        f.write_record(&r, &mut out).unwrap();
        assert_eq!(out, b"Offset:9\tDelivery:2\tv\n");
        r.delivery_count = None;
        out.clear();
        f.write_record(&r, &mut out).unwrap();
        assert_eq!(out, b"Offset:9\tDelivery:NOT_PRESENT\tv\n");
    }
}
