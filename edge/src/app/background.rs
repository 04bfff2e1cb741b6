//! The edge's background work: rate-limit upkeep, webhook delivery, and reloads of the company
//! databases and the popup rules. Every task is started here, stopped by one signal, and joined
//! before the store closes, so none of them writes to a closed store or is cut off mid-step.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::http::App;
use crate::rules::RuleSet;

/// Tasks wait on this; `true` means stop.
pub type Stop = watch::Receiver<bool>;

/// Resolves once `stop` says so (or its sender is gone).
pub async fn stopped(stop: &mut Stop) {
    let _ = stop.wait_for(|stop| *stop).await;
}

pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Background {
    /// Starts every background task the configuration asks for.
    pub fn start(
        app: &App,
        config: &Config,
        config_path: PathBuf,
        rule_set: &RuleSet,
    ) -> anyhow::Result<Background> {
        let (stop, receiver) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push((
            "housekeeping",
            tokio::spawn(housekeeping(app.clone(), receiver.clone())),
        ));
        if let Some(policy) = crate::retention::Policy::from_config(&config.retention) {
            tasks.push((
                "retention",
                tokio::spawn(retention(
                    app.clone(),
                    policy,
                    config.retention.check_every.0,
                    receiver.clone(),
                )),
            ));
        }
        let tls = crate::outgoing::tls_config(&config.outgoing)?;
        let client = crate::outgoing::HttpClient::new(tls);
        if let Some(sender) =
            crate::webhooks::Sender::new(&config.webhooks, app.store.clone(), client.clone())?
        {
            tasks.push(("webhooks", tokio::spawn(sender.run(receiver.clone()))));
        }
        if let Some(deliverer) = crate::delivery::Deliverer::new(
            config,
            app.store.clone(),
            client.clone(),
            Arc::clone(&app.collector.clock),
            app.metrics.alerts.clone(),
        )? {
            tasks.push(("alerts", tokio::spawn(deliverer.run(receiver.clone()))));
        }
        let digests = crate::delivery::digest::schedules(config);
        if !digests.is_empty() {
            tasks.push((
                "digests",
                tokio::spawn(crate::delivery::digest::run(
                    app.store.clone(),
                    digests,
                    Arc::clone(&app.collector.clock),
                    receiver.clone(),
                )),
            ));
        }
        if let Some(resolver) = app.collector.resolver.clone() {
            tasks.push((
                "ipdb reloads",
                tokio::spawn(ipdb_reloads(
                    resolver,
                    config.ipdb.reload_check.0,
                    receiver.clone(),
                )),
            ));
        }
        tasks.push((
            "rules reloads",
            tokio::spawn(crate::rules::reload::run(
                Arc::clone(&app.collector.rules),
                app.metrics.rules.clone(),
                Arc::clone(&app.collector.clock),
                config_path,
                rule_set.reload_check,
                {
                    let app = app.clone();
                    move |config: &Config| {
                        app.api_keys.replace(config);
                        app.console.auth.reload(config);
                    }
                },
                receiver,
            )),
        ));
        Ok(Background { stop, tasks })
    }

    /// Signals every task to stop and waits for each to finish what it was doing.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for (name, task) in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(task = name, error = %e, "background task failed");
            }
        }
    }
}

/// Periodic upkeep that must not run on the request path.
async fn housekeeping(app: App, mut stop: Stop) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                app.collector.limits.sweep();
                app.console.auth.sweep();
            }
            () = stopped(&mut stop) => return,
        }
    }
}

/// Expires what the retention policy no longer keeps: at start, then every `every`. A pass
/// that fails (the store is unavailable) is tried again at the next tick.
async fn retention(app: App, policy: crate::retention::Policy, every: Duration, mut stop: Stop) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stopped(&mut stop) => return,
        }
        let now_ms = app.collector.clock.now_ms();
        let pass =
            crate::service::retention::expire_once(Arc::clone(&app.store), policy.clone(), now_ms);
        // A pass stores its records one by one: stopping between two leaves the rest for the
        // next start.
        let result = tokio::select! {
            result = pass => result,
            () = stopped(&mut stop) => return,
        };
        match result {
            Ok(pass) if pass.records > 0 => tracing::info!(
                visitors = pass.visitors,
                people = pass.people,
                trimmed_visitors = pass.trimmed,
                records = pass.records,
                "retention: expired what the policy no longer keeps"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention pass failed; tried again later"),
        }
    }
}

/// Company databases reload when their files change or on SIGHUP. A file that fails to open is
/// refused and the old one keeps serving.
async fn ipdb_reloads(resolver: ipdb::SharedResolver, every: Duration, mut stop: Stop) {
    let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => Some(signal),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP; reloads follow file changes only");
            None
        }
    };
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            () = stopped(&mut stop) => return,
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
}
