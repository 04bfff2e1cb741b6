//! Network-kind classifier for answers that carry only an AS organisation.
//!
//! ASN data names the operator of a network, not the person behind an address. Reporting a
//! home broadband visitor as their carrier, or a crawler as its cloud, would fill the hot
//! account list with carriers and clouds, so every ASN-only answer is classified first.
//!
//! An organisation is a `business` only when something says so; everything else is `unknown`,
//! because a wrong company name costs sales more than no name. The layers, first match wins:
//!
//! 1. the operator's overrides file ([`Overrides`]), by AS number (CIDR overrides are applied
//!    by the builder to the addresses themselves);
//! 2. the reviewed list of known networks ([`known`]): every AS above a size, Japan's networks,
//!    the big clouds and CDNs;
//! 3. words that name a non-business kind (hosting, mobile, education, government, ISP; a few
//!    phrases such as "credit union" or "national laboratory" decide first);
//! 4. an industry carriers are not in ("bank", "hospital", "software"): a business;
//! 5. word affixes of coined operator names ("Magicnet", "Sprinthost"), low confidence;
//! 6. weak evidence — a legal form on an AS whose announcements are company-sized
//!    ([`profile`]) — is reported but leaves the kind `unknown` unless
//!    [`Classifier::with_weak_business`] asks otherwise;
//! 7. otherwise `unknown`.
//!
//! Every answer carries a [`Confidence`] and the [`Evidence`] that decided it;
//! `mikomi-ipdb classify` prints both and `mikomi-ipdb classify-eval` measures the result.

pub mod eval;
pub mod known;
mod overrides;
pub mod profile;
mod rules;
pub mod sample;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use overrides::{Override, Overrides};
pub use profile::AsProfile;

use crate::NetworkKind;

/// How far a network kind can be trusted.
#[derive(
    Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A guess from weak evidence, or no evidence (also: a database built before confidence
    /// was recorded).
    #[default]
    Low,
    /// An operator's override, the reviewed list, or a word that names the kind.
    High,
}

impl Confidence {
    /// The lowercase name stored in databases.
    pub fn as_str(&self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::High => "high",
        }
    }

    /// Parses the stored name; anything else is `None`.
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "low" => Some(Confidence::Low),
            "high" => Some(Confidence::High),
            _ => None,
        }
    }
}

/// What decided a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Evidence {
    /// A line of the operator's overrides file.
    Override {
        /// Its line number.
        line: u64,
    },
    /// The reviewed list of known networks.
    Known,
    /// The organisation has no name.
    NoName,
    /// A word naming the kind.
    Keyword(&'static str),
    /// A word beginning or ending like an operator's coined name.
    Affix {
        /// The word of the name.
        word: String,
        /// The beginning or ending it has.
        affix: &'static str,
    },
    /// An industry carriers are not in.
    Industry(&'static str),
    /// A legal form carriers rarely use, on company-sized announcements.
    LegalForm(&'static str),
    /// A business signal, overruled by announcements no single company makes, or by a word of
    /// the trade that sells networks.
    CarrierSized {
        /// The signal that was overruled.
        signal: &'static str,
        /// What overruled it.
        by: Overruled,
    },
    /// A legal form any organisation uses, on announcements the size of one company's
    /// network.
    EndSite(&'static str),
    /// Nothing says what it is.
    NoEvidence,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Override { line } => write!(f, "overrides file, line {line}"),
            Evidence::Known => write!(f, "listed in the reviewed list of known networks"),
            Evidence::NoName => write!(f, "the AS has no organisation name"),
            Evidence::Keyword(p) => write!(f, "the name contains {:?}", p.trim()),
            Evidence::Affix { word, affix } => {
                write!(f, "the word {word:?} begins or ends with {affix:?}")
            }
            Evidence::Industry(p) => {
                write!(f, "the name names an industry or company: {:?}", p.trim())
            }
            Evidence::LegalForm(p) => write!(
                f,
                "weak evidence: legal form {:?} on company-sized announcements",
                p.trim()
            ),
            Evidence::CarrierSized { signal, by } => {
                write!(f, "business signal {:?} overruled: ", signal.trim())?;
                match by {
                    Overruled::Unlisted => write!(
                        f,
                        "the AS announces {} addresses or more, as carriers do, and the \
                         reviewed list of known networks does not name its kind",
                        known::LISTED_WEIGHT
                    ),
                    Overruled::Announcements => write!(
                        f,
                        "the AS announces more than one company's network (IPv6 beyond a /29, \
                         {COMPANY_RANGES} ranges or more, or a /14 of IPv4 or more)"
                    ),
                    Overruled::TradeWord(w) => write!(
                        f,
                        "the name also contains {:?}, as IT and network operators' names do",
                        w.trim()
                    ),
                }
            }
            Evidence::EndSite(p) => write!(
                f,
                "weak evidence: legal form {:?} on an end site's announcements (IPv6 at most a /40, IPv4 at \
                 most a /14, at most {END_SITE_RANGES} ranges)",
                p.trim()
            ),
            Evidence::NoEvidence => write!(f, "nothing in the name or the list says what it is"),
        }
    }
}

/// What overruled a business signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overruled {
    /// An AS large enough to be reviewed, that the review could not name.
    Unlisted,
    /// Announcements larger than one company's network.
    Announcements,
    /// A word of the trades that sell networks ("solutions", "systems", "data").
    TradeWord(&'static str),
}

/// A network kind, how far to trust it, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The kind.
    pub kind: NetworkKind,
    /// How far to trust it.
    pub confidence: Confidence,
    /// What decided it.
    pub evidence: Evidence,
}

