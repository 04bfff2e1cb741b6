//! HTTP: routing, and the thin handlers that parse, call the domain and render.

pub mod api;
pub mod assets;
pub mod body;
pub mod client_ip;
mod collect;
pub mod console;
mod cookies;
pub mod error;
mod response;
mod shared;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tracing::Instrument;

pub use collect::{VISITOR_COOKIE, VisitorCookies};
use error::ApiError;
pub use response::Body;
pub use shared::{App, Shared};

use crate::metrics::{Route as RouteLabel, RouteStatus, RuleArm};
use crate::store::Health;

/// Every answer's id, as the log names it; built once (a name given as text is copied on every
/// insert).
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Collect,
    Tag(&'a str),
    Demo(&'a str),
    DemoRoot,
    Root,
    Health,
    Metrics,
    Api(&'a str),
    Console(&'a str),
    ConsoleRoot,
    NotFound,
}

impl Route<'_> {
    fn label(&self) -> &'static str {
        match self {
            Route::Collect => "collect",
            Route::Tag(_) => "tag",
            Route::Demo(_) | Route::DemoRoot | Route::Root => "demo",
            Route::Health => "healthz",
            Route::Metrics => "metrics",
            Route::Api(_) => "api",
            Route::Console(_) | Route::ConsoleRoot => "console",
            Route::NotFound => "not_found",
        }
    }
}

/// Which listener a request came in on. The public one serves everything, but `/metrics` only
/// with the metrics token and `/healthz` in full only with it; the admin listener
/// (`server.admin_listen`, for operators' networks) serves only those two, without a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Public,
    Admin,
}

/// Public routes (tag, assets, collect) live under the configurable prefix so a site can proxy
/// them from its own domain; operator routes do not.
fn route<'a>(path: &'a str, public_prefix: &str) -> Route<'a> {
    if let Some(public) = path
        .strip_prefix(public_prefix)
        .and_then(|p| p.strip_prefix('/'))
    {
        if public == "v1/collect" {
            return Route::Collect;
        }
        if !public.is_empty() && !public.contains('/') && public_prefix_allows_tag(public) {
            return Route::Tag(public);
        }
    }
    match path {
        "/" => Route::Root,
        "/healthz" => Route::Health,
        "/metrics" => Route::Metrics,
        "/demo" => Route::DemoRoot,
        "/console" => Route::ConsoleRoot,
        _ => {
            if let Some(rest) = path.strip_prefix("/demo/") {
                Route::Demo(rest)
            } else if let Some(rest) = path.strip_prefix("/api/v1/") {
                Route::Api(rest)
            } else if let Some(rest) = path.strip_prefix("/console/") {
                Route::Console(rest)
            } else {
                Route::NotFound
            }
        }
    }
}

/// Tag files are plain names with an extension (`t.js`, `tracker.1a2b.wasm`).
fn public_prefix_allows_tag(name: &str) -> bool {
    name.contains('.') && !name.starts_with('.')
}

pub async fn handle(
    app: App,
    surface: Surface,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let request_id = app.next_request_id();
    let span = tracing::debug_span!("request", id = request_id, method = %request.method(), path = %request.uri().path());
    let path = request.uri().path().to_string();
    let route = match route(&path, &app.public_prefix) {
        route @ (Route::Health | Route::Metrics) => route,
        _ if surface == Surface::Admin => Route::NotFound,
        route => route,
    };
    let label = route.label();
    let mut response = dispatch(&app, surface, route, request, peer)
        .instrument(span)
        .await;
    let status = response.status();
    app.metrics
        .http
        .requests
        .get_or_create(&RouteStatus {
            route: label,
            status: status.as_u16(),
        })
        .inc();
    app.metrics
        .http
        .latency_seconds
        .get_or_create(&RouteLabel { route: label })
        .observe(started.elapsed().as_secs_f64());
    if status.is_server_error() {
        tracing::warn!(id = request_id, %status, path, "request failed");
    }
    response
        .headers_mut()
        .insert(X_REQUEST_ID, HeaderValue::from(request_id));
    Ok(response)
}

async fn dispatch(
    app: &App,
    surface: Surface,
    route: Route<'_>,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let get_only =
        |request: &Request<Incoming>| matches!(*request.method(), Method::GET | Method::HEAD);
    match route {
        Route::Collect => collect::handle(app, request, peer.ip()).await,
        Route::Api(rest) => api::handle(app, request, rest).await,
        Route::Console(rest) => console::handle(app, request, rest, peer).await,
        Route::NotFound => response::error(&ApiError::not_found()),
        _ if !get_only(&request) => response::error(&ApiError::method_not_allowed("GET, HEAD")),
        Route::Tag(name) => match app.tag.get(name) {
            Some(asset) => asset.respond(request.headers()),
            None if name == app.tag.loader_name && !app.tag.is_built() => {
                response::error(&ApiError::new(
                    StatusCode::NOT_FOUND,
                    "tag_not_built",
                    "the tag has not been built; run `cargo xtask demo` or `cargo xtask test`",
                ))
            }
            None => response::error(&ApiError::not_found()),
        },
        Route::Demo(rest) => match app.demo.as_ref().and_then(|d| d.get(rest)) {
            Some(asset) => asset.respond(request.headers()),
            None => response::error(&ApiError::not_found()),
        },
        Route::DemoRoot | Route::Root if app.demo.is_some() => response::redirect("/demo/"),
        Route::ConsoleRoot => response::redirect("/console/"),
        Route::Health => health(app, operator(app, surface, &request)),
        Route::Metrics if operator(app, surface, &request) => metrics(app),
        Route::Metrics if app.metrics_token.is_some() => response::error(&ApiError::unauthorized()),
        Route::Metrics => response::error(&ApiError::not_found()),
        Route::DemoRoot | Route::Root => response::error(&ApiError::not_found()),
    }
}

