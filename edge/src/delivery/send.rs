//! One attempt at one destination: the message written for its channel and sent.

use bytes::Bytes;

use super::{Shared, Target, render, slack, teams};
use crate::engine::alerts::{AlertEntry, Message};
use crate::model::person::PersonId;

pub(super) async fn send(
    shared: &Shared,
    target: &Target,
    entry: &AlertEntry,
) -> Result<(), String> {
    let view = render(&*shared.store, shared.console_url.as_deref(), entry);
    match target {
        Target::Slack(url) => post_json(shared, url, &slack::payload(&view)).await,
        Target::Teams(url) => post_json(shared, url, &teams::payload(&view)).await,
        Target::Email(to) => match &shared.mailer {
            Some(mailer) => mailer.send(to, &view).await,
            None => Err("no [alerting.smtp] is configured".into()),
        },
        Target::AccountOwner(otherwise) => {
            let to = match owner_of(shared, entry) {
                Some(owner) => vec![owner],
                None => otherwise.clone(),
            };
            if to.is_empty() {
                return Ok(()); // nobody owns the company, and nobody else is to be told
            }
            match &shared.mailer {
                Some(mailer) => mailer.send(&to, &view).await,
                None => Err("no [alerting.smtp] is configured".into()),
            }
        }
        Target::Webhooks => {
            let body = webhook_body(entry, shared.console_url.as_deref());
            let kind = entry.message.kind();
            let id = format!("alt_{}", entry.id);
            let timestamp = shared.clock.now_ms() / 1000;
            for endpoint in &shared.webhooks {
                if !endpoint.events.is_empty() && !endpoint.events.iter().any(|e| e == kind) {
                    continue;
                }
                let signature = endpoint
                    .signer
                    .sign(&id, timestamp, body.as_bytes())
                    .map_err(|e| format!("signing: {e}"))?;
                let headers = [
                    ("content-type", "application/json".to_string()),
                    (standardwebhooks::HEADER_WEBHOOK_ID, id.clone()),
                    (
                        standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                        timestamp.to_string(),
                    ),
                    (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
                ];
                let answer = shared
                    .client
                    .post(
                        &endpoint.url,
                        &headers,
                        Bytes::from(body.clone()),
                        shared.timeout,
                    )
                    .await
                    .map_err(|e| format!("{}: {e}", endpoint.url))?;
                if !answer.is_success() {
                    return Err(format!("{} answered {}", endpoint.url, answer.status));
                }
            }
            Ok(())
        }
    }
}

/// The owner an accounts import named for the alert's company, as it is now.
fn owner_of(shared: &Shared, entry: &AlertEntry) -> Option<String> {
    let Message::Alert(alert) = &entry.message else {
        return None;
    };
    let domain = &alert.company.as_ref()?.domain;
    crate::engine::lock(&shared.store.engine().accounts)
        .profiles
        .get(&entry.site, domain)
        .and_then(|p| p.owner.clone())
}

async fn post_json(shared: &Shared, url: &str, body: &serde_json::Value) -> Result<(), String> {
    let answer = shared
        .client
        .post(
            url,
            &[(
                "content-type",
                "application/json; charset=utf-8".to_string(),
            )],
            Bytes::from(body.to_string()),
            shared.timeout,
        )
        .await
        .map_err(|e| e.to_string())?;
    if answer.is_success() {
        Ok(())
    } else {
        Err(format!(
            "answered {}: {}",
            answer.status,
            answer.body.trim()
        ))
    }
}

/// The Standard Webhooks body of an alert or digest: `{type, timestamp, data}`, the data being
/// what the log fixed plus the console links.
pub fn webhook_body(entry: &AlertEntry, console_url: Option<&str>) -> String {
    let base = console_url.map(|b| format!("{}/sites/{}", b.trim_end_matches('/'), entry.site));
    let data = match &entry.message {
        Message::Alert(alert) => {
            let mut data = serde_json::to_value(alert).unwrap_or_default();
            data["site"] = entry.site.to_string().into();
            if let (Some(base), Some(company)) = (&base, &alert.company) {
                data["account_url"] = format!("{base}/accounts/{}", company.domain).into();
            }
            // People as the rest of the API names them (`p123`).
            if let Some(person) = alert.person {
                data["person"] = PersonId(person).to_string().into();
                if let Some(base) = &base {
                    data["person_url"] = format!("{base}/people/{}", PersonId(person)).into();
                }
            }
            data["known_people"] = alert
                .known_people
                .iter()
                .map(|p| PersonId(*p).to_string())
                .collect::<Vec<_>>()
                .into();
            data
        }
        Message::Digest(digest) => serde_json::to_value(digest).unwrap_or_default(),
    };
    crate::engine::outbox::payload(entry.message.kind(), entry.created_ms, data)
}
