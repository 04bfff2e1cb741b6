//! Companies: the hot list (今アクセスしている企業), its CSV, and one company's page.

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::super::i18n::Tr;
use super::super::{Ctx, encode, svg};
use super::people::{VisitView, visit_view};
use super::{Frame, failed, html, not_found};
use crate::accounts::{HotAccount, HotQuery, attack_list};
use crate::engine::vid_hex;
use crate::http::response::{self, Body};
use crate::service::accounts::{self, HotFilter};

/// Rows the list shows (and the CSV holds) at most.
const ROWS: usize = 200;
/// "Now on the site": a visit within this long.
const NOW_MS: i64 = 5 * 60_000;
/// Companies "now on the site" lists at most.
const NOW_ROWS: usize = 20;
const DAY_MS: i64 = 86_400_000;

pub struct HotRow {
    pub rank: usize,
    pub name: String,
    pub domain: String,
    pub link: String,
    pub band: &'static str,
    pub industry: String,
    pub country: String,
    pub heat: String,
    pub visits: String,
    pub known: String,
    pub anonymous: String,
    pub key_pages: String,
    pub last_seen: String,
    pub last_seen_at: String,
    pub spark: String,
    pub confident: bool,
    /// From an imported accounts list: the status's label and code, and the owner.
    pub status: &'static str,
    pub status_code: &'static str,
    pub owner: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct HotPage {
    frame: Frame,
    rows: Vec<HotRow>,
    now: Vec<HotRow>,
    windows: Vec<Choice>,
    bands: Vec<Choice>,
    industries: Vec<Choice>,
    countries: Vec<Choice>,
    new_only: bool,
    known_only: bool,
    hide_customers: bool,
    all_names: bool,
    hidden: usize,
    csv: String,
    show_all: String,
}

/// The list's query from the page's parameters: what is on screen and in the CSV alike.
struct Selection {
    query: HotQuery,
    filter: HotFilter,
    window: &'static str,
}

fn selection(ctx: &Ctx<'_>) -> Selection {
    let (window, window_ms) = match ctx.param("window") {
        Some("today") => (
            "today",
            (ctx.now_ms - ctx.tr.start_of_day(ctx.now_ms)).max(1),
        ),
        Some("30d") => ("30d", 30 * DAY_MS),
        _ => ("7d", 7 * DAY_MS),
    };
    let text = |name: &str| {
        ctx.param(name)
            .map(|v| v.chars().take(100).collect::<String>())
    };
    Selection {
        query: HotQuery {
            now_ms: ctx.now_ms,
            window_ms,
            limit: ROWS,
            confident_only: ctx.param("names") != Some("all"),
        },
        filter: HotFilter {
            size_band: ctx
                .param("band")
                .filter(|b| ["small", "mid", "enterprise"].contains(b))
                .map(str::to_string),
            industry: text("industry"),
            country: text("country"),
            first_seen_since_ms: (ctx.param("new") == Some("1")).then(|| ctx.now_ms - 7 * DAY_MS),
            last_seen_since_ms: None,
            has_known_people: ctx.param("known") == Some("1"),
            hide_customers: ctx.param("customers") == Some("hide"),
        },
        window,
    }
}

fn row(tr: &Tr, base: &str, rank: usize, a: &HotAccount, now_ms: i64) -> HotRow {
    let f = &a.firmographics;
    HotRow {
        rank,
        name: f.name.clone().unwrap_or_else(|| a.domain.clone()),
        domain: a.domain.clone(),
        link: format!("{base}/accounts/{}", encode(&a.domain)),
        band: tr.band(f.size_band.as_deref()),
        industry: f.industry.clone().unwrap_or_default(),
        country: f.country.clone().unwrap_or_default(),
        heat: tr.dec(a.heat),
        visits: tr.int(a.visits),
        known: tr.int(a.known_visitors),
        anonymous: tr.int(a.anonymous_visitors),
        key_pages: a
            .key_pages
            .iter()
            .map(|(p, n)| format!("{p} ×{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        last_seen: tr.ago(a.last_seen_ms, now_ms),
        last_seen_at: tr.datetime(a.last_seen_ms),
        spark: svg::sparkline(&a.recent_visits),
        confident: f.confident,
        status: a
            .status
            .map_or("", |s| tr.t(&format!("account.status.{s}"))),
        status_code: a.status.unwrap_or(""),
        owner: a.owner.clone().unwrap_or_default(),
    }
}

fn choices(values: BTreeSet<String>, selected: Option<&str>, any: &str) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: String::new(),
        label: any.to_string(),
        selected: selected.is_none(),
    }];
    out.extend(values.into_iter().map(|v| Choice {
        selected: selected == Some(v.as_str()),
        label: v.clone(),
        value: v,
    }));
    out
}

