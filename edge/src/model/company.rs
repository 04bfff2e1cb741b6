//! How the company behind an address is kept in the log and in snapshots: through this
//! module's own schema, not ipdb's type as it is, so that ipdb may add a field or a network kind
//! without changing what yesterday's files mean. Kinds and bands are stored by name; a name
//! this build does not know reads as `unknown` rather than failing the whole record.

use std::borrow::Cow;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Borrowed when written (every batch with a company is encoded on the collect path, so no
/// string is copied for it), owned when read.
#[derive(Serialize, Deserialize)]
struct StoredCompany<'a> {
    name: Option<Cow<'a, str>>,
    domain: Option<Cow<'a, str>>,
    industry: Option<Cow<'a, str>>,
    employees: Option<u32>,
    size_band: Cow<'a, str>,
    country: Option<Cow<'a, str>>,
    asn: Option<u32>,
    as_org: Option<Cow<'a, str>>,
    network_kind: Cow<'a, str>,
    network_kind_confidence: Cow<'a, str>,
    source: Cow<'a, str>,
    network: IpNet,
}

impl<'a> From<&'a ipdb::Company> for StoredCompany<'a> {
    fn from(c: &'a ipdb::Company) -> Self {
        let text = |v: &'a Option<String>| v.as_deref().map(Cow::Borrowed);
        StoredCompany {
            name: text(&c.name),
            domain: text(&c.domain),
            industry: text(&c.industry),
            employees: c.employees,
            size_band: Cow::Borrowed(band_name(c.size_band)),
            country: text(&c.country),
            asn: c.asn,
            as_org: text(&c.as_org),
            network_kind: Cow::Borrowed(c.network_kind.as_str()),
            network_kind_confidence: Cow::Borrowed(c.network_kind_confidence.as_str()),
            source: Cow::Borrowed(&c.source),
            network: c.network,
        }
    }
}

impl From<StoredCompany<'_>> for ipdb::Company {
    fn from(c: StoredCompany<'_>) -> Self {
        let text = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
        ipdb::Company {
            name: text(c.name),
            domain: text(c.domain),
            industry: text(c.industry),
            employees: c.employees,
            size_band: band_of(&c.size_band),
            country: text(c.country),
            asn: c.asn,
            as_org: text(c.as_org),
            network_kind: ipdb::NetworkKind::parse(&c.network_kind)
                .unwrap_or(ipdb::NetworkKind::Unknown),
            network_kind_confidence: ipdb::Confidence::parse(&c.network_kind_confidence)
                .unwrap_or(ipdb::Confidence::Low),
            source: c.source.into_owned(),
            network: c.network,
        }
    }
}

fn band_name(band: ipdb::SizeBand) -> &'static str {
    match band {
        ipdb::SizeBand::Small => "small",
        ipdb::SizeBand::Mid => "mid",
        ipdb::SizeBand::Enterprise => "enterprise",
        _ => "unknown",
    }
}

fn band_of(name: &str) -> ipdb::SizeBand {
    match name {
        "small" => ipdb::SizeBand::Small,
        "mid" => ipdb::SizeBand::Mid,
        "enterprise" => ipdb::SizeBand::Enterprise,
        _ => ipdb::SizeBand::Unknown,
    }
}

/// How store format 2 kept a company: ipdb's type as it was then, kinds and bands by position,
/// no confidence. Read only to migrate format 2 data.
#[derive(Deserialize)]
struct Format2Company {
    name: Option<String>,
    domain: Option<String>,
    industry: Option<String>,
    employees: Option<u32>,
    size_band: Format2Band,
    country: Option<String>,
    asn: Option<u32>,
    as_org: Option<String>,
    network_kind: Format2Kind,
    source: String,
    network: IpNet,
}

/// Format 2's `SizeBand`, in its order.
#[derive(Deserialize)]
enum Format2Band {
    Small,
    Mid,
    Enterprise,
    Unknown,
}

/// Format 2's `NetworkKind`, in its order.
#[derive(Deserialize)]
enum Format2Kind {
    Business,
    Isp,
    Mobile,
    Hosting,
    Education,
    Government,
    Unknown,
}

