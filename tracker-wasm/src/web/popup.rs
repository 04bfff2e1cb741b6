//! The popup the edge chose, rendered inside a shadow root so that the site's CSS cannot
//! break it (and ours cannot leak out). Every string from the network is set as text, never
//! as HTML. The dialog is modal for assistive technology, takes focus, keeps Tab inside,
//! closes on Esc and on its close button, and gives focus back where it was.

use std::cell::RefCell;

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement, KeyboardEvent, ShadowRoot, ShadowRootInit, ShadowRootMode};

use super::dom::{self, get, get_str};
use super::with;
use crate::event::{Event, MAX_ID, PopupAction};
use crate::fields::{FieldSet, Kind};
use crate::json::truncate;
use crate::url::is_http;

const CSS: &str = ":host{all:initial}\
.o{position:fixed;inset:0;z-index:2147483647;display:flex;align-items:center;justify-content:center;\
background:rgba(0,0,0,.45);font:15px/1.6 system-ui,-apple-system,\"Hiragino Sans\",\"Noto Sans JP\",Meiryo,sans-serif}\
.d{position:relative;box-sizing:border-box;width:min(440px,calc(100vw - 24px));max-height:calc(100vh - 24px);\
overflow:auto;padding:20px;border-radius:10px;background:#fff;color:#1a1a1a;box-shadow:0 8px 32px rgba(0,0,0,.3)}\
h2{margin:0 36px 8px 0;font-size:18px;line-height:1.4}p{margin:0 0 12px;white-space:pre-line}\
label{display:block;margin:10px 0 2px;font-size:13px}\
input{box-sizing:border-box;width:100%;padding:8px;border:1px solid #888;border-radius:6px;font:inherit}\
.s{width:100%;margin-top:16px;padding:10px;border:0;border-radius:6px;background:#0b5cad;color:#fff;font:inherit;cursor:pointer}\
.x{position:absolute;top:8px;right:8px;width:36px;height:36px;border:0;background:none;color:#333;font-size:24px;cursor:pointer}\
a{display:inline-block;margin-top:10px;color:#0b5cad;font-size:12px}\
:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}";

/// The popup on screen.
struct Open {
    rule: String,
    variant: String,
    /// The element holding the shadow root, removed on close.
    host: Element,
    root: ShadowRoot,
    /// What had focus before, to give it back.
    before: Option<HtmlElement>,
    /// Focusable elements in tab order, for the focus trap.
    focusable: Vec<HtmlElement>,
    /// Inputs with the field names the edge gave them.
    inputs: Vec<(String, Element)>,
}

thread_local! {
    static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
}

/// Shows the popup described by the edge's `popup` object, unless one is already open.
pub(super) fn show(p: &JsValue) {
    let (Some(rule), Some(variant)) = (get_str(p, "rule"), get_str(p, "variant")) else {
        return;
    };
    if with(|t| !std::mem::replace(&mut t.popup_open, true)) != Some(true) {
        return;
    }
    if render(p, rule.clone(), variant.clone()).is_none() {
        with(|t| t.popup_open = false);
        return;
    }
    report(&rule, &variant, PopupAction::Shown);
}

/// The popup's fixed structure: ours, static, so it may be parsed as HTML. Everything from the
/// network goes in afterwards as text or attribute values.
const SKELETON: &str = "<div class=o><div class=d role=dialog aria-modal=true aria-labelledby=mk-t>\
<button type=button class=x id=mk-x>\u{d7}</button><h2 id=mk-t></h2><p id=mk-b></p>\
<form id=mk-f><button type=submit class=s id=mk-s></button></form>\
<a id=mk-p target=_blank rel=\"noopener noreferrer\" hidden></a></div></div>";

