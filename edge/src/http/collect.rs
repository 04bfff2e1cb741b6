//! `POST /v1/collect` and its CORS preflight: read the request within its limits, hand it to
//! the collector, render the answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use cookie::Cookie;
use cookie::time::Duration as CookieDuration;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};

use super::body::{self, BodyError};
use super::error::ApiError;
use super::response::{self, Body};
use crate::collect::{CollectError, CollectInput, CollectOutcome, Site};
use crate::http::App;
use crate::metrics::{Code, Decision, Scope};
use crate::rules::PopupContent;

pub const VISITOR_COOKIE: &str = "mk_vid";
/// Browsers cap cookie lifetimes at 400 days.
const COOKIE_DAYS: i64 = 400;

pub async fn handle(app: &App, request: Request<Incoming>, peer: IpAddr) -> Response<Body> {
    // The request's own value, shared with the buffer it was read into: echoing it back copies
    // nothing.
    let origin = request.headers().get(header::ORIGIN).cloned();
    let origin_text = origin.as_ref().and_then(|v| v.to_str().ok());
    // Only an origin some site accepts may read our answers, errors included.
    let allowed = origin_text.is_some_and(|o| app.collector.sites.any_allows_origin(o));
    let mut response = match *request.method() {
        Method::OPTIONS => preflight(allowed),
        Method::POST => post(app, request, peer, origin_text).await,
        _ => response::error(&ApiError::method_not_allowed("POST, OPTIONS")),
    };
    if let Some(origin) = origin.filter(|_| allowed) {
        allow_origin(response.headers_mut(), origin);
    }
    response
}

async fn post(
    app: &App,
    request: Request<Incoming>,
    peer: IpAddr,
    origin: Option<&str>,
) -> Response<Body> {
    match read_and_collect(app, request, peer, origin).await {
        Ok(response) => response,
        Err(err) => {
            app.metrics
                .http
                .rejected
                .get_or_create(&Code { code: err.code })
                .inc();
            response::error(&err)
        }
    }
}

async fn read_and_collect(
    app: &App,
    request: Request<Incoming>,
    peer: IpAddr,
    origin: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    let headers = request.headers();
    let content_type = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case("application/json") && !media.eq_ignore_ascii_case("text/plain")
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json (or text/plain from sendBeacon)",
        ));
    }
    let limit = app.max_body_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body may be at most {limit} bytes"),
        )
    };
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > limit as u64) {
        // Refused without keeping any of it. A modest body is read and dropped first, so the
        // client, still sending, gets the answer instead of a reset connection.
        if len <= DRAIN_LIMIT {
            body::drain(request.into_body(), DRAIN_LIMIT as usize, app.body_timing).await;
        }
        return Err(too_large());
    }
    let client_ip = app.proxies.client_ip(peer, headers);
    let https = app.proxies.forwarded_https(peer, headers);
    let user_agent = header_str(headers, header::USER_AGENT).map(str::to_string);
    let cookie_vid = visitor_cookie(headers);
    let gpc = header_str(headers, "sec-gpc").is_some_and(|v| v.trim() == "1");
    let dnt = header_str(headers, header::DNT).is_some_and(|v| v.trim() == "1");

    let body: Bytes = match body::read(request.into_body(), limit, app.body_timing).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return Err(too_large()),
        Err(BodyError::TooSlow) => return Err(body::too_slow(app.body_timing)),
        Err(BodyError::Unreadable(e)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                format!("the body could not be read: {e}"),
            ));
        }
    };
    let outcome = app
        .collector
        .collect(CollectInput {
            body: &body,
            origin,
            cookie_vid: cookie_vid.as_deref(),
            client_ip,
            user_agent: user_agent.as_deref(),
            gpc,
            dnt,
        })
        .await
        .map_err(|e| {
            if let CollectError::RateLimited { scope, .. } = &e {
                app.metrics
                    .http
                    .rate_limited
                    .get_or_create(&Scope { scope })
                    .inc();
            }
            ApiError::from(e)
        })?;
    Ok(match outcome {
        CollectOutcome::Stored {
            site,
            vid,
            popup,
            decision,
            ..
        } => {
            app.metrics
                .rules
                .decisions
                .get_or_create(&Decision {
                    outcome: decision.as_str(),
                })
                .inc();
            let answer = Answer {
                popup: popup.as_deref(),
                vid: &vid,
            };
            // The events are stored by now: a popup that cannot be written is dropped, the id
            // (base64url) is still handed back.
            let body = serde_json::to_string(&answer).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the popup could not be written into the answer");
                format!(r#"{{"popup":null,"vid":"{vid}"}}"#)
            });
            let mut response = response::json(StatusCode::OK, body);
            if let Some(cookie) = app.visitor_cookies.header(&site, &vid, https) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        CollectOutcome::ConsentWithheld { .. } => {
            app.metrics.http.consent_withheld.inc();
            let body = serde_json::json!({"vid": null, "popup": null, "consent_required": true});
            response::json(StatusCode::OK, body.to_string())
        }
        CollectOutcome::Bot => {
            app.metrics.http.bots.inc();
            response::empty(StatusCode::NO_CONTENT)
        }
    })
}

