//! TLS handshakes between the configurations `tls::TlsSettings` builds, over in-memory
//! buffers, with certificates made here: a CA, a server for 127.0.0.1/localhost, clients.

use rafka_security::principal::SslPrincipalMapper;
use rafka_security::tls::{subject_name, ClientAuth, KeyStore, PemSource, TlsSettings};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, SanType,
};
use rustls::{ClientConnection, ServerConnection};
use rustls_pki_types::ServerName;

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A leaf certificate and key, as one PEM text (key first, as Kafka's PEM keystores
    /// often are) and its DER.
    fn issue(&self, subject: &[(DnType, &str)], names: &[&str]) -> (String, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // In the given order (rcgen's default name has a CN first).
        params.distinguished_name = DistinguishedName::new();
        for (kind, value) in subject {
            params.distinguished_name.push(kind.clone(), *value);
        }
        for name in names {
            params.subject_alt_names.push(match name.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().unwrap()),
            });
        }
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        (
            format!("{}{}", key.serialize_pem(), cert.pem()),
            cert.der().to_vec(),
        )
    }
}

/// Runs a handshake to its end; the first side's error, if one fails.
fn handshake(client: &mut ClientConnection, server: &mut ServerConnection) -> Result<(), String> {
    for _ in 0..20 {
        let mut buffer = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut buffer).unwrap();
        }
        if !buffer.is_empty() {
            server.read_tls(&mut buffer.as_slice()).unwrap();
            server
                .process_new_packets()
                .map_err(|e| format!("server: {e}"))?;
        }
        let mut buffer = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut buffer).unwrap();
        }
        if !buffer.is_empty() {
            client.read_tls(&mut buffer.as_slice()).unwrap();
            client
                .process_new_packets()
                .map_err(|e| format!("client: {e}"))?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    Err("handshake did not finish".into())
}

fn settings(keystore: Option<String>, truststore: &str) -> TlsSettings {
    TlsSettings {
        keystore: keystore.map(|pem| KeyStore::Inline {
            certificate_chain: pem.clone(),
            key: pem,
        }),
        truststore: Some(PemSource::Inline(truststore.to_string())),
        ..TlsSettings::default()
    }
}

fn connect(
    server: &TlsSettings,
    client: &TlsSettings,
    name: &str,
) -> Result<(ClientConnection, ServerConnection), String> {
    let server_config = server.server_config().unwrap();
    let client_config = client.client_config().unwrap();
    let mut c = ClientConnection::new(
        client_config,
        ServerName::try_from(name.to_string()).unwrap(),
    )
    .unwrap();
    let mut s = ServerConnection::new(server_config).unwrap();
    handshake(&mut c, &mut s)?;
    Ok((c, s))
}

#[test]
fn mutual_tls_gives_the_server_the_clients_subject_as_kafka_prints_it() {
    let ca = Ca::new("test-ca");
    let (broker, _) = ca.issue(
        &[(DnType::CommonName, "broker")],
        &["127.0.0.1", "localhost"],
    );
    let (alice, alice_der) = ca.issue(
        &[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "example"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ],
        &[],
    );
    let ca_pem = ca.cert.pem();
    let mut server = settings(Some(broker), &ca_pem);
    server.client_auth = ClientAuth::Required;
    let client = settings(Some(alice), &ca_pem);
    let (_, s) = connect(&server, &client, "localhost").unwrap();
    let peer = s.peer_certificates().unwrap()[0].clone();
    assert_eq!(peer.as_ref(), alice_der.as_slice());
    let subject = subject_name(&peer).unwrap();
    assert_eq!(subject, "CN=alice,OU=eng,O=example,C=US");
    let mapper =
        SslPrincipalMapper::new("RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$2/L,DEFAULT")
            .unwrap();
    assert_eq!(mapper.name(&subject).unwrap(), "alice@eng");
}

#[test]
fn required_client_auth_refuses_a_client_without_a_trusted_certificate() {
    let ca = Ca::new("test-ca");
    let other = Ca::new("other-ca");
    let (broker, _) = ca.issue(&[(DnType::CommonName, "broker")], &["127.0.0.1"]);
    let (mallory, _) = other.issue(&[(DnType::CommonName, "mallory")], &[]);
    let ca_pem = ca.cert.pem();
    let mut server = settings(Some(broker), &ca_pem);
    server.client_auth = ClientAuth::Required;
    let untrusted = connect(&server, &settings(Some(mallory), &ca_pem), "127.0.0.1");
    assert!(
        untrusted.as_ref().is_err_and(|e| e.starts_with("server:")),
        "{:?}",
        untrusted.err()
    );
    let anonymous = connect(&server, &settings(None, &ca_pem), "127.0.0.1");
    assert!(anonymous.is_err());
    // Requested: a client without a certificate is let in, with no peer certificate.
    server.client_auth = ClientAuth::Requested;
    let (_, s) = connect(&server, &settings(None, &ca_pem), "127.0.0.1").unwrap();
    assert!(s.peer_certificates().is_none());
}

