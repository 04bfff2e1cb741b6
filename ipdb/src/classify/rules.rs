//! The classifier's data: well-known ASNs and keyword patterns.
//!
//! Patterns are matched against the normalised name (lower case, punctuation folded to single
//! spaces, padded with one space each side); a pattern with spaces around it therefore matches
//! a whole word. Lists are written from general knowledge of how operators name themselves in
//! registry data (many languages: "telecomunicações", "iletişim", "internet-seti"), not fitted
//! to the labelled sample.

use crate::NetworkKind;

/// Networks whose names do not say what they are, but whose kind is well known.
pub(super) fn by_asn(asn: u32) -> Option<NetworkKind> {
    const HOSTING: &[u32] = &[
        16509, 14618, // Amazon
        15169, 396982, // Google
        8075,   // Microsoft
        13335,  // Cloudflare
        20940, 16625,  // Akamai
        54113,  // Fastly
        14061,  // DigitalOcean
        63949,  // Linode
        16276,  // OVH
        24940,  // Hetzner
        20473,  // Vultr
        60781,  // Leaseweb
        51167,  // Contabo
        45102,  // Alibaba
        132203, // Tencent
        31898,  // Oracle
        36351,  // IBM SoftLayer
        9370, 9371, 7684,  // Sakura Internet
        19551, // Imperva
    ];
    const MOBILE: &[u32] = &[
        9605,  // NTT docomo
        21928, // T-Mobile US
        22394, // Verizon Wireless
        20057, // AT&T Mobility
    ];
    const ISP: &[u32] = &[
        4713,  // NTT OCN
        2516,  // KDDI
        17676, // SoftBank
        2527,  // So-net
        2497,  // IIJ
        2518,  // BIGLOBE
        4685,  // Asahi Net
        9824,  // J:COM
        17511, // OPTAGE
        7679,  // QTNet
        18126, // Chubu Telecommunications
    ];
    if HOSTING.contains(&asn) {
        Some(NetworkKind::Hosting)
    } else if MOBILE.contains(&asn) {
        Some(NetworkKind::Mobile)
    } else if ISP.contains(&asn) {
        Some(NetworkKind::Isp)
    } else {
        None
    }
}

/// Keyword rules, tried in this order; the first kind with a matching pattern wins.
pub(super) const KEYWORDS: &[(NetworkKind, &[&str])] = &[
    (
        NetworkKind::Hosting,
        &[
            "hosting",
            " host ",
            "hoster",
            "cloud",
            "data center",
            "datacenter",
            "data centre",
            "datacentre",
            "server",
            "vps",
            " web services",
            "webhost",
            "colocation",
            " colo ",
            "dedicated",
            " cdn ",
            " vpn ",
            "proxy",
            "amazon",
            "google",
            "microsoft",
            "cloudflare",
            "akamai",
            "fastly",
            "digitalocean",
            "linode",
            " ovh ",
            "hetzner",
            "vultr",
            "choopa",
            "leaseweb",
            "contabo",
            "alibaba",
            "tencent",
            "oracle",
            "sakura internet",
            "rackspace",
            "scaleway",
            "hostinger",
            "ionos",
            " m247 ",
            "gcore",
            "stackpath",
            "zscaler",
            "netskope",
        ],
    ),
    (
        NetworkKind::Mobile,
        &[
            "mobile",
            " mobil ",
            "cellular",
            "celular",
            " movil",
            " lte ",
            "docomo",
            "vodafone",
            "vimpelcom",
            "beeline",
            "megafon",
            "lifecell",
            "kyivstar",
            "digicel",
            "airtel",
            "telkomsel",
            "indosat",
            "mobile telesystems",
            " mts pjsc ",
            "t mobile",
        ],
    ),
    (
        NetworkKind::Education,
        &[
            "university",
            "universidad",
            "universidade",
            "universite",
            "universita",
            "universitat",
            "universiteit",
            "college",
            " school",
            "schule",
            "academy",
            "education",
            "educacion",
            "educacao",
            "research and educational",
            "research network",
            "institute of technology",
            "polytechnic",
            " campus ",
            " sinet ",
            " jisc ",
            " renater ",
            " dfn ",
        ],
    ),
    (
        NetworkKind::Government,
        &[
            "government",
            "governance",
            "emergency response",
            " ministry",
            "ministerio",
            "ministere",
            "ministerstvo",
            " county ",
            " city of ",
            "municipal",
            "municipio",
            "prefeitura",
            " council ",
            "department of",
            " agency",
            " authority",
            " federal ",
            "bundesamt",
            " police",
            "military",
            " army ",
            " defence ",
            " defense ",
            "central bank",
            "parliament",
            " kabupaten ",
            " pemerintah ",
            " dinas ",
            " badan ",
            "urzad",
            "kommun",
            "state of ",
            " gouv",
        ],
    ),
    (
        NetworkKind::Isp,
        &[
            "telecom",
            "telekom",
            "telecomunica",
            "telecommunication",
            "telekomunik",
            "telematic",
            "communications",
            "comunicac",
            "comunicaco",
            "telephone",
            "telefon",
            " tel ",
            " telco",
            "broadband",
            "internet",
            " isp ",
            " net ",
            "networks",
            " network ",
            "cable",
            " fiber",
            " fibre",
            " fibra",
            "wireless",
            "wifi",
            " wisp",
            "provedor",
            "provider",
            "infonet",
            " dsl ",
            " ftth ",
            "iletisim",
            "tavkozles",
            "online",
            "connect",
            "satelit",
            "satellite",
            " ntt ",
            "kddi",
            "softbank",
            "comcast",
            "verizon",
            " at&t ",
            "charter comm",
            "cox comm",
            "centurylink",
            "lumen",
            "singtel",
            "zayo",
            "cogent",
            "level 3",
            "hurricane electric",
            "telia",
            "seacom",
            " voip",
            "cooperativa",
            " coop ",
        ],
    ),
];

/// Word endings and beginnings that name a kind: operators coin names like "Magicnet",
/// "Netvision" or "Sprinthost". Checked after [`KEYWORDS`], word by word.
pub(super) const AFFIXES: &[(NetworkKind, &[&str], &[&str])] = &[
    // (kind, suffixes, prefixes)
    (
        NetworkKind::Hosting,
        &["host", "hosting", "cloud", "server", "servers", "vps"],
        &[],
    ),
    (
        NetworkKind::Isp,
        &["net", "telecom", "tel", "fibra", "fiber", "wifi"],
        &["net", "tele"],
    ),
];

/// Words too short for an affix rule to mean anything ("net" itself is a keyword).
pub(super) const MIN_AFFIX_WORD: usize = 5;
