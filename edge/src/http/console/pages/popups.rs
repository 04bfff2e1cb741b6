//! Popups: each rule's arms with eligible, shown, dismissed, submitted, converted, the
//! conversion rate with its 95 % interval against the holdout's, and lift; the rules file's
//! reload status; preview links (editors) and "explain for a visitor".

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use hyper::{Response, StatusCode};

use super::super::{Ctx, form_field, svg};
use super::{Frame, failed, html};
use crate::http::api::request_visitor_id;
use crate::http::response::Body;
use crate::service::rules as service;

pub struct ArmRow {
    pub arm: String,
    pub holdout: bool,
    pub eligible: String,
    pub shown: String,
    pub dismissed: String,
    pub submitted: String,
    pub converted: String,
    pub rate: String,
    pub chart: String,
    pub lift: String,
    /// The interval lies wholly above the holdout's rate.
    pub beats: bool,
}

pub struct RuleBlock {
    pub rule: String,
    pub arms: Vec<ArmRow>,
}

/// A condition or cap of a rule: whether it held, what it is, and why.
pub type Check = (bool, String, String);

pub struct Explained {
    pub decision: String,
    /// Each rule: its id, outcome, and checks.
    pub rules: Vec<(String, String, Vec<Check>)>,
}

#[derive(Template)]
#[template(path = "console/popups.html")]
struct PopupsPage {
    frame: Frame,
    rules: Vec<RuleBlock>,
    rule_ids: Vec<String>,
    reload_ok: bool,
    reload_detail: String,
    preview: Option<String>,
    explained: Option<Explained>,
    vid: String,
    url: String,
    error: Option<String>,
}

pub async fn page(
    ctx: &Ctx<'_>,
    frame: Frame,
    site: &str,
    preview: Option<String>,
) -> Response<Body> {
    let rules = &ctx.app.collector.rules;
    let sites: Vec<Arc<str>> = vec![site.into()];
    let results = service::results(rules, ctx.app.store.as_ref(), &sites);
    let tr = &frame.tr;
    let blocks: Vec<RuleBlock> = results
        .iter()
        .map(|r| {
            let holdout = r.arms.iter().find(|a| a.arm == "holdout");
            let scale = r
                .arms
                .iter()
                .map(|a| a.conversion_ci95[1])
                .fold(0.05f64, f64::max);
            RuleBlock {
                rule: r.rule.clone(),
                arms: r
                    .arms
                    .iter()
                    .map(|a| {
                        let c = &a.counts;
                        let is_holdout = a.arm == "holdout";
                        ArmRow {
                            arm: if is_holdout {
                                tr.t("popups.holdout").to_string()
                            } else {
                                a.arm.clone()
                            },
                            holdout: is_holdout,
                            eligible: tr.int(c.eligible as i64),
                            shown: tr.int(c.shown as i64),
                            dismissed: tr.int(c.dismissed as i64),
                            submitted: tr.int(c.submitted as i64),
                            converted: tr.int(c.converted as i64),
                            rate: format!(
                                "{} ({}–{})",
                                tr.percent(a.conversion_rate),
                                tr.percent(a.conversion_ci95[0]),
                                tr.percent(a.conversion_ci95[1])
                            ),
                            chart: svg::interval(
                                a.conversion_rate,
                                a.conversion_ci95[0],
                                a.conversion_ci95[1],
                                scale,
                                holdout.filter(|_| !is_holdout).map(|h| h.conversion_rate),
                            ),
                            lift: a
                                .lift
                                .map(|l| format!("{:+.0}%", l * 100.0))
                                .unwrap_or_default(),
                            beats: !is_holdout
                                && holdout.is_some_and(|h| {
                                    h.counts.eligible > 0
                                        && a.conversion_ci95[0] > h.conversion_ci95[1]
                                }),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let set = rules.current();
    let rule_ids = set
        .rules
        .iter()
        .filter(|r| r.applies_to(site))
        .map(|r| r.id.to_string())
        .collect();
    let status = rules.status();
    let vid = ctx.param("vid").unwrap_or("").to_string();
    let url = ctx.param("url").unwrap_or("").to_string();
    let mut error = None;
    let explained = if vid.is_empty() || url.is_empty() {
        None
    } else {
        let explained = match request_visitor_id(ctx.app, &vid) {
            Ok(id) => service::explain(
                rules,
                ctx.app.store.as_ref(),
                &sites[0],
                id,
                &url,
                None,
                ctx.now_ms,
            )
            .await
            .map_err(crate::http::error::ApiError::from),
            Err(e) => Err(e),
        };
        match explained {
            Ok(e) => Some(Explained {
                decision: e.decision.to_string(),
                rules: e
                    .rules
                    .iter()
                    .map(|r| {
                        (
                            r.rule.clone(),
                            r.outcome.clone(),
                            r.conditions
                                .iter()
                                .map(|c| (c.held, c.condition.clone(), c.detail.clone()))
                                .chain(
                                    r.caps
                                        .iter()
                                        .map(|c| (c.held, c.cap.clone(), c.detail.clone())),
                                )
                                .collect(),
                        )
                    })
                    .collect(),
            }),
            Err(e) => {
                error = Some(e.message);
                None
            }
        }
    };
    let page = PopupsPage {
        rules: blocks,
        rule_ids,
        reload_ok: status.last_error.is_none(),
        reload_detail: status.last_error.unwrap_or_else(|| {
            format!(
                "{} · {}",
                tr.datetime(status.loaded_ms),
                tr.int(status.rules as i64)
            )
        }),
        preview,
        explained,
        vid,
        url,
        error,
        frame,
    };
    html(StatusCode::OK, &page)
}

/// Mints a preview link for a rule (editors): the page URL with `mk_preview`, valid one day.
pub async fn preview(
    ctx: &Ctx<'_>,
    frame: Frame,
    site: &str,
    form: &[(String, String)],
) -> Response<Body> {
    let field = |name: &str| {
        form_field(form, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let url = field("url").unwrap_or("");
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
        return failed(
            ctx,
            crate::service::rules::RulesApiError::BadUrl(url.chars().take(100).collect()),
        );
    }
    let minted = service::preview(
        &ctx.app.collector.rules,
        site,
        field("rule").unwrap_or(""),
        field("variant"),
        Duration::from_secs(86_400),
        ctx.now_ms,
    );
    match minted {
        Ok((token, _)) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let link = format!("{url}{separator}mk_preview={token}");
            page(ctx, frame, site, Some(link)).await
        }
        Err(e) => failed(ctx, e),
    }
}
