//! Text from a file's bytes: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's
//! "Unicode text"), else Shift_JIS as Japanese Excel saves CSV by default. encoding_rs's
//! Shift_JIS is the WHATWG one, which is Microsoft's CP932 (Windows-31J): NEC and IBM
//! extensions such as ①, ㈱ and 髙 decode as Excel wrote them.

use std::borrow::Cow;

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};

/// The encodings a caller may name instead of letting the bytes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    ShiftJis,
}

impl Charset {
    pub fn parse(text: &str) -> Option<Charset> {
        match text.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Charset::Utf8),
            "shift-jis" | "sjis" | "cp932" | "windows-31j" | "ms932" => Some(Charset::ShiftJis),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error(
        "the file is neither UTF-8 nor Shift_JIS (CP932): save it from the spreadsheet as \
         \"CSV UTF-8\" or \"CSV\""
    )]
    Unknown,
    #[error("the file is not valid {0}")]
    NotThat(&'static str),
}

/// The text of `bytes`: in `charset` when given, else as the byte-order mark says, else UTF-8
/// when it is valid UTF-8, else Shift_JIS. A byte sequence that is none of these refuses the
/// file rather than importing names with replacement characters in them.
pub fn decode(bytes: &[u8], charset: Option<Charset>) -> Result<Cow<'_, str>, DecodeError> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let rest = &bytes[bom..];
        return encoding
            .decode_without_bom_handling_and_without_replacement(rest)
            .ok_or(DecodeError::NotThat(encoding.name()));
    }
    match charset {
        Some(Charset::Utf8) => strict(UTF_8, bytes),
        Some(Charset::ShiftJis) => strict(SHIFT_JIS, bytes),
        None => strict(UTF_8, bytes)
            .or_else(|_| strict(SHIFT_JIS, bytes))
            .map_err(|_| DecodeError::Unknown),
    }
}

fn strict<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Result<Cow<'a, str>, DecodeError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or(DecodeError::NotThat(encoding.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sjis(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
        assert!(!unmappable, "{text} is in CP932");
        bytes.into_owned()
    }

    #[test]
    fn utf8_with_and_without_a_mark_and_shift_jis_read_alike() {
        let text = "メールアドレス,氏名\nhanako@example.co.jp,髙橋 花子 ㈱①\n";
        let mut marked = vec![0xEF, 0xBB, 0xBF];
        marked.extend_from_slice(text.as_bytes());
        assert_eq!(decode(text.as_bytes(), None).as_deref(), Ok(text));
        assert_eq!(decode(&marked, None).as_deref(), Ok(text));
        assert_eq!(decode(&sjis(text), None).as_deref(), Ok(text));
        assert_eq!(
            decode(&sjis(text), Some(Charset::ShiftJis)).as_deref(),
            Ok(text)
        );
    }

    #[test]
    fn bytes_of_no_known_encoding_refuse_the_file() {
        // 0x82 0xFF is no Shift_JIS character, and not UTF-8 either.
        assert_eq!(decode(b"a,b\n\x82\xFF\n", None), Err(DecodeError::Unknown));
        assert_eq!(
            decode(&sjis("氏名"), Some(Charset::Utf8)),
            Err(DecodeError::NotThat("UTF-8"))
        );
        assert_eq!(Charset::parse("CP932"), Some(Charset::ShiftJis));
        assert_eq!(Charset::parse("latin1"), None);
    }
}
