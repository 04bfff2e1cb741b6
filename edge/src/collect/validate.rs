//! Turns wire events into stored events, enforcing every bound, or says exactly which event is
//! wrong and why. Nothing is partially accepted: one bad event refuses the whole request.

use super::wire::{self, PropValue, WireEvent};
use crate::event::{Event, Prop, TimedEvent};

// The wire contract's limits, the same constants the tag cuts its events to.
use mikomi_wire::{
    MAX_ENGAGEMENT_MS, MAX_FIELD as MAX_FIELD_VALUE, MAX_ID, MAX_KEYS as MAX_FIELDS, MAX_TITLE,
    MAX_TOKEN, MAX_URL,
};

/// URL query parameters the tag must strip and the edge strips again, so a signed
/// email-click token never reaches storage through a page URL.
const SECRET_QUERY_PARAMS: &[&str] = &["mk_t", "mk_preview"];

/// Form fields that must never be stored even if a tag sends them.
const SECRET_FIELD_HINTS: &[&str] = &[
    "password", "passwd", "pwd", "card", "cc-", "cvc", "cvv", "csc", "secret", "pin",
];

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("event {index}: {reason}")]
pub struct InvalidEvent {
    pub index: usize,
    pub reason: String,
}

/// Validates a batch of wire events.
pub fn events(wire: Vec<WireEvent>) -> Result<Vec<TimedEvent>, InvalidEvent> {
    wire.into_iter()
        .enumerate()
        .map(|(index, event)| event_at(event).map_err(|reason| InvalidEvent { index, reason }))
        .collect()
}

fn event_at(wire: WireEvent) -> Result<TimedEvent, String> {
    let (client_ts, event) = match wire {
        WireEvent::Pageview(wire::Pageview {
            url,
            referrer,
            title,
            ts,
        }) => (
            ts,
            Event::PageView {
                url: page_url("url", url)?,
                referrer: referrer
                    .filter(|r| !r.is_empty())
                    .map(|r| page_url("referrer", r))
                    .transpose()?,
                title: title.map(|t| bounded("title", t, MAX_TITLE)).transpose()?,
            },
        ),
        WireEvent::Engagement(wire::Engagement { url, ms, ts }) => {
            if ms > MAX_ENGAGEMENT_MS {
                return Err(format!("ms must be at most {MAX_ENGAGEMENT_MS}"));
            }
            (
                ts,
                Event::Engagement {
                    url: page_url("url", url)?,
                    ms,
                },
            )
        }
        WireEvent::Conversion(wire::Conversion {
            form,
            url,
            fields,
            ts,
        }) => {
            if fields.len() > MAX_FIELDS {
                return Err(format!("a conversion carries at most {MAX_FIELDS} fields"));
            }
            let fields = fields
                .into_iter()
                .filter(|(name, _)| !is_secret_field(name))
                .map(|(name, value)| {
                    let name = identifier("field name", name)?;
                    let value = bounded(&name, value.trim().to_string(), MAX_FIELD_VALUE)?;
                    Ok((name, value))
                })
                .collect::<Result<Vec<_>, String>>()?;
            (
                ts,
                Event::Conversion {
                    form: identifier("form", form)?,
                    url: page_url("url", url)?,
                    fields,
                },
            )
        }
        WireEvent::Popup(wire::Popup {
            rule,
            variant,
            action,
            url,
            ts,
        }) => (
            ts,
            Event::Popup {
                rule: identifier("rule", rule)?,
                variant: identifier("variant", variant)?,
                action,
                url: url.map(|u| page_url("url", u)).transpose()?,
            },
        ),
        WireEvent::Identify(wire::Identify { token, url, ts }) => {
            if token.is_empty() || token.len() > MAX_TOKEN {
                return Err(format!("token must be 1 to {MAX_TOKEN} bytes"));
            }
            (
                ts,
                Event::Identify {
                    token,
                    url: url.map(|u| page_url("url", u)).transpose()?,
                },
            )
        }
        WireEvent::Track(wire::Track {
            name,
            url,
            props,
            ts,
        }) => {
            if props.len() > MAX_FIELDS {
                return Err(format!("a track event carries at most {MAX_FIELDS} props"));
            }
            let props = props
                .into_iter()
                .map(|(key, value)| {
                    let key = identifier("prop name", key)?;
                    let value = match value {
                        PropValue::Bool(b) => Prop::Bool(b),
                        PropValue::Number(n) if n.is_finite() => Prop::Number(n),
                        PropValue::Number(_) => return Err(format!("prop `{key}` is not finite")),
                        PropValue::Text(t) => Prop::Text(bounded(&key, t, MAX_FIELD_VALUE)?),
                    };
                    Ok((key, value))
                })
                .collect::<Result<Vec<_>, String>>()?;
            (
                ts,
                Event::Track {
                    name: identifier("name", name)?,
                    url: url.map(|u| page_url("url", u)).transpose()?,
                    props,
                },
            )
        }
        WireEvent::Download(wire::Download { url, href, ts }) => (
            ts,
            Event::Download {
                url: page_url("url", url)?,
                href: page_url("href", href)?,
            },
        ),
    };
    Ok(TimedEvent { client_ts, event })
}

