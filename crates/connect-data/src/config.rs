//! A `ConfigDef`-like description of a plugin's keys (Kafka's `ConfigDef`): name, type,
//! default, importance, documentation and validator, which the REST API lists under
//! `connector-plugins/{p}/config` and checks in `config/validate`; and the parsing of a
//! plugin's string properties against it with Kafka's rules and messages.

use std::collections::HashMap;
use std::fmt;

use crate::error::ConfigError;

/// Kafka's `ConfigDef.Type`; `Display` prints the Java constant (`BOOLEAN`, `LIST`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl fmt::Display for ConfigType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Short => "SHORT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
            ConfigType::Class => "CLASS",
            ConfigType::Password => "PASSWORD",
        })
    }
}

/// Kafka's `ConfigDef.Importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Importance {
    High,
    Medium,
    Low,
}

impl fmt::Display for Importance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Importance::High => "HIGH",
            Importance::Medium => "MEDIUM",
            Importance::Low => "LOW",
        })
    }
}

/// A key's default: none (the key is required), Java's `null`, or a value in the text
/// form `ConfigDef.convertToString` gives (lists comma-joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    Required,
    Null,
    Text(String),
}

/// The validators Kafka's converters, transforms and predicates use, with their messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validator {
    /// `ConfigDef.ValidString.in(...)`.
    ValidString(Vec<String>),
    /// `ConfigDef.CaseInsensitiveValidString.in(...)`.
    CaseInsensitiveValidString(Vec<String>),
    /// `ConfigDef.NonEmptyString`.
    NonEmptyString,
    /// `ConfigDef.NonNullValidator`.
    NonNull,
    /// Connect's `NonEmptyListValidator`.
    NonEmptyList,
    /// Connect's `RegexValidator`: a Java regex (checked as a Rust `regex`).
    Regex,
    /// A check the plugin itself performs when configured; only its description is here.
    Described(String),
    /// `ConfigDef.CompositeValidator.of(...)`.
    Composite(Vec<Validator>),
}

impl Validator {
    /// The validator's `toString()`, which Kafka's docs show as "Valid Values".
    pub fn describe(&self) -> String {
        match self {
            Validator::ValidString(values) => format!("[{}]", values.join(", ")),
            Validator::CaseInsensitiveValidString(values) => {
                format!("(case insensitive) [{}]", values.join(", "))
            }
            Validator::NonEmptyString => "non-empty string".to_string(),
            Validator::NonNull => "non-null string".to_string(),
            Validator::NonEmptyList => "non-empty list".to_string(),
            Validator::Regex => "valid regex".to_string(),
            Validator::Described(text) => text.clone(),
            Validator::Composite(parts) => parts
                .iter()
                .map(Validator::describe)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn ensure_valid(&self, name: &str, value: &ConfigValue) -> Result<(), ConfigError> {
        match self {
            Validator::ValidString(values) => match value {
                ConfigValue::String(s) if values.contains(s) => Ok(()),
                _ => Err(ConfigError::invalid(
                    name,
                    value.java_string(),
                    format!("String must be one of: {}", values.join(", ")),
                )),
            },
            Validator::CaseInsensitiveValidString(values) => match value {
                ConfigValue::String(s) if values.iter().any(|v| v.eq_ignore_ascii_case(s)) => {
                    Ok(())
                }
                _ => Err(ConfigError::invalid(
                    name,
                    value.java_string(),
                    format!(
                        "String must be one of (case insensitive): {}",
                        values.join(", ")
                    ),
                )),
            },
            Validator::NonEmptyString => match value {
                ConfigValue::String(s) if s.is_empty() => {
                    Err(ConfigError::invalid(name, "", "String must be non-empty"))
                }
                _ => Ok(()),
            },
            Validator::NonNull => match value {
                ConfigValue::Null => {
                    Err(ConfigError::invalid(name, "null", "entry must be non null"))
                }
                _ => Ok(()),
            },
            Validator::NonEmptyList => match value {
                ConfigValue::List(items) if !items.is_empty() => Ok(()),
                _ => Err(ConfigError::invalid(
                    name,
                    value.java_string(),
                    "Empty list",
                )),
            },
            Validator::Regex => match value {
                ConfigValue::String(s) => match regex::Regex::new(s) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(ConfigError::invalid(
                        name,
                        s.clone(),
                        format!("Invalid regex: {e}"),
                    )),
                },
                _ => Ok(()),
            },
            Validator::Described(_) => Ok(()),
            Validator::Composite(parts) => {
                parts.iter().try_for_each(|v| v.ensure_valid(name, value))
            }
        }
    }
}

/// One key of a `ConfigDef` (Kafka's `ConfigDef.ConfigKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigKey {
    pub name: String,
    pub config_type: ConfigType,
    pub default_value: DefaultValue,
    pub validator: Option<Validator>,
    pub importance: Importance,
    pub documentation: String,
    pub group: Option<String>,
    pub order_in_group: i32,
    /// Kafka's `ConfigDef.Width` (`NONE`, `SHORT`, `MEDIUM`, `LONG`), for UIs.
    pub width: &'static str,
    pub display_name: String,
}

