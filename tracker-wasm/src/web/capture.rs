//! Page listeners: form conversions, download clicks, SPA navigation, visibility and
//! connectivity. Listeners are passive and never call `preventDefault`: the site's own
//! handlers and submits run exactly as without the tag.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, EventTarget, HtmlAnchorElement, HtmlFormElement, NodeList};
use web_sys::{VisibilityState, Window};

use super::dom::{self, attr};
use super::with;
use crate::event::Event;
use crate::fields::{Control, FieldSet, classify};
use crate::url::{form_id, is_download};

const IGNORE: &str = "[data-mikomi-ignore]";

/// Registers the page listeners. All of them share one closure (one set of wasm-bindgen shims
/// instead of one per listener) that dispatches on the event type.
pub(super) fn install(win: &Window, doc: &Document) {
    let doc_target: &EventTarget = doc.as_ref();
    let win_target: &EventTarget = win.as_ref();
    for (kind, capture) in [
        ("submit", true),
        ("click", true),
        ("visibilitychange", false),
    ] {
        dom::listen(doc_target, kind, capture);
    }
    for kind in ["pagehide", "popstate", "hashchange", "online"] {
        dom::listen(win_target, kind, false);
    }
}

/// Handles an event on the document or the window.
pub(super) fn page_event(e: &web_sys::Event) {
    match e.type_().as_str() {
        "submit" => {
            let Some(form) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
            else {
                return;
            };
            if let Some(e) = conversion(&form) {
                with(|t| t.push(&e));
            }
        }
        "click" => download(e),
        "visibilitychange" => {
            let visible =
                dom::document().is_some_and(|d| d.visibility_state() == VisibilityState::Visible);
            with(|t| {
                if visible {
                    t.visible_since = Some(dom::now());
                } else {
                    t.hidden();
                }
            });
        }
        "pagehide" => {
            with(|t| t.hidden());
        }
        "popstate" | "hashchange" => {
            with(|t| t.pageview(false));
        }
        "online" => {
            with(|t| {
                t.waiting = false;
                t.attempt = 0;
                t.flush();
            });
        }
        _ => {}
    }
}

fn download(e: &web_sys::Event) {
    let Some(a) = e
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .and_then(|el| el.closest("a[href]").ok().flatten())
        .and_then(|a| a.dyn_into::<HtmlAnchorElement>().ok())
    else {
        return;
    };
    let href = a.href();
    if !is_download(&href) || a.closest(IGNORE).ok().flatten().is_some() {
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

/// The conversion a submitted form makes: only forms with a plausible email address convert.
fn conversion(form: &HtmlFormElement) -> Option<Event> {
    if form.closest(IGNORE).ok().flatten().is_some() {
        return None;
    }
    let elements = form.elements();
    let mut fields = FieldSet::default();
    for i in 0..elements.length() {
        let Some(el) = elements.item(i) else { continue };
        let control = Control {
            tag: el.tag_name().to_ascii_lowercase(),
            input_type: attr(&el, "type"),
            name: attr(&el, "name"),
            id: el.id(),
            autocomplete: attr(&el, "autocomplete"),
            label: label_text(&el),
            ignored: el.closest(IGNORE).ok().flatten().is_some(),
        };
        // The value is read only for a mapped, non-sensitive control.
        if let Some(kind) = classify(&control) {
            let value = Reflect::get(&el, &JsValue::from_str("value"))
                .ok()
                .and_then(|v| v.as_string());
            if let Some(v) = value {
                fields.add(kind.key(), &v);
            }
        }
    }
    if !fields.has_email() {
        return None;
    }
    let form = form_id(&[
        form.get_attribute("data-mikomi-form"),
        Some(form.id()),
        form.get_attribute("name"),
    ]);
    let url = with(|t| t.url.clone())?;
    Some(Event::Conversion {
        form,
        url,
        fields: fields.into_pairs(),
        ts: dom::now() as u64,
    })
}

/// The text that names a control: its labels, `aria-label` and placeholder.
fn label_text(el: &Element) -> String {
    let mut text = String::new();
    if let Some(labels) = Reflect::get(el, &JsValue::from_str("labels"))
        .ok()
        .and_then(|l| l.dyn_into::<NodeList>().ok())
    {
        for i in 0..labels.length() {
            if let Some(t) = labels.item(i).and_then(|n| n.text_content()) {
                text.push_str(&t);
                text.push(' ');
            }
        }
    }
    for a in ["aria-label", "placeholder"] {
        text.push_str(&attr(el, a));
        text.push(' ');
    }
    text
}