impl Verdict {
    fn new(kind: NetworkKind, confidence: Confidence, evidence: Evidence) -> Verdict {
        Verdict {
            kind,
            confidence,
            evidence,
        }
    }
}

/// IPv6 space (in /40 units) above which an AS holds more than the smallest registry
/// allocation: a /29 is what every European registry member gets, companies included; more is
/// a carrier's or host's.
pub const LIR_IPV6_40S: u64 = 2048;
/// Ranges from which an AS looks like a carrier or host rather than one company's network.
pub const COMPANY_RANGES: u32 = 10;
/// Address space (IPv4 addresses plus IPv6 /40s) from which the same holds: a /14.
pub const COMPANY_WEIGHT: u64 = 1 << 18;

/// True when nothing in the announcements argues against a single company's network.
fn company_sized(p: &AsProfile) -> bool {
    p.ipv6_40s <= LIR_IPV6_40S && p.ranges < COMPANY_RANGES && p.weight() < COMPANY_WEIGHT
}

/// Classifies by number and name without overrides or announcements: the kind only.
pub fn classify(asn: Option<u32>, org: &str) -> NetworkKind {
    verdict(asn, org, None).kind
}

/// Classifies by number, name and (when known) announcements, without overrides.
pub fn verdict(asn: Option<u32>, org: &str, profile: Option<&AsProfile>) -> Verdict {
    Classifier::default().verdict(asn, org, profile)
}

/// The classifier with an operator's overrides as its first layer.
#[derive(Debug, Default)]
pub struct Classifier {
    overrides: Overrides,
    /// Whether weak evidence (a legal form on company-sized announcements) makes a business
    /// (trusted low) instead of leaving the kind unknown.
    weak_business: bool,
}

impl Classifier {
    /// A classifier whose first layer is `overrides`.
    pub fn new(overrides: Overrides) -> Classifier {
        Classifier {
            overrides,
            weak_business: false,
        }
    }

    /// Also calls organisations with only weak evidence businesses, with low confidence:
    /// about twice the companies named, about half of the extra ones wrong (see the README).
    /// Off by default: an unknown costs sales less than a carrier shown as a prospect.
    pub fn with_weak_business(mut self, yes: bool) -> Classifier {
        self.weak_business = yes;
        self
    }

