//! SASL authentication of one connection on a SASL listener, as Kafka's
//! `SaslServerAuthenticator` runs it in front of the request handlers:
//!
//! - before authentication only ApiVersions (once, first), SaslHandshake and then the
//!   mechanism's tokens are accepted; any other request closes the connection
//!   ("Unexpected Kafka request of type … during SASL handshake");
//! - SaslHandshake v0 makes the next frames raw tokens; v1 makes them SaslAuthenticate
//!   requests. An unknown mechanism is answered UNSUPPORTED_SASL_MECHANISM with the
//!   enabled ones, a failed exchange SASL_AUTHENTICATION_FAILED with Kafka's message
//!   (raw tokens get no answer); the connection closes after either;
//! - once authenticated, requests go to the handlers with the principal `User:<name>`.
//!   With `connections.max.reauth.ms` (or an OAUTHBEARER token's expiry) the session has
//!   a lifetime, sent in SaslAuthenticate v1+; a client that supports it re-authenticates
//!   on the open connection with a new SaslHandshake (KIP-368), and a request after the
//!   session expired closes the connection.
//!
//! Nothing about the credentials is logged.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::request::{encode_response, parse_request, RequestFrame};
use rafka_protocol::ErrorCode;
use rafka_security::sasl::{SaslMechanism, SaslServer, SaslStep};

use crate::broker::Broker;

/// What the connection does with a frame.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// An authenticated request: the handlers take it.
    Pass,
    /// Write this answer (a whole response frame) and read on.
    Answer(Bytes),
    /// The exchange is complete: write this answer; requests now run as `principal`.
    Authenticated { answer: Bytes, principal: String },
    /// Write this answer, if any, and close the connection.
    Close(Option<Bytes>),
}

#[derive(Debug, Clone)]
struct Previous {
    mechanism: SaslMechanism,
    user: String,
}

#[derive(Debug)]
enum State {
    /// Waiting for ApiVersions or SaslHandshake (`versions_seen`: ApiVersions came).
    Handshake {
        versions_seen: bool,
        reauthenticating: Option<Previous>,
    },
    Authenticating {
        /// Boxed: a SCRAM exchange's state is large, the other states small.
        server: Box<SaslServer>,
        /// SaslHandshake v1: tokens come in SaslAuthenticate requests.
        framed: bool,
        reauthenticating: Option<Previous>,
    },
    Authenticated {
        previous: Previous,
        /// When the session ends (`None`: never).
        expires: Option<Instant>,
    },
    Failed,
}

/// The authentication state of one connection on a SASL listener.
#[derive(Debug)]
pub(crate) struct Authenticator {
    listener: String,
    state: State,
    /// When the last re-authentication began.
    last_reauthentication: Option<Instant>,
}

impl Authenticator {
    /// An authenticator for a connection on `listener`, if it is a SASL listener.
    pub(crate) fn for_listener(broker: &Broker, listener: &str) -> Option<Authenticator> {
        broker.config.security.sasl(listener)?;
        Some(Authenticator {
            listener: listener.to_string(),
            state: State::Handshake {
                versions_seen: false,
                reauthenticating: None,
            },
            last_reauthentication: None,
        })
    }

    pub(crate) fn on_frame(&mut self, broker: &Broker, frame: &Bytes) -> Verdict {
        let peer_api_key = (frame.len() >= 2).then(|| i16::from_be_bytes([frame[0], frame[1]]));
        match std::mem::replace(&mut self.state, State::Failed) {
            State::Authenticated { previous, expires } => {
                // Kafka's KafkaChannel.maybeBeginServerReauthentication: only a session
                // that expires is renewed, at most once a second; any other
                // SaslHandshake goes to the handlers (ILLEGAL_SASL_STATE).
                let now = Instant::now();
                let may_reauthenticate = expires.is_some()
                    && self
                        .last_reauthentication
                        .is_none_or(|last| now.duration_since(last) >= Duration::from_secs(1));
                if peer_api_key == Some(ApiKey::SaslHandshake as i16) && may_reauthenticate {
                    self.last_reauthentication = Some(now);
                    self.state = State::Handshake {
                        versions_seen: true,
                        reauthenticating: Some(previous),
                    };
                    return self.on_frame(broker, frame);
                }
                if expires.is_some_and(|at| Instant::now() >= at) {
                    // Kafka counts these (expired-connections-killed-count): a client that
                    // does not re-authenticate in time.
                    tracing::info!(
                        "closing a connection on {}: its SASL session expired",
                        self.listener
                    );
                    return Verdict::Close(None);
                }
                self.state = State::Authenticated { previous, expires };
                Verdict::Pass
            }
            State::Handshake {
                versions_seen,
                reauthenticating,
            } => self.handshake(broker, frame, versions_seen, reauthenticating),
            State::Authenticating {
                server,
                framed,
                reauthenticating,
            } => self.authenticate(broker, frame, server, framed, reauthenticating),
            State::Failed => Verdict::Close(None),
        }
    }

