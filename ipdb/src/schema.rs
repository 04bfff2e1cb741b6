//! The record layouts this crate reads, and how each becomes part of an answer.
//!
//! Records are decoded into borrowed structs that name only the fields we use, so decoding
//! skips everything else (the Enterprise records carry city names in eight languages) and
//! allocates nothing until the answer is assembled.

use serde::{Deserialize, Serialize};

use crate::NetworkKind;
use crate::classify::{Confidence, verdict};

/// The layout of a layer's records.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// Our own company layout (`mikomi-ipdb build --format company`): `name`, `domain`,
    /// `industry`, `employees`, `country`, `network_kind`, optional AS fields.
    Company,
    /// GeoIP2-Enterprise: `traits.organization`, `traits.isp`, `traits.user_type`,
    /// `traits.connection_type`, `traits.domain`, `traits.autonomous_system_*`, `country.iso_code`.
    Enterprise,
    /// GeoIP2-ISP: `organization`, `isp`, `autonomous_system_*`.
    Isp,
    /// GeoIP2-Domain: `domain`.
    Domain,
    /// GeoLite2-ASN (and our ASN build, which adds `network_kind`).
    Asn,
}

impl Schema {
    /// The schema a `database_type` metadata string names, if any.
    pub fn detect(database_type: &str) -> Option<Schema> {
        if database_type == crate::build::COMPANY_DATABASE_TYPE {
            Some(Schema::Company)
        } else if database_type.contains("Enterprise") {
            Some(Schema::Enterprise)
        } else if database_type.contains("ISP") {
            Some(Schema::Isp)
        } else if database_type.contains("Domain") {
            Some(Schema::Domain)
        } else if database_type.contains("ASN") {
            Some(Schema::Asn)
        } else {
            None
        }
    }

    /// The lowercase name used in config and on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Schema::Company => "company",
            Schema::Enterprise => "enterprise",
            Schema::Isp => "isp",
            Schema::Domain => "domain",
            Schema::Asn => "asn",
        }
    }
}

impl std::str::FromStr for Schema {
    type Err = String;
    fn from_str(s: &str) -> Result<Schema, String> {
        Ok(match s {
            "company" => Schema::Company,
            "enterprise" => Schema::Enterprise,
            "isp" => Schema::Isp,
            "domain" => Schema::Domain,
            "asn" => Schema::Asn,
            _ => {
                return Err(format!(
                    "unknown schema {s:?}: expected company, enterprise, isp, domain or asn"
                ));
            }
        })
    }
}

/// What one layer says about an address, borrowed from the file.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Partial<'a> {
    pub name: Option<&'a str>,
    pub domain: Option<&'a str>,
    pub industry: Option<&'a str>,
    pub employees: Option<u32>,
    pub country: Option<&'a str>,
    pub asn: Option<u32>,
    pub as_org: Option<&'a str>,
    /// `None` when this layer cannot tell (a domain-only layer).
    pub kind: Option<NetworkKind>,
    /// How far `kind` can be trusted.
    pub confidence: Confidence,
}

#[derive(Deserialize)]
pub(crate) struct CompanyRecord<'a> {
    #[serde(borrow)]
    name: Option<&'a str>,
    #[serde(borrow)]
    domain: Option<&'a str>,
    #[serde(borrow)]
    industry: Option<&'a str>,
    employees: Option<u32>,
    #[serde(borrow)]
    country: Option<&'a str>,
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(borrow)]
    network_kind: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct AsnRecord<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(borrow)]
    network_kind: Option<&'a str>,
    /// Absent in files built before it was recorded: read as low.
    #[serde(borrow)]
    network_kind_confidence: Option<&'a str>,
    /// An override's company name.
    #[serde(borrow)]
    name: Option<&'a str>,
    /// An override's company domain.
    #[serde(borrow)]
    domain: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct IspRecord<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(borrow)]
    isp: Option<&'a str>,
    #[serde(borrow)]
    organization: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct DomainRecord<'a> {
    #[serde(borrow)]
    domain: Option<&'a str>,
}

#[derive(Deserialize)]
pub(crate) struct EnterpriseRecord<'a> {
    #[serde(borrow)]
    traits: Option<Traits<'a>>,
    #[serde(borrow)]
    country: Option<Country<'a>>,
}

