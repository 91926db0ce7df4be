//! `ssl.principal.mapping.rules` (KIP-371), as Kafka's `SslPrincipalMapper` applies them
//! to a client certificate's subject (RFC 2253, `CN=alice,OU=eng,O=example`):
//! `RULE:pattern/replacement/[L|U]` entries and `DEFAULT` (the whole name), separated by
//! commas, the first rule whose pattern matches the whole name deciding. The principal
//! is then `User:<name>`.

use regex::Regex;

/// Kafka's default: the subject as it is.
pub const DEFAULT_RULES: &str = "DEFAULT";

/// A rule list that does not parse, or a name no rule maps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("Invalid rule: `{rule}`, unmatched substring: `{rest}`")]
    Unmatched { rule: String, rest: String },
    #[error("Invalid rule: {rule}: {reason}")]
    Pattern { rule: String, reason: String },
    #[error("No rules apply to {0}")]
    NoMatchingRule(String),
}

#[derive(Debug, Clone)]
enum Rule {
    Default,
    Replace {
        pattern: Regex,
        /// The replacement in `regex`'s syntax.
        replacement: String,
        lower: bool,
        upper: bool,
    },
}

/// Parsed `ssl.principal.mapping.rules`.
#[derive(Debug, Clone)]
pub struct SslPrincipalMapper {
    rules: Vec<Rule>,
}

impl SslPrincipalMapper {
    pub fn new(rules: &str) -> Result<SslPrincipalMapper, MappingError> {
        let mut parsed = Vec::new();
        let mut rest = rules.trim();
        while !rest.is_empty() {
            let (rule, after) = next_rule(rest)?;
            if let Some(rule) = rule {
                parsed.push(rule);
            }
            rest = after.trim_start();
        }
        Ok(SslPrincipalMapper { rules: parsed })
    }

    /// The principal name for a certificate subject.
    pub fn name(&self, distinguished_name: &str) -> Result<String, MappingError> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(distinguished_name.to_string()),
                Rule::Replace {
                    pattern,
                    replacement,
                    lower,
                    upper,
                } => {
                    let whole = pattern
                        .find(distinguished_name)
                        .is_some_and(|m| m.start() == 0 && m.end() == distinguished_name.len());
                    if !whole {
                        continue;
                    }
                    let name = pattern
                        .replace_all(distinguished_name, replacement.as_str())
                        .into_owned();
                    return Ok(if *lower {
                        name.to_lowercase()
                    } else if *upper {
                        name.to_uppercase()
                    } else {
                        name
                    });
                }
            }
        }
        Err(MappingError::NoMatchingRule(distinguished_name.to_string()))
    }
}

/// Reads one rule and what follows its separating comma.
fn next_rule(text: &str) -> Result<(Option<Rule>, &str), MappingError> {
    if let Some(after) = text.strip_prefix("DEFAULT") {
        let (junk, rest) = until_comma(after);
        return if junk.is_empty() {
            Ok((Some(Rule::Default), rest))
        } else {
            Err(MappingError::Unmatched {
                rule: format!("DEFAULT{junk}"),
                rest: junk,
            })
        };
    }
    let Some(body) = text.strip_prefix("RULE:") else {
        let (rule, rest) = until_comma(text);
        return if rule.is_empty() {
            Ok((None, rest))
        } else {
            Err(MappingError::Unmatched {
                rest: rule.clone(),
                rule,
            })
        };
    };
    let (pattern, after_pattern) = up_to_slash(body).ok_or_else(|| MappingError::Unmatched {
        rule: text.to_string(),
        rest: text.to_string(),
    })?;
    let (replacement, after) =
        up_to_slash(after_pattern).ok_or_else(|| MappingError::Unmatched {
            rule: text.to_string(),
            rest: text.to_string(),
        })?;
    let (case, after) = match after.chars().next() {
        Some(c @ ('L' | 'U')) => (Some(c), &after[1..]),
        _ => (None, after),
    };
    let (junk, rest) = until_comma(after);
    let rule_text = text[..text.len() - rest.len()].trim_end_matches(',').trim();
    if !junk.is_empty() {
        return Err(MappingError::Unmatched {
            rule: rule_text.to_string(),
            rest: junk,
        });
    }
    let regex = Regex::new(pattern).map_err(|e| MappingError::Pattern {
        rule: rule_text.to_string(),
        reason: e.to_string(),
    })?;
    let replacement = java_replacement(replacement, regex.captures_len() - 1);
    Ok((
        Some(Rule::Replace {
            pattern: regex,
            replacement,
            lower: case == Some('L'),
            upper: case == Some('U'),
        }),
        rest,
    ))
}