/// A stored page view's answer: `{"popup":…,"vid":…}`.
#[derive(serde::Serialize)]
struct Answer<'a> {
    popup: Option<&'a PopupContent>,
    vid: &'a str,
}

/// Oversize bodies up to this size are read and discarded before the 413.
const DRAIN_LIMIT: u64 = 1024 * 1024;

fn preflight(allowed: bool) -> Response<Body> {
    if !allowed {
        return response::error(&ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin may not send events",
        ));
    }
    let mut response = response::empty(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    response
}

fn allow_origin(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Each site's visitor-cookie attributes, over plain HTTP and over HTTPS, rendered once by the
/// cookie crate at start-up: per answer only the value is new.
pub struct VisitorCookies {
    by_site: HashMap<Arc<str>, [String; 2]>,
}

impl VisitorCookies {
    pub fn new<'a>(sites: impl IntoIterator<Item = &'a Site>) -> Self {
        let by_site = sites
            .into_iter()
            .map(|site| {
                let attributes = [attributes(site, false), attributes(site, true)];
                (Arc::clone(&site.key), attributes)
            })
            .collect();
        VisitorCookies { by_site }
    }

    /// The `Set-Cookie` value that keeps `vid` for `site`.
    fn header(&self, site: &Site, vid: &str, https: bool) -> Option<HeaderValue> {
        let rendered;
        let attributes = match self.by_site.get(&site.key) {
            Some(both) => &both[usize::from(https)],
            None => {
                rendered = attributes(site, https);
                &rendered
            }
        };
        // The rendered text becomes the value without a second copy.
        HeaderValue::from_maybe_shared(Bytes::from(format!("{VISITOR_COOKIE}={vid}{attributes}")))
            .ok()
    }
}

/// The visitor cookie's attributes (`; HttpOnly; …`), everything after its value.
fn attributes(site: &Site, https: bool) -> String {
    let mut cookie = Cookie::build((VISITOR_COOKIE, ""))
        .path("/")
        .max_age(CookieDuration::days(COOKIE_DAYS))
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(https);
    if let Some(domain) = &site.cookie_domain {
        cookie = cookie.domain(domain.clone());
    }
    let rendered = cookie.build().to_string();
    match rendered
        .strip_prefix(VISITOR_COOKIE)
        .and_then(|r| r.strip_prefix('='))
    {
        Some(attributes) => attributes.to_string(),
        None => unreachable!("a cookie renders as name=value first: {rendered}"),
    }
}

fn visitor_cookie(headers: &HeaderMap) -> Option<String> {
    super::cookies::value(headers, VISITOR_COOKIE)
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_has_every_attribute() {
        let site = Site::for_test("demo", Some("example.co.jp"));
        let cookies = VisitorCookies::new([&site]);
        let header = cookies.header(&site, "abc", true).expect("a header");
        let cookie = header.to_str().expect("ascii");
        assert!(cookie.starts_with("mk_vid=abc; "), "{cookie}");
        for part in [
            "mk_vid=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Domain=example.co.jp",
            "Max-Age=34560000",
        ] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        // A site the cache does not know is rendered on the spot, the same way.
        let header = cookies.header(&Site::for_test("other", None), "abc", false);
        let cookie = header.as_ref().expect("a header").to_str().expect("ascii");
        assert!(
            !cookie.contains("Secure") && !cookie.contains("Domain"),
            "{cookie}"
        );
    }

    #[test]
    fn the_visitor_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mk_vid=xyz; b=2"),
        );
        assert_eq!(visitor_cookie(&headers), Some("xyz".into()));
        assert_eq!(visitor_cookie(&HeaderMap::new()), None);
    }
}
