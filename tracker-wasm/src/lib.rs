//! The browser tag.
//!
//! The plain modules hold the tag's logic (event JSON, field mapping, URLs, the queue and
//! retry policy, and `tag`, the page's state machine over a `Host`); they build and are tested
//! natively. The `web` module, built only for `wasm32`, runs the tag over the browser and
//! exports what the browser side calls; the
//! browser side itself (listeners, storage, requests, the popup's DOM) is the hand-written
//! `js/host.js`, which the build puts into the glue. The hand-written loader `js/t.js` queues
//! `window.mikomi(...)` calls until the module has loaded and hands them over.
#![deny(missing_docs)]

pub mod delivery;
pub mod event;
pub mod fields;
pub mod json;
pub mod queue;
pub mod tag;
pub mod url;

#[cfg(target_arch = "wasm32")]
mod web;
