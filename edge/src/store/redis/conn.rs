//! Connections to one Redis server or to a Redis Cluster, behind one type, with every call
//! bounded by the configured timeout: a slow Redis must turn into an error quickly, never into a
//! collect request that hangs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, Script, Value};

use crate::store::StoreError;

/// The connections' own limit, for the calls that move snapshots; every other call is cut off
/// sooner by the configured timeout.
pub const BULK_TIMEOUT: Duration = Duration::from_secs(30);

/// One multiplexed connection: requests from many tasks share it.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// Where Redis is and how long to wait for it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// One URL for a single server; the seed nodes for a cluster.
    pub urls: Vec<String>,
    pub cluster: bool,
    /// Multiplexed connections to keep; requests are spread over them.
    pub connections: usize,
    pub timeout: Duration,
    /// PEM of the CA that signed the servers' certificates (`rediss://` with a private CA);
    /// `None` trusts the webpki roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl Endpoint {
    /// TLS roots for `rediss://`: the configured CA, when there is one.
    fn certificates(&self) -> Option<redis::TlsCertificates> {
        self.ca_pem.as_ref().map(|pem| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        })
    }
}

/// A small pool of multiplexed connections.
pub struct Redis {
    connections: Vec<Connection>,
    next: AtomicUsize,
    timeout: Duration,
    shown: String,
}

/// Why a call failed, as far as the caller needs to know.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CallError {
    /// The request never reached Redis: it certainly did nothing.
    #[error("{0}")]
    NotSent(String),
    /// It may or may not have been carried out (a timeout, a connection lost mid-request).
    #[error("{0}")]
    Unknown(String),
    /// Redis answered with an error.
    #[error("{0}")]
    Refused(String),
}

impl From<CallError> for StoreError {
    fn from(err: CallError) -> Self {
        StoreError::Unavailable(format!("redis: {err}"))
    }
}

fn classify(err: redis::RedisError) -> CallError {
    if err.is_connection_refusal() {
        CallError::NotSent(err.to_string())
    } else if err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_unrecoverable_error()
    {
        CallError::Unknown(err.to_string())
    } else {
        CallError::Refused(err.to_string())
    }
}

impl Redis {
    pub async fn connect(endpoint: &Endpoint) -> Result<Redis, StoreError> {
        let shown = endpoint
            .urls
            .iter()
            .map(|url| without_password(url))
            .collect::<Vec<_>>()
            .join(", ");
        let failed = |e: redis::RedisError| StoreError::Unavailable(format!("redis {shown}: {e}"));
        let mut connections = Vec::with_capacity(endpoint.connections.max(1));
        for _ in 0..endpoint.connections.max(1) {
            let connection = if endpoint.cluster {
                let mut builder = ClusterClientBuilder::new(endpoint.urls.clone());
                if let Some(certificates) = endpoint.certificates() {
                    builder = builder.certs(certificates);
                }
                let client = builder
                    .connection_timeout(endpoint.timeout)
                    .response_timeout(BULK_TIMEOUT)
                    .retries(1)
                    .build()
                    .map_err(failed)?;
                let connection =
                    tokio::time::timeout(endpoint.timeout * 4, client.get_async_connection())
                        .await
                        .map_err(|_| {
                            StoreError::Unavailable(format!("redis {shown}: connect timed out"))
                        })?
                        .map_err(failed)?;
                Connection::Cluster(connection)
            } else {
                let url = endpoint.urls.first().ok_or_else(|| {
                    StoreError::Unavailable("redis: no server address configured".into())
                })?;
                let client = match endpoint.certificates() {
                    Some(certificates) => redis::Client::build_with_tls(url.as_str(), certificates),
                    None => redis::Client::open(url.as_str()),
                }
                .map_err(failed)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(endpoint.timeout))
                    .set_response_timeout(Some(BULK_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                let manager = tokio::time::timeout(
                    endpoint.timeout * 4,
                    ConnectionManager::new_with_config(client, config),
                )
                .await
                .map_err(|_| StoreError::Unavailable(format!("redis {shown}: connect timed out")))?
                .map_err(failed)?;
                Connection::Single(manager)
            };
            connections.push(connection);
        }
        Ok(Redis {
            connections,
            next: AtomicUsize::new(0),
            timeout: endpoint.timeout,
            shown,
        })
    }

    /// Where this pool points, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn connection(&self) -> Connection {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[at].clone()
    }

    /// Runs one command.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, CallError> {
        self.query_within(cmd, self.timeout).await
    }

    /// Runs one command that moves a lot of data (snapshots), with its own time limit.
    pub async fn query_within<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        timeout: Duration,
    ) -> Result<T, CallError> {
        let mut connection = self.connection();
        match tokio::time::timeout(timeout, cmd.query_async(&mut connection)).await {
            Ok(result) => result.map_err(classify),
            Err(_) => Err(CallError::Unknown(format!("no answer within {timeout:?}"))),
        }
    }

    /// Runs a Lua script with its keys and arguments.
    pub async fn script<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<T, CallError> {
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection();
        match tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection)).await {
            Ok(result) => result.map_err(classify),
            Err(_) => Err(CallError::Unknown(format!(
                "no answer within {:?}",
                self.timeout
            ))),
        }
    }
}

/// A URL fit for logs and health answers: `redis://user:secret@host` loses its credentials.
fn without_password(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://…@{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn credentials_never_reach_logs() {
        assert_eq!(
            without_password("redis://app:s3cret@10.0.0.1:6379/0"),
            "redis://…@10.0.0.1:6379/0"
        );
        assert_eq!(
            without_password("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
