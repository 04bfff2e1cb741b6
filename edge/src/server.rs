//! The accept loop: bounded connections, HTTP/1.1 keep-alive, and a graceful shutdown that stops
//! accepting and lets in-flight requests finish (up to a deadline). Closing the store is the
//! caller's (`app::serve`), after the background tasks have stopped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::http;
use crate::http::App;
use crate::write_deadline::WriteDeadline;

pub struct ServerOptions {
    /// Which routes this listener serves.
    pub surface: http::Surface,
    pub max_connections: usize,
    pub header_timeout: Duration,
    /// How long a response write may wait for the client to read.
    pub write_timeout: Duration,
    pub shutdown_timeout: Duration,
}

/// Serves until `shutdown` completes, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    app: App,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app_for_conn = app.clone();
        let surface = options.surface;
        let service =
            service_fn(move |request| http::handle(app_for_conn.clone(), surface, peer, request));
        let stream = WriteDeadline::new(stream, options.write_timeout);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        let gauge = app.metrics.http.connections.clone();
        gauge.inc();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            gauge.dec();
            drop(permit);
        });
    }

    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(options.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?options.shutdown_timeout,
            "some connections did not finish in time and were closed"
        );
    }
    Ok(())
}