#[derive(Deserialize)]
struct Traits<'a> {
    autonomous_system_number: Option<u32>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
    #[serde(borrow)]
    isp: Option<&'a str>,
    #[serde(borrow)]
    organization: Option<&'a str>,
    #[serde(borrow)]
    domain: Option<&'a str>,
    #[serde(borrow)]
    user_type: Option<&'a str>,
    #[serde(borrow)]
    connection_type: Option<&'a str>,
}

#[derive(Deserialize)]
struct Country<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

/// Keeps the organisation as the visitor's company only on networks that name the visitor.
fn named(kind: NetworkKind, org: Option<&str>) -> Option<&str> {
    org.filter(|_| kind.names_the_visitor())
}

impl<'a> From<CompanyRecord<'a>> for Partial<'a> {
    fn from(r: CompanyRecord<'a>) -> Self {
        // Our own company rows: someone wrote the row (and its kind) on purpose.
        let kind = r
            .network_kind
            .and_then(NetworkKind::parse)
            .unwrap_or(NetworkKind::Business);
        // A row for a carrier's or cloud's range names the operator, not the visitor.
        let operator = r.name.filter(|_| !kind.names_the_visitor());
        Partial {
            name: named(kind, r.name),
            domain: r.domain,
            industry: r.industry,
            employees: r.employees,
            country: r.country,
            asn: r.autonomous_system_number,
            as_org: r.autonomous_system_organization.or(operator),
            kind: Some(kind),
            confidence: Confidence::High,
        }
    }
}

impl<'a> From<AsnRecord<'a>> for Partial<'a> {
    fn from(r: AsnRecord<'a>) -> Self {
        let org = r.autonomous_system_organization;
        // Our builds store the verdict; a GeoLite2-ASN file has none, so classify here.
        let (kind, confidence) = match r.network_kind.and_then(NetworkKind::parse) {
            Some(kind) => (
                kind,
                r.network_kind_confidence
                    .and_then(Confidence::parse)
                    .unwrap_or(Confidence::Low),
            ),
            None => {
                let v = verdict(r.autonomous_system_number, org.unwrap_or(""), None);
                (v.kind, v.confidence)
            }
        };
        Partial {
            // An override may name the company behind the network; else the AS's own name.
            name: named(kind, r.name.or(org)),
            domain: r.domain.filter(|_| kind.names_the_visitor()),
            asn: r.autonomous_system_number,
            as_org: org,
            kind: Some(kind),
            confidence,
            ..Partial::default()
        }
    }
}

impl<'a> From<IspRecord<'a>> for Partial<'a> {
    fn from(r: IspRecord<'a>) -> Self {
        // The organisation using the addresses, else the provider's own name.
        let org = r.organization.or(r.isp);
        let v = verdict(r.autonomous_system_number, org.unwrap_or(""), None);
        Partial {
            name: named(v.kind, org),
            asn: r.autonomous_system_number,
            as_org: r.autonomous_system_organization.or(r.isp),
            kind: Some(v.kind),
            confidence: v.confidence,
            ..Partial::default()
        }
    }
}

impl<'a> From<DomainRecord<'a>> for Partial<'a> {
    fn from(r: DomainRecord<'a>) -> Self {
        Partial {
            domain: r.domain,
            ..Partial::default()
        }
    }
}

impl<'a> From<EnterpriseRecord<'a>> for Partial<'a> {
    fn from(r: EnterpriseRecord<'a>) -> Self {
        let country = r.country.and_then(|c| c.iso_code);
        let Some(t) = r.traits else {
            return Partial {
                country,
                ..Partial::default()
            };
        };
        let org = t.organization.or(t.isp);
        // MaxMind's own judgement of the network beats guessing from the name.
        let judged = t
            .user_type
            .and_then(kind_of_user_type)
            .or(match t.connection_type {
                Some("Cellular") => Some(NetworkKind::Mobile),
                Some("Corporate") => Some(NetworkKind::Business),
                _ => None,
            });
        let (kind, confidence) = match judged {
            Some(kind) => (kind, Confidence::High),
            None => {
                let v = verdict(t.autonomous_system_number, org.unwrap_or(""), None);
                (v.kind, v.confidence)
            }
        };
        Partial {
            name: named(kind, org),
            domain: t.domain,
            country,
            asn: t.autonomous_system_number,
            as_org: t.autonomous_system_organization.or(t.isp),
            kind: Some(kind),
            confidence,
            ..Partial::default()
        }
    }
}

