//! Email addresses as person keys: one normal form, and the free-mail domains that never name a
//! company.

/// The longest address: RFC 5321 allows a path of 256 octets including the angle brackets. It
/// is also what an email-click token can carry whole (`signing::MAX_PART`).
pub const MAX_LEN: usize = 254;

/// Trimmed and lower-cased; `None` when it is not a plausible address. Lower-casing the local
/// part is not strictly what RFC 5321 allows, but every mail system a B2B visitor uses treats it
/// case-insensitively, and two records for one person are worse than none. The length is checked
/// after lower-casing, which can make a text longer.
pub fn normalize(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let plausible = email.len() <= MAX_LEN
        && !local.is_empty()
        && local.len() <= 64
        && domain.len() <= 253
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(email)
}

/// The domain part of a normalised address.
pub fn domain(email: &str) -> Option<&str> {
    email.split_once('@').map(|(_, d)| d)
}

/// Consumer mail providers: an address there says nothing about the employer.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.jp",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.jp",
    "outlook.com",
    "outlook.jp",
    "live.com",
    "live.jp",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "protonmail.com",
    "proton.me",
    "gmx.com",
    "gmx.de",
    "mail.com",
    "yandex.ru",
    "qq.com",
    "163.com",
    "126.com",
    "naver.com",
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "nifty.com",
    "biglobe.ne.jp",
    "ocn.ne.jp",
    "so-net.ne.jp",
    "excite.co.jp",
    "zoho.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
];

/// The company domain an address names, unless it is a free-mail address.
pub fn company_domain(email: &str) -> Option<&str> {
    domain(email).filter(|d| !FREE_MAIL.contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_or_refused() {
        let cases = [
            (
                "  Taro.Yamada@Example.CO.JP ",
                Some("taro.yamada@example.co.jp"),
            ),
            ("a@b.jp", Some("a@b.jp")),
            ("no-at-sign", None),
            ("@example.jp", None),
            ("a@localhost", None),
            ("a@b@c.jp", None),
            ("a b@c.jp", None),
            ("a@.jp", None),
            ("", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize(raw).as_deref(), expected, "{raw:?}");
        }
    }

    #[test]
    fn addresses_over_254_bytes_are_refused() {
        let local = "a".repeat(64);
        let domain = |len: usize| format!("{}.jp", "b".repeat(len - 3));
        let longest = format!("{local}@{}", domain(189));
        assert_eq!(longest.len(), MAX_LEN);
        assert_eq!(normalize(&longest).as_deref(), Some(longest.as_str()));
        let over = format!("{local}@{}", domain(190));
        assert_eq!(normalize(&over), None, "255 bytes");
        // What the old bounds let through (64 + 1 + 253): longer than a token can carry.
        assert_eq!(normalize(&format!("{local}@{}", domain(253))), None);
    }

    #[test]
    fn free_mail_names_no_company() {
        assert_eq!(company_domain("a@example.co.jp"), Some("example.co.jp"));
        assert_eq!(company_domain("a@gmail.com"), None);
        assert_eq!(company_domain("a@docomo.ne.jp"), None);
    }
}
