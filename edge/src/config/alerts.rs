//! `[[alerts]]`, `[alerting]` and `[[digests]]`: who is told what, when, and where.
//!
//! Alert rules are read here as written and checked with their lines; `alerts::compile` turns
//! them into what the collect path evaluates. Channels are named once under `[alerting]` and
//! rules and digests send to them by name.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, HumanDuration, SiteKey, WebhookUrl};
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
    /// Recipients of an email channel: `sales@example.co.jp` or `営業部 <sales@example.co.jp>`.
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

/// Checks what the types alone cannot: names used once, channels that exist and are complete,
/// one condition per rule, a known language.
pub(super) fn validate(config: &super::Config, path: &Path, text: &str) -> Result<(), ConfigError> {
    let at = |span: std::ops::Range<usize>, key: String, message: String| {
        Err(ConfigError::at(path, text, Some(span), Some(key), message))
    };
    let alerting = &config.alerting;
    let mut names = std::collections::HashSet::new();
    for (i, channel) in alerting.channels.iter().enumerate() {
        let c = channel.get_ref();
        let key = format!("alerting.channels[{i}]");
        if !names.insert(c.name.get_ref().as_str()) {
            return at(
                c.name.span(),
                format!("{key}.name"),
                format!("channel `{}` is named twice", c.name.get_ref()),
            );
        }
        match c.kind {
            ChannelKind::Slack | ChannelKind::Teams if c.url.is_none() => {
                return at(
                    channel.span(),
                    format!("{key}.url"),
                    "a slack or teams channel needs the incoming-webhook `url`".into(),
                );
            }
            ChannelKind::Email if c.to.is_empty() || alerting.smtp.is_none() => {
                return at(
                    channel.span(),
                    format!("{key}.to"),
                    "an email channel needs recipients in `to` and an [alerting.smtp] table".into(),
                );
            }
            ChannelKind::Email => {
                for address in &c.to {
                    if address.parse::<lettre::message::Mailbox>().is_err() {
                        return at(
                            channel.span(),
                            format!("{key}.to"),
                            format!(
                                "`{address}` is not an address like \"sales@example.co.jp\" or \"営業部 <sales@example.co.jp>\""
                            ),
                        );
                    }
                }
            }
            ChannelKind::Webhooks if config.webhooks.is_empty() => {
                return at(
                    channel.span(),
                    format!("{key}.kind"),
                    "a webhooks channel sends to the [[webhooks]] endpoints: configure one".into(),
                );
            }
            _ => {}
        }
    }
    if let Some(smtp) = &alerting.smtp
        && smtp
            .get_ref()
            .from
            .parse::<lettre::message::Mailbox>()
            .is_err()
    {
        return at(
            smtp.span(),
            "alerting.smtp.from".into(),
            format!(
                "`{}` is not a sender like \"Mikomi <alerts@example.co.jp>\"",
                smtp.get_ref().from
            ),
        );
    }
    if alerting.max_attempts == 0 {
        return Err(ConfigError::at(
            path,
            text,
            None,
            Some("alerting.max_attempts".into()),
            "must be at least 1",
        ));
    }
    let sites = config.site_keys();
    let check_common = |key: &str,
                        site: &Spanned<SiteKey>,
                        lang: &Spanned<String>,
                        to: &[Spanned<String>]|
     -> Result<(), ConfigError> {
        if !sites.contains(site.get_ref()) {
            return at(
                site.span(),
                format!("{key}.site"),
                format!(
                    "no [[sites]] entry has the key `{}`",
                    site.get_ref().as_str()
                ),
            );
        }
        if !matches!(lang.get_ref().as_str(), "ja" | "en") {
            return at(
                lang.span(),
                format!("{key}.lang"),
                format!(
                    "`{}`: messages are written in \"ja\" or \"en\"",
                    lang.get_ref()
                ),
            );
        }
        if to.is_empty() {
            return Err(ConfigError::at(
                path,
                text,
                None,
                Some(format!("{key}.to")),
                "name at least one channel of [alerting]",
            ));
        }
        for (j, name) in to.iter().enumerate() {
            if !names.contains(name.get_ref().as_str()) {
                return at(
                    name.span(),
                    format!("{key}.to[{j}]"),
                    format!(
                        "no [[alerting.channels]] entry is named `{}`",
                        name.get_ref()
                    ),
                );
            }
        }
        Ok(())
    };
    let mut rule_names = std::collections::HashSet::new();
    for (i, rule) in config.alerts.iter().enumerate() {
        let r = rule.get_ref();
        let key = format!("alerts[{i}]");
        if !rule_names.insert(r.name.get_ref().as_str()) {
            return at(
                r.name.span(),
                format!("{key}.name"),
                format!("alert `{}` is named twice", r.name.get_ref()),
            );
        }
        check_common(&key, &r.site, &r.lang, &r.to)?;
        let conditions = usize::from(r.account.is_some())
            + usize::from(r.person.is_some())
            + usize::from(r.page.is_some());
        if conditions != 1 {
            return at(
                rule.span(),
                key,
                "give exactly one of [alerts.account], [alerts.person] or [alerts.page]".into(),
            );
        }
        if let Some(person) = &r.person {
            let p = person.get_ref();
            if !p.returned && !p.email_click && p.score_at_least.is_none() {
                return at(
                    person.span(),
                    format!("{key}.person"),
                    "set returned, email_click or score_at_least".into(),
                );
            }
        }
        if r.cooldown.0.is_zero() {
            return at(
                rule.span(),
                format!("{key}.cooldown"),
                "must be above zero".into(),
            );
        }
    }
    let mut digest_names = std::collections::HashSet::new();
    for (i, digest) in config.digests.iter().enumerate() {
        let d = digest.get_ref();
        let key = format!("digests[{i}]");
        if !digest_names.insert(d.name.get_ref().as_str()) {
            return at(
                d.name.span(),
                format!("{key}.name"),
                format!("digest `{}` is named twice", d.name.get_ref()),
            );
        }
        check_common(&key, &d.site, &d.lang, &d.to)?;
        if d.top == 0 || d.top > 100 {
            return at(
                digest.span(),
                format!("{key}.top"),
                "must be 1 to 100".into(),
            );
        }
    }
    Ok(())
}