    fn handshake(
        &mut self,
        broker: &Broker,
        frame: &Bytes,
        versions_seen: bool,
        reauthenticating: Option<Previous>,
    ) -> Verdict {
        let Ok(request) = parse_request(frame.clone()) else {
            // Kafka would take it for a GSSAPI token, which rafka does not serve.
            return Verdict::Close(None);
        };
        match request.api_key {
            ApiKey::ApiVersions if !versions_seen && reauthenticating.is_none() => {
                // A version the broker does not serve is answered with the one to retry
                // with, and the retry is still welcome (Kafka's handleApiVersionsRequest).
                let served = crate::handlers::supported_versions(ApiKey::ApiVersions)
                    .is_some_and(|(min, max)| (min..=max).contains(&request.api_version()));
                self.state = State::Handshake {
                    versions_seen: served,
                    reauthenticating,
                };
                match crate::handlers::api_versions_answer(broker, &request) {
                    Ok(answer) => Verdict::Answer(answer),
                    Err(_) => Verdict::Close(None),
                }
            }
            ApiKey::SaslHandshake => self.begin(broker, &request, reauthenticating),
            other => {
                tracing::debug!(
                    "closing connection: Unexpected Kafka request of type {other:?} during SASL handshake."
                );
                Verdict::Close(None)
            }
        }
    }

    fn begin(
        &mut self,
        broker: &Broker,
        request: &RequestFrame,
        reauthenticating: Option<Previous>,
    ) -> Verdict {
        let version = request.api_version();
        if !(0..=1).contains(&version) {
            return Verdict::Close(None);
        }
        let Ok(body) = request.decode_body::<SaslHandshakeRequest>() else {
            return Verdict::Close(None);
        };
        let Some(listener) = broker.config.security.sasl(&self.listener) else {
            return Verdict::Close(None);
        };
        let enabled: Vec<StrBytes> =
            rafka_security::sasl::handshake_order(&listener.enabled_mechanisms)
                .into_iter()
                .map(StrBytes::from_string)
                .collect();
        let requested = body.mechanism.to_string();
        let answer = |code: i16| {
            encode_response(
                ApiKey::SaslHandshake,
                version,
                request.correlation_id(),
                &SaslHandshakeResponse::default()
                    .with_error_code(code)
                    .with_mechanisms(enabled.clone()),
            )
            .ok()
        };
        let mechanism = listener
            .enabled_mechanisms
            .contains(&requested)
            .then(|| SaslMechanism::from_name(&requested))
            .flatten();
        let (Some(mechanism), Some(module)) = (mechanism, listener.jaas.get(&requested)) else {
            tracing::debug!("SASL mechanism '{requested}' requested by client is not supported");
            return Verdict::Close(answer(ErrorCode::UnsupportedSaslMechanism.code()));
        };
        if let Some(previous) = &reauthenticating {
            if previous.mechanism != mechanism {
                // Kafka answers the handshake, then fails the next token.
                tracing::debug!(
                    "SASL mechanism '{requested}' requested by client is not supported for re-authentication of mechanism '{}'",
                    previous.mechanism.name()
                );
                return match answer(0) {
                    Some(a) => Verdict::Answer(a),
                    None => Verdict::Close(None),
                };
            }
        }
        let Ok(server) = SaslServer::new(mechanism, module) else {
            return Verdict::Close(None);
        };
        let Some(bytes) = answer(0) else {
            return Verdict::Close(None);
        };
        self.state = State::Authenticating {
            server: Box::new(server),
            framed: version >= 1,
            reauthenticating,
        };
        Verdict::Answer(bytes)
    }

