//! Leads: people by stage and score, and one person's page: their whole timeline across
//! devices (the anonymous history a conversion brought along included), why the score is what
//! it is, the audit, and for editors the stage, split and merge.

use std::sync::Arc;

use askama::Template;
use hyper::{Response, StatusCode};

use super::super::auth::SignedIn;
use super::super::i18n::Tr;
use super::super::{Ctx, encode, form_field};
use super::{Frame, failed, html, not_found, see_other};
use crate::engine::vid_hex;
use crate::event::{Event, PopupAction};
use crate::http::api::request_visitor_id;
use crate::http::response::Body;
use crate::imports::apply::events as offline_events;
use crate::model::Session;
use crate::model::offline::{OfflineEvent, OfflineKind};
use crate::model::person::{AuditKind, JoinSource, Stage};
use crate::scoring::breakdown::Behaviour;
use crate::service::people::{self, MAX_LIST};

/// One visit as the timelines show it.
pub struct VisitView {
    pub when: String,
    pub who: String,
    /// Anonymous when it happened: before the device was tied to the person.
    pub before: bool,
    pub referrer: String,
    pub utm: String,
    pub steps: Vec<Step>,
    /// An offline event (a seminar, a business card) from an imported list, not a visit.
    pub offline: bool,
}

/// One thing that happened in a visit.
pub struct Step {
    pub time: String,
    pub kind: &'static str,
    pub text: String,
    pub detail: String,
}

fn utm_of(url: &str) -> String {
    let Some((_, query)) = url.split_once('?') else {
        return String::new();
    };
    form_urlencoded::parse(query.split('#').next().unwrap_or("").as_bytes())
        .filter(|(k, _)| k.starts_with("utm_"))
        .map(|(k, v)| format!("{}={}", &k[4..], v))
        .collect::<Vec<_>>()
        .join(" ")
}

fn path_of(url: &str) -> String {
    let path = crate::glob::url_path(url);
    if path.is_empty() {
        "/".into()
    } else {
        path.to_string()
    }
}

pub fn visit_view(tr: &Tr, session: &Session, who: String, before: bool) -> VisitView {
    let mut referrer = String::new();
    let mut utm = String::new();
    let mut steps = Vec::new();
    for stored in &session.events {
        let time = tr.time(stored.received_ms);
        let step = |kind: &'static str, text: String, detail: String| Step {
            time: time.clone(),
            kind,
            text,
            detail,
        };
        match &stored.event {
            Event::PageView {
                url,
                referrer: r,
                title,
            } => {
                if steps.is_empty() {
                    referrer = r.clone().unwrap_or_default();
                    utm = utm_of(url);
                }
                steps.push(step(
                    "page",
                    title
                        .clone()
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| path_of(url)),
                    path_of(url),
                ));
            }
            Event::Conversion { form, fields, .. } => steps.push(step(
                "conversion",
                format!("{}: {form}", tr.t("visit.conversion")),
                fields
                    .iter()
                    .filter(|(k, _)| k == "company" || k == "name")
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" / "),
            )),
            Event::Popup {
                rule,
                variant,
                action,
                ..
            } => {
                let action = match action {
                    PopupAction::Shown => tr.t("popups.shown"),
                    PopupAction::Dismissed => tr.t("popups.dismissed"),
                    PopupAction::Submitted => tr.t("popups.submitted"),
                };
                steps.push(step(
                    "popup",
                    format!("{}: {rule} ({variant})", tr.t("visit.popup")),
                    action.to_string(),
                ));
            }
            Event::EmailClick { url, .. } => steps.push(step(
                "click",
                tr.t("visit.click").to_string(),
                url.as_deref().map(path_of).unwrap_or_default(),
            )),
            Event::Download { href, .. } => steps.push(step(
                "download",
                tr.t("visit.download").to_string(),
                href.clone(),
            )),
            _ => {}
        }
    }
    VisitView {
        when: tr.datetime(session.started_ms),
        who,
        before,
        referrer: if referrer.is_empty() {
            tr.t("visit.direct").to_string()
        } else {
            referrer
        },
        utm,
        steps,
        offline: false,
    }
}

