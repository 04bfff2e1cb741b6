//! Token buckets per client address and per site. A flood from one address, or against one
//! site, is refused early with the time to wait, before it costs parsing or storage.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateConfig;

pub struct RateLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_site: DefaultKeyedRateLimiter<Arc<str>>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(per_ip: RateConfig, per_site: RateConfig) -> Self {
        RateLimits {
            per_ip: RateLimiter::keyed(quota(per_ip)),
            per_site: RateLimiter::keyed(quota(per_site)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when the address has used up its bucket.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check(&self.per_ip, &ip)
    }

    pub fn check_site(&self, site: &Arc<str>) -> Result<(), Duration> {
        self.check(&self.per_site, site)
    }

    fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), Duration> {
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets buckets that are full again, so the per-address table does not grow forever.
    pub fn sweep(&self) {
        self.per_ip.retain_recent();
        self.per_ip.shrink_to_fit();
        self.per_site.retain_recent();
    }

    /// Addresses with a partly used bucket.
    pub fn tracked_addresses(&self) -> usize {
        self.per_ip.len()
    }
}

fn quota(rate: RateConfig) -> Quota {
    // Validation guarantees both are at least 1.
    let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(per_second).allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limits = RateLimits::new(
            RateConfig {
                per_second: 1,
                burst: 3,
            },
            RateConfig {
                per_second: 100,
                burst: 100,
            },
        );
        let ip: IpAddr = "198.51.100.7".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(limits.check_ip(ip), Ok(()));
        }
        let wait = limits.check_ip(ip).expect_err("bucket empty");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        let other: IpAddr = "198.51.100.8".parse().expect("ip");
        assert_eq!(limits.check_ip(other), Ok(()), "buckets are per address");
        assert_eq!(limits.tracked_addresses(), 2);
    }

    #[test]
    fn sites_have_their_own_buckets() {
        let limits = RateLimits::new(
            RateConfig {
                per_second: 100,
                burst: 100,
            },
            RateConfig {
                per_second: 1,
                burst: 1,
            },
        );
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        assert_eq!(limits.check_site(&a), Ok(()));
        assert!(limits.check_site(&a).is_err());
        assert_eq!(limits.check_site(&b), Ok(()));
    }
}
