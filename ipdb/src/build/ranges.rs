//! Inclusive address ranges and their minimal CIDR cover.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An inclusive range of one address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    /// False for IPv4 (ordered first), true for IPv6.
    pub v6: bool,
    /// First address as an integer.
    pub start: u128,
    /// Last address as an integer.
    pub end: u128,
}

impl Range {
    /// The range from `start` to `end`, both inclusive; errors say what is wrong.
    pub fn new(start: IpAddr, end: IpAddr) -> Result<Range, String> {
        let (v6, s, e) = match (start, end) {
            (IpAddr::V4(s), IpAddr::V4(e)) => {
                (false, u128::from(u32::from(s)), u128::from(u32::from(e)))
            }
            (IpAddr::V6(s), IpAddr::V6(e)) => (true, u128::from(s), u128::from(e)),
            _ => {
                return Err(format!(
                    "start {start} and end {end} are of different families"
                ));
            }
        };
        if s > e {
            return Err(format!("reversed range: start {start} is after end {end}"));
        }
        Ok(Range {
            v6,
            start: s,
            end: e,
        })
    }

    /// The range a CIDR network covers.
    pub fn of_net(net: &IpNet) -> Range {
        match net {
            IpNet::V4(n) => Range {
                v6: false,
                start: u128::from(u32::from(n.network())),
                end: u128::from(u32::from(n.broadcast())),
            },
            IpNet::V6(n) => Range {
                v6: true,
                start: u128::from(n.network()),
                end: u128::from(n.broadcast()),
            },
        }
    }

    /// The fewest CIDR networks whose union is exactly this range.
    pub fn to_cidrs(&self) -> Vec<IpNet> {
        let width: u32 = if self.v6 { 128 } else { 32 };
        let mut out = Vec::new();
        let mut start = self.start;
        loop {
            // Largest block aligned at `start` ...
            let align = if start == 0 {
                width
            } else {
                start.trailing_zeros().min(width)
            };
            // ... that does not run past `end`.
            let remaining = self.end - start; // count - 1
            let fit = if remaining == u128::MAX {
                128
            } else {
                127 - (remaining + 1).leading_zeros()
            };
            let bits = align.min(fit).min(width);
            let prefix = (width - bits) as u8;
            out.push(self.net(start, prefix));
            let size_minus_one = if bits == 128 {
                u128::MAX
            } else {
                (1u128 << bits) - 1
            };
            match start.checked_add(size_minus_one) {
                Some(last) if last < self.end => start = last + 1,
                _ => break,
            }
        }
        out
    }

    fn net(&self, start: u128, prefix: u8) -> IpNet {
        if self.v6 {
            IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from(start), prefix))
        } else {
            IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(start as u32), prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidrs(a: &str, b: &str) -> Vec<String> {
        let (Ok(a), Ok(b)) = (a.parse(), b.parse()) else {
            return vec!["unparsable".into()];
        };
        match Range::new(a, b) {
            Ok(r) => r.to_cidrs().iter().map(|n| n.to_string()).collect(),
            Err(e) => vec![e],
        }
    }

    #[test]
    fn covers_exactly_with_fewest_networks() {
        assert_eq!(cidrs("1.0.0.0", "1.0.0.255"), ["1.0.0.0/24"]);
        assert_eq!(cidrs("1.0.4.0", "1.0.7.255"), ["1.0.4.0/22"]);
        assert_eq!(
            cidrs("1.0.128.0", "1.0.196.255"),
            ["1.0.128.0/18", "1.0.192.0/22", "1.0.196.0/24"]
        );
        assert_eq!(cidrs("10.0.0.1", "10.0.0.1"), ["10.0.0.1/32"]);
        assert_eq!(
            cidrs("10.0.0.1", "10.0.0.6"),
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        assert_eq!(cidrs("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(
            cidrs("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["::/0"]
        );
        assert_eq!(
            cidrs("2001::", "2001::ffff:ffff:ffff:ffff:ffff:ffff"),
            ["2001::/32"]
        );
    }

    #[test]
    fn rejects_reversed_and_mixed_ranges() {
        assert_eq!(
            cidrs("10.0.0.9", "10.0.0.1"),
            ["reversed range: start 10.0.0.9 is after end 10.0.0.1"]
        );
        assert_eq!(
            cidrs("10.0.0.1", "::1"),
            ["start 10.0.0.1 and end ::1 are of different families"]
        );
    }

    /// Random ranges: the cover is contiguous, exact and made of aligned blocks.
    #[test]
    fn cover_is_exact_on_random_ranges() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let a = next() as u32;
            let b = a.saturating_add((next() % 100_000) as u32);
            let r = Range {
                v6: false,
                start: a.into(),
                end: b.into(),
            };
            let nets = r.to_cidrs();
            let mut expect = r.start;
            for n in &nets {
                let nr = Range::of_net(n);
                assert_eq!(nr.start, expect, "{n} in {r:?}");
                expect = nr.end + 1;
            }
            assert_eq!(expect, r.end + 1);
            assert!(nets.len() <= 62, "{} networks for {r:?}", nets.len());
        }
    }
}
