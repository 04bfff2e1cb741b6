//! The operator's corrections: AS numbers or networks with the kind (and optionally the
//! company) they really are. The first layer of every ASN build.
//!
//! CSV, UTF-8, `#` starts a comment line, an optional header `network,kind,name,domain`:
//!
//! ```text
//! network,kind,name,domain
//! AS64500,business,Example Manufacturing Co.,example.com
//! 64501,isp
//! 198.51.100.0/24,business,Example Trading K.K.,example.co.jp
//! 2001:db8:1::/48,hosting
//! ```
//!
//! `network` is an AS number (`AS64500` or `64500`) or a CIDR network; `kind` one of
//! `business`, `isp`, `mobile`, `hosting`, `education`, `government`, `unknown`. Networks must
//! not overlap one another. Every fault is reported as `FILE:LINE: message`.

use std::collections::HashMap;
use std::path::Path;

use ipnet::IpNet;

use crate::{Error, NetworkKind};

/// One correction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The kind the network really is.
    pub kind: NetworkKind,
    /// The company to report, if given.
    pub name: Option<String>,
    /// Its web domain, if given.
    pub domain: Option<String>,
    /// The line of the overrides file it came from.
    pub line: u64,
}

/// Every correction of an overrides file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    by_asn: HashMap<u32, Override>,
    /// Sorted by network, never overlapping.
    networks: Vec<(IpNet, Override)>,
}

impl Overrides {
    /// Reads an overrides file.
    pub fn read(path: &Path) -> Result<Overrides, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Overrides::parse(&text, path)
    }

    /// Parses overrides text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Overrides, Error> {
        let mut out = Overrides::default();
        let mut seen_data = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i as u64 + 1;
            let bad = |m: String| Error::row(origin, line, m);
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(trimmed.as_bytes());
            let record = match reader.records().next() {
                Some(Ok(r)) => r,
                Some(Err(e)) => return Err(bad(e.to_string())),
                None => continue,
            };
            let field = |n: usize| record.get(n).map(str::trim).filter(|s| !s.is_empty());
            if !seen_data && field(0).is_some_and(|f| f.eq_ignore_ascii_case("network")) {
                seen_data = true;
                continue;
            }
            seen_data = true;
            if record.len() > 4 {
                return Err(bad(format!(
                    "expected network,kind[,name[,domain]]; got {} fields",
                    record.len()
                )));
            }
            let (Some(target), Some(kind)) = (field(0), field(1)) else {
                return Err(bad("expected network,kind[,name[,domain]]".into()));
            };
            let kind = NetworkKind::parse(kind).ok_or_else(|| {
                bad(format!(
                    "unknown kind {kind:?}: expected business, isp, mobile, hosting, \
                     education, government or unknown"
                ))
            })?;
            let entry = Override {
                kind,
                name: field(2).map(str::to_owned),
                domain: field(3).map(str::to_owned),
                line,
            };
            let digits = target
                .strip_prefix("AS")
                .or_else(|| target.strip_prefix("as"))
                .unwrap_or(target);
            if let Ok(asn) = digits.parse::<u32>() {
                if let Some(first) = out.by_asn.get(&asn) {
                    return Err(bad(format!(
                        "AS{asn} already overridden on line {}",
                        first.line
                    )));
                }
                out.by_asn.insert(asn, entry);
            } else if let Ok(net) = target.parse::<IpNet>() {
                if net.trunc() != net {
                    return Err(bad(format!(
                        "{target} has host bits set; the network is {}",
                        net.trunc()
                    )));
                }
                out.networks.push((net, entry));
            } else {
                return Err(bad(format!(
                    "{target:?} is neither an AS number (AS64500) nor a CIDR network"
                )));
            }
        }
        out.networks.sort_by_key(|(n, _)| *n);
        for pair in out.networks.windows(2) {
            let ((a, ea), (b, eb)) = (&pair[0], &pair[1]);
            if a.contains(&b.network()) || b.contains(&a.network()) {
                let (first, later) = if ea.line < eb.line {
                    (ea, eb)
                } else {
                    (eb, ea)
                };
                let (fnet, lnet) = if ea.line < eb.line { (a, b) } else { (b, a) };
                return Err(Error::row(
                    origin,
                    later.line,
                    format!("{lnet} overlaps {fnet} on line {}", first.line),
                ));
            }
        }
        Ok(out)
    }

    /// The correction for an AS number.
    pub fn for_asn(&self, asn: u32) -> Option<&Override> {
        self.by_asn.get(&asn)
    }

    /// The network corrections, sorted, not overlapping.
    pub fn networks(&self) -> &[(IpNet, Override)] {
        &self.networks
    }

    /// True when there is nothing to correct.
    pub fn is_empty(&self) -> bool {
        self.by_asn.is_empty() && self.networks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Overrides, String> {
        Overrides::parse(text, Path::new("o.csv")).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_asns_and_networks_with_optional_company() {
        let o = parse(
            "# corrections\nnetwork,kind,name,domain\nAS64500,business,Example Co.,example.com\n\
             64501,isp\n198.51.100.0/24,business,\"Example Trading, K.K.\",example.co.jp\n\
             2001:db8:1::/48,hosting\n",
        );
        let Ok(o) = o else { panic!("{o:?}") };
        let a = o.for_asn(64500);
        assert_eq!(a.map(|a| a.kind), Some(NetworkKind::Business));
        assert_eq!(a.and_then(|a| a.name.as_deref()), Some("Example Co."));
        assert_eq!(a.map(|a| a.line), Some(3));
        assert_eq!(o.for_asn(64501).map(|a| a.kind), Some(NetworkKind::Isp));
        assert_eq!(o.networks().len(), 2);
        assert_eq!(
            o.networks()[0].1.name.as_deref(),
            Some("Example Trading, K.K.")
        );
    }

    #[test]
    fn bad_lines_name_their_line() {
        let cases = [
            (
                "AS1,carrier\n",
                "o.csv:1: unknown kind \"carrier\": expected business, isp, mobile, hosting, education, government or unknown",
            ),
            (
                "network,kind\n\nAS1\n",
                "o.csv:3: expected network,kind[,name[,domain]]",
            ),
            (
                "ASx,isp\n",
                "o.csv:1: \"ASx\" is neither an AS number (AS64500) nor a CIDR network",
            ),
            (
                "10.0.0.1/8,isp\n",
                "o.csv:1: 10.0.0.1/8 has host bits set; the network is 10.0.0.0/8",
            ),
            (
                "1,isp\n#\n1,hosting\n",
                "o.csv:3: AS1 already overridden on line 1",
            ),
            (
                "10.1.0.0/16,isp\n10.0.0.0/8,isp\n",
                "o.csv:2: 10.0.0.0/8 overlaps 10.1.0.0/16 on line 1",
            ),
            (
                "1,isp,a,b,c\n",
                "o.csv:1: expected network,kind[,name[,domain]]; got 5 fields",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).err().as_deref(), Some(want), "{text}");
        }
    }
}
