//! Reading a request body within a size and a time. Headers have `server.header_timeout`; a body
//! has its own bound, or a client that sends its headers and then one byte a minute holds a
//! connection slot until `server.max_connections` are all taken and real visitors wait in the
//! kernel's backlog. Two bounds: the whole body within `body_timeout`, and, after a second's
//! grace, at least `body_min_rate` bytes per second on average, so a client that stalls is cut
//! off long before the total runs out.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::StatusCode;
use tokio::time::Instant;

use super::error::ApiError;

/// Time a body may take before the average rate counts: the first packet after the headers may
/// be late on a slow mobile link.
const GRACE: Duration = Duration::from_secs(1);

/// The time bounds of reading one body.
#[derive(Clone, Copy, Debug)]
pub struct BodyTiming {
    /// The longest a whole body may take.
    pub timeout: Duration,
    /// Bytes per second a body must average after the grace second; 0 turns the check off.
    pub min_rate: u64,
}

impl Default for BodyTiming {
    fn default() -> Self {
        BodyTiming {
            timeout: Duration::from_secs(10),
            min_rate: 1024,
        }
    }
}

impl BodyTiming {
    /// When the next bytes must have arrived, `received` bytes into a body started at `start`:
    /// past it, the average rate since the grace second is below `min_rate`.
    fn deadline(&self, start: Instant, received: usize) -> Instant {
        let total = start + self.timeout;
        if self.min_rate == 0 {
            return total;
        }
        let earned = Duration::from_secs_f64(received as f64 / self.min_rate as f64);
        (start + GRACE + earned).min(total)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// More than the limit.
    TooLarge,
    /// Not complete within `timeout`, or slower than `min_rate`.
    TooSlow,
    /// The connection failed while the body was being read.
    Unreadable(String),
}

/// Reads a whole body of at most `limit` bytes within `timing`.
pub async fn read<B>(body: B, limit: usize, timing: BodyTiming) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut bytes = BytesMut::new();
    frames(body, limit, timing, |data| bytes.extend_from_slice(&data)).await?;
    Ok(bytes.freeze())
}

/// Reads and discards a body (one that is refused anyway) within the same bounds, so a client
/// still sending gets its answer instead of a reset connection.
pub async fn drain<B>(body: B, limit: usize, timing: BodyTiming)
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let _ = frames(body, limit, timing, drop).await;
}

/// Hands each data frame to `keep` until the body ends, it passes `limit`, or time runs out.
async fn frames<B>(
    mut body: B,
    limit: usize,
    timing: BodyTiming,
    mut keep: impl FnMut(Bytes),
) -> Result<(), BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let start = Instant::now();
    let mut received = 0usize;
    loop {
        let deadline = timing.deadline(start, received);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => return Ok(()),
            Ok(Some(Err(e))) => return Err(BodyError::Unreadable(e.to_string())),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            received += data.len();
            if received > limit {
                return Err(BodyError::TooLarge);
            }
            keep(data);
        }
    }
}

/// The answer to a body that came too slowly (`response::error` closes the connection after it).
pub fn too_slow(timing: BodyTiming) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "the body must arrive within {:?}, at {} bytes per second or more",
            timing.timeout, timing.min_rate
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_grows_with_what_arrived_up_to_the_total() {
        let timing = BodyTiming {
            timeout: Duration::from_secs(10),
            min_rate: 1000,
        };
        let start = Instant::now();
        assert_eq!(timing.deadline(start, 0), start + GRACE);
        assert_eq!(
            timing.deadline(start, 2000),
            start + GRACE + Duration::from_secs(2)
        );
        assert_eq!(
            timing.deadline(start, 1_000_000),
            start + timing.timeout,
            "never past the total"
        );
        let no_rate = BodyTiming {
            min_rate: 0,
            ..timing
        };
        assert_eq!(no_rate.deadline(start, 0), start + timing.timeout);
    }
}
