//! Which certificate authorities the outgoing client trusts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::{OutgoingConfig, TrustRoots};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("outgoing.extra_roots: {path}: {reason}")]
    ExtraRoot { path: PathBuf, reason: String },
    #[error("outgoing.roots = \"system\": no usable certificate in the system's store: {0}")]
    System(String),
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The client TLS configuration `config` asks for. Reads files: call it at start-up (and from
/// `check-config`), not on the request path.
pub fn tls_config(config: &OutgoingConfig) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut store = RootCertStore::empty();
    match config.roots {
        TrustRoots::Webpki => store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        TrustRoots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let errors: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
                return Err(TlsError::System(errors.join("; ")));
            }
        }
    }
    for path in &config.extra_roots {
        for certificate in read_certificates(path.get_ref())? {
            store.add(certificate).map_err(|e| TlsError::ExtraRoot {
                path: path.get_ref().clone(),
                reason: format!("not a usable CA certificate: {e}"),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// Every certificate of a PEM file; a file with none is refused, since trusting nothing new
/// is surely not what the operator meant.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let fail = |reason: String| TlsError::ExtraRoot {
        path: path.to_path_buf(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(format!("cannot read it as PEM: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("cannot read it as PEM: {e}")))?;
    if certificates.is_empty() {
        return Err(fail("holds no `BEGIN CERTIFICATE` block".into()));
    }
    Ok(certificates)
}
