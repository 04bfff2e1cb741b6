//! Signing in and out.

use askama::Template;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use super::super::auth::{LoginRefused, SESSION_COOKIE};
use super::super::i18n::Tr;
use super::super::{Ctx, form_field, set_cookie};
use super::{html, see_other};
use crate::http::response::Body;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    tr: &'a Tr,
    error: Option<&'static str>,
    name: &'a str,
    other_lang: &'static str,
}

pub fn form(ctx: &Ctx<'_>, error: Option<(&'static str, StatusCode)>) -> Response<Body> {
    render(ctx, error, "")
}

fn render(ctx: &Ctx<'_>, error: Option<(&'static str, StatusCode)>, name: &str) -> Response<Body> {
    let no_users = !ctx.app.console.auth.has_users();
    let (error, status) = match error {
        Some((key, status)) => (Some(ctx.tr.t(key)), status),
        None if no_users => (Some(ctx.tr.t("login.no_users")), StatusCode::OK),
        None => (None, StatusCode::OK),
    };
    let other_lang = match ctx.tr.lang.other() {
        super::super::i18n::Lang::Ja => "/console/login?lang=ja",
        super::super::i18n::Lang::En => "/console/login?lang=en",
    };
    html(
        status,
        &LoginPage {
            tr: &ctx.tr,
            error,
            name,
            other_lang,
        },
    )
}

pub async fn submit(ctx: &Ctx<'_>, form: &[(String, String)]) -> Response<Body> {
    let field = |name: &str| form_field(form, name).unwrap_or("");
    let name = field("user");
    let auth = &ctx.app.console.auth;
    match auth.login(name, field("password"), ctx.address).await {
        Ok(user) => {
            let Some(value) = auth.session_for(&user, ctx.now_ms) else {
                tracing::error!(user = %user.name, "console session could not be sealed");
                return render(ctx, Some(("login.wrong", StatusCode::UNAUTHORIZED)), name);
            };
            tracing::info!(user = %user.name, "console sign-in");
            let mut response = see_other("/console/");
            set_cookie(
                response.headers_mut(),
                SESSION_COOKIE,
                value,
                cookie::time::Duration::seconds(auth.ttl.as_secs() as i64),
                ctx.https,
            );
            response
        }
        Err(LoginRefused::WrongPassword) => {
            tracing::info!(user = %name.chars().take(64).collect::<String>(), address = %ctx.address, "console sign-in refused");
            render(ctx, Some(("login.wrong", StatusCode::UNAUTHORIZED)), name)
        }
        Err(LoginRefused::RateLimited(wait)) => {
            tracing::warn!(address = %ctx.address, "console sign-in rate-limited");
            let mut response = render(
                ctx,
                Some(("login.limited", StatusCode::TOO_MANY_REQUESTS)),
                name,
            );
            let seconds = wait.as_secs().max(1);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
    }
}

/// Signs out: the cookie is cleared. The sealed value stays valid until it expires, so a copy
/// taken from the browser could still be used; removing or changing the user in the
/// configuration ends every session at once.
pub fn logout(ctx: &Ctx<'_>) -> Response<Body> {
    let mut response = see_other("/console/login");
    set_cookie(
        response.headers_mut(),
        SESSION_COOKIE,
        String::new(),
        cookie::time::Duration::ZERO,
        ctx.https,
    );
    response
}
