//! Delivery of alerts and digests from the engine's durable table, each channel on its own:
//! a task per configured channel takes the messages still pending for it, sends them, and logs
//! the outcome (`AlertDelivered`, or after `max_attempts` failures or `max_age` the
//! `AlertDeadLettered` that puts it on the dead-letter list). A channel that is down only
//! delays itself. Attempts back off exponentially with jitter, as webhooks do.
//!
//! Messages are written when sent (people's names are looked up then, links made from
//! `[alerting] console_url`), from what the log fixed when they were decided.

pub mod digest;
pub mod email;
mod send;
pub mod slack;
pub mod teams;
pub mod view;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use standardwebhooks::Webhook;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::Config;
use crate::config::alerts::ChannelKind;
use crate::engine::alerts::AlertEntry;
use crate::engine::lock;
use crate::metrics::{AlertMetrics, Channel as ChannelLabel};
use crate::model::person::PersonId;
use crate::model::record::AdminOp;
use crate::outgoing::HttpClient;
use crate::store::Store;

use self::email::Mailer;
use self::view::{Context, View};

const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(200);

enum Target {
    Slack(String),
    Teams(String),
    Email(Vec<String>),
    Webhooks,
    /// The company's owner (from an accounts import), else these.
    AccountOwner(Vec<String>),
}

impl Target {
    fn label(&self) -> &'static str {
        match self {
            Target::Slack(_) => "slack",
            Target::Teams(_) => "teams",
            Target::Email(_) | Target::AccountOwner(_) => "email",
            Target::Webhooks => "webhooks",
        }
    }
}

struct Signed {
    url: String,
    signer: Webhook,
    events: Vec<String>,
}

/// What every channel task shares.
struct Shared {
    store: Arc<dyn Store>,
    client: HttpClient,
    mailer: Option<Mailer>,
    webhooks: Vec<Signed>,
    console_url: Option<String>,
    max_attempts: u32,
    max_age_ms: i64,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    metrics: AlertMetrics,
}

pub struct Deliverer {
    shared: Arc<Shared>,
    channels: Vec<(String, Target)>,
}

