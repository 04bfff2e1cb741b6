//! The collect path without HTTP: from a request body and what the connection tells, to stored
//! events and an answer. Every check runs before anything is stored; any failure stores
//! nothing.

#[cfg(test)]
mod fuzz_tests;
pub mod new_people;
mod sites;
pub mod validate;
pub mod wire;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use sites::{Site, Sites};

use crate::bots::BotFilter;
use crate::clock::Clock;
use crate::config::ConsentMode;
use crate::event::{Event, TimedEvent};
use crate::identity::{TokenCodec, email, stitch};
use crate::model::{Batch, VisitorKey, truncate_ip};
use crate::ratelimit::RateLimits;
use crate::rules::{DecideRequest, Decision, Incoming, Outcome, PopupContent, Rules, page_lang};
use crate::store::{Recorded, Store, StoreError};
use crate::visitor_id::{InvalidVisitorId, VisitorIdCodec};
use validate::InvalidEvent;

/// What the HTTP layer learned about the request.
pub struct CollectInput<'a> {
    pub body: &'a [u8],
    pub origin: Option<&'a str>,
    /// The `mk_vid` cookie, if the browser sent one.
    pub cookie_vid: Option<&'a str>,
    pub client_ip: IpAddr,
    pub user_agent: Option<&'a str>,
    /// `Sec-GPC: 1`.
    pub gpc: bool,
    /// `DNT: 1`.
    pub dnt: bool,
}

