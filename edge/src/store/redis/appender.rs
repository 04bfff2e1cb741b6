//! Group commit into the shared log: records that arrive while an append is on its way go
//! together in the next one, as one script call. Under load that turns one Redis round trip and
//! one append-only-file sync per record into one per group.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::conn::{CallError, Redis};
use super::log::{self, Keys, Scripts};

/// Records waiting for the appender at most; callers wait for room beyond that.
const QUEUE: usize = 4096;
/// Records per script call at most, and their bytes: a group stays a quick call.
const GROUP_RECORDS: usize = 128;
const GROUP_BYTES: usize = 512 * 1024;

struct Pending {
    payload: Vec<u8>,
    id: u64,
    done: oneshot::Sender<Result<u64, CallError>>,
}

#[derive(Clone)]
pub struct Appender {
    tx: mpsc::Sender<Pending>,
}

impl Appender {
    /// Starts the appender task; it ends when the last `Appender` is dropped.
    pub fn start(redis: Arc<Redis>, keys: Keys, scripts: Arc<Scripts>, node: String) -> Appender {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, redis, keys, scripts, node));
        Appender { tx }
    }

    /// Appends one encoded record; returns its position in the log.
    pub async fn append(&self, payload: Vec<u8>, id: u64) -> Result<u64, CallError> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Pending { payload, id, done })
            .await
            .map_err(|_| CallError::NotSent("the log appender stopped".into()))?;
        answer
            .await
            .map_err(|_| CallError::Unknown("the log appender stopped".into()))?
    }
}

async fn run(
    mut rx: mpsc::Receiver<Pending>,
    redis: Arc<Redis>,
    keys: Keys,
    scripts: Arc<Scripts>,
    node: String,
) {
    while let Some(first) = rx.recv().await {
        let mut bytes = first.payload.len();
        let mut group = vec![first];
        while group.len() < GROUP_RECORDS && bytes < GROUP_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += next.payload.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let records: Vec<(Vec<u8>, u64)> = group
            .iter_mut()
            .map(|p| (std::mem::take(&mut p.payload), p.id))
            .collect();
        let appended = log::append_many(&redis, &keys, &scripts, &records, &node).await;
        for (offset, pending) in (0u64..).zip(group) {
            let _ = pending
                .done
                .send(appended.clone().map(|first| first + offset));
        }
    }
}
