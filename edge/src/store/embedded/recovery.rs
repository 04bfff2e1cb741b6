//! Start-up: load the newest snapshot, replay the log after it, cut a torn tail off the last
//! segment, and open a fresh segment for new writes.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::Shared;
use super::files::{self, Appender, Header, SEGMENT_MAGIC};
use super::migrate;
use super::snapshot;
use crate::model::record::LogRecord;
use crate::store::StoreError;
use crate::store::codec;
use crate::store::frame::{self, Next};

pub(super) struct Recovered {
    pub appender: Appender,
    pub next_seq: u64,
    pub snapshot_seq: u64,
    /// The size of the snapshot recovery started from (0 without one).
    pub snapshot_bytes: u64,
}

pub(super) fn recover(dir: &Path, shared: &Shared) -> Result<Recovered, StoreError> {
    let started = Instant::now();
    let shown = dir.display().to_string();
    fs::create_dir_all(dir).map_err(|e| StoreError::io(format!("{shown}: create"), e))?;
    let mut listing = files::list(dir).map_err(|e| StoreError::io(format!("{shown}: list"), e))?;
    if migrate::migrate_format_2(dir, &listing, &shared.state.model)? {
        listing = files::list(dir).map_err(|e| StoreError::io(format!("{shown}: list"), e))?;
    }

    for path in &listing.unfinished {
        tracing::warn!(file = %path.display(), "removing a snapshot a crash left unfinished");
        fs::remove_file(path)
            .map_err(|e| StoreError::io(format!("{}: remove", path.display()), e))?;
    }

    let mut snapshot_seq = 0;
    let mut snapshot_bytes = 0;
    let state = &shared.state;
    if let Some(newest) = listing.snapshots.last() {
        for entry in snapshot::read(&newest.path)? {
            let events = state.load(entry);
            shared.events.fetch_add(events, Ordering::Relaxed);
        }
        snapshot_seq = newest.seq;
        snapshot_bytes = fs::metadata(&newest.path).map_or(0, |m| m.len());
    }
    // Before the log: replayed records look people up by email and update the feed, the
    // accounts and the popup tallies incrementally, as live ones do.
    state.rebuild_indexes();

    let mut next_seq = snapshot_seq.max(1);
    let mut replayed = 0u64;
    let mut log_bytes = 0u64;
    let last = listing.segments.len().saturating_sub(1);
    for (i, segment) in listing.segments.iter().enumerate() {
        let path = &segment.path;
        let shown = path.display().to_string();
        let io = |what: &str| {
            let context = format!("{shown}: {what}");
            move |e| StoreError::io(context, e)
        };
        let file = File::open(path).map_err(io("open"))?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut magic = [0u8; 8];
        let header = match input.read_exact(&mut magic) {
            Ok(()) => Header::of(&magic, SEGMENT_MAGIC),
            Err(_) => Header::Foreign,
        };
        if let Header::OtherVersion { found, reads } = header {
            // Never removed or misread: yesterday's log is data, not a torn header.
            return Err(StoreError::OtherVersion {
                path: shown,
                what: "log",
                found,
                reads,
            });
        }
        if header == Header::Foreign {
            if i == last {
                tracing::warn!(segment = %shown, "removing a segment cut before its header");
                fs::remove_file(path).map_err(io("remove"))?;
                continue;
            }
            return Err(StoreError::Corrupt {
                path: shown,
                offset: 0,
                reason: "not a log segment".into(),
            });
        }
        let mut reader = frame::Reader::new(input, SEGMENT_MAGIC.len() as u64);
        loop {
            let offset = reader.good_offset;
            match reader.next_frame().map_err(io("read"))? {
                Next::Frame { seq, payload } => {
                    next_seq = next_seq.max(seq + 1);
                    if seq < snapshot_seq {
                        continue;
                    }
                    let record: LogRecord =
                        codec::decode_record(&payload).map_err(|e| StoreError::Corrupt {
                            path: shown.clone(),
                            offset,
                            reason: format!("a checksummed record does not decode: {e}"),
                        })?;
                    // Entities that already hold the record skip it (see `engine`).
                    shared.apply(seq, &record);
                    replayed += 1;
                }
                Next::End => break,
                Next::Torn(why) if i == last => {
                    tracing::warn!(
                        segment = %shown,
                        offset,
                        why,
                        "cutting a torn tail: the write it holds was never acknowledged"
                    );
                    OpenOptions::new()
                        .write(true)
                        .open(path)
                        .and_then(|f| f.set_len(offset).and_then(|()| f.sync_all()))
                        .map_err(io("cut the torn tail"))?;
                    break;
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
        log_bytes += reader.good_offset;
    }

    // A segment of this name can only exist empty (its first record would have moved next_seq).
    let fresh = files::segment_path(dir, next_seq);
    if fresh.exists() {
        fs::remove_file(&fresh)
            .map_err(|e| StoreError::io(format!("{}: remove", fresh.display()), e))?;
    }
    let appender = files::create_segment(dir, next_seq)
        .map_err(|e| StoreError::io(format!("{shown}: new segment"), e))?;
    shared.log_bytes.store(log_bytes, Ordering::Relaxed);
    shared.last_seq.store(next_seq - 1, Ordering::Relaxed);
    tracing::info!(
        dir = %shown,
        snapshot_seq,
        replayed,
        visitors = state.visitors.len(),
        people = state.persons.len(),
        ms = started.elapsed().as_millis() as u64,
        "store recovered"
    );
    Ok(Recovered {
        appender,
        next_seq,
        // Nothing to replay means the snapshot (or the empty store) is already current.
        snapshot_seq: if replayed == 0 {
            next_seq
        } else {
            snapshot_seq
        },
        snapshot_bytes,
    })
}