/// An offline event as the timeline shows it, among the visits: its day, its kind and name.
pub fn offline_view(tr: &Tr, event: &OfflineEvent) -> VisitView {
    let kind = offline_kind(tr, &event.kind);
    VisitView {
        when: match tr.lang {
            super::super::i18n::Lang::Ja => event.date.replace('-', "/"),
            super::super::i18n::Lang::En => event.date.clone(),
        },
        who: tr.t("visit.offline").to_string(),
        before: false,
        referrer: String::new(),
        utm: String::new(),
        steps: vec![Step {
            time: String::new(),
            kind: "offline",
            text: if event.name.is_empty() {
                kind.clone()
            } else {
                format!("{kind}「{}」", event.name)
            },
            detail: String::new(),
        }],
        offline: true,
    }
}

/// The label of an offline event's kind; a custom kind shows as the list named it.
fn offline_kind(tr: &Tr, kind: &OfflineKind) -> String {
    match kind {
        OfflineKind::Seminar => tr.t("offline.seminar").to_string(),
        OfflineKind::Exhibition => tr.t("offline.exhibition").to_string(),
        OfflineKind::BusinessCard => tr.t("offline.business_card").to_string(),
        OfflineKind::Call => tr.t("offline.call").to_string(),
        OfflineKind::Custom(label) => label.clone(),
    }
}

pub struct LeadRow {
    pub name: String,
    pub email: String,
    pub company: String,
    pub link: String,
    pub stage: &'static str,
    pub score: String,
    pub last_seen: String,
}

