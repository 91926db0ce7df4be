//! TLS for listeners and clients on rustls (the `ring` provider): Kafka's `ssl.*` settings
//! turned into rustls' server and client configurations, and a client certificate's
//! subject as Kafka prints it (`X500Principal.getName()`, RFC 2253), from which
//! `principal::SslPrincipalMapper` makes the principal.
//!
//! Only PEM stores are read (`ssl.keystore.type=PEM`, `ssl.truststore.type=PEM`): a key
//! and its certificate chain from one file (`ssl.keystore.location`) or inline
//! (`ssl.keystore.certificate.chain` / `ssl.keystore.key`), the key optionally an
//! encrypted PKCS#8 one (`ssl.key.password`); trusted certificates from a file
//! (`ssl.truststore.location`) or inline (`ssl.truststore.certificates`).
//!
//! Pure logic over bytes and files: the broker and the client own the sockets.

/// A LIST setting's items as Kafka's `ConfigDef` reads them (`ssl.enabled.protocols`,
/// `ssl.cipher.suites`, and the broker config's other lists: `listeners`,
/// `process.roles`, …): comma-separated, trimmed, empty items dropped.
pub fn list_setting(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Kafka's `ssl.*` keys that clients and brokers share (`SslConfigs`): the broker's
/// listener configuration adds its own (`ssl.client.auth`, `ssl.principal.mapping.rules`),
/// and the librdkafka mapping reads these from a client's settings.
pub const KAFKA_SSL_KEYS: &[&str] = &[
    "ssl.keystore.type",
    "ssl.keystore.location",
    "ssl.keystore.password",
    "ssl.keystore.certificate.chain",
    "ssl.keystore.key",
    "ssl.key.password",
    "ssl.truststore.type",
    "ssl.truststore.location",
    "ssl.truststore.password",
    "ssl.truststore.certificates",
    "ssl.enabled.protocols",
    "ssl.protocol",
    "ssl.cipher.suites",
    "ssl.endpoint.identification.algorithm",
    // Java's provider choices: accepted, with no meaning for rustls or OpenSSL.
    "ssl.keymanager.algorithm",
    "ssl.trustmanager.algorithm",
    "ssl.secure.random.implementation",
    "ssl.provider",
];

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

/// Why TLS settings cannot be used; the text names the key at fault, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

fn error(message: impl Into<String>) -> TlsError {
    TlsError(message.into())
}

/// `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    #[default]
    None,
    Requested,
    Required,
}

impl ClientAuth {
    pub fn from_name(name: &str) -> Option<ClientAuth> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" => Some(ClientAuth::None),
            "requested" => Some(ClientAuth::Requested),
            "required" => Some(ClientAuth::Required),
            _ => None,
        }
    }
}

/// PEM text, from a file or given inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PemSource {
    /// `*.location`: read at start-up, and again when the file changes.
    File(PathBuf),
    /// `ssl.keystore.certificate.chain`, `ssl.keystore.key`, `ssl.truststore.certificates`.
    Inline(String),
}

impl PemSource {
    fn read(&self, key: &str) -> Result<String, TlsError> {
        match self {
            PemSource::Inline(text) => Ok(text.clone()),
            PemSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| error(format!("{key}: cannot read {}: {e}", path.display()))),
        }
    }
}

/// Where the private key and its certificate chain come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStore {
    /// `ssl.keystore.location`: one PEM file with the key and the chain.
    File(PathBuf),
    /// `ssl.keystore.certificate.chain` and `ssl.keystore.key`.
    Inline {
        certificate_chain: String,
        key: String,
    },
}

/// A listener's or a client's TLS settings, as read from Kafka's `ssl.*` keys.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub keystore: Option<KeyStore>,
    /// `ssl.key.password`: the key is an encrypted PKCS#8 one.
    pub key_password: Option<String>,
    pub truststore: Option<PemSource>,
    pub client_auth: ClientAuth,
    /// `ssl.enabled.protocols`, checked: `TLSv1.2`, `TLSv1.3`.
    pub enabled_protocols: Vec<String>,
    /// `ssl.cipher.suites` in Kafka's (Java's, IANA's) names; empty: all of rustls' suites.
    pub cipher_suites: Vec<String>,
    /// `ssl.endpoint.identification.algorithm=https` (clients): check the server's name.
    pub endpoint_identification: bool,
}

impl std::fmt::Debug for TlsSettings {
    // The key may be inline and the password is a secret: neither is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings")
            .field(
                "keystore",
                &self.keystore.as_ref().map(|k| match k {
                    KeyStore::File(path) => path.display().to_string(),
                    KeyStore::Inline { .. } => "(inline)".to_string(),
                }),
            )
            .field("key_password", &self.key_password.as_ref().map(|_| "(set)"))
            .field("truststore", &self.truststore)
            .field("client_auth", &self.client_auth)
            .field("enabled_protocols", &self.enabled_protocols)
            .field("cipher_suites", &self.cipher_suites)
            .field("endpoint_identification", &self.endpoint_identification)
            .finish()
    }
}

