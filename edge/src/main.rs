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
    /// Validate a configuration file (rules included); errors name the line and key.
    CheckConfig { file: PathBuf },
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
        Command::CheckConfig { file } => match mikomi_edge::rules::load(&file) {
            Ok((config, rule_set)) => {
                println!(
                    "{}: ok ({} sites, {} API keys, {} popup rules)",
                    file.display(),
                    config.sites.len(),
                    config.api_keys.len(),
                    rule_set.rules.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Explain {
            config,
            vid,
            url,
            edge,
            site,
            json,
        } => match explain(&config, &vid, &url, edge, site, json) {
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

fn serve(path: PathBuf) -> anyhow::Result<()> {
    let (config, rule_set) = mikomi_edge::rules::load(&path)?;
    let reload_check = rule_set.reload_check;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("mikomi-edge")
        .build()
        .context("start the runtime")?;
    runtime.block_on(async move {
        let app = {
            let config = &config;
            tokio::task::block_in_place(|| App::build(config, rule_set, Arc::new(SystemClock)))?
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
        mikomi_edge::rules::reload::spawn(
            Arc::clone(&app.collector.rules),
            app.metrics.rules.clone(),
            Arc::clone(&app.collector.clock),
            path.clone(),
            reload_check,
        );
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

/// Calls the running edge's explain API with the configuration's first API key (for the named
/// site, if any) and prints the answer rule by rule.
fn explain(
    path: &std::path::Path,
    vid: &str,
    url: &str,
    edge: Option<String>,
    site: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    use http_body_util::{BodyExt, Empty};
    let config = Config::load(path)?;
    let key = config
        .api_keys
        .iter()
        .map(|k| k.get_ref())
        .find(|k| {
            site.as_deref()
                .is_none_or(|s| k.sites.iter().any(|x| x.get_ref().as_str() == s))
        })
        .context("the configuration has no API key for this site")?;
    let base = edge.unwrap_or_else(|| {
        let mut listen = config.server.listen;
        if listen.ip().is_unspecified() {
            listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{listen}")
    });
    let mut query = format!("vid={}&url={}", encode(vid), encode(url));
    if let Some(site) = &site {
        query.push_str(&format!("&site={}", encode(site)));
    }
    let uri: hyper::Uri = format!(
        "{}/api/v1/rules/explain?{query}",
        base.trim_end_matches('/')
    )
    .parse()
    .context("the edge address is not a URL")?;
    let request = hyper::Request::get(uri)
        .header("authorization", format!("Bearer {}", key.key.expose()))
        .body(Empty::<bytes::Bytes>::new())
        .context("build the request")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    let (status, body) = runtime.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let response = client
            .request(request)
            .await
            .with_context(|| format!("ask the edge at {base}"))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    })?;
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        anyhow::bail!("the edge answered {status}: {text}");
    }
    let answer: serde_json::Value =
        serde_json::from_str(&text).context("the answer is not JSON")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    println!("decision: {}", answer["decision"].as_str().unwrap_or("?"));
    let mark = |held: &serde_json::Value| {
        if held.as_bool() == Some(true) {
            "ok  "
        } else {
            "FAIL"
        }
    };
    for cap in answer["site_caps"].as_array().into_iter().flatten() {
        println!(
            "  site  {} {} ({})",
            mark(&cap["held"]),
            cap["cap"].as_str().unwrap_or(""),
            cap["detail"].as_str().unwrap_or("")
        );
    }
    for rule in answer["rules"].as_array().into_iter().flatten() {
        println!(
            "rule {} (priority {}, line {}, arm {}): {}",
            rule["rule"].as_str().unwrap_or("?"),
            rule["priority"],
            rule["line"],
            rule["arm"].as_str().unwrap_or("?"),
            rule["outcome"].as_str().unwrap_or("?")
        );
        print_conditions(
            rule["conditions"].as_array().map_or(&[][..], Vec::as_slice),
            1,
        );
        for cap in rule["caps"].as_array().into_iter().flatten() {
            println!(
                "    cap  {} {} ({})",
                mark(&cap["held"]),
                cap["cap"].as_str().unwrap_or(""),
                cap["detail"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

fn print_conditions(list: &[serde_json::Value], depth: usize) {
    for c in list {
        let mark = if c["held"].as_bool() == Some(true) {
            "ok  "
        } else {
            "FAIL"
        };
        println!(
            "{}when {mark} {} ({})",
            "  ".repeat(depth + 1),
            c["condition"].as_str().unwrap_or(""),
            c["detail"].as_str().unwrap_or("")
        );
        print_conditions(
            c["inner"].as_array().map_or(&[][..], Vec::as_slice),
            depth + 1,
        );
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
