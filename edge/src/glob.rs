//! URL path globs: `*` matches any run of characters (slashes included), everything else
//! matches itself. Compiled once into literal pieces so that matching a page view is a few
//! substring searches, which is what keeps a decision over a hundred rules within microseconds.

use std::fmt;

/// A compiled glob such as `/faq*` or `/demo/*pricing*`. Configuration files hold them as
/// strings; a bad one fails with its line like any other bad value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Glob {
    source: String,
    /// The text between stars, in order.
    pieces: Vec<String>,
    /// The glob begins with `*`: the first piece may start anywhere.
    open_start: bool,
    /// The glob ends with `*`: the last piece may end anywhere.
    open_end: bool,
}

impl Glob {
    /// Compiles a glob; an empty pattern is refused because it would only match nothing.
    pub fn new(source: &str) -> Result<Glob, String> {
        if source.is_empty() {
            return Err("a glob cannot be empty; use \"*\" to match everything".into());
        }
        if source.len() > 512 || source.chars().any(char::is_control) {
            return Err(format!(
                "glob `{source}` must be at most 512 characters without control characters"
            ));
        }
        let pieces = source
            .split('*')
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Glob {
            source: source.to_string(),
            pieces,
            open_start: source.starts_with('*'),
            open_end: source.ends_with('*'),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, text: &str) -> bool {
        let mut rest = text;
        let count = self.pieces.len();
        if count == 0 {
            // Only stars: anything matches.
            return true;
        }
        for (i, piece) in self.pieces.iter().enumerate() {
            let first = i == 0;
            let last = i + 1 == count;
            if first && !self.open_start {
                match rest.strip_prefix(piece.as_str()) {
                    Some(after) => rest = after,
                    None => return false,
                }
                if last && !self.open_end {
                    return rest.is_empty();
                }
                continue;
            }
            if last && !self.open_end {
                return rest.ends_with(piece.as_str());
            }
            match find(rest.as_bytes(), piece.as_bytes()) {
                // A match of valid UTF-8 in valid UTF-8 starts and ends on character boundaries.
                Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

impl TryFrom<String> for Glob {
    type Error = String;
    fn try_from(source: String) -> Result<Glob, String> {
        Glob::new(&source)
    }
}

/// Where `needle` first occurs in `hay`. Paths and pieces are a few dozen bytes: a plain scan
/// for the first byte beats the setup of a general substring search many times over.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut at = 0;
    while at <= last_start {
        at += hay[at..=last_start].iter().position(|&b| b == first)?;
        // Inline: pieces are short, a call to memcmp would cost more than the comparison.
        if hay[at..].iter().zip(needle).all(|(a, b)| a == b) {
            return Some(at);
        }
        at += 1;
    }
    None
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The path of a page URL: what page globs are matched against (no scheme, host, query or
/// fragment). A URL without a path is `/`. Every page view a decision first meets passes
/// through here: a few vectorised byte searches, no substring searcher built per URL.
pub fn url_path(url: &str) -> &str {
    // Scheme, host and path come before the first `?` or `#`; what follows is never the path
    // (not even a URL inside a query parameter).
    let end = memchr::memchr2(b'?', b'#', url.as_bytes()).unwrap_or(url.len());
    path_before(url, end)
}

/// `url_path` of a URL whose query or fragment starts at `end` (its length when it has
/// neither), for a caller that has found `end` already.
pub fn path_before(url: &str, end: usize) -> &str {
    let head = url.as_bytes().get(..end).unwrap_or_default();
    let after_scheme = match memchr::memchr(b':', head) {
        Some(at) if head.get(at + 1..at + 3) == Some(b"//") => at + 3,
        _ => 0,
    };
    let start = head
        .get(after_scheme..)
        .and_then(|rest| memchr::memchr(b'/', rest))
        .map(|at| after_scheme + at);
    // Both ends sit on ASCII bytes: character boundaries.
    start.and_then(|start| url.get(start..end)).unwrap_or("/")
}

/// The value of one query parameter of a URL, undecoded (UTM values are plain words).
pub fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// The values of several query parameters of a URL, in `names` order, each as `query_param`
/// reads it (its first occurrence), in one pass over the query rather than one per name.
pub fn query_params<'a, const N: usize>(url: &'a str, names: &[&str; N]) -> [Option<&'a str>; N] {
    let mut values = [None; N];
    let Some((_, query)) = url.split_once('?') else {
        return values;
    };
    let query = query.split('#').next().unwrap_or_default();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(at) = names.iter().position(|n| *n == key)
            && let Some(slot @ None) = values.get_mut(at)
        {
            *slot = Some(value);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_shell_patterns_over_paths() {
        let cases: &[(&str, &str, bool)] = &[
            ("/faq*", "/faq", true),
            ("/faq*", "/faq.html", true),
            ("/faq*", "/demo/faq.html", false),
            ("*/faq*", "/demo/faq.html", true),
            ("/demo/*pricing*", "/demo/en/pricing.html", true),
            ("/demo/*pricing*", "/demo/product.html", false),
            ("/pricing", "/pricing", true),
            ("/pricing", "/pricing/", false),
            ("*", "/anything/at/all", true),
            ("*.html", "/demo/faq.html", true),
            ("*.html", "/demo/faq.htm", false),
            ("/a*b*c", "/axxbyyc", true),
            ("/a*b*c", "/axxbyycd", false),
            ("/a*a", "/a", false),
            ("/a*a", "/aa", true),
        ];
        for (glob, path, expected) in cases {
            let compiled = Glob::new(glob).expect("valid glob");
            assert_eq!(compiled.matches(path), *expected, "{glob} vs {path}");
        }
        assert!(Glob::new("").is_err());
    }

    #[test]
    fn paths_and_query_parameters_are_read_off_urls() {
        assert_eq!(
            url_path("https://a.jp/demo/faq.html?x=1#top"),
            "/demo/faq.html"
        );
        assert_eq!(url_path("https://a.jp"), "/");
        assert_eq!(url_path("https://a.jp?x=1"), "/");
        assert_eq!(url_path("https://a.jp?next=/faq"), "/");
        assert_eq!(url_path("/demo/faq.html#top"), "/demo/faq.html");
        // A URL inside the query is not where the path is.
        assert_eq!(url_path("a.jp/x?next=https://b.jp/y"), "/x");
        assert_eq!(url_path("https://a.jp:8080/p?q"), "/p");
        assert_eq!(url_path("localhost:8080/x"), "/x");
        assert_eq!(url_path("https://a.jp/デモ/faq"), "/デモ/faq");
        assert_eq!(url_path("https://a.jp#/faq"), "/");
        let url = "https://a.jp/p?utm_source=mail&utm_medium=&x#f";
        assert_eq!(query_param(url, "utm_source"), Some("mail"));
        assert_eq!(query_param(url, "utm_medium"), Some(""));
        assert_eq!(query_param(url, "x"), Some(""));
        assert_eq!(query_param(url, "utm_campaign"), None);
    }

    #[test]
    fn query_params_read_each_name_as_query_param_does() {
        let names = ["utm_source", "utm_medium", "x", "utm_campaign", ""];
        for url in [
            "https://a.jp/p?utm_source=mail&utm_medium=&x#f",
            "https://a.jp/p?utm_source=a&utm_source=b&&x=1=2",
            "https://a.jp/p?#utm_source=mail",
            "https://a.jp/p#top?utm_source=mail",
            "https://a.jp/p?utm_source",
            "https://a.jp/p",
            "?=&utm_medium=m",
        ] {
            let expected = names.map(|n| query_param(url, n));
            assert_eq!(query_params(url, &names), expected, "{url}");
        }
    }
}
