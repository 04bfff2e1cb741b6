//! What the ASN data says about each autonomous system besides its name: how much address
//! space it announces, in how many ranges, in which families.
//!
//! Address space is the best proxy the data carries for how much traffic a network sends:
//! carriers and clouds announce far more than any one company. IPv6 is counted in /40 units
//! so that one smallest regular allocation of each family weighs the same: a /24 of IPv4
//! (256 addresses, the smallest prefix routed) equals a /32 of IPv6 (256 × /40, the smallest
//! LIR allocation). Raw IPv6 address counts would let any /32 outweigh every IPv4 network.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use crate::Error;
use crate::build::Range;

/// One autonomous system's announcements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsProfile {
    /// IPv4 addresses announced.
    pub ipv4: u64,
    /// IPv6 space announced, in /40 units (saturating).
    pub ipv6_40s: u64,
    /// Ranges (rows of the source data), both families.
    pub ranges: u32,
}

impl AsProfile {
    /// Address space with IPv6 folded in: one IPv6 /40 counts as one IPv4 address.
    pub fn weight(&self) -> u64 {
        self.ipv4.saturating_add(self.ipv6_40s)
    }

    /// Adds one announced range.
    pub fn add(&mut self, range: &Range) {
        let size = range.end - range.start + 1;
        if range.v6 {
            // Ranges narrower than a /40 still count as one unit: they are announced.
            let units = (size >> 88).max(1);
            self.ipv6_40s = self
                .ipv6_40s
                .saturating_add(u64::try_from(units).unwrap_or(u64::MAX));
        } else {
            self.ipv4 = self
                .ipv4
                .saturating_add(u64::try_from(size).unwrap_or(u64::MAX));
        }
        self.ranges = self.ranges.saturating_add(1);
    }
}

/// Every AS in a set of ASN CSV files: its profile and its organisation name (the name on
/// most of its ranges when the files disagree).
#[derive(Debug, Default)]
pub struct AsTable {
    /// Per AS: its profile and each name with the number of ranges under it (almost always
    /// one name, so a list beats a map).
    entries: HashMap<u32, (AsProfile, Vec<(String, u32)>)>,
}

impl AsTable {
    /// Reads ip-location-db ASN CSV files (plain or `.gz`).
    pub fn read(inputs: &[&Path]) -> Result<AsTable, Error> {
        let mut table = AsTable::default();
        for path in inputs {
            table.read_one(path)?;
        }
        Ok(table)
    }

    fn read_one(&mut self, path: &Path) -> Result<(), Error> {
        let input = crate::build::open_source(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::StringRecord::new();
        loop {
            let more = reader.read_record(&mut record).map_err(|e| {
                Error::row(path, e.position().map_or(0, |p| p.line()), e.to_string())
            })?;
            if !more {
                return Ok(());
            }
            let line = record.position().map_or(0, |p| p.line());
            let (range, asn, org) = parse_row(&record).map_err(|m| Error::row(path, line, m))?;
            self.add(asn, org, &range);
        }
    }

    /// Adds one range of `asn` announced under `org`.
    pub fn add(&mut self, asn: u32, org: &str, range: &Range) {
        let (profile, names) = self.entries.entry(asn).or_default();
        profile.add(range);
        match names.iter_mut().find(|(n, _)| n == org) {
            Some((_, count)) => *count += 1,
            None => names.push((org.to_owned(), 1)),
        }
    }

    /// The profile of `asn`, if it announces anything.
    pub fn profile(&self, asn: u32) -> Option<AsProfile> {
        self.entries.get(&asn).map(|(p, _)| *p)
    }

    /// The organisation name of `asn`: the one on most ranges, ties to the smallest string.
    pub fn name(&self, asn: u32) -> Option<&str> {
        let (_, names) = self.entries.get(&asn)?;
        names
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
            .map(|(n, _)| n.as_str())
    }

    /// Every AS number, ascending.
    pub fn asns(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.entries.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Number of ASes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no AS was read.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Parses `start,end,asn[,organisation]`; the error says what is wrong.
pub(crate) fn parse_row(record: &csv::StringRecord) -> Result<(Range, u32, &str), String> {
    let (Some(start), Some(end), Some(asn)) = (record.get(0), record.get(1), record.get(2)) else {
        return Err(format!(
            "expected start,end,asn,organisation; got {} fields",
            record.len()
        ));
    };
    let s: IpAddr = start
        .trim()
        .parse()
        .map_err(|_| format!("bad start address {start:?}"))?;
    let e: IpAddr = end
        .trim()
        .parse()
        .map_err(|_| format!("bad end address {end:?}"))?;
    let range = Range::new(s, e)?;
    let asn: u32 = asn.trim().parse().map_err(|_| format!("bad asn {asn:?}"))?;
    Ok((range, asn, record.get(3).map_or("", str::trim)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_in_slash_40s() {
        let mut p = AsProfile::default();
        let r = |a: &str, b: &str| {
            Range::new(
                a.parse().unwrap_or(IpAddr::from([0u8; 16])),
                b.parse().unwrap_or(IpAddr::from([0u8; 16])),
            )
        };
        if let Ok(v4) = r("192.0.2.0", "192.0.2.255") {
            p.add(&v4);
        }
        if let Ok(v6) = r("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") {
            p.add(&v6);
        }
        if let Ok(small) = r("2001:db9::", "2001:db9::ffff") {
            p.add(&small);
        }
        assert_eq!(
            p,
            AsProfile {
                ipv4: 256,
                ipv6_40s: 257,
                ranges: 3
            }
        );
        assert_eq!(p.weight(), 513);
    }

    #[test]
    fn the_name_on_most_ranges_wins() {
        let mut t = AsTable::default();
        let range = Range {
            v6: false,
            start: 0,
            end: 255,
        };
        t.add(1, "B", &range);
        t.add(1, "A", &range);
        t.add(1, "B", &range);
        assert_eq!(t.name(1), Some("B"));
        assert_eq!(t.profile(1).map(|p| p.ranges), Some(3));
        assert_eq!(t.name(2), None);
    }
}
