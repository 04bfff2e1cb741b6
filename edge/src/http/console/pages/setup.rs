//! Setup: the first thing an operator checks after installing the tag. Whether events arrive
//! and from which pages, the company databases loaded, how much recent traffic has a company
//! behind it, what was left out as bots or rate-limited, and the store's health.

use askama::Template;
use hyper::{Response, StatusCode, header};

use super::super::Ctx;
use super::{Frame, failed, html};
use crate::engine::lock;
use crate::http::response::Body;
use crate::metrics::Scope;
use crate::store::Health;

const WEEK_MS: i64 = 7 * 86_400_000;

pub struct LayerRow {
    pub name: String,
    pub file: String,
    pub schema: String,
    pub built: String,
    pub networks: String,
}

pub struct KindRow {
    pub kind: &'static str,
    pub sessions: String,
    pub share: String,
    pub business: bool,
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    frame: Frame,
    tag_seen: bool,
    last_event: String,
    origins: Vec<(String, bool)>,
    snippet: String,
    layers: Vec<LayerRow>,
    recent: String,
    resolved: String,
    kinds: Vec<KindRow>,
    bots: String,
    limited_ip: String,
    limited_site: String,
    health_ok: bool,
    health: String,
    visitors: String,
    pending: String,
}

pub async fn page(ctx: &Ctx<'_>, frame: Frame, site: &str) -> Response<Body> {
    let app = ctx.app;
    let overview = match app.store.site_overview(site, ctx.now_ms - WEEK_MS).await {
        Ok(o) => o,
        Err(e) => return failed(ctx, crate::http::error::ApiError::from(e)),
    };
    let tr = &frame.tr;
    let origins = app
        .collector
        .sites
        .get(site)
        .map(|s| s.origins())
        .unwrap_or_default();
    let host = ctx
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("edge.example.co.jp");
    let scheme = if ctx.https { "https" } else { "http" };
    let snippet = format!(
        r#"<script async src="{scheme}://{host}{}/{}" data-site="{site}"></script>"#,
        app.public_prefix, app.tag.loader_name
    );
    let layers = app
        .collector
        .resolver
        .as_ref()
        .map(|r| {
            r.current()
                .layers()
                .iter()
                .map(|l| LayerRow {
                    name: l.name().to_string(),
                    file: l.path().display().to_string(),
                    schema: format!("{:?}", l.schema()),
                    built: tr.datetime(i64::try_from(l.build_epoch()).unwrap_or(0) * 1000),
                    networks: tr.int(i64::try_from(l.networks()).unwrap_or(i64::MAX)),
                })
                .collect()
        })
        .unwrap_or_default();
    let share = |n: u64| {
        if overview.recent_sessions == 0 {
            "–".to_string()
        } else {
            tr.percent(n as f64 / overview.recent_sessions as f64)
        }
    };
    let mut kinds: Vec<KindRow> = overview
        .by_network_kind
        .iter()
        .map(|(kind, n)| KindRow {
            kind: tr.t(&format!("kind.{kind}")),
            sessions: tr.int(*n as i64),
            share: share(*n),
            business: *kind == "business",
        })
        .collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.business));
    let http = &app.metrics.http;
    let limited = |scope: &'static str| {
        tr.int(http.rate_limited.get_or_create(&Scope { scope }).get() as i64)
    };
    let health = app.store.health();
    let pending = lock(&app.store.engine().outbox)
        .entries
        .values()
        .filter(|e| &*e.site == site)
        .count();
    let page = SetupPage {
        tag_seen: overview.last_event_ms.is_some(),
        last_event: overview
            .last_event_ms
            .map(|ms| format!("{} ({})", tr.datetime(ms), tr.ago(ms, ctx.now_ms)))
            .unwrap_or_default(),
        origins,
        snippet,
        layers,
        recent: tr.int(overview.recent_sessions as i64),
        resolved: share(overview.resolved_sessions),
        kinds,
        bots: tr.int(http.bots.get() as i64),
        limited_ip: limited("ip"),
        limited_site: limited("site"),
        health_ok: health == Health::Ok,
        health: match &health {
            Health::Ok => "ok".into(),
            Health::Degraded(r) => format!("degraded: {r}"),
            Health::Failed(r) => format!("failed: {r}"),
        },
        visitors: tr.int(overview.visitors as i64),
        pending: tr.int(pending as i64),
        frame,
    };
    html(StatusCode::OK, &page)
}
