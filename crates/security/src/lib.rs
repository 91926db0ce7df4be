//! Kafka's security model, as pure logic the broker wires in: ACL bindings and Kafka's
//! `StandardAuthorizer` decision (`acl`, `authorizer`), and the server side of the SASL
//! mechanisms (`scram`, `plain`, with `jaas` for their `sasl.jaas.config` options).
//!
//! Nothing here touches sockets or the metadata log: the broker stores the ACLs and the
//! SCRAM credentials as metadata records and hands them to these types.

pub mod acl;
pub mod authorizer;
pub mod jaas;
pub mod oauthbearer;
pub mod plain;
pub mod principal;
pub mod scram;
