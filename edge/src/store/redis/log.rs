//! The shared log: a Redis stream every edge node appends to and every node applies, in the
//! same order, to its own copy of the state.
//!
//! A Lua script takes the next sequence numbers and appends records under them in one atomic
//! step, so positions have no gaps and no two nodes can interleave a number and its record. All
//! keys carry one hash tag, so in a Redis Cluster they share a slot and the script may touch
//! them together.

use std::collections::HashMap;

use redis::{Cmd, Script};

use super::conn::{CallError, Redis};
use crate::model::record::LogRecord;
use crate::store::StoreError;
use crate::store::codec;

/// Where everything lives in Redis, under one hash tag.
#[derive(Clone, Debug)]
pub struct Keys {
    pub seq: String,
    pub log: String,
    /// `<seq> <chunks>` of the newest snapshot.
    pub snapshot: String,
    pub snapshot_lease: String,
    pub webhook_lease: String,
    /// The format version of everything under the prefix (`store::codec::FORMAT`).
    pub format: String,
    tag: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        let tag = format!("{{{prefix}}}");
        Keys {
            seq: format!("{tag}:seq"),
            log: format!("{tag}:log"),
            snapshot: format!("{tag}:snapshot"),
            snapshot_lease: format!("{tag}:lease:snapshot"),
            webhook_lease: format!("{tag}:lease:webhooks"),
            format: format!("{tag}:format"),
            tag,
        }
    }

    /// One chunk of the snapshot taken at `seq`.
    pub fn chunk(&self, seq: u64, index: u64) -> String {
        format!("{}:snapshot:{seq}:{index}", self.tag)
    }

    /// A `SCAN MATCH` pattern for every snapshot chunk under the prefix.
    pub fn chunk_pattern(&self) -> String {
        let mut escaped = String::with_capacity(self.tag.len() + 12);
        for c in self.tag.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped + ":snapshot:*"
    }

    /// The snapshot position a chunk key names, if it is one of ours.
    pub fn chunk_seq(&self, key: &str) -> Option<u64> {
        let rest = key.strip_prefix(&self.tag)?.strip_prefix(":snapshot:")?;
        let (seq, index) = rest.split_once(':')?;
        index.parse::<u64>().ok()?;
        seq.parse().ok()
    }
}

/// KEYS: seq, log. ARGV: node, then (record, record id) pairs. Appends them all, in order, in
/// one step; returns the first one's position.
const APPEND_MANY: &str = r"
local first = 0
for i = 2, #ARGV, 2 do
  local seq = redis.call('INCR', KEYS[1])
  if first == 0 then first = seq end
  redis.call('XADD', KEYS[2], '0-' .. seq, 'r', ARGV[i], 'n', ARGV[1], 'i', ARGV[i + 1])
end
return first
";

/// KEYS: lease. ARGV: holder, milliseconds. Takes or renews the lease; 1 if `holder` has it.
const LEASE: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// KEYS: pointer. ARGV: `<seq> <chunks>`, seq. Moves the snapshot pointer forward, never back;
/// returns the pointer that was replaced ("" if none), or the newer one that stays.
const PUBLISH_SNAPSHOT: &str = r"
local current = redis.call('GET', KEYS[1])
if current then
  local seq = tonumber(string.match(current, '^(%d+)'))
  if seq and seq >= tonumber(ARGV[2]) then return current end
end
redis.call('SET', KEYS[1], ARGV[1])
return current or ''
";

pub struct Scripts {
    append_many: Script,
    lease: Script,
    publish: Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts {
            append_many: Script::new(APPEND_MANY),
            lease: Script::new(LEASE),
            publish: Script::new(PUBLISH_SNAPSHOT),
        }
    }
}

/// One record read back from the log.
pub struct Entry {
    pub seq: u64,
    pub record: LogRecord,
    /// The node that appended it, and its id there.
    pub node: String,
    pub id: u64,
    /// The encoded record's size: how much log a snapshot would spare a restart.
    pub bytes: u64,
}

pub fn encode(record: &LogRecord) -> Result<Vec<u8>, StoreError> {
    codec::encode_record(record)
}

