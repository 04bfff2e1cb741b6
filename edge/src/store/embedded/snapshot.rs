//! Snapshots bound recovery time: the state at a log position, so that replay starts there.
//!
//! A snapshot is taken while writes go on ("fuzzy"): an entity may already hold records from
//! after the snapshot's position. Visitors and people carry the last sequence number applied
//! to them, and replay skips what an entity already holds. Entries are written visitors first,
//! then people, then merges and the webhook outbox: see `engine` for why that order makes
//! replay exact.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::files::{self, Header, SNAPSHOT_MAGIC};
use crate::store::codec;
use crate::store::frame::{self, Next};

pub use crate::engine::image::Entry;
use crate::store::StoreError;

/// The frame sequence number that marks a complete snapshot; it carries the record count.
const END_MARK: u64 = u64::MAX;

pub use crate::store::cadence::Pace;

/// Bytes a background snapshot writes between rests.
pub const PACE_BYTES: usize = 1 << 20;
/// Bytes a background snapshot writes between syncs: so that its last sync does not hand the
/// disk the whole file at once while the log waits behind it for its own.
pub const SYNC_BYTES: usize = 16 << 20;

/// Rests and syncs a background snapshot as it goes.
struct Pacer<'a> {
    /// Bytes between rests and between syncs; `None`: never (full speed).
    every: Option<(usize, usize)>,
    /// Set when a close waits for this snapshot: no more rests.
    hurry: &'a AtomicBool,
    since_rest: usize,
    since_sync: usize,
    working_since: Instant,
}