#[derive(Debug)]
pub enum CollectOutcome {
    /// Stored; the client keeps `vid`.
    Stored {
        site: Arc<Site>,
        vid: String,
        recorded: Recorded,
        /// The popup to show on this page view, if any.
        popup: Option<Arc<PopupContent>>,
        decision: Outcome,
    },
    /// Valid, but the visitor has not consented (or signals not to be tracked): nothing
    /// identifying was stored and no id is given out.
    ConsentWithheld { site: Arc<Site> },
    /// A known bot: answered, not stored.
    Bot,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("the body is not valid collect JSON: {0}")]
    MalformedJson(String),
    #[error("no site has the key `{0}`")]
    UnknownSite(String),
    #[error("this request carries no Origin header")]
    OriginRequired,
    #[error("origin `{origin}` may not send events for site `{site}`")]
    OriginNotAllowed { site: String, origin: String },
    #[error("a request carries 1 to {max} events")]
    EventCount { max: usize },
    #[error(transparent)]
    InvalidEvent(#[from] InvalidEvent),
    #[error("invalid visitor id: {0}")]
    InvalidVisitorId(#[from] InvalidVisitorId),
    #[error("too many requests from this {scope}")]
    RateLimited {
        scope: &'static str,
        retry_after: Duration,
    },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

/// Everything collect needs, built once at start-up.
pub struct Collector {
    pub sites: Sites,
    pub codec: VisitorIdCodec,
    /// Verifies email-click tokens before anything of them is stored.
    pub tokens: TokenCodec,
    pub limits: RateLimits,
    pub bots: BotFilter,
    pub store: Arc<dyn Store>,
    /// Company resolution; absent when no ipdb layers are configured.
    pub resolver: Option<ipdb::SharedResolver>,
    pub clock: Arc<dyn Clock>,
    pub max_events: usize,
    /// Popup rules, reloadable.
    pub rules: Arc<Rules>,
    /// New people per browser and per client address and day.
    pub new_people: new_people::NewPeopleCap,
}

impl Collector {
    pub async fn collect(&self, input: CollectInput<'_>) -> Result<CollectOutcome, CollectError> {
        if self.bots.is_bot(input.user_agent) {
            return Ok(CollectOutcome::Bot);
        }
        self.limits
            .check_ip(input.client_ip)
            .map_err(|retry_after| CollectError::RateLimited {
                scope: "ip",
                retry_after,
            })?;
        let request: wire::CollectRequest = serde_json::from_slice(input.body)
            .map_err(|e| CollectError::MalformedJson(e.to_string()))?;
        let site = self
            .sites
            .get(&request.site)
            .ok_or_else(|| CollectError::UnknownSite(truncate(&request.site, 64)))?;
        let origin = input.origin.ok_or(CollectError::OriginRequired)?;
        if !site.allows_origin(origin) {
            return Err(CollectError::OriginNotAllowed {
                site: site.key.to_string(),
                origin: truncate(origin, 200),
            });
        }
        self.limits
            .check_site(&site.key)
            .map_err(|retry_after| CollectError::RateLimited {
                scope: "site",
                retry_after,
            })?;
        if request.events.is_empty() || request.events.len() > self.max_events {
            return Err(CollectError::EventCount {
                max: self.max_events,
            });
        }
        let events = validate::events(request.events)?;
        let body_vid = request
            .vid
            .as_deref()
            .map(|token| self.codec.verify(token).map(|id| (id, token)))
            .transpose()?;

        let withheld = (site.consent == ConsentMode::OptIn && request.consent != Some(true))
            || (site.honor_gpc && input.gpc)
            || (site.honor_dnt && input.dnt);
        if withheld {
            return Ok(CollectOutcome::ConsentWithheld { site });
        }

        // The HttpOnly cookie wins: it was set by the edge and page scripts cannot touch it.
        // The tag usually sends the same token in both, which is checked once; a token that
        // verified is the canonical encoding of its id, so it is handed back as it came.
        let cookie_vid = match (input.cookie_vid, body_vid) {
            (Some(cookie), Some((id, body))) if cookie == body => Some((id, body)),
            (Some(cookie), _) => self.codec.verify(cookie).ok().map(|id| (id, cookie)),
            (None, _) => None,
        };
        let (visitor, vid) = match cookie_vid.or(body_vid) {
            Some((id, token)) => (id, token.to_string()),
            None => self.codec.mint(),
        };
        let now = self.clock.now_ms();
        let events = self.verify_clicks(events, &site.key, now);
        let events = self.cap_new_people(events, &site.key, visitor, input.client_ip, now);
        let mut batch = Batch {
            site: Arc::clone(&site.key),
            visitor,
            received_ms: now,
            network: Some(truncate_ip(input.client_ip)),
            company: self
                .resolver
                .as_ref()
                .and_then(|r| r.lookup(input.client_ip))
                .map(Arc::new),
            events,
        };
        let decision = self
            .decide(&batch, request.lang.as_deref(), request.preview.as_deref())
            .await;
        if let Some(event) = decision.record {
            // One durable write: the decision is stored with the page view it was made for.
            batch.events.push(TimedEvent {
                client_ts: None,
                event,
            });
        }
        // Alerts too are decided before the write and stored with the batch that raised them.
        for alert in self.alerts(&batch) {
            batch.events.push(TimedEvent {
                client_ts: None,
                event: Event::Alert(Box::new(alert)),
            });
        }
        let recorded = self.store.record(batch).await?;
        Ok(CollectOutcome::Stored {
            site,
            vid,
            recorded,
            popup: decision.popup,
            decision: decision.outcome,
        })
    }

    /// The popup decision for the batch's last page view, over the visitor's state as it is
    /// before the batch. A store that cannot answer means no popup, never a failed collect.
    /// Drops the address of a form that would create a person past the day's bound for this
    /// browser or address (`new_people`); the conversion itself is kept.
    fn cap_new_people(
        &self,
        mut events: Vec<TimedEvent>,
        site: &Arc<str>,
        visitor: crate::visitor_id::VisitorId,
        address: IpAddr,
        now: i64,
    ) -> Vec<TimedEvent> {
        let mut admitted: Vec<String> = Vec::new();
        for timed in &mut events {
            let Event::Conversion { fields, form, .. } = &mut timed.event else {
                continue;
            };
            let Some(email) = stitch::form_email(fields) else {
                continue;
            };
            if admitted.contains(&email) || self.store.engine().knows_email(site, &email) {
                continue;
            }
            if self.new_people.admit(site, visitor, address, now) {
                admitted.push(email);
            } else {
                tracing::info!(%site, form = %form, "a form's address dropped: this browser or address created its people for today");
                fields.retain(|(name, _)| !stitch::is_email_field(name));
            }
        }
        events
    }

    async fn decide(&self, batch: &Batch, lang: Option<&str>, preview: Option<&str>) -> Decision {
        let none = Decision {
            outcome: Outcome::None,
            popup: None,
            record: None,
        };
        let Some(page_url) = batch.events.iter().rev().find_map(|e| match &e.event {
            Event::PageView { url, .. } => Some(url.as_str()),
            _ => None,
        }) else {
            return none;
        };
        let set = self.rules.current();
        let now = batch.received_ms;
        let grant = preview.and_then(|token| match self.rules.preview.verify(token, now) {
            Ok(grant) if *grant.site == *batch.site => Some(grant),
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "preview token ignored");
                None
            }
        });
        if grant.is_none() && !set.has_rules_for(&batch.site) {
            return none;
        }
        let mut request = DecideRequest {
            site: &batch.site,
            visitor: batch.visitor,
            incoming: Incoming {
                now,
                session_timeout_ms: self.rules.session_timeout_ms,
                events: &batch.events,
                company: batch.company.as_deref(),
                page_url,
                lead: None,
            },
            lang: page_lang(lang, page_url, set.default_lang),
            preview: grant.as_ref(),
        };
        let key = VisitorKey {
            site: Arc::clone(&batch.site),
            id: batch.visitor,
        };
        let mut decision = None;
        let read = self
            .store
            .read_visitor(&key, now, &mut |visitor, lead| {
                request.incoming.lead = lead;
                decision = Some(set.decide(visitor, &request));
            })
            .await;
        match (read, decision) {
            (Ok(()), Some(decision)) => decision,
            (Err(e), _) => {
                tracing::warn!(error = %e, "no popup decision: the store could not be read");
                none
            }
            (Ok(()), None) => none,
        }
    }
}

