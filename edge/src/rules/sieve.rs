//! Which rules' conditions hold for a page view, worked out for all rules at once.
//!
//! The rules of one set repeat their conditions: half of a site's rules say
//! `anonymous = true`, a quarter target the same company size, several count the same key
//! page. The sieve keeps each distinct top-level condition once, with the rules that require
//! it, and a decision evaluates them cheapest first: a condition that fails strikes out every
//! rule requiring it, and a condition that no standing rule requires is never evaluated. What
//! stands at the end is every rule whose conditions all hold, highest priority first. Compared
//! with testing rule after rule, a hundred rules cost a few dozen condition evaluations
//! instead of a couple of hundred.

use std::collections::HashMap;
use std::sync::Arc;

use smallvec::SmallVec;

use super::condition::Condition;
use super::facts::Facts;
use super::model::Rule;

/// A set of rules as bits, bit `i` for the rule at index `i` of the rule set (priority
/// order). Up to 256 rules sit inline, so a decision allocates nothing for it.
type RuleBits = SmallVec<[u64; 4]>;

#[derive(Debug)]
pub struct Sieve {
    /// The distinct top-level conditions of every rule, cheapest first.
    conditions: Vec<Condition>,
    /// Per condition, `words` words: the rules that require it.
    required_by: Vec<u64>,
    /// Words per rule set; at least one, so an empty set still has a shape.
    words: usize,
    /// The enabled rules that apply to every site.
    every_site: Vec<u64>,
    /// Per site some rule names, the enabled rules that apply to it (every-site ones included).
    sites: Vec<(Arc<str>, Vec<u64>)>,
}

impl Sieve {
    /// `rules` in priority order, as the rule set holds them.
    pub fn new(rules: &[Rule]) -> Sieve {
        let words = rules.len().div_ceil(64).max(1);
        let mut ids: HashMap<&Condition, usize> = HashMap::new();
        let mut distinct: Vec<(&Condition, Vec<u64>)> = Vec::new();
        for (at, rule) in rules.iter().enumerate() {
            for condition in &rule.when {
                let id = *ids.entry(condition).or_insert_with(|| {
                    distinct.push((condition, vec![0; words]));
                    distinct.len() - 1
                });
                if let Some((_, bits)) = distinct.get_mut(id) {
                    set(bits, at);
                }
            }
        }
        // Stable: among equally cheap conditions, those of higher-priority rules come first.
        distinct.sort_by_key(|(condition, _)| condition.cost());
        let mut every_site = vec![0; words];
        let mut sites: Vec<(Arc<str>, Vec<u64>)> = Vec::new();
        for (at, rule) in rules.iter().enumerate().filter(|(_, r)| r.enabled) {
            if rule.sites.is_empty() {
                set(&mut every_site, at);
            }
            for site in &rule.sites {
                let entry = match sites.iter().position(|(s, _)| s == site) {
                    Some(i) => i,
                    None => {
                        sites.push((Arc::clone(site), vec![0; words]));
                        sites.len() - 1
                    }
                };
                if let Some((_, bits)) = sites.get_mut(entry) {
                    set(bits, at);
                }
            }
        }
        for (_, bits) in &mut sites {
            for (word, every) in bits.iter_mut().zip(&every_site) {
                *word |= every;
            }
        }
        Sieve {
            conditions: distinct.iter().map(|(c, _)| (*c).clone()).collect(),
            required_by: distinct.into_iter().flat_map(|(_, bits)| bits).collect(),
            words,
            every_site,
            sites,
        }
    }

    /// How many distinct conditions the rules write.
    pub fn distinct(&self) -> usize {
        self.conditions.len()
    }

    /// The enabled rules that apply to `site`.
    fn applying(&self, site: &str) -> &[u64] {
        self.sites
            .iter()
            .find(|(s, _)| &**s == site)
            .map_or(&self.every_site, |(_, bits)| bits)
    }

    pub fn has_rules_for(&self, site: &str) -> bool {
        self.applying(site).iter().any(|&word| word != 0)
    }

    /// The indices of the enabled rules for `site` whose conditions all hold, highest
    /// priority first.
    pub fn eligible(&self, site: &str, facts: &Facts<'_>) -> Standing {
        let mut bits: RuleBits = SmallVec::from_slice(self.applying(site));
        match bits.len() {
            1 => self.strike::<1>(&mut bits, facts),
            2 => self.strike::<2>(&mut bits, facts),
            _ => self.strike::<0>(&mut bits, facts),
        }
        Standing { bits, word: 0 }
    }

    /// Strikes out of `standing` the rules with a condition that fails. `N` is the number of
    /// words when it is 1 or 2 (up to 128 rules, most sets): the word loops then unroll into
    /// straight code; 0 means any number.
    #[inline(always)]
    fn strike<const N: usize>(&self, standing: &mut [u64], facts: &Facts<'_>) {
        let words = if N == 0 { self.words } else { N };
        let Some(standing) = standing.get_mut(..words) else {
            return;
        };
        let required = self.required_by.chunks_exact(words);
        for (condition, required) in self.conditions.iter().zip(required) {
            let needed = standing.iter().zip(required).any(|(s, r)| s & r != 0);
            if needed && !condition.holds(facts) {
                for (s, r) in standing.iter_mut().zip(required) {
                    *s &= !r;
                }
                if standing.iter().all(|&word| word == 0) {
                    return;
                }
            }
        }
    }
}

fn set(bits: &mut [u64], at: usize) {
    if let Some(word) = bits.get_mut(at / 64) {
        *word |= 1 << (at % 64);
    }
}

/// The rules left standing by `Sieve::eligible`, as indices in increasing order.
pub struct Standing {
    bits: RuleBits,
    word: usize,
}

impl Iterator for Standing {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            let word = self.bits.get_mut(self.word)?;
            if *word != 0 {
                let bit = word.trailing_zeros() as usize;
                *word &= *word - 1;
                return Some(self.word * 64 + bit);
            }
            self.word += 1;
        }
    }
}