/// Whether the caller is an operator: on the admin listener, or presenting the metrics token
/// (compared in constant time).
fn operator(app: &App, surface: Surface, request: &Request<Incoming>) -> bool {
    if surface == Surface::Admin {
        return true;
    }
    let Some(token) = &app.metrics_token else {
        return false;
    };
    request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|presented| {
            bool::from(subtle::ConstantTimeEq::ct_eq(
                presented.trim().as_bytes(),
                token.as_slice(),
            ))
        })
}

/// The health of the store. Anyone may ask whether the edge is up (load balancers do), but the
/// reasons and the counts (visitors, events, spooled records) are for operators only.
fn health(app: &App, operator: bool) -> Response<Body> {
    let health = app.store.health();
    let status = match health {
        Health::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
        Health::Ok | Health::Degraded(_) => StatusCode::OK,
    };
    let word = match health {
        Health::Ok => "ok",
        Health::Degraded(_) => "degraded",
        Health::Failed(_) => "failed",
    };
    let body = if operator {
        serde_json::json!({
            "status": word,
            "store": { "health": health, "stats": app.store.stats() },
            "tag_built": app.tag.is_built(),
            "version": env!("CARGO_PKG_VERSION"),
        })
    } else {
        serde_json::json!({ "status": word })
    };
    response::json(status, body.to_string())
}

fn metrics(app: &App) -> Response<Body> {
    let stats = app.store.stats();
    let gauges = &app.metrics.gauges;
    gauges.visitors.set(stats.visitors as i64);
    gauges.log_bytes.set(stats.log_bytes as i64);
    let expired = &app.store.engine().expired;
    let read = |n: &std::sync::atomic::AtomicU64| {
        i64::try_from(n.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i64::MAX)
    };
    gauges.expired_visitors.set(read(&expired.visitors));
    gauges.expired_people.set(read(&expired.people));
    gauges.expired_events.set(read(&expired.events));
    gauges
        .healthy
        .set(i64::from(app.store.health() == Health::Ok));
    {
        let table = crate::engine::lock(&app.store.engine().alerts);
        let alerts = &app.metrics.alerts;
        alerts.dead_letters.set(table.dead_letters().len() as i64);
        alerts.pending.set(table.pending().len() as i64);
        alerts
            .suppressed
            .set(i64::try_from(table.suppressed).unwrap_or(i64::MAX));
    }
    let rules = &app.metrics.rules;
    rules.loaded.set(app.collector.rules.status().rules as i64);
    for ((rule, arm), counts) in app.store.popup_totals(None) {
        let label = RuleArm {
            rule,
            arm: arm.unwrap_or_else(|| "holdout".into()),
        };
        let set = |family: &prometheus_client::metrics::family::Family<
            RuleArm,
            prometheus_client::metrics::gauge::Gauge,
        >,
                   value: u64| {
            family
                .get_or_create(&label)
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        };
        set(&rules.eligible, counts.eligible);
        set(&rules.shown, counts.shown);
        set(&rules.dismissed, counts.dismissed);
        set(&rules.submitted, counts.submitted);
        set(&rules.converted, counts.converted);
    }
    response::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        app.metrics.render().into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_with_and_without_a_public_prefix() {
        let cases = [
            ("/v1/collect", "", Route::Collect),
            ("/t.js", "", Route::Tag("t.js")),
            (
                "/tracker.1a2b3c4d.wasm",
                "",
                Route::Tag("tracker.1a2b3c4d.wasm"),
            ),
            ("/mk/v1/collect", "/mk", Route::Collect),
            ("/mk/t.js", "/mk", Route::Tag("t.js")),
            ("/v1/collect", "/mk", Route::NotFound),
            ("/t.js", "/mk", Route::NotFound),
            ("/healthz", "/mk", Route::Health),
            ("/metrics", "", Route::Metrics),
            ("/demo/", "", Route::Demo("")),
            ("/demo/en/pricing.html", "", Route::Demo("en/pricing.html")),
            ("/demo", "", Route::DemoRoot),
            ("/", "", Route::Root),
            ("/api/v1/visitors/abc", "", Route::Api("visitors/abc")),
            ("/console/", "", Route::Console("")),
            ("/console", "/mk", Route::ConsoleRoot),
            ("/mk/console/", "/mk", Route::NotFound),
            ("/healthz", "", Route::Health),
            ("/nope", "", Route::NotFound),
        ];
        for (path, prefix, expected) in cases {
            assert_eq!(route(path, prefix), expected, "{path} under {prefix:?}");
        }
    }
}
