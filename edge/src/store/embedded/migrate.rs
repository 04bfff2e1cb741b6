//! Start-up migration of a store format 2 data directory to format 3 (see `store::codec`).
//!
//! First the format 2 files are moved into `format-2/` beside the store: kept for a rollback to
//! the old binary, and the only place the migration reads. Their state is rebuilt on an engine
//! of its own, from the newest snapshot and the log, with the ids format 2 gave
//! (`RecordIds::format_2`), so every person keeps the id a CRM already holds (format 3's later
//! ids are all larger). That state becomes one format 3 snapshot at the next log position. A
//! crash at any point is resumed by the next start: `format-2/` without a format 3 snapshot
//! beside it means the migration has not finished.

use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::files::{self, Listing, Numbered};
use super::snapshot;
use crate::engine::image;
use crate::engine::{Engine, Model};
use crate::model::ids::RecordIds;
use crate::store::StoreError;
use crate::store::codec::{self, FORMAT_2_SEGMENT_MAGIC, FORMAT_2_SNAPSHOT_MAGIC};
use crate::store::frame::{self, Next};

/// Where the format 2 files go, below the store's directory.
pub(super) const KEPT: &str = "format-2";

/// Migrates `dir` if it holds format 2 files, or resumes a migration a crash interrupted;
/// returns whether the directory's files changed (list them again).
pub(super) fn migrate_format_2(
    dir: &Path,
    listing: &Listing,
    model: &Model,
) -> Result<bool, StoreError> {
    let io = |path: &Path, what: &str| {
        let context = format!("{}: {what}", path.display());
        move |e| StoreError::io(context, e)
    };
    let kept = dir.join(KEPT);
    let mut old = of_magic(&listing.snapshots, FORMAT_2_SNAPSHOT_MAGIC)?;
    old.extend(of_magic(&listing.segments, FORMAT_2_SEGMENT_MAGIC)?);
    let moved = !old.is_empty();
    if moved {
        // Format 3 files beside format 2 ones: a second old store was put where one was
        // migrated before. Mixing them would lose one of the two.
        let newer = listing.snapshots.len() + listing.segments.len() > old.len();
        if newer {
            return Err(StoreError::Unavailable(format!(
                "{} holds format 2 files beside format 3 ones (an earlier migration): move the \
                 format 2 files elsewhere, then start again",
                dir.display()
            )));
        }
        // A crash may have moved some of them already: the rest follow.
        fs::create_dir_all(&kept).map_err(io(&kept, "create"))?;
        for file in &old {
            let name = file.path.file_name().unwrap_or_default();
            let target = kept.join(name);
            if target.exists() {
                return Err(StoreError::Unavailable(format!(
                    "{} and {} both exist: keep one of them, then start again",
                    file.path.display(),
                    target.display()
                )));
            }
            fs::rename(&file.path, &target).map_err(io(&file.path, "move aside"))?;
        }
        files::sync_dir(&kept).map_err(io(&kept, "sync"))?;
        files::sync_dir(dir).map_err(io(dir, "sync"))?;
    }
    if !kept.is_dir() {
        return Ok(moved);
    }
    let here = files::list(dir).map_err(io(dir, "list"))?;
    if !here.snapshots.is_empty() {
        return Ok(moved); // migrated before: the format 3 snapshot is there
    }
    let started = Instant::now();
    tracing::info!(dir = %dir.display(), "migrating the store from format 2 to format 3");
    let source = files::list(&kept).map_err(io(&kept, "list"))?;
    let engine = Engine::new(model.clone());
    let mut snapshot_seq = 0;
    if let Some(newest) = source.snapshots.last() {
        let entries = snapshot::read_as(
            &newest.path,
            FORMAT_2_SNAPSHOT_MAGIC,
            codec::decode_format_2_entry,
        )?;
        for entry in entries {
            engine.load(entry);
        }
        snapshot_seq = newest.seq;
    }
    engine.rebuild_indexes();
    let mut next_seq = snapshot_seq.max(1);
    let mut replayed = 0u64;
    let last = source.segments.len().saturating_sub(1);
    for (i, segment) in source.segments.iter().enumerate() {
        replay(
            &engine,
            segment,
            i == last,
            snapshot_seq,
            &mut next_seq,
            &mut replayed,
        )?;
    }
    let entries = image::entries(&engine).map(|entry| codec::encode_entry(&entry));
    let written = snapshot::write(
        dir,
        next_seq,
        entries,
        snapshot::Pace::Full,
        &AtomicBool::new(false),
    )?;
    tracing::info!(
        dir = %dir.display(),
        snapshot_seq,
        replayed,
        next_seq,
        entries = written,
        kept = %kept.display(),
        ms = started.elapsed().as_millis() as u64,
        "migrated the store to format 3; the format 2 files are kept aside"
    );
    Ok(true)
}

/// The files of `listed` whose first bytes are `magic`.
fn of_magic(listed: &[Numbered], magic: &[u8; 8]) -> Result<Vec<Numbered>, StoreError> {
    let mut found = Vec::new();
    for file in listed {
        let mut head = [0u8; 8];
        let read = File::open(&file.path).and_then(|mut f| f.read_exact(&mut head));
        match read {
            Ok(()) if head == *magic => found.push(file.clone()),
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(StoreError::io(format!("{}: read", file.path.display()), e)),
        }
    }
    Ok(found)
}

/// Replays one format 2 segment with format 2's ids. A torn tail of the last segment was never
/// acknowledged and ends the log, as recovery treats it.
fn replay(
    engine: &Engine,
    segment: &Numbered,
    is_last: bool,
    snapshot_seq: u64,
    next_seq: &mut u64,
    replayed: &mut u64,
) -> Result<(), StoreError> {
    let shown = segment.path.display().to_string();
    let file =
        File::open(&segment.path).map_err(|e| StoreError::io(format!("{shown}: open"), e))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|e| StoreError::io(format!("{shown}: read"), e))?;
    let mut reader = frame::Reader::new(input, magic.len() as u64);
    loop {
        let offset = reader.good_offset;
        match reader
            .next_frame()
            .map_err(|e| StoreError::io(format!("{shown}: read"), e))?
        {
            Next::Frame { seq, payload } => {
                *next_seq = (*next_seq).max(seq + 1);
                if seq < snapshot_seq {
                    continue;
                }
                let record =
                    codec::decode_format_2_record(&payload).map_err(|e| StoreError::Corrupt {
                        path: shown.clone(),
                        offset,
                        reason: format!("a checksummed format 2 record does not decode: {e}"),
                    })?;
                engine.apply_with_ids(&record, &mut RecordIds::format_2(seq));
                *replayed += 1;
            }
            Next::End => return Ok(()),
            Next::Torn(why) if is_last => {
                tracing::warn!(segment = %shown, offset, why, "format 2 log ends in a torn tail");
                return Ok(());
            }
            Next::Torn(why) => {
                return Err(StoreError::Corrupt {
                    path: shown,
                    offset,
                    reason: format!("{why} in a segment that is not the last"),
                });
            }
        }
    }
}
