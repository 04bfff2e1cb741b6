//! `mikomi-edge`: parse arguments, set up logging, bind, serve.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use mikomi_edge::app::App;
use mikomi_edge::clock::SystemClock;
use mikomi_edge::config::Config;
use mikomi_edge::server::{self, ServerOptions};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(name = "mikomi-edge", version, about = "The Mikomi edge server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the tag, collect and the API.
    Serve {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file; errors name the line and key.
    CheckConfig { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(config) => {
                println!(
                    "{}: ok ({} sites, {} API keys)",
                    file.display(),
                    config.sites.len(),
                    config.api_keys.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Serve { config } => match serve(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mikomi-edge: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn serve(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mikomi-edge")
        .build()
        .context("start the runtime")?;
    runtime.block_on(async move {
        let app = {
            let config = &config;
            tokio::task::block_in_place(|| App::build(config, Arc::new(SystemClock)))?
        };
        let listener = TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("listen on {}", config.server.listen))?;
        let address = listener.local_addr().context("read the bound address")?;
        tracing::info!(%address, "listening");
        // Machine-readable for scripts and tests that asked for port 0.
        println!("mikomi-edge listening on http://{address}");
        spawn_housekeeping(app.clone());
        if let Some(sender) =
            mikomi_edge::webhooks::Sender::new(&config.webhooks, app.store.clone())?
        {
            tokio::spawn(sender.run());
        }
        spawn_reloads(app.clone(), config.ipdb.reload_check.0);
        let options = ServerOptions {
            max_connections: config.server.max_connections,
            header_timeout: config.server.header_timeout.0,
            shutdown_timeout: config.server.shutdown_timeout.0,
        };
        server::run(listener, app, options, shutdown_signal()).await
    })
}

/// Periodic upkeep that must not run on the request path.
fn spawn_housekeeping(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            app.collector.limits.sweep();
        }
    });
}

/// Company databases reload when their files change or on SIGHUP. A file that fails to open is
/// refused and the old one keeps serving.
fn spawn_reloads(app: App, every: std::time::Duration) {
    let Some(resolver) = app.collector.resolver.clone() else {
        return;
    };
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; reloads follow file changes only");
            None
        }
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            let forced = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            };
            let resolver = resolver.clone();
            let result = tokio::task::spawn_blocking(move || {
                if forced {
                    resolver.reload().map(|()| true)
                } else {
                    resolver.reload_if_changed()
                }
            })
            .await;
            match result {
                Ok(Ok(true)) => tracing::info!(forced, "ipdb layers reloaded"),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "ipdb reload refused; the previous files keep serving")
                }
                Err(e) => tracing::error!(error = %e, "ipdb reload task failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIKOMI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
