//! The events the tag reports, and the collect request body, written as the edge's wire
//! contract (v1) expects them. Every string is cut to the edge's limits here, so that one
//! overlong title can never make the edge refuse a whole batch.

use crate::json::{push_key, push_str, push_u64, truncate};

// The limits are the edge's: one crate holds them for both sides.
pub use mikomi_wire::{
    MAX_BATCH, MAX_ENGAGEMENT_MS, MAX_FIELD, MAX_ID, MAX_KEYS, MAX_LANG, MAX_TITLE, MAX_TOKEN,
    MAX_URL,
};

/// What happened to a popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopupAction {
    /// It was rendered.
    Shown,
    /// The visitor closed it.
    Dismissed,
    /// The visitor submitted its form.
    Submitted,
}

impl PopupAction {
    fn as_str(self) -> &'static str {
        match self {
            PopupAction::Shown => "shown",
            PopupAction::Dismissed => "dismissed",
            PopupAction::Submitted => "submitted",
        }
    }
}

/// A property value of a custom event.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    /// A string.
    Str(String),
    /// A finite number, already written as JSON (the browser formats it).
    Num(String),
    /// A boolean.
    Bool(bool),
}

/// One event, as the edge's `events` array holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A page was viewed.
    Pageview {
        /// The page (without `mk_t`).
        url: String,
        /// The previous page, if any.
        referrer: Option<String>,
        /// The document title, if any.
        title: Option<String>,
        /// When, in ms since the epoch.
        ts: u64,
    },
    /// The page was visible for `ms` milliseconds since the last report.
    Engagement {
        /// The page.
        url: String,
        /// Visible time.
        ms: u64,
        /// When.
        ts: u64,
    },
    /// A form with contact details was submitted.
    Conversion {
        /// The form's id.
        form: String,
        /// The page.
        url: String,
        /// Mapped fields, in order.
        fields: Vec<(String, String)>,
        /// When.
        ts: u64,
    },
    /// A popup was shown, dismissed or submitted.
    Popup {
        /// The rule that chose it.
        rule: String,
        /// The variant shown.
        variant: String,
        /// What happened.
        action: PopupAction,
        /// The page.
        url: String,
        /// When.
        ts: u64,
    },
    /// The visitor arrived through a signed email link.
    Identify {
        /// The signed token from `mk_t`.
        token: String,
        /// The page.
        url: String,
        /// When.
        ts: u64,
    },
    /// A custom event from `mikomi('track', ...)`.
    Track {
        /// Event name.
        name: String,
        /// The page.
        url: String,
        /// Flat properties.
        props: Vec<(String, Prop)>,
        /// When.
        ts: u64,
    },
    /// A downloadable file was clicked.
    Download {
        /// The page.
        url: String,
        /// The file.
        href: String,
        /// When.
        ts: u64,
    },
}

impl Event {
    /// Whether the event should go out at once rather than wait for the batching timer: page
    /// views (the edge answers them with the popup decision) and whatever tends to come right
    /// before the page goes away.
    pub fn is_urgent(&self) -> bool {
        !matches!(
            self,
            Event::Engagement { .. } | Event::Track { .. } | Event::Popup { .. }
        )
    }

