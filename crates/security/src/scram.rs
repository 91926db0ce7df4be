//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka's `ScramSaslServer`
//! runs them: the credential Kafka stores (salt, stored key, server key, iterations) and
//! the server's side of the exchange. The hashes and the key derivation are RustCrypto's.
//!
//! Exchange: client-first `n,,n=user,r=cnonce` → server-first `r=cnonce+snonce,s=salt,i=n`
//! → client-final `c=biws,r=…,p=proof` → server-final `v=signature`. Any failure is
//! Kafka's one message, so nothing tells a wrong password from an unknown user.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Kafka's SCRAM mechanisms, with their iteration bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        match name {
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            "SCRAM-SHA-512" => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    /// Kafka's wire code in `*UserScramCredentials` (`ScramMechanism.type()`).
    pub fn code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<ScramMechanism> {
        [ScramMechanism::Sha256, ScramMechanism::Sha512]
            .into_iter()
            .find(|m| m.code() == code)
    }

    /// Kafka accepts 4096 to 16384 iterations.
    pub const MIN_ITERATIONS: u32 = 4096;
    pub const MAX_ITERATIONS: u32 = 16384;

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramMechanism::Sha256 => run::<Hmac<Sha256>>(key, data),
            ScramMechanism::Sha512 => run::<Hmac<Sha512>>(key, data),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with this mechanism's HMAC (what a client sends
    /// in AlterUserScramCredentials, never the password).
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramMechanism::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// What the broker stores for a user and mechanism (`ScramCredential`; in the metadata
/// log, Kafka's `UserScramCredentialRecord`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: u32,
}

impl ScramCredential {
    /// The credential of `password` (`ScramFormatter.generateCredential`).
    pub fn generate(
        mechanism: ScramMechanism,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> ScramCredential {
        let salted = mechanism.salted_password(password, salt, iterations);
        ScramCredential::from_salted_password(mechanism, &salted, salt, iterations)
    }

    /// The credential of an already salted password (`saltedpassword=` of `--add-scram`).
    pub fn from_salted_password(
        mechanism: ScramMechanism,
        salted: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> ScramCredential {
        let client_key = mechanism.hmac(salted, b"Client Key");
        ScramCredential {
            salt: salt.to_vec(),
            stored_key: mechanism.hash(&client_key),
            server_key: mechanism.hmac(salted, b"Server Key"),
            iterations,
        }
    }

    /// A credential with a fresh random salt.
    pub fn with_random_salt(
        mechanism: ScramMechanism,
        password: &[u8],
        iterations: u32,
    ) -> Result<ScramCredential, getrandom::Error> {
        let salt = random_token()?;
        Ok(ScramCredential::generate(
            mechanism,
            password,
            salt.as_bytes(),
            iterations,
        ))
    }
}

/// One `--add-scram` argument of `kafka-storage.sh format`, as Kafka's `ScramParser`
/// reads it: `SCRAM-SHA-256=[name=alice,password=alice-secret]`, with optional
/// `iterations` (default 4096) and `salt` (base64), or `saltedpassword` with `salt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddScram {
    pub mechanism: ScramMechanism,
    pub name: String,
    pub credential: ScramCredential,
}

impl AddScram {
    pub fn parse(argument: &str) -> Result<AddScram, String> {
        let argument = argument.trim();
        let (mechanism, config) = argument
            .split_once('=')
            .ok_or_else(|| format!("Failed to find equals sign in SCRAM argument '{argument}'"))?;
        let mechanism = ScramMechanism::from_name(mechanism)
            .ok_or_else(|| format!("The add-scram mechanism {mechanism} is not supported."))?;
        let config = config
            .strip_prefix('[')
            .ok_or("Expected configuration string to start with [")?
            .strip_suffix(']')
            .ok_or("Expected configuration string to end with ]")?;
        let mut components = std::collections::BTreeMap::new();
        for component in config.split(',') {
            let (key, value) = component
                .split_once('=')
                .ok_or_else(|| format!("No equals sign found in SCRAM component: {component}"))?;
            let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(unquoted) if value.len() >= 2 => unquoted,
                _ => value,
            };
            components.insert(key.to_string(), value.to_string());
        }
        let name = components
            .remove("name")
            .ok_or("You must supply 'name' to add-scram")?;
        let salt = components
            .remove("salt")
            .map(|s| {
                BASE64
                    .decode(&s)
                    .map_err(|_| format!("Failed to decode given salt: {s}"))
            })
            .transpose()?;
        let iterations = match components.remove("iterations") {
            None => ScramMechanism::MIN_ITERATIONS,
            Some(i) => i
                .parse()
                .map_err(|_| format!("Failed to parse iterations count: {i}"))?,
        };
        let password = components.remove("password");
        let salted = components.remove("saltedpassword");
        if let Some(unknown) = (!components.is_empty())
            .then(|| components.keys().cloned().collect::<Vec<_>>().join(", "))
        {
            return Err(format!("Unknown SCRAM configurations: {unknown}"));
        }
        if iterations < ScramMechanism::MIN_ITERATIONS {
            return Err(format!(
                "The 'iterations' value must be >= {} for add-scram using {}",
                ScramMechanism::MIN_ITERATIONS,
                mechanism.name()
            ));
        }
        if iterations > ScramMechanism::MAX_ITERATIONS {
            return Err(format!(
                "The 'iterations' value must be <= {} for add-scram using {}",
                ScramMechanism::MAX_ITERATIONS,
                mechanism.name()
            ));
        }
        let salt = match salt {
            Some(salt) => salt,
            None if salted.is_some() => {
                return Err("You must supply 'salt' with 'saltedpassword' to add-scram".into())
            }
            None => random_token()
                .map_err(|e| format!("cannot make a salt: {e}"))?
                .into_bytes(),
        };
        let credential = match (password, salted) {
            (Some(password), _) => {
                ScramCredential::generate(mechanism, password.as_bytes(), &salt, iterations)
            }
            (None, Some(salted)) => {
                let salted = BASE64
                    .decode(&salted)
                    .map_err(|_| format!("Failed to decode given saltedPassword: {salted}"))?;
                ScramCredential::from_salted_password(mechanism, &salted, &salt, iterations)
            }
            (None, None) => {
                return Err(
                    "You must supply one of 'password' or 'saltedpassword' to add-scram".into(),
                )
            }
        };
        Ok(AddScram {
            mechanism,
            name,
            credential,
        })
    }
}

