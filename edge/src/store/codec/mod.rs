//! The on-disk and in-Redis format: every log record and snapshot entry, in log segments,
//! snapshots, the Redis stream and snapshot chunks, and a node's spool, is written and read here,
//! and the format version lives here.
//!
//! Version 3 (this build) changed how a record's ids are made (`model::ids`: 4096 per record
//! instead of 16 people and 64 events) and stores the company behind an address through its
//! own schema (`model::company`) instead of ipdb's type as it is. The embedded store migrates a
//! version 2 data directory at start (`store::embedded::migrate`): it replays the old log with
//! the old ids, so people keep the ids CRMs already hold, writes a version 3 snapshot, and keeps
//! the old files aside. Redis data of version 2 is refused with both versions named. Any other
//! version is refused by name, never misread and never deleted.
//!
//! What keeps this honest: `tests.rs` encodes a record of every kind and the snapshot of the
//! state they make, and compares the bytes with `format-3.golden`, written by this version.
//! Any change to a persisted type's layout (a field, a variant, an order) fails that test, which
//! then asks for `FORMAT` to be bumped, so yesterday's files are refused by name rather than
//! misread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::engine::Engine;
use crate::engine::image::{self, Entry};
use crate::model::Visitor;
use crate::model::record::LogRecord;

/// The format this build writes and reads.
pub const FORMAT: u32 = 3;

/// First bytes of a log segment: kind letters, then the format version.
pub const SEGMENT_MAGIC: &[u8; 8] = b"MKWAL003";
/// First bytes of a snapshot file.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"MKSNAP03";
/// First bytes of a Redis node's spool file.
pub const SPOOL_MAGIC: &[u8; 8] = b"MKSPL003";

/// Format 2's magics: its files are migrated (the embedded store) or refused (Redis).
pub const FORMAT_2_SEGMENT_MAGIC: &[u8; 8] = b"MKWAL002";
pub const FORMAT_2_SNAPSHOT_MAGIC: &[u8; 8] = b"MKSNAP02";

/// A format 2 record: laid out as today's but for the company (see `model::company`).
pub fn decode_format_2_record(bytes: &[u8]) -> Result<LogRecord, String> {
    crate::model::company::decoding_format_2(|| decode(bytes))
}

/// A format 2 snapshot entry.
pub fn decode_format_2_entry(bytes: &[u8]) -> Result<Entry, String> {
    crate::model::company::decoding_format_2(|| decode(bytes))
}

pub fn encode_record(record: &LogRecord) -> Result<Vec<u8>, StoreError> {
    encode(record, "a log record")
}

pub fn decode_record(bytes: &[u8]) -> Result<LogRecord, String> {
    decode(bytes)
}

pub fn encode_entry(entry: &Entry) -> Result<Vec<u8>, StoreError> {
    encode(entry, "a snapshot entry")
}

/// A visitor's snapshot entry, borrowed: serialized exactly as `Entry::Visitor` (the same
/// variant index, which is all the format records of a variant).
#[derive(Serialize)]
enum VisitorEntry<'a> {
    Visitor(&'a Visitor),
}

/// The bytes `encode_entry(&Entry::Visitor(visitor.clone()))` gives, without the copy.
pub fn encode_visitor_entry(visitor: &Visitor) -> Result<Vec<u8>, StoreError> {
    encode(&VisitorEntry::Visitor(visitor), "a snapshot entry")
}

/// Every entry of the state, encoded, in snapshot order (see `engine::image`). Each visitor is
/// taken out of its table shard as a shared pointer and encoded with no lock held: neither
/// copied whole (a snapshot of a large state copied every visitor's history only to drop it)
/// nor encoded under the shard's lock (which held up the log writer's `apply` whenever the
/// snapshot thread lost its core mid-visitor).
pub fn encoded_entries(state: &Engine) -> impl Iterator<Item = Result<Vec<u8>, StoreError>> + '_ {
    image::visitors(state)
        .map(|visitor| encode_visitor_entry(&visitor))
        .chain(image::after_visitors(state).map(|entry| encode_entry(&entry)))
}

pub fn decode_entry(bytes: &[u8]) -> Result<Entry, String> {
    decode(bytes)
}

/// Bytes an encoding starts with room for: a page view's record fits, so it is written into one
/// allocation rather than a buffer doubled from nothing six or seven times.
const ENCODE_CAPACITY: usize = 1024;

fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    postcard::to_io(value, Vec::with_capacity(ENCODE_CAPACITY))
        .map_err(|e| StoreError::io(format!("encode {what}"), std::io::Error::other(e)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod alert_tests;
#[cfg(test)]
mod erasure_tests;
#[cfg(test)]
mod tests;
