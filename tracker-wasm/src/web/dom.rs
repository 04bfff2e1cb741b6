//! Small browser helpers. None of them throws or panics: a missing API reads as `None`.

use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    AddEventListenerOptions, Document, Element, EventTarget, HtmlDocument, Storage, Window,
};

use crate::url::{cookie_value, valid_vid};

/// localStorage key of the visitor id.
const VID_KEY: &str = "mk_vid";
/// First-party cookie holding the visitor id (the edge's own cookie is `mk_vid`, HttpOnly).
const VID_COOKIE: &str = "_mkvid";
/// localStorage key of the waiting events.
pub(crate) const QUEUE_KEY: &str = "mk_q";
/// localStorage key of the visitor's consent choice ("1" or "0").
pub(crate) const CONSENT_KEY: &str = "mk_consent";
/// Lifetime of the first-party cookie: 400 days, the most browsers keep.
const COOKIE_MAX_AGE: &str = "34560000";

pub(crate) fn window() -> Option<Window> {
    web_sys::window()
}

pub(crate) fn document() -> Option<Document> {
    window()?.document()
}

pub(crate) fn now() -> f64 {
    js_sys::Date::now()
}

/// The page's current URL.
pub(crate) fn href() -> Option<String> {
    window()?.location().href().ok()
}

fn storage() -> Option<Storage> {
    window()?.local_storage().ok().flatten()
}

pub(crate) fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub(crate) fn store(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

pub(crate) fn forget(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
}

/// The visitor id kept by an earlier page, from localStorage or the first-party cookie.
pub(crate) fn stored_vid() -> Option<String> {
    let from_cookie = || {
        let cookies = html_document()?.cookie().ok()?;
        cookie_value(&cookies, VID_COOKIE).map(str::to_owned)
    };
    load(VID_KEY).or_else(from_cookie).filter(|v| valid_vid(v))
}

/// Keeps (or, with `None`, removes) the visitor id in localStorage and the cookie.
pub(crate) fn keep_vid(vid: Option<&str>) {
    let Some(doc) = html_document() else { return };
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
    let _ = doc.set_cookie(&cookie);
}

fn html_document() -> Option<HtmlDocument> {
    document()?.dyn_into::<HtmlDocument>().ok()
}

/// A property of a JavaScript object as a string.
pub(crate) fn get_str(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key)?.as_string()
}

/// A property of a JavaScript object, `None` when it is missing, null or undefined.
pub(crate) fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    if !obj.is_object() {
        return None;
    }
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_null() && !v.is_undefined())
}

/// An attribute, or the empty string.
pub(crate) fn attr(el: &Element, name: &str) -> String {
    el.get_attribute(name).unwrap_or_default()
}

thread_local! {
    /// The one listener function every page and popup listener uses.
    static LISTENER: Option<Function> = {
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
            // Popup elements are elements; the page's listeners sit on the document and window.
            match e.current_target().and_then(|t| t.dyn_into::<Element>().ok()) {
                Some(el) => super::popup::popup_event(&e, &el),
                None => super::capture::page_event(&e),
            }
        });
        let f = cb.as_ref().dyn_ref::<Function>().cloned();
        // It lives as long as the page.
        cb.forget();
        f
    };
    /// The one timer function: it runs whatever is due.
    static TICK: Option<Function> = {
        let cb = Closure::<dyn FnMut()>::new(super::tick);
        let f = cb.as_ref().dyn_ref::<Function>().cloned();
        cb.forget();
        f
    };
}

/// Runs the tag's timer after `ms` milliseconds.
pub(crate) fn later(ms: i32) {
    TICK.with(|f| {
        if let (Some(w), Some(f)) = (window(), f) {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(f, ms);
        }
    });
}

/// Adds the shared listener for `kind` events on `target`, passive, for the page's lifetime.
pub(crate) fn listen(target: &EventTarget, kind: &str, capture: bool) {
    LISTENER.with(|f| {
        if let Some(f) = f {
            let opts = AddEventListenerOptions::new();
            opts.set_capture(capture);
            opts.set_passive(true);
            let _ = target
                .add_event_listener_with_callback_and_add_event_listener_options(kind, f, &opts);
        }
    });
}

/// Adds the shared listener for `kind` events on a popup element (not passive: the popup
/// handles its own Tab, Esc and submit).
pub(crate) fn listen_active(target: &EventTarget, kind: &str) {
    LISTENER.with(|f| {
        if let Some(f) = f {
            let _ = target.add_event_listener_with_callback(kind, f);
        }
    });
}

/// Whether the document's language is Japanese (for the popup's own labels).
pub(crate) fn japanese() -> bool {
    document()
        .and_then(|d| d.document_element())
        .and_then(|e| e.get_attribute("lang"))
        .is_some_and(|l| l.starts_with("ja"))
}
