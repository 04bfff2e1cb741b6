//! URL, query-string and cookie helpers. UTM parameters stay in the reported URL (the edge
//! parses them); only the email-click token `mk_t` is taken out.

/// Query parameter that carries a signed email-click token on a landing URL.
pub const TOKEN_PARAM: &str = "mk_t";
/// The query parameter of a popup preview link.
pub const PREVIEW_PARAM: &str = "mk_preview";

/// File extensions whose links count as downloads.
const DOWNLOADS: [&str; 9] = [
    "pdf", "pptx", "ppt", "docx", "doc", "xlsx", "xls", "zip", "csv",
];

/// Removes every `name=value` pair from the query of `url` and returns the first value
/// (percent-decoded) with the URL that remains. The fragment is kept; an emptied query loses
/// its `?`.
pub fn take_param(url: &str, name: &str) -> (Option<String>, String) {
    let (before_hash, hash) = url
        .find('#')
        .and_then(|i| url.split_at_checked(i))
        .unwrap_or((url, ""));
    let Some((base, query)) = before_hash.split_once('?') else {
        return (None, url.to_owned());
    };
    let mut value = None;
    let mut kept = String::with_capacity(query.len());
    for pair in query.split('&') {
        let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(key) == name {
            if value.is_none() {
                value = Some(decode(raw));
            }
            continue;
        }
        if pair.is_empty() {
            continue;
        }
        if !kept.is_empty() {
            kept.push('&');
        }
        kept.push_str(pair);
    }
    if value.is_none() {
        return (None, url.to_owned());
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(base);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept);
    }
    out.push_str(hash);
    (value, out)
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte; invalid
/// escapes stay as they are and text that decodes to invalid UTF-8
/// is kept undecoded.
pub fn decode(s: &str) -> String {
    if !s.contains(['+', '%']) {
        return s.to_owned();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let mut ahead = bytes.clone();
                match (ahead.next().and_then(hex), ahead.next().and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        bytes = ahead;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Whether `href` (an absolute URL) points at a downloadable document by its extension.
pub fn is_download(href: &str) -> bool {
    if !is_http(href) {
        return false;
    }
    let path = href.split(['?', '#']).next().unwrap_or("");
    // Skip "scheme://host" so that a bare host such as "https://files.zip" is not a download.
    let scheme = if path.as_bytes().get(4) == Some(&b':') {
        7
    } else {
        8
    };
    let Some((_, path)) = path.get(scheme..).and_then(|p| p.split_once('/')) else {
        return false;
    };
    let file = path.rsplit('/').next().unwrap_or("");
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            DOWNLOADS.iter().any(|d| d.eq_ignore_ascii_case(ext))
        }
        _ => false,
    }
}

/// Whether `url` is an absolute http(s) URL.
pub fn is_http(url: &str) -> bool {
    let starts = |p: &str| {
        url.get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    starts("https://") || starts("http://")
}

/// The value of cookie `name` in a `document.cookie` string.
pub fn cookie_value<'a>(cookies: &'a str, name: &str) -> Option<&'a str> {
    cookies.split(';').find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Whether a visitor id from the edge or from storage is safe to keep and send: the edge's ids
/// are opaque base64url text, so anything else (which could also break a cookie) is refused.
pub fn valid_vid(vid: &str) -> bool {
    (8..=128).contains(&vid.len())
        && vid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// The id a conversion reports for a form: its `data-mikomi-form`, `id` or `name`, else "form".
pub fn form_id(candidates: &[Option<String>]) -> String {
    let id = candidates
        .iter()
        .flatten()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("form");
    crate::json::truncate(id, crate::event::MAX_ID).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_token_and_keeps_utm_and_fragment() {
        let (t, u) = take_param(
            "https://a.example/lp?utm_source=mail&mk_t=abc%2Edef&utm_campaign=x#top",
            TOKEN_PARAM,
        );
        assert_eq!(t.as_deref(), Some("abc.def"));
        assert_eq!(u, "https://a.example/lp?utm_source=mail&utm_campaign=x#top");
    }

    #[test]
    fn an_emptied_query_loses_its_question_mark() {
        let (t, u) = take_param("https://a.example/lp?mk_t=t1&mk_t=t2#h", TOKEN_PARAM);
        assert_eq!(t.as_deref(), Some("t1"));
        assert_eq!(u, "https://a.example/lp#h");
    }

    #[test]
    fn urls_without_the_token_are_unchanged() {
        for url in [
            "https://a.example/",
            "https://a.example/?a=1&&b=2",
            "https://a.example/#mk_t=x",
            "https://a.example/?mk_tx=1",
        ] {
            assert_eq!(take_param(url, TOKEN_PARAM), (None, url.to_string()));
        }
    }

    #[test]
    fn decodes_form_encoding() {
        assert_eq!(decode("a+b%20c"), "a b c");
        assert_eq!(decode("%E6%96%99%E9%87%91"), "料金");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%ff"), "%ff");
    }

    #[test]
    fn recognises_downloads_by_extension() {
        for yes in [
            "https://a.example/files/brochure.pdf",
            "http://a.example/x/Deck.PPTX?v=2",
            "https://a.example/a.docx#p1",
            "https://a.example/b.xlsx",
            "https://a.example/c.zip",
        ] {
            assert!(is_download(yes), "{yes}");
        }
        for no in [
            "https://a.example/pricing.html",
            "https://a.example/pdf",
            "https://a.example/.pdf",
            "https://files.zip",
            "https://a.example/page?file=x.pdf",
            "mailto:a@b.example",
            "javascript:void(0)",
        ] {
            assert!(!is_download(no), "{no}");
        }
    }

    #[test]
    fn reads_cookies() {
        let c = "a=1; _mkvid=abc_DEF-123; b=";
        assert_eq!(cookie_value(c, "_mkvid"), Some("abc_DEF-123"));
        assert_eq!(cookie_value(c, "b"), Some(""));
        assert_eq!(cookie_value(c, "mkvid"), None);
        assert_eq!(cookie_value("", "a"), None);
    }

    #[test]
    fn accepts_only_token_shaped_visitor_ids() {
        assert!(valid_vid("Zm9vYmFyYmF6cXV4LXF1dXhfYWJjZGVm"));
        assert!(!valid_vid("short"));
        assert!(!valid_vid("abc;def=ghijkl"));
        assert!(!valid_vid("abc defghijkl"));
        assert!(!valid_vid(&"a".repeat(129)));
    }

    #[test]
    fn form_ids_fall_back_in_order() {
        assert_eq!(
            form_id(&[None, Some(" ".into()), Some("contact".into())]),
            "contact"
        );
        assert_eq!(form_id(&[None, None]), "form");
        assert_eq!(form_id(&[Some("x".repeat(80))]).len(), 64);
    }
}
