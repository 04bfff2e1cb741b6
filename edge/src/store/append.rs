//! Append-only files that stay readable after a failed write: the embedded log's segments and
//! the Redis store's spool. A write that fails halfway leaves a torn frame at the end; the file
//! is cut back to its last durable length at once, so a later append never lands behind
//! garbage (where the next open, which stops at the first bad frame, would cut it off although
//! it was acknowledged). A new file's directory is synced, or a crash can forget the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The open end of an append-only file.
pub struct Appender {
    file: File,
    pub path: PathBuf,
    /// Bytes known to be durable; a failed write is cut back to here.
    pub len: u64,
    /// A failed write could not be cut back: the file's tail is garbage, nothing more may be
    /// appended.
    pub broken: bool,
}

impl Appender {
    /// Creates `path` in `dir`, which must not exist, starting with `header`.
    pub fn create_new(dir: &Path, path: PathBuf, header: &[u8]) -> io::Result<Appender> {
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        file.write_all(header)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(Appender {
            file,
            path,
            len: header.len() as u64,
            broken: false,
        })
    }

    /// Opens `path` in `dir` for appending after its first `good` bytes (what a reader found
    /// intact), cutting anything after them off; creates it (and syncs `dir`) when missing.
    pub fn open(dir: &Path, path: PathBuf, good: u64) -> io::Result<Appender> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)?;
        file.set_len(good)?;
        file.sync_all()?;
        if !existed {
            sync_dir(dir)?;
        }
        Ok(Appender {
            file,
            path,
            len: good,
            broken: false,
        })
    }

    /// Writes and syncs `bytes`. On failure the file is cut back to its last durable length, so
    /// that a later append never lands behind a half-written frame.
    pub fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "an earlier failed write could not be cut back; nothing more is appended",
            ));
        }
        let result = self
            .file
            .write_all(bytes)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                if let Err(cut) = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data())
                {
                    self.broken = true;
                    return Err(io::Error::other(format!(
                        "{e}; and cutting the file back failed too: {cut}"
                    )));
                }
                Err(e)
            }
        }
    }

    /// Cuts the file to its first `len` bytes, durably.
    pub fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_data()?;
        self.len = len;
        self.broken = false;
        Ok(())
    }
}