/// An absolute http(s) URL of bounded length, with secret query parameters removed.
fn page_url(what: &str, url: String) -> Result<String, String> {
    if url.len() > MAX_URL {
        return Err(format!("{what} is longer than {MAX_URL} bytes"));
    }
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{what} must be an absolute http(s) URL"));
    }
    Ok(strip_secret_params(url))
}

fn strip_secret_params(url: String) -> String {
    let Some((base, rest)) = url.split_once('?') else {
        return url;
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let is_secret = |pair: &&str| {
        let name = pair.split('=').next().unwrap_or_default();
        SECRET_QUERY_PARAMS.contains(&name)
    };
    if !query.split('&').any(|p| is_secret(&p)) {
        return url;
    }
    let kept: Vec<&str> = query.split('&').filter(|p| !is_secret(p)).collect();
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn bounded(what: &str, text: String, max: usize) -> Result<String, String> {
    if text.len() > max {
        Err(format!("{what} is longer than {max} bytes"))
    } else {
        Ok(text)
    }
}

/// Short names: form ids, rule ids, field names.
fn identifier(what: &str, text: String) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= MAX_ID
        && !text.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(text)
    } else {
        Err(format!("{what} must be 1 to {MAX_ID} bytes without spaces"))
    }
}

fn is_secret_field(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_FIELD_HINTS.iter().any(|hint| lower.contains(hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> Result<TimedEvent, InvalidEvent> {
        let wire: WireEvent = serde_json::from_str(json).expect("wire shape");
        events(vec![wire]).map(|mut v| v.remove(0))
    }

    #[test]
    fn page_view_keeps_url_title_and_referrer() {
        let e = one(r#"{"type":"pageview","url":"https://a.jp/p?utm_source=mail","referrer":"https://b.jp/","title":"料金","ts":5}"#)
            .expect("valid");
        assert_eq!(e.client_ts, Some(5));
        assert_eq!(
            e.event,
            Event::PageView {
                url: "https://a.jp/p?utm_source=mail".into(),
                referrer: Some("https://b.jp/".into()),
                title: Some("料金".into()),
            }
        );
    }

    #[test]
    fn email_tokens_never_reach_storage() {
        let e = one(r#"{"type":"pageview","url":"https://a.jp/p?x=1&mk_t=SECRET&y=2#top"}"#)
            .expect("valid");
        assert_eq!(e.event.url(), Some("https://a.jp/p?x=1&y=2#top"));
        let e = one(r#"{"type":"pageview","url":"https://a.jp/p?mk_t=SECRET"}"#).expect("valid");
        assert_eq!(e.event.url(), Some("https://a.jp/p"));
    }

    #[test]
    fn secret_form_fields_are_dropped() {
        let e = one(r#"{"type":"conversion","form":"contact","url":"https://a.jp/c","fields":{"email":" a@b.jp ","password":"x","cc-number":"4111","name":"山田"}}"#)
            .expect("valid");
        let Event::Conversion { fields, .. } = e.event else {
            panic!("conversion expected");
        };
        assert_eq!(
            fields,
            vec![
                ("email".into(), "a@b.jp".into()),
                ("name".into(), "山田".into())
            ]
        );
    }

    #[test]
    fn bad_events_say_which_and_why() {
        let long = format!("https://a.jp/{}", "x".repeat(MAX_URL));
        let cases = [
            (
                r#"{"type":"pageview","url":"/relative"}"#.to_string(),
                "absolute",
            ),
            (format!(r#"{{"type":"pageview","url":"{long}"}}"#), "longer"),
            (
                r#"{"type":"engagement","url":"https://a.jp","ms":999999999999}"#.into(),
                "ms",
            ),
            (
                r#"{"type":"popup","rule":"","variant":"a","action":"shown"}"#.into(),
                "rule",
            ),
            (r#"{"type":"identify","token":""}"#.into(), "token"),
            (
                r#"{"type":"download","url":"https://a.jp","href":"javascript:x"}"#.into(),
                "href",
            ),
        ];
        for (json, needle) in cases {
            let err = one(&json).expect_err(&json);
            assert_eq!(err.index, 0);
            assert!(err.reason.contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn the_failing_index_is_reported() {
        let wire: Vec<WireEvent> = serde_json::from_str(
            r#"[{"type":"pageview","url":"https://a.jp"},{"type":"pageview","url":"nope"}]"#,
        )
        .expect("wire shape");
        assert_eq!(events(wire).expect_err("second is bad").index, 1);
    }

    #[test]
    fn unknown_types_and_fields_are_refused_by_the_wire_shape() {
        assert!(
            serde_json::from_str::<WireEvent>(r#"{"type":"hover","url":"https://a"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<WireEvent>(r#"{"type":"pageview","url":"https://a","x":1}"#)
                .is_err()
        );
    }
}
