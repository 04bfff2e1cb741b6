//! Snapshots in Redis: the state at a log position, in chunks, so that the log can be trimmed
//! and a new node starts from the snapshot instead of from the beginning of history.
//!
//! Snapshots are fuzzy, as in the embedded store (see `engine`): entities may already hold
//! records from after the snapshot's position, and replay skips what they hold. So the log is
//! trimmed only up to the previous snapshot, which leaves a node that is a little behind room to
//! catch up; an erasure trims up to the new one, so no old record keeps the erased data.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use redis::Cmd;

use super::Node;
use super::conn::BULK_TIMEOUT;
use super::log;
use crate::engine::image::{self, Entry};
use crate::store::StoreError;
use crate::store::codec;
use crate::store::frame::{self, Next};

/// Bytes per chunk: well under Redis's limit for one value, small enough to move quickly.
const CHUNK: usize = 1 << 20;

impl Node {
    /// Loads the newest snapshot, if there is one, before the first catch-up.
    pub(super) async fn load_snapshot(self: Arc<Self>) -> Result<(), StoreError> {
        let mut get = Cmd::new();
        get.arg("GET").arg(&self.keys.snapshot);
        let pointer: Option<String> = self.redis.query(&get).await?;
        let Some((seq, chunks)) = pointer.as_deref().and_then(log::parse_pointer) else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let mut loaded = 0u64;
        for index in 0..chunks {
            let key = self.keys.chunk(seq, index);
            let mut get = Cmd::new();
            get.arg("GET").arg(&key);
            let bytes: Option<Vec<u8>> = self.redis.query_within(&get, BULK_TIMEOUT).await?;
            let bytes = bytes.ok_or_else(|| corrupt(&key, "missing".into()))?;
            let node = Arc::clone(&self);
            loaded += tokio::task::spawn_blocking(move || node.load_chunk(&key, &bytes))
                .await
                .map_err(|e| StoreError::Unavailable(format!("snapshot loader stopped: {e}")))??;
        }
        let node = Arc::clone(&self);
        tokio::task::spawn_blocking(move || node.state.rebuild_indexes())
            .await
            .map_err(|e| StoreError::Unavailable(format!("snapshot loader stopped: {e}")))?;
        self.applied.store(seq, Ordering::Release);
        self.snapshot_seq.store(seq, Ordering::Relaxed);
        tracing::info!(
            seq,
            entries = loaded,
            ms = started.elapsed().as_millis() as u64,
            "snapshot loaded from redis"
        );
        Ok(())
    }

    fn load_chunk(&self, key: &str, bytes: &[u8]) -> Result<u64, StoreError> {
        let mut reader = frame::Reader::new(bytes, 0);
        let mut count = 0;
        loop {
            let offset = reader.good_offset;
            match reader
                .next_frame()
                .map_err(|e| StoreError::io(key.to_string(), e))?
            {
                Next::Frame { payload, .. } => {
                    let entry: Entry = codec::decode_entry(&payload)
                        .map_err(|e| corrupt(key, format!("at byte {offset}: {e}")))?;
                    let events = self.state.load(entry);
                    self.events.fetch_add(events, Ordering::Relaxed);
                    count += 1;
                }
                Next::End => return Ok(count),
                Next::Torn(why) => return Err(corrupt(key, format!("at byte {offset}: {why}"))),
            }
        }
    }

    /// Writes a snapshot of this node's state and trims the log behind it: behind the previous
    /// snapshot normally, behind this one when `trim_to_it` (erasure).
    pub(super) async fn write_snapshot(
        self: Arc<Self>,
        trim_to_it: bool,
    ) -> Result<(), StoreError> {
        while self.snapshot_running.swap(true, Ordering::AcqRel) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let result = Arc::clone(&self).snapshot_now(trim_to_it).await;
        self.snapshot_running.store(false, Ordering::Release);
        result
    }

