//! The `--include` regular expression, matched against whole topic names as Kafka's
//! `Pattern.matcher(topic).matches()` does: the `regex` crate, anchored at both ends.

use crate::ToolError;

/// A compiled `--include` pattern.
#[derive(Debug, Clone)]
pub(crate) struct TopicPattern {
    regex: regex::Regex,
}

impl TopicPattern {
    pub(crate) fn new(pattern: &str) -> Result<TopicPattern, ToolError> {
        regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(|regex| TopicPattern { regex })
            .map_err(|e| ToolError::Usage(format!("Invalid regular expression {pattern}: {e}")))
    }

    /// Whether the whole of `topic` matches.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, topic: &str) -> bool {
        TopicPattern::new(pattern).unwrap().matches(topic)
    }

    #[test]
    fn matches_whole_names_only() {
        assert!(m("orders", "orders"));
        assert!(!m("orders", "orders-eu"));
        assert!(m("orders.*", "orders-eu"));
        assert!(m(".*", ""));
    }

    #[test]
    fn alternation_groups_classes_and_counts() {
        assert!(m("a|b", "b"));
        assert!(m("(logs|events)-[0-9]+", "events-42"));
        assert!(!m("(logs|events)-[0-9]+", "events-"));
        assert!(m("t\\d{2,3}", "t123"));
        assert!(!m("t\\d{2,3}", "t1234"));
        assert!(m("[^.]+\\.x", "ab.x"));
        assert!(!m("[^.]+\\.x", "a.b.x"));
        assert!(m("(a*)*b", "aaab"));
        assert!(m("^test.*$", "test-topic"));
        assert!(m("(?:a|b)+?c", "abac"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(TopicPattern::new("(a").is_err());
        assert!(TopicPattern::new("a)").is_err());
        assert!(TopicPattern::new("*a").is_err());
        assert!(TopicPattern::new("[a").is_err());
    }
}
