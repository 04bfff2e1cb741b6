//! The collect request exactly as the tag sends it (wire contract v1). Strict: unknown fields
//! and unknown event types are refused, so a broken tag is noticed instead of silently losing
//! data.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, MapDeserializer};
use serde::de::{self, Deserializer, MapAccess, Visitor};

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

/// One event: an object whose `type` says which of the shapes below its other fields take.
#[derive(Debug)]
pub enum WireEvent {
    Pageview(Pageview),
    Engagement(Engagement),
    Conversion(Conversion),
    Popup(Popup),
    Identify(Identify),
    Track(Track),
    Download(Download),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pageview {
    pub url: String,
    #[serde(default)]
    pub referrer: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    pub url: String,
    pub ms: u64,
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    pub form: String,
    pub url: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Popup {
    pub rule: String,
    pub variant: String,
    pub action: PopupAction,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identify {
    pub token: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub name: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub props: BTreeMap<String, PropValue>,
    #[serde(default)]
    pub ts: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Download {
    pub url: String,
    pub href: String,
    #[serde(default)]
    pub ts: Option<i64>,
}

/// The event types, as the wire spells them.
const KINDS: &[&str] = &[
    "pageview",
    "engagement",
    "conversion",
    "popup",
    "identify",
    "track",
    "download",
];

/// Decodes straight into the event's shape when `type` comes first, as the tag sends it; an
/// object with its `type` later is gathered first and decoded the same way. (A derived
/// internally tagged enum would buffer every event before looking at its type.)
impl<'de> Deserialize<'de> for WireEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = WireEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event object with a `type`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireEvent, A::Error> {
        let Some(first) = map.next_key::<Key<'de>>()? else {
            return Err(de::Error::missing_field("type"));
        };
        if first.0 == "type" {
            let kind: Key<'de> = map.next_value()?;
            return shape(&kind.0, MapAccessDeserializer::new(map));
        }
        let mut rest: Vec<(String, serde_json::Value)> =
            vec![(first.0.into_owned(), map.next_value()?)];
        while let Some(entry) = map.next_entry()? {
            rest.push(entry);
        }
        let at = rest
            .iter()
            .position(|(key, _)| key == "type")
            .ok_or_else(|| de::Error::missing_field("type"))?;
        let kind = match rest.remove(at).1 {
            serde_json::Value::String(kind) => kind,
            other => {
                return Err(de::Error::invalid_type(
                    unexpected(&other),
                    &"an event type",
                ));
            }
        };
        let fields = MapDeserializer::<_, serde_json::Error>::new(rest.into_iter());
        shape(&kind, fields).map_err(de::Error::custom)
    }
}

/// The fields of an event of type `kind`.
fn shape<'de, D: Deserializer<'de>>(kind: &str, fields: D) -> Result<WireEvent, D::Error> {
    Ok(match kind {
        "pageview" => WireEvent::Pageview(Pageview::deserialize(fields)?),
        "engagement" => WireEvent::Engagement(Engagement::deserialize(fields)?),
        "conversion" => WireEvent::Conversion(Conversion::deserialize(fields)?),
        "popup" => WireEvent::Popup(Popup::deserialize(fields)?),
        "identify" => WireEvent::Identify(Identify::deserialize(fields)?),
        "track" => WireEvent::Track(Track::deserialize(fields)?),
        "download" => WireEvent::Download(Download::deserialize(fields)?),
        other => return Err(de::Error::unknown_variant(other, KINDS)),
    })
}

/// A key or a type name: borrowed from the body unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text.to_string())))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn unexpected(value: &serde_json::Value) -> de::Unexpected<'_> {
    match value {
        serde_json::Value::Null => de::Unexpected::Unit,
        serde_json::Value::Bool(b) => de::Unexpected::Bool(*b),
        serde_json::Value::Number(_) => de::Unexpected::Other("a number"),
        serde_json::Value::String(s) => de::Unexpected::Str(s),
        serde_json::Value::Array(_) => de::Unexpected::Seq,
        serde_json::Value::Object(_) => de::Unexpected::Map,
    }
}

/// A custom event property: flat values only.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum PropValue {
    Bool(bool),
    Number(f64),
    Text(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(json: &str) -> Result<WireEvent, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn the_type_may_come_anywhere_in_the_object() {
        for json in [
            r#"{"type":"pageview","url":"https://a.jp/","ts":5}"#,
            r#"{"url":"https://a.jp/","ts":5,"type":"pageview"}"#,
            r#"{"url":"https://a.jp/","type":"page\u0076iew","ts":5}"#,
        ] {
            match decode(json) {
                Ok(WireEvent::Pageview(view)) => {
                    assert_eq!(
                        (view.url.as_str(), view.ts),
                        ("https://a.jp/", Some(5)),
                        "{json}"
                    );
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_wrong_missing_or_repeated_type_is_refused_with_the_reason() {
        let cases = [
            (
                r#"{"type":"hover","url":"https://a"}"#,
                "unknown variant `hover`",
            ),
            (
                r#"{"url":"https://a","type":"hover"}"#,
                "unknown variant `hover`",
            ),
            (r#"{"url":"https://a"}"#, "missing field `type`"),
            (r#"{}"#, "missing field `type`"),
            (r#"{"url":"https://a","type":7}"#, "expected an event type"),
            (
                r#"{"type":"pageview","url":"https://a","type":"pageview"}"#,
                "unknown field `type`",
            ),
            (
                r#"{"type":"pageview","url":"https://a","x":1}"#,
                "unknown field `x`",
            ),
            (
                r#"{"x":1,"type":"pageview","url":"https://a"}"#,
                "unknown field `x`",
            ),
            (
                r#"{"type":"engagement","url":"https://a"}"#,
                "missing field `ms`",
            ),
            (r#"["pageview"]"#, "expected an event object"),
        ];
        for (json, reason) in cases {
            let err = decode(json).expect_err(json);
            assert!(err.contains(reason), "{json}: {err}");
        }
    }
}
