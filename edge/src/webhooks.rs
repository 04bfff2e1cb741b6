//! Webhook delivery from the durable outbox, signed the Standard Webhooks way (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`),
//! so receivers verify them with any of that specification's libraries.
//!
//! An event leaves the outbox (through a logged `WebhookDelivered` record) only once every
//! endpoint answered 2xx. Failures are retried with exponential backoff and jitter; the outbox
//! survives restarts, and the event id never changes, so a receiver can drop duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use standardwebhooks::Webhook;

use crate::config::WebhookConfig;
use crate::engine::outbox::OutboxEntry;
use crate::model::record::AdminOp;
use crate::outgoing::HttpClient;
use crate::store::Store;

/// First retry after this; doubles per attempt.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the outbox is looked at when nothing is due.
const POLL: Duration = Duration::from_millis(200);

struct Endpoint {
    url: String,
    signer: Webhook,
    /// Event types it wants; empty is all.
    events: Vec<String>,
}

impl Endpoint {
    fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind)
    }
}

/// Per (event, endpoint): attempts so far and when the next one may go.
#[derive(Default)]
struct Attempts {
    count: u32,
    not_before: Option<Instant>,
}

pub struct Sender {
    endpoints: Vec<Endpoint>,
    store: Arc<dyn Store>,
    client: HttpClient,
    delivered: HashSet<(u64, usize)>,
    attempts: HashMap<(u64, usize), Attempts>,
}

impl Sender {
    /// `None` when no endpoint is configured. Secrets were validated with the configuration.
    pub fn new(
        configs: &[WebhookConfig],
        store: Arc<dyn Store>,
        client: HttpClient,
    ) -> anyhow::Result<Option<Sender>> {
        if configs.is_empty() {
            return Ok(None);
        }
        let endpoints = configs
            .iter()
            .map(|c| {
                Ok(Endpoint {
                    url: c.url.0.clone(),
                    signer: Webhook::new(&c.secret.0)
                        .map_err(|e| anyhow::anyhow!("webhook secret for {}: {e}", c.url.0))?,
                    events: c.events.clone(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(Sender {
            endpoints,
            store,
            client,
            delivered: HashSet::new(),
            attempts: HashMap::new(),
        }))
    }

    /// Delivers until `stop` says so. The entry being delivered is finished first (one attempt
    /// per endpoint, each bounded by the request timeout); the rest wait in the outbox, which
    /// is durable, for the next start.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.store.outbox(256).await {
                Ok(entries) => {
                    for entry in entries {
                        if *stop.borrow() {
                            return;
                        }
                        self.deliver(&entry).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the webhook outbox"),
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }

    async fn deliver(&mut self, entry: &OutboxEntry) {
        let mut all_done = true;
        for index in 0..self.endpoints.len() {
            let key = (entry.id, index);
            if !self.endpoints[index].wants(&entry.kind) || self.delivered.contains(&key) {
                continue;
            }
            let attempts = self.attempts.entry(key).or_default();
            if attempts.not_before.is_some_and(|t| Instant::now() < t) {
                all_done = false;
                continue;
            }
            match self.send(index, entry).await {
                Ok(()) => {
                    self.delivered.insert(key);
                    self.attempts.remove(&key);
                }
                Err(reason) => {
                    all_done = false;
                    let attempts = self.attempts.entry(key).or_default();
                    attempts.count += 1;
                    let wait = backoff(attempts.count);
                    attempts.not_before = Some(Instant::now() + wait);
                    tracing::warn!(
                        event = entry.id,
                        url = %self.endpoints[index].url,
                        attempt = attempts.count,
                        retry_in = ?wait,
                        %reason,
                        "webhook delivery failed"
                    );
                }
            }
        }
        if all_done {
            match self
                .store
                .admin(AdminOp::WebhookDelivered { event: entry.id })
                .await
            {
                Ok(_) => {
                    self.delivered.retain(|(id, _)| *id != entry.id);
                }
                Err(e) => {
                    tracing::warn!(error = %e, event = entry.id, "cannot mark a webhook delivered")
                }
            }
        }
    }

    async fn send(&self, index: usize, entry: &OutboxEntry) -> Result<(), String> {
        let endpoint = &self.endpoints[index];
        let id = format!("evt_{}", entry.id);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let signature = endpoint
            .signer
            .sign(&id, timestamp, entry.payload.as_bytes())
            .map_err(|e| format!("signing: {e}"))?;
        let headers = [
            ("content-type", "application/json".to_string()),
            (standardwebhooks::HEADER_WEBHOOK_ID, id),
            (
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            ),
            (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
        ];
        let answer = self
            .client
            .post(
                &endpoint.url,
                &headers,
                Bytes::from(entry.payload.clone()),
                REQUEST_TIMEOUT,
            )
            .await
            .map_err(|e| e.to_string())?;
        if answer.is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", answer.status))
        }
    }
}

/// Exponential backoff with ±50 % jitter, so receivers coming back are not hit in lockstep.
fn backoff(attempt: u32) -> Duration {
    let exp = BASE_BACKOFF.saturating_mul(1 << attempt.min(16).saturating_sub(1));
    let capped = exp.min(MAX_BACKOFF);
    capped.mul_f64(rand::random_range(0.5..1.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..30 {
            let wait = backoff(attempt);
            let base = BASE_BACKOFF
                .saturating_mul(1 << attempt.min(16).saturating_sub(1))
                .min(MAX_BACKOFF);
            assert!(
                wait >= base.mul_f64(0.5) && wait <= base.mul_f64(1.5),
                "{attempt}: {wait:?}"
            );
        }
        assert!(backoff(30) <= MAX_BACKOFF.mul_f64(1.5));
    }
}