/// Why an exchange failed: Kafka answers every one with this message
/// (`SaslServerAuthenticator`), and logs nothing about the credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}")]
pub struct ScramError {
    pub mechanism: &'static str,
}

/// A fresh random salt, as Kafka's clients make one for AlterUserScramCredentials.
pub fn random_salt() -> Result<Vec<u8>, getrandom::Error> {
    let mut salt = vec![0u8; 32];
    getrandom::fill(&mut salt)?;
    Ok(salt)
}

/// A random printable token (for salts and server nonces).
fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(BASE64
        .encode(bytes)
        .replace(['+', '/'], "x")
        .trim_end_matches('=')
        .to_string())
}

#[derive(Debug)]
enum State {
    /// Waiting for the client-first message.
    First,
    /// Sent the server-first message.
    Final {
        user: String,
        credential: ScramCredential,
        gs2_header: String,
        nonce: String,
        /// `client-first-bare,server-first,` of the AuthMessage.
        auth_prefix: String,
    },
    Done {
        user: String,
    },
    Failed,
}

/// The server's side of one SCRAM exchange.
#[derive(Debug)]
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
    /// Fixed in tests; random otherwise.
    server_nonce: Option<String>,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> ScramServer {
        ScramServer {
            mechanism,
            state: State::First,
            server_nonce: None,
        }
    }

    /// The user, once the exchange has succeeded.
    pub fn authenticated_user(&self) -> Option<&str> {
        match &self.state {
            State::Done { user } => Some(user),
            _ => None,
        }
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Done { .. })
    }

    fn fail(&mut self) -> ScramError {
        self.state = State::Failed;
        ScramError {
            mechanism: self.mechanism.name(),
        }
    }

    /// Takes the client's next message and returns the server's answer; `credential`
    /// looks a user's credential up (asked once, at the first message).
    pub fn respond(
        &mut self,
        message: &[u8],
        credential: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Vec<u8>, ScramError> {
        let Ok(message) = std::str::from_utf8(message) else {
            return Err(self.fail());
        };
        match std::mem::replace(&mut self.state, State::Failed) {
            State::First => self.client_first(message, credential),
            State::Final {
                user,
                credential,
                gs2_header,
                nonce,
                auth_prefix,
            } => self.client_final(message, user, credential, &gs2_header, &nonce, auth_prefix),
            State::Done { .. } | State::Failed => Err(self.fail()),
        }
    }

    fn client_first(
        &mut self,
        message: &str,
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<Vec<u8>, ScramError> {
        // gs2-header: no channel binding ("n"), an optional authzid.
        let Some(rest) = message.strip_prefix("n,") else {
            return Err(self.fail());
        };
        let Some((authzid, bare)) = rest.split_once(',') else {
            return Err(self.fail());
        };
        let attributes = attributes(bare);
        let (Some(name), Some(client_nonce)) = (attributes.get("n"), attributes.get("r")) else {
            return Err(self.fail());
        };
        let Some(user) = sasl_name(name) else {
            return Err(self.fail());
        };
        if let Some(id) = authzid.strip_prefix("a=") {
            if sasl_name(id).as_deref() != Some(user.as_str()) {
                return Err(self.fail());
            }
        } else if !authzid.is_empty() {
            return Err(self.fail());
        }
        let Some(credential) = lookup(&user) else {
            return Err(self.fail());
        };
        let server_nonce = match self.server_nonce.clone() {
            Some(nonce) => nonce,
            None => random_token().map_err(|_| self.fail())?,
        };
        let nonce = format!("{client_nonce}{server_nonce}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        self.state = State::Final {
            user,
            gs2_header: format!("n,{authzid},"),
            nonce,
            auth_prefix: format!("{bare},{server_first},"),
            credential,
        };
        Ok(server_first.into_bytes())
    }

    fn client_final(
        &mut self,
        message: &str,
        user: String,
        credential: ScramCredential,
        gs2_header: &str,
        nonce: &str,
        auth_prefix: String,
    ) -> Result<Vec<u8>, ScramError> {
        let Some((without_proof, proof)) = message.rsplit_once(",p=") else {
            return Err(self.fail());
        };
        let attributes = attributes(without_proof);
        let binding_ok = attributes.get("c").map(String::as_str)
            == Some(BASE64.encode(gs2_header.as_bytes()).as_str());
        if !binding_ok || attributes.get("r").map(String::as_str) != Some(nonce) {
            return Err(self.fail());
        }
        let Ok(proof) = BASE64.decode(proof) else {
            return Err(self.fail());
        };
        let auth_message = format!("{auth_prefix}{without_proof}");
        let m = self.mechanism;
        let client_signature = m.hmac(&credential.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(self.fail());
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        if !bool::from(m.hash(&client_key).ct_eq(&credential.stored_key)) {
            return Err(self.fail());
        }
        let server_signature = m.hmac(&credential.server_key, auth_message.as_bytes());
        self.state = State::Done { user };
        Ok(format!("v={}", BASE64.encode(server_signature)).into_bytes())
    }
}

/// `k=v` attributes of a SCRAM message.
fn attributes(message: &str) -> std::collections::HashMap<&str, String> {
    message
        .split(',')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k, v.to_string()))
        .collect()
}

