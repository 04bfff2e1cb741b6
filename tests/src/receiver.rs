//! A local HTTPS (or HTTP) receiver for what the edge sends out: webhooks, Slack and Teams
//! messages. Its certificate comes from a test CA made fresh in the test (`TestCa`), which the
//! edge is told to trust through `[outgoing] extra_roots`, as an operator with a private CA
//! would.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A certificate authority of the test's own.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Mikomi test CA");
        let key = KeyPair::generate().expect("a CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("the CA certificate"),
        }
    }

    /// Writes the CA certificate as PEM into `dir`; returns its path.
    pub fn write_pem(&self, dir: &Path) -> PathBuf {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, self.issuer.pem()).expect("write the CA certificate");
        path
    }

    /// A certificate for `localhost` and 127.0.0.1 signed by this CA, and its key, written as
    /// PEM into `dir` (for servers run as their own process).
    pub fn write_server_pem(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("server parameters");
        let key = KeyPair::generate().expect("a server key");
        let certificate = params.signed_by(&key, &self.issuer).expect("sign");
        let cert_path = dir.join("server.pem");
        let key_path = dir.join("server.key");
        std::fs::write(&cert_path, certificate.pem()).expect("write the certificate");
        std::fs::write(&key_path, key.serialize_pem()).expect("write the key");
        (cert_path, key_path)
    }

    /// A server configuration for `localhost` and 127.0.0.1, signed by this CA.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("server parameters");
        let key = KeyPair::generate().expect("a server key");
        let certificate = params.signed_by(&key, &self.issuer).expect("sign");
        let chain = vec![certificate.der().clone()];
        let private = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der())
            .expect("the server key as DER");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .expect("server certificate");
        Arc::new(config)
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}

/// What the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// 200 with `ok` (what Slack answers).
    Accept,
    /// 500 to every request.
    Fail,
    /// 302 to another path: the edge must not follow it.
    Redirect,
}

/// One request the receiver saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Whether it was answered with success.
    pub accepted: bool,
}

pub struct Receiver {
    pub address: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    fail_first: Arc<AtomicU32>,
    task: JoinHandle<()>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Receiver {
    /// An HTTPS receiver with a certificate of `ca`.
    pub async fn https(ca: &TestCa) -> Receiver {
        Receiver::start(Some(ca.server_config()), None).await
    }

    /// A plain-HTTP receiver.
    pub async fn http() -> Receiver {
        Receiver::start(None, None).await
    }

    async fn start(tls: Option<Arc<rustls::ServerConfig>>, at: Option<SocketAddr>) -> Receiver {
        let listener =
            TcpListener::bind(at.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))))
                .await
                .expect("bind the receiver");
        let address = listener.local_addr().expect("the receiver's address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::Accept));
        let fail_first = Arc::new(AtomicU32::new(0));
        let task = tokio::spawn(serve(
            listener,
            tls.clone().map(TlsAcceptor::from),
            Arc::clone(&seen),
            Arc::clone(&behaviour),
            Arc::clone(&fail_first),
        ));
        Receiver {
            address,
            seen,
            behaviour,
            fail_first,
            task,
            tls,
        }
    }

    /// `https://127.0.0.1:port{path}` (or `http://` for a plain receiver).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.address)
    }

    pub fn set(&self, behaviour: Behaviour) {
        if let Ok(mut b) = self.behaviour.lock() {
            *b = behaviour;
        }
    }

    /// Answers the next `n` requests with 500, then behaves as set.
    pub fn fail_next(&self, n: u32) {
        self.fail_first.store(n, Ordering::SeqCst);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn accepted(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.accepted).collect()
    }

    /// Waits until `done` holds for what was seen, for at most `within`.
    pub async fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&[Seen]) -> bool) {
        let deadline = Instant::now() + within;
        while !done(&self.seen()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; seen: {:?}",
                self.seen()
                    .iter()
                    .map(|s| (s.path.clone(), s.accepted))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    seen: Arc<Mutex<Vec<Seen>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    fail_first: Arc<AtomicU32>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let seen = Arc::clone(&seen);
        let behaviour = Arc::clone(&behaviour);
        let fail_first = Arc::clone(&fail_first);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let seen = Arc::clone(&seen);
                let behaviour = Arc::clone(&behaviour);
                let fail_first = Arc::clone(&fail_first);
                async move {
                    let path = request.uri().path().to_string();
                    let headers = request.headers().clone();
                    let body = request
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let forced_failure = fail_first
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let now = if forced_failure {
                        Behaviour::Fail
                    } else {
                        behaviour.lock().map(|b| *b).unwrap_or(Behaviour::Fail)
                    };
                    let accepted = now == Behaviour::Accept;
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(Seen {
                            path,
                            headers,
                            body,
                            accepted,
                        });
                    }
                    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                    match now {
                        Behaviour::Accept => {}
                        Behaviour::Fail => {
                            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR
                        }
                        Behaviour::Redirect => {
                            *response.status_mut() = StatusCode::FOUND;
                            response.headers_mut().insert(
                                "location",
                                hyper::header::HeaderValue::from_static("/elsewhere"),
                            );
                        }
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}
