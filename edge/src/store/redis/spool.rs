//! The local spool: where accepted records wait, on this node's disk, while Redis cannot take
//! them. A record is answered only after its spool frame is synced, so an outage loses nothing
//! that was acknowledged; the node replays the spool into the shared log, in order, when Redis
//! is back.
//!
//! While the spool holds anything, every new record goes behind it, so a visitor's events reach
//! the log in the order they arrived. The calls here block on disk: run them off the runtime.
//!
//! Writes go through the embedded log's `store::append::Appender`: a failed write is cut back
//! at once (a torn frame would hide every later, acknowledged one from the next open), and the
//! directory is synced when the file is created. Reading back is in bounded chunks, so an outage
//! of hours does not have to fit in memory to be replayed.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::model::record::LogRecord;
use crate::store::StoreError;
use crate::store::append::Appender;
use crate::store::codec;
use crate::store::frame::{self, Next};

/// One spooled record.
pub struct Spooled {
    /// The id the log entry carries, to recognise a record that did reach Redis.
    pub id: u64,
    pub record: LogRecord,
    /// The file offset just past it.
    pub end: u64,
}

pub struct Spool {
    path: PathBuf,
    file: Mutex<Appender>,
    active: AtomicBool,
    pending: AtomicU64,
}

impl Spool {
    /// Opens the spool in `dir`, cutting a torn last frame (never acknowledged) off.
    pub fn open(dir: &Path) -> Result<Spool, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::io(format!("{}: create", dir.display()), e))?;
        // Records of format 2 accepted during an outage and never replayed into Redis: the
        // error names the file; the README says how to replay or drop them.
        let older = dir.join("spool.log");
        if std::fs::metadata(&older).is_ok_and(|m| m.len() > 0) {
            return Err(StoreError::OtherVersion {
                path: older.display().to_string(),
                what: "spool",
                found: "2".into(),
                reads: codec::FORMAT.to_string(),
            });
        }
        // Named by format: a spool of another version is never replayed as this one.
        let path = dir.join(format!("spool-{:03}.log", codec::FORMAT));
        let shown = path.display().to_string();
        let (count, good) = if path.exists() {
            count_frames(&path)?
        } else {
            (0, 0)
        };
        let file = Appender::open(dir, path.clone(), good)
            .map_err(|e| StoreError::io(format!("{shown}: open and cut the torn tail"), e))?;
        Ok(Spool {
            file: Mutex::new(file),
            active: AtomicBool::new(count > 0),
            pending: AtomicU64::new(count),
            path,
        })
    }

    /// Whether records are waiting: new ones must go behind them.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }

    /// Appends and syncs a record if the spool is in use, or `start` asks to start it. Returns
    /// whether the record is now in the spool.
    pub fn append(&self, start: bool, id: u64, record: &LogRecord) -> Result<bool, StoreError> {
        let payload = codec::encode_record(record)?;
        let mut bytes = Vec::with_capacity(payload.len() + frame::HEADER);
        frame::encode(&mut bytes, id, &payload);
        let mut file = self
            .file
            .lock()
            .map_err(|_| StoreError::Unavailable("the spool lock is poisoned".into()))?;
        if !start && !self.is_active() {
            return Ok(false);
        }
        let shown = self.path.display();
        file.append(&bytes)
            .map_err(|e| StoreError::io(format!("{shown}: append"), e))?;
        self.active.store(true, Ordering::Release);
        self.pending.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// At most `max` records after byte `offset` (fewer at the last complete one).
    pub fn read_from(&self, offset: u64, max: usize) -> Result<Vec<Spooled>, StoreError> {
        let mut records = Vec::new();
        read_frames(&self.path, offset, max, |spooled| records.push(spooled))?;
        Ok(records)
    }

    /// One record before `end` reached the log.
    pub fn replayed_one(&self) {
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Empties the spool if nothing was added after byte `end`. Returns whether it is empty
    /// now: from then on records go to Redis directly.
    pub fn finish(&self, end: u64) -> Result<bool, StoreError> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| StoreError::Unavailable("the spool lock is poisoned".into()))?;
        if file.len != end {
            return Ok(false);
        }
        let shown = self.path.display();
        file.truncate(0)
            .map_err(|e| StoreError::io(format!("{shown}: empty"), e))?;
        self.pending.store(0, Ordering::Relaxed);
        self.active.store(false, Ordering::Release);
        Ok(true)
    }

    /// Bytes in the spool file.
    pub fn bytes(&self) -> u64 {
        self.file.lock().map(|f| f.len).unwrap_or(0)
    }
}

