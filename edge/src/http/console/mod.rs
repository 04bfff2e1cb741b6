//! The sales and marketing console under `/console/`: the companies researching a site now,
//! each company's and each lead's story, how every popup performs, and whether the tag is
//! installed. Server-rendered HTML (askama templates, escaped by default) that works without
//! JavaScript; charts are SVG drawn here. Pages call the same services as the backend API.
//!
//! Mounted on the edge's own listener, beside `/api/v1/` and outside the public prefix: the
//! public prefix is what a site proxies from its own domain for the tag, and the console must
//! not be reachable through a customer's site. An operator who wants it on an internal
//! network only puts the listener behind their reverse proxy, as for the API.

pub mod auth;
mod i18n;
mod multipart;
mod pages;
mod svg;

use std::collections::HashMap;
use std::net::SocketAddr;

use cookie::Cookie;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use jiff::tz::TimeZone;

pub use auth::Auth;
use auth::{SESSION_COOKIE, SignedIn};
use i18n::{LANG_COOKIE, Lang, Tr};

use super::App;
use super::body::{self, BodyError, BodyTiming};
use super::response::Body;
use crate::config::Config;

/// Form bodies are small: a stage, an id, a URL.
const MAX_FORM: usize = 16 * 1024;

/// What the console needs beyond the services: who may sign in and each site's time zone.
pub struct Console {
    pub auth: Auth,
    zones: HashMap<String, TimeZone>,
}

impl Console {
    pub fn new(config: &Config, secret: &[u8]) -> Console {
        let zones = config
            .sites
            .iter()
            .map(|s| {
                let s = s.get_ref();
                let zone = TimeZone::get(s.time_zone.get_ref()).unwrap_or(TimeZone::UTC);
                (s.key.get_ref().as_str().to_string(), zone)
            })
            .collect();
        Console {
            auth: Auth::new(config, secret),
            zones,
        }
    }

    fn zone(&self, site: &str) -> TimeZone {
        self.zones.get(site).cloned().unwrap_or(TimeZone::UTC)
    }
}

