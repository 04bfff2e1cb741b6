//! Sticky experiment assignment: a visitor's arm for a rule is a pure function of the visitor
//! id and the rule id, so it survives restarts, replays and several edge nodes without being
//! stored anywhere until the visitor is first eligible.

use crate::visitor_id::VisitorId;

use super::model::Rule;

/// The arm a visitor is in for one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arm {
    Holdout,
    /// Index into the rule's variants.
    Variant(usize),
}

/// A uniform number in [0, 1) from the visitor and rule: FNV-1a over both, then the
/// SplitMix64 finaliser to spread the bits. Fixed forever: changing it would move visitors
/// between arms mid-experiment.
pub fn bucket(visitor: &VisitorId, rule: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in visitor.0.iter().chain([0u8].iter()).chain(rule.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// The holdout takes the bottom `holdout` share; the rest is split by variant weight.
pub fn choose(rule: &Rule, visitor: &VisitorId) -> Arm {
    let u = bucket(visitor, &rule.id);
    if u < rule.holdout {
        return Arm::Holdout;
    }
    let scaled = (u - rule.holdout) / (1.0 - rule.holdout) * rule.total_weight as f64;
    let mut acc = 0.0;
    for (i, variant) in rule.variants.iter().enumerate() {
        acc += f64::from(variant.weight);
        if scaled < acc {
            return Arm::Variant(i);
        }
    }
    Arm::Variant(rule.variants.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_stable_and_spread() {
        let v = VisitorId([3; 16]);
        assert_eq!(bucket(&v, "r"), bucket(&v, "r"));
        assert_ne!(bucket(&v, "r"), bucket(&v, "s"));
        let mut low = 0;
        for i in 0..10_000u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_le_bytes());
            let b = bucket(&VisitorId(id), "brochure-repeat");
            assert!((0.0..1.0).contains(&b));
            if b < 0.2 {
                low += 1;
            }
        }
        assert!((1800..2200).contains(&low), "{low} of 10000 below 0.2");
    }
}
