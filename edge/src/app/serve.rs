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
use crate::server::{self, ServerOptions};

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
    tracing::info!(%address, "listening");
    // Machine-readable for scripts and tests that asked for port 0.
    println!("mikomi-edge listening on http://{address}");
    let background = Background::start(&app, &config, path.to_path_buf(), &rule_set)?;
    let options = ServerOptions {
        max_connections: config.server.max_connections,
        header_timeout: config.server.header_timeout.0,
        shutdown_timeout: config.server.shutdown_timeout.0,
    };
    let served = server::run(listener, app.clone(), options, shutdown).await;
    background.stop().await;
    app.store.close().await.context("close the store")?;
    tracing::info!("store closed; bye");
    served
}