/// The number of complete records and the offset past the last one, reading one at a time.
fn count_frames(path: &Path) -> Result<(u64, u64), StoreError> {
    let mut count = 0;
    let good = read_frames(path, 0, usize::MAX, |_| count += 1)?;
    Ok((count, good))
}

/// Hands up to `max` records from `offset` to `each`; returns the offset past the last one
/// read (the last good one, when the end came first).
fn read_frames(
    path: &Path,
    offset: u64,
    max: usize,
    mut each: impl FnMut(Spooled),
) -> Result<u64, StoreError> {
    let shown = path.display().to_string();
    let mut file = File::open(path).map_err(|e| StoreError::io(format!("{shown}: open"), e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| StoreError::io(format!("{shown}: seek"), e))?;
    let mut reader = frame::Reader::new(BufReader::new(file), offset);
    let mut read = 0;
    loop {
        let at = reader.good_offset;
        if read == max {
            return Ok(at);
        }
        match reader
            .next_frame()
            .map_err(|e| StoreError::io(format!("{shown}: read"), e))?
        {
            Next::Frame { seq, payload } => {
                let record: LogRecord =
                    codec::decode_record(&payload).map_err(|e| StoreError::Corrupt {
                        path: shown.clone(),
                        offset: at,
                        reason: format!("undecodable record: {e}"),
                    })?;
                read += 1;
                each(Spooled {
                    id: seq,
                    record,
                    end: reader.good_offset,
                });
            }
            Next::End | Next::Torn(_) => return Ok(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::AdminOp;
    use std::fs::OpenOptions;

    fn record(event: u64) -> LogRecord {
        LogRecord::Admin(AdminOp::WebhookDelivered { event })
    }

    #[test]
    fn records_wait_in_order_and_leave_together() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(dir.path()).expect("open");
        assert!(!spool.append(false, 1, &record(1)).expect("append"));
        assert!(spool.append(true, 2, &record(2)).expect("append"));
        assert!(spool.append(false, 3, &record(3)).expect("append"));
        assert_eq!(spool.pending(), 2);
        let read = spool.read_from(0, usize::MAX).expect("read");
        let ids: Vec<u64> = read.iter().map(|r| r.id).collect();
        assert_eq!(ids, [2, 3]);
        // Something arrived after what was replayed: the spool stays in use.
        assert!(!spool.finish(read[0].end).expect("finish"));
        assert!(spool.finish(read[1].end).expect("finish"));
        assert!(!spool.is_active());
        assert!(spool.read_from(0, usize::MAX).expect("read").is_empty());
    }

    #[test]
    fn a_reopened_spool_keeps_its_records_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let spool = Spool::open(dir.path()).expect("open");
            spool.append(true, 7, &record(7)).expect("append");
            spool.append(true, 8, &record(8)).expect("append");
        }
        let path = dir.path().join(format!("spool-{:03}.log", codec::FORMAT));
        let len = std::fs::metadata(&path).expect("meta").len();
        let file = OpenOptions::new().write(true).open(&path).expect("open");
        file.set_len(len - 3).expect("cut");
        let spool = Spool::open(dir.path()).expect("reopen");
        assert!(spool.is_active());
        let ids = |spool: &Spool| -> Vec<u64> {
            let read = spool.read_from(0, usize::MAX).expect("read");
            read.iter().map(|r| r.id).collect()
        };
        assert_eq!(ids(&spool), [7]);
        spool.append(false, 9, &record(9)).expect("append");
        assert_eq!(ids(&spool), [7, 9]);
    }

    /// The file size limit the child below runs under: `ulimit -f 1`, one 512-byte block.
    const CHILD_LIMIT: u64 = 512;

    /// Run by `a_failed_write_is_cut_back_before_the_next_append` in a child process whose files
    /// may not grow past `CHILD_LIMIT` bytes: appends until a write fails (the kernel writes
    /// what fits, then refuses the rest), then writes how many appends succeeded.
    #[test]
    #[ignore = "run in a child process by a_failed_write_is_cut_back_before_the_next_append"]
    fn append_until_the_file_size_limit() {
        let Ok(dir) = std::env::var("MIKOMI_SPOOL_CHILD_DIR") else {
            return;
        };
        let dir = PathBuf::from(dir);
        let spool = Spool::open(&dir.join("spool")).expect("open");
        // One long record first, so that the short ones after it do not end on the limit.
        let mut acked = Vec::new();
        if spool.append(true, 1, &record(u64::MAX)).is_ok() {
            acked.push(1);
        }
        for id in 2..1000 {
            match spool.append(true, id, &record(id)) {
                Ok(_) => acked.push(id),
                Err(_) => break,
            }
        }
        let failed_after = spool.bytes();
        let text = format!("{} {failed_after}", acked.len());
        std::fs::write(dir.join("acked"), text).expect("write the result");
    }

    /// A write that fails halfway used to leave its torn frame in the spool, so the next
    /// (acknowledged) records landed behind garbage and the next open cut them off. A real
    /// partial write, in a child process under a file size limit: the spool is cut back to its
    /// last complete frame before anything else is appended.
    #[test]
    fn a_failed_write_is_cut_back_before_the_next_append() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = std::env::current_exe().expect("the test binary");
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"")
            .arg(exe)
            .args([
                "--exact",
                "store::redis::spool::tests::append_until_the_file_size_limit",
                "--ignored",
                "--test-threads=1",
            ])
            .env("MIKOMI_SPOOL_CHILD_DIR", dir.path())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run the child");
        assert!(status.success(), "the child failed: {status}");
        let result = std::fs::read_to_string(dir.path().join("acked")).expect("the result");
        let (acked, kept) = result.split_once(' ').expect("two numbers");
        let acked: u64 = acked.parse().expect("a count");
        let kept: u64 = kept.parse().expect("a length");
        assert!(acked > 2, "some appends succeeded: {acked}");
        assert!(kept < CHILD_LIMIT, "the failed write was partial: {kept}");
        let path = dir
            .path()
            .join("spool")
            .join(format!("spool-{:03}.log", codec::FORMAT));
        let on_disk = std::fs::metadata(&path).expect("the spool").len();
        assert_eq!(on_disk, kept, "the torn frame was cut off at once");
        let (count, good) = count_frames(&path).expect("read back");
        assert_eq!(
            (count, good),
            (acked, on_disk),
            "every acknowledged record, nothing else"
        );
    }

    #[test]
    fn the_spool_reads_back_in_bounded_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = Spool::open(dir.path()).expect("open");
        for id in 1..=10 {
            spool.append(true, id, &record(id)).expect("append");
        }
        let mut offset = 0;
        let mut chunks = Vec::new();
        loop {
            let chunk = spool.read_from(offset, 4).expect("read");
            let Some(last) = chunk.last() else { break };
            offset = last.end;
            chunks.push(chunk.iter().map(|r| r.id).collect::<Vec<_>>());
        }
        assert_eq!(chunks, [vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]);
    }

    /// A spool file broken every way the mutation fuzzer knows: opened (its torn tail cut) and
    /// read back in chunks, or refused; never a panic.
    #[test]
    fn no_spool_file_panics_the_reader() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seed_dir = dir.path().join("seed");
        {
            let spool = Spool::open(&seed_dir).expect("open");
            for id in 1..=4 {
                spool.append(true, id, &record(id)).expect("append");
            }
        }
        let name = format!("spool-{:03}.log", codec::FORMAT);
        let seeds = vec![std::fs::read(seed_dir.join(&name)).expect("the spool")];
        let broken = dir.path().join("broken");
        std::fs::create_dir_all(&broken).expect("create");
        crate::fuzz::run("spool file", &seeds, |bytes| {
            std::fs::write(broken.join(&name), bytes).expect("write");
            if let Ok(spool) = Spool::open(&broken) {
                let mut offset = 0;
                while let Ok(chunk) = spool.read_from(offset, 2) {
                    match chunk.last() {
                        Some(last) => offset = last.end,
                        None => break,
                    }
                }
            }
        });
    }

    #[test]
    fn a_spool_of_the_previous_format_is_refused_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let older = dir.path().join("spool.log");
        std::fs::write(&older, b"records of format 2").expect("write");
        let refused = Spool::open(dir.path()).err().expect("refused");
        let message = refused.to_string();
        assert!(message.contains("spool format 2"), "{message}");
        assert_eq!(std::fs::read(&older).expect("kept"), b"records of format 2");
    }
}