    async fn snapshot_now(self: Arc<Self>, trim_to_it: bool) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let seq = self.applied();
        let node = Arc::clone(&self);
        let chunks = tokio::task::spawn_blocking(move || encode(image::entries(&node.state)))
            .await
            .map_err(|e| StoreError::Unavailable(format!("snapshot writer stopped: {e}")))??;
        let encoded_ms = started.elapsed().as_millis() as u64;
        for (index, chunk) in chunks.iter().enumerate() {
            let mut set = Cmd::new();
            set.arg("SET")
                .arg(self.keys.chunk(seq, index as u64))
                .arg(chunk.as_slice());
            self.redis.query_within::<()>(&set, BULK_TIMEOUT).await?;
        }
        let written_ms = started.elapsed().as_millis() as u64;
        let previous = log::publish_snapshot(
            &self.redis,
            &self.keys,
            &self.scripts,
            seq,
            chunks.len() as u64,
        )
        .await?;
        let Some(previous) = previous else {
            self.delete_chunks(seq, chunks.len() as u64).await; // a newer one is in place
            return Ok(());
        };
        let previous = log::parse_pointer(&previous);
        if let Some((old_seq, old_chunks)) = previous {
            self.delete_chunks(old_seq, old_chunks).await;
        }
        let trim_below = if trim_to_it {
            seq + 1
        } else {
            previous.map_or(0, |(old_seq, _)| old_seq + 1)
        };
        if trim_below > 0 {
            let mut trim = Cmd::new();
            trim.arg("XTRIM")
                .arg(&self.keys.log)
                .arg("MINID")
                .arg(format!("0-{trim_below}"));
            self.redis.query_within::<u64>(&trim, BULK_TIMEOUT).await?;
        }
        self.snapshot_seq.store(seq, Ordering::Relaxed);
        tracing::info!(
            seq,
            chunks = chunks.len(),
            encoded_ms,
            written_ms,
            ms = started.elapsed().as_millis() as u64,
            "snapshot written to redis"
        );
        Ok(())
    }

    async fn delete_chunks(&self, seq: u64, chunks: u64) {
        for index in 0..chunks {
            let mut del = Cmd::new();
            del.arg("DEL").arg(self.keys.chunk(seq, index));
            if let Err(e) = self.redis.query::<u64>(&del).await {
                tracing::warn!(error = %e, seq, index, "an old snapshot chunk was left in redis");
            }
        }
    }
}

/// Entries as checksummed frames, cut into chunks.
fn encode(entries: impl Iterator<Item = Entry>) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut chunks = vec![Vec::with_capacity(CHUNK)];
    for entry in entries {
        let payload = codec::encode_entry(&entry)?;
        let current = chunks.last_mut().filter(|c| c.len() < CHUNK);
        match current {
            Some(chunk) => frame::encode(chunk, 0, &payload),
            None => {
                let mut chunk = Vec::with_capacity(CHUNK + payload.len());
                frame::encode(&mut chunk, 0, &payload);
                chunks.push(chunk);
            }
        }
    }
    Ok(chunks)
}

fn corrupt(key: &str, reason: String) -> StoreError {
    StoreError::Corrupt {
        path: format!("redis key {key}"),
        offset: 0,
        reason,
    }
}

impl Node {
    /// After an erasure: Redis's append-only file holds the trimmed records until it is
    /// rewritten. Waits for the rewrite, so the erasure is done when the call returns.
    pub(super) async fn rewrite_append_only_file(&self) {
        let mut config = Cmd::new();
        config.arg("CONFIG").arg("GET").arg("appendonly");
        let enabled = self
            .redis
            .query::<std::collections::HashMap<String, String>>(&config)
            .await
            .is_ok_and(|c| c.get("appendonly").is_some_and(|v| v == "yes"));
        if !enabled {
            return;
        }
        let mut rewrite = Cmd::new();
        rewrite.arg("BGREWRITEAOF");
        if let Err(e) = self.redis.query::<String>(&rewrite).await {
            tracing::warn!(error = %e, "could not rewrite redis's append-only file after an erasure");
            return;
        }
        for _ in 0..300 {
            let mut info = Cmd::new();
            info.arg("INFO").arg("persistence");
            let Ok(text) = self.redis.query::<String>(&info).await else {
                return;
            };
            let busy = text.lines().any(|line| {
                line == "aof_rewrite_in_progress:1" || line == "aof_rewrite_scheduled:1"
            });
            if !busy {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tracing::warn!("redis's append-only file rewrite did not finish within 30 s");
    }
}
