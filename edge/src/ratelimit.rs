//! Token buckets per client network and per site. A flood from one address, or against one
//! site, is refused early with the time to wait, before it costs parsing or storage.
//!
//! A client's bucket is its network, not its exact address: an IPv6 host is handed a whole /64
//! and can rotate through it at will, so by default every IPv6 address of one /64 shares one
//! bucket (and an IPv4 address is its own). Both prefix lengths are configurable.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use ipnet::IpNet;

use crate::config::{LimitsConfig, RateConfig};

pub struct RateLimits {
    per_ip: DefaultKeyedRateLimiter<IpNet>,
    per_site: DefaultKeyedRateLimiter<Arc<str>>,
    clock: DefaultClock,
    ipv4_prefix: u8,
    ipv6_prefix: u8,
}

impl RateLimits {
    pub fn new(limits: &LimitsConfig) -> Self {
        RateLimits {
            per_ip: RateLimiter::keyed(quota(limits.per_ip)),
            per_site: RateLimiter::keyed(quota(limits.per_site)),
            clock: DefaultClock::default(),
            ipv4_prefix: limits.ipv4_prefix,
            ipv6_prefix: limits.ipv6_prefix,
        }
    }

    /// `Err(wait)` when the address's network has used up its bucket.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check(&self.per_ip, &self.network(ip))
    }

    /// The network whose bucket the address draws from.
    fn network(&self, ip: IpAddr) -> IpNet {
        let prefix = match ip {
            IpAddr::V4(_) => self.ipv4_prefix,
            IpAddr::V6(_) => self.ipv6_prefix,
        };
        // Validation keeps the prefixes within each family's length.
        IpNet::new(ip, prefix)
            .map(|net| net.trunc())
            .unwrap_or_else(|_| IpNet::from(ip))
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

    /// Client networks with a partly used bucket.
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

    fn limits(per_ip: (u32, u32), per_site: (u32, u32)) -> RateLimits {
        RateLimits::new(&LimitsConfig {
            per_ip: RateConfig {
                per_second: per_ip.0,
                burst: per_ip.1,
            },
            per_site: RateConfig {
                per_second: per_site.0,
                burst: per_site.1,
            },
            ..LimitsConfig::default()
        })
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limits = limits((1, 3), (100, 100));
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
    fn every_address_of_one_ipv6_slash_64_shares_a_bucket() {
        let limits = limits((1, 3), (100, 100));
        for host in 1..=3 {
            let ip: IpAddr = format!("2001:db8:1:2::{host:x}").parse().expect("ip");
            assert_eq!(limits.check_ip(ip), Ok(()));
        }
        let rotated: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().expect("ip");
        assert!(
            limits.check_ip(rotated).is_err(),
            "a new address, the same /64"
        );
        let next: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(limits.check_ip(next), Ok(()), "another /64");
        assert_eq!(limits.tracked_addresses(), 2);
    }

    #[test]
    fn sites_have_their_own_buckets() {
        let limits = limits((100, 100), (1, 1));
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        assert_eq!(limits.check_site(&a), Ok(()));
        assert!(limits.check_site(&a).is_err());
        assert_eq!(limits.check_site(&b), Ok(()));
    }
}
