use std::io::Write;

use super::*;
use crate::config::{OutgoingConfig, TrustRoots};

fn config_with(extra: &std::path::Path) -> OutgoingConfig {
    OutgoingConfig {
        roots: TrustRoots::Webpki,
        extra_roots: vec![toml::Spanned::new(0..0, extra.to_path_buf())],
    }
}

#[test]
fn the_webpki_roots_need_no_file() {
    assert!(tls_config(&OutgoingConfig::default()).is_ok());
}

#[test]
fn an_extra_root_file_without_a_certificate_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("empty.pem");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(b"not a certificate\n"))
        .expect("write");
    let error = tls_config(&config_with(&path)).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("empty.pem") && text.contains("BEGIN CERTIFICATE"),
        "{text}"
    );
    let missing = tls_config(&config_with(&dir.path().join("missing.pem")))
        .expect_err("refused")
        .to_string();
    assert!(missing.contains("missing.pem"), "{missing}");
}

#[test]
fn an_extra_root_is_trusted() {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().expect("key");
    let ca = params.self_signed(&key).expect("ca");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, ca.pem()).expect("write");
    assert!(tls_config(&config_with(&path)).is_ok());
}
