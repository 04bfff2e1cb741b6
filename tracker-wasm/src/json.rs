//! A minimal JSON writer: the tag only ever writes JSON, and a hand-written writer costs far
//! less inside the wasm module than a serialisation framework.

/// Appends `s` as a JSON string literal (with quotes) to `out`.
pub fn push_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Control characters, and the two separators that break JavaScript string literals.
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let n = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((n >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a non-negative integer in decimal.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// Appends `,"key":` (without the comma when `first`).
pub fn push_key(out: &mut String, key: &str, first: bool) {
    if !first {
        out.push(',');
    }
    push_str(out, key);
    out.push(':');
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    // `get` rather than indexing: no panic path (and its formatting code) in the module.
    s.get(..end).unwrap_or("")
}

/// Whether `needle` occurs in `haystack`. A plain byte scan: `str::contains` with a string
/// pattern brings the two-way searcher and its panic formatting into the module.
pub fn contains(haystack: &str, needle: &str) -> bool {
    let n = needle.len();
    n == 0
        || haystack
            .as_bytes()
            .windows(n)
            .any(|w| w == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> String {
        let mut out = String::new();
        push_str(&mut out, s);
        out
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(lit(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(lit("x\ny\r\tz"), r#""x\ny\r\tz""#);
        assert_eq!(lit("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(lit("\u{2028}"), r#""\u2028""#);
    }

    #[test]
    fn keeps_non_ascii_text() {
        assert_eq!(lit("会社名"), "\"会社名\"");
    }

    #[test]
    fn finds_substrings() {
        assert!(contains("会社名", "社"));
        assert!(contains("company_name", "name"));
        assert!(contains("abc", ""));
        assert!(!contains("ab", "abc"));
        assert!(!contains("emial", "mail"));
    }

    #[test]
    fn writes_integers() {
        for n in [0u64, 7, 10, 1_700_000_000_000, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn truncates_at_char_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abc", 2), "ab");
        // Each of these characters is three bytes long.
        assert_eq!(truncate("氏名です", 7), "氏名");
        assert_eq!(truncate("氏名です", 6), "氏名");
        assert_eq!(truncate("氏名です", 5), "氏");
    }
}
