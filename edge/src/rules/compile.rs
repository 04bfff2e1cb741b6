//! From the configuration's rule sections to a `RuleSet`, checking everything that spans
//! several values. Every refusal names the line to fix, so a reload that fails says exactly
//! why the old rules keep serving.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use toml::Spanned;

use super::caps::Caps;
use super::condition::Condition;
use super::ledger::RECENT_KEPT;
use super::model::{Rule, RuleSet, Variant};
use super::pages::PageGlobs;
use super::sieve::Sieve;
use super::template::{self, Copy, Template};
use crate::config::rules::{PopupsConfig, RuleConfig};
use crate::config::{ConfigError, SiteKey};

/// Rule and variant ids travel in events and URLs: short and plain.
fn check_id(what: &str, id: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} `{id}` must be 1 to 64 characters of a-z, A-Z, 0-9, - and _"
        ))
    }
}

pub fn compile(
    popups: &PopupsConfig,
    rules: &[Spanned<RuleConfig>],
    sites: &HashSet<SiteKey>,
    path: &Path,
    text: &str,
) -> Result<RuleSet, ConfigError> {
    let err = |span: Option<std::ops::Range<usize>>, key: String, message: String| {
        ConfigError::at(path, text, span, Some(key), message)
    };
    if popups.max_per_day as usize > RECENT_KEPT {
        return Err(err(
            None,
            "popups.max_per_day".into(),
            format!("at most {RECENT_KEPT} popups a day can be allowed"),
        ));
    }
    if let Some(url) = &popups.privacy_url
        && !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/'))
    {
        return Err(err(
            None,
            "popups.privacy_url".into(),
            format!("`{url}` must be an http(s) URL or a path starting with /"),
        ));
    }
    let mut templates: BTreeMap<&str, Template> = BTreeMap::new();
    for (name, config) in &popups.templates {
        let key = format!("popups.templates.{name}");
        if template::builtin(name).is_some() {
            return Err(err(
                Some(config.span()),
                key,
                format!("`{name}` is a built-in template; give yours another name"),
            ));
        }
        check_id("template name", name).map_err(|m| err(Some(config.span()), key.clone(), m))?;
        let compiled = Template::from_config(name, config.get_ref())
            .map_err(|m| err(Some(config.span()), key, m))?;
        templates.insert(name, compiled);
    }
    let find_template =
        |name: &str| template::builtin(name).or_else(|| templates.get(name).cloned());

    let mut pages = PageGlobs::default();
    let mut ids = HashSet::new();
    let mut compiled = Vec::with_capacity(rules.len());
    for (i, spanned) in rules.iter().enumerate() {
        let rule = spanned.get_ref();
        let at = |span, field: &str, m: String| err(Some(span), format!("rules[{i}].{field}"), m);
        let id = rule.id.get_ref();
        check_id("rule id", id).map_err(|m| at(rule.id.span(), "id", m))?;
        if !ids.insert(id.clone()) {
            return Err(at(
                rule.id.span(),
                "id",
                format!("rule id `{id}` is used twice"),
            ));
        }
        for (j, site) in rule.sites.iter().enumerate() {
            if !sites.contains(site.get_ref()) {
                return Err(at(
                    site.span(),
                    &format!("sites[{j}]"),
                    format!(
                        "no [[sites]] entry has the key `{}`",
                        site.get_ref().as_str()
                    ),
                ));
            }
        }
        let when = rule
            .when
            .iter()
            .enumerate()
            .map(|(j, c)| {
                Condition::compile(c.get_ref(), &mut pages)
                    .map_err(|m| at(c.span(), &format!("when[{j}]"), m))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let holdout = rule.holdout.as_ref().map_or(0.0, |h| *h.get_ref());
        if !(0.0..=0.9).contains(&holdout) {
            let span = rule.holdout.as_ref().map_or(spanned.span(), |h| h.span());
            return Err(at(
                span,
                "holdout",
                format!("{holdout} is not a share from 0 to 0.9"),
            ));
        }
        let base = Copy::from_config(&rule.title, &rule.body, &rule.submit, &rule.event)
            .map_err(|m| at(spanned.span(), "copy", m))?;
        let rule_template = rule.template.get_ref();
        let base_template = find_template(rule_template).ok_or_else(|| {
            at(
                rule.template.span(),
                "template",
                format!("no template `{rule_template}`: use brochure, seminar or one from [popups.templates]"),
            )
        })?;
        let mut variants = Vec::new();
        if rule.variants.is_empty() {
            let popup = template::render(id, "default", &base_template, &base, &popups.privacy_url)
                .map_err(|m| at(spanned.span(), "event", m))?;
            variants.push(Variant {
                id: "default".into(),
                weight: 1,
                popup,
            });
        }
        for (j, v) in rule.variants.iter().enumerate() {
            let span = v.span();
            let v = v.get_ref();
            let field = format!("variants[{j}]");
            let vid = v.id.get_ref();
            check_id("variant id", vid).map_err(|m| at(v.id.span(), &field, m))?;
            if variants.iter().any(|x: &Variant| &*x.id == vid.as_str()) {
                return Err(at(
                    v.id.span(),
                    &field,
                    format!("variant id `{vid}` is used twice"),
                ));
            }
            if v.weight == 0 {
                return Err(at(span, &field, "weight must be at least 1".into()));
            }
            let template = match &v.template {
                Some(name) => find_template(name.get_ref()).ok_or_else(|| {
                    at(
                        name.span(),
                        &field,
                        format!("no template `{}`", name.get_ref()),
                    )
                })?,
                None => base_template.clone(),
            };
            let copy = Copy::from_config(&v.title, &v.body, &v.submit, &v.event)
                .map_err(|m| at(span.clone(), &field, m))?
                .over(&base);
            let popup = template::render(id, vid, &template, &copy, &popups.privacy_url)
                .map_err(|m| at(span, &field, m))?;
            variants.push(Variant {
                id: vid.as_str().into(),
                weight: v.weight,
                popup,
            });
        }
        if rule.caps.backoff.iter().any(|d| d.0.is_zero()) {
            return Err(at(
                spanned.span(),
                "caps.backoff",
                "back-off steps must be longer than 0s".into(),
            ));
        }
        let mut eval_order: Vec<usize> = (0..when.len()).collect();
        eval_order.sort_by_key(|&i| when[i].cost());
        compiled.push(Rule {
            id: id.as_str().into(),
            priority: rule.priority,
            sites: rule
                .sites
                .iter()
                .map(|s| Arc::from(s.get_ref().as_str()))
                .collect(),
            enabled: rule.enabled,
            total_weight: variants.iter().map(|v| u64::from(v.weight)).sum(),
            when,
            eval_order,
            caps: Caps::from_config(&rule.caps),
            holdout,
            variants,
            line: crate::config::line_of(text, spanned.span().start),
        });
    }
    // Highest priority first; equal priorities in id order, so the winner never depends on
    // the order rules happen to be written in.
    compiled.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
    Ok(RuleSet {
        sieve: Sieve::new(&compiled),
        rules: compiled,
        pages: pages.finish(),
        max_per_day: popups.max_per_day,
        min_visit_age_ms: i64::try_from(popups.min_visit_age.0.as_millis()).unwrap_or(i64::MAX),
        default_lang: popups.default_lang.into(),
        reload_check: popups.reload_check.0,
        alerts: Default::default(),
    })
}
