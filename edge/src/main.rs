//! `mikomi-edge`: parse arguments, set up logging, and call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

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
    /// Validate a configuration file (rules included); errors name the line and key.
    CheckConfig { file: PathBuf },
    /// Hash a console password for `[[console.users]] password_hash`. Reads the password from
    /// standard input (one line), so it stays out of the shell history and the process list.
    HashPassword,
    /// Ask the running edge, rule by rule, which conditions and caps hold for a visitor on a
    /// page, and what it would decide.
    Explain {
        #[arg(long, short)]
        config: PathBuf,
        /// The visitor id (`mk_vid`). Base64url: it may start with `-`, so a value that looks
        /// like a flag is still taken as the id.
        #[arg(long, allow_hyphen_values = true)]
        vid: String,
        /// The page, as an absolute URL.
        #[arg(long)]
        url: String,
        /// The edge to ask; defaults to the configured listen address.
        #[arg(long)]
        edge: Option<String>,
        /// The site, when the API key serves several.
        #[arg(long, allow_hyphen_values = true)]
        site: Option<String>,
        /// Print the API's JSON instead of the summary.
        #[arg(long)]
        json: bool,
    },
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
        Command::CheckConfig { file } => match mikomi_edge::rules::load(&file).and_then(|loaded| {
            mikomi_edge::outgoing::tls_config(&loaded.0.outgoing)
                .map_err(|e| mikomi_edge::config::ConfigError::Invalid(located(&file, e)))?;
            Ok(loaded)
        }) {
            Ok((config, rule_set)) => {
                println!(
                    "{}: ok ({} sites, {} API keys, {} popup rules, {} alert rules, {} digests)",
                    file.display(),
                    config.sites.len(),
                    config.api_keys.len(),
                    rule_set.rules.len(),
                    rule_set.alerts.len(),
                    config.digests.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::HashPassword => {
            let mut line = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut line) {
                eprintln!("mikomi-edge hash-password: cannot read standard input: {e}");
                return ExitCode::FAILURE;
            }
            match mikomi_edge::password::hash(line.trim_end_matches(['\r', '\n'])) {
                Ok(hash) => {
                    println!("{hash}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("mikomi-edge hash-password: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Explain {
            config,
            vid,
            url,
            edge,
            site,
            json,
        } => match mikomi_edge::explain::explain(&config, &vid, &url, edge, site, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mikomi-edge explain: {e:#}");
                ExitCode::FAILURE
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

/// A problem found past parsing (a file the configuration names), reported like the others.
fn located(file: &std::path::Path, error: impl std::fmt::Display) -> mikomi_edge::config::Located {
    mikomi_edge::config::Located {
        path: file.to_path_buf(),
        line: None,
        column: None,
        key: None,
        message: error.to_string(),
    }
}

fn serve(path: PathBuf) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mikomi-edge")
        .build()
        .context("start the runtime")?;
    let shutdown = {
        let _entered = runtime.enter();
        shutdown_signal()
    };
    runtime.block_on(mikomi_edge::app::serve(&path, shutdown))
}

/// Listens for SIGTERM and Ctrl-C from now on, and resolves at the first. Registered before the
/// edge says it listens: a signal that comes right after (under load, before the accept loop's
/// first wait) then stops it gracefully instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let wait = |listening: std::io::Result<tokio::signal::unix::Signal>, what: &'static str| async move {
            match listening {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for {what}");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = wait(interrupt, "Ctrl-C") => tracing::info!("Ctrl-C received"),
            () = wait(terminate, "SIGTERM") => tracing::info!("SIGTERM received"),
        }
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
