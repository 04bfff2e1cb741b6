//! Importing a people list from the console (editors): a form with the CSV file, an optional
//! event for rows that name none, and two buttons: preview (a dry run: what would be created,
//! filled, left unchanged, and every refused line) and import. The same service as
//! `POST /api/v1/people/import`; the body is `multipart/form-data`, bounded by
//! `[imports] max_bytes`, and carries the session's form token like every console form.

use std::sync::Arc;

use askama::Template;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header;
use hyper::{Request, Response, StatusCode};

use super::super::auth::{Auth, SignedIn};
use super::super::multipart;
use super::super::{Ctx, same_origin};
use super::{Frame, failed, forbidden, html, plain};
use crate::http::response::Body;
use crate::imports::people::EventDefaults;
use crate::service::imports::{self, ImportOptions, ImportReport};

/// The outcome of a preview or an import, as the page shows it.
pub struct Outcome {
    pub dry_run: bool,
    pub file: String,
    pub counts: Vec<(&'static str, String)>,
    pub refused: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/import.html")]
struct ImportPage {
    frame: Frame,
    action: String,
    max_mib: String,
    outcome: Option<Outcome>,
}

fn page(ctx: &Ctx<'_>, frame: Frame, outcome: Option<Outcome>) -> ImportPage {
    ImportPage {
        action: format!("{}/people/import", frame.base),
        max_mib: format!("{}", ctx.app.import_max_bytes / (1024 * 1024)),
        outcome,
        frame,
    }
}

/// `GET …/people/import`: the form.
pub fn form(ctx: &Ctx<'_>, frame: Frame) -> Response<Body> {
    html(StatusCode::OK, &page(ctx, frame, None))
}

/// `POST …/people/import`: a preview or an import of the uploaded file.
pub async fn upload(
    ctx: &Ctx<'_>,
    who: &SignedIn,
    frame: Frame,
    site: &str,
    request: Request<Incoming>,
) -> Response<Body> {
    if !same_origin(&ctx.headers) {
        return forbidden(ctx, "error.csrf");
    }
    let limit = ctx.app.import_max_bytes;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The form's own fields and boundaries come on top of the file.
    let limit = limit + 64 * 1024;
    if declared.is_some_and(|n| n > limit as u64) {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the file is larger than [imports] max_bytes",
        );
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the file is larger than [imports] max_bytes",
            );
        }
    };
    let parts = match multipart::boundary(&content_type)
        .and_then(|boundary| multipart::parts(&body, &boundary))
    {
        Ok(parts) => parts,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "the upload is not a form"),
    };
    let field = |name: &str| -> Option<&str> {
        parts
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| std::str::from_utf8(p.data).ok())
            .map(str::trim)
    };
    if !Auth::csrf_ok(who, field("_csrf")) {
        return forbidden(ctx, "error.csrf");
    }
    if !who.user.can_edit() {
        return forbidden(ctx, "error.forbidden");
    }
    let Some(file) = parts.iter().find(|p| p.name == "file") else {
        return plain(StatusCode::BAD_REQUEST, "the form has no file");
    };
    let given = |name: &str| field(name).filter(|v| !v.is_empty()).map(str::to_string);
    let options = ImportOptions {
        dry_run: field("action") != Some("import"),
        charset: None,
        defaults: EventDefaults {
            kind: given("event_kind"),
            name: given("event_name"),
            date: given("event_date"),
        },
    };
    let result = imports::import_people(
        Arc::clone(&ctx.app.store),
        Arc::from(site),
        body.slice_ref(file.data),
        &options,
        ctx.now_ms,
    )
    .await;
    let report = match result {
        Ok(report) => report,
        Err(e) => return failed(ctx, e),
    };
    if !report.dry_run {
        tracing::info!(user = %who.user.name, site, rows = report.rows, created = report.created, "console import");
    }
    let outcome = outcome(&frame, file.filename.clone().unwrap_or_default(), &report);
    html(StatusCode::OK, &page(ctx, frame, Some(outcome)))
}

/// Refused lines shown at most; the count says how many more there were.
const MAX_REFUSED_SHOWN: usize = 200;

fn outcome(frame: &Frame, file: String, report: &ImportReport) -> Outcome {
    let tr = &frame.tr;
    let count = |n: usize| tr.int(n as i64);
    let mut refused: Vec<(String, String)> = report
        .refused
        .iter()
        .take(MAX_REFUSED_SHOWN)
        .map(|r| (count(r.line as usize), r.reason.to_string()))
        .collect();
    if report.refused.len() > MAX_REFUSED_SHOWN {
        refused.push((
            "…".into(),
            format!(
                "{} {}",
                count(report.refused.len() - MAX_REFUSED_SHOWN),
                tr.t("import.more_refused")
            ),
        ));
    }
    Outcome {
        dry_run: report.dry_run,
        file,
        counts: vec![
            (tr.t("import.rows"), count(report.rows)),
            (tr.t("import.created"), count(report.created)),
            (tr.t("import.filled"), count(report.filled)),
            (tr.t("import.unchanged"), count(report.unchanged)),
            (tr.t("import.events_added"), count(report.events_added)),
            (tr.t("import.proposed"), count(report.proposed)),
            (tr.t("import.refused"), count(report.refused.len())),
        ],
        refused,
    }
}
