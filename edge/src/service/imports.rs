//! Importing a people list (a seminar's attendees, an exhibition's business cards): the file
//! is decoded and read (`imports`), each valid row's effect is worked out against the people as
//! they are, and unless it is a dry run the rows are written as log records of at most
//! `IMPORT_CHUNK_ROWS` rows each, which the engine applies (`engine::imports`).
//!
//! Why chunks: a record may create at most `IDS_PER_RECORD` (4096) people, because person ids
//! are made from the record's log position; and one record is applied under the engine's apply
//! lock, so a 100,000-row file as a single record would hold collect back for its whole apply.
//! A chunk of 1,000 rows is applied in milliseconds, and collect batches interleave between
//! chunks. An import is therefore not atomic: a failure part-way (storage down) leaves the
//! chunks before it imported, and importing the file again finishes it without doubling
//! anything, because every row is idempotent.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::accounts::profiles::Profile;
use crate::engine::lock;
use crate::imports::accounts::parse_accounts;
use crate::imports::apply::apply_row;
use crate::imports::decode::Charset;
use crate::imports::people::EventDefaults;
use crate::imports::{FileError, Refused, decode, parse_people};
use crate::model::offline::{
    AccountsChunk, IMPORT_CHUNK_ROWS, ImportChunk, ImportedAccount, ImportedPerson,
};
use crate::model::person::{Person, PersonId};
use crate::model::record::AdminOp;
use crate::store::{Freshness, Store, StoreError};

/// The most rows one file may have (valid and refused together).
pub const MAX_ROWS: usize = 500_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    File(#[from] FileError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The blocking part of the work did not finish (a panic): nothing was written.
    #[error("the import stopped: {0}")]
    Stopped(String),
}

/// How to read the file and what to do with it.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Answer what would happen, and write nothing.
    pub dry_run: bool,
    /// The file's encoding when the bytes should not decide it.
    pub charset: Option<Charset>,
    /// The event a file is about when its rows do not say.
    pub defaults: EventDefaults,
}

/// What an import did, or in a dry run would do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Valid rows.
    pub rows: usize,
    /// People the file creates.
    pub created: usize,
    /// Known people with at least one blank attribute filled.
    pub filled: usize,
    /// Rows that change nothing (everything they say is known already).
    pub unchanged: usize,
    /// Offline events new to their person.
    pub events_added: usize,
    /// Differing values recorded as proposals for the backend.
    pub proposed: usize,
    /// Log records written (0 in a dry run).
    pub chunks: usize,
    pub refused: Vec<Refused>,
}

/// Runs the CPU-bound part of an import (decoding, reading and previewing a file of up to
/// hundreds of thousands of rows takes a second or more) on the blocking pool: on an async
/// worker it would hold up every collect request scheduled behind it.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ImportError> + Send + 'static,
) -> Result<T, ImportError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ImportError::Stopped(e.to_string()))?
}

/// Imports the people list `bytes` into `site`, at the edge's time `now_ms`.
pub async fn import_people(
    store: Arc<dyn Store>,
    site: Arc<str>,
    bytes: Bytes,
    options: &ImportOptions,
    now_ms: i64,
) -> Result<ImportReport, ImportError> {
    store.catch_up(Freshness::Api).await?;
    let (rows, mut report) = {
        let (store, site, options) = (Arc::clone(&store), Arc::clone(&site), options.clone());
        off_the_runtime(move || {
            let text = decode(&bytes, options.charset).map_err(FileError::from)?;
            let file = parse_people(&text, &options.defaults, MAX_ROWS)?;
            let rows: Vec<ImportedPerson> = file.rows.into_iter().map(|(_, row)| row).collect();
            let mut report = preview(store.as_ref(), &site, &rows, now_ms);
            report.refused = file.refused;
            Ok((rows, report))
        })
        .await?
    };
    report.dry_run = options.dry_run;
    if options.dry_run {
        return Ok(report);
    }
    for chunk in rows.chunks(IMPORT_CHUNK_ROWS) {
        let op = AdminOp::ImportPeople(Box::new(ImportChunk {
            site: Arc::clone(&site),
            at_ms: now_ms,
            rows: chunk.to_vec(),
        }));
        paced(store.as_ref(), op).await?;
        report.chunks += 1;
    }
    Ok(report)
}