/// GeoIP2 `user_type` values (documented list) mapped onto our kinds.
fn kind_of_user_type(user_type: &str) -> Option<NetworkKind> {
    Some(match user_type {
        "business" => NetworkKind::Business,
        "residential" | "cafe" | "traveler" | "router" => NetworkKind::Isp,
        "cellular" => NetworkKind::Mobile,
        "hosting"
        | "content_delivery_network"
        | "consumer_privacy_network"
        | "search_engine_spider" => NetworkKind::Hosting,
        "college" | "school" | "library" => NetworkKind::Education,
        "government" | "military" => NetworkKind::Government,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_schemas_from_database_type() {
        let cases = [
            ("Mikomi-Company", Some(Schema::Company)),
            ("Mikomi-ASN", Some(Schema::Asn)),
            ("GeoLite2-ASN", Some(Schema::Asn)),
            ("GeoIP2-ISP", Some(Schema::Isp)),
            ("GeoIP2-Enterprise", Some(Schema::Enterprise)),
            ("GeoIP2-Domain", Some(Schema::Domain)),
            ("GeoIP2-City", None),
        ];
        for (t, want) in cases {
            assert_eq!(Schema::detect(t), want, "{t}");
        }
        for s in [
            Schema::Company,
            Schema::Enterprise,
            Schema::Isp,
            Schema::Domain,
            Schema::Asn,
        ] {
            assert_eq!(s.as_str().parse::<Schema>(), Ok(s));
        }
        assert!("city".parse::<Schema>().is_err());
    }

    #[test]
    fn carriers_are_not_named_as_the_visitor() {
        let isp = Partial::from(AsnRecord {
            autonomous_system_number: Some(64500),
            autonomous_system_organization: Some("Example Broadband Telecom"),
            network_kind: None,
            network_kind_confidence: None,
            name: None,
            domain: None,
        });
        assert_eq!(isp.kind, Some(NetworkKind::Isp));
        assert_eq!(isp.name, None);
        assert_eq!(isp.as_org, Some("Example Broadband Telecom"));

        let firm = Partial::from(AsnRecord {
            autonomous_system_number: Some(64501),
            autonomous_system_organization: Some("Example Manufacturing Co."),
            network_kind: None,
            network_kind_confidence: None,
            name: None,
            domain: None,
        });
        assert_eq!(firm.name, Some("Example Manufacturing Co."));

        let stored = Partial::from(AsnRecord {
            autonomous_system_number: Some(64502),
            autonomous_system_organization: Some("Example Manufacturing Co."),
            network_kind: Some("hosting"),
            network_kind_confidence: None,
            name: None,
            domain: None,
        });
        assert_eq!(stored.kind, Some(NetworkKind::Hosting));
        // Built before confidence was recorded: the kind stands, trusted low.
        assert_eq!(stored.confidence, Confidence::Low);
    }

    #[test]
    fn company_rows_for_carrier_ranges_name_the_operator_only() {
        let row = |kind| CompanyRecord {
            name: Some("Example Hikari Broadband"),
            domain: None,
            industry: None,
            employees: None,
            country: Some("JP"),
            autonomous_system_number: None,
            autonomous_system_organization: None,
            network_kind: kind,
        };
        let isp = Partial::from(row(Some("isp")));
        assert_eq!(
            (isp.name, isp.as_org),
            (None, Some("Example Hikari Broadband"))
        );
        let firm = Partial::from(row(None));
        assert_eq!(
            (firm.name, firm.as_org),
            (Some("Example Hikari Broadband"), None)
        );
        assert_eq!(firm.kind, Some(NetworkKind::Business));
    }

    #[test]
    fn user_type_wins_over_the_name() {
        assert_eq!(kind_of_user_type("cellular"), Some(NetworkKind::Mobile));
        assert_eq!(kind_of_user_type("college"), Some(NetworkKind::Education));
        assert_eq!(kind_of_user_type("something_new"), None);
    }
}
