//! What the backend API asks of rules, without HTTP: explain a decision for a visitor and a
//! page, report results, mint preview tokens.

use std::sync::Arc;
use std::time::Duration;

use crate::event::{Event, TimedEvent};
use crate::model::VisitorKey;
use crate::store::{Store, StoreError};
use crate::visitor_id::VisitorId;

use crate::rules::stats::{self, RuleStats};
use crate::rules::{DecideRequest, Explanation, Incoming, PreviewGrant, Rules, page_lang};

/// The longest a preview link may live.
pub const MAX_PREVIEW_TTL: Duration = Duration::from_secs(7 * 86_400);

#[derive(Debug, thiserror::Error)]
pub enum RulesApiError {
    #[error("`{0}` is not an absolute http(s) URL")]
    BadUrl(String),
    #[error("no rule `{0}` applies to this site")]
    UnknownRule(String),
    #[error("rule `{rule}` has no variant `{variant}`")]
    UnknownVariant { rule: String, variant: String },
    #[error("a preview lives from 1 second to 7 days")]
    BadTtl,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Explains what a page view of `url` by this visitor would get now.
pub async fn explain(
    rules: &Rules,
    store: &dyn Store,
    site: &Arc<str>,
    visitor: VisitorId,
    url: &str,
    lang: Option<&str>,
    now: i64,
) -> Result<Explanation, RulesApiError> {
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
        return Err(RulesApiError::BadUrl(url.chars().take(100).collect()));
    }
    let set = rules.current();
    let page = [TimedEvent {
        client_ts: None,
        event: Event::PageView {
            url: url.to_string(),
            referrer: None,
            title: None,
        },
    }];
    let mut request = DecideRequest {
        site,
        visitor,
        incoming: Incoming {
            now,
            session_timeout_ms: rules.session_timeout_ms,
            events: &page,
            company: None,
            page_url: url,
            lead: None,
        },
        lang: page_lang(lang, url, set.default_lang),
        preview: None,
    };
    let key = VisitorKey {
        site: Arc::clone(site),
        id: visitor,
    };
    let mut explanation = None;
    store
        .read_visitor(&key, now, &mut |v, lead| {
            request.incoming.lead = lead;
            explanation = Some(set.explain(v, &request));
        })
        .await?;
    Ok(explanation.unwrap_or_else(|| set.explain(None, &request)))
}

/// Results of the rules that apply to any of `sites`.
pub fn results(rules: &Rules, store: &dyn Store, sites: &[Arc<str>]) -> Vec<RuleStats> {
    let set = rules.current();
    let ids: Vec<&str> = set
        .rules
        .iter()
        .filter(|r| sites.iter().any(|s| r.applies_to(s)))
        .map(|r| &*r.id)
        .collect();
    stats::report(&ids, &store.popup_totals(Some(sites)))
}

/// Mints a preview token for one rule (and optionally one variant) of a site.
pub fn preview(
    rules: &Rules,
    site: &str,
    rule: &str,
    variant: Option<&str>,
    ttl: Duration,
    now: i64,
) -> Result<(String, i64), RulesApiError> {
    if ttl < Duration::from_secs(1) || ttl > MAX_PREVIEW_TTL {
        return Err(RulesApiError::BadTtl);
    }
    let set = rules.current();
    let found = set
        .rule(rule)
        .filter(|r| r.applies_to(site))
        .ok_or_else(|| RulesApiError::UnknownRule(rule.chars().take(64).collect()))?;
    if let Some(v) = variant
        && found.variant(v).is_none()
    {
        return Err(RulesApiError::UnknownVariant {
            rule: rule.into(),
            variant: v.chars().take(64).collect(),
        });
    }
    let expires_ms = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    let token = rules
        .preview
        .mint(&PreviewGrant {
            site: site.into(),
            rule: rule.into(),
            variant: variant.map(str::to_string),
            expires_ms,
        })
        // Only a configured rule, variant and site get here, and their ids are short.
        .map_err(|_| RulesApiError::UnknownRule(rule.chars().take(64).collect()))?;
    Ok((token, expires_ms))
}
