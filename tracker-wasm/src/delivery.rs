//! What to do with the edge's answer, and how long to wait before trying again.

/// What the tag does after a collect request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (200): read the answer, forget the batch.
    Accepted,
    /// Ignored (204, e.g. a bot): forget the batch.
    Ignored,
    /// The edge does not trust the stored visitor id: drop it and send once more without.
    ResetVisitor,
    /// The edge could not take what the batch holds (an event it refuses, too many events,
    /// too large a body): send it again in halves, so that only what it cannot take is lost.
    Split,
    /// Refused for good (other 4xx): forget the batch; sending it again cannot help.
    Drop,
    /// Overload, server or network failure: keep the batch and try again later.
    Retry,
}

/// Classifies a response; `status` 0 stands for a network error. `code` is the edge's JSON
/// error code, when the body carried one.
pub fn classify(status: u16, code: Option<&str>) -> Outcome {
    match status {
        200 => Outcome::Accepted,
        204 => Outcome::Ignored,
        429 => Outcome::Retry,
        400..=499 if code == Some("invalid_visitor_id") => Outcome::ResetVisitor,
        413 => Outcome::Split,
        400 if matches!(
            code,
            Some("invalid_event" | "event_count" | "malformed_json" | "body_too_large")
        ) =>
        {
            Outcome::Split
        }
        400..=499 => Outcome::Drop,
        // Other 2xx carry nothing the tag needs.
        201..=299 => Outcome::Ignored,
        _ => Outcome::Retry,
    }
}

/// First retry delay, in milliseconds.
pub const BASE_DELAY_MS: u32 = 1_000;
/// Longest retry delay.
pub const MAX_DELAY_MS: u32 = 60_000;

/// Delay before retry number `attempt` (1 for the first retry): exponential, capped, and
/// spread by `jitter` (in `[0, 1)`) over its upper half so that many pages recovering from
/// one outage do not retry in step.
pub fn backoff_ms(attempt: u32, jitter: f64) -> u32 {
    let exp = attempt.saturating_sub(1).min(16);
    let full = BASE_DELAY_MS.saturating_mul(1 << exp).min(MAX_DELAY_MS);
    let half = full / 2;
    half + (f64::from(half) * jitter.clamp(0.0, 1.0)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(classify(200, None), Outcome::Accepted);
        assert_eq!(classify(204, None), Outcome::Ignored);
        assert_eq!(
            classify(400, Some("invalid_visitor_id")),
            Outcome::ResetVisitor
        );
        assert_eq!(classify(400, Some("invalid_event")), Outcome::Split);
        assert_eq!(classify(400, Some("event_count")), Outcome::Split);
        assert_eq!(classify(413, None), Outcome::Split);
        assert_eq!(classify(400, Some("unknown_site")), Outcome::Drop);
        assert_eq!(classify(403, None), Outcome::Drop);
        assert_eq!(classify(429, None), Outcome::Retry);
        assert_eq!(classify(500, None), Outcome::Retry);
        assert_eq!(classify(503, None), Outcome::Retry);
        assert_eq!(classify(0, None), Outcome::Retry);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(1, 0.0), 500);
        assert_eq!(backoff_ms(1, 0.999_999), 999);
        assert_eq!(backoff_ms(2, 0.0), 1_000);
        assert_eq!(backoff_ms(3, 0.0), 2_000);
        assert_eq!(backoff_ms(7, 0.0), 30_000);
        assert_eq!(backoff_ms(8, 0.0), 30_000);
        assert_eq!(backoff_ms(1_000, 0.5), 45_000);
        for attempt in 1..40 {
            let d = backoff_ms(attempt, 0.999);
            assert!(d <= MAX_DELAY_MS && d >= backoff_ms(attempt, 0.0));
        }
    }
}