    fn authenticate(
        &mut self,
        broker: &Broker,
        frame: &Bytes,
        mut server: Box<SaslServer>,
        framed: bool,
        reauthenticating: Option<Previous>,
    ) -> Verdict {
        let mechanism = server.mechanism();
        let now_ms = broker.clock.now_ms();
        if !framed {
            // SaslHandshake v0: raw tokens both ways; a failure just closes.
            return match server.evaluate(frame, broker, now_ms) {
                Ok(SaslStep::Continue(token)) => {
                    self.state = State::Authenticating {
                        server,
                        framed,
                        reauthenticating,
                    };
                    Verdict::Answer(raw_token(&token))
                }
                Ok(SaslStep::Complete {
                    response,
                    authenticated,
                }) => match self.complete(broker, mechanism, authenticated, reauthenticating) {
                    Ok((principal, _)) => Verdict::Authenticated {
                        answer: raw_token(&response),
                        principal,
                    },
                    Err(_) => Verdict::Close(None),
                },
                Err(_) => Verdict::Close(None),
            };
        }
        let Ok(request) = parse_request(frame.clone()) else {
            return Verdict::Close(None);
        };
        if request.api_key != ApiKey::SaslAuthenticate {
            tracing::debug!(
                "closing connection: Unexpected Kafka request of type {:?} during SASL authentication.",
                request.api_key
            );
            return Verdict::Close(None);
        }
        let version = request.api_version();
        if !(0..=2).contains(&version) {
            return Verdict::Close(None);
        }
        let Ok(body) = request.decode_body::<SaslAuthenticateRequest>() else {
            return Verdict::Close(None);
        };
        let respond = |response: SaslAuthenticateResponse| {
            encode_response(
                ApiKey::SaslAuthenticate,
                version,
                request.correlation_id(),
                &response,
            )
            .ok()
        };
        // Kafka answers a successful step with an empty (not null) message.
        let ok = SaslAuthenticateResponse::default;
        let failed = |message: String| {
            Verdict::Close(respond(
                SaslAuthenticateResponse::default()
                    .with_error_code(ErrorCode::SaslAuthenticationFailed.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            ))
        };
        let step = server.evaluate(&body.auth_bytes, broker, now_ms);
        match step {
            Ok(SaslStep::Continue(token)) => {
                self.state = State::Authenticating {
                    server,
                    framed,
                    reauthenticating,
                };
                match respond(ok().with_auth_bytes(token.into())) {
                    Some(answer) => Verdict::Answer(answer),
                    None => Verdict::Close(None),
                }
            }
            Ok(SaslStep::Complete {
                response,
                authenticated,
            }) => match self.complete(broker, mechanism, authenticated, reauthenticating) {
                Ok((principal, lifetime_ms)) => {
                    let answer = respond(
                        ok().with_auth_bytes(response.into())
                            .with_session_lifetime_ms(lifetime_ms),
                    );
                    match answer {
                        Some(answer) => Verdict::Authenticated { answer, principal },
                        None => Verdict::Close(None),
                    }
                }
                Err(message) => failed(message),
            },
            Err(failure) => {
                tracing::info!(
                    "Failed {} from {} with SASL mechanism {}",
                    if reauthenticating.is_some() {
                        "re-authentication"
                    } else {
                        "authentication"
                    },
                    self.listener,
                    mechanism.name()
                );
                failed(failure.client_message(mechanism, reauthenticating.is_some()))
            }
        }
    }

    /// Ends a successful exchange: the principal and the session's lifetime (ms, 0 for
    /// none), or why a re-authentication is refused.
    fn complete(
        &mut self,
        broker: &Broker,
        mechanism: SaslMechanism,
        authenticated: rafka_security::sasl::Authenticated,
        reauthenticating: Option<Previous>,
    ) -> Result<(String, i64), String> {
        if let Some(previous) = &reauthenticating {
            if previous.user != authenticated.user {
                return Err(format!(
                    "Cannot change principals during re-authentication from User.{}: User.{}",
                    previous.user, authenticated.user
                ));
            }
        }
        let max_reauth_ms = broker
            .config
            .security
            .sasl(&self.listener)
            .and_then(|l| l.connections_max_reauth_ms.get(mechanism.name()).copied())
            .unwrap_or(0);
        let now_ms = broker.clock.now_ms();
        // Kafka's calcCompletionTimesAndReturnSessionLifetimeMs.
        let credential_ms = authenticated
            .credential_expiry_ms
            .map(|expiry| (expiry - now_ms).max(0));
        let lifetime_ms = match (credential_ms, max_reauth_ms > 0) {
            (None, false) => None,
            (None, true) => Some(max_reauth_ms),
            (Some(credential), false) => Some(credential),
            (Some(credential), true) => Some(credential.min(max_reauth_ms)),
        };
        self.state = State::Authenticated {
            previous: Previous {
                mechanism,
                user: authenticated.user.clone(),
            },
            expires: lifetime_ms
                .map(|ms| Instant::now() + Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        };
        Ok((
            format!("User:{}", authenticated.user),
            lifetime_ms.unwrap_or(0),
        ))
    }
}

/// A raw SASL token as SaslHandshake v0 sends it: size, then the bytes.
fn raw_token(token: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + token.len());
    out.put_i32(token.len() as i32);
    out.put_slice(token);
    out.freeze()
}