pub async fn hot(ctx: &Ctx<'_>, frame: Frame, site: &str) -> Response<Body> {
    let store = ctx.app.store.as_ref();
    let chosen = selection(ctx);
    let list = match accounts::hot_filtered(store, site, &chosen.query, &chosen.filter).await {
        Ok(list) => list,
        Err(e) => return failed(ctx, e),
    };
    // "Now on the site": the same list narrowed to the last minutes.
    let now_filter = HotFilter {
        last_seen_since_ms: Some(ctx.now_ms - NOW_MS),
        ..chosen.filter.clone()
    };
    let now_query = HotQuery {
        limit: NOW_ROWS,
        ..chosen.query
    };
    let now = match accounts::hot_filtered(store, site, &now_query, &now_filter).await {
        Ok(now) => now.accounts,
        Err(e) => return failed(ctx, e),
    };
    let tr = &frame.tr;
    let rows: Vec<HotRow> = list
        .accounts
        .iter()
        .enumerate()
        .map(|(i, a)| row(tr, &frame.base, i + 1, a, ctx.now_ms))
        .collect();
    let now: Vec<HotRow> = now
        .iter()
        .enumerate()
        .map(|(i, a)| row(tr, &frame.base, i + 1, a, ctx.now_ms))
        .collect();
    let query_string = |extra: Option<(&str, &str)>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &ctx.query {
            if k != "lang" && extra.is_none_or(|(ek, _)| ek != k) {
                s.append_pair(k, v);
            }
        }
        if let Some((k, v)) = extra {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let windows = [
        ("today", "window.today"),
        ("7d", "window.7d"),
        ("30d", "window.30d"),
    ]
    .into_iter()
    .map(|(value, key)| Choice {
        value: value.into(),
        label: tr.t(key).into(),
        selected: chosen.window == value,
    })
    .collect();
    let bands = std::iter::once(Choice {
        value: String::new(),
        label: tr.t("filter.any").into(),
        selected: chosen.filter.size_band.is_none(),
    })
    .chain(["small", "mid", "enterprise"].into_iter().map(|b| Choice {
        value: b.into(),
        label: tr.band(Some(b)).into(),
        selected: chosen.filter.size_band.as_deref() == Some(b),
    }))
    .collect();
    let page = HotPage {
        industries: choices(
            list.industries,
            chosen.filter.industry.as_deref(),
            tr.t("filter.any"),
        ),
        countries: choices(
            list.countries,
            chosen.filter.country.as_deref(),
            tr.t("filter.any"),
        ),
        windows,
        bands,
        new_only: chosen.filter.first_seen_since_ms.is_some(),
        known_only: chosen.filter.has_known_people,
        hide_customers: chosen.filter.hide_customers,
        all_names: !chosen.query.confident_only,
        hidden: list.hidden_unconfident,
        csv: format!("{}/accounts.csv?{}", frame.base, query_string(None)),
        show_all: format!(
            "{}/accounts?{}",
            frame.base,
            query_string(Some(("names", "all")))
        ),
        rows,
        now,
        frame,
    };
    html(StatusCode::OK, &page)
}

/// The attack list of exactly what the page shows for the same parameters.
pub async fn csv(ctx: &Ctx<'_>, site: &str) -> Response<Body> {
    let chosen = selection(ctx);
    match accounts::hot_filtered(ctx.app.store.as_ref(), site, &chosen.query, &chosen.filter).await
    {
        Ok(list) => {
            let mut response = response::with_type(
                StatusCode::OK,
                "text/csv; charset=utf-8",
                Bytes::from(attack_list(&list.accounts)),
            );
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"attack-list.csv\""),
            );
            response
        }
        Err(e) => failed(ctx, e),
    }
}

