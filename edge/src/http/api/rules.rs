//! `/api/v1/rules/…`: popup results, explanations and preview links.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::request::{self, bad_request, param};
use crate::config::HumanDuration;
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::service::rules as service;

/// `GET /api/v1/rules/stats`: results per rule and arm, and the state of the rules file.
pub fn stats(app: &App, sites: &[Arc<str>]) -> Response<Body> {
    let rules = &app.collector.rules;
    let body = serde_json::json!({
        "rules": service::results(rules, app.store.as_ref(), sites),
        "reload": rules.status(),
    });
    response::json(StatusCode::OK, body.to_string())
}

/// `GET /api/v1/rules/explain?vid=...&url=...[&lang=..][&site=..]`: rule by rule, which
/// conditions and caps held for this visitor on that page, and what would be decided.
pub async fn explain(
    app: &App,
    sites: &[Arc<str>],
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = request::query(request);
    let vid = param(&query, "vid")
        .ok_or_else(|| bad_request("invalid_query", "give `vid`, the visitor id"))?;
    let url = param(&query, "url")
        .ok_or_else(|| bad_request("invalid_query", "give `url`, the page to decide for"))?;
    let id = request::visitor_id(app, vid)?;
    let site = request::site(sites, &query)?;
    let explanation = service::explain(
        &app.collector.rules,
        app.store.as_ref(),
        &site,
        id,
        url,
        param(&query, "lang"),
        app.collector.clock.now_ms(),
    )
    .await?;
    let body =
        serde_json::to_string(&explanation).map_err(|e| ApiError::internal("encode_failed", &e))?;
    Ok(response::json(StatusCode::OK, body))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewRequest {
    rule: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    site: Option<String>,
    /// How long the link works; one hour when absent.
    #[serde(default)]
    ttl: Option<HumanDuration>,
}

/// `POST /api/v1/rules/preview`: a signed, expiring `mk_preview` token for one rule.
pub async fn preview(
    app: &App,
    sites: &[Arc<str>],
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let asked: PreviewRequest = request::json_body(app, request).await?;
    let named: Vec<(String, String)> = asked
        .site
        .iter()
        .map(|s| ("site".to_string(), s.clone()))
        .collect();
    let site = request::site(sites, &named)?;
    let ttl = asked.ttl.map_or(Duration::from_secs(3600), |t| t.0);
    let (token, expires_ms) = service::preview(
        &app.collector.rules,
        &site,
        &asked.rule,
        asked.variant.as_deref(),
        ttl,
        app.collector.clock.now_ms(),
    )?;
    let body = serde_json::json!({
        "token": token,
        "param": "mk_preview",
        "query": format!("mk_preview={token}"),
        "expires_ms": expires_ms,
    });
    Ok(response::json(StatusCode::OK, body.to_string()))
}