impl<'a> Pacer<'a> {
    fn new(pace: Pace, hurry: &'a AtomicBool) -> Pacer<'a> {
        let every = match pace {
            Pace::Full => None,
            Pace::Background => Some((PACE_BYTES, SYNC_BYTES)),
        };
        Pacer::every(every, hurry)
    }

    fn every(every: Option<(usize, usize)>, hurry: &'a AtomicBool) -> Pacer<'a> {
        Pacer {
            every,
            hurry,
            since_rest: 0,
            since_sync: 0,
            working_since: Instant::now(),
        }
    }

    /// Counts `bytes` written to `out`; syncs or rests when they are due.
    fn wrote(&mut self, bytes: usize, out: &mut BufWriter<File>) -> std::io::Result<()> {
        let Some((rest_every, sync_every)) = self.every else {
            return Ok(());
        };
        self.since_rest += bytes;
        self.since_sync += bytes;
        if self.since_sync >= sync_every {
            out.flush()?;
            out.get_ref().sync_data()?;
            self.since_sync = 0;
        }
        if self.since_rest >= rest_every && !self.hurry.load(Ordering::Acquire) {
            std::thread::sleep(Pace::Background.rest_after(self.working_since.elapsed()));
            self.since_rest = 0;
            self.working_since = Instant::now();
        }
        Ok(())
    }
}

/// Writes `entries` as the snapshot for log position `seq`, atomically:
/// a crash leaves either the old snapshot or the new one, never half of one.
pub fn write(
    dir: &Path,
    seq: u64,
    payloads: impl Iterator<Item = Result<Vec<u8>, StoreError>>,
    pace: Pace,
    hurry: &AtomicBool,
) -> Result<u64, StoreError> {
    write_paced(dir, seq, payloads, Pacer::new(pace, hurry))
}

fn write_paced(
    dir: &Path,
    seq: u64,
    payloads: impl Iterator<Item = Result<Vec<u8>, StoreError>>,
    mut pacer: Pacer,
) -> Result<u64, StoreError> {
    let path = files::snapshot_path(dir, seq);
    let tmp = path.with_extension("tmp");
    let io = |context: &str| {
        let context = format!("{}: {context}", tmp.display());
        move |e| StoreError::io(context, e)
    };
    let file = File::create(&tmp).map_err(io("create"))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(SNAPSHOT_MAGIC).map_err(io("write"))?;
    let mut frame_buf = Vec::new();
    let mut count = 0u64;
    for payload in payloads {
        let payload = payload?;
        frame_buf.clear();
        frame::encode(&mut frame_buf, count, &payload);
        out.write_all(&frame_buf).map_err(io("write"))?;
        pacer
            .wrote(frame_buf.len(), &mut out)
            .map_err(io("write"))?;
        count += 1;
    }
    frame_buf.clear();
    frame::encode(&mut frame_buf, END_MARK, &count.to_le_bytes());
    out.write_all(&frame_buf).map_err(io("write"))?;
    let file = out.into_inner().map_err(|e| io("flush")(e.into_error()))?;
    file.sync_all().map_err(io("sync"))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io("rename"))?;
    files::sync_dir(dir).map_err(|e| StoreError::io(format!("{}: sync", dir.display()), e))?;
    Ok(count)
}

/// Reads a snapshot completely, or says why it cannot be trusted.
pub fn read(path: &Path) -> Result<Vec<Entry>, StoreError> {
    read_as(path, SNAPSHOT_MAGIC, codec::decode_entry)
}

/// `read` for the format whose snapshots start with `magic` and whose entries `decode` reads.
pub fn read_as(
    path: &Path,
    magic: &[u8; 8],
    decode: fn(&[u8]) -> Result<Entry, String>,
) -> Result<Vec<Entry>, StoreError> {
    let ours = magic;
    let shown = path.display().to_string();
    let corrupt = |offset: u64, reason: String| StoreError::Corrupt {
        path: shown.clone(),
        offset,
        reason,
    };
    let file = File::open(path).map_err(|e| StoreError::io(format!("{shown}: open"), e))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| corrupt(0, "too short to be a snapshot".into()))?;
    match Header::of(&magic, ours) {
        Header::Ours => {}
        Header::OtherVersion { found, reads } => {
            return Err(StoreError::OtherVersion {
                path: shown,
                what: "snapshot",
                found,
                reads,
            });
        }
        Header::Foreign => return Err(corrupt(0, "not a snapshot file".into())),
    }
    let mut reader = frame::Reader::new(input, ours.len() as u64);
    let mut entries = Vec::new();
    loop {
        let offset = reader.good_offset;
        match reader
            .next_frame()
            .map_err(|e| StoreError::io(format!("{shown}: read"), e))?
        {
            Next::Frame {
                seq: END_MARK,
                payload,
            } => {
                let count = payload
                    .try_into()
                    .map(u64::from_le_bytes)
                    .map_err(|_| corrupt(offset, "bad end mark".into()))?;
                if count != entries.len() as u64 {
                    return Err(corrupt(
                        offset,
                        format!("holds {} of {count} records", entries.len()),
                    ));
                }
                return Ok(entries);
            }
            Next::Frame { payload, .. } => {
                let entry = decode(&payload)
                    .map_err(|e| corrupt(offset, format!("undecodable record: {e}")))?;
                entries.push(entry);
            }
            Next::End => return Err(corrupt(offset, "ends without its end mark".into())),
            Next::Torn(why) => return Err(corrupt(offset, why.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Visitor;
    use crate::visitor_id::VisitorId;

    fn encoded(entries: Vec<Entry>) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> {
        entries.into_iter().map(|e| codec::encode_entry(&e))
    }

    /// A snapshot written at full speed, as start-up and shutdown write them.
    fn write_full(dir: &Path, seq: u64, entries: Vec<Entry>) -> u64 {
        write(
            dir,
            seq,
            encoded(entries),
            Pace::Full,
            &AtomicBool::new(false),
        )
        .expect("write")
    }

    fn visitors(n: u8) -> Vec<Entry> {
        (0..n)
            .map(|i| {
                Entry::Visitor(Visitor::new(
                    "demo".into(),
                    VisitorId([i; 16]),
                    i64::from(i),
                ))
            })
            .collect()
    }

    /// A snapshot file broken every way the mutation fuzzer knows: read as an error (or as the
    /// entries it still holds), never a panic.
    #[test]
    fn no_snapshot_file_panics_the_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut seeds = Vec::new();
        for n in [1, 3] {
            let path = files::snapshot_path(dir.path(), u64::from(n));
            write_full(dir.path(), u64::from(n), visitors(n));
            seeds.push(std::fs::read(&path).expect("the snapshot"));
        }
        let broken = dir.path().join("broken.snap");
        crate::fuzz::run("snapshot file", &seeds, |bytes| {
            std::fs::write(&broken, bytes).expect("write");
            let _ = read(&broken);
        });
    }

    #[test]
    fn snapshots_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let written = write_full(dir.path(), 42, visitors(5));
        assert_eq!(written, 5);
        let path = files::snapshot_path(dir.path(), 42);
        assert_eq!(read(&path).expect("read"), visitors(5));
        assert!(!path.with_extension("tmp").exists());
    }

    /// Resting and syncing on the way changes when the bytes reach the disk, not which bytes.
    #[test]
    fn a_paced_snapshot_is_the_same_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_full(dir.path(), 7, visitors(40));
        let full = fs::read(files::snapshot_path(dir.path(), 7)).expect("read");
        // A rest and a sync after every few frames: many of each in one small file.
        let paced = tempfile::tempdir().expect("tempdir");
        let started = Instant::now();
        let calm = AtomicBool::new(false);
        let pacer = Pacer::every(Some((64, 200)), &calm);
        write_paced(paced.path(), 7, encoded(visitors(40)), pacer).expect("write");
        let path = files::snapshot_path(paced.path(), 7);
        assert_eq!(fs::read(&path).expect("read"), full);
        assert_eq!(read(&path).expect("read"), visitors(40));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_cut_snapshot_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_full(dir.path(), 1, visitors(3));
        let path = files::snapshot_path(dir.path(), 1);
        let bytes = fs::read(&path).expect("read");
        for cut in [0, 4, 8, bytes.len() / 2, bytes.len() - 1] {
            fs::write(&path, &bytes[..cut]).expect("write");
            let err = read(&path).expect_err("cut snapshot");
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "cut at {cut}: {err}"
            );
        }
    }
}
