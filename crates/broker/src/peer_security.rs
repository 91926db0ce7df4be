//! How this broker authenticates to the other brokers (its follower fetches, its
//! requests to partition leaders and coordinators) and this node to the controllers (its
//! quorum voter's Raft RPCs, its broker's controller requests).

use rafka_client::{ClientSecurity, ClientTls, SaslSettings};

/// How this broker's own connections to the other brokers authenticate: with
/// `sasl.mechanism.inter.broker.protocol` and the `username`/`password` of the
/// inter-broker listener's JAAS entry for it, as Kafka's brokers do; nothing on a
/// PLAINTEXT inter-broker listener. On an SSL or SASL_SSL one, TLS with the listener's own
/// stores: its trust store checks the other brokers, its key store is this broker's
/// client certificate. A store that does not load fails start-up.
pub(crate) fn inter_broker_security(
    config: &crate::config::BrokerConfig,
) -> Result<ClientSecurity, String> {
    let tls = match config.security.inter_broker_tls() {
        Some(settings) => Some(ClientTls::new(settings).map_err(|e| {
            format!(
                "inter-broker listener {}: {e}",
                config.security.inter_broker_listener
            )
        })?),
        None => None,
    };
    Ok(ClientSecurity {
        tls,
        sasl: config
            .security
            .inter_broker_sasl()
            .map(|(mechanism, module)| SaslSettings {
                mechanism,
                options: module.options,
            }),
    })
}

/// How this node's connections to the controller listener are secured: the listener's
/// protocol from `listener.security.protocol.map`; on SSL and SASL_SSL its own stores (as
/// for the inter-broker listener), on SASL `sasl.mechanism.controller.protocol` with its
/// JAAS entry's `username`/`password`. A store that does not load fails start-up.
pub(crate) fn controller_security(
    config: &crate::config::BrokerConfig,
) -> Result<ClientSecurity, String> {
    let Some(controller) = &config.security.controller else {
        return Ok(ClientSecurity::default());
    };
    let tls = match &controller.ssl {
        Some(ssl) => Some(
            ClientTls::new(ssl.tls.clone())
                .map_err(|e| format!("controller listener {}: {e}", controller.listener))?,
        ),
        None => None,
    };
    Ok(ClientSecurity {
        tls,
        sasl: controller
            .sasl
            .as_ref()
            .map(|(mechanism, module)| SaslSettings {
                mechanism: mechanism.clone(),
                options: module.options.clone(),
            }),
    })
}
