//! How many new people one browser, and one client address, may create in a day. A form with an
//! unknown address creates a person; without a bound one script mints thousands of fake people
//! (and webhook events, and CRM records). Past the bound the conversion is still stored, but its
//! address is dropped, so it identifies nobody. Counted in memory per node, like the rate
//! limits, and bounded: when the table is full, keys it does not hold create nobody until the
//! next day.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::visitor_id::VisitorId;

const DAY_MS: i64 = 86_400_000;

/// Browsers and addresses counted at once; past it, new ones are refused until the day ends.
const MAX_KEYS: usize = 200_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Visitor(Arc<str>, VisitorId),
    Address(Arc<str>, IpAddr),
}

#[derive(Default)]
struct Counts {
    day: i64,
    counts: HashMap<Key, u32>,
}

pub struct NewPeopleCap {
    per_visitor: u32,
    per_address: u32,
    counts: Mutex<Counts>,
}

impl NewPeopleCap {
    pub fn new(per_visitor: u32, per_address: u32) -> NewPeopleCap {
        NewPeopleCap {
            per_visitor,
            per_address,
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Whether `visitor` on `address` may create one more person on `site` today; counts it if
    /// so.
    pub fn admit(&self, site: &Arc<str>, visitor: VisitorId, address: IpAddr, now_ms: i64) -> bool {
        let Ok(mut counts) = self.counts.lock() else {
            return false;
        };
        let day = now_ms.div_euclid(DAY_MS);
        if counts.day != day {
            counts.day = day;
            counts.counts.clear();
        }
        let keys = [
            (Key::Visitor(Arc::clone(site), visitor), self.per_visitor),
            (Key::Address(Arc::clone(site), address), self.per_address),
        ];
        let room = counts.counts.len() + keys.len() <= MAX_KEYS;
        let admitted = keys.iter().all(|(key, cap)| match counts.counts.get(key) {
            Some(n) => n < cap,
            None => room && *cap > 0,
        });
        if admitted {
            for (key, _) in keys {
                *counts.counts.entry(key).or_insert(0) += 1;
            }
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_browser_and_each_address_creates_a_few_people_a_day() {
        let cap = NewPeopleCap::new(2, 3);
        let site: Arc<str> = Arc::from("demo");
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        let (a, b) = (VisitorId([1; 16]), VisitorId([2; 16]));
        assert!(cap.admit(&site, a, ip, 0));
        assert!(cap.admit(&site, a, ip, 1));
        assert!(!cap.admit(&site, a, ip, 2), "the browser's two");
        assert!(cap.admit(&site, b, ip, 3));
        assert!(!cap.admit(&site, b, ip, 4), "the address's three");
        let other: Arc<str> = Arc::from("other");
        assert!(cap.admit(&other, a, ip, 5), "counted per site");
        assert!(cap.admit(&site, a, ip, DAY_MS), "a new day");
    }
}
