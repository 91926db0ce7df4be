//! Transforms that route or drop records: Kafka's `RegexRouter` and `Filter`.
//! (`TimestampRouter` lives with the date formatting in `timestamp`.)

use std::collections::HashMap;

use super::api::{java_replacement, parse, whole_match_regex, Transformation};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::error::{ConfigError, DataError};
use crate::record::ConnectRecord;

/// `RegexRouter`: when the whole topic matches `regex`, the topic becomes
/// `replaceFirst(replacement)` (`$1` refers to a group, as in Java).
#[derive(Debug, Clone)]
pub struct RegexRouter {
    regex: regex::Regex,
    replacement: String,
}

impl RegexRouter {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "regex",
                ConfigType::String,
                DefaultValue::Required,
                Some(Validator::Regex),
                Importance::High,
                "Regular expression to use for matching.",
            )
            .define(
                "replacement",
                ConfigType::String,
                DefaultValue::Required,
                None,
                Importance::High,
                "Replacement string.",
            )
    }

    pub fn new(props: &HashMap<String, String>) -> Result<RegexRouter, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(RegexRouter {
            regex: whole_match_regex("regex", config.string("regex").unwrap_or_default())?,
            replacement: java_replacement(config.string("replacement").unwrap_or_default()),
        })
    }
}

impl Transformation for RegexRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        if self.regex.is_match(&record.topic) {
            record.topic = self
                .regex
                .replace(&record.topic, self.replacement.as_str())
                .into_owned();
        }
        Ok(Some(record))
    }
}

/// `Filter`: drops every record (meant to be used with a predicate).
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter;

impl Filter {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
    }
}

impl Transformation for Filter {
    fn apply(&self, _record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::transforms::test_support::{props, sink_value};

    fn route(regex: &str, replacement: &str, topic: &str) -> String {
        let router =
            RegexRouter::new(&props(&[("regex", regex), ("replacement", replacement)])).unwrap();
        let mut record = sink_value(None, Value::Null);
        record.topic = topic.to_string();
        router.apply(record).unwrap().unwrap().topic
    }

    // RegexRouterTest
    #[test]
    fn regex_router_rewrites_matching_topics() {
        assert_eq!(route("(.*)", "prefix-$1", "orig"), "prefix-orig");
        assert_eq!(route("(.*)", "$1-suffix", "orig"), "orig-suffix");
        assert_eq!(route("(.*)-(.*)", "$1", "a-b"), "a");
        assert_eq!(route("(.*)-(.*)-(.*)", "$1-$3", "a-b-c"), "a-c");
        assert_eq!(route("x", "y", "orig"), "orig");
        assert_eq!(route("(.*)", "$1a", "z"), "za");
    }

    #[test]
    fn filter_drops_everything() {
        assert_eq!(Filter.apply(sink_value(None, Value::Null)).unwrap(), None);
    }
}
