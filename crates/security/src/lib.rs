//! Kafka's security model, as pure logic the broker wires in: ACL bindings and Kafka's
//! `StandardAuthorizer` decision (`acl`, `authorizer`), and the server side of the SASL
//! mechanisms (`scram`, `plain`, with `jaas` for their `sasl.jaas.config` options).
//!
//! Nothing here touches sockets or the metadata log: the broker stores the ACLs and the
//! SCRAM credentials as metadata records and hands them to these types.
//!
//! Wiring still to do (issue 18), in the order that unblocks tests soonest:
//! 1. config: `listener.security.protocol.map` accepting SASL_PLAINTEXT/SSL/SASL_SSL,
//!    `sasl.enabled.mechanisms` (per listener: `listener.name.<l>.sasl.enabled.mechanisms`),
//!    `listener.name.<l>.<mechanism>.sasl.jaas.config` (`jaas::parse`), `super.users`,
//!    `authorizer.class.name`, `allow.everyone.if.no.acl.found`;
//! 2. the connection: before authentication only ApiVersions, SaslHandshake (v0 raw
//!    tokens, v1 framed) and SaslAuthenticate; anything else closes the connection
//!    (Kafka's "Unexpected Kafka request of type … during SASL handshake");
//!    `plain::authenticate`, `scram::ScramServer`, `oauthbearer::OAuthBearerServer`; the
//!    session principal (`User:<name>`) kept per connection; `connections.max.reauth.ms`;
//! 3. metadata records for SCRAM credentials and ACLs (Kafka's UserScramCredentialRecord
//!    and AccessControlEntryRecord/RemoveAccessControlEntryRecord), `kafka-storage.sh
//!    format --add-scram` (`scram::AddScram`), the Describe/AlterUserScramCredentials and
//!    Create/Describe/DeleteAcls APIs, `kafka-acls.sh`;
//! 4. `authorizer::Authorizer` consulted by each handler for Kafka's operations;
//! 5. TLS listeners with rustls (PEM keystores, mTLS, `principal::SslPrincipalMapper`).

pub mod acl;
pub mod authorizer;
pub mod jaas;
pub mod oauthbearer;
pub mod plain;
pub mod principal;
pub mod sasl;
pub mod sasl_client;
pub mod scram;
