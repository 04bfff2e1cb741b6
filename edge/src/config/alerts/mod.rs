//! `[[alerts]]`, `[alerting]` and `[[digests]]`: who is told what, when, and where.
//!
//! Alert rules are read here as written and checked with their lines; `alerts::compile` turns
//! them into what the collect path evaluates. Channels are named once under `[alerting]` and
//! rules and digests send to them by name.

use serde::Deserialize;
use toml::Spanned;

mod validate;

pub(in crate::config) use validate::validate;

use super::{HumanDuration, SiteKey, WebhookUrl};
use crate::glob::Glob;
use crate::notice::Band;

/// `[alerting]`: the channels, the mail server, and how delivery gives up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertingConfig {
    /// The console's public address: messages link to `{console_url}/sites/{site}/accounts/…`.
    pub console_url: Option<WebhookUrl>,
    pub smtp: Option<Spanned<SmtpConfig>>,
    pub channels: Vec<Spanned<ChannelConfig>>,
    /// Failed attempts after which a message goes to the dead-letter list.
    pub max_attempts: u32,
    /// Age after which an undelivered message goes to the dead-letter list.
    pub max_age: HumanDuration,
    /// Longest wait for one delivery attempt.
    pub timeout: HumanDuration,
    /// Whether this node delivers. Every node decides and records alerts alike; with several
    /// nodes, let one deliver (Slack and Teams cannot drop a duplicate the way a webhook
    /// receiver can).
    pub deliver: bool,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            console_url: None,
            smtp: None,
            channels: Vec::new(),
            max_attempts: 8,
            max_age: HumanDuration(std::time::Duration::from_secs(24 * 3600)),
            timeout: HumanDuration(std::time::Duration::from_secs(10)),
            deliver: true,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: Spanned<String>,
    pub kind: ChannelKind,
    /// The incoming-webhook URL of a Slack or Teams channel.
    #[serde(default)]
    pub url: Option<WebhookUrl>,
    /// Recipients of an email channel: `sales@example.co.jp` or `営業部 <sales@example.co.jp>`;
    /// of an account-owner channel, who is told when the company has no owner (none: nobody).
    #[serde(default)]
    pub to: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A Slack incoming webhook: a Block Kit message.
    Slack,
    /// A Teams workflow ("When a Teams webhook request is received"): an Adaptive Card.
    Teams,
    /// Mail through `[alerting.smtp]`: a plain-text and an HTML part.
    Email,
    /// The `[[webhooks]]` endpoints, as a Standard Webhooks event of the alert's type.
    Webhooks,
    /// Mail to the owner an accounts import names for the alert's company (through
    /// `[alerting.smtp]`); to the channel's `to` when the company has no owner.
    #[serde(rename = "account_owner")]
    AccountOwner,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Defaults to 587 for STARTTLS, 465 for implicit TLS, 25 without TLS.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Password>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        })
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which must succeed.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// No TLS: only for a relay on the same machine or network.
    None,
}

/// A password kept out of debug output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

/// One `[[alerts]]` rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleConfig {
    pub name: Spanned<String>,
    pub site: Spanned<SiteKey>,
    /// `ja` or `en`: the language of the messages.
    #[serde(default = "default_lang")]
    pub lang: Spanned<String>,
    /// Channel names.
    pub to: Vec<Spanned<String>>,
    /// The same alert about the same company (or person) at most once in this long.
    #[serde(default = "one_day")]
    pub cooldown: HumanDuration,
    /// `"20:00-08:00"` in the site's time zone: nothing is sent then (the digest still counts it).
    #[serde(default)]
    pub quiet_hours: Option<Spanned<QuietHours>>,
    #[serde(default)]
    pub account: Option<Spanned<AccountCondition>>,
    #[serde(default)]
    pub person: Option<Spanned<PersonCondition>>,
    #[serde(default)]
    pub page: Option<Spanned<PageCondition>>,
}

fn default_lang() -> Spanned<String> {
    Spanned::new(0..0, "ja".to_string())
}

fn one_day() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(24 * 3600))
}

/// Over a company's account within `window`; every condition given must hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountCondition {
    #[serde(default = "seven_days")]
    pub window: HumanDuration,
    pub heat_at_least: Option<f64>,
    pub key_pages_at_least: Option<u32>,
    pub visitors_at_least: Option<u32>,
    pub known_people_at_least: Option<u32>,
    /// Any of these bands: `small` (≤ 100 employees), `mid` (100–500), `large` (500+).
    #[serde(default)]
    pub employee_band: Vec<Band>,
    /// Any of these industries (as the company database names them).
    #[serde(default)]
    pub industry: Vec<String>,
    /// Any of these ISO country codes.
    #[serde(default)]
    pub country: Vec<String>,
    /// Only the company's first visit ever.
    #[serde(default)]
    pub first_visit: bool,
}

fn seven_days() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(7 * 24 * 3600))
}

/// Over the known person behind a visit; any one given that holds fires the rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonCondition {
    /// A known person starts a new visit.
    #[serde(default)]
    pub returned: bool,
    /// A verified email-click token arrives with a visit.
    #[serde(default)]
    pub email_click: bool,
    /// The person's score crosses this value with this visit.
    pub score_at_least: Option<f64>,
}

/// A page viewed by a confidently named business.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageCondition {
    pub path: Glob,
}

/// `HH:MM-HH:MM`; the range may run past midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct QuietHours {
    /// Minutes after local midnight.
    pub from: u32,
    pub to: u32,
}

impl QuietHours {
    /// Whether `minute` (of the local day) is quiet.
    pub fn contains(self, minute: u32) -> bool {
        if self.from <= self.to {
            (self.from..self.to).contains(&minute)
        } else {
            minute >= self.from || minute < self.to
        }
    }
}

impl TryFrom<String> for QuietHours {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let (from, to) = text
            .split_once('-')
            .ok_or_else(|| format!("`{text}` is not a range like \"20:00-08:00\""))?;
        Ok(QuietHours {
            from: LocalTime::try_from(from.trim().to_string())?.minute,
            to: LocalTime::try_from(to.trim().to_string())?.minute,
        })
    }
}

/// `HH:MM` of a local day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LocalTime {
    pub minute: u32,
}

impl TryFrom<String> for LocalTime {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("`{text}` is not a time like \"08:30\"");
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        let h: u32 = h.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(LocalTime { minute: h * 60 + m })
    }
}

/// One `[[digests]]` entry: a summary at a local time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    pub name: Spanned<String>,
    pub site: Spanned<SiteKey>,
    #[serde(default)]
    pub every: DigestPeriod,
    /// Local time of the site it is sent at.
    pub at: LocalTime,
    #[serde(default = "default_lang")]
    pub lang: Spanned<String>,
    pub to: Vec<Spanned<String>>,
    /// Accounts listed.
    #[serde(default = "ten")]
    pub top: usize,
}

fn ten() -> usize {
    10
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestPeriod {
    /// Every morning, about the day before.
    #[default]
    Day,
    /// Every Monday, about the week before.
    Week,
}
