//! Seeded, reproducible samples of AS organisations for labelling.
//!
//! Two halves: one uniform over organisations (every AS equally likely, which is what the
//! registry looks like) and one weighted by announced address space (what visitor traffic
//! looks like: most visits come from a few large carriers and clouds). The weighted half is
//! drawn without replacement by Efraimidis–Spirakis keys (`ln(u) / w`, largest first) and
//! never repeats an AS of the uniform half. The generator is SplitMix64, written out here so
//! that a seed means the same sample on every machine and every version of every dependency.

use std::collections::HashSet;

use super::profile::{AsProfile, AsTable};

/// Which half a sampled row belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Half {
    /// Uniform over organisations.
    Uniform,
    /// Weighted by announced address space.
    Weighted,
}

impl Half {
    /// The name written in sample files.
    pub fn as_str(&self) -> &'static str {
        match self {
            Half::Uniform => "uniform",
            Half::Weighted => "weighted",
        }
    }

    /// Parses the name written in sample files.
    pub fn parse(s: &str) -> Option<Half> {
        match s.trim() {
            "uniform" => Some(Half::Uniform),
            "weighted" => Some(Half::Weighted),
            _ => None,
        }
    }
}

/// One sampled AS.
#[derive(Clone, Debug, PartialEq)]
pub struct Sampled {
    /// The half it was drawn for.
    pub half: Half,
    /// AS number.
    pub asn: u32,
    /// Organisation name.
    pub org: String,
    /// Its announcements.
    pub profile: AsProfile,
}

/// SplitMix64, a small well-known seeded generator: the same seed draws the same sample.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0), by rejection so that no value is favoured.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// Draws `uniform` ASes uniformly, then `weighted` more by address space, skipping every AS
/// in `exclude` (an earlier sample) and ASes without a name. Same table and seed, same rows.
pub fn draw(
    table: &AsTable,
    seed: u64,
    uniform: usize,
    weighted: usize,
    exclude: &HashSet<u32>,
) -> Vec<Sampled> {
    let mut rng = SplitMix64(seed);
    let mut pool: Vec<u32> = table
        .asns()
        .into_iter()
        .filter(|a| !exclude.contains(a) && table.name(*a).is_some_and(|n| !n.is_empty()))
        .collect();
    let row = |half, asn: u32| Sampled {
        half,
        asn,
        org: table.name(asn).unwrap_or("").to_owned(),
        profile: table.profile(asn).unwrap_or_default(),
    };
    // Partial Fisher–Yates: the first `uniform` places are a uniform sample.
    let take = uniform.min(pool.len());
    for i in 0..take {
        let j = i + rng.below((pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    let mut out: Vec<Sampled> = pool[..take]
        .iter()
        .map(|a| row(Half::Uniform, *a))
        .collect();
    let rest = &pool[take..];
    let mut keyed: Vec<(f64, u32)> = rest
        .iter()
        .map(|a| {
            let w = table.profile(*a).map_or(0, |p| p.weight()).max(1) as f64;
            (rng.unit().ln() / w, *a)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out.extend(
        keyed
            .iter()
            .take(weighted)
            .map(|(_, a)| row(Half::Weighted, *a)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::Range;

    fn table() -> AsTable {
        let mut t = AsTable::default();
        for asn in 1..=200u32 {
            let size = if asn <= 5 { 1u128 << 24 } else { 255 };
            let range = Range {
                v6: false,
                start: u128::from(asn) << 24,
                end: (u128::from(asn) << 24) + size - 1,
            };
            t.add(asn, &format!("AS {asn}"), &range);
        }
        t
    }

    #[test]
    fn same_seed_same_sample_and_halves_disjoint() {
        let t = table();
        let a = draw(&t, 7, 20, 10, &HashSet::new());
        let b = draw(&t, 7, 20, 10, &HashSet::new());
        assert_eq!(a, b);
        assert_ne!(a, draw(&t, 8, 20, 10, &HashSet::new()));
        let asns: HashSet<u32> = a.iter().map(|s| s.asn).collect();
        assert_eq!(asns.len(), 30);
    }

    #[test]
    fn the_weighted_half_favours_large_networks() {
        let t = table();
        let exclude: HashSet<u32> = [3].into();
        let s = draw(&t, 1, 0, 5, &exclude);
        // Four big networks left, each 65,793 times the weight of a small one.
        let big = s.iter().filter(|r| r.asn <= 5).count();
        assert_eq!(big, 4);
        assert!(s.iter().all(|r| r.asn != 3 && r.half == Half::Weighted));
    }
}
