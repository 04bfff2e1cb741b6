//! `POST /api/v1/tokens {"email": "..."}`: mints an email-click token to put on links in mail
//! as `?mk_t=TOKEN`.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::render;
use super::request::{self, bad_request};
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::service::tokens;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    email: String,
    #[serde(default)]
    site: Option<String>,
    /// How long the token is valid (`"7d"`); the configured default otherwise.
    #[serde(default)]
    ttl: Option<String>,
}

pub async fn mint(
    app: &App,
    sites: &[Arc<str>],
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let body: MintBody = request::json_body(app, request).await?;
    let query: Vec<(String, String)> = body
        .site
        .iter()
        .map(|s| ("site".to_string(), s.clone()))
        .collect();
    let site = request::site(sites, &query)?;
    let address = tokens::address(&body.email)?;
    let ttl = match body.ttl.as_deref() {
        Some(text) => humantime::parse_duration(text)
            .map_err(|_| bad_request("invalid_ttl", "ttl is a duration like 7d"))?,
        None => app.token_ttl,
    };
    let minted = tokens::mint(
        &app.collector.tokens,
        &site,
        address,
        ttl,
        request::now(app),
    )?;
    let body = json!({"token": minted.token, "expires": render::time(minted.expires_ms), "parameter": "mk_t"});
    Ok(response::json(StatusCode::CREATED, body.to_string()))
}
