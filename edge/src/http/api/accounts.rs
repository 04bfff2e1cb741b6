//! `GET /api/v1/accounts/hot?window=7d`: companies ranked by recent activity; as CSV (the attack
//! list) with `Accept: text/csv` or `?format=csv`.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::request::{self, bad_request, param, store_error};
use crate::accounts::{MAX_DAYS, attack_list};
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};

pub async fn hot(
    app: &App,
    sites: &[Arc<str>],
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = request::query(request);
    let site = request::site(sites, &query)?;
    let window = match param(&query, "window") {
        Some(text) => humantime::parse_duration(text)
            .map_err(|_| bad_request("invalid_window", "window is a duration like 7d or 48h"))?,
        None => std::time::Duration::from_secs(7 * 86_400),
    };
    if window.as_secs() > MAX_DAYS as u64 * 86_400 || window.is_zero() {
        return Err(bad_request(
            "invalid_window",
            format!("window is at most {MAX_DAYS} days"),
        ));
    }
    let limit = param(&query, "limit")
        .map(|l| l.parse::<usize>().ok().filter(|n| (1..=10_000).contains(n)))
        .unwrap_or(Some(100))
        .ok_or_else(|| bad_request("invalid_limit", "limit is 1 to 10000"))?;
    let now = request::now(app);
    let rows = app
        .store
        .hot_accounts(&site, now, window.as_millis() as i64, limit)
        .await
        .map_err(store_error)?;
    let wants_csv = param(&query, "format") == Some("csv")
        || request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv"));
    if wants_csv {
        let mut response = response::with_type(
            StatusCode::OK,
            "text/csv; charset=utf-8",
            Bytes::from(attack_list(&rows)),
        );
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"attack-list.csv\""),
        );
        return Ok(response);
    }
    let body = json!({"window": humantime::format_duration(window).to_string(), "accounts": rows});
    Ok(response::json(StatusCode::OK, body.to_string()))
}
