use super::*;
use NetworkKind::{Business, Education, Government, Hosting, Isp, Mobile, Unknown};

fn kind(asn: u32, org: &str) -> NetworkKind {
    verdict(Some(asn), org, None).kind
}

/// An end site's announcements: one IPv4 /24, one IPv6 /48, two ranges.
const END_SITE: AsProfile = AsProfile {
    ipv4: 256,
    ipv6_40s: 1,
    ranges: 2,
};

/// A carrier's: a /16 and a /29 of IPv6 in forty ranges.
const CARRIER: AsProfile = AsProfile {
    ipv4: 65_536,
    ipv6_40s: 2_048,
    ranges: 40,
};

#[test]
fn normalise_makes_words_matchable() {
    assert_eq!(normalise("Host-Europe GmbH."), " host europe gmbh ");
    assert_eq!(normalise("AT&T Services"), " at & t services ");
    assert_eq!(normalise("Università di Padova"), " universita di padova ");
    assert_eq!(normalise(""), " ");
}

#[test]
fn japanese_networks_are_known() {
    let cases = [
        (4713, "NTT Communications Corporation", Isp),
        (2914, "NTT America, Inc.", Isp),
        (2516, "KDDI CORPORATION", Isp),
        (17676, "SoftBank Corp.", Isp),
        (4725, "SoftBank Corp.", Isp),
        (2915, "BBIX, Inc.", Isp),
        (9605, "NTT DOCOMO, INC.", Mobile),
        (138384, "Rakuten Mobile, Inc.", Mobile),
        (2497, "Internet Initiative Japan Inc.", Isp),
        (2527, "Sony Network Communications Inc.", Isp),
        (2518, "BIGLOBE Inc.", Isp),
        (9824, "JCOM Co., Ltd.", Isp),
        (9617, "JCOM Co., Ltd.", Isp),
        (17511, "OPTAGE Inc.", Isp),
        (2519, "ARTERIA Networks Corporation", Isp),
        (17506, "ARTERIA Networks Corporation", Isp),
        (9370, "SAKURA Internet Inc.", Hosting),
        (7684, "SAKURA Internet Inc.", Hosting),
        (7506, "GMO Internet Group, Inc.", Hosting),
        (23816, "Yahoo Japan Corporation", Hosting),
        (38631, "LINE Corporation", Hosting),
        (
            2907,
            "Research Organization of Information and Systems, National Institute of Informatics",
            Education,
        ),
        (2500, "WIDE Project", Education),
        (2501, "The University of Tokyo", Education),
        (4685, "Asahi Net", Isp),
        (10013, "FreeBit Co.,Ltd.", Isp),
        (4694, "IDC Frontier Inc.", Hosting),
        (7679, "QTnet,Inc.", Isp),
        (18126, "Chubu Telecommunications Company, Inc.", Isp),
    ];
    for (asn, org, want) in cases {
        let v = verdict(Some(asn), org, None);
        assert_eq!(
            (v.kind, v.confidence),
            (want, Confidence::High),
            "AS{asn} {org}"
        );
    }
}

#[test]
fn japanese_names_without_a_listed_number() {
    // Other ASes of the same operators, and the shapes of Japanese names.
    let cases = [
        (64500, "NTT Example Corporation", Isp),
        (64501, "Example CATV Co., Ltd.", Isp),
        (64502, "Example Cable Media Inc.", Isp),
        (64503, "Example Hikari Tsushin", Isp),
        (64504, "Tokyo Example University", Education),
        (64505, "Example Data Center K.K.", Hosting),
        (64506, "KDDI Example Inc.", Isp),
        (64507, "Example Prefecture", Government),
    ];
    for (asn, org, want) in cases {
        assert_eq!(kind(asn, org), want, "{org}");
    }
}

#[test]
fn brand_named_carriers_are_never_businesses() {
    let cases = [
        (3215, "Orange S.A.", Isp),
        (5511, "Orange S.A.", Isp),
        (12322, "Free SAS", Isp),
        (51207, "Free Mobile SAS", Mobile),
        (5607, "Sky UK Limited", Isp),
        (1221, "Telstra Limited", Isp),
        (3303, "Swisscom (Schweiz) AG", Isp),
        (8452, "TE-AS", Isp),
        (5410, "Bouygues Telecom SA", Mobile),
        (3320, "Deutsche Telekom AG", Isp),
        (1136, "KPN B.V.", Isp),
        (5432, "Proximus NV", Isp),
        (12874, "Fastweb SpA", Isp),
        (6830, "Liberty Global B.V.", Isp),
        (4766, "Korea Telecom", Isp),
        (701, "Verizon Business", Isp),
    ];
    for (asn, org, want) in cases {
        assert_eq!(kind(asn, org), want, "AS{asn} {org}");
    }
    // Unlisted ASes of the same brands, on an end site's announcements.
    for org in [
        "Orange Business Services Example",
        "Swisscom Example AG",
        "Telstra Example Pty Ltd",
        "Telefonica Example S.A.",
        "Vodafone Example GmbH",
    ] {
        let v = verdict(Some(64510), org, Some(&END_SITE));
        assert!(!v.kind.is_business(), "{org}: {v:?}");
    }
}

