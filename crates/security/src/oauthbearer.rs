//! SASL/OAUTHBEARER (RFC 7628) with Kafka's default server handler for unsecured JWS
//! tokens (`OAuthBearerUnsecuredValidatorCallbackHandler`): a token `header.claims.` with
//! `"alg":"none"`, an empty signature, a string principal claim (`sub`), a required
//! `exp` and an optional `iat` checked against the clock with the allowed skew, and the
//! required scope. A token that fails gets `{"status":"invalid_token"}` (or
//! `insufficient_scope`); the client's `%x01` after it ends the exchange with that text
//! as the error, as Kafka's `OAuthBearerSaslServer` does.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{Map, Value};

/// The JAAS options of the unsecured validator, with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsecuredValidator {
    /// `unsecuredValidatorPrincipalClaimName` (default `sub`).
    pub principal_claim: String,
    /// `unsecuredValidatorScopeClaimName` (default `scope`).
    pub scope_claim: String,
    /// `unsecuredValidatorRequiredScope`: space-separated.
    pub required_scope: Vec<String>,
    /// `unsecuredValidatorAllowableClockSkewMs` (default 0).
    pub allowable_clock_skew_ms: i64,
}

impl Default for UnsecuredValidator {
    fn default() -> Self {
        UnsecuredValidator {
            principal_claim: "sub".to_string(),
            scope_claim: "scope".to_string(),
            required_scope: Vec::new(),
            allowable_clock_skew_ms: 0,
        }
    }
}

/// A token that passed: who it names and until when (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidToken {
    pub principal: String,
    pub lifetime_ms: i64,
    pub scope: BTreeSet<String>,
}

/// Why a token failed: the reason (logged) and the scope missing, if that was it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidToken {
    pub reason: String,
    pub failure_scope: Option<String>,
}

impl UnsecuredValidator {
    /// Reads the options of the listener's `OAuthBearerLoginModule` entry.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut validator = UnsecuredValidator::default();
        if let Some(name) = options.get("unsecuredValidatorPrincipalClaimName") {
            validator.principal_claim = name.trim().to_string();
        }
        if let Some(name) = options.get("unsecuredValidatorScopeClaimName") {
            validator.scope_claim = name.trim().to_string();
        }
        if let Some(scope) = options.get("unsecuredValidatorRequiredScope") {
            validator.required_scope = scope.split_whitespace().map(str::to_owned).collect();
        }
        if let Some(skew) = options.get("unsecuredValidatorAllowableClockSkewMs") {
            validator.allowable_clock_skew_ms = skew
                .trim()
                .parse()
                .ok()
                .filter(|s: &i64| *s >= 0)
                .ok_or_else(|| {
                    format!("Allowable clock skew must be a non-negative number: {skew}")
                })?;
        }
        Ok(validator)
    }

    /// Validates an unsecured JWS at `now_ms`.
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<ValidToken, InvalidToken> {
        let invalid = |reason: String| InvalidToken {
            reason,
            failure_scope: None,
        };
        let splits: Vec<&str> = token.split('.').collect();
        if splits.len() != 3 {
            return Err(invalid(
                "Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values"
                    .to_string(),
            ));
        }
        let header = json_object(splits[0]).map_err(invalid)?;
        let claims = json_object(splits[1]).map_err(invalid)?;
        if header.get("alg").and_then(Value::as_str) != Some("none") {
            return Err(invalid(
                "Unsecured JWS must have 'none' for an algorithm".to_string(),
            ));
        }
        if !splits[2].is_empty() {
            return Err(invalid(
                "Unsecured JWS must not contain a digital signature".to_string(),
            ));
        }
        let principal = match claims.get(&self.principal_claim) {
            Some(Value::String(p)) if !p.trim().is_empty() => p.clone(),
            Some(Value::String(_)) | None => {
                return Err(invalid(format!(
                    "Required claim missing: {}",
                    self.principal_claim
                )))
            }
            Some(_) => {
                return Err(invalid(format!(
                    "The {} claim had the incorrect type: String",
                    self.principal_claim
                )))
            }
        };
        let number = |name: &str| match claims.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(invalid(format!(
                "The {name} claim had the incorrect type: Number"
            ))),
        };
        let skew = self.allowable_clock_skew_ms;
        let issued_at = number("iat")?;
        if let Some(iat) = issued_at {
            if 1000.0 * iat > (now_ms + skew) as f64 {
                return Err(invalid(format!(
                    "The Issued At value ({iat:.6} seconds) was after the indicated time ({now_ms} ms) plus allowable clock skew ({skew} ms)"
                )));
            }
        }
        let Some(exp) = number("exp")? else {
            return Err(invalid("Required claim missing: exp".to_string()));
        };
        if (now_ms - skew) as f64 >= 1000.0 * exp {
            return Err(invalid(format!(
                "The indicated time ({now_ms} ms) minus allowable clock skew ({skew} ms) was on or after the Expiration Time value ({exp:.6} seconds)"
            )));
        }
        if let Some(iat) = issued_at {
            if exp <= iat {
                return Err(invalid(format!(
                    "The Expiration Time time ({exp:.6} seconds) was not after the Issued At time ({iat:.6} seconds)"
                )));
            }
        }
        let scope: BTreeSet<String> = match claims.get(&self.scope_claim) {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => BTreeSet::new(),
        };
        if let Some(missing) = self.required_scope.iter().find(|s| !scope.contains(*s)) {
            return Err(InvalidToken {
                reason: format!(
                    "The provided scope ({scope:?}) was missing a required scope ({missing}).  All required scope elements: {:?}",
                    self.required_scope
                ),
                failure_scope: Some(format!("[{}]", self.required_scope.join(", "))),
            });
        }
        Ok(ValidToken {
            principal,
            lifetime_ms: (exp * 1000.0) as i64,
            scope,
        })
    }
}

