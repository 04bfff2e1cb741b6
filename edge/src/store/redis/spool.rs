//! The local spool: where accepted records wait, on this node's disk, while Redis cannot take
//! them. A record is answered only after its spool frame is synced, so an outage loses nothing
//! that was acknowledged; the node replays the spool into the shared log, in order, when Redis
//! is back.
//!
//! While the spool holds anything, every new record goes behind it, so a visitor's events reach
//! the log in the order they arrived. The calls here block on disk: run them off the runtime.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::model::record::LogRecord;
use crate::store::StoreError;
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

struct SpoolFile {
    file: File,
    len: u64,
}

pub struct Spool {
    path: PathBuf,
    file: Mutex<SpoolFile>,
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
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(format!("{shown}: open"), e))?;
        let (records, good) = read_frames(&path, 0)?;
        file.set_len(good)
            .and_then(|()| file.seek(SeekFrom::Start(good)).map(drop))
            .map_err(|e| StoreError::io(format!("{shown}: cut the torn tail"), e))?;
        Ok(Spool {
            file: Mutex::new(SpoolFile { file, len: good }),
            active: AtomicBool::new(!records.is_empty()),
            pending: AtomicU64::new(records.len() as u64),
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
        file.file
            .write_all(&bytes)
            .and_then(|()| file.file.sync_data())
            .map_err(|e| StoreError::io(format!("{shown}: append"), e))?;
        file.len += bytes.len() as u64;
        self.active.store(true, Ordering::Release);
        self.pending.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// The records after byte `offset`, up to the last complete one.
    pub fn read_from(&self, offset: u64) -> Result<Vec<Spooled>, StoreError> {
        Ok(read_frames(&self.path, offset)?.0)
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
        file.file
            .set_len(0)
            .and_then(|()| file.file.seek(SeekFrom::Start(0)).map(drop))
            .and_then(|()| file.file.sync_data())
            .map_err(|e| StoreError::io(format!("{shown}: empty"), e))?;
        file.len = 0;
        self.pending.store(0, Ordering::Relaxed);
        self.active.store(false, Ordering::Release);
        Ok(true)
    }

    pub fn bytes(&self) -> u64 {
        self.file.lock().map(|f| f.len).unwrap_or(0)
    }
}

/// Reads frames from `offset`; returns them and the offset past the last good one.
fn read_frames(path: &Path, offset: u64) -> Result<(Vec<Spooled>, u64), StoreError> {
    let shown = path.display().to_string();
    let mut file = File::open(path).map_err(|e| StoreError::io(format!("{shown}: open"), e))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| StoreError::io(format!("{shown}: seek"), e))?;
    let mut reader = frame::Reader::new(BufReader::new(file), offset);
    let mut records = Vec::new();
    loop {
        let at = reader.good_offset;
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
                records.push(Spooled {
                    id: seq,
                    record,
                    end: reader.good_offset,
                });
            }
            Next::End | Next::Torn(_) => return Ok((records, at)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::AdminOp;

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
        let read = spool.read_from(0).expect("read");
        let ids: Vec<u64> = read.iter().map(|r| r.id).collect();
        assert_eq!(ids, [2, 3]);
        // Something arrived after what was replayed: the spool stays in use.
        assert!(!spool.finish(read[0].end).expect("finish"));
        assert!(spool.finish(read[1].end).expect("finish"));
        assert!(!spool.is_active());
        assert!(spool.read_from(0).expect("read").is_empty());
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
            let read = spool.read_from(0).expect("read");
            read.iter().map(|r| r.id).collect()
        };
        assert_eq!(ids(&spool), [7]);
        spool.append(false, 9, &record(9)).expect("append");
        assert_eq!(ids(&spool), [7, 9]);
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
