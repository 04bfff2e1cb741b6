//! Digests: at a configured local time, the summary of the day (or week) before. The node that
//! finds one due composes it from its engine and logs it (`AdminOp::Digest`); the engine queues
//! it once per digest and period, so several nodes, or a restart, send it once. The channel
//! tasks deliver it like an alert.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use crate::clock::Clock;
use crate::config::Config;
use crate::config::alerts::DigestPeriod;
use crate::engine::{Engine, lock};
use crate::event::{Event, PopupAction};
use crate::model::person::{AuditKind, Stage};
use crate::model::record::AdminOp;
use crate::notice::{Company, Digest, DigestAccount};
use crate::store::Store;

/// A digest found due this late after its time is still sent (the edge may have been down);
/// later, the period is skipped.
const LATE_LIMIT_MS: i64 = 12 * 3_600_000;
const CHECK_EVERY: Duration = Duration::from_secs(20);

/// One `[[digests]]` entry, ready to schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub name: String,
    pub site: String,
    pub every: DigestPeriod,
    /// Minutes after local midnight.
    pub at_minute: u32,
    pub tz: TimeZone,
    pub lang: String,
    pub to: Vec<String>,
    pub top: usize,
}

/// The period a digest covers, and its label (`2026-12-01`, `2026-11-23..2026-11-29`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub label: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

pub fn schedules(config: &Config) -> Vec<Schedule> {
    config
        .digests
        .iter()
        .map(|d| {
            let d = d.get_ref();
            let site = d.site.get_ref().as_str().to_string();
            Schedule {
                name: d.name.get_ref().clone(),
                tz: config
                    .site(&site)
                    .and_then(|s| TimeZone::get(s.time_zone.get_ref()).ok())
                    .unwrap_or(TimeZone::UTC),
                site,
                every: d.every,
                at_minute: d.at.minute,
                lang: d.lang.get_ref().clone(),
                to: d.to.iter().map(|t| t.get_ref().clone()).collect(),
                top: d.top,
            }
        })
        .collect()
}

fn midnight_ms(date: Date, tz: &TimeZone) -> Option<i64> {
    let start = tz
        .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .ok()?;
    Some(start.as_millisecond())
}

/// The period whose digest is due at `now_ms`, if its time has come and is not long past.
pub fn due(schedule: &Schedule, now_ms: i64) -> Option<Period> {
    let now = jiff::Timestamp::from_millisecond(now_ms).ok()?;
    let today = schedule.tz.to_datetime(now).date();
    let slot_on = |date: Date| -> Option<i64> {
        Some(midnight_ms(date, &schedule.tz)? + i64::from(schedule.at_minute) * 60_000)
    };
    // The latest sending day at or before today whose time has come.
    let mut day = today;
    let slot = loop {
        let sends = match schedule.every {
            DigestPeriod::Day => true,
            DigestPeriod::Week => day.weekday() == Weekday::Monday,
        };
        if sends && let Some(slot) = slot_on(day).filter(|s| *s <= now_ms) {
            break slot;
        }
        day = day.yesterday().ok()?;
        if today.since(day).ok()?.get_days() > 8 {
            return None;
        }
    };
    if now_ms - slot > LATE_LIMIT_MS {
        return None;
    }
    let (first, days) = match schedule.every {
        DigestPeriod::Day => (day.yesterday().ok()?, 1),
        DigestPeriod::Week => (day.checked_sub(jiff::Span::new().days(7)).ok()?, 7),
    };
    let last = day.yesterday().ok()?;
    let label = if days == 1 {
        first.to_string()
    } else {
        format!("{first}..{last}")
    };
    Some(Period {
        label,
        from_ms: midnight_ms(first, &schedule.tz)?,
        to_ms: midnight_ms(day, &schedule.tz)?,
    })
}

/// The digest of `period`, from the engine as it is.
pub fn compose(engine: &Engine, schedule: &Schedule, period: &Period) -> Digest {
    let accounts = lock(&engine.accounts)
        .period(&schedule.site, period.from_ms, period.to_ms, schedule.top)
        .into_iter()
        .map(|row| DigestAccount {
            company: Company {
                domain: row.domain.clone(),
                name: row.firmographics.name.clone(),
                industry: row.firmographics.industry.clone(),
                employees: row.firmographics.employees,
                country: row.firmographics.country.clone(),
            },
            heat: row.heat,
            visits: row.visits,
            visitors: row.visitors,
            known_people: row.known_people.len() as u32,
        })
        .collect();
    let within = |ms: i64| (period.from_ms..period.to_ms).contains(&ms);
    let (mut new_leads, mut new_mqls) = (0, 0);
    for person in engine.persons.iter() {
        if *person.site != *schedule.site {
            continue;
        }
        if within(person.created_ms) {
            new_leads += 1;
        }
        let became_mql = person.audit.iter().any(|a| {
            within(a.at_ms) && matches!(a.what, AuditKind::StageChanged { to: Stage::Mql, .. })
        });
        if became_mql {
            new_mqls += 1;
        }
    }
    let (mut shown, mut submitted) = (0, 0);
    for visitor in engine.visitors.iter() {
        if *visitor.site != *schedule.site || visitor.last_seen_ms < period.from_ms {
            continue;
        }
        for session in &visitor.sessions {
            for event in session.events.iter().filter(|e| within(e.received_ms)) {
                match &event.event {
                    Event::Popup {
                        action: PopupAction::Shown,
                        ..
                    } => shown += 1,
                    Event::Popup {
                        action: PopupAction::Submitted,
                        ..
                    } => submitted += 1,
                    _ => {}
                }
            }
        }
    }
    Digest {
        name: schedule.name.clone(),
        site: schedule.site.clone(),
        lang: schedule.lang.clone(),
        destinations: schedule.to.clone(),
        period: period.label.clone(),
        from_ms: period.from_ms,
        to_ms: period.to_ms,
        accounts,
        new_leads,
        new_mqls,
        popups_shown: shown,
        popups_submitted: submitted,
    }
}

/// Logs every digest due at the clock's now that was not queued yet; returns how many.
pub async fn tick(store: &Arc<dyn Store>, schedules: &[Schedule], clock: &dyn Clock) -> usize {
    let now = clock.now_ms();
    let mut logged = 0;
    for schedule in schedules {
        let Some(period) = due(schedule, now) else {
            continue;
        };
        if lock(&store.engine().alerts).has_digest(&schedule.site, &schedule.name, &period.label) {
            continue;
        }
        let digest = {
            let store = Arc::clone(store);
            let schedule = schedule.clone();
            let period = period.clone();
            match tokio::task::spawn_blocking(move || compose(store.engine(), &schedule, &period))
                .await
            {
                Ok(digest) => digest,
                Err(e) => {
                    tracing::error!(error = %e, "composing a digest failed");
                    continue;
                }
            }
        };
        match store.admin(AdminOp::Digest(Box::new(digest))).await {
            Ok(_) => {
                logged += 1;
                tracing::info!(digest = %schedule.name, period = %period.label, "digest due: queued");
            }
            Err(e) => tracing::warn!(error = %e, digest = %schedule.name, "cannot log a digest"),
        }
    }
    logged
}

/// Checks for due digests until `stop` says so.
pub async fn run(
    store: Arc<dyn Store>,
    schedules: Vec<Schedule>,
    clock: Arc<dyn Clock>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tick(&store, &schedules, &*clock).await;
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
    }
}

#[cfg(test)]
#[path = "digest_tests.rs"]
mod tests;