impl Deliverer {
    /// `None` when no channel is configured or this node does not deliver. Reads the mail
    /// server's extra roots.
    pub fn new(
        config: &Config,
        store: Arc<dyn Store>,
        client: HttpClient,
        clock: Arc<dyn Clock>,
        metrics: AlertMetrics,
    ) -> anyhow::Result<Option<Deliverer>> {
        let alerting = &config.alerting;
        if alerting.channels.is_empty() || !alerting.deliver {
            return Ok(None);
        }
        let mailer = match &alerting.smtp {
            Some(smtp) => Some(Mailer::new(
                smtp.get_ref(),
                &config.outgoing,
                alerting.timeout.0,
            )?),
            None => None,
        };
        let webhooks = config
            .webhooks
            .iter()
            .map(|w| {
                Ok(Signed {
                    url: w.url.0.clone(),
                    signer: Webhook::new(&w.secret.0)
                        .map_err(|e| anyhow::anyhow!("webhook secret for {}: {e}", w.url.0))?,
                    events: w.events.clone(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let channels = alerting
            .channels
            .iter()
            .map(|c| {
                let c = c.get_ref();
                let url = c.url.as_ref().map(|u| u.0.clone()).unwrap_or_default();
                let target = match c.kind {
                    ChannelKind::Slack => Target::Slack(url),
                    ChannelKind::Teams => Target::Teams(url),
                    ChannelKind::Email => Target::Email(c.to.clone()),
                    ChannelKind::Webhooks => Target::Webhooks,
                    ChannelKind::AccountOwner => Target::AccountOwner(c.to.clone()),
                };
                (c.name.get_ref().clone(), target)
            })
            .collect();
        Ok(Some(Deliverer {
            shared: Arc::new(Shared {
                store,
                client,
                mailer,
                webhooks,
                console_url: alerting.console_url.as_ref().map(|u| u.0.clone()),
                max_attempts: alerting.max_attempts,
                max_age_ms: alerting.max_age.0.as_millis() as i64,
                timeout: alerting.timeout.0,
                clock,
                metrics,
            }),
            channels,
        }))
    }

    /// Delivers until `stop` says so; every channel task finishes its current attempt first.
    pub async fn run(self, stop: tokio::sync::watch::Receiver<bool>) {
        let names: Vec<String> = self.channels.iter().map(|(n, _)| n.clone()).collect();
        let mut tasks = JoinSet::new();
        tasks.spawn(orphans(Arc::clone(&self.shared), names, stop.clone()));
        for (name, target) in self.channels {
            tasks.spawn(channel(
                Arc::clone(&self.shared),
                name,
                target,
                stop.clone(),
            ));
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "an alert channel task failed");
            }
        }
    }
}

#[derive(Default)]
struct Attempts {
    count: u32,
    not_before: Option<Instant>,
}

/// One channel's loop.
async fn channel(
    shared: Arc<Shared>,
    name: String,
    target: Target,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut attempts: HashMap<u64, Attempts> = HashMap::new();
    loop {
        let due: Vec<AlertEntry> = lock(&shared.store.engine().alerts)
            .pending()
            .into_iter()
            .filter(|e| e.pending.contains(&name))
            .collect();
        attempts.retain(|id, _| due.iter().any(|e| e.id == *id));
        for entry in due {
            if *stop.borrow() {
                return;
            }
            let tried = attempts.entry(entry.id).or_default();
            if tried.not_before.is_some_and(|t| Instant::now() < t) {
                continue;
            }
            let label = ChannelLabel {
                channel: target.label(),
            };
            match send::send(&shared, &target, &entry).await {
                Ok(()) => {
                    shared.metrics.delivered.get_or_create(&label).inc();
                    attempts.remove(&entry.id);
                    let op = AdminOp::AlertDelivered {
                        alert: entry.id,
                        destination: name.clone(),
                    };
                    if let Err(e) = shared.store.admin(op).await {
                        tracing::warn!(error = %e, alert = entry.id, "cannot mark an alert delivered");
                    }
                }
                Err(reason) => {
                    shared.metrics.failures.get_or_create(&label).inc();
                    let tried = attempts.entry(entry.id).or_default();
                    tried.count += 1;
                    let age = shared.clock.now_ms() - entry.created_ms;
                    if tried.count >= shared.max_attempts || age > shared.max_age_ms {
                        tracing::warn!(alert = entry.id, channel = %name, attempts = tried.count, %reason, "alert delivery given up: dead letter");
                        let op = AdminOp::AlertDeadLettered {
                            alert: entry.id,
                            destination: name.clone(),
                            reason,
                            attempts: tried.count,
                            at_ms: shared.clock.now_ms(),
                        };
                        attempts.remove(&entry.id);
                        if let Err(e) = shared.store.admin(op).await {
                            tracing::warn!(error = %e, alert = entry.id, "cannot record a dead letter");
                        }
                    } else {
                        let wait = backoff(tried.count);
                        tried.not_before = Some(Instant::now() + wait);
                        tracing::warn!(alert = entry.id, channel = %name, attempt = tried.count, retry_in = ?wait, %reason, "alert delivery failed");
                    }
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// Messages for channels the configuration no longer has go to the dead-letter list at once
/// (a retry after the channel is configured again sends them).
async fn orphans(
    shared: Arc<Shared>,
    names: Vec<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let lost: Vec<(u64, String)> = lock(&shared.store.engine().alerts)
            .pending()
            .into_iter()
            .flat_map(|e| {
                e.pending
                    .iter()
                    .filter(|d| !names.contains(d))
                    .map(|d| (e.id, d.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (alert, destination) in lost {
            let op = AdminOp::AlertDeadLettered {
                alert,
                reason: format!("no channel named `{destination}` is configured"),
                destination,
                attempts: 0,
                at_ms: shared.clock.now_ms(),
            };
            if let Err(e) = shared.store.admin(op).await {
                tracing::warn!(error = %e, alert, "cannot record a dead letter");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

/// The message's view, with people looked up now.
pub fn render(store: &dyn Store, console_url: Option<&str>, entry: &AlertEntry) -> View {
    let engine = store.engine();
    let person = |id: u64| {
        engine.persons.get(&PersonId(id)).map(|p| {
            p.attributes
                .name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| p.email.clone())
        })
    };
    let cx = Context {
        site: &entry.site,
        console_url,
        person: &person,
    };
    view::view(&entry.message, &cx)
}

fn backoff(attempt: u32) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1 << attempt.min(16).saturating_sub(1));
    exp.min(MAX_BACKOFF).mul_f64(rand::random_range(0.5..1.5))
}