    /// The overrides in use.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// Classifies an AS; see the module documentation for the order of the layers.
    pub fn verdict(&self, asn: Option<u32>, org: &str, profile: Option<&AsProfile>) -> Verdict {
        use Confidence::{High, Low};
        if let Some(o) = asn.and_then(|a| self.overrides.for_asn(a)) {
            return Verdict::new(o.kind, High, Evidence::Override { line: o.line });
        }
        if let Some(kind) = asn.and_then(known::kind_of) {
            return Verdict::new(kind, High, Evidence::Known);
        }
        let norm = normalise(org);
        if norm.trim().is_empty() {
            return Verdict::new(NetworkKind::Unknown, Low, Evidence::NoName);
        }
        for (kind, p) in rules::FIRST {
            if norm.contains(p) {
                let evidence = if *kind == NetworkKind::Business {
                    Evidence::Industry(p)
                } else {
                    Evidence::Keyword(p)
                };
                return Verdict::new(*kind, High, evidence);
            }
        }
        for (kind, patterns) in rules::KEYWORDS {
            if let Some(p) = patterns.iter().find(|p| norm.contains(*p)) {
                return Verdict::new(*kind, High, Evidence::Keyword(p));
            }
        }
        let weak = if self.weak_business {
            NetworkKind::Business
        } else {
            NetworkKind::Unknown
        };
        let technical = rules::TECHNICAL.iter().find(|p| norm.contains(*p)).copied();
        let oversized = match technical {
            Some(word) => Some(Overruled::TradeWord(word)),
            None if !profile.is_none_or(company_sized) => Some(Overruled::Announcements),
            None => None,
        };
        let large = profile.is_some_and(|p| p.weight() >= known::LISTED_WEIGHT);
        if let Some(p) = rules::INDUSTRY.iter().find(|p| norm.contains(*p)) {
            return if large {
                Verdict::new(
                    NetworkKind::Unknown,
                    Low,
                    Evidence::CarrierSized {
                        signal: p,
                        by: Overruled::Unlisted,
                    },
                )
            } else {
                Verdict::new(NetworkKind::Business, High, Evidence::Industry(p))
            };
        }
        // Coined operator names ("Magicnet") after industries ("Hotel" ends in "tel").
        if let Some(v) = affix_verdict(&norm) {
            return v;
        }
        if let Some(p) = rules::LEGAL_FORMS.iter().find(|p| norm.contains(*p)) {
            return match oversized {
                None => Verdict::new(weak, Low, Evidence::LegalForm(p)),
                Some(by) => Verdict::new(
                    NetworkKind::Unknown,
                    Low,
                    Evidence::CarrierSized { signal: p, by },
                ),
            };
        }
        let carrier_form = rules::CARRIER_FORMS.iter().any(|p| norm.contains(*p))
            || rules::CARRIER_PREFIXES.iter().any(|p| norm.starts_with(*p));
        let end_site = profile.is_some_and(end_site) && !carrier_form && technical.is_none();
        if let Some(p) = rules::GENERIC_FORMS
            .iter()
            .find(|p| end_site && norm.contains(*p))
        {
            return Verdict::new(weak, Low, Evidence::EndSite(p));
        }
        Verdict::new(NetworkKind::Unknown, Low, Evidence::NoEvidence)
    }
}

/// Announcements the size of one company's own network: no registry-member IPv6 allocation
/// (at most a /40), at most a /14 of IPv4, a handful of ranges.
fn end_site(p: &AsProfile) -> bool {
    p.ipv6_40s <= END_SITE_IPV6_40S && p.ipv4 <= END_SITE_IPV4 && p.ranges <= END_SITE_RANGES
}

/// IPv6 space of an end site, in /40 units (1 = anything up to a /40).
pub const END_SITE_IPV6_40S: u64 = 1;
/// IPv4 addresses of an end site (a /14: companies that took class B networks before 1994).
pub const END_SITE_IPV4: u64 = 1 << 18;
/// Ranges of an end site.
pub const END_SITE_RANGES: u32 = 8;

fn affix_verdict(norm: &str) -> Option<Verdict> {
    for (kind, suffixes, prefixes) in rules::AFFIXES {
        for w in norm.split(' ').filter(|w| w.len() >= rules::MIN_AFFIX_WORD) {
            let hit = suffixes
                .iter()
                .find(|s| w.ends_with(*s))
                .or_else(|| prefixes.iter().find(|p| w.starts_with(*p)));
            if let Some(affix) = hit {
                return Some(Verdict::new(
                    *kind,
                    Confidence::Low,
                    Evidence::Affix {
                        word: w.to_owned(),
                        affix,
                    },
                ));
            }
        }
    }
    None
}

/// Lower-cases, folds common Latin accents, folds punctuation to spaces and pads with spaces,
/// so that a pattern written as `" host "` matches the whole word only.
fn normalise(org: &str) -> String {
    let mut out = String::with_capacity(org.len() + 2);
    out.push(' ');
    let mut last_space = true;
    for c in org.chars() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                out.push(fold_accent(l));
            }
            last_space = false;
        } else if c == '&' {
            if !last_space {
                out.push(' ');
            }
            out.push_str("& ");
            last_space = true;
        } else if !last_space {
            out.push(' ');
            last_space = true;
        }
    }
    if !last_space {
        out.push(' ');
    }
    out
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ı' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        'ş' => 's',
        'ğ' => 'g',
        _ => c,
    }
}

#[cfg(test)]
mod tests;