#[test]
fn clouds_and_cdns_are_hosting() {
    let cases = [
        (16509, "Amazon.com, Inc."),
        (14618, "Amazon.com, Inc."),
        (15169, "Google LLC"),
        (396982, "Google LLC"),
        (8075, "Microsoft Corporation"),
        (13335, "Cloudflare, Inc."),
        (20940, "Akamai International B.V."),
        (54113, "Fastly, Inc."),
        (16276, "OVH SAS"),
        (24940, "Hetzner Online GmbH"),
        (14061, "DigitalOcean, LLC"),
        (45102, "Alibaba (US) Technology Co., Ltd."),
        (132203, "Shenzhen Tencent Computer Systems Company Limited"),
        (64520, "Example Cloud Services Ltd"),
        (64521, "Example Hosting GmbH"),
    ];
    for (asn, org) in cases {
        assert_eq!(kind(asn, org), Hosting, "AS{asn} {org}");
    }
}

#[test]
fn universities_and_research_networks_are_education() {
    let cases = [
        (64530, "Universidad Nacional de Ejemplo"),
        (64531, "Università di Esempio"),
        (64532, "Example State University"),
        (64533, "Example Institute of Technology"),
        (64534, "Example Research and Education Network"),
        (786, "Jisc Services Limited"),
        (
            680,
            "Verein zur Foerderung eines Deutschen Forschungsnetzes e.V.",
        ),
        (2200, "Renater"),
        (1103, "SURF B.V."),
        (3, "Massachusetts Institute of Technology"),
    ];
    for (asn, org) in cases {
        assert_eq!(kind(asn, org), Education, "AS{asn} {org}");
    }
}

#[test]
fn business_needs_evidence() {
    // An industry carriers are not in.
    let v = verdict(
        Some(64540),
        "Example Manufacturing Co., Ltd.",
        Some(&END_SITE),
    );
    assert_eq!((v.kind, v.confidence), (Business, Confidence::High));
    assert_eq!(v.evidence, Evidence::Industry(" manufacturing"));
    // A legal form alone, on an end site's announcements, is weak evidence: reported, but the
    // kind stays unknown unless weak evidence is asked to count (then business, trusted low).
    let v = verdict(Some(64541), "Example Holdings Inc.", Some(&END_SITE));
    assert_eq!(
        (v.kind, v.confidence, v.evidence),
        (Unknown, Confidence::Low, Evidence::EndSite(" inc "))
    );
    let weak = Classifier::default().with_weak_business(true);
    let v = weak.verdict(Some(64541), "Example Holdings Inc.", Some(&END_SITE));
    assert_eq!((v.kind, v.confidence), (Business, Confidence::Low));
    // The same name on a carrier's announcements, or with no announcements known: no evidence.
    let v = weak.verdict(Some(64541), "Example Holdings Inc.", Some(&CARRIER));
    assert_eq!(v.kind, Unknown);
    let v = weak.verdict(Some(64541), "Example Holdings Inc.", None);
    assert_eq!(v.kind, Unknown);
    // A German partnership is weak evidence on company-sized announcements, not on a carrier's.
    let v = weak.verdict(Some(64542), "Example GmbH & Co. KG", Some(&END_SITE));
    assert_eq!(
        (v.kind, v.evidence),
        (Business, Evidence::LegalForm(" & co "))
    );
    let v = weak.verdict(Some(64542), "Example GmbH & Co. KG", Some(&CARRIER));
    assert_eq!(v.kind, Unknown);
    // Nothing at all: unknown, never business.
    let v = weak.verdict(Some(64543), "Example", Some(&END_SITE));
    assert_eq!((v.kind, v.evidence), (Unknown, Evidence::NoEvidence));
    assert_eq!(kind_with(64544, "  ", None), Unknown);
    // Names carriers use in registries where almost every AS is a carrier say nothing.
    let v = weak.verdict(Some(64545), "PT Example Nusantara", Some(&END_SITE));
    assert_eq!(v.evidence, Evidence::NoEvidence);
    let v = weak.verdict(Some(64546), "Example Nusantara Pvt Ltd", Some(&END_SITE));
    assert_eq!(v.evidence, Evidence::NoEvidence);
}

