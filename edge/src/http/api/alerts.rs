//! `GET /api/v1/alerts/dead-letters` and `POST /api/v1/alerts/dead-letters/{alert}/{destination}/retry`.

use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde_json::json;

use super::request::bad_request;
use crate::engine::alerts::Message;
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::service::alerts;

pub fn dead_letters(app: &App, sites: &[Arc<str>]) -> Result<Response<Body>, ApiError> {
    let letters: Vec<_> = alerts::dead_letters(app.store.as_ref(), sites)
        .into_iter()
        .map(|(entry, letter)| {
            let (rule, subject) = match &entry.message {
                Message::Alert(a) => (a.rule.clone(), Some(a.subject.clone())),
                Message::Digest(d) => (d.name.clone(), None),
            };
            json!({
                "alert": entry.id,
                "site": entry.site,
                "type": entry.message.kind(),
                "rule": rule,
                "subject": subject,
                "destination": letter.destination,
                "reason": letter.reason,
                "attempts": letter.attempts,
                "created_ms": entry.created_ms,
                "dead_since_ms": letter.at_ms,
            })
        })
        .collect();
    Ok(response::json(
        StatusCode::OK,
        json!({ "dead_letters": letters }).to_string(),
    ))
}

pub async fn retry(
    app: &App,
    sites: &[Arc<str>],
    alert: &str,
    destination: &str,
) -> Result<Response<Body>, ApiError> {
    let alert: u64 = alert
        .parse()
        .map_err(|_| bad_request("invalid_alert_id", "the alert id is a number"))?;
    alerts::retry(app.store.as_ref(), sites, alert, destination).await?;
    Ok(response::json(
        StatusCode::ACCEPTED,
        json!({ "alert": alert, "destination": destination, "queued": true }).to_string(),
    ))
}