impl Default for TlsSettings {
    fn default() -> TlsSettings {
        TlsSettings {
            keystore: None,
            key_password: None,
            truststore: None,
            client_auth: ClientAuth::None,
            enabled_protocols: vec!["TLSv1.2".into(), "TLSv1.3".into()],
            cipher_suites: Vec::new(),
            endpoint_identification: true,
        }
    }
}

/// The protocol names Kafka accepts in `ssl.enabled.protocols` that rustls speaks.
pub const SUPPORTED_PROTOCOLS: &[&str] = &["TLSv1.2", "TLSv1.3"];

/// Checks `ssl.enabled.protocols`.
pub fn check_protocols(protocols: &[String]) -> Result<(), TlsError> {
    for p in protocols {
        if !SUPPORTED_PROTOCOLS.contains(&p.as_str()) {
            return Err(error(format!(
                "ssl.enabled.protocols: {p} is not supported by rafka (supported: {})",
                SUPPORTED_PROTOCOLS.join(", ")
            )));
        }
    }
    if protocols.is_empty() {
        return Err(error("ssl.enabled.protocols names no protocol"));
    }
    Ok(())
}

/// The Kafka (IANA) name of a rustls suite: `TLS13_AES_128_GCM_SHA256` is Java's
/// `TLS_AES_128_GCM_SHA256`; the TLS 1.2 names are the same in both.
fn kafka_suite_name(suite: &rustls::SupportedCipherSuite) -> String {
    let name = suite.suite().as_str().unwrap_or_default();
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name.to_string(),
    }
}

/// Checks `ssl.cipher.suites` against what rustls offers.
pub fn check_cipher_suites(names: &[String]) -> Result<(), TlsError> {
    provider(names).map(|_| ())
}

/// The ring provider, with only the configured suites when `ssl.cipher.suites` is set.
fn provider(cipher_suites: &[String]) -> Result<Arc<CryptoProvider>, TlsError> {
    // rustls 0.23.48 marks ring's provider deprecated for lacking post-quantum key
    // exchange; aws-lc-rs has it but needs a C/cmake build. ring is the choice (Cargo.toml).
    #[allow(deprecated)]
    let mut provider = rustls::crypto::ring::default_provider();
    if !cipher_suites.is_empty() {
        let all = provider.cipher_suites.clone();
        let mut chosen = Vec::new();
        for name in cipher_suites {
            let suite = all
                .iter()
                .find(|s| kafka_suite_name(s) == *name)
                .ok_or_else(|| {
                    let known: Vec<String> = all.iter().map(kafka_suite_name).collect();
                    error(format!(
                        "ssl.cipher.suites: {name} is not supported by rafka (supported: {})",
                        known.join(", ")
                    ))
                })?;
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    Ok(Arc::new(provider))
}

fn protocol_versions(protocols: &[String]) -> Vec<&'static rustls::SupportedProtocolVersion> {
    let mut versions = Vec::new();
    if protocols.iter().any(|p| p == "TLSv1.3") {
        versions.push(&rustls::version::TLS13);
    }
    if protocols.iter().any(|p| p == "TLSv1.2") {
        versions.push(&rustls::version::TLS12);
    }
    versions
}

/// The certificates of PEM text, in order.
fn certificates(pem: &str, key: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| error(format!("{key}: invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(error(format!(
            "{key}: no certificate found in the PEM text"
        )));
    }
    Ok(certs)
}

const ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// The private key of PEM text: a plain one (PKCS#8, PKCS#1 RSA, SEC1 EC) without a
/// password, an encrypted PKCS#8 one with it (Kafka's rule: `ssl.key.password` is set
/// exactly when the key is encrypted).
fn private_key(
    pem: &str,
    password: Option<&str>,
    key: &str,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(error(format!(
            "{key}: legacy OpenSSL-encrypted keys (Proc-Type: 4,ENCRYPTED) are not supported; convert the key to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
        )));
    }
    let begin = format!("-----BEGIN {ENCRYPTED_KEY_LABEL}-----");
    if let Some(start) = pem.find(&begin) {
        let Some(password) = password else {
            return Err(error(format!(
                "{key}: the private key is encrypted and ssl.key.password is not set"
            )));
        };
        let end_marker = format!("-----END {ENCRYPTED_KEY_LABEL}-----");
        let end = pem[start..]
            .find(&end_marker)
            .map(|e| start + e + end_marker.len())
            .ok_or_else(|| error(format!("{key}: unterminated {ENCRYPTED_KEY_LABEL} block")))?;
        let (_, document) = pkcs8::der::Document::from_pem(&pem[start..end])
            .map_err(|e| error(format!("{key}: invalid encrypted private key: {e}")))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes())
            .map_err(|e| error(format!("{key}: invalid encrypted private key: {e}")))?;
        let decrypted = info.decrypt(password.as_bytes()).map_err(|_| {
            error(format!(
                "{key}: cannot decrypt the private key with ssl.key.password (wrong password or unsupported encryption)"
            ))
        })?;
        return Ok(PrivatePkcs8KeyDer::from(decrypted.as_bytes().to_vec()).into());
    }
    let mut found = None;
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
        let (kind, der) = section.map_err(|e| error(format!("{key}: invalid PEM: {e}")))?;
        let parsed = match kind {
            SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                PrivateKeyDer::from_pem(kind, der)
            }
            _ => None,
        };
        if let Some(parsed) = parsed {
            found = Some(parsed);
            break;
        }
    }
    let found =
        found.ok_or_else(|| error(format!("{key}: no private key found in the PEM text")))?;
    if password.is_some() {
        return Err(error(format!(
            "{key}: ssl.key.password is set but the private key is not encrypted"
        )));
    }
    Ok(found)
}

/// The key and chain of a key store.
fn load_keystore(
    store: &KeyStore,
    password: Option<&str>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    match store {
        KeyStore::File(path) => {
            let key = "ssl.keystore.location";
            let text = PemSource::File(path.clone()).read(key)?;
            Ok((
                certificates(&text, key)?,
                private_key(&text, password, key)?,
            ))
        }
        KeyStore::Inline {
            certificate_chain,
            key,
        } => Ok((
            certificates(certificate_chain, "ssl.keystore.certificate.chain")?,
            private_key(key, password, "ssl.keystore.key")?,
        )),
    }
}

fn load_roots(source: &PemSource) -> Result<Arc<RootCertStore>, TlsError> {
    let key = match source {
        PemSource::File(_) => "ssl.truststore.location",
        PemSource::Inline(_) => "ssl.truststore.certificates",
    };
    let text = source.read(key)?;
    let mut roots = RootCertStore::empty();
    for cert in certificates(&text, key)? {
        roots
            .add(cert)
            .map_err(|e| error(format!("{key}: unusable trusted certificate: {e}")))?;
    }
    Ok(Arc::new(roots))
}

impl TlsSettings {
    /// The files these settings read, for reloading when one changes.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let Some(KeyStore::File(path)) = &self.keystore {
            files.push(path.clone());
        }
        if let Some(PemSource::File(path)) = &self.truststore {
            files.push(path.clone());
        }
        files
    }

    /// A listener's configuration: its key and chain, and the client certificates it asks
    /// for (`ssl.client.auth`), verified against the trust store.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = provider(&self.cipher_suites)?;
        let store = self.keystore.as_ref().ok_or_else(|| {
            error("an SSL listener needs a key store: set ssl.keystore.location or ssl.keystore.certificate.chain and ssl.keystore.key (ssl.keystore.type=PEM)")
        })?;
        let (chain, key) = load_keystore(store, self.key_password.as_deref())?;
        let verifier = match self.client_auth {
            ClientAuth::None => WebPkiClientVerifier::no_client_auth(),
            auth => {
                let source = self.truststore.as_ref().ok_or_else(|| {
                    error("ssl.client.auth needs a trust store: set ssl.truststore.location or ssl.truststore.certificates (ssl.truststore.type=PEM)")
                })?;
                let builder = WebPkiClientVerifier::builder_with_provider(
                    load_roots(source)?,
                    provider.clone(),
                );
                let builder = if auth == ClientAuth::Requested {
                    builder.allow_unauthenticated()
                } else {
                    builder
                };
                builder
                    .build()
                    .map_err(|e| error(format!("ssl.truststore: {e}")))?
            }
        };
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&protocol_versions(&self.enabled_protocols))
            .map_err(|e| error(format!("ssl.enabled.protocols / ssl.cipher.suites: {e}")))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| {
                error(format!(
                    "ssl.keystore: the key does not fit the certificate chain: {e}"
                ))
            })?;
        Ok(Arc::new(config))
    }

    /// A client's configuration: the servers it trusts, its own certificate when it has a
    /// key store, and whether the server's name is checked.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let provider = provider(&self.cipher_suites)?;
        let source = self.truststore.as_ref().ok_or_else(|| {
            error("an SSL client needs a trust store: set ssl.truststore.location or ssl.truststore.certificates (ssl.truststore.type=PEM)")
        })?;
        let verifier =
            WebPkiServerVerifier::builder_with_provider(load_roots(source)?, provider.clone())
                .build()
                .map_err(|e| error(format!("ssl.truststore: {e}")))?;
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&protocol_versions(&self.enabled_protocols))
            .map_err(|e| error(format!("ssl.enabled.protocols / ssl.cipher.suites: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ServerVerifier {
                inner: verifier,
                check_name: self.endpoint_identification,
            }));
        let config = match &self.keystore {
            None => builder.with_no_client_auth(),
            Some(store) => {
                let (chain, key) = load_keystore(store, self.key_password.as_deref())?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    error(format!(
                        "ssl.keystore: the key does not fit the certificate chain: {e}"
                    ))
                })?
            }
        };
        Ok(Arc::new(config))
    }
}