/// Kafka's `ConfigDef`: keys in definition order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

impl ConfigDef {
    pub fn new() -> ConfigDef {
        ConfigDef::default()
    }

    /// Java's `define(name, type, default, [validator,] importance, documentation)`.
    pub fn define(
        mut self,
        name: &str,
        config_type: ConfigType,
        default_value: DefaultValue,
        validator: Option<Validator>,
        importance: Importance,
        documentation: &str,
    ) -> ConfigDef {
        assert!(
            self.key(name).is_none(),
            "Configuration {name} is defined twice."
        );
        self.keys.push(ConfigKey {
            name: name.to_string(),
            config_type,
            default_value,
            validator,
            importance,
            documentation: documentation.to_string(),
            group: None,
            order_in_group: -1,
            width: "NONE",
            display_name: name.to_string(),
        });
        self
    }

    /// Defines a whole key (Java's `define(ConfigKey)`), as an enriched def copies keys
    /// of another under a prefix.
    pub fn define_key(mut self, key: ConfigKey) -> ConfigDef {
        assert!(
            self.key(&key.name).is_none(),
            "Configuration {} is defined twice.",
            key.name
        );
        self.keys.push(key);
        self
    }

    /// Places the last defined key in `group` at `order` (Java's grouped `define`).
    pub fn in_group(mut self, group: &str, order: i32, display_name: &str) -> ConfigDef {
        let key = self.keys.last_mut().expect("a key was defined");
        key.group = Some(group.to_string());
        key.order_in_group = order;
        key.display_name = display_name.to_string();
        self
    }

    /// Names the last defined key for UIs without a group (Java's `define` with a null
    /// group and order -1).
    pub fn displayed(mut self, display_name: &str, width: &'static str) -> ConfigDef {
        let key = self.keys.last_mut().expect("a key was defined");
        key.display_name = display_name.to_string();
        key.width = width;
        self
    }

    /// Sets the last defined key's width (Java's grouped `define` takes it).
    pub fn with_width(mut self, width: &'static str) -> ConfigDef {
        self.keys.last_mut().expect("a key was defined").width = width;
        self
    }

    /// Appends `other`'s keys after these (Java's `ConfigDef(base)` + defines).
    pub fn extend(mut self, other: &ConfigDef) -> ConfigDef {
        for key in &other.keys {
            if self.key(&key.name).is_none() {
                self.keys.push(key.clone());
            }
        }
        self
    }

    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// Java's `ConfigDef.parse(props)`: every defined key, from `props` or its default,
    /// parsed to its type and validated; the first failure in definition order.
    /// Keys not defined are ignored, as Kafka ignores them.
    pub fn parse(&self, props: &HashMap<String, String>) -> Result<ParsedConfig, ConfigError> {
        let mut values = HashMap::new();
        for key in &self.keys {
            let value = match (props.get(&key.name), &key.default_value) {
                (Some(text), _) => parse_type(&key.name, text, key.config_type)?,
                (None, DefaultValue::Required) => {
                    return Err(ConfigError::Missing {
                        name: key.name.clone(),
                    })
                }
                (None, DefaultValue::Null) => ConfigValue::Null,
                (None, DefaultValue::Text(text)) => parse_type(&key.name, text, key.config_type)?,
            };
            if let Some(validator) = &key.validator {
                validator.ensure_valid(&key.name, &value)?;
            }
            values.insert(key.name.clone(), value);
        }
        Ok(ParsedConfig { values })
    }
}

/// A parsed configuration value (Java's typed `Object`).
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    Null,
    Boolean(bool),
    String(String),
    Int(i32),
    Long(i64),
    Double(f64),
    List(Vec<String>),
}

impl ConfigValue {
    /// Java's `String.valueOf(value)`, as `ConfigException` prints values.
    pub fn java_string(&self) -> String {
        match self {
            ConfigValue::Null => "null".to_string(),
            ConfigValue::Boolean(b) => b.to_string(),
            ConfigValue::String(s) => s.clone(),
            ConfigValue::Int(v) => v.to_string(),
            ConfigValue::Long(v) => v.to_string(),
            ConfigValue::Double(v) => crate::javafmt::java_double_to_string(*v),
            ConfigValue::List(items) => format!("[{}]", items.join(", ")),
        }
    }
}

