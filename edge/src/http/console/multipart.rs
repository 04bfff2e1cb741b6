//! `multipart/form-data` as a browser posts a form with a file in it (RFC 7578): the one
//! console form that carries a file, the people list upload. Only what browsers send is read:
//! parts separated by the boundary the `Content-Type` names, each with a
//! `Content-Disposition: form-data; name="…"` header (and `filename="…"` for a file); anything
//! else refuses the body. The whole body is already in memory, within `[imports] max_bytes`.

use memchr::memmem;

/// One field of the form: its name and its bytes as sent.
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub data: &'a [u8],
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error("the upload is not multipart/form-data with a boundary")]
    NoBoundary,
    #[error("the upload's body is not well-formed multipart/form-data")]
    Malformed,
}

/// The boundary a `Content-Type: multipart/form-data; boundary=…` names.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut params = content_type.split(';');
    let kind = params.next().unwrap_or("").trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NoBoundary);
    }
    params
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or(MultipartError::NoBoundary)
}

/// The parts of `body`, in order.
pub fn parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let open = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let finder = memmem::Finder::new(delimiter.as_bytes());
    let mut rest = body
        .strip_prefix(open.as_bytes())
        .ok_or(MultipartError::Malformed)?;
    let mut out = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(out); // the closing delimiter; an epilogue after it is ignored
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or(MultipartError::Malformed)?;
        let end = finder.find(rest).ok_or(MultipartError::Malformed)?;
        let (part, after) = rest.split_at(end);
        out.push(part_of(part)?);
        rest = &after[delimiter.len()..];
    }
}

/// One part: its headers, a blank line, its bytes.
fn part_of(part: &[u8]) -> Result<Part<'_>, MultipartError> {
    let split = memmem::find(part, b"\r\n\r\n").ok_or(MultipartError::Malformed)?;
    let headers = std::str::from_utf8(&part[..split]).map_err(|_| MultipartError::Malformed)?;
    let data = &part[split + 4..];
    let disposition = headers
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, value)| value)
        .ok_or(MultipartError::Malformed)?;
    let param = |wanted: &str| -> Option<String> {
        disposition
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
    };
    let name = param("name").ok_or(MultipartError::Malformed)?;
    Ok(Part {
        name,
        filename: param("filename"),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body as Chromium posts it: a hidden field, a file with CRLF lines, a button.
    const BODY: &[u8] = b"------WebKitFormBoundaryX\r\n\
Content-Disposition: form-data; name=\"_csrf\"\r\n\r\n\
tok\r\n\
------WebKitFormBoundaryX\r\n\
Content-Disposition: form-data; name=\"file\"; filename=\"seminar.csv\"\r\n\
Content-Type: text/csv\r\n\r\n\
email\r\na@example.co.jp\r\n\r\n\
------WebKitFormBoundaryX\r\n\
Content-Disposition: form-data; name=\"action\"\r\n\r\n\
preview\r\n\
------WebKitFormBoundaryX--\r\n";

    #[test]
    fn a_browsers_form_with_a_file_reads_back_part_by_part() {
        let b = boundary("multipart/form-data; boundary=----WebKitFormBoundaryX").expect("b");
        let parts = parts(BODY, &b).expect("parts");
        assert_eq!(parts.len(), 3);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data),
            ("_csrf", &b"tok"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("seminar.csv"));
        assert_eq!(
            parts[1].data, b"email\r\na@example.co.jp\r\n",
            "the file's own CRLFs kept"
        );
        assert_eq!(parts[2].data, b"preview");
    }

    #[test]
    fn anything_else_is_refused_without_a_panic() {
        assert_eq!(
            boundary("application/x-www-form-urlencoded"),
            Err(MultipartError::NoBoundary)
        );
        assert_eq!(
            boundary("multipart/form-data"),
            Err(MultipartError::NoBoundary)
        );
        let b = "----WebKitFormBoundaryX";
        for cut in 0..BODY.len() - 4 {
            // Every truncation is either refused or yields fewer parts; none panics.
            let _ = parts(&BODY[..cut], b);
        }
        assert!(parts(b"garbage", b).is_err());
        assert!(
            parts(&BODY[..BODY.len() - 4], b).is_err(),
            "no closing delimiter"
        );
    }
}
