//! `GET /api/v1/sessions?identified=true&after=CURSOR&limit=N`: the identified sessions feed.
//! A session appears again when it changes (it became identified, it got events), after every
//! entry that was already there; paging from any cursor never skips or repeats an update.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;

use super::render;
use super::request::{self, bad_request, param};
use crate::engine::feed::{cursor, parse_cursor};
use crate::http::App;
use crate::http::error::ApiError;
use crate::http::response::{self, Body};
use crate::service::sessions;

pub async fn list(
    app: &App,
    sites: &[Arc<str>],
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = request::query(request);
    let site = request::site(sites, &query)?;
    if param(&query, "identified").is_some_and(|v| v != "true") {
        return Err(bad_request(
            "identified_only",
            "the feed holds identified sessions only: use identified=true or leave it out",
        ));
    }
    let after = param(&query, "after")
        .filter(|c| !c.is_empty())
        .map(|c| {
            parse_cursor(c)
                .ok_or_else(|| bad_request("invalid_cursor", "use a next_cursor this API returned"))
        })
        .transpose()?;
    let limit = match param(&query, "limit") {
        Some(text) => text.parse::<usize>().unwrap_or(0),
        None => sessions::DEFAULT_LIMIT,
    };
    let page = sessions::feed(app.store.as_ref(), &site, after, limit).await?;
    let now = request::now(app);
    let half_life = request::half_life(app);
    let sessions: Vec<_> = page
        .items
        .iter()
        .map(|i| render::feed_item(i, now, half_life))
        .collect();
    // With nothing new, the cursor stays where the client is, so polling resumes correctly.
    let next = page.next.or(after).map(cursor);
    let body = json!({"sessions": sessions, "next_cursor": next});
    Ok(response::json(StatusCode::OK, body.to_string()))
}
