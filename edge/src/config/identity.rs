//! Configuration of identity, scoring, accounts and webhooks.

use std::time::Duration;

use serde::Deserialize;

use super::values::HumanDuration;
use crate::glob::Glob;

/// The longest an email-click token may live. A link in a mail is clicked within days or weeks;
/// a token that outlives a year is a mistake (or an attempt to get one that never expires), and
/// an unbounded duration would overflow the expiry's milliseconds.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(365 * 86_400);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// How long an email-click token minted by the API stays valid.
    pub token_ttl: HumanDuration,
    /// New people one browser may create (with forms naming unknown addresses) per day.
    pub max_new_people_per_visitor: u32,
    /// New people one client address may create per day (an office shares one address).
    pub max_new_people_per_address: u32,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            token_ttl: HumanDuration(Duration::from_secs(30 * 86_400)),
            max_new_people_per_visitor: 3,
            max_new_people_per_address: 50,
        }
    }
}

/// Points per behaviour; see `crate::scoring`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    pub half_life: HumanDuration,
    pub mql_threshold: f64,
    pub pageview: f64,
    pub engaged_minute: f64,
    pub conversion: f64,
    pub email_click: f64,
    pub download: f64,
    pub popup_submit: f64,
    pub pages: Vec<PagePoints>,
    pub forms: Vec<FormPoints>,
    /// Points per kind of offline event an imported list names.
    pub offline: OfflinePoints,
}

/// What meeting a person offline is worth, by kind (`[scoring.offline]`). A seminar attendee
/// chose to spend an hour on the subject; a card from a booth may be a passer-by.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OfflinePoints {
    pub seminar: f64,
    pub exhibition: f64,
    pub business_card: f64,
    pub call: f64,
    /// Any other kind a list names.
    pub custom: f64,
}

/// The most one offline event may be worth: more is a typo that would make every attendee an
/// MQL at once.
pub const MAX_OFFLINE_POINTS: f64 = 1_000.0;

impl Default for OfflinePoints {
    fn default() -> Self {
        OfflinePoints {
            seminar: 20.0,
            exhibition: 10.0,
            business_card: 5.0,
            call: 10.0,
            custom: 5.0,
        }
    }
}

impl OfflinePoints {
    /// Each kind with its points, for validation and the docs.
    pub fn each(&self) -> [(&'static str, f64); 5] {
        [
            ("seminar", self.seminar),
            ("exhibition", self.exhibition),
            ("business_card", self.business_card),
            ("call", self.call),
            ("custom", self.custom),
        ]
    }
}

/// Limits of list imports (`[imports]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportsConfig {
    /// The largest file one import takes, in bytes: a 100,000-row list is about 15 MB.
    pub max_bytes: usize,
}

/// The most `imports.max_bytes` may be: the file is held and parsed in memory.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;

impl Default for ImportsConfig {
    fn default() -> Self {
        ImportsConfig {
            max_bytes: 32 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagePoints {
    pub glob: Glob,
    pub points: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormPoints {
    pub form: String,
    pub points: f64,
}

impl Default for ScoringConfig {
    /// Two weeks' half-life; a conversion is worth twenty page views.
    fn default() -> Self {
        ScoringConfig {
            half_life: HumanDuration(Duration::from_secs(14 * 86_400)),
            mql_threshold: 50.0,
            pageview: 1.0,
            engaged_minute: 1.0,
            conversion: 20.0,
            email_click: 5.0,
            download: 5.0,
            popup_submit: 5.0,
            pages: Vec::new(),
            forms: Vec::new(),
            offline: OfflinePoints::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Path globs of the pages sales cares about (`/pricing*`, `/product*`).
    pub key_pages: Vec<Glob>,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            key_pages: ["*/pricing*", "*/product*"]
                .into_iter()
                .filter_map(|g| Glob::new(g).ok())
                .collect(),
        }
    }
}

/// A receiver of webhook events, signed the Standard Webhooks way.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `https://…`, verified against `[outgoing]`'s roots; or `http://…` on a private network.
    pub url: WebhookUrl,
    /// `whsec_` followed by base64 of the signing key.
    pub secret: WebhookSecret,
    /// Event types to send; all when empty.
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct WebhookUrl(pub String);

impl TryFrom<String> for WebhookUrl {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| format!("`{text}` must be an https:// (or http://) URL"))?;
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err(format!("`{text}` has no host"));
        }
        if text.parse::<hyper::Uri>().is_err() {
            return Err(format!("`{text}` is not a valid URL"));
        }
        Ok(WebhookUrl(text))
    }
}

#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct WebhookSecret(pub String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl TryFrom<String> for WebhookSecret {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        use base64::Engine;
        let key = text
            .strip_prefix("whsec_")
            .ok_or("a webhook secret starts with `whsec_`")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(key)
            .map_err(|_| "after `whsec_` a webhook secret is base64")?;
        if bytes.len() < 24 {
            return Err("a webhook secret needs at least 24 bytes of key".into());
        }
        Ok(WebhookSecret(text))
    }
}