/// A SCRAM `saslname`: `=2C` is a comma and `=3D` an equals sign; any other `=` is invalid.
fn sasl_name(name: &str) -> Option<String> {
    let decoded = name.replace("=2C", ",").replace("=3D", "=");
    let leftover = name.replace("=2C", "").replace("=3D", "");
    (!leftover.contains('=')).then_some(decoded)
}

/// The client's side of one SCRAM exchange (Kafka's `ScramSaslClient`), for the
/// broker's own connections to other brokers and for the tools.
#[derive(Debug)]
pub struct ScramClient {
    mechanism: ScramMechanism,
    user: String,
    password: String,
    client_nonce: String,
    state: ClientState,
}

#[derive(Debug)]
enum ClientState {
    /// The client-first message is still to send.
    Initial,
    /// Sent the client-first message; waiting for the server-first one.
    SentFirst,
    /// Sent the client-final message; the server's signature it must answer with.
    SentFinal {
        server_signature: Vec<u8>,
    },
    Complete,
    Failed,
}

impl ScramClient {
    pub fn new(mechanism: ScramMechanism, user: &str, password: &str) -> Result<Self, String> {
        let client_nonce = random_token().map_err(|e| format!("cannot make a nonce: {e}"))?;
        Ok(ScramClient {
            mechanism,
            user: user.replace('=', "=3D").replace(',', "=2C"),
            password: password.to_string(),
            client_nonce,
            state: ClientState::Initial,
        })
    }