#[test]
fn the_server_name_is_checked_unless_endpoint_identification_is_off() {
    let ca = Ca::new("test-ca");
    let (broker, _) = ca.issue(&[(DnType::CommonName, "broker")], &["localhost"]);
    let ca_pem = ca.cert.pem();
    let server = settings(Some(broker), &ca_pem);
    let mut client = settings(None, &ca_pem);
    let wrong_name = connect(&server, &client, "broker.example.com");
    assert!(
        wrong_name
            .as_ref()
            .is_err_and(|e| e.contains("not valid for name")),
        "{:?}",
        wrong_name.err()
    );
    client.endpoint_identification = false;
    connect(&server, &client, "broker.example.com").unwrap();
    // The chain is still verified: another CA's server is refused.
    let other = Ca::new("other-ca");
    let (impostor, _) = other.issue(&[(DnType::CommonName, "broker")], &["localhost"]);
    assert!(connect(&settings(Some(impostor), &ca_pem), &client, "localhost").is_err());
}

#[test]
fn enabled_protocols_and_cipher_suites_bound_the_handshake() {
    let ca = Ca::new("test-ca");
    let (broker, _) = ca.issue(&[(DnType::CommonName, "broker")], &["localhost"]);
    let ca_pem = ca.cert.pem();
    let mut server = settings(Some(broker), &ca_pem);
    server.enabled_protocols = vec!["TLSv1.2".into()];
    server.cipher_suites = vec!["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into()];
    let client = settings(None, &ca_pem);
    let (c, _) = connect(&server, &client, "localhost").unwrap();
    assert_eq!(c.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
    assert_eq!(
        c.negotiated_cipher_suite().unwrap().suite(),
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    );
    let mut tls13_only = client.clone();
    tls13_only.enabled_protocols = vec!["TLSv1.3".into()];
    assert!(connect(&server, &tls13_only, "localhost").is_err());
}

#[test]
fn an_encrypted_pkcs8_key_needs_its_password() {
    use pkcs8::der::pem::LineEnding;
    use pkcs8::der::{Decode, EncodePem};
    let ca = Ca::new("test-ca");
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "broker");
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    let der = key.serialize_der();
    let info = pkcs8::PrivateKeyInfo::from_der(&der).unwrap();
    let pbes2 =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16]).unwrap();
    let encrypted = info.encrypt_with_params(pbes2, "key-secret").unwrap();
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::from_der(encrypted.as_bytes())
        .unwrap()
        .to_pem(LineEnding::LF)
        .unwrap();
    let ca_pem = ca.cert.pem();
    let mut server = TlsSettings {
        keystore: Some(KeyStore::Inline {
            certificate_chain: cert.pem(),
            key: encrypted,
        }),
        truststore: Some(PemSource::Inline(ca_pem.clone())),
        ..TlsSettings::default()
    };
    assert_eq!(
        server.server_config().unwrap_err().0,
        "ssl.keystore.key: the private key is encrypted and ssl.key.password is not set"
    );
    server.key_password = Some("wrong".into());
    assert!(server
        .server_config()
        .unwrap_err()
        .0
        .starts_with("ssl.keystore.key: cannot decrypt the private key"));
    server.key_password = Some("key-secret".into());
    connect(&server, &settings(None, &ca_pem), "localhost").unwrap();
}

#[test]
fn a_keystore_file_is_read_and_a_missing_one_named() {
    let ca = Ca::new("test-ca");
    let (broker, _) = ca.issue(&[(DnType::CommonName, "broker")], &["localhost"]);
    let dir = std::env::temp_dir().join(format!("rafka-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broker.pem");
    std::fs::write(&path, broker).unwrap();
    let ca_pem = ca.cert.pem();
    let mut server = TlsSettings {
        keystore: Some(KeyStore::File(path.clone())),
        truststore: Some(PemSource::Inline(ca_pem.clone())),
        ..TlsSettings::default()
    };
    assert_eq!(server.files(), vec![path.clone()]);
    connect(&server, &settings(None, &ca_pem), "localhost").unwrap();
    server.keystore = Some(KeyStore::File(dir.join("absent.pem")));
    assert!(server
        .server_config()
        .unwrap_err()
        .0
        .starts_with("ssl.keystore.location: cannot read "));
    std::fs::remove_dir_all(&dir).unwrap();
}
