//! The console's pages: each gathers what it shows from the services into a view (plain
//! strings and numbers, already in the reader's language and the site's time zone) and renders
//! one template. Templates escape every value unless it is a chart drawn in `svg`.

pub mod accounts;
pub mod imports;
pub mod login;
pub mod people;
pub mod popups;
pub mod setup;

use askama::Template;
use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::auth::SignedIn;
use super::i18n::Tr;
use super::{Ctx, encode};
use crate::http::error::ApiError;
use crate::http::response::{self, Body};

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

/// What the layout around every signed-in page shows.
pub struct Frame {
    pub tr: Tr,
    pub user: String,
    pub editor: bool,
    pub site: String,
    /// Link base of the site's pages: `/console/sites/{site}`.
    pub base: String,
    pub sites: Vec<String>,
    pub csrf: String,
    /// Which navigation entry is current.
    pub nav: &'static str,
    /// This page in the other language.
    pub other_lang: String,
}

impl Frame {
    pub fn new(ctx: &Ctx<'_>, who: &SignedIn, nav: &'static str, site: &str) -> Frame {
        let mut query: Vec<(String, String)> = ctx
            .query
            .iter()
            .filter(|(k, _)| k != "lang")
            .cloned()
            .collect();
        query.push(("lang".into(), ctx.tr.lang.other().code().into()));
        let other_lang = format!(
            "{}?{}",
            ctx.path,
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&query)
                .finish()
        );
        Frame {
            tr: ctx.tr.clone(),
            user: who.user.name.clone(),
            editor: who.user.can_edit(),
            site: site.to_string(),
            base: format!("/console/sites/{}", encode(site)),
            sites: who.user.sites.iter().map(|s| s.to_string()).collect(),
            csrf: who.csrf.clone(),
            nav,
            other_lang,
        }
    }

    pub fn site_link(&self, site: &str) -> String {
        format!("/console/sites/{}/{}", encode(site), self.nav)
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    tr: &'a Tr,
    message: String,
}

/// Renders a template as an HTML page.
pub fn html(status: StatusCode, page: &impl Template) -> Response<Body> {
    match page.render() {
        Ok(text) => response::with_type(status, "text/html; charset=utf-8", Bytes::from(text)),
        Err(e) => {
            tracing::error!(error = %e, "console page failed to render");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
        }
    }
}

pub fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    response::with_type(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(text.as_bytes()),
    )
}

fn error_page(ctx: &Ctx<'_>, status: StatusCode, key: &str) -> Response<Body> {
    html(
        status,
        &ErrorPage {
            tr: &ctx.tr,
            message: ctx.tr.t(key).to_string(),
        },
    )
}

pub fn not_found(ctx: &Ctx<'_>) -> Response<Body> {
    error_page(ctx, StatusCode::NOT_FOUND, "error.not_found")
}

pub fn forbidden(ctx: &Ctx<'_>, key: &str) -> Response<Body> {
    error_page(ctx, StatusCode::FORBIDDEN, key)
}

pub fn method_not_allowed(ctx: &Ctx<'_>) -> Response<Body> {
    let mut response = error_page(ctx, StatusCode::METHOD_NOT_ALLOWED, "error.not_found");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// A failure of a service, as a page: the status the API would answer, the message logged.
pub fn failed(ctx: &Ctx<'_>, err: impl Into<ApiError>) -> Response<Body> {
    let err: ApiError = err.into();
    match err.status {
        StatusCode::NOT_FOUND => not_found(ctx),
        StatusCode::FORBIDDEN => not_found(ctx),
        status if status.is_client_error() => {
            tracing::info!(code = err.code, message = %err.message, "console request refused");
            html(
                status,
                &ErrorPage {
                    tr: &ctx.tr,
                    message: err.message,
                },
            )
        }
        status => {
            tracing::error!(code = err.code, message = %err.message, "console request failed");
            error_page(ctx, status, "error.not_found")
        }
    }
}

/// After a form: back to a page with GET (303), so reloading does not post again.
pub fn see_other(location: &str) -> Response<Body> {
    let mut response = response::empty(StatusCode::SEE_OTHER);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The console's stylesheet and script: small, in the binary, cached for an hour.
pub fn asset(name: &str) -> Response<Body> {
    let (kind, text) = match name {
        "console.css" => ("text/css; charset=utf-8", CSS),
        "console.js" => ("text/javascript; charset=utf-8", JS),
        _ => return plain(StatusCode::NOT_FOUND, "no such file"),
    };
    let mut response =
        response::with_type(StatusCode::OK, kind, Bytes::from_static(text.as_bytes()));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    response
}
