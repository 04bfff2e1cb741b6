//! The on-disk and in-Redis format: every log record and snapshot entry, in log segments,
//! snapshots, the Redis stream and snapshot chunks, and a node's spool, is written and read here,
//! and the format version lives here.
//!
//! Version 3 (this build) changed how a record's ids are made (`model::ids`: 4096 per record
//! instead of 16 people and 64 events) and stores the company behind an address through its
//! own schema (`model::company`) instead of ipdb's type as it is. Files and Redis data of
//! version 2 are refused with both versions named, never misread and never deleted: replaying
//! them under the new id scheme would give people other ids than the ones already delivered to
//! CRMs. The only way forward from version 2 data is a fresh data directory (or Redis prefix).
//!
//! What keeps this honest: `tests.rs` encodes a record of every kind and the snapshot of the
//! state they make, and compares the bytes with `format-3.golden`, written by this version.
//! Any change to a persisted type's layout (a field, a variant, an order) fails that test, which
//! then asks for `FORMAT` to be bumped, so yesterday's files are refused by name rather than
//! misread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::engine::image::Entry;
use crate::model::record::LogRecord;

/// The format this build writes and reads.
pub const FORMAT: u32 = 3;

/// First bytes of a log segment: kind letters, then the format version.
pub const SEGMENT_MAGIC: &[u8; 8] = b"MKWAL003";
/// First bytes of a snapshot file.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"MKSNAP03";
/// First bytes of a Redis node's spool file.
pub const SPOOL_MAGIC: &[u8; 8] = b"MKSPL003";

pub fn encode_record(record: &LogRecord) -> Result<Vec<u8>, StoreError> {
    encode(record, "a log record")
}

pub fn decode_record(bytes: &[u8]) -> Result<LogRecord, String> {
    decode(bytes)
}

pub fn encode_entry(entry: &Entry) -> Result<Vec<u8>, StoreError> {
    encode(entry, "a snapshot entry")
}

pub fn decode_entry(bytes: &[u8]) -> Result<Entry, String> {
    decode(bytes)
}

fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    postcard::to_stdvec(value)
        .map_err(|e| StoreError::io(format!("encode {what}"), std::io::Error::other(e)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
