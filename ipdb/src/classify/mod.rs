//! Network-kind classifier for answers that carry only an AS organisation.
//!
//! ASN data names the operator of a network, not the person behind an address. Reporting a
//! home broadband visitor as their carrier, or a crawler as its cloud, would fill the hot
//! account list with carriers and clouds, so every ASN-only answer is classified first.
//!
//! The classifier is deliberately plain: a short list of well-known ASNs, then keyword rules
//! over the normalised organisation name, tried in a fixed order (hosting before ISP because
//! "Sakura Internet" is a cloud; education before government because state universities are
//! schools first). Anything that matches no rule is a business. Its measured precision and
//! recall are in the README; `mikomi-ipdb classify-eval` recomputes them.

pub mod eval;
pub mod profile;
mod rules;
pub mod sample;

use crate::NetworkKind;

/// Classifies an autonomous system by its number and organisation name.
pub fn classify(asn: Option<u32>, org: &str) -> NetworkKind {
    if let Some(kind) = asn.and_then(rules::by_asn) {
        return kind;
    }
    let norm = normalise(org);
    if norm.trim().is_empty() {
        return NetworkKind::Unknown;
    }
    for (kind, patterns) in rules::KEYWORDS {
        if patterns.iter().any(|p| norm.contains(p)) {
            return *kind;
        }
    }
    for (kind, suffixes, prefixes) in rules::AFFIXES {
        let hit = norm
            .split(' ')
            .filter(|w| w.len() >= rules::MIN_AFFIX_WORD)
            .any(|w| {
                suffixes.iter().any(|s| w.ends_with(s)) || prefixes.iter().any(|p| w.starts_with(p))
            });
        if hit {
            return *kind;
        }
    }
    NetworkKind::Business
}

/// Lower-cases, folds punctuation to spaces and pads with spaces, so that a pattern written
/// as `" host "` matches the whole word only.
fn normalise(org: &str) -> String {
    let mut out = String::with_capacity(org.len() + 2);
    out.push(' ');
    let mut last_space = true;
    for c in org.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            last_space = false;
        } else if c == '&' {
            out.push('&');
            last_space = false;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_makes_words_matchable() {
        assert_eq!(normalise("Host-Europe GmbH."), " host europe gmbh ");
        assert_eq!(normalise("AT&T Services"), " at&t services ");
        assert_eq!(normalise(""), " ");
    }

    #[test]
    fn rules_apply_in_order() {
        let cases = [
            (None, "Sakura Internet Inc.", NetworkKind::Hosting),
            (None, "Example Hosting Ltd", NetworkKind::Hosting),
            (None, "Acme Mobile Communications", NetworkKind::Mobile),
            (
                None,
                "State University of Somewhere",
                NetworkKind::Education,
            ),
            (None, "Ministry of Examples", NetworkKind::Government),
            (None, "Example Telecom Ltd", NetworkKind::Isp),
            (
                None,
                "Example Manufacturing Co., Ltd.",
                NetworkKind::Business,
            ),
            (Some(16509), "Anything At All", NetworkKind::Hosting),
            (Some(9605), "Anything At All", NetworkKind::Mobile),
            (Some(4713), "Anything At All", NetworkKind::Isp),
            (None, "  ", NetworkKind::Unknown),
            (None, "Magicnet LLC", NetworkKind::Isp),
            (None, "Netvision SA", NetworkKind::Isp),
            (None, "Sprinthost LLC", NetworkKind::Hosting),
        ];
        for (asn, org, want) in cases {
            assert_eq!(classify(asn, org), want, "{org}");
        }
    }

    #[test]
    fn word_patterns_do_not_match_inside_words() {
        // " host " must not fire on "Hostmaster" style substrings of unrelated words.
        assert_eq!(
            classify(None, "Ghostly Manufacturing"),
            NetworkKind::Business
        );
    }
}