impl From<Format2Company> for ipdb::Company {
    fn from(c: Format2Company) -> Self {
        let has_domain = c.domain.is_some();
        use ipdb::{NetworkKind as K, SizeBand as B};
        ipdb::Company {
            name: c.name,
            domain: c.domain,
            industry: c.industry,
            employees: c.employees,
            size_band: match c.size_band {
                Format2Band::Small => B::Small,
                Format2Band::Mid => B::Mid,
                Format2Band::Enterprise => B::Enterprise,
                Format2Band::Unknown => B::Unknown,
            },
            country: c.country,
            asn: c.asn,
            as_org: c.as_org,
            network_kind: match c.network_kind {
                Format2Kind::Business => K::Business,
                Format2Kind::Isp => K::Isp,
                Format2Kind::Mobile => K::Mobile,
                Format2Kind::Hosting => K::Hosting,
                Format2Kind::Education => K::Education,
                Format2Kind::Government => K::Government,
                Format2Kind::Unknown => K::Unknown,
            },
            // Format 2 did not record how sure its classifier was. A company it knew with a
            // domain came from a company layer (its ASN layer had no domains), which is what
            // the current classifier trusts too; a name alone was the old keyword guess.
            network_kind_confidence: if has_domain {
                ipdb::Confidence::High
            } else {
                ipdb::Confidence::Low
            },
            source: c.source,
            network: c.network,
        }
    }
}

thread_local! {
    static FORMAT_2: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `decode` reading companies as store format 2 kept them: the one layout difference
/// between format 2 records and today's, so the rest of a record decodes as it is.
pub fn decoding_format_2<R>(decode: impl FnOnce() -> R) -> R {
    FORMAT_2.with(|flag| {
        let before = flag.replace(true);
        let result = decode();
        flag.set(before);
        result
    })
}

/// `#[serde(with = "crate::model::company::stored")]` on an `Option<Arc<ipdb::Company>>`.
pub mod stored {
    use super::*;

    pub fn serialize<S: Serializer>(
        company: &Option<Arc<ipdb::Company>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        company
            .as_deref()
            .map(StoredCompany::from)
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Arc<ipdb::Company>>, D::Error> {
        if FORMAT_2.with(std::cell::Cell::get) {
            let stored = Option::<Format2Company>::deserialize(deserializer)?;
            return Ok(stored.map(|c| Arc::new(ipdb::Company::from(c))));
        }
        let stored = Option::<StoredCompany>::deserialize(deserializer)?;
        Ok(stored.map(|c| Arc::new(ipdb::Company::from(c))))
    }
}

/// A company with every field set, for tests across the crate.
#[cfg(test)]
pub(crate) fn sample() -> ipdb::Company {
    ipdb::Company {
        name: Some("株式会社ノースウィンド".into()),
        domain: Some("northwind.example".into()),
        industry: Some("Software".into()),
        employees: Some(250),
        size_band: ipdb::SizeBand::Mid,
        country: Some("JP".into()),
        asn: Some(64500),
        as_org: Some("NORTHWIND-AS".into()),
        network_kind: ipdb::NetworkKind::Business,
        network_kind_confidence: ipdb::Confidence::High,
        source: "companies".into(),
        network: "203.0.113.0/24".parse().expect("net"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Holder(#[serde(with = "stored")] Option<Arc<ipdb::Company>>);

    fn company(kind: ipdb::NetworkKind, band: ipdb::SizeBand) -> ipdb::Company {
        ipdb::Company {
            network_kind: kind,
            size_band: band,
            ..sample()
        }
    }

    #[test]
    fn every_kind_and_band_round_trips() {
        for kind in ipdb::NetworkKind::ALL {
            for band in [
                ipdb::SizeBand::Small,
                ipdb::SizeBand::Mid,
                ipdb::SizeBand::Enterprise,
                ipdb::SizeBand::Unknown,
            ] {
                let held = Holder(Some(Arc::new(company(kind, band))));
                let bytes = postcard::to_stdvec(&held).expect("encode");
                let back: Holder = postcard::from_bytes(&bytes).expect("decode");
                assert_eq!(back, held);
            }
        }
        let none: Holder =
            postcard::from_bytes(&postcard::to_stdvec(&Holder(None)).expect("e")).expect("decode");
        assert_eq!(none, Holder(None));
    }

    #[test]
    fn a_kind_this_build_does_not_know_reads_as_unknown() {
        let known = company(ipdb::NetworkKind::Business, ipdb::SizeBand::Mid);
        let mut stored = StoredCompany::from(&known);
        stored.network_kind = Cow::Borrowed("satellite");
        stored.size_band = Cow::Borrowed("giant");
        stored.network_kind_confidence = Cow::Borrowed("certain");
        let back = ipdb::Company::from(stored);
        assert_eq!(back.network_kind, ipdb::NetworkKind::Unknown);
        assert_eq!(back.size_band, ipdb::SizeBand::Unknown);
        assert_eq!(back.network_kind_confidence, ipdb::Confidence::Low);
    }
}
