//! The browser, as the hand-written `js/host.js` offers it: a few functions with plain string
//! and number arguments instead of one binding per browser API, which keeps both the module and
//! its glue small. None of them throws: a missing API reads as `None` or `false`.

use wasm_bindgen::prelude::wasm_bindgen;

use crate::url::{cookie_value, valid_vid};

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    /// Milliseconds since the epoch.
    pub(crate) fn mk_now() -> f64;
    /// 0: the page's URL, 1: its title, 2: its referrer, 3: its cookies, 4: its language.
    fn mk_str(what: u32) -> Option<String>;
    /// Whether the page is visible.
    pub(crate) fn mk_visible() -> bool;
    fn mk_load(key: &str) -> Option<String>;
    /// Stores `value` under `key`, or removes the key for `None`.
    fn mk_store(key: &str, value: Option<&str>);
    fn mk_set_cookie(cookie: &str);
    /// Replaces the address bar's URL (history.replaceState).
    pub(crate) fn mk_replace(url: &str);
    /// Calls the module's `tick` after `ms` milliseconds.
    pub(crate) fn mk_later(ms: i32);
    /// Posts `body` to `url`; the answer comes back through `answer`.
    pub(crate) fn mk_post(url: &str, body: &str) -> bool;
    /// `navigator.sendBeacon`.
    pub(crate) fn mk_beacon(url: &str, body: &str) -> bool;
    /// Installs the page listeners.
    pub(crate) fn mk_listen();
}

/// localStorage key of the visitor id.
const VID_KEY: &str = "mk_vid";
/// First-party cookie holding the visitor id (the edge's own cookie is `mk_vid`, HttpOnly).
const VID_COOKIE: &str = "_mkvid";
/// Lifetime of the first-party cookie: 400 days, the most browsers keep.
const COOKIE_MAX_AGE: &str = "34560000";

pub(crate) fn now() -> f64 {
    mk_now()
}

/// The page's current URL.
pub(crate) fn href() -> Option<String> {
    mk_str(0)
}

pub(crate) fn title() -> Option<String> {
    mk_str(1)
}

pub(crate) fn referrer() -> Option<String> {
    mk_str(2)
}

/// The page's language (`<html lang>`).
pub(crate) fn lang() -> Option<String> {
    mk_str(4)
}

pub(crate) fn load(key: &str) -> Option<String> {
    mk_load(key)
}

pub(crate) fn store(key: &str, value: &str) {
    mk_store(key, Some(value));
}

pub(crate) fn forget(key: &str) {
    mk_store(key, None);
}

/// The visitor id kept by an earlier page, from localStorage or the first-party cookie.
pub(crate) fn stored_vid() -> Option<String> {
    let from_cookie = || {
        let cookies = mk_str(3)?;
        cookie_value(&cookies, VID_COOKIE).map(str::to_owned)
    };
    load(VID_KEY).or_else(from_cookie).filter(|v| valid_vid(v))
}

/// Keeps (or, with `None`, removes) the visitor id in localStorage and the cookie.
pub(crate) fn keep_vid(vid: Option<&str>) {
    let secure = href().is_some_and(|h| h.starts_with("https:"));
    let mut cookie = String::from(VID_COOKIE);
    cookie.push('=');
    match vid {
        Some(v) => {
            store(VID_KEY, v);
            cookie.push_str(v);
            cookie.push_str("; Max-Age=");
            cookie.push_str(COOKIE_MAX_AGE);
        }
        None => {
            forget(VID_KEY);
            cookie.push_str("; Max-Age=0");
        }
    }
    cookie.push_str("; Path=/; SameSite=Lax");
    if secure {
        cookie.push_str("; Secure");
    }
    mk_set_cookie(&cookie);
}
