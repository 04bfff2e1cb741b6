//! The files in the data directory: log segments named by their first sequence number, and
//! snapshots named by the sequence number they are complete up to (exclusive).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The format's versions and their history are in `store::codec`.
pub use crate::store::codec::{SEGMENT_MAGIC, SNAPSHOT_MAGIC};

/// What the first bytes of a log segment or snapshot say about it.
#[derive(Debug, PartialEq, Eq)]
pub enum Header {
    /// This build's format.
    Ours,
    /// The same kind of file in another format version (the digits after the kind's letters).
    OtherVersion { found: String, reads: String },
    /// Not a file of this kind at all (or cut before its header was complete).
    Foreign,
}

impl Header {
    /// Reads `found` against this build's `magic` (`MKWAL002`: kind `MKWAL`, version `002`).
    pub fn of(found: &[u8], magic: &[u8; 8]) -> Header {
        if found == magic {
            return Header::Ours;
        }
        let kind_len = magic.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let (kind, version) = magic.split_at(kind_len);
        match found.split_at_checked(kind_len) {
            Some((k, v))
                if found.len() == magic.len() && k == kind && v.iter().all(u8::is_ascii_digit) =>
            {
                Header::OtherVersion {
                    found: String::from_utf8_lossy(v).into_owned(),
                    reads: String::from_utf8_lossy(version).into_owned(),
                }
            }
            _ => Header::Foreign,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Numbered {
    pub seq: u64,
    pub path: PathBuf,
}

/// Log segments and snapshots in the directory, each sorted by sequence number.
pub struct Listing {
    pub segments: Vec<Numbered>,
    pub snapshots: Vec<Numbered>,
    /// Snapshots a crash cut short (`snapshot-*.tmp`): never read, and removed at start-up, as
    /// they may hold data erased since.
    pub unfinished: Vec<PathBuf>,
}

pub fn segment_path(dir: &Path, start_seq: u64) -> PathBuf {
    dir.join(format!("wal-{start_seq:020}.log"))
}

pub fn snapshot_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("snapshot-{seq:020}.snap"))
}

pub fn list(dir: &Path) -> io::Result<Listing> {
    let mut segments = Vec::new();
    let mut snapshots = Vec::new();
    let mut unfinished = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let numbered = |prefix: &str, suffix: &str| {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .and_then(|digits| digits.parse::<u64>().ok())
                .map(|seq| Numbered {
                    seq,
                    path: entry.path(),
                })
        };
        if let Some(segment) = numbered("wal-", ".log") {
            segments.push(segment);
        } else if let Some(snapshot) = numbered("snapshot-", ".snap") {
            snapshots.push(snapshot);
        } else if let Some(unfinished_one) = numbered("snapshot-", ".tmp") {
            unfinished.push(unfinished_one.path);
        }
    }
    segments.sort();
    snapshots.sort();
    unfinished.sort();
    Ok(Listing {
        segments,
        snapshots,
        unfinished,
    })
}

/// Shared with the Redis store's spool: the cut-back of a failed write and the directory sync.
pub use crate::store::append::{Appender, sync_dir};

/// Starts a new, empty segment.
pub fn create_segment(dir: &Path, start_seq: u64) -> io::Result<Appender> {
    Appender::create_new(dir, segment_path(dir, start_seq), SEGMENT_MAGIC)
}
