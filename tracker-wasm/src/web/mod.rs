//! The browser glue: the page's [`Tag`] over the browser, and the functions the loader and the
//! browser side (`js/host.js`) call. The browser side does the DOM work (listeners, requests,
//! the popup); what to send is decided here and in `tag`. Nothing here may throw or panic into
//! the host page: every browser call that can fail is checked, and a failure means "do
//! nothing".

mod host;

use std::cell::RefCell;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use self::host as dom;
use crate::event::{Event, MAX_TOKEN, PopupAction, Prop};
use crate::fields::{self, Control, FieldSet, FormValue};
use crate::tag::{Host, PageEvent, Tag};
use crate::url::{TOKEN_PARAM, form_id, is_download, take_param};

thread_local! {
    static TAG: RefCell<Option<Tag<Browser>>> = const { RefCell::new(None) };
}

/// Runs `f` on the tag's state; `None` before `start` or if the state is already in use (a
/// re-entrant call from a synchronous browser callback, which is then skipped, never a panic).
fn with<R>(f: impl FnOnce(&mut Tag<Browser>) -> R) -> Option<R> {
    TAG.with(|t| t.try_borrow_mut().ok().and_then(|mut t| t.as_mut().map(f)))
}

/// The page's browser, through the hand-written browser side.
struct Browser;

impl Host for Browser {
    fn now(&self) -> f64 {
        dom::now()
    }
    fn random(&self) -> f64 {
        js_sys::Math::random()
    }
    fn href(&self) -> Option<String> {
        dom::href()
    }
    fn title(&self) -> Option<String> {
        dom::title()
    }
    fn lang(&self) -> Option<String> {
        dom::lang()
    }
    fn load(&self, key: &str) -> Option<String> {
        dom::load(key)
    }
    fn store(&self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => dom::store(key, v),
            None => dom::forget(key),
        }
    }
    fn keep_vid(&self, vid: Option<&str>) {
        dom::keep_vid(vid);
    }
    fn post(&self, url: &str, body: &str) -> bool {
        dom::mk_post(url, body)
    }
    fn beacon(&self, url: &str, body: &str) -> bool {
        dom::mk_beacon(url, body)
    }
    fn later(&self, ms: i32) {
        dom::mk_later(ms);
    }
}

/// A timer fired: the batching delay has passed, and perhaps a retry is due.
#[wasm_bindgen]
pub fn tick() {
    with(Tag::tick);
}

/// The edge answered (or the request failed, with status 0); see `Tag::answer`.
#[wasm_bindgen]
pub fn answer(status: u16, code: Option<String>, vid: Option<String>, body: bool) -> bool {
    with(|t| t.answer(status, code, vid, body)) == Some(true)
}

/// A page event: 0 the page became visible, 1 it was hidden or is going away, 2 its URL may
/// have changed (popstate, hashchange), 3 the browser is back online.
#[wasm_bindgen]
pub fn page_event(kind: u32) {
    if let Some(event) = PageEvent::from_code(kind) {
        with(|t| t.page_event(event));
    }
}

/// A click on a link to `href`, outside any `data-mikomi-ignore` element.
#[wasm_bindgen]
pub fn download(href: String) {
    if !is_download(&href) {
        return;
    }
    with(|t| {
        let e = Event::Download {
            url: t.url.clone(),
            href,
            ts: dom::now() as u64,
        };
        t.push(&e);
    });
}

/// What a form control holds: 0 for nothing to read (unmapped or sensitive), else 1 + the
/// index of its kind in `fields::ALL`. The browser side reads the value only when this is not
/// 0.
#[wasm_bindgen]
pub fn kind(
    tag: String,
    input_type: String,
    name: String,
    id: String,
    autocomplete: String,
    label: String,
    ignored: bool,
) -> u32 {
    let control = Control {
        tag,
        input_type,
        name,
        id,
        autocomplete,
        label,
        ignored,
    };
    fields::classify(&control)
        .and_then(|k| fields::ALL.iter().position(|x| *x == k))
        .map_or(0, |i| i as u32 + 1)
}

/// A submitted form: its `data-mikomi-form`, `id` and `name`, and `[kind, value, control
/// name, hidden, ...]` for the controls `kind` mapped (hidden: 1 when the control is not
/// rendered). Only forms with a plausible email address convert.
#[wasm_bindgen]
pub fn convert(
    mikomi_form: Option<String>,
    id: Option<String>,
    name: Option<String>,
    values: Array,
) {
    let mut controls = Vec::new();
    let mut i = 0;
    while i + 3 < values.length() {
        let kind = values
            .get(i)
            .as_f64()
            .and_then(|k| fields::ALL.get((k as usize).wrapping_sub(1)));
        if let (Some(kind), Some(value)) = (kind, values.get(i + 1).as_string()) {
            controls.push(FormValue {
                kind: *kind,
                value,
                name: values.get(i + 2).as_string().unwrap_or_default(),
                rendered: values.get(i + 3).as_f64() == Some(0.0),
            });
        }
        i += 4;
    }
    let fields = fields::collect(controls);
    if !fields.has_email() {
        return;
    }
    let form = form_id(&[mikomi_form, id, name]);
    with(|t| {
        t.push(&Event::Conversion {
            form,
            url: t.url.clone(),
            fields: fields.into_pairs(),
            ts: dom::now() as u64,
        })
    });
}