impl Collector {
    /// The alert rules that hold for `batch`, over the state as it will be with it. The
    /// engine applies the cooldowns again when it stores the batch, which settles races
    /// between requests (and nodes) that decided the same alert at once.
    fn alerts(&self, batch: &Batch) -> Vec<crate::notice::Alert> {
        let set = self.rules.current();
        let rules = &set.alerts;
        if !rules.has_rules_for(&batch.site) {
            return Vec::new();
        }
        let engine = self.store.engine();
        let facts = engine.alert_facts(batch, &rules.windows(&batch.site));
        let table = crate::engine::lock(&engine.alerts);
        rules.decide(&batch.site, &facts, &|rule, subject, _| {
            table.cooling(&batch.site, rule, subject, batch.received_ms)
        })
    }

    /// Email-click tokens become the address they vouch for; forged, expired or foreign ones
    /// are dropped and identify nobody. The token itself is never stored.
    fn verify_clicks(&self, events: Vec<TimedEvent>, site: &str, now_ms: i64) -> Vec<TimedEvent> {
        events
            .into_iter()
            .filter_map(|timed| match timed.event {
                Event::Identify { token, url } => match self.tokens.verify(&token, site, now_ms) {
                    Ok(claim) => email::normalize(&claim.email).map(|address| TimedEvent {
                        client_ts: timed.client_ts,
                        event: Event::EmailClick {
                            email: address,
                            url,
                        },
                    }),
                    Err(e) => {
                        tracing::info!(reason = %e, "email-click token refused");
                        None
                    }
                },
                _ => Some(timed),
            })
            .collect()
    }
}

/// Echoing client input in errors is useful; echoing megabytes of it is not.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}