/// Appends encoded records with their ids, atomically and in order (a group of new records, or
/// a stretch of the spool); returns the first one's position.
pub async fn append_many(
    redis: &Redis,
    keys: &Keys,
    scripts: &Scripts,
    records: &[(Vec<u8>, u64)],
    node: &str,
) -> Result<u64, CallError> {
    let ids: Vec<String> = records.iter().map(|(_, id)| id.to_string()).collect();
    let mut args: Vec<&[u8]> = vec![node.as_bytes()];
    for ((payload, _), id) in records.iter().zip(&ids) {
        args.push(payload);
        args.push(id.as_bytes());
    }
    redis
        .script(&scripts.append_many, &[&keys.seq, &keys.log], &args)
        .await
}

/// Up to `count` records after position `after`, in order.
pub async fn read_after(
    redis: &Redis,
    keys: &Keys,
    after: u64,
    count: usize,
) -> Result<Vec<Entry>, StoreError> {
    let mut cmd = Cmd::new();
    cmd.arg("XRANGE")
        .arg(&keys.log)
        .arg(format!("(0-{after}"))
        .arg("+")
        .arg("COUNT")
        .arg(count);
    let raw: Vec<(String, HashMap<String, Vec<u8>>)> = redis.query(&cmd).await?;
    raw.into_iter()
        .map(|(id, fields)| decode(id, fields))
        .collect()
}

fn decode(id: String, mut fields: HashMap<String, Vec<u8>>) -> Result<Entry, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: "redis stream".into(),
        offset: 0,
        reason: format!("entry {id}: {reason}"),
    };
    let seq = id
        .strip_prefix("0-")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt("not a log position".into()))?;
    let payload = fields
        .remove("r")
        .ok_or_else(|| corrupt("no record".into()))?;
    let bytes = payload.len() as u64;
    let record =
        codec::decode_record(&payload).map_err(|e| corrupt(format!("undecodable record: {e}")))?;
    let node = String::from_utf8(fields.remove("n").unwrap_or_default()).unwrap_or_default();
    let id = std::str::from_utf8(&fields.remove("i").unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Entry {
        seq,
        record,
        node,
        id,
        bytes,
    })
}

/// Takes or renews a lease for `holder`; true if it holds it now.
pub async fn lease(
    redis: &Redis,
    scripts: &Scripts,
    key: &str,
    holder: &str,
    millis: u64,
) -> Result<bool, CallError> {
    let millis = millis.to_string();
    let held: i64 = redis
        .script(
            &scripts.lease,
            &[key],
            &[holder.as_bytes(), millis.as_bytes()],
        )
        .await?;
    Ok(held == 1)
}

/// Points readers at a new snapshot unless a newer one is there; returns the pointer it
/// replaced (to delete that snapshot's chunks) or `None` if the new one lost.
pub async fn publish_snapshot(
    redis: &Redis,
    keys: &Keys,
    scripts: &Scripts,
    seq: u64,
    chunks: u64,
) -> Result<Option<String>, CallError> {
    let pointer = format!("{seq} {chunks}");
    let seq_text = seq.to_string();
    let previous: String = redis
        .script(
            &scripts.publish,
            &[&keys.snapshot],
            &[pointer.as_bytes(), seq_text.as_bytes()],
        )
        .await?;
    match parse_pointer(&previous) {
        Some((kept, _)) if kept >= seq => Ok(None),
        _ => Ok(Some(previous)),
    }
}

/// `(seq, chunks)` from a snapshot pointer.
pub fn parse_pointer(text: &str) -> Option<(u64, u64)> {
    let (seq, chunks) = text.split_once(' ')?;
    Some((seq.parse().ok()?, chunks.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn chunk_keys_name_their_snapshot_and_the_pattern_escapes_the_prefix() {
        let keys = Keys::new("shop*1");
        let chunk = keys.chunk(42, 3);
        assert_eq!(keys.chunk_seq(&chunk), Some(42));
        assert_eq!(
            keys.chunk_seq(&keys.snapshot),
            None,
            "the pointer is no chunk"
        );
        assert_eq!(keys.chunk_seq("{other}:snapshot:42:3"), None);
        assert_eq!(keys.chunk_pattern(), "{shop\\*1}:snapshot:*");
    }
}
