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
use crate::engine::image::Entry;
use crate::store::StoreError;
use crate::store::cadence::Pace;
use crate::store::codec;
use crate::store::frame::{self, Next};

/// Bytes per chunk: well under Redis's limit for one value, and small enough that storing one,
/// which every other client's commands wait behind, holds them up for a moment only.
const CHUNK: usize = 256 << 10;

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
        let mut loaded_bytes = 0u64;
        for index in 0..chunks {
            let key = self.keys.chunk(seq, index);
            let mut get = Cmd::new();
            get.arg("GET").arg(&key);
            let bytes: Option<Vec<u8>> = self.redis.query_within(&get, BULK_TIMEOUT).await?;
            let bytes = bytes.ok_or_else(|| corrupt(&key, "missing".into()))?;
            loaded_bytes += bytes.len() as u64;
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
        self.snapshot_bytes.store(loaded_bytes, Ordering::Relaxed);
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
        let log_before = self.log_bytes.load(Ordering::Relaxed);
        // An erasure's compaction has a caller waiting; a routine one shares this node's cores
        // and Redis, which stores each chunk (and syncs it) while every append waits.
        let pace = if trim_to_it {
            Pace::Full
        } else {
            Pace::Background
        };
        let node = Arc::clone(&self);
        let chunks =
            tokio::task::spawn_blocking(move || encode(codec::encoded_entries(&node.state), pace))
                .await
                .map_err(|e| StoreError::Unavailable(format!("snapshot writer stopped: {e}")))??;
        let encoded_ms = started.elapsed().as_millis() as u64;
        for (index, chunk) in chunks.iter().enumerate() {
            let mut set = Cmd::new();
            set.arg("SET")
                .arg(self.keys.chunk(seq, index as u64))
                .arg(chunk.as_slice());
            let sent = std::time::Instant::now();
            self.redis.query_within::<()>(&set, BULK_TIMEOUT).await?;
            tokio::time::sleep(pace.rest_after(sent.elapsed())).await;
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
            // A newer one is in place: ours goes (the next sweep takes what is left).
            let _ = self.delete_chunks(seq, chunks.len() as u64).await;
            return Ok(());
        };
        let previous = log::parse_pointer(&previous);
        let mut left = 0;
        if let Some((old_seq, old_chunks)) = previous {
            left += self.delete_chunks(old_seq, old_chunks).await;
        }
        // Chunks an earlier snapshot failed to delete, or one a crash left half written.
        left += self.sweep_chunks_before(seq).await;
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
        let snapshot_bytes = chunks.iter().map(|c| c.len() as u64).sum();
        self.snapshot_bytes.store(snapshot_bytes, Ordering::Relaxed);
        // What was applied while this one was written still counts toward the next.
        self.log_bytes.fetch_sub(log_before, Ordering::Relaxed);
        if left > 0 && trim_to_it {
            // An erasure is done only when no older copy of the state is left: the client's
            // retry compacts again.
            return Err(StoreError::Unavailable(format!(
                "{left} old snapshot chunks could not be deleted from redis yet"
            )));
        }
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

    /// Deletes the chunks of the snapshot at `seq`, each tried a few times; returns how many
    /// are left.
    async fn delete_chunks(&self, seq: u64, chunks: u64) -> u64 {
        let mut left = 0;
        for index in 0..chunks {
            if !self.delete_key(&self.keys.chunk(seq, index)).await {
                left += 1;
            }
        }
        left
    }

    /// Deletes every chunk of a snapshot older than `seq`; returns how many are left. Newer ones
    /// may belong to a snapshot another node is writing now.
    async fn sweep_chunks_before(&self, seq: u64) -> u64 {
        let mut cursor = 0u64;
        let mut stale = Vec::new();
        loop {
            let mut scan = Cmd::new();
            scan.arg("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.chunk_pattern())
                .arg("COUNT")
                .arg(1000);
            match self.redis.query::<(u64, Vec<String>)>(&scan).await {
                Ok((next, keys)) => {
                    stale.extend(
                        keys.into_iter()
                            .filter(|k| self.keys.chunk_seq(k).is_some_and(|s| s < seq)),
                    );
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not look for old snapshot chunks in redis");
                    return 1;
                }
            }
        }
        let mut left = 0;
        for key in &stale {
            if !self.delete_key(key).await {
                left += 1;
            }
        }
        left
    }

    /// One key deleted, with a few tries a short while apart.
    async fn delete_key(&self, key: &str) -> bool {
        let mut wait = std::time::Duration::from_millis(50);
        for attempt in 1..=DELETE_TRIES {
            let mut del = Cmd::new();
            // UNLINK frees the megabyte in Redis's background thread; DEL would free it on the
            // thread that serves every node's appends.
            del.arg("UNLINK").arg(key);
            match self.redis.query::<u64>(&del).await {
                Ok(_) => return true,
                Err(e) if attempt == DELETE_TRIES => {
                    tracing::warn!(error = %e, key, "an old snapshot chunk is left in redis until the next snapshot");
                }
                Err(_) => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        false
    }
}

/// How often one old chunk's deletion is tried before the next snapshot tries again.
const DELETE_TRIES: u32 = 4;

/// Entries as checksummed frames, cut into chunks; at `Pace::Background`, resting after each
/// chunk as long as it took to encode (this runs on a blocking thread).
fn encode(
    payloads: impl Iterator<Item = Result<Vec<u8>, StoreError>>,
    pace: Pace,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut chunks = vec![Vec::with_capacity(CHUNK)];
    let mut chunk_started = std::time::Instant::now();
    for payload in payloads {
        let payload = payload?;
        let current = chunks.last_mut().filter(|c| c.len() < CHUNK);
        match current {
            Some(chunk) => frame::encode(chunk, 0, &payload),
            None => {
                std::thread::sleep(pace.rest_after(chunk_started.elapsed()));
                chunk_started = std::time::Instant::now();
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