fn render(p: &JsValue, rule: String, variant: String) -> Option<()> {
    let doc = dom::document()?;
    let body = doc.body()?;
    let ja = dom::japanese();
    let host = doc.create_element("div").ok()?;
    host.set_attribute("data-mikomi-popup", "").ok()?;
    let root = host
        .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
        .ok()?;
    let style = doc.create_element("style").ok()?;
    style.set_text_content(Some(CSS));
    root.set_inner_html(SKELETON);
    root.prepend_with_node_1(&style).ok()?;
    let by_id = |id: &str| root.get_element_by_id(id);
    let (close, title, text, form, submit, privacy) = (
        by_id("mk-x")?,
        by_id("mk-t")?,
        by_id("mk-b")?,
        by_id("mk-f")?,
        by_id("mk-s")?,
        by_id("mk-p")?,
    );
    let dialog = title.parent_element()?;
    if let Some(lang) = doc.document_element().and_then(|e| e.get_attribute("lang")) {
        dialog.set_attribute("lang", &lang).ok()?;
    }
    close
        .set_attribute("aria-label", if ja { "閉じる" } else { "Close" })
        .ok()?;
    title.set_text_content(get_str(p, "title").as_deref());
    match get_str(p, "body").filter(|b| !b.is_empty()) {
        Some(b) => {
            text.set_text_content(Some(&b));
            dialog.set_attribute("aria-describedby", "mk-b").ok()?;
        }
        None => text.remove(),
    }

    let mut focusable = vec![close.clone().dyn_into::<HtmlElement>().ok()?];
    let mut inputs = Vec::new();
    let fields = get(p, "fields")
        .and_then(|f| f.dyn_into::<Array>().ok())
        .unwrap_or_default();
    for (i, f) in fields.iter().enumerate().take(10) {
        let Some(name) = get_str(&f, "name").filter(|n| !n.is_empty()) else {
            continue;
        };
        let name = truncate(&name, MAX_ID).to_owned();
        let mut id = String::from("mk-f");
        crate::json::push_u64(&mut id, i as u64);
        let label = doc.create_element("label").ok()?;
        label.set_text_content(Some(&get_str(&f, "label").unwrap_or_else(|| name.clone())));
        label.set_attribute("for", &id).ok()?;
        let input = doc.create_element("input").ok()?;
        let ty = match get_str(&f, "type").as_deref() {
            Some("email") => "email",
            Some("tel") => "tel",
            _ => "text",
        };
        let autocomplete = match Kind::from_key(&name) {
            Some(Kind::Email) => "email",
            Some(Kind::Name) => "name",
            Some(Kind::Company) => "organization",
            Some(Kind::Phone) => "tel",
            Some(Kind::Title) => "organization-title",
            _ => "on",
        };
        for (k, v) in [
            ("id", id.as_str()),
            ("name", &name),
            ("type", ty),
            ("autocomplete", autocomplete),
        ] {
            input.set_attribute(k, v).ok()?;
        }
        if get(&f, "required").and_then(|r| r.as_bool()) == Some(true) {
            input.set_attribute("required", "").ok()?;
        }
        form.insert_before(&label, Some(&submit)).ok()?;
        form.insert_before(&input, Some(&submit)).ok()?;
        focusable.push(input.clone().dyn_into::<HtmlElement>().ok()?);
        inputs.push((name, input));
    }
    let submit_text = get_str(p, "submit")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| (if ja { "送信" } else { "Submit" }).into());
    submit.set_text_content(Some(&submit_text));
    focusable.push(submit.dyn_into::<HtmlElement>().ok()?);

    match get_str(p, "privacy_url").filter(|u| is_http(u)) {
        Some(url) => {
            privacy.set_text_content(Some(if ja {
                "プライバシーポリシー"
            } else {
                "Privacy policy"
            }));
            privacy.set_attribute("href", &url).ok()?;
            privacy.remove_attribute("hidden").ok()?;
            focusable.push(privacy.dyn_into::<HtmlElement>().ok()?);
        }
        None => privacy.remove(),
    }

    dom::listen_active(&close, "click");
    dom::listen_active(&form, "submit");
    dom::listen_active(&dialog, "keydown");

    let before = doc
        .active_element()
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    body.append_child(&host).ok()?;
    // Focus the first field, or the close button when there is none.
    let first = focusable.get(1).or(focusable.first())?.clone();
    OPEN.with(|o| {
        if let Ok(mut o) = o.try_borrow_mut() {
            *o = Some(Open {
                rule,
                variant,
                host,
                root,
                before,
                focusable,
                inputs,
            });
        }
    });
    let _ = first.focus();
    Some(())
}

/// Handles an event on one of the popup's elements.
pub(super) fn popup_event(e: &web_sys::Event, _on: &Element) {
    match e.type_().as_str() {
        "click" => close_popup(Some(PopupAction::Dismissed)),
        "submit" => {
            e.prevent_default();
            submitted();
        }
        "keydown" => {
            if let Some(k) = e.dyn_ref::<KeyboardEvent>() {
                keydown(k);
            }
        }
        _ => {}
    }
}

fn keydown(k: &KeyboardEvent) {
    match k.key().as_str() {
        "Escape" => {
            k.prevent_default();
            close_popup(Some(PopupAction::Dismissed));
        }
        "Tab" => {
            let target = OPEN.with(|o| {
                let o = o.try_borrow().ok()?;
                let o = o.as_ref()?;
                let (first, last) = (o.focusable.first()?, o.focusable.last()?);
                let active = o.root.active_element();
                let at =
                    |e: &HtmlElement| active.as_ref().is_some_and(|a| a == e.as_ref() as &Element);
                if k.shift_key() && (at(first) || active.is_none()) {
                    Some(last.clone())
                } else if !k.shift_key() && (at(last) || active.is_none()) {
                    Some(first.clone())
                } else {
                    None
                }
            });
            if let Some(t) = target {
                k.prevent_default();
                let _ = t.focus();
            }
        }
        _ => {}
    }
}

fn submitted() {
    let Some((rule, variant, fields)) = OPEN.with(|o| {
        let o = o.try_borrow().ok()?;
        let o = o.as_ref()?;
        let mut fields = FieldSet::default();
        for (name, input) in &o.inputs {
            if let Some(v) = js_sys::Reflect::get(input, &JsValue::from_str("value"))
                .ok()
                .and_then(|v| v.as_string())
            {
                fields.add(name, &v);
            }
        }
        Some((o.rule.clone(), o.variant.clone(), fields))
    }) else {
        return;
    };
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
    close_popup(None);
}

fn report(rule: &str, variant: &str, action: PopupAction) {
    with(|t| {
        let e = Event::Popup {
            rule: rule.to_owned(),
            variant: variant.to_owned(),
            action,
            url: t.url.clone(),
            ts: dom::now() as u64,
        };
        t.push(&e);
    });
}

/// Removes the popup, gives focus back and, when the visitor closed it, reports that.
fn close_popup(action: Option<PopupAction>) {
    let Some(open) = OPEN.with(|o| o.try_borrow_mut().ok().and_then(|mut o| o.take())) else {
        return;
    };
    open.host.remove();
    if let Some(before) = &open.before {
        let _ = before.focus();
    }
    with(|t| t.popup_open = false);
    if let Some(action) = action {
        report(&open.rule, &open.variant, action);
    }
}
