//! Kafka's predicates (`org.apache.kafka.connect.transforms.predicates`):
//! `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`.

use std::collections::HashMap;

use super::api::{parse, whole_match_regex, Predicate};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::error::ConfigError;
use crate::record::ConnectRecord;

/// `TopicNameMatches`: the whole topic name matches `pattern`.
#[derive(Debug, Clone)]
pub struct TopicNameMatches {
    pattern: regex::Regex,
}

impl TopicNameMatches {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "pattern",
            ConfigType::String,
            DefaultValue::Required,
            Some(Validator::Composite(vec![
                Validator::NonEmptyString,
                Validator::Regex,
            ])),
            Importance::Medium,
            "A Java regular expression for matching against the name of a record's topic.",
        )
    }

    pub fn new(props: &HashMap<String, String>) -> Result<TopicNameMatches, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let pattern = config.string("pattern").unwrap_or_default();
        Ok(TopicNameMatches {
            pattern: whole_match_regex("pattern", pattern)?,
        })
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.is_match(&record.topic)
    }
}

/// `HasHeaderKey`: at least one header is called `name`.
#[derive(Debug, Clone)]
pub struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "name",
            ConfigType::String,
            DefaultValue::Required,
            Some(Validator::NonEmptyString),
            Importance::Medium,
            "The header name.",
        )
    }

    pub fn new(props: &HashMap<String, String>) -> Result<HasHeaderKey, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(HasHeaderKey {
            name: config.string("name").unwrap_or_default().to_string(),
        })
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers_named(&self.name).next().is_some()
    }
}

/// `RecordIsTombstone`: the value is null.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordIsTombstone;

impl RecordIsTombstone {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
    }
}

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::transforms::test_support::{props, sink_value};

    #[test]
    fn topic_name_matches_the_whole_name() {
        let p = TopicNameMatches::new(&props(&[("pattern", "my-prefix-.*")])).unwrap();
        let mut record = sink_value(None, Value::Null);
        record.topic = "my-prefix-a".into();
        assert!(p.test(&record));
        record.topic = "x-my-prefix-a".into();
        assert!(!p.test(&record));
        assert!(TopicNameMatches::new(&props(&[("pattern", "[")]))
            .unwrap_err()
            .to_string()
            .starts_with("Invalid value [ for configuration pattern: Invalid regex"));
        assert_eq!(
            TopicNameMatches::new(&props(&[("pattern", "")]))
                .unwrap_err()
                .to_string(),
            "Invalid value  for configuration pattern: String must be non-empty"
        );
    }

    #[test]
    fn header_key_and_tombstone() {
        let mut record = sink_value(None, Value::Null);
        assert!(RecordIsTombstone.test(&record));
        let p = HasHeaderKey::new(&props(&[("name", "h")])).unwrap();
        assert!(!p.test(&record));
        record.add_header("h", None, Value::Null);
        assert!(p.test(&record));
    }
}