fn json_object(split: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(split.trim_end_matches('='))
        .or_else(|_| STANDARD_NO_PAD.decode(split.trim_end_matches('=')))
        .map_err(|_| "malformed Base64 URL encoded value".to_string())?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err("malformed JSON".to_string()),
    }
}

/// The client's first message (`OAuthBearerClientInitialResponse`):
/// `n,[a=authzid],%x01auth=Bearer <token>%x01[key=value%x01]…%x01`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialResponse {
    pub authorization_id: String,
    pub token: String,
    pub extensions: BTreeMap<String, String>,
}

/// Why a client message is refused (Kafka's `SaslException` texts; the client sees
/// the generic authentication failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OAuthError(pub String);

impl InitialResponse {
    pub fn parse(message: &[u8]) -> Result<InitialResponse, OAuthError> {
        let invalid = || OAuthError("Invalid OAUTHBEARER client first message".to_string());
        let text = std::str::from_utf8(message).map_err(|_| invalid())?;
        let rest = text.strip_prefix("n,").ok_or_else(invalid)?;
        let (authzid, rest) = rest.split_once(',').ok_or_else(invalid)?;
        let authorization_id = match authzid.strip_prefix("a=") {
            Some(id) => id.replace("=2C", ",").replace("=3D", "="),
            None if authzid.is_empty() => String::new(),
            None => return Err(invalid()),
        };
        let pairs = rest
            .strip_prefix('\u{1}')
            .and_then(|r| r.strip_suffix("\u{1}\u{1}"))
            .ok_or_else(invalid)?;
        let mut token = None;
        let mut extensions = BTreeMap::new();
        for pair in pairs.split('\u{1}') {
            let (key, value) = pair.split_once('=').ok_or_else(invalid)?;
            if key == "auth" {
                let bearer = value.strip_prefix("Bearer ").map(str::trim_start);
                let valid = bearer.filter(|t| {
                    !t.is_empty()
                        && t.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_~+/.=".contains(c))
                });
                token = Some(valid.ok_or_else(|| {
                    OAuthError(
                        "Invalid OAUTHBEARER client first message: invalid 'auth' format"
                            .to_string(),
                    )
                })?);
            } else if key.chars().all(|c| c.is_ascii_alphabetic()) && !key.is_empty() {
                extensions.insert(key.to_string(), value.to_string());
            } else {
                return Err(OAuthError(format!("Extension name {key} is invalid")));
            }
        }
        let token = token.ok_or_else(|| {
            OAuthError("Invalid OAUTHBEARER client first message: 'auth' not specified".to_string())
        })?;
        Ok(InitialResponse {
            authorization_id,
            token: token.to_string(),
            extensions,
        })
    }
}

/// The server's side of one OAUTHBEARER exchange.
#[derive(Debug, Default)]
pub struct OAuthBearerServer {
    /// The JSON error sent, waiting for the client's `%x01`.
    error_sent: Option<String>,
    token: Option<ValidToken>,
}

/// How a step ended: the bytes to send, or the exchange failed with this message.
pub type Step = Result<Vec<u8>, OAuthError>;

