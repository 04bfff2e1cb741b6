//! The collect request exactly as the tag sends it (wire contract v1). Strict: unknown fields
//! and unknown event types are refused, so a broken tag is noticed instead of silently losing
//! data.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use crate::event::PopupAction;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectRequest {
    pub site: String,
    #[serde(default)]
    pub vid: Option<String>,
    /// The page's consent state, for sites in opt-in mode. Absent means "not given".
    #[serde(default)]
    pub consent: Option<bool>,
    /// The page's language (`document.documentElement.lang`, e.g. `ja`, `en-US`): the popup's
    /// copy follows it. Absent: an `/en/` or `/ja/` path segment decides, else the default.
    #[serde(default)]
    pub lang: Option<String>,
    /// A preview token from the page's `mk_preview` parameter: forces that rule's popup for
    /// this browser without recording anything.
    #[serde(default)]
    pub preview: Option<String>,
    pub events: Vec<WireEvent>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum WireEvent {
    Pageview {
        url: String,
        #[serde(default)]
        referrer: Option<String>,
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        ts: Option<i64>,
    },
    Engagement {
        url: String,
        ms: u64,
        #[serde(default)]
        ts: Option<i64>,
    },
    Conversion {
        form: String,
        url: String,
        #[serde(default)]
        fields: BTreeMap<String, String>,
        #[serde(default)]
        ts: Option<i64>,
    },
    Popup {
        rule: String,
        variant: String,
        action: PopupAction,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        ts: Option<i64>,
    },
    Identify {
        token: String,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        ts: Option<i64>,
    },
    Track {
        name: String,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        props: BTreeMap<String, PropValue>,
        #[serde(default)]
        ts: Option<i64>,
    },
    Download {
        url: String,
        href: String,
        #[serde(default)]
        ts: Option<i64>,
    },
}

/// A custom event property: flat values only.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum PropValue {
    Bool(bool),
    Number(f64),
    Text(String),
}
