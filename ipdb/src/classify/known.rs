//! The reviewed list of networks whose kind is known (`known.csv`, compiled in).
//!
//! The networks that carry most traffic are a finite, well-known set: every AS announcing at
//! least [`LISTED_WEIGHT`] of address space in the repository's ASN data is listed, with Japan's
//! networks, the big clouds and CDNs, and a reviewed band below the weight (see `known.csv`). A
//! name cannot tell "Sky UK Limited" or "TE-AS" from a company; the list can. An AS whose
//! operator the review could not establish is listed as `unidentified`, so that the next review
//! sees only new ASes.

use std::sync::OnceLock;

use crate::NetworkKind;
use crate::classify::profile::AsTable;

/// The list's source, one `asn,kind,name` line per network.
pub const KNOWN_CSV: &str = include_str!("known.csv");

/// Address space (IPv4 addresses plus IPv6 /40s) from which every AS is reviewed: listed with
/// its kind, or listed as `unidentified` when its operator could not be established.
pub const LISTED_WEIGHT: u64 = 50_000;

/// One reviewed AS: its kind, or `None` when the review could not establish it (the AS then
/// falls through to the other rules, which treat an AS this large as no single company).
pub type Entry = (u32, Option<NetworkKind>);

/// Parses list text: `#` comments, one header line, then `asn,kind,name`, where `kind` may also
/// be `unidentified`. Sorted by AS number.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut header = true;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if std::mem::take(&mut header) {
            continue;
        }
        let mut fields = line.splitn(3, ',');
        let (Some(asn), Some(kind)) = (fields.next(), fields.next()) else {
            return Err(format!("line {}: expected asn,kind,name", i + 1));
        };
        let asn: u32 = asn
            .trim()
            .parse()
            .map_err(|_| format!("line {}: bad asn {asn:?}", i + 1))?;
        let kind = match kind.trim() {
            "unidentified" => None,
            other => Some(
                NetworkKind::parse(other)
                    .filter(|k| *k != NetworkKind::Unknown)
                    .ok_or_else(|| format!("line {}: bad kind {kind:?}", i + 1))?,
            ),
        };
        out.push((asn, kind));
    }
    out.sort_unstable_by_key(|(a, _)| *a);
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("AS{} is listed twice", w[0].0));
    }
    Ok(out)
}

fn list() -> &'static [Entry] {
    static LIST: OnceLock<Vec<Entry>> = OnceLock::new();
    // The compiled-in list is checked by a test; a broken edit yields an empty list, not a panic.
    LIST.get_or_init(|| parse(KNOWN_CSV).unwrap_or_default())
}

fn entry(asn: u32) -> Option<&'static Entry> {
    let list = list();
    list.binary_search_by_key(&asn, |(a, _)| *a)
        .ok()
        .map(|i| &list[i])
}

/// The listed kind of `asn` (`None` when it is not listed or listed as unidentified).
pub fn kind_of(asn: u32) -> Option<NetworkKind> {
    entry(asn).and_then(|(_, kind)| *kind)
}

/// Whether `asn` was reviewed: listed with a kind or as unidentified.
pub fn is_reviewed(asn: u32) -> bool {
    entry(asn).is_some()
}

/// Every AS in `table` announcing at least `min_weight` (IPv4 addresses plus IPv6 /40s) that the
/// list does not hold (with a kind or as unidentified), as `(asn, weight, name)`, heaviest first
/// (ties by AS number): the candidates to review when the list is extended (`mikomi-ipdb
/// unlisted`).
pub fn unlisted(table: &AsTable, min_weight: u64) -> Vec<(u32, u64, String)> {
    let mut out: Vec<(u32, u64, String)> = table
        .asns()
        .into_iter()
        .filter(|asn| !is_reviewed(*asn))
        .filter_map(|asn| {
            let weight = table.profile(asn)?.weight();
            let name = table.name(asn).unwrap_or("").to_owned();
            (weight >= min_weight).then_some((asn, weight, name))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::Range;

    #[test]
    fn unlisted_finds_the_heavy_ases_not_on_the_list() {
        let mut t = AsTable::default();
        let v4 = |end| Range {
            v6: false,
            start: 0,
            end,
        };
        t.add(64500, "Small", &v4(255));
        t.add(64501, "Heavy", &v4(1_999));
        t.add(64502, "Heavier", &v4(2_999));
        t.add(64502, "Heavier", &v4(0));
        // AS174 is listed: never a candidate, however heavy.
        t.add(174, "Cogent Communications", &v4(9_999));
        // AS808 is listed as unidentified: reviewed, so not a candidate either.
        t.add(808, "GONET", &v4(9_999));
        assert_eq!(
            unlisted(&t, 2_000),
            [
                (64502, 3_001, "Heavier".to_owned()),
                (64501, 2_000, "Heavy".to_owned())
            ]
        );
        assert!(unlisted(&t, 1 << 20).is_empty());
    }

    #[test]
    fn the_compiled_list_parses() {
        let list = parse(KNOWN_CSV);
        assert!(list.is_ok(), "{list:?}");
        assert!(list.map(|l| l.len()).unwrap_or(0) > 1_000);
    }

    #[test]
    fn every_large_as_is_reviewed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/asn");
        let v4 = dir.join("asn-ipv4.csv.gz");
        let v6 = dir.join("asn-ipv6.csv.gz");
        let table = AsTable::read(&[v4.as_path(), v6.as_path()]);
        let Ok(table) = table else {
            panic!("{table:?}")
        };
        let missing: Vec<u32> = unlisted(&table, LISTED_WEIGHT)
            .into_iter()
            .map(|(asn, _, _)| asn)
            .collect();
        assert_eq!(missing, [] as [u32; 0], "AS numbers to review");
        // The unidentified stay exceptions: a few percent of the ASes this large.
        let large: Vec<u32> = table
            .asns()
            .into_iter()
            .filter(|a| {
                table
                    .profile(*a)
                    .is_some_and(|p| p.weight() >= LISTED_WEIGHT)
            })
            .collect();
        let unidentified = large.iter().filter(|a| kind_of(**a).is_none()).count();
        assert!(
            large.len() > 1_900,
            "{} ASes at or above the weight",
            large.len()
        );
        assert!(
            unidentified * 20 < large.len(),
            "{unidentified} of {} unidentified",
            large.len()
        );
    }

    #[test]
    fn bad_lines_are_refused() {
        assert_eq!(
            parse("asn,kind,name\n1,isp,A\nx,isp,B\n"),
            Err("line 3: bad asn \"x\"".into())
        );
        assert_eq!(
            parse("asn,kind,name\n1,carrier,A\n"),
            Err("line 2: bad kind \"carrier\"".into())
        );
        assert_eq!(
            parse("asn,kind,name\n1,unknown,A\n"),
            Err("line 2: bad kind \"unknown\"".into())
        );
        assert_eq!(
            parse("asn,kind,name\n1,isp,A\n1,isp,A\n"),
            Err("AS1 is listed twice".into())
        );
    }
}