pub struct StageTab {
    pub link: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/people.html")]
struct PeoplePage {
    frame: Frame,
    tabs: Vec<StageTab>,
    rows: Vec<LeadRow>,
    total: String,
}

const STAGES: [Stage; 5] = [
    Stage::Lead,
    Stage::Mql,
    Stage::Sql,
    Stage::Opportunity,
    Stage::Customer,
];

pub async fn list(ctx: &Ctx<'_>, frame: Frame, site: &str) -> Response<Body> {
    let stage = ctx.param("stage").and_then(Stage::parse);
    let sites: Vec<Arc<str>> = vec![site.into()];
    let (leads, total) = match people::list(
        ctx.app.store.as_ref(),
        &sites,
        site,
        stage,
        ctx.now_ms,
        MAX_LIST,
    )
    .await
    {
        Ok(found) => found,
        Err(e) => return failed(ctx, e),
    };
    let tr = &frame.tr;
    let mut tabs = vec![StageTab {
        link: format!("{}/people", frame.base),
        label: tr.t("people.all"),
        current: stage.is_none(),
    }];
    tabs.extend(STAGES.iter().map(|s| StageTab {
        link: format!("{}/people?stage={}", frame.base, s.as_str()),
        label: tr.stage(s.as_str()),
        current: stage == Some(*s),
    }));
    let rows = leads
        .iter()
        .map(|l| LeadRow {
            name: l.person.attributes.name.clone().unwrap_or_default(),
            email: l.person.email.clone(),
            company: l.person.attributes.company.clone().unwrap_or_default(),
            link: format!("{}/people/{}", frame.base, l.person.id),
            stage: tr.stage(l.person.stage.as_str()),
            score: tr.dec(l.score),
            last_seen: tr.ago(l.person.last_seen_ms, ctx.now_ms),
        })
        .collect();
    let page = PeoplePage {
        total: tr.int(total as i64),
        tabs,
        rows,
        frame,
    };
    html(StatusCode::OK, &page)
}

pub struct ScoreLine {
    pub behaviour: String,
    pub count: String,
    pub points: String,
}

pub struct AuditLine {
    pub when: String,
    pub what: String,
}

pub struct Device {
    pub id: String,
    pub linked: bool,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct PersonPage {
    frame: Frame,
    id: String,
    action: String,
    name: String,
    email: String,
    attributes: Vec<(&'static str, String)>,
    stage: &'static str,
    stage_value: &'static str,
    stages: Vec<(&'static str, &'static str)>,
    score: String,
    lines: Vec<ScoreLine>,
    rest: Option<String>,
    visits: Vec<VisitView>,
    audit: Vec<AuditLine>,
    devices: Vec<Device>,
}

fn behaviour_text(tr: &Tr, behaviour: &Behaviour) -> String {
    let (ja, en): (String, String) = match behaviour {
        Behaviour::PageView => ("ページ閲覧".into(), "Page views".into()),
        Behaviour::KeyPage(glob) => (format!("重要ページ {glob}"), format!("Key page {glob}")),
        Behaviour::EngagedMinute => ("滞在（分）".into(), "Minutes engaged".into()),
        Behaviour::Conversion => ("フォーム送信".into(), "Form submissions".into()),
        Behaviour::Form(form) => (format!("フォーム「{form}」"), format!("Form \"{form}\"")),
        Behaviour::EmailClick => ("メールのクリック".into(), "Email clicks".into()),
        Behaviour::Download => ("ダウンロード".into(), "Downloads".into()),
        Behaviour::PopupSubmit => ("ポップアップ送信".into(), "Popup submissions".into()),
    };
    match tr.lang {
        super::super::i18n::Lang::Ja => ja,
        super::super::i18n::Lang::En => en,
    }
}

fn audit_text(tr: &Tr, what: &AuditKind) -> String {
    let source = |s: &JoinSource| match s {
        JoinSource::Form => tr.t("audit.form"),
        JoinSource::EmailClick => tr.t("audit.email_click"),
    };
    match what {
        AuditKind::Joined {
            visitor,
            source: s,
            retroactive,
        } => format!(
            "{} ({}, {}{})",
            tr.t("audit.joined"),
            source(s),
            &vid_hex(*visitor)[..8],
            if *retroactive {
                format!(", {}", tr.t("audit.retroactive"))
            } else {
                String::new()
            }
        ),
        AuditKind::SharedDevice {
            visitor, from, to, ..
        } => format!(
            "{} ({}: {from} → {to})",
            tr.t("audit.shared"),
            &vid_hex(*visitor)[..8]
        ),
        AuditKind::Split { visitor } => {
            format!("{} ({})", tr.t("audit.split"), &vid_hex(*visitor)[..8])
        }
        AuditKind::Merged { survivor, merged } => {
            format!("{}: {merged} → {survivor}", tr.t("audit.merged"))
        }
        AuditKind::StageChanged { from, to } => format!(
            "{}: {} → {}",
            tr.t("audit.stage"),
            tr.stage(from.as_str()),
            tr.stage(to.as_str())
        ),
        AuditKind::ClickIgnored { visitor, reason } => format!(
            "{} ({}: {reason})",
            tr.t("audit.click_ignored"),
            &vid_hex(*visitor)[..8]
        ),
        AuditKind::ProposedChange {
            visitor,
            attribute,
            value,
        } => format!(
            "{} ({}: {attribute} = {value})",
            tr.t("audit.proposed"),
            &vid_hex(*visitor)[..8]
        ),
        AuditKind::ConversionScored { form } => {
            format!("{}: {form}", tr.t("audit.conversion_scored"))
        }
        AuditKind::Offline(event) => format!(
            "{}: {}「{}」 {}",
            tr.t("audit.offline"),
            offline_kind(tr, &event.kind),
            event.name,
            event.date
        ),
        AuditKind::ImportProposed { attribute, value } => {
            format!("{} ({attribute} = {value})", tr.t("audit.import_proposed"))
        }
    }
}

pub async fn person(ctx: &Ctx<'_>, frame: Frame, site: &str, id: &str) -> Response<Body> {
    let sites: Vec<Arc<str>> = vec![site.into()];
    let timeline = match people::timeline(ctx.app.store.as_ref(), &sites, id).await {
        Ok(t) => t,
        Err(e) => return failed(ctx, e),
    };
    let p = &timeline.person;
    if p.id.to_string() != id {
        // A merged id: its survivor's page.
        return see_other(&format!("{}/people/{}", frame.base, p.id));
    }
    let tr = &frame.tr;
    let scoring = &ctx.app.store.engine().model.scoring;
    let breakdown = people::score_breakdown(scoring, &timeline, ctx.now_ms);
    let score = p.score.at(ctx.now_ms, scoring.half_life_ms);
    let explained: f64 = breakdown.iter().map(|l| l.points).sum();
    let mut lines: Vec<ScoreLine> = breakdown
        .iter()
        .map(|l| ScoreLine {
            behaviour: behaviour_text(tr, &l.behaviour),
            count: tr.int(l.count as i64),
            points: tr.dec(l.points),
        })
        .collect();
    // Offline events earn their `[scoring.offline]` points on their day, decayed since.
    let offline = offline_events(p);
    let mut offline_points = 0.0;
    for event in &offline {
        let earned = crate::model::person::Score {
            value: scoring.offline_points(&event.kind),
            as_of_ms: event.at_ms,
        };
        offline_points += earned.at(ctx.now_ms, scoring.half_life_ms);
    }
    if !offline.is_empty() {
        lines.push(ScoreLine {
            behaviour: tr.t("score.offline").to_string(),
            count: tr.int(offline.len() as i64),
            points: tr.dec(offline_points),
        });
    }
    let explained = explained + offline_points;
    let rest = (score - explained > 0.05).then(|| tr.dec(score - explained));
    let name = p.attributes.name.clone().unwrap_or_else(|| p.email.clone());
    // Visits and offline events in one timeline, newest first.
    let mut dated: Vec<(i64, VisitView)> = timeline
        .sessions
        .iter()
        .map(|(session, visitor)| {
            let before = people::was_anonymous(p, session, *visitor);
            let view = visit_view(tr, session, vid_hex(*visitor)[..8].to_string(), before);
            (session.started_ms, view)
        })
        .collect();
    dated.extend(offline.iter().map(|e| (e.at_ms, offline_view(tr, e))));
    dated.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let visits = dated.into_iter().map(|(_, view)| view).collect();
    let a = &p.attributes;
    let attributes = [
        ("attr.company", &a.company),
        ("attr.department", &a.department),
        ("attr.title", &a.title),
        ("attr.phone", &a.phone),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (tr.t(k), v)))
    .collect();
    let linked: Vec<_> = timeline
        .sessions
        .iter()
        .map(|(_, v)| *v)
        .chain(p.visitors.iter().copied())
        .collect();
    let mut devices: Vec<Device> = Vec::new();
    for v in linked {
        let id = vid_hex(v);
        if !devices.iter().any(|d| d.id == id) {
            devices.push(Device {
                linked: p.visitors.contains(&v),
                id,
            });
        }
    }
    let page = PersonPage {
        id: p.id.to_string(),
        action: format!("{}/people/{}", frame.base, encode(&p.id.to_string())),
        name,
        email: p.email.clone(),
        attributes,
        stage: tr.stage(p.stage.as_str()),
        stage_value: p.stage.as_str(),
        stages: STAGES
            .iter()
            .map(|s| (s.as_str(), tr.stage(s.as_str())))
            .collect(),
        score: tr.dec(score),
        lines,
        rest,
        visits,
        audit: p
            .audit
            .iter()
            .rev()
            .map(|e| AuditLine {
                when: tr.datetime(e.at_ms),
                what: audit_text(tr, &e.what),
            })
            .collect(),
        devices,
        frame,
    };
    html(StatusCode::OK, &page)
}

/// An editor's change from the person page; back to the page afterwards.
pub async fn change(
    ctx: &Ctx<'_>,
    who: &SignedIn,
    site: &str,
    id: &str,
    action: &str,
    form: &[(String, String)],
) -> Response<Body> {
    let field = |name: &str| form_field(form, name).map_or("", str::trim);
    let store = ctx.app.store.as_ref();
    let sites: Vec<Arc<str>> = vec![site.into()];
    let result = match action {
        "stage" => {
            people::update(store, &sites, id, Some(field("stage")), Default::default()).await
        }
        "split" => match request_visitor_id(ctx.app, field("visitor")) {
            Ok(visitor) => people::split(store, &sites, id, visitor).await,
            Err(e) => return failed(ctx, e),
        },
        "merge" => people::merge(store, &sites, id, field("from")).await,
        _ => return not_found(ctx),
    };
    match result {
        Ok(timeline) => {
            tracing::info!(user = %who.user.name, person = %timeline.person.id, action, "console change");
            see_other(&format!(
                "/console/sites/{}/people/{}",
                encode(site),
                timeline.person.id
            ))
        }
        Err(e) => failed(ctx, e),
    }
}
