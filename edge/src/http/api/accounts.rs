//! `GET /api/v1/accounts/hot?window=7d`: companies ranked by recent activity; as CSV (the attack
//! list) with `Accept: text/csv` or `?format=csv`.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::request::{self, bad_request, param};
use crate::accounts::{HotQuery, attack_list};
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::service::accounts;

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
        None => accounts::DEFAULT_WINDOW,
    };
    let limit = match param(&query, "limit") {
        Some(text) => text.parse::<usize>().unwrap_or(0),
        None => accounts::DEFAULT_LIMIT,
    };
    let confident_only = match param(&query, "confidence") {
        None | Some("high") => Some(true),
        Some("any") => Some(false),
        Some(_) => None,
    };
    let hot_query = HotQuery {
        now_ms: request::now(app),
        window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
        limit,
        confident_only: confident_only.unwrap_or(true),
    };
    // Window and limit first, as before `confidence` existed.
    accounts::check(&hot_query)?;
    if confident_only.is_none() {
        return Err(bad_request(
            "invalid_confidence",
            "confidence is `high` (companies whose name can be trusted; the default) or `any`",
        ));
    }
    let format = param(&query, "format");
    if format.is_some_and(|f| f != "csv" && f != "json") {
        return Err(bad_request(
            "invalid_format",
            "format is `csv` (the attack list) or `json` (the default)",
        ));
    }
    // `customers=hide`: new business only, without the companies an accounts list marks as
    // customers.
    let hide_customers = match param(&query, "customers") {
        None | Some("show") => false,
        Some("hide") => true,
        Some(_) => {
            return Err(bad_request(
                "invalid_customers",
                "customers is `show` (the default) or `hide`",
            ));
        }
    };
    let filter = crate::accounts::HotFilter {
        hide_customers,
        ..crate::accounts::HotFilter::default()
    };
    let list = accounts::hot_filtered(app.store.as_ref(), &site, &hot_query, &filter).await?;
    let rows = list.accounts;
    let wants_csv = format == Some("csv")
        || (format.is_none()
            && request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/csv")));
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
    let body = json!({
        "window": humantime::format_duration(window).to_string(),
        "accounts": rows,
        "hidden_unconfident": list.hidden_unconfident,
    });
    Ok(response::json(StatusCode::OK, body.to_string()))
}
