//! The answer to "who is behind this address": [`Company`] and its categories.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// What one lookup found, merged across layers.
///
/// `name` is set only when the network belongs to the organisation itself (a business,
/// school or public body). For home broadband, mobile and hosting networks the operator's name
/// stays in `as_org` and `name` is `None`, so a broadband visitor is never reported as the
/// carrier that serves them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Company {
    /// The organisation's name.
    pub name: Option<String>,
    /// The organisation's web domain.
    pub domain: Option<String>,
    /// Industry as written in the source data.
    pub industry: Option<String>,
    /// Number of employees.
    pub employees: Option<u32>,
    /// Employee band derived from `employees`.
    pub size_band: SizeBand,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Autonomous system organisation (the network operator).
    pub as_org: Option<String>,
    /// What kind of network the address is on.
    pub network_kind: NetworkKind,
    /// How far `network_kind` can be trusted (see `Resolver::lookup_with_confidence`): a hot
    /// list or a rule that must name real companies asks for `high`.
    #[serde(default)]
    pub network_kind_confidence: crate::Confidence,
    /// The name of the layer that answered.
    pub source: String,
    /// The network (CIDR) the answering layer matched.
    pub network: IpNet,
}

/// Employee bands used across sales tools: small up to 100, mid-size 100–500, enterprise 500+.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SizeBand {
    /// Up to 100 employees.
    Small,
    /// 101 to 500 employees.
    Mid,
    /// More than 500 employees.
    Enterprise,
    /// Employee count not known.
    Unknown,
}

impl SizeBand {
    /// The band for a head count; the boundaries belong to the lower band (100 is small,
    /// 500 is mid) as in the lead-management articles the bands come from.
    pub fn from_employees(employees: Option<u32>) -> SizeBand {
        match employees {
            None => SizeBand::Unknown,
            Some(n) if n <= 100 => SizeBand::Small,
            Some(n) if n <= 500 => SizeBand::Mid,
            Some(_) => SizeBand::Enterprise,
        }
    }

    /// The lowercase name used in JSON (as serde writes it) and on the console.
    pub fn as_str(&self) -> &'static str {
        match self {
            SizeBand::Small => "small",
            SizeBand::Mid => "mid",
            SizeBand::Enterprise => "enterprise",
            SizeBand::Unknown => "unknown",
        }
    }
}

/// What kind of network an address is on; only `Business` means "a company's own network".
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum NetworkKind {
    /// The organisation's own network: the visitor works there.
    Business,
    /// Consumer or transit internet service provider.
    Isp,
    /// Mobile carrier.
    Mobile,
    /// Hosting, cloud, CDN or VPN: the visitor is a machine or hides behind one.
    Hosting,
    /// University, school or research network.
    Education,
    /// Government or military.
    Government,
    /// Not known.
    Unknown,
}

impl NetworkKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [NetworkKind; 7] = [
        NetworkKind::Business,
        NetworkKind::Isp,
        NetworkKind::Mobile,
        NetworkKind::Hosting,
        NetworkKind::Education,
        NetworkKind::Government,
        NetworkKind::Unknown,
    ];

    /// True when the network is a company's own, i.e. the answer names the visitor's employer.
    pub fn is_business(&self) -> bool {
        matches!(self, NetworkKind::Business)
    }

    /// The lowercase name used in CSV files, JSON and config.
    pub fn as_str(&self) -> &'static str {
        match self {
            NetworkKind::Business => "business",
            NetworkKind::Isp => "isp",
            NetworkKind::Mobile => "mobile",
            NetworkKind::Hosting => "hosting",
            NetworkKind::Education => "education",
            NetworkKind::Government => "government",
            NetworkKind::Unknown => "unknown",
        }
    }

    /// Parses the name, ignoring ASCII case and surrounding space; `None` for anything else.
    /// Runs on every lookup of our databases, so it allocates nothing.
    pub fn parse(s: &str) -> Option<NetworkKind> {
        let s = s.trim();
        NetworkKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether an organisation on this kind of network is named as the visitor's company.
    pub(crate) fn names_the_visitor(&self) -> bool {
        matches!(
            self,
            NetworkKind::Business | NetworkKind::Education | NetworkKind::Government
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_bands_follow_the_article_boundaries() {
        let cases = [
            (None, SizeBand::Unknown),
            (Some(0), SizeBand::Small),
            (Some(100), SizeBand::Small),
            (Some(101), SizeBand::Mid),
            (Some(500), SizeBand::Mid),
            (Some(501), SizeBand::Enterprise),
        ];
        for (n, band) in cases {
            assert_eq!(SizeBand::from_employees(n), band, "{n:?}");
            // The name is serde's, and what accounts stored before it existed.
            let json = serde_json::to_string(&band).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", band.as_str()));
            assert_eq!(format!("{band:?}").to_lowercase(), band.as_str());
        }
    }

    #[test]
    fn kinds_round_trip_through_their_names_and_serde() {
        for kind in NetworkKind::ALL {
            assert_eq!(NetworkKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.is_business(), kind == NetworkKind::Business);
        }
        assert_eq!(NetworkKind::parse("corporate"), None);
        assert_eq!(NetworkKind::parse(" Hosting "), Some(NetworkKind::Hosting));
    }
}
