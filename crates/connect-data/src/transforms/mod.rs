//! Kafka's single message transforms (placeholder while they are written).
