//! `mikomi-edge serve`: load the configuration, open everything, listen, run the background
//! tasks, and on shutdown drain requests, join the tasks, then close the store, in that order.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use super::background::Background;
use crate::clock::SystemClock;
use crate::http::App;
use crate::http::Surface;
use crate::server::{self, ServerOptions};

/// Connections the admin listener serves at once: a few scrapers and health checks.
const ADMIN_CONNECTIONS: usize = 64;

/// Serves the configuration at `path` until `shutdown` completes. Runs inside a multi-threaded
/// runtime (opening the store blocks in place).
pub async fn serve(path: &Path, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (config, rule_set) = crate::rules::load(path)?;
    let app = {
        let config = &config;
        let rule_set = Arc::clone(&rule_set);
        tokio::task::block_in_place(|| App::build(config, rule_set, Arc::new(SystemClock)))?
    };
    let listener = TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listen on {}", config.server.listen))?;
    let address = listener.local_addr().context("read the bound address")?;
    // The admin listener first: a script that waits for the public line knows both by then.
    let admin = match config.server.admin_listen {
        Some(at) => {
            let admin = TcpListener::bind(at)
                .await
                .with_context(|| format!("listen on {at} (server.admin_listen)"))?;
            let bound = admin.local_addr().context("read the admin address")?;
            tracing::info!(address = %bound, "admin listener: /metrics and /healthz");
            println!("mikomi-edge admin listening on http://{bound}");
            Some(admin)
        }
        None => None,
    };
    tracing::info!(%address, "listening");
    // Machine-readable for scripts and tests that asked for port 0.
    println!("mikomi-edge listening on http://{address}");
    let background = Background::start(&app, &config, path.to_path_buf(), &rule_set)?;
    let options = ServerOptions {
        surface: Surface::Public,
        max_connections: config.server.max_connections,
        header_timeout: config.server.header_timeout.0,
        write_timeout: config.server.write_timeout.0,
        shutdown_timeout: config.server.shutdown_timeout.0,
    };
    // One shutdown for both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let admin = admin.map(|listener| {
        let options = ServerOptions {
            surface: Surface::Admin,
            max_connections: ADMIN_CONNECTIONS,
            ..options
        };
        let mut stopped = stopped.clone();
        tokio::spawn(server::run(listener, app.clone(), options, async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }))
    });
    let served = server::run(listener, app.clone(), options, async {
        shutdown.await;
        let _ = stop.send(true);
    })
    .await;
    // Also when the public listener failed before any shutdown.
    let _ = stop.send(true);
    if let Some(admin) = admin {
        match admin.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "the admin listener failed"),
            Err(e) => tracing::warn!(error = %e, "the admin listener panicked"),
            Ok(Ok(())) => {}
        }
    }
    background.stop().await;
    app.store.close().await.context("close the store")?;
    tracing::info!("store closed; bye");
    served
}
