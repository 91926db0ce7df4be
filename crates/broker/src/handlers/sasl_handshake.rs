//! SaslHandshake reaching the handlers: on a PLAINTEXT listener, or on an authenticated
//! SASL connection whose client cannot re-authenticate. Kafka's `KafkaApis` answers
//! ILLEGAL_SASL_STATE (a SASL listener's handshakes are the authenticator's, in
//! `crate::authentication`).

use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};
use rafka_protocol::ErrorCode;

pub(super) fn handle(_request: SaslHandshakeRequest) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default().with_error_code(ErrorCode::IllegalSaslState.code())
}
