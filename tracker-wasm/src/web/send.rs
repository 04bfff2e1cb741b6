//! The two ways events leave the page: `fetch` (answer read, credentials included, `keepalive`
//! so that a request started just before navigation still arrives) and `sendBeacon` as the page
//! goes away. Bodies go as `text/plain`, which needs no CORS preflight.

use std::cell::Cell;

use js_sys::Reflect;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{RequestCredentials, RequestInit, Response};

use super::dom::window;

thread_local! {
    /// Status of the response being read (one request is in flight at most).
    static STATUS: Cell<u16> = const { Cell::new(0) };
    /// The three promise callbacks, made once and reused for every request.
    static CALLBACKS: [Closure<dyn FnMut(JsValue)>; 3] = [
        Closure::new(on_response),
        Closure::new(|text: JsValue| super::on_answer(STATUS.get(), text.as_string())),
        Closure::new(|_: JsValue| super::on_answer(STATUS.get(), None)),
    ];
}

fn on_response(resp: JsValue) {
    let Ok(resp) = resp.dyn_into::<Response>() else {
        return super::on_answer(0, None);
    };
    STATUS.set(resp.status());
    match resp.text() {
        Ok(text) => CALLBACKS.with(|[_, text_cb, failed]| {
            let _ = text.then2(text_cb, failed);
        }),
        Err(_) => super::on_answer(STATUS.get(), None),
    }
}

/// Posts `body`; `on_answer(status, text)` runs when the answer is in (status 0: network
/// error). Returns false when the request could not even be started.
pub(crate) fn post(url: &str, body: &str) -> bool {
    let Some(w) = window() else { return false };
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(RequestCredentials::Include);
    let _ = Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    let promise = w.fetch_with_str_and_init(url, &init);
    STATUS.set(0);
    CALLBACKS.with(|[response, _, failed]| {
        let _ = promise.then2(response, failed);
    });
    true
}

/// Queues `body` with the browser, which sends it even after the page has gone.
pub(crate) fn beacon(url: &str, body: &str) -> bool {
    window()
        .and_then(|w| w.navigator().send_beacon_with_opt_str(url, Some(body)).ok())
        .unwrap_or(false)
}
