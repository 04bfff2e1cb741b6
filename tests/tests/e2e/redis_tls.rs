//! The Redis store over TLS: a real `redis-server` with `--tls-port`, certificates made by the
//! test (a CA of its own and a server certificate for `localhost`).

use std::path::Path;

use mikomi_tests::edge::page_view;
use mikomi_tests::redis::{RedisServer, TlsFiles};
use mikomi_tests::{Edge, EdgeConfig, TestStore};

/// Writes a CA and a server certificate for `localhost` signed by it; returns the files.
fn certificates(dir: &Path) -> TlsFiles {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    std::fs::create_dir_all(dir).expect("create the certificate folder");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server parameters")
        .signed_by(&server_key, &Issuer::new(ca_params, ca_key))
        .expect("server certificate");
    let files = TlsFiles {
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        ca: dir.join("ca.pem"),
    };
    std::fs::write(&files.cert, server_cert.pem()).expect("write");
    std::fs::write(&files.key, server_key.serialize_pem()).expect("write");
    std::fs::write(&files.ca, ca_cert.pem()).expect("write");
    files
}

#[tokio::test]
async fn the_redis_store_speaks_tls_and_checks_the_servers_certificate() {
    let work = tempfile::tempdir().expect("tempdir");
    let files = certificates(&work.path().join("tls"));
    let server = RedisServer::start_tls(&work.path().join("redis"), files.clone());
    let url = server.tls_url().expect("a TLS port");

    let config = EdgeConfig {
        store: TestStore::Tls {
            url: url.clone(),
            ca_file: files.ca.clone(),
        },
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let answer = edge.collect(&page_view(None, "http://site.test/tls")).await;
    assert_eq!(answer.status().as_u16(), 200);
    let health = edge.health().await;
    assert_eq!(
        health["status"], "ok",
        "reached over TLS, nothing spooled: {health}"
    );
    // What was stored is in Redis: seen through the plain port the test keeps.
    let keys = server.command(&["KEYS", "*mikomi*"]).unwrap_or_default();
    assert!(keys.contains("mikomi"), "{keys}");
    drop(edge);

    // Without the CA, the server's certificate is not trusted (the webpki roots do not hold
    // the test's CA): the edge does not start on it.
    let untrusted = EdgeConfig {
        store: TestStore::Tls {
            url,
            ca_file: work.path().join("tls/server.pem"),
        },
        ..EdgeConfig::default()
    };
    let said = Edge::expect_start_failure(&untrusted);
    assert!(said.contains("invalid peer certificate"), "{said}");
}
