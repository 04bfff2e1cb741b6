//! Reading API requests: query strings, small JSON bodies, ids, and which site is meant.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::de::DeserializeOwned;

use crate::http::App;
use crate::http::body::{self, BodyError};
use crate::http::error::ApiError;
use crate::visitor_id::VisitorId;

/// API bodies are small; anything bigger is a mistake.
const MAX_BODY: usize = 64 * 1024;

pub fn query(request: &Request<Incoming>) -> Vec<(String, String)> {
    request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

pub fn forbidden() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "this API key may not see that site's data",
    )
}

/// The site a request is about: `?site=` when given (and allowed), else the key's only site.
pub fn site(sites: &[Arc<str>], query: &[(String, String)]) -> Result<Arc<str>, ApiError> {
    match param(query, "site") {
        Some(wanted) => sites
            .iter()
            .find(|s| &***s == wanted)
            .cloned()
            .ok_or_else(forbidden),
        None => match sites {
            [only] => Ok(Arc::clone(only)),
            _ => Err(bad_request(
                "site_required",
                "this API key covers several sites: name one with ?site=",
            )),
        },
    }
}

/// Reads and parses a JSON body, within `server.body_timeout` and `server.body_min_rate`;
/// unknown fields are refused by the target type. Every body the API takes is an object, and
/// one that is not is refused here: serde would read an array into a struct by position, so
/// `[]` would pass as an empty change.
pub async fn json_body<T: DeserializeOwned>(
    app: &App,
    request: Request<Incoming>,
) -> Result<T, ApiError> {
    let bytes = body::read(request.into_body(), MAX_BODY, app.body_timing)
        .await
        .map_err(|e| match e {
            BodyError::TooSlow => body::too_slow(app.body_timing),
            BodyError::TooLarge | BodyError::Unreadable(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body may be at most {MAX_BODY} bytes"),
            ),
        })?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(bad_request(
            "malformed_json",
            "the body must be a JSON object",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| bad_request("malformed_json", e.to_string()))
}

/// A visitor named by the browser's signed id or by the hex id the API shows.
pub fn visitor_id(app: &App, text: &str) -> Result<VisitorId, ApiError> {
    if text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut id = [0u8; 16];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| bad_request("invalid_visitor_id", "not a visitor id"))?;
        }
        return Ok(VisitorId(id));
    }
    app.collector
        .codec
        .verify(text)
        .map_err(|e| bad_request("invalid_visitor_id", e.to_string()))
}

pub fn now(app: &App) -> i64 {
    app.collector.clock.now_ms()
}

pub fn half_life(app: &App) -> i64 {
    app.half_life_ms
}
