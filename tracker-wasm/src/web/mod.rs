//! The browser glue: the tag's state for this page and the functions the loader and the
//! browser side (`js/host.js`) call. The browser side does the DOM work (listeners, requests,
//! the popup); everything that decides what to send is here. Nothing here may throw or panic
//! into the host page: every browser call that can fail is checked, and a failure means "do
//! nothing".

mod host;

use std::cell::RefCell;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use self::host as dom;
use crate::delivery::{Outcome, backoff_ms, classify};
use crate::event::{Event, MAX_BATCH, MAX_TOKEN, Page, PopupAction, Prop, payload};
use crate::fields::{self, Control, FieldSet, FormValue};
use crate::queue::Queue;
use crate::url::{PREVIEW_PARAM, TOKEN_PARAM, form_id, is_download, take_param, valid_vid};

/// Delay before non-urgent events (engagement, custom events, popup impressions) go out, so
/// that several travel in one request.
const BATCH_DELAY_MS: i32 = 1_000;

thread_local! {
    static TAG: RefCell<Option<Tag>> = const { RefCell::new(None) };
}

/// Runs `f` on the tag's state; `None` before `start` or if the state is already in use (a
/// re-entrant call from a synchronous browser callback, which is then skipped, never a panic).
fn with<R>(f: impl FnOnce(&mut Tag) -> R) -> Option<R> {
    TAG.with(|t| t.try_borrow_mut().ok().and_then(|mut t| t.as_mut().map(f)))
}

/// The tag's state for the page.
struct Tag {
    /// The site key from `data-site`.
    site: String,
    /// Absolute URL of the edge's collect endpoint.
    collect: String,
    /// The visitor id the edge returned, if it returned one.
    vid: Option<String>,
    /// The visitor's choice, once the site has called `mikomi('consent', ...)`.
    consent: Option<bool>,
    /// The preview token of the landing URL, sent with every request of this page.
    preview: Option<String>,
    /// Events not yet acknowledged.
    queue: Queue,
    /// Failed attempts in a row, for the backoff.
    attempt: u32,
    /// A backoff timer is pending: nothing is sent before it fires.
    waiting: bool,
    /// When the pending retry is due.
    retry_at: f64,
    /// A batching timer is pending.
    batching: bool,
    /// The batch was already sent again without the visitor id once.
    reset_once: bool,
    /// The page as last reported (without `mk_t`).
    url: String,
    /// When the page last became visible, while it is visible.
    visible_since: Option<f64>,
}

impl Tag {
    /// Whether identifiers and waiting events may be kept in the browser's storage: only once
    /// the edge has returned a visitor id, or the visitor has consented.
    fn may_store(&self) -> bool {
        self.consent != Some(false) && (self.vid.is_some() || self.consent == Some(true))
    }

    fn save(&self, leaving: bool) {
        if self.may_store() {
            let q = if leaving {
                // What is in flight will arrive (keepalive); storing it would send it twice.
                let mut idle = self.queue.clone();
                idle.ack();
                idle
            } else {
                self.queue.clone()
            };
            if q.is_empty() {
                dom::forget(dom::QUEUE_KEY);
            } else {
                dom::store(dom::QUEUE_KEY, &q.encode());
            }
        } else {
            dom::forget(dom::QUEUE_KEY);
        }
    }

    fn set_vid(&mut self, vid: Option<String>) {
        if self.vid == vid {
            return;
        }
        self.vid = vid;
        dom::keep_vid(self.vid.as_deref());
    }

    /// The page details a request carries.
    fn page<'a>(&'a self, lang: &'a Option<String>) -> Page<'a> {
        Page {
            consent: self.consent,
            lang: lang.as_deref(),
            preview: self.preview.as_deref(),
        }
    }

    /// Queues an event without sending it.
    fn enqueue(&mut self, e: &Event) {
        self.queue.push(e.to_json());
    }

    /// Queues an event and sends it now or after the batching delay.
    fn push(&mut self, e: &Event) {
        self.enqueue(e);
        self.save(false);
        if e.is_urgent() {
            self.flush();
        } else if !self.batching {
            self.batching = true;
            dom::mk_later(BATCH_DELAY_MS);
        }
    }

    /// Sends the next batch unless one is in flight or a retry is pending.
    fn flush(&mut self) {
        if self.waiting || self.queue.busy() {
            return;
        }
        let batch = self.queue.take_batch(MAX_BATCH);
        if batch.is_empty() {
            return;
        }
        let lang = dom::lang();
        let body = payload(&self.site, self.vid.as_deref(), self.page(&lang), &batch);
        if !dom::mk_post(&self.collect, &body) {
            self.queue.nack();
        }
    }

    /// Sends every waiting event with `sendBeacon`: the page is going away.
    fn beacon_all(&mut self) {
        let lang = dom::lang();
        let mut batches = self.queue.drain_idle(MAX_BATCH).into_iter();
        while let Some(batch) = batches.next() {
            let body = payload(&self.site, self.vid.as_deref(), self.page(&lang), &batch);
            if !dom::mk_beacon(&self.collect, &body) {
                // The browser's beacon quota is spent: keep the rest for the next page.
                let mut rest = batch;
                rest.extend(batches.flatten());
                self.queue.restore(rest);
                break;
            }
        }
        self.save(true);
    }

