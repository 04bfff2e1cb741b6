//! Connections to one Redis server or to a Redis Cluster, behind one type, with every call
//! bounded: a Redis that stops answering must turn into an error quickly, never into a collect
//! request that hangs.
//!
//! A late answer alone does not mean Redis is gone. Under load a healthy Redis answers a call
//! queued behind thousands of others late, and taking that for an outage sends every node to its
//! spool, skips popups and turns a busy second into seconds of tail. So a call that outlives the
//! configured `timeout` asks Redis for a sign of life, a `PING` on a connection of its own that
//! no traffic queues on, and waits on while Redis answers it, up to `busy_timeout`. Only a
//! connection that fails, or a Redis that answers nothing for `timeout`, counts as unreachable.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

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
    /// How long Redis may give no sign of life before it counts as unreachable.
    pub timeout: Duration,
    /// How long a call may wait for a Redis that still answers (it is busy, not gone).
    pub busy_timeout: Duration,
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

/// A small pool of multiplexed connections, and one more that only carries liveness probes.
pub struct Redis {
    connections: Vec<Connection>,
    /// Never shared with traffic: a `PING` on it waits for no one's pipeline.
    probe: Connection,
    next: AtomicUsize,
    timeout: Duration,
    busy_timeout: Duration,
    /// Calls that outlived `timeout` on a Redis that still answered.
    slow_calls: Counter,
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
    /// Connects `endpoint.connections` connections for traffic and one for probes; `slow_calls`
    /// counts the calls that were late on a Redis that still answered.
    pub async fn connect(endpoint: &Endpoint, slow_calls: Counter) -> Result<Redis, StoreError> {
        let shown = endpoint
            .urls
            .iter()
            .map(|url| without_password(url))
            .collect::<Vec<_>>()
            .join(", ");
        let failed = |e: redis::RedisError| StoreError::Unavailable(format!("redis {shown}: {e}"));
        let wanted = endpoint.connections.max(1) + 1;
        let mut connections = Vec::with_capacity(wanted);
        for _ in 0..wanted {
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
        let probe = connections
            .pop()
            .ok_or_else(|| StoreError::Unavailable(format!("redis {shown}: no connection")))?;
        Ok(Redis {
            connections,
            probe,
            next: AtomicUsize::new(0),
            timeout: endpoint.timeout,
            busy_timeout: endpoint.busy_timeout.max(endpoint.timeout),
            slow_calls,
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
        let mut connection = self.connection();
        self.answered(cmd.query_async(&mut connection)).await
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
        self.answered(invocation.invoke_async(&mut connection))
            .await
    }

    /// Waits for a call's answer: up to `timeout`, and then on while Redis answers probes, up
    /// to `busy_timeout` in all. The call is never given up while Redis is known to be alive,
    /// so a late answer is an answer, not an outcome nobody knows.
    async fn answered<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CallError> {
        let started = tokio::time::Instant::now();
        let give_up = started + self.busy_timeout;
        tokio::pin!(call);
        if let Ok(result) = tokio::time::timeout(self.timeout, &mut call).await {
            return result.map_err(classify);
        }
        self.slow_calls.inc();
        loop {
            tokio::select! {
                result = &mut call => return result.map_err(classify),
                alive = self.alive() => {
                    if let Err(why) = alive {
                        return Err(CallError::Unknown(format!(
                            "no answer within {:?}, and {why}",
                            started.elapsed()
                        )));
                    }
                }
                () = tokio::time::sleep_until(give_up) => {
                    return Err(CallError::Unknown(format!(
                        "no answer within {:?} although redis answers (storage.redis.busy_timeout)",
                        self.busy_timeout
                    )));
                }
            }
            // Alive: look again after a while, unless the answer comes first.
            tokio::select! {
                result = &mut call => return result.map_err(classify),
                () = tokio::time::sleep(self.timeout / 2) => {}
                () = tokio::time::sleep_until(give_up) => {}
            }
        }
    }

    /// Sends a `PING` down every traffic connection, answers ignored. A connection that Redis
    /// dropped (a restart while this node was idle) is only found broken when used, and the
    /// call that finds it fails; found by a ping instead, it is connected again before a
    /// write needs it.
    pub async fn keep_alive(&self) {
        let mut ping = Cmd::new();
        ping.arg("PING");
        for connection in &self.connections {
            let mut connection = connection.clone();
            let answer =
                tokio::time::timeout(self.timeout, ping.query_async::<String>(&mut connection))
                    .await;
            if let Ok(Err(e)) = answer {
                tracing::debug!(error = %e, "an idle redis connection was broken; reconnecting");
            }
        }
    }

    /// Whether Redis answers a `PING` within `timeout` on the probe connection.
    async fn alive(&self) -> Result<(), String> {
        let mut ping = Cmd::new();
        ping.arg("PING");
        let mut probe = self.probe.clone();
        match tokio::time::timeout(self.timeout, ping.query_async::<String>(&mut probe)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("a probe failed: {e}")),
            Err(_) => Err(format!("a probe had no answer within {:?}", self.timeout)),
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
