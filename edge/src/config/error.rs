//! Configuration errors that point at the file, line and key an operator has to fix.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A configuration problem, located in its file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{path}: cannot read the configuration: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read, but something in it is wrong.
    #[error("{0}")]
    Invalid(Located),
}

/// A message with the place in the file it is about.
#[derive(Debug)]
pub struct Located {
    pub path: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// The dotted key the problem is about, when known (`sites[0].origins`).
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl ConfigError {
    /// An error at a byte span of the source text.
    pub fn at(
        path: &Path,
        source: &str,
        span: Option<Range<usize>>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(span) => {
                let (line, column) = line_and_column(source, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError::Invalid(Located {
            path: path.to_path_buf(),
            line,
            column,
            key,
            message: message.into(),
        })
    }

    /// A parse error: the key is read off the text around the span, since the parser's own
    /// message often names only the expected type.
    pub fn parse(path: &Path, source: &str, span: Option<Range<usize>>, message: &str) -> Self {
        let key = span.as_ref().and_then(|span| key_at(source, span.start));
        Self::at(path, source, span, key, message)
    }

    /// The line the error points at, for tests and tools.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Invalid(located) => located.line,
        }
    }
}

/// The 1-based line of a byte offset, for messages and tools that point into the file.
pub fn line_of(source: &str, offset: usize) -> usize {
    line_and_column(source, offset).0
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    // Vectorised: compiling rules asks for the line of every rule, each time from the top.
    let line = memchr::memchr_iter(b'\n', before.as_bytes()).count() + 1;
    let line_start = memchr::memrchr(b'\n', before.as_bytes()).map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The dotted key whose value is at `offset`: the nearest table header above the line, then
/// the key before `=` on the line.
fn key_at(source: &str, offset: usize) -> Option<String> {
    let offset = offset.min(source.len());
    let before = source.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = source[line_start..]
        .find('\n')
        .map_or(source.len(), |i| line_start + i);
    let line = source.get(line_start..line_end)?;
    let (name, _) = line.split_once('=')?;
    let name = name.trim();
    if name.is_empty() || name.starts_with('#') {
        return None;
    }
    let table = source[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(table) if !table.is_empty() => format!("{table}.{name}"),
        _ => name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbb = 2\n日本 = 3\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 9), (2, 4));
        let kanji = text.find("= 3").expect("in text");
        assert_eq!(line_and_column(text, kanji), (3, 4));
    }

    #[test]
    fn keys_are_read_off_the_text() {
        let text = "top = 1\n[server]\nlisten = \"x\"\n[[sites]]\nkey = \"a\"\n";
        assert_eq!(key_at(text, 2), Some("top".into()));
        let at = text.find("\"x\"").expect("in text");
        assert_eq!(key_at(text, at), Some("server.listen".into()));
        let at = text.find("\"a\"").expect("in text");
        assert_eq!(key_at(text, at), Some("sites.key".into()));
        assert_eq!(key_at(text, text.find("[server]").expect("in text")), None);
    }

    #[test]
    fn message_names_file_line_and_key() {
        let err = ConfigError::at(
            Path::new("edge.toml"),
            "x = 1\ny = 2\n",
            Some(6..7),
            Some("y".into()),
            "must be a string",
        );
        assert_eq!(err.to_string(), "edge.toml:2:1: `y`: must be a string");
        assert_eq!(err.line(), Some(2));
    }
}