    pub fn is_complete(&self) -> bool {
        matches!(self.state, ClientState::Complete)
    }

    fn first_bare(&self) -> String {
        format!("n={},r={}", self.user, self.client_nonce)
    }

    /// The next message to send after `challenge` (empty for the first), or why the
    /// server's message is refused.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, String> {
        match std::mem::replace(&mut self.state, ClientState::Failed) {
            ClientState::Initial => {
                self.state = ClientState::SentFirst;
                Ok(format!("n,,{}", self.first_bare()).into_bytes())
            }
            ClientState::SentFirst => {
                let server_first = std::str::from_utf8(challenge)
                    .map_err(|_| "Invalid server first message".to_string())?;
                let fields = attributes(server_first);
                let (Some(nonce), Some(salt), Some(iterations)) =
                    (fields.get("r"), fields.get("s"), fields.get("i"))
                else {
                    return Err(format!("Invalid server first message: {server_first}"));
                };
                if !nonce.starts_with(&self.client_nonce) {
                    return Err("Invalid server nonce: does not start with client nonce".into());
                }
                let iterations: u32 = iterations
                    .parse()
                    .map_err(|_| format!("Invalid server first message: {server_first}"))?;
                if iterations < ScramMechanism::MIN_ITERATIONS {
                    return Err(format!(
                        "Requested iterations {iterations} is less than the minimum {} for {}",
                        ScramMechanism::MIN_ITERATIONS,
                        self.mechanism.name()
                    ));
                }
                let salt = BASE64
                    .decode(salt)
                    .map_err(|_| "Invalid server first message: salt".to_string())?;
                let m = self.mechanism;
                let salted = m.salted_password(self.password.as_bytes(), &salt, iterations);
                let client_key = m.hmac(&salted, b"Client Key");
                let stored_key = m.hash(&client_key);
                let without_proof = format!("c=biws,r={nonce}");
                let auth_message = format!("{},{server_first},{without_proof}", self.first_bare());
                let signature = m.hmac(&stored_key, auth_message.as_bytes());
                let proof: Vec<u8> = client_key
                    .iter()
                    .zip(&signature)
                    .map(|(k, s)| k ^ s)
                    .collect();
                let server_key = m.hmac(&salted, b"Server Key");
                self.state = ClientState::SentFinal {
                    server_signature: m.hmac(&server_key, auth_message.as_bytes()),
                };
                Ok(format!("{without_proof},p={}", BASE64.encode(proof)).into_bytes())
            }
            ClientState::SentFinal { server_signature } => {
                let text = String::from_utf8_lossy(challenge);
                if let Some(error) = text.strip_prefix("e=") {
                    return Err(format!(
                        "Sasl authentication using {} failed with error: {error}",
                        self.mechanism.name()
                    ));
                }
                let valid = text
                    .strip_prefix("v=")
                    .and_then(|v| BASE64.decode(v).ok())
                    .is_some_and(|v| bool::from(v.ct_eq(&server_signature)));
                if !valid {
                    return Err("Invalid server signature in server final message".into());
                }
                self.state = ClientState::Complete;
                Ok(Vec::new())
            }
            ClientState::Complete | ClientState::Failed => {
                Err("Unexpected challenge in Sasl client state COMPLETE".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_and_the_server_agree_and_a_wrong_password_fails() {
        for mechanism in [ScramMechanism::Sha256, ScramMechanism::Sha512] {
            let credential = ScramCredential::generate(mechanism, b"alice-secret", b"salt", 4096);
            let run = |password: &str| {
                let mut client = ScramClient::new(mechanism, "alice", password).unwrap();
                let mut server = ScramServer::new(mechanism);
                let first = client.respond(&[]).unwrap();
                let challenge = server
                    .respond(&first, |u| (u == "alice").then(|| credential.clone()))
                    .unwrap();
                let last = client.respond(&challenge).unwrap();
                let outcome = server.respond(&last, |_| None);
                (client, server, outcome)
            };
            let (mut client, server, outcome) = run("alice-secret");
            client.respond(&outcome.unwrap()).unwrap();
            assert!(client.is_complete());
            assert_eq!(server.authenticated_user(), Some("alice"));
            let (_, server, outcome) = run("wrong");
            assert!(outcome.is_err());
            assert!(!server.is_complete());
        }
    }

    /// RFC 7677's SCRAM-SHA-256 example: user "user", password "pencil".
    #[test]
    fn rfc_7677_exchange_verifies() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential = ScramCredential::generate(ScramMechanism::Sha256, b"pencil", &salt, 4096);
        let mut server = ScramServer::new(ScramMechanism::Sha256);
        server.server_nonce = Some("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".to_string());
        let first = server
            .respond(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", |u| {
                (u == "user").then(|| credential.clone())
            })
            .unwrap();
        assert_eq!(
            String::from_utf8(first).unwrap(),
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let last = server
            .respond(
                b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                |_| None,
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(last).unwrap(),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert_eq!(server.authenticated_user(), Some("user"));
    }

    #[test]
    fn a_wrong_proof_an_unknown_user_and_a_bad_message_fail_alike() {
        let credential =
            ScramCredential::generate(ScramMechanism::Sha512, b"secret", b"salt", 4096);
        let message = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512";
        let mut server = ScramServer::new(ScramMechanism::Sha512);
        let err = server.respond(b"n,,n=nobody,r=abc", |_| None).unwrap_err();
        assert_eq!(err.to_string(), message);
        let mut server = ScramServer::new(ScramMechanism::Sha512);
        let first = server
            .respond(b"n,,n=alice,r=abc", |_| Some(credential.clone()))
            .unwrap();
        let nonce = String::from_utf8(first).unwrap();
        let nonce = nonce
            .split(',')
            .next()
            .unwrap()
            .trim_start_matches("r=")
            .to_string();
        let forged = format!("c=biws,r={nonce},p={}", BASE64.encode([0u8; 64]));
        assert_eq!(
            server
                .respond(forged.as_bytes(), |_| None)
                .unwrap_err()
                .to_string(),
            message
        );
        assert!(!server.is_complete());
        let mut server = ScramServer::new(ScramMechanism::Sha256);
        assert!(
            server.respond(b"p=tls-unique,,n=a,r=b", |_| None).is_err(),
            "channel binding"
        );
        let mut server = ScramServer::new(ScramMechanism::Sha256);
        assert!(
            server
                .respond(b"n,a=bob,n=alice,r=b", |_| Some(credential.clone()))
                .is_err(),
            "another authzid"
        );
    }

    #[test]
    fn add_scram_arguments_parse_as_kafkas_storage_tool_reads_them() {
        let added = AddScram::parse(
            r#"SCRAM-SHA-256=[name=alice,iterations=8192,salt="c2FsdA==",password=alice-secret]"#,
        )
        .unwrap();
        assert_eq!(
            (added.name.as_str(), added.mechanism),
            ("alice", ScramMechanism::Sha256)
        );
        assert_eq!(
            added.credential,
            ScramCredential::generate(ScramMechanism::Sha256, b"alice-secret", b"salt", 8192)
        );
        let random = AddScram::parse("SCRAM-SHA-512=[name=bob,password=x]").unwrap();
        assert_eq!(random.credential.iterations, 4096);
        assert!(!random.credential.salt.is_empty());
        let err = |a: &str| AddScram::parse(a).unwrap_err();
        assert_eq!(
            err("SCRAM-MD5=[name=a,password=b]"),
            "The add-scram mechanism SCRAM-MD5 is not supported."
        );
        assert_eq!(
            err("SCRAM-SHA-256=[password=b]"),
            "You must supply 'name' to add-scram"
        );
        assert_eq!(
            err("SCRAM-SHA-256=[name=a]"),
            "You must supply one of 'password' or 'saltedpassword' to add-scram"
        );
        assert_eq!(
            err("SCRAM-SHA-256=[name=a,password=b,iterations=10]"),
            "The 'iterations' value must be >= 4096 for add-scram using SCRAM-SHA-256"
        );
        assert_eq!(
            err("SCRAM-SHA-256=[name=a,password=b,color=red]"),
            "Unknown SCRAM configurations: color"
        );
        assert_eq!(
            err("SCRAM-SHA-256=name=a"),
            "Expected configuration string to start with ["
        );
    }

    #[test]
    fn sasl_names_decode_commas_and_equals() {
        assert_eq!(sasl_name("a=2Cb=3Dc").as_deref(), Some("a,b=c"));
        assert_eq!(sasl_name("bad=name"), None);
        assert_eq!(
            ScramMechanism::from_name("SCRAM-SHA-512"),
            Some(ScramMechanism::Sha512)
        );
        assert_eq!(ScramMechanism::from_code(1), Some(ScramMechanism::Sha256));
    }
}
