//! Small value types parsed once, at start-up, so that nothing downstream handles raw strings.
//!
//! Each one fails inside deserialisation, which lets the TOML parser attach the line of the
//! offending value to the error.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A duration written the human way: `"30m"`, `"10s"`, `"7d"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        humantime::parse_duration(&text)
            .map(HumanDuration)
            .map_err(|e| format!("`{text}` is not a duration like \"30m\" or \"10s\": {e}"))
    }
}

/// A browser origin: scheme, host and optional port, nothing else (`https://example.co.jp`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Origin(String);

impl Origin {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the origin is served over TLS.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Origin {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| format!("origin `{text}` must start with http:// or https://"))?;
        let valid_host = !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !valid_host {
            return Err(format!(
                "origin `{text}` must be scheme://host[:port] with no path, e.g. https://www.example.co.jp"
            ));
        }
        Ok(Origin(text.to_ascii_lowercase()))
    }
}

/// A site key: what the tag's `data-site` carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct SiteKey(String);

impl SiteKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SiteKey {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = (1..=64).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(SiteKey(text))
        } else {
            Err(format!(
                "site key `{text}` must be 1 to 64 characters of a-z, A-Z, 0-9, - and _"
            ))
        }
    }
}

/// A secret of enough length to be worth the name (API keys, signing secrets).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Secret(String);

/// Fewer characters than this is guessable.
const MIN_SECRET_LEN: usize = 24;

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl TryFrom<String> for Secret {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text.len() < MIN_SECRET_LEN {
            Err(format!(
                "a secret must be at least {MIN_SECRET_LEN} characters long (this one has {})",
                text.len()
            ))
        } else {
            Ok(Secret(text))
        }
    }
}

/// A URL path prefix under which the public routes are mounted (`""` or `"/mk"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PathPrefix(String);

impl PathPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PathPrefix {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let trimmed = text.trim_end_matches('/');
        if trimmed.is_empty() {
            return Ok(PathPrefix(String::new()));
        }
        let ok = trimmed.starts_with('/')
            && trimmed
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
            && !trimmed.contains("//");
        if ok {
            Ok(PathPrefix(trimmed.to_string()))
        } else {
            Err(format!(
                "path prefix `{text}` must look like \"/mk\": a leading slash, then letters, digits, - _ . /"
            ))
        }
    }
}

/// A file name for a public asset (no directories, nothing to escape).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AssetName(String);

impl AssetName {
    pub fn new(name: &str) -> Self {
        AssetName(name.to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AssetName {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let ok = !text.is_empty()
            && !text.starts_with('.')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(AssetName(text))
        } else {
            Err(format!(
                "asset name `{text}` must be a plain file name of letters, digits, - _ ."
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_or_explain() {
        assert_eq!(
            HumanDuration::try_from("30m".to_string()),
            Ok(HumanDuration(Duration::from_secs(1800)))
        );
        let err = HumanDuration::try_from("soon".to_string()).expect_err("not a duration");
        assert!(err.contains("`soon`"), "{err}");
    }

    #[test]
    fn origins_are_scheme_host_port_only() {
        assert!(Origin::try_from("https://www.example.co.jp".to_string()).is_ok());
        assert!(Origin::try_from("http://127.0.0.1:8080".to_string()).is_ok());
        assert!(Origin::try_from("http://[::1]:8080".to_string()).is_ok());
        for bad in [
            "example.co.jp",
            "https://x.jp/path",
            "ftp://x.jp",
            "https://",
        ] {
            assert!(Origin::try_from(bad.to_string()).is_err(), "{bad}");
        }
        let upper = Origin::try_from("HTTPS://Example.JP".to_string());
        assert!(upper.is_err(), "scheme is matched in lower case");
    }

    #[test]
    fn prefixes_are_normalised() {
        assert_eq!(
            PathPrefix::try_from("/".to_string()).map(|p| p.0),
            Ok("".into())
        );
        assert_eq!(
            PathPrefix::try_from("/mk/".to_string()).map(|p| p.0),
            Ok("/mk".into())
        );
        assert!(PathPrefix::try_from("mk".to_string()).is_err());
        assert!(PathPrefix::try_from("/a//b".to_string()).is_err());
    }

    #[test]
    fn secrets_need_length_and_hide_in_debug() {
        assert!(Secret::try_from("short".to_string()).is_err());
        let secret = Secret::try_from("x".repeat(32)).expect("long enough");
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }

    #[test]
    fn site_keys_and_asset_names_are_plain() {
        assert!(SiteKey::try_from("demo-site_1".to_string()).is_ok());
        assert!(SiteKey::try_from("a b".to_string()).is_err());
        assert!(AssetName::try_from("tracker_bg.wasm".to_string()).is_ok());
        assert!(AssetName::try_from("../x".to_string()).is_err());
    }
}