fn kind_with(asn: u32, org: &str, profile: Option<&AsProfile>) -> NetworkKind {
    verdict(Some(asn), org, profile).kind
}

#[test]
fn kinds_come_before_business_words() {
    let cases = [
        ("Example Telecom Bank", Isp),
        ("South Example Reserve Bank", Government),
        ("Example Federal Credit Union", Business),
        ("Example County Government", Government),
        ("Example Medical University", Education),
        ("Example Mobile Communications", Mobile),
        ("Magicnet LLC", Isp),
        ("Sprinthost LLC", Hosting),
        ("Example University Hospital", Business),
        ("Example National Laboratory", Government),
        ("Example Hotel Co., Ltd.", Business),
    ];
    for (org, want) in cases {
        assert_eq!(kind_with(64550, org, Some(&END_SITE)), want, "{org}");
    }
}

#[test]
fn overrides_come_first() {
    let o = Overrides::parse(
        "AS3215,business,Example Co.\n64560,isp\n",
        std::path::Path::new("o"),
    );
    let Ok(o) = o else { panic!("{o:?}") };
    let c = Classifier::new(o);
    let v = c.verdict(Some(3215), "Orange S.A.", None);
    assert_eq!(
        (v.kind, v.confidence, v.evidence),
        (Business, Confidence::High, Evidence::Override { line: 1 })
    );
    assert_eq!(c.verdict(Some(64560), "Example Bank", None).kind, Isp);
    assert_eq!(c.verdict(Some(64561), "Example Bank", None).kind, Business);
}

#[test]
fn every_answer_is_explained() {
    let v = verdict(Some(64570), "Example", Some(&END_SITE));
    assert_eq!(
        v.evidence.to_string(),
        "nothing in the name or the list says what it is"
    );
    let v = verdict(Some(5607), "Sky UK Limited", None);
    assert_eq!(
        v.evidence.to_string(),
        "listed in the reviewed list of known networks"
    );
    let v = verdict(Some(64571), "Example Telecom", None);
    assert_eq!(v.evidence.to_string(), "the name contains \"telecom\"");
}

#[test]
fn an_overruled_business_signal_says_what_overruled_it() {
    let weak = Classifier::default().with_weak_business(true);
    // A legal form on a carrier's announcements.
    let v = weak.verdict(Some(64580), "Example GmbH & Co. KG", Some(&CARRIER));
    assert_eq!(
        v.evidence,
        Evidence::CarrierSized {
            signal: " & co ",
            by: Overruled::Announcements
        }
    );
    assert!(
        v.evidence
            .to_string()
            .contains("more than one company's network")
    );
    // A legal form beside a word of the trade, however small the network.
    let v = weak.verdict(
        Some(64581),
        "Example Solutions GmbH & Co. KG",
        Some(&END_SITE),
    );
    assert_eq!(
        v.evidence,
        Evidence::CarrierSized {
            signal: " & co ",
            by: Overruled::TradeWord("solution")
        }
    );
    assert!(v.evidence.to_string().contains("\"solution\""));
    // An industry word on an AS large enough to be reviewed that the list does not name.
    let large = AsProfile {
        ipv4: known::LISTED_WEIGHT,
        ipv6_40s: 0,
        ranges: 4,
    };
    let v = weak.verdict(Some(64582), "Example Bank", Some(&large));
    assert_eq!(
        (v.kind, v.evidence.clone()),
        (
            Unknown,
            Evidence::CarrierSized {
                signal: " bank",
                by: Overruled::Unlisted
            }
        )
    );
    assert!(v.evidence.to_string().contains("50000 addresses or more"));
}

#[test]
fn the_old_entry_point_still_answers() {
    assert_eq!(classify(Some(16509), "Anything At All"), Hosting);
    assert_eq!(classify(None, "Example Broadband Telecom"), Isp);
    assert_eq!(classify(None, "Example Manufacturing Co."), Business);
    assert_eq!(classify(None, ""), Unknown);
}

#[test]
fn confidence_round_trips_through_its_name() {
    for c in [Confidence::Low, Confidence::High] {
        assert_eq!(Confidence::parse(c.as_str()), Some(c));
    }
    assert_eq!(Confidence::parse("medium"), None);
    assert_eq!(Confidence::default(), Confidence::Low);
}