/// The popup of `rule`/`variant` was shown (0) or closed by the visitor (1).
#[wasm_bindgen]
pub fn popup_event(rule: String, variant: String, action: u32) {
    let action = if action == 0 {
        PopupAction::Shown
    } else {
        PopupAction::Dismissed
    };
    with(|t| {
        let e = Event::Popup {
            rule,
            variant,
            action,
            url: t.url.clone(),
            ts: dom::now() as u64,
        };
        t.push(&e);
    });
}

/// The popup's form was submitted with `[name, value, ...]`: a conversion (when it holds a
/// plausible email address) and a `submitted` popup event, sent at once.
#[wasm_bindgen]
pub fn popup_submit(rule: String, variant: String, values: Array) {
    let mut fields = FieldSet::default();
    let mut i = 0;
    while i + 1 < values.length() {
        if let (Some(k), Some(v)) = (values.get(i).as_string(), values.get(i + 1).as_string()) {
            fields.add(&k, &v);
        }
        i += 2;
    }
    with(|t| {
        let ts = dom::now() as u64;
        if fields.has_email() {
            t.enqueue(&Event::Conversion {
                form: rule.clone(),
                url: t.url.clone(),
                fields: fields.into_pairs(),
                ts,
            });
        }
        let e = Event::Popup {
            rule,
            variant,
            action: PopupAction::Submitted,
            url: t.url.clone(),
            ts,
        };
        t.enqueue(&e);
        t.save(false);
        t.flush();
    });
}

/// Starts the tag for site `site`, reporting to `collect` (an absolute URL). Called once by the
/// loader after the module has loaded.
#[wasm_bindgen]
pub fn start(site: String, collect: String) {
    #[cfg(feature = "debug")]
    console_error_panic_hook::set_once();
    let Some((mut tag, token)) = Tag::new(Browser, site, collect, dom::stored_vid()) else {
        return;
    };
    // An email-click token: report it, and take it out of the address bar.
    let url = tag.url.clone();
    if token.is_some() {
        dom::mk_replace(&url);
    }
    tag.visible_since = dom::mk_visible().then(dom::now);
    if TAG
        .with(|t| t.try_borrow_mut().map(|mut t| t.replace(tag)))
        .is_err()
    {
        return;
    }

    let ts = dom::now() as u64;
    with(|t| {
        if let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN) {
            t.enqueue(&Event::Identify {
                token,
                url: url.clone(),
                ts,
            });
        }
        t.push(&Event::Pageview {
            url,
            referrer: dom::referrer(),
            title: dom::title(),
            ts,
        });
    });

    dom::mk_listen();
}

/// The page's URL may have changed (history.pushState/replaceState, called by the loader).
#[wasm_bindgen]
pub fn nav() {
    with(|t| t.pageview(false));
}

/// A `window.mikomi(...)` call, its arguments as an array.
#[wasm_bindgen]
pub fn cmd(args: Array) {
    let command = args.get(0).as_string().unwrap_or_default();
    let url = || dom::href().map(|h| take_param(&h, TOKEN_PARAM).1);
    match command.as_str() {
        "page" => {
            with(|t| t.pageview(true));
        }
        "track" => {
            let (Some(name), Some(url)) = (args.get(1).as_string(), url()) else {
                return;
            };
            let props = props(&args.get(2));
            with(|t| {
                t.push(&Event::Track {
                    name,
                    url,
                    props,
                    ts: dom::now() as u64,
                })
            });
        }
        "identify" => {
            let details = args.get(1);
            let Some(url) = url() else { return };
            let mut fields = FieldSet::default();
            for kind in fields::ALL {
                if let Some(v) = get_str(&details, kind.key()) {
                    fields.add(kind.key(), &v);
                }
            }
            if fields.has_email() {
                with(|t| {
                    t.push(&Event::Conversion {
                        form: "identify".into(),
                        url,
                        fields: fields.into_pairs(),
                        ts: dom::now() as u64,
                    })
                });
            }
        }
        "consent" => {
            if let Some(c) = args.get(1).as_bool() {
                with(|t| t.set_consent(c));
            }
        }
        _ => {}
    }
}

/// The flat properties of a custom event: strings, finite numbers and booleans only.
fn props(obj: &JsValue) -> Vec<(String, Prop)> {
    let Some(obj) = obj.dyn_ref::<Object>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in Object::entries(obj).iter() {
        let Ok(pair) = entry.dyn_into::<Array>() else {
            continue;
        };
        let (Some(key), value) = (pair.get(0).as_string(), pair.get(1)) else {
            continue;
        };
        let prop = if let Some(s) = value.as_string() {
            Prop::Str(s)
        } else if let Some(b) = value.as_bool() {
            Prop::Bool(b)
        } else if let Some(n) = value.as_f64().filter(|n| n.is_finite()) {
            match js_sys::Number::from(n).to_string_with_radix(10) {
                Ok(s) => Prop::Num(s.into()),
                Err(_) => continue,
            }
        } else {
            continue;
        };
        out.push((key, prop));
    }
    out
}

/// A property of a JavaScript object as a string; `None` when missing or not a string.
fn get_str(obj: &JsValue, key: &str) -> Option<String> {
    if !obj.is_object() {
        return None;
    }
    js_sys::Reflect::get(obj, &JsValue::from_str(key))
        .ok()?
        .as_string()
}