    /// The edge's answer: `code` is the error code of an error body, `vid` the visitor id of an
    /// accepted one, `body` whether the answer was JSON at all. Returns whether it was accepted
    /// (and so may carry a popup).
    fn answer(
        &mut self,
        status: u16,
        code: Option<String>,
        vid: Option<String>,
        body: bool,
    ) -> bool {
        let outcome = classify(status, code.as_deref());
        match outcome {
            Outcome::Accepted => {
                self.queue.ack();
                self.attempt = 0;
                self.reset_once = false;
                if body {
                    // A null id (opt-in without consent, or a privacy signal honoured): keep
                    // nothing. Otherwise keep the id the edge minted.
                    self.set_vid(vid.filter(|v| valid_vid(v)));
                }
            }
            Outcome::Ignored | Outcome::Drop => {
                self.queue.ack();
                self.attempt = 0;
            }
            Outcome::Split => {
                if !self.queue.split() {
                    // One event the edge cannot take: only it is lost.
                    self.queue.ack();
                }
                self.attempt = 0;
            }
            Outcome::ResetVisitor => {
                self.set_vid(None);
                if self.reset_once {
                    self.queue.ack();
                } else {
                    self.reset_once = true;
                    self.queue.nack();
                }
            }
            Outcome::Retry => {
                self.queue.nack();
                self.attempt = self.attempt.saturating_add(1);
                self.waiting = true;
                let delay = backoff_ms(self.attempt, js_sys::Math::random());
                self.retry_at = dom::now() + f64::from(delay);
                dom::mk_later(delay as i32);
            }
        }
        self.save(false);
        self.flush();
        outcome == Outcome::Accepted
    }

    /// Milliseconds the page was visible since the last report.
    fn take_visible(&mut self) -> u64 {
        let now = dom::now();
        let since = self.visible_since.replace(now).unwrap_or(now);
        (now - since).max(0.0) as u64
    }

    fn report_engagement(&mut self) {
        let ms = self.take_visible();
        if ms > 0 {
            let e = Event::Engagement {
                url: self.url.clone(),
                ms,
                ts: dom::now() as u64,
            };
            self.enqueue(&e);
        }
    }

    /// A page view of the current URL; `force` reports it even when the URL did not change.
    fn pageview(&mut self, force: bool) {
        let Some(href) = dom::href() else { return };
        let (_, url) = take_param(&href, TOKEN_PARAM);
        if url == self.url && !force {
            return;
        }
        if self.visible_since.is_some() {
            self.report_engagement();
        }
        let referrer = std::mem::replace(&mut self.url, url.clone());
        let title = dom::title();
        self.push(&Event::Pageview {
            url,
            referrer: Some(referrer),
            title,
            ts: dom::now() as u64,
        });
    }

    fn hidden(&mut self) {
        if self.visible_since.is_some() {
            self.report_engagement();
            self.visible_since = None;
        }
        self.beacon_all();
    }

    fn set_consent(&mut self, consent: bool) {
        self.consent = Some(consent);
        dom::store(dom::CONSENT_KEY, if consent { "1" } else { "0" });
        if !consent {
            self.set_vid(None);
            self.queue.clear();
        }
        self.save(false);
    }
}

/// A timer fired: the batching delay has passed, and perhaps a retry is due.
#[wasm_bindgen]
pub fn tick() {
    with(|t| {
        t.batching = false;
        if t.waiting && dom::now() >= t.retry_at - 1.0 {
            t.waiting = false;
        }
        t.flush();
    });
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
    with(|t| match kind {
        0 => t.visible_since = Some(dom::now()),
        1 => t.hidden(),
        2 => t.pageview(false),
        3 => {
            t.waiting = false;
            t.attempt = 0;
            t.flush();
        }
        _ => {}
    });
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
    let Some(href) = dom::href() else { return };
    let consent = dom::load(dom::CONSENT_KEY).map(|c| c == "1");
    let vid = dom::stored_vid().filter(|_| consent != Some(false));
    let queue = if vid.is_some() || consent == Some(true) {
        dom::load(dom::QUEUE_KEY)
            .map(|q| Queue::decode(&q))
            .unwrap_or_default()
    } else {
        Queue::default()
    };

    // An email-click token: report it, and take it out of the address bar.
    let (token, url) = take_param(&href, TOKEN_PARAM);
    if token.is_some() {
        dom::mk_replace(&url);
    }

    let visible = dom::mk_visible();
    let tag = Tag {
        site,
        collect,
        vid,
        consent,
        preview: take_param(&href, PREVIEW_PARAM).0,
        queue,
        attempt: 0,
        waiting: false,
        retry_at: 0.0,
        batching: false,
        reset_once: false,
        url: url.clone(),
        visible_since: visible.then(dom::now),
    };
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
