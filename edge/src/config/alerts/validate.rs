//! What the alert types alone cannot check: names used once, channels that exist and are
//! complete, one condition per rule, a known language; each refusal names its line.

use std::path::Path;

use toml::Spanned;

use super::ChannelKind;
use crate::config::{ConfigError, SiteKey};

/// Checks what the types alone cannot: names used once, channels that exist and are complete,
/// one condition per rule, a known language.
pub(in crate::config) fn validate(
    config: &crate::config::Config,
    path: &Path,
    text: &str,
) -> Result<(), ConfigError> {
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
            ChannelKind::AccountOwner if alerting.smtp.is_none() => {
                return at(
                    channel.span(),
                    format!("{key}.kind"),
                    "an account_owner channel sends mail: it needs an [alerting.smtp] table".into(),
                );
            }
            ChannelKind::Email | ChannelKind::AccountOwner => {
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
