//! The two failures Connect's plugins report: bad data (Kafka's `DataException`, and its
//! subclass `SchemaBuilderException`) and bad configuration (Kafka's `ConfigException`).
//! Their texts are Kafka's, since they surface in a task's `trace` and in REST replies.

/// Kafka's `DataException`: a record, schema or value that cannot be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DataError {
    pub message: String,
}

impl DataError {
    pub fn new(message: impl Into<String>) -> DataError {
        DataError {
            message: message.into(),
        }
    }
}

/// Kafka's `ConfigException`. With a `name` it reads as Kafka's three-argument form,
/// `Invalid value <value> for configuration <name>: <message>`; without, the message alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Invalid value {value} for configuration {name}{}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    InvalidValue {
        name: String,
        /// The offending value as Java's `String.valueOf` prints it (`null` when absent).
        value: String,
        message: Option<String>,
    },
    #[error("Missing required configuration \"{name}\" which has no default value.")]
    Missing { name: String },
    #[error("{message}")]
    Other { message: String },
}

impl ConfigError {
    pub fn invalid(name: &str, value: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::InvalidValue {
            name: name.to_string(),
            value: value.into(),
            message: Some(message.into()),
        }
    }

    pub fn other(message: impl Into<String>) -> Self {
        ConfigError::Other {
            message: message.into(),
        }
    }

    /// The configuration key the error is about, when it names one (the REST API's
    /// `config/validate` files each error under its key).
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::InvalidValue { name, .. } | ConfigError::Missing { name } => Some(name),
            ConfigError::Other { .. } => None,
        }
    }
}

/// Either failure, for the places (building a transform chain, configuring a converter)
/// where both can happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_read_as_kafkas() {
        assert_eq!(
            ConfigError::invalid("renames", "[a]", "Invalid rename mapping: a").to_string(),
            "Invalid value [a] for configuration renames: Invalid rename mapping: a"
        );
        assert_eq!(
            ConfigError::Missing {
                name: "field".into()
            }
            .to_string(),
            "Missing required configuration \"field\" which has no default value."
        );
    }
}
