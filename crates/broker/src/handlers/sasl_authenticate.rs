//! SaslAuthenticate reaching the handlers (a PLAINTEXT listener, or after
//! authentication): Kafka's `KafkaApis` answers ILLEGAL_SASL_STATE with its message.

use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::ErrorCode;

pub(super) fn handle(_request: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    SaslAuthenticateResponse::default()
        .with_error_code(ErrorCode::IllegalSaslState.code())
        .with_error_message(Some(StrBytes::from_static_str(
            "SaslAuthenticate request received after successful authentication",
        )))
}