/// What `rows` do to the people as they are now: each row applied to a copy of its person (a
/// new one when the address is unknown), later rows for the same address to the copy the
/// earlier ones left. The same `apply_row` the engine runs, so the preview is the import.
fn preview(
    store: &dyn Store,
    site: &Arc<str>,
    rows: &[ImportedPerson],
    now_ms: i64,
) -> ImportReport {
    let engine = store.engine();
    let scoring = &engine.model.scoring;
    // Per address: the copy, and whether the file creates it.
    let mut copies: HashMap<&str, (Person, bool)> = HashMap::new();
    let mut report = ImportReport {
        rows: rows.len(),
        ..ImportReport::default()
    };
    for row in rows {
        let first = !copies.contains_key(row.email.as_str());
        let (person, new) = copies.entry(row.email.as_str()).or_insert_with(|| {
            let known = engine
                .emails
                .get(&(Arc::clone(site), row.email.clone()))
                .map(|id| *id)
                .and_then(|id| engine.person(id));
            match known {
                Some(person) => (person, false),
                None => (
                    Person::new(PersonId(0), Arc::clone(site), row.email.clone(), now_ms),
                    true,
                ),
            }
        });
        let first_for_new = first && *new;
        let effect = apply_row(person, row, 0, now_ms, scoring);
        if first_for_new {
            report.created += 1;
        } else if !effect.filled.is_empty() {
            report.filled += 1;
        }
        if effect.event_added {
            report.events_added += 1;
        }
        report.proposed += effect.proposed;
        if !first_for_new && effect.unchanged() {
            report.unchanged += 1;
        }
    }
    report
}

/// What an accounts import did, or in a dry run would do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccountsReport {
    pub dry_run: bool,
    /// Valid rows.
    pub rows: usize,
    /// Companies no list had named before.
    pub created: usize,
    /// Known companies whose profile changes (status, owner, firmographics).
    pub updated: usize,
    /// Rows that say nothing new.
    pub unchanged: usize,
    /// Log records written (0 in a dry run).
    pub chunks: usize,
    pub refused: Vec<Refused>,
}

/// Imports the accounts list `bytes` into `site`: chunks of `IMPORT_CHUNK_ROWS` like a
/// people list (a chunk creates no ids, but is applied at once all the same).
pub async fn import_accounts(
    store: Arc<dyn Store>,
    site: Arc<str>,
    bytes: Bytes,
    options: &ImportOptions,
    now_ms: i64,
) -> Result<AccountsReport, ImportError> {
    store.catch_up(Freshness::Api).await?;
    let (rows, mut report) = {
        let (store, site, charset) = (Arc::clone(&store), Arc::clone(&site), options.charset);
        off_the_runtime(move || {
            let text = decode(&bytes, charset).map_err(FileError::from)?;
            let file = parse_accounts(&text, MAX_ROWS)?;
            let rows: Vec<ImportedAccount> = file.rows.into_iter().map(|(_, row)| row).collect();
            let report = preview_accounts(store.as_ref(), &site, &rows, file.refused);
            Ok((rows, report))
        })
        .await?
    };
    report.dry_run = options.dry_run;
    if options.dry_run {
        return Ok(report);
    }
    for chunk in rows.chunks(IMPORT_CHUNK_ROWS) {
        let op = AdminOp::ImportAccounts(Box::new(AccountsChunk {
            site: Arc::clone(&site),
            at_ms: now_ms,
            rows: chunk.to_vec(),
        }));
        paced(store.as_ref(), op).await?;
        report.chunks += 1;
    }
    Ok(report)
}

/// Writes one chunk, then waits as long as it took before the next: an import uses at most
/// half of the log writer's time, and page views from the site are written in the other half
/// (without the pause, chunk after chunk kept collect queued behind them: 148 ms median collect
/// latency during a 100,000-row import, against 3 ms without one).
async fn paced(store: &dyn Store, op: AdminOp) -> Result<(), ImportError> {
    let started = std::time::Instant::now();
    store.admin(op).await?;
    tokio::time::sleep(started.elapsed()).await;
    Ok(())
}

/// What `rows` do to the profiles as they are now: the same `Profile::apply` the engine runs,
/// on copies.
fn preview_accounts(
    store: &dyn Store,
    site: &Arc<str>,
    rows: &[ImportedAccount],
    refused: Vec<Refused>,
) -> AccountsReport {
    let mut report = AccountsReport {
        rows: rows.len(),
        refused,
        ..AccountsReport::default()
    };
    {
        let accounts = lock(&store.engine().accounts);
        let mut copies: HashMap<&str, (Profile, bool)> = HashMap::new();
        for row in rows {
            let first = !copies.contains_key(row.domain.as_str());
            let (profile, new) =
                copies.entry(row.domain.as_str()).or_insert_with(|| {
                    match accounts.profiles.get(site, &row.domain) {
                        Some(known) => (known.clone(), false),
                        None => (Profile::new(&row.domain), true),
                    }
                });
            let changed = profile.apply(row);
            if first && *new {
                report.created += 1;
            } else if changed {
                report.updated += 1;
            } else {
                report.unchanged += 1;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests;