/// webpki's verification, with the name check dropped when
/// `ssl.endpoint.identification.algorithm` is empty. The chain is always verified:
/// webpki checks it before the name, so a name error means the chain was good.
#[derive(Debug)]
struct ServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate's subject as Java's `X500Principal.getName()` (RFC 2253) prints it,
/// which is what Kafka's principal mapping rules match: the RDNs last first, `,`
/// between them, `+` inside a multi-valued one, the keywords Java knows (CN, C, L, ST,
/// O, OU, STREET, DC, UID) by name and any other attribute as `<oid>=#<DER in hex>`.
pub fn subject_name(certificate_der: &[u8]) -> Result<String, TlsError> {
    use x509_parser::asn1_rs::ToDer;
    use x509_parser::prelude::FromDer;
    let (_, certificate) = x509_parser::certificate::X509Certificate::from_der(certificate_der)
        .map_err(|e| error(format!("cannot parse the peer certificate: {e}")))?;
    let mut rdns = Vec::new();
    for rdn in certificate.subject().iter() {
        let mut attributes = Vec::new();
        for attribute in rdn.iter() {
            let oid = attribute.attr_type().to_id_string();
            let keyword = match oid.as_str() {
                "2.5.4.3" => Some("CN"),
                "2.5.4.6" => Some("C"),
                "2.5.4.7" => Some("L"),
                "2.5.4.8" => Some("ST"),
                "2.5.4.10" => Some("O"),
                "2.5.4.11" => Some("OU"),
                "2.5.4.9" => Some("STREET"),
                "0.9.2342.19200300.100.1.25" => Some("DC"),
                "0.9.2342.19200300.100.1.1" => Some("UID"),
                _ => None,
            };
            let text = match (keyword, attribute.as_str()) {
                (Some(keyword), Ok(value)) => format!("{keyword}={}", escape_rfc2253(value)),
                _ => {
                    let der = attribute
                        .attr_value()
                        .to_der_vec()
                        .map_err(|e| error(format!("cannot encode a subject attribute: {e}")))?;
                    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                    format!("{oid}=#{hex}")
                }
            };
            attributes.push(text);
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Ok(rdns.join(","))
}

/// RFC 2253's escapes, as Java applies them.
fn escape_rfc2253(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let count = value.chars().count();
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == count && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The modification times of `files`, to tell when a store changed.
pub fn modification_times(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files.iter().map(|f| modified(f)).collect()
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_cipher_suite_names_map_to_rustls_and_unknown_ones_are_refused() {
        check_cipher_suites(&[
            "TLS_AES_128_GCM_SHA256".into(),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
        ])
        .unwrap();
        let err = check_cipher_suites(&["TLS_RSA_WITH_AES_128_CBC_SHA".into()]).unwrap_err();
        assert!(err
            .0
            .starts_with("ssl.cipher.suites: TLS_RSA_WITH_AES_128_CBC_SHA is not supported by rafka (supported: TLS_AES_256_GCM_SHA384"));
    }

    #[test]
    fn only_tls_1_2_and_1_3_are_accepted() {
        check_protocols(&["TLSv1.2".into(), "TLSv1.3".into()]).unwrap();
        assert_eq!(
            check_protocols(&["TLSv1.1".into()]).unwrap_err().0,
            "ssl.enabled.protocols: TLSv1.1 is not supported by rafka (supported: TLSv1.2, TLSv1.3)"
        );
    }

    #[test]
    fn rfc2253_escapes_as_java() {
        assert_eq!(escape_rfc2253("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rfc2253(" #x "), "\\ #x\\ ");
        assert_eq!(escape_rfc2253("#x"), "\\#x");
    }

    #[test]
    fn settings_print_no_secret() {
        let settings = TlsSettings {
            keystore: Some(KeyStore::Inline {
                certificate_chain: "chain".into(),
                key: "-----BEGIN PRIVATE KEY-----secret".into(),
            }),
            key_password: Some("hunter2".into()),
            ..TlsSettings::default()
        };
        let printed = format!("{settings:?}");
        assert!(
            !printed.contains("secret") && !printed.contains("hunter2"),
            "{printed}"
        );
    }
}