impl OAuthBearerServer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The validated token, once the exchange succeeded.
    pub fn token(&self) -> Option<&ValidToken> {
        self.token.as_ref()
    }

    pub fn respond(&mut self, message: &[u8], validator: &UnsecuredValidator, now_ms: i64) -> Step {
        if message == [1u8] {
            if let Some(error) = self.error_sent.take() {
                return Err(OAuthError(error));
            }
        }
        self.error_sent = None;
        let response = InitialResponse::parse(message)?;
        match validator.validate(&response.token, now_ms) {
            Err(invalid) => {
                let error = match &invalid.failure_scope {
                    Some(scope) => {
                        format!("{{\"status\":\"insufficient_scope\", \"scope\":\"{scope}\"}}")
                    }
                    None => "{\"status\":\"invalid_token\"}".to_string(),
                };
                self.error_sent = Some(error.clone());
                Ok(error.into_bytes())
            }
            Ok(token) => {
                if !response.authorization_id.is_empty()
                    && response.authorization_id != token.principal
                {
                    return Err(OAuthError(format!(
                        "Authentication failed: Client requested an authorization id ({}) that is different from the token's principal name ({})",
                        response.authorization_id, token.principal
                    )));
                }
                self.token = Some(token);
                Ok(Vec::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jws(claims: &str) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    fn first(token: &str) -> Vec<u8> {
        format!("n,,\u{1}auth=Bearer {token}\u{1}\u{1}").into_bytes()
    }

    const NOW_MS: i64 = 1_700_000_000_000;

    #[test]
    fn a_valid_unsecured_token_authenticates_its_subject() {
        let token =
            jws(r#"{"sub":"alice","iat":1699999990,"exp":1700003600,"scope":"read write"}"#);
        let mut server = OAuthBearerServer::new();
        let answer = server
            .respond(&first(&token), &UnsecuredValidator::default(), NOW_MS)
            .unwrap();
        assert!(answer.is_empty());
        let valid = server.token().unwrap();
        assert_eq!(valid.principal, "alice");
        assert_eq!(valid.lifetime_ms, 1_700_003_600_000);
        assert!(valid.scope.contains("write"));
    }

    #[test]
    fn an_expired_token_gets_invalid_token_then_fails_with_it() {
        let token = jws(r#"{"sub":"alice","exp":1690000000}"#);
        let mut server = OAuthBearerServer::new();
        let v = UnsecuredValidator::default();
        let answer = server.respond(&first(&token), &v, NOW_MS).unwrap();
        assert_eq!(answer, br#"{"status":"invalid_token"}"#);
        let err = server.respond(&[1], &v, NOW_MS).unwrap_err();
        assert_eq!(err.0, r#"{"status":"invalid_token"}"#);
        assert!(server.token().is_none());
        let reason = v.validate(&token, NOW_MS).unwrap_err().reason;
        assert!(
            reason.contains("was on or after the Expiration Time value"),
            "{reason}"
        );
    }

    #[test]
    fn claims_algorithm_signature_scope_and_skew_are_checked() {
        let v = UnsecuredValidator::from_options(
            &[
                (
                    "unsecuredValidatorRequiredScope".to_string(),
                    "admin".to_string(),
                ),
                (
                    "unsecuredValidatorAllowableClockSkewMs".to_string(),
                    "5000".to_string(),
                ),
            ]
            .into_iter()
            .collect(),
        )
        .unwrap();
        let reason = |t: &str| v.validate(t, NOW_MS).unwrap_err().reason;
        assert_eq!(
            reason(&jws(r#"{"exp":1800000000}"#)),
            "Required claim missing: sub"
        );
        assert_eq!(
            reason(&jws(r#"{"sub":"a"}"#)),
            "Required claim missing: exp"
        );
        assert!(reason("a.b").contains("3 dot-separated"));
        let signed = format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"a","exp":1800000000}"#)
        );
        assert!(reason(&signed).contains("digital signature"));
        let hs256 = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"a","exp":1800000000}"#)
        );
        assert!(reason(&hs256).contains("'none'"));
        let missing_scope = v
            .validate(
                &jws(r#"{"sub":"a","exp":1800000000,"scope":["read"]}"#),
                NOW_MS,
            )
            .unwrap_err();
        assert_eq!(missing_scope.failure_scope.as_deref(), Some("[admin]"));
        // Within the skew, a just-expired token still passes.
        assert!(v
            .validate(
                &jws(r#"{"sub":"a","exp":1699999998,"scope":"admin"}"#),
                NOW_MS
            )
            .is_ok());
    }

    #[test]
    fn malformed_first_messages_are_refused() {
        let err = |m: &[u8]| InitialResponse::parse(m).unwrap_err().0;
        assert_eq!(
            err(b"y,,\x01auth=Bearer x\x01\x01"),
            "Invalid OAUTHBEARER client first message"
        );
        assert_eq!(
            err(b"n,,\x01k=v\x01\x01"),
            "Invalid OAUTHBEARER client first message: 'auth' not specified"
        );
        assert_eq!(
            err(b"n,,\x01auth=Basic x\x01\x01"),
            "Invalid OAUTHBEARER client first message: invalid 'auth' format"
        );
        let parsed =
            InitialResponse::parse(b"n,a=bob,\x01auth=Bearer t.k.\x01traceId=42\x01\x01").unwrap();
        assert_eq!(
            (parsed.authorization_id.as_str(), parsed.token.as_str()),
            ("bob", "t.k.")
        );
        assert_eq!(parsed.extensions["traceId"], "42");
    }
}
