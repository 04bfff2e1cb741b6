//! `POST /api/v1/people/import`: a people list as the spreadsheet saved it (the raw CSV is the
//! body), imported or with `?dry_run=true` previewed. The body may be as large as
//! `[imports] max_bytes`, far above the API's other bodies, and is refused with 413 past it
//! (before it is read when `Content-Length` says so).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::request;
use crate::http::App;
use crate::http::body::{self, BodyError};
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::imports::decode::Charset;
use crate::imports::people::EventDefaults;
use crate::service::imports::{self, AccountsReport, ImportOptions, ImportReport};

/// The least time a whole file may take to arrive.
const FILE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

pub async fn people(
    app: &App,
    sites: &[Arc<str>],
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = request::query(&request);
    let site = request::site(sites, &query)?;
    let options = options(&query)?;
    let bytes = read_file(app, request).await?;
    let report = imports::import_people(
        std::sync::Arc::clone(&app.store),
        site,
        bytes,
        &options,
        request::now(app),
    )
    .await?;
    Ok(response::json(StatusCode::OK, render(&report).to_string()))
}

/// `POST /api/v1/accounts/import`: a CRM's company list, keyed by domain.
pub async fn accounts(
    app: &App,
    sites: &[Arc<str>],
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = request::query(&request);
    let site = request::site(sites, &query)?;
    let options = options(&query)?;
    let bytes = read_file(app, request).await?;
    let report = imports::import_accounts(
        std::sync::Arc::clone(&app.store),
        site,
        bytes,
        &options,
        request::now(app),
    )
    .await?;
    Ok(response::json(
        StatusCode::OK,
        render_accounts(&report).to_string(),
    ))
}

/// `?dry_run=true`, `?charset=shift_jis`, and the event a file is about when its rows do not
/// say (`?event_kind=seminar&event_name=…&event_date=2026-11-10`).
fn options(query: &[(String, String)]) -> Result<ImportOptions, ApiError> {
    let dry_run = match request::param(query, "dry_run") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => {
            return Err(request::bad_request(
                "invalid_dry_run",
                "dry_run is true or false",
            ));
        }
    };
    let charset = request::param(query, "charset")
        .map(|c| {
            Charset::parse(c).ok_or_else(|| {
                request::bad_request("invalid_charset", "charset is utf-8 or shift_jis")
            })
        })
        .transpose()?;
    let given = |name: &str| {
        request::param(query, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok(ImportOptions {
        dry_run,
        charset,
        defaults: EventDefaults {
            kind: given("event_kind"),
            name: given("event_name"),
            date: given("event_date"),
        },
    })
}

async fn read_file(app: &App, request: Request<Incoming>) -> Result<bytes::Bytes, ApiError> {
    let limit = app.import_max_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("the file may be at most {limit} bytes ([imports] max_bytes)"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // A file takes longer than a JSON body: the total bound is at least two minutes (the
    // minimum rate still cuts off a client that stalls).
    let timing = body::BodyTiming {
        timeout: app.body_timing.timeout.max(FILE_TIMEOUT),
        ..app.body_timing
    };
    body::read(request.into_body(), limit, timing)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => too_large(),
            BodyError::TooSlow => body::too_slow(timing),
            BodyError::Unreadable(detail) => {
                request::bad_request("unreadable_body", format!("the body broke off: {detail}"))
            }
        })
}

/// The report as the API shows it.
pub fn render(report: &ImportReport) -> serde_json::Value {
    json!({
        "dry_run": report.dry_run,
        "rows": report.rows,
        "created": report.created,
        "filled": report.filled,
        "unchanged": report.unchanged,
        "events_added": report.events_added,
        "proposed": report.proposed,
        "chunks": report.chunks,
        "refused": report.refused.iter().map(|r| json!({
            "line": r.line, "reason": r.reason.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// An accounts import's report as the API shows it.
pub fn render_accounts(report: &AccountsReport) -> serde_json::Value {
    json!({
        "dry_run": report.dry_run,
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "chunks": report.chunks,
        "refused": report.refused.iter().map(|r| json!({
            "line": r.line, "reason": r.reason.to_string(),
        })).collect::<Vec<_>>(),
    })
}