/// The text up to the next comma (trimmed) and what follows the comma.
fn until_comma(s: &str) -> (String, &str) {
    match s.find(',') {
        Some(i) => (s[..i].trim().to_string(), &s[i + 1..]),
        None => (s.trim().to_string(), ""),
    }
}

/// The text up to the next unescaped `/`, and what follows it.
fn up_to_slash(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'/' => return Some((&text[..i], &text[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// A Java `replaceAll` replacement (`$n` groups, `\x` literal x) in `regex`'s syntax,
/// with Kafka's reading of a group number beyond the pattern's groups: digits are
/// dropped from the right until it names a group, else it is literal text.
fn java_replacement(java: &str, groups: usize) -> String {
    let mut out = String::new();
    let chars: Vec<char> = java.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                push_literal(&mut out, chars[i + 1]);
                i += 2;
            }
            '$' => {
                let digits: String = chars[i + 1..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if digits.is_empty() {
                    out.push_str("$$");
                    i += 1;
                    continue;
                }
                let mut used = digits.len();
                let mut group: usize = digits.parse().unwrap_or(usize::MAX);
                while group > groups && used > 1 {
                    used -= 1;
                    group = digits[..used].parse().unwrap_or(usize::MAX);
                }
                if group > groups && groups > 0 {
                    out.push_str("$$");
                    out.push_str(&digits);
                    i += 1 + digits.len();
                    continue;
                }
                out.push_str(&format!("${{{group}}}"));
                i += 1 + used;
            }
            c => {
                push_literal(&mut out, c);
                i += 1;
            }
        }
    }
    out
}

fn push_literal(out: &mut String, c: char) {
    if c == '$' {
        out.push_str("$$");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_documented_rules_map_subjects() {
        let mapper = SslPrincipalMapper::new(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT",
        )
        .unwrap();
        assert_eq!(
            mapper.name("CN=kafka1,OU=ServiceUsers,O=Org,C=US").unwrap(),
            "kafka1"
        );
        assert_eq!(
            mapper
                .name("CN=Duke,OU=JavaSoft,O=Sun Microsystems,L=Cupertino,ST=CA,C=US")
                .unwrap(),
            "duke@javasoft"
        );
        assert_eq!(
            mapper.name("OU=Admins,cn=Root.Ops,O=x").unwrap(),
            "root.ops"
        );
        assert_eq!(mapper.name("O=nobody").unwrap(), "O=nobody");
    }

    #[test]
    fn default_upper_case_and_no_match() {
        let mapper = SslPrincipalMapper::new(DEFAULT_RULES).unwrap();
        assert_eq!(mapper.name("CN=a,O=b").unwrap(), "CN=a,O=b");
        let mapper = SslPrincipalMapper::new("RULE:^CN=([^,]*).*$/$1/U").unwrap();
        assert_eq!(mapper.name("CN=alice,O=x").unwrap(), "ALICE");
        assert_eq!(
            mapper.name("O=x").unwrap_err().to_string(),
            "No rules apply to O=x"
        );
    }

    #[test]
    fn invalid_rules_are_named() {
        let err = SslPrincipalMapper::new("RULE:^CN=(.*)$/$1/Lxyz").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid rule: `RULE:^CN=(.*)$/$1/Lxyz`, unmatched substring: `xyz`"
        );
        assert!(SslPrincipalMapper::new("garbage").is_err());
        assert!(
            SslPrincipalMapper::new("RULE:(/x/").is_err(),
            "a pattern that does not compile"
        );
        // Kafka reads `$12` with one group as group 1 then `2`.
        assert_eq!(java_replacement("$12-\\$", 1), "${1}2-$$");
    }
}