pub struct PersonRow {
    pub name: String,
    pub email: String,
    pub link: String,
    pub stage: &'static str,
    pub score: String,
    pub last_seen: String,
}

#[derive(Template)]
#[template(path = "console/company.html")]
struct CompanyPage {
    frame: Frame,
    name: String,
    domain: String,
    band: &'static str,
    employees: String,
    industry: String,
    country: String,
    source: String,
    confident: bool,
    daily: String,
    key_pages: Vec<(String, String)>,
    people: Vec<PersonRow>,
    anonymous: Vec<(String, String)>,
    visits: Vec<VisitView>,
}

pub async fn company(ctx: &Ctx<'_>, frame: Frame, site: &str, domain: &str) -> Response<Body> {
    let site: Arc<str> = site.into();
    let found = match accounts::company(ctx.app.store.as_ref(), &site, domain).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(ctx),
        Err(e) => return failed(ctx, e),
    };
    let tr = &frame.tr;
    let a = &found.account;
    let f = &a.firmographics;
    // The last 30 days with a bar for each, quiet days included.
    let today = ctx.now_ms.div_euclid(DAY_MS);
    let daily: Vec<(String, u32)> = (today - 29..=today)
        .map(|day| {
            let visits = a
                .days
                .iter()
                .find(|d| d.day_ms == day * DAY_MS)
                .map_or(0, |d| d.visits);
            (tr.day(day * DAY_MS), visits)
        })
        .collect();
    let half_life = ctx.app.half_life_ms;
    let people = found
        .people
        .iter()
        .map(|p| PersonRow {
            name: p.attributes.name.clone().unwrap_or_default(),
            email: p.email.clone(),
            link: format!("{}/people/{}", frame.base, p.id),
            stage: tr.stage(p.stage.as_str()),
            score: tr.dec(p.score.at(ctx.now_ms, half_life)),
            last_seen: tr.ago(p.last_seen_ms, ctx.now_ms),
        })
        .collect();
    let anonymous = a
        .visitors
        .iter()
        .filter(|(_, _, person)| person.is_none())
        .take(50)
        .map(|(v, last, _)| (vid_hex(*v), tr.ago(*last, ctx.now_ms)))
        .collect();
    let visits = found
        .visits
        .iter()
        .map(|v| {
            let who = match v
                .person
                .and_then(|id| found.people.iter().find(|p| p.id == id))
            {
                Some(p) => p.attributes.name.clone().unwrap_or_else(|| p.email.clone()),
                None => tr.t("anonymous").to_string(),
            };
            visit_view(tr, &v.session, who, false)
        })
        .collect();
    let source = if f.source == "email" {
        tr.t("company.source_email").to_string()
    } else {
        f.source.clone()
    };
    let page = CompanyPage {
        name: f.name.clone().unwrap_or_else(|| a.domain.clone()),
        domain: a.domain.clone(),
        band: tr.band(f.size_band.as_deref()),
        employees: f.employees.map(|e| tr.int(e)).unwrap_or_default(),
        industry: f.industry.clone().unwrap_or_default(),
        country: f.country.clone().unwrap_or_default(),
        source,
        confident: f.confident,
        daily: svg::bars(&daily),
        key_pages: a
            .key_pages
            .iter()
            .map(|(p, n)| (p.clone(), tr.int(*n)))
            .collect(),
        people,
        anonymous,
        visits,
        frame,
    };
    html(StatusCode::OK, &page)
}