/// Where a console request goes: the path below `/console/`.
#[derive(Debug, PartialEq, Eq)]
enum Page<'a> {
    Home,
    Login,
    Logout,
    Asset(&'a str),
    Accounts(&'a str),
    AccountsCsv(&'a str),
    Company(&'a str, String),
    People(&'a str),
    PeopleImport(&'a str),
    Person(&'a str, &'a str),
    PersonAction(&'a str, &'a str, &'a str),
    Popups(&'a str),
    Preview(&'a str),
    Setup(&'a str),
    NotFound,
}

fn page(path: &str) -> Page<'_> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [""] => Page::Home,
        ["login"] => Page::Login,
        ["logout"] => Page::Logout,
        ["assets", name] => Page::Asset(name),
        ["sites", site] | ["sites", site, ""] => Page::Accounts(site),
        ["sites", site, "accounts"] => Page::Accounts(site),
        ["sites", site, "accounts.csv"] => Page::AccountsCsv(site),
        ["sites", site, "accounts", domain] => match decode(domain) {
            Some(domain) => Page::Company(site, domain),
            None => Page::NotFound,
        },
        ["sites", site, "people"] => Page::People(site),
        ["sites", site, "people", "import"] => Page::PeopleImport(site),
        ["sites", site, "people", id] => Page::Person(site, id),
        [
            "sites",
            site,
            "people",
            id,
            action @ ("stage" | "split" | "merge"),
        ] => Page::PersonAction(site, id, action),
        ["sites", site, "popups"] => Page::Popups(site),
        ["sites", site, "popups", "preview"] => Page::Preview(site),
        ["sites", site, "setup"] => Page::Setup(site),
        _ => Page::NotFound,
    }
}

/// A submitted form's value of `name`, as sent (a password keeps its spaces).
pub(crate) fn form_field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A path segment, percent-decoded.
fn decode(segment: &str) -> Option<String> {
    let text = format!("x={}", segment.replace('+', "%2B"));
    form_urlencoded::parse(text.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty() && v.len() <= 253)
}

/// A path segment, percent-encoded.
pub(crate) fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// One request as the pages see it: who, in which language, what they asked.
pub(crate) struct Ctx<'a> {
    pub app: &'a App,
    pub tr: Tr,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub path: String,
    pub now_ms: i64,
    /// The language chosen with `?lang=` on this request: remembered in a cookie.
    pub chose_lang: bool,
    pub https: bool,
    pub address: std::net::IpAddr,
}

impl Ctx<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The site's time zone from now on (pages of a site show its local times).
    pub fn in_site(&mut self, site: &str) {
        self.tr.zone = self.app.console.zone(site);
    }
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    super::cookies::value(headers, name)
}

/// Sets a console cookie: `HttpOnly`, `SameSite=Strict`, scoped to `/console/`, `Secure` when
/// the request came over HTTPS; a zero `max_age` removes it.
pub(crate) fn set_cookie(
    headers: &mut HeaderMap,
    name: &'static str,
    value: String,
    max_age: cookie::time::Duration,
    https: bool,
) {
    let cookie = Cookie::build((name, value))
        .path("/console/")
        .max_age(max_age)
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(https)
        .build();
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// Requests below `/console/`.
pub async fn handle(
    app: &App,
    request: Request<Incoming>,
    path: &str,
    peer: SocketAddr,
) -> Response<Body> {
    let headers = request.headers().clone();
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let chosen = query
        .iter()
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(v));
    let remembered = cookie_value(&headers, LANG_COOKIE);
    let lang = chosen.unwrap_or_else(|| Lang::negotiate(remembered.as_deref(), &headers));
    let mut ctx = Ctx {
        app,
        tr: Tr {
            lang,
            zone: TimeZone::UTC,
        },
        query,
        path: request.uri().path().to_string(),
        now_ms: app.collector.clock.now_ms(),
        chose_lang: chosen.is_some(),
        https: app.proxies.forwarded_https(peer.ip(), &headers),
        address: app.proxies.client_ip(peer.ip(), &headers),
        headers,
    };
    let method = request.method().clone();
    let page = page(path);
    let mut response = match (&method, page) {
        (&Method::GET | &Method::HEAD, Page::Asset(name)) => pages::asset(name),
        (&Method::GET | &Method::HEAD, Page::Login) => pages::login::form(&ctx, None),
        (&Method::POST, Page::Login) => match read_form(request, ctx.app.body_timing).await {
            Ok(form) => pages::login::submit(&ctx, &form).await,
            Err(response) => response,
        },
        (_, Page::NotFound) => pages::not_found(&ctx),
        (_, page) => {
            let session = cookie_value(&ctx.headers, SESSION_COOKIE)
                .and_then(|c| app.console.auth.session(&c, ctx.now_ms));
            match session {
                None if method == Method::GET => pages::see_other("/console/login"),
                None => pages::forbidden(&ctx, "error.csrf"),
                Some(who) => signed_in(&mut ctx, &who, method, page, request).await,
            }
        }
    };
    let headers = response.headers_mut();
    secure_headers(headers);
    if ctx.chose_lang {
        set_cookie(
            headers,
            LANG_COOKIE,
            ctx.tr.lang.code().into(),
            cookie::time::Duration::days(365),
            ctx.https,
        );
    }
    response
}

async fn signed_in(
    ctx: &mut Ctx<'_>,
    who: &SignedIn,
    method: Method,
    page: Page<'_>,
    request: Request<Incoming>,
) -> Response<Body> {
    let get = matches!(method, Method::GET | Method::HEAD);
    if let Page::Home = page {
        return match who.user.sites.first() {
            Some(site) => pages::see_other(&format!("/console/sites/{}/accounts", encode(site))),
            None => pages::not_found(ctx),
        };
    }
    if let Some(site) = page_site(&page) {
        // Another user's site answers as a page that does not exist: no oracle.
        if !who.user.sees(site) {
            return pages::not_found(ctx);
        }
        ctx.in_site(site);
    }
    if let (false, Page::PeopleImport(site)) = (get, &page) {
        // The one form with a file: multipart, up to `[imports] max_bytes`, its token inside.
        let frame = pages::Frame::new(ctx, who, "people", site);
        return pages::imports::upload(ctx, who, frame, site, request).await;
    }
    let form = if get {
        Vec::new()
    } else {
        let form = match read_form(request, ctx.app.body_timing).await {
            Ok(form) => form,
            Err(response) => return response,
        };
        let token = form_field(&form, "_csrf");
        if !Auth::csrf_ok(who, token) || !same_origin(&ctx.headers) {
            return pages::forbidden(ctx, "error.csrf");
        }
        form
    };
    let frame = |nav: &'static str, site: &str| pages::Frame::new(ctx, who, nav, site);
    match (get, page) {
        (false, Page::Logout) => pages::login::logout(ctx),
        (true, Page::Accounts(site)) => {
            pages::accounts::hot(ctx, frame("accounts", site), site).await
        }
        (true, Page::AccountsCsv(site)) => pages::accounts::csv(ctx, site).await,
        (true, Page::Company(site, domain)) => {
            pages::accounts::company(ctx, frame("accounts", site), site, &domain).await
        }
        (true, Page::People(site)) => pages::people::list(ctx, frame("people", site), site).await,
        (true, Page::PeopleImport(site)) => pages::imports::form(ctx, frame("people", site)),
        (true, Page::Person(site, id)) => {
            pages::people::person(ctx, frame("people", site), site, id).await
        }
        (false, Page::PersonAction(site, id, action)) => {
            if !who.user.can_edit() {
                return pages::forbidden(ctx, "error.forbidden");
            }
            pages::people::change(ctx, who, site, id, action, &form).await
        }
        (true, Page::Popups(site)) => {
            pages::popups::page(ctx, frame("popups", site), site, None).await
        }
        (false, Page::Preview(site)) => {
            if !who.user.can_edit() {
                return pages::forbidden(ctx, "error.forbidden");
            }
            pages::popups::preview(ctx, frame("popups", site), site, &form).await
        }
        (true, Page::Setup(site)) => pages::setup::page(ctx, frame("setup", site), site).await,
        _ => pages::method_not_allowed(ctx),
    }
}

fn page_site<'a>(page: &Page<'a>) -> Option<&'a str> {
    match page {
        Page::Accounts(s)
        | Page::AccountsCsv(s)
        | Page::Company(s, _)
        | Page::People(s)
        | Page::PeopleImport(s)
        | Page::Person(s, _)
        | Page::PersonAction(s, _, _)
        | Page::Popups(s)
        | Page::Preview(s)
        | Page::Setup(s) => Some(s),
        _ => None,
    }
}

/// A browser's cross-site form post names another origin; one without an `Origin` header
/// (older browsers, same-origin navigations in some) is left to the token.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// A form body within the console's size bound and the server's body timing: a client that
/// sends the headers and then dribbles the form holds a connection no longer than any other.
async fn read_form(
    request: Request<Incoming>,
    timing: BodyTiming,
) -> Result<Vec<(String, String)>, Response<Body>> {
    let bytes = match body::read(request.into_body(), MAX_FORM, timing).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return Err(pages::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the form is larger than 16 KiB",
            ));
        }
        Err(BodyError::TooSlow) => {
            let mut response = pages::plain(
                StatusCode::REQUEST_TIMEOUT,
                "the form came too slowly; send it again",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Err(response);
        }
        Err(BodyError::Unreadable(_)) => {
            return Err(pages::plain(
                StatusCode::BAD_REQUEST,
                "the form could not be read",
            ));
        }
    };
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// What every console answer carries: no caching of personal data, no framing, no scripts or
/// styles from anywhere but the console itself.
fn secure_headers(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
    );
    set(headers, "x-frame-options", "DENY");
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_paths_route_to_pages() {
        assert_eq!(page(""), Page::Home);
        assert_eq!(page("login"), Page::Login);
        assert_eq!(page("sites/demo/accounts"), Page::Accounts("demo"));
        assert_eq!(
            page("sites/demo/accounts/example.co.jp"),
            Page::Company("demo", "example.co.jp".into())
        );
        assert_eq!(
            page("sites/demo/accounts/%E4%BE%8B.jp"),
            Page::Company("demo", "例.jp".into())
        );
        assert_eq!(
            page("sites/demo/people/p1/stage"),
            Page::PersonAction("demo", "p1", "stage")
        );
        assert_eq!(page("sites/demo/people/p1/erase"), Page::NotFound);
        assert_eq!(page("sites/demo/people/import"), Page::PeopleImport("demo"));
        assert_eq!(page("nope"), Page::NotFound);
        assert_eq!(encode("例 a+b"), "%E4%BE%8B%20a%2Bb");
        assert_eq!(decode(&encode("例 a+b")).as_deref(), Some("例 a+b"));
    }

    #[test]
    fn cross_site_posts_are_told_apart() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&headers));
    }
}