/// Java's `ConfigDef.parseType` for a string value.
pub fn parse_type(
    name: &str,
    text: &str,
    config_type: ConfigType,
) -> Result<ConfigValue, ConfigError> {
    let trimmed = text.trim();
    let not_a_number =
        || ConfigError::invalid(name, text, format!("Not a number of type {config_type}"));
    Ok(match config_type {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                ConfigValue::Boolean(true)
            } else if trimmed.eq_ignore_ascii_case("false") {
                ConfigValue::Boolean(false)
            } else {
                return Err(ConfigError::invalid(
                    name,
                    text,
                    "Expected value to be either true or false",
                ));
            }
        }
        ConfigType::String | ConfigType::Class => ConfigValue::String(trimmed.to_string()),
        ConfigType::Password => ConfigValue::String(text.to_string()),
        ConfigType::Int => ConfigValue::Int(trimmed.parse().map_err(|_| not_a_number())?),
        ConfigType::Short => {
            let v: i16 = trimmed.parse().map_err(|_| not_a_number())?;
            ConfigValue::Int(i32::from(v))
        }
        ConfigType::Long => ConfigValue::Long(trimmed.parse().map_err(|_| not_a_number())?),
        ConfigType::Double => ConfigValue::Double(trimmed.parse().map_err(|_| not_a_number())?),
        ConfigType::List => ConfigValue::List(parse_list(trimmed)),
    })
}

/// A LIST value: split on commas with surrounding whitespace, empty items kept, the
/// empty string an empty list.
pub fn parse_list(text: &str) -> Vec<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(',')
        .map(|item| item.trim().to_string())
        .collect()
}

/// The result of `ConfigDef::parse` (Java's `AbstractConfig` getters).
/// Invariant: holds a value for every key of the `ConfigDef` it came from; asking for
/// another key, or with the wrong type, is a bug in the plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedConfig {
    values: HashMap<String, ConfigValue>,
}

impl ParsedConfig {
    fn value(&self, name: &str) -> &ConfigValue {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("Unknown configuration '{name}'"))
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        match self.value(name) {
            ConfigValue::String(s) => Some(s),
            ConfigValue::Null => None,
            other => panic!("{name} is not a string: {other:?}"),
        }
    }

    pub fn boolean(&self, name: &str) -> bool {
        match self.value(name) {
            ConfigValue::Boolean(b) => *b,
            other => panic!("{name} is not a boolean: {other:?}"),
        }
    }

    pub fn int(&self, name: &str) -> Option<i32> {
        match self.value(name) {
            ConfigValue::Int(v) => Some(*v),
            ConfigValue::Null => None,
            other => panic!("{name} is not an int: {other:?}"),
        }
    }

    /// A LONG key (Java's `getLong`); `None` for a `null` default.
    pub fn long(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            ConfigValue::Long(v) => Some(*v),
            ConfigValue::Null => None,
            other => panic!("{name} is not a long: {other:?}"),
        }
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        match self.value(name) {
            ConfigValue::List(items) => items.clone(),
            ConfigValue::Null => Vec::new(),
            other => panic!("{name} is not a list: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "flag",
                ConfigType::Boolean,
                DefaultValue::Text("true".into()),
                None,
                Importance::High,
                "",
            )
            .define(
                "fields",
                ConfigType::List,
                DefaultValue::Required,
                Some(Validator::NonEmptyList),
                Importance::High,
                "",
            )
            .define(
                "mode",
                ConfigType::String,
                DefaultValue::Text("a".into()),
                Some(Validator::ValidString(vec!["a".into(), "b".into()])),
                Importance::Low,
                "",
            )
    }

    #[test]
    fn parses_types_defaults_and_lists() {
        let parsed = def()
            .parse(&props(&[("fields", " x , y,,z "), ("flag", " FALSE ")]))
            .unwrap();
        assert!(!parsed.boolean("flag"));
        assert_eq!(parsed.list("fields"), vec!["x", "y", "", "z"]);
        assert_eq!(parsed.string("mode"), Some("a"));
    }

    #[test]
    fn reports_kafkas_messages() {
        assert_eq!(
            def().parse(&props(&[])).unwrap_err().to_string(),
            "Missing required configuration \"fields\" which has no default value."
        );
        assert_eq!(
            def()
                .parse(&props(&[("fields", "")]))
                .unwrap_err()
                .to_string(),
            "Invalid value [] for configuration fields: Empty list"
        );
        assert_eq!(
            def()
                .parse(&props(&[("fields", "a"), ("flag", "yes")]))
                .unwrap_err()
                .to_string(),
            "Invalid value yes for configuration flag: Expected value to be either true or false"
        );
        assert_eq!(
            def()
                .parse(&props(&[("fields", "a"), ("mode", "c")]))
                .unwrap_err()
                .to_string(),
            "Invalid value c for configuration mode: String must be one of: a, b"
        );
    }
}
