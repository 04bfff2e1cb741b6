//! URL path globs for configuration: `*` matches any run of characters, `?` one character.

/// Whether `path` matches `pattern` as a whole.
pub fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = path.chars().collect();
    // Iterative wildcard matching with one backtrack point: linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The path of an absolute URL (`https://a.jp/pricing?x=1` → `/pricing`).
pub fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_start = after_scheme.find('/').unwrap_or(after_scheme.len());
    let path = &after_scheme[path_start..];
    let end = path.find(['?', '#']).unwrap_or(path.len());
    if end == 0 { "/" } else { &path[..end] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_paths() {
        let cases = [
            ("/pricing*", "/pricing", true),
            ("/pricing*", "/pricing.html", true),
            ("/pricing*", "/demo/pricing.html", false),
            ("*/pricing*", "/demo/pricing.html", true),
            ("/faq", "/faq", true),
            ("/faq", "/faq/", false),
            ("/p?ge", "/page", true),
            ("*", "", true),
            ("/a*b*c", "/aXXbYYc", true),
            ("/a*b*c", "/aXXbYY", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(matches(pattern, path), expected, "{pattern} vs {path}");
        }
    }

    #[test]
    fn paths_come_out_of_urls() {
        assert_eq!(url_path("https://a.jp/pricing?x=1#y"), "/pricing");
        assert_eq!(url_path("https://a.jp"), "/");
        assert_eq!(url_path("http://127.0.0.1:8080/demo/"), "/demo/");
    }
}