    /// The event as one JSON object.
    pub fn to_json(&self) -> String {
        let mut o = String::with_capacity(128);
        o.push('{');
        push_key(&mut o, "type", true);
        let ts = match self {
            Event::Pageview {
                url,
                referrer,
                title,
                ts,
            } => {
                push_str(&mut o, "pageview");
                str_field(&mut o, "url", url, MAX_URL);
                if let Some(r) = referrer.as_deref().filter(|r| !r.is_empty()) {
                    str_field(&mut o, "referrer", r, MAX_URL);
                }
                if let Some(t) = title.as_deref().filter(|t| !t.is_empty()) {
                    str_field(&mut o, "title", t, MAX_TITLE);
                }
                ts
            }
            Event::Engagement { url, ms, ts } => {
                push_str(&mut o, "engagement");
                str_field(&mut o, "url", url, MAX_URL);
                push_key(&mut o, "ms", false);
                push_u64(&mut o, (*ms).min(MAX_ENGAGEMENT_MS));
                ts
            }
            Event::Conversion {
                form,
                url,
                fields,
                ts,
            } => {
                push_str(&mut o, "conversion");
                str_field(&mut o, "form", form, MAX_ID);
                str_field(&mut o, "url", url, MAX_URL);
                push_key(&mut o, "fields", false);
                o.push('{');
                for (i, (k, v)) in fields.iter().take(MAX_KEYS).enumerate() {
                    push_key(&mut o, truncate(k, MAX_ID), i == 0);
                    push_str(&mut o, truncate(v, MAX_FIELD));
                }
                o.push('}');
                ts
            }
            Event::Popup {
                rule,
                variant,
                action,
                url,
                ts,
            } => {
                push_str(&mut o, "popup");
                str_field(&mut o, "rule", rule, MAX_ID);
                str_field(&mut o, "variant", variant, MAX_ID);
                str_field(&mut o, "action", action.as_str(), MAX_ID);
                str_field(&mut o, "url", url, MAX_URL);
                ts
            }
            Event::Identify { token, url, ts } => {
                push_str(&mut o, "identify");
                str_field(&mut o, "token", token, MAX_TOKEN);
                str_field(&mut o, "url", url, MAX_URL);
                ts
            }
            Event::Track {
                name,
                url,
                props,
                ts,
            } => {
                push_str(&mut o, "track");
                str_field(&mut o, "name", name, MAX_ID);
                str_field(&mut o, "url", url, MAX_URL);
                if !props.is_empty() {
                    push_key(&mut o, "props", false);
                    o.push('{');
                    for (i, (k, v)) in props.iter().take(MAX_KEYS).enumerate() {
                        push_key(&mut o, truncate(k, MAX_ID), i == 0);
                        match v {
                            Prop::Str(s) => push_str(&mut o, truncate(s, MAX_FIELD)),
                            Prop::Num(n) => o.push_str(n),
                            Prop::Bool(b) => o.push_str(if *b { "true" } else { "false" }),
                        }
                    }
                    o.push('}');
                }
                ts
            }
            Event::Download { url, href, ts } => {
                push_str(&mut o, "download");
                str_field(&mut o, "url", url, MAX_URL);
                str_field(&mut o, "href", href, MAX_URL);
                ts
            }
        };
        push_key(&mut o, "ts", false);
        push_u64(&mut o, *ts);
        o.push('}');
        o
    }
}

fn str_field(o: &mut String, key: &str, value: &str, max: usize) {
    push_key(o, key, false);
    push_str(o, truncate(value, max));
}

/// What a collect request says about the page rather than about one event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page<'a> {
    /// The visitor's consent, once the site has reported it.
    pub consent: Option<bool>,
    /// The page's language (`<html lang>`): the popup's copy follows it.
    pub lang: Option<&'a str>,
    /// A preview token from the landing URL's `mk_preview`: the edge then forces that rule's
    /// popup for this browser.
    pub preview: Option<&'a str>,
}

