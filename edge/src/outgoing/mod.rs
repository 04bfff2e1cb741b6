//! The edge's one outgoing HTTP client, for webhooks and alerts alike: HTTPS through rustls with
//! the roots the operator chose (the webpki bundle or the system's store) plus any extra root
//! certificates for private CAs, and plain HTTP for receivers on a private network.
//!
//! Redirects are never followed: a receiver that answers 3xx has not taken the message, and
//! following it could send a signed body somewhere the operator did not name.

mod roots;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub use roots::{TlsError, tls_config};

/// At most this much of a receiver's answer is read (for the failure message).
const MAX_ANSWER: usize = 4096;

/// A POST that was answered, whatever the status.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// The start of the body, lossily as text: for the log and the dead-letter list.
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a POST got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("`{0}` is not a URL this client sends to")]
    Url(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Transport(String),
}

/// Cheap to clone: the connection pool is shared.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub fn new(tls: Arc<rustls::ClientConfig>) -> HttpClient {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(rustls::ClientConfig::clone(&tls))
            .https_or_http()
            .enable_http1()
            .build();
        HttpClient {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// POSTs `body` with `headers`; the answer, or why there was none, within `timeout`.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<Answer, SendError> {
        let mut request = Request::post(url).header(
            "user-agent",
            concat!("mikomi-edge/", env!("CARGO_PKG_VERSION")),
        );
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|_| SendError::Url(url.to_string()))?;
        let exchange = async {
            let response = self
                .inner
                .request(request)
                .await
                .map_err(|e| SendError::Transport(describe(&e)))?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            let mut incoming = response.into_body();
            while body.len() < MAX_ANSWER {
                match incoming.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            body.extend_from_slice(data);
                        }
                    }
                    _ => break,
                }
            }
            body.truncate(MAX_ANSWER);
            Ok(Answer {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| SendError::Timeout(timeout))?
    }
}

/// The error with its causes: hyper's own message ("client error (Connect)") hides the TLS
/// reason an operator needs.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests;
