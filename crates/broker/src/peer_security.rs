//! How this broker authenticates to the other brokers (its follower fetches, its
//! requests to partition leaders and coordinators).

use rafka_client::{ClientSecurity, SaslSettings};

/// How this broker's own connections to the other brokers authenticate: with
/// `sasl.mechanism.inter.broker.protocol` and the `username`/`password` of the
/// inter-broker listener's JAAS entry for it, as Kafka's brokers do; nothing on a
/// PLAINTEXT inter-broker listener.
pub(crate) fn inter_broker_security(config: &crate::config::BrokerConfig) -> ClientSecurity {
    ClientSecurity {
        sasl: config
            .security
            .inter_broker_sasl()
            .map(|(mechanism, module)| SaslSettings {
                mechanism,
                options: module.options,
            }),
    }
}