/// The body of one `POST v1/collect`: `events` are already-written JSON objects. An empty or
/// overlong language, or an overlong preview token, is left out.
pub fn payload(site: &str, vid: Option<&str>, page: Page<'_>, events: &[String]) -> String {
    let mut o = String::with_capacity(64 + events.iter().map(|e| e.len() + 1).sum::<usize>());
    o.push('{');
    push_key(&mut o, "site", true);
    push_str(&mut o, site);
    push_key(&mut o, "vid", false);
    match vid {
        Some(v) => push_str(&mut o, v),
        None => o.push_str("null"),
    }
    if let Some(c) = page.consent {
        push_key(&mut o, "consent", false);
        o.push_str(if c { "true" } else { "false" });
    }
    if let Some(lang) = page.lang.filter(|l| !l.is_empty() && l.len() <= MAX_LANG) {
        str_field(&mut o, "lang", lang, MAX_LANG);
    }
    if let Some(token) = page
        .preview
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
    {
        str_field(&mut o, "preview", token, MAX_TOKEN);
    }
    push_key(&mut o, "events", false);
    o.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str(e);
    }
    o.push_str("]}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pageview_omits_empty_optional_fields() {
        let e = Event::Pageview {
            url: "https://a.example/p?utm_source=mail".into(),
            referrer: Some(String::new()),
            title: Some("料金".into()),
            ts: 1_700_000_000_000,
        };
        assert_eq!(
            e.to_json(),
            r#"{"type":"pageview","url":"https://a.example/p?utm_source=mail","title":"料金","ts":1700000000000}"#
        );
    }

    #[test]
    fn conversion_cuts_values_and_keys_to_the_limits() {
        let long = "x".repeat(300);
        let mut fields: Vec<(String, String)> = vec![("email".into(), "a@corp.example".into())];
        fields.push(("name".into(), long));
        for i in 0..30 {
            fields.push((format!("k{i}"), "v".into()));
        }
        let json = Event::Conversion {
            form: "f".repeat(100),
            url: "https://a.example/".into(),
            fields,
            ts: 1,
        }
        .to_json();
        assert!(json.contains(&format!(r#""form":"{}""#, "f".repeat(64))));
        assert!(json.contains(&format!(r#""name":"{}""#, "x".repeat(256))));
        assert!(json.contains(r#""k17":"v""#));
        assert!(!json.contains(r#""k18""#), "more than 20 keys: {json}");
    }

    #[test]
    fn engagement_is_capped_at_one_day() {
        let json = Event::Engagement {
            url: "https://a.example/".into(),
            ms: u64::MAX,
            ts: 2,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"engagement","url":"https://a.example/","ms":86400000,"ts":2}"#
        );
    }

    #[test]
    fn track_writes_typed_props() {
        let json = Event::Track {
            name: "signup".into(),
            url: "https://a.example/".into(),
            props: vec![
                ("plan".into(), Prop::Str("pro".into())),
                ("seats".into(), Prop::Num("12.5".into())),
                ("trial".into(), Prop::Bool(true)),
            ],
            ts: 3,
        }
        .to_json();
        assert_eq!(
            json,
            r#"{"type":"track","name":"signup","url":"https://a.example/","props":{"plan":"pro","seats":12.5,"trial":true},"ts":3}"#
        );
    }

    #[test]
    fn popup_download_identify_shapes() {
        let p = Event::Popup {
            rule: "brochure-repeat".into(),
            variant: "a".into(),
            action: PopupAction::Dismissed,
            url: "https://a.example/".into(),
            ts: 4,
        };
        assert_eq!(
            p.to_json(),
            r#"{"type":"popup","rule":"brochure-repeat","variant":"a","action":"dismissed","url":"https://a.example/","ts":4}"#
        );
        let d = Event::Download {
            url: "https://a.example/".into(),
            href: "https://a.example/b.pdf".into(),
            ts: 5,
        };
        assert_eq!(
            d.to_json(),
            r#"{"type":"download","url":"https://a.example/","href":"https://a.example/b.pdf","ts":5}"#
        );
        let i = Event::Identify {
            token: "tok".into(),
            url: "https://a.example/".into(),
            ts: 6,
        };
        assert_eq!(
            i.to_json(),
            r#"{"type":"identify","token":"tok","url":"https://a.example/","ts":6}"#
        );
        assert!(d.is_urgent() && i.is_urgent() && !p.is_urgent());
    }

    #[test]
    fn payload_carries_site_vid_consent_and_events() {
        let events = vec![r#"{"a":1}"#.to_string(), r#"{"b":2}"#.to_string()];
        assert_eq!(
            payload("demo", None, Page::default(), &events),
            r#"{"site":"demo","vid":null,"events":[{"a":1},{"b":2}]}"#
        );
        let page = Page {
            consent: Some(true),
            lang: Some("ja-JP"),
            preview: Some("tok_1"),
        };
        assert_eq!(
            payload("demo", Some("abc"), page, &events[..1]),
            r#"{"site":"demo","vid":"abc","consent":true,"lang":"ja-JP","preview":"tok_1","events":[{"a":1}]}"#
        );
    }

    #[test]
    fn payload_leaves_out_empty_and_overlong_page_details() {
        let events = vec![r#"{"a":1}"#.to_string()];
        let long_lang = "x".repeat(MAX_LANG + 1);
        let long_token = "t".repeat(MAX_TOKEN + 1);
        for (lang, preview) in [("", ""), (long_lang.as_str(), long_token.as_str())] {
            let page = Page {
                consent: None,
                lang: Some(lang),
                preview: Some(preview),
            };
            assert_eq!(
                payload("demo", None, page, &events),
                r#"{"site":"demo","vid":null,"events":[{"a":1}]}"#
            );
        }
    }
}
