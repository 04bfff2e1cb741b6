//! The `smtp-sink` binary of this crate as a child process, and reading back what it took.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::receiver::TestCa;

pub const USER: &str = "mikomi";
pub const PASSWORD: &str = "s3cret-パスワード";

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl SmtpSink {
    /// Starts the sink with a certificate of `ca`, writing mail under `dir`.
    pub fn start(dir: &Path, ca: &TestCa, implicit_tls: bool, reject_first: u32) -> SmtpSink {
        let binary = crate::edge::edge_binary().with_file_name("smtp-sink");
        assert!(
            binary.exists(),
            "{} is missing: build it with `cargo build --workspace --bins`",
            binary.display()
        );
        let (cert, key) = ca.write_server_pem(dir);
        let mail = dir.join("mail");
        let mut command = Command::new(binary);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--user",
                USER,
                "--password",
                PASSWORD,
            ])
            .args(["--reject-first", &reject_first.to_string()])
            .arg("--dir")
            .arg(&mail)
            .arg("--cert")
            .arg(&cert)
            .arg("--key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if implicit_tls {
            command.arg("--implicit");
        }
        let mut child = command.spawn().expect("start smtp-sink");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("smtp-sink says where it listens");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("smtp-sink said {line:?}"));
        SmtpSink {
            child,
            port,
            dir: mail,
        }
    }

    /// Files the sink wrote whose names start with `prefix`, sorted.
    fn files(&self, prefix: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| match prefix {
                    "" => n.ends_with(".eml"),
                    _ => n.starts_with(prefix),
                })
        });
        files.sort();
        files
    }

    pub fn messages(&self) -> Vec<String> {
        self.files("")
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    pub fn rejections(&self) -> usize {
        self.files("rejected-").len()
    }

    pub async fn wait_for_messages(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(Instant::now() < deadline, "no {n} mails within {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header's value, unfolded, with RFC 2047 `=?utf-8?b?…?=` and `=?utf-8?q?…?=` words decoded.
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let line = unfolded.lines().find(|l| {
        l.to_ascii_lowercase()
            .starts_with(&format!("{}:", name.to_ascii_lowercase()))
    })?;
    let value = line[name.len() + 1..].trim();
    Some(decode_words(value))
}

/// Encoded words next to each other join without the space between them (RFC 2047 6.2);
/// any other space stays.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        let lower = word.to_ascii_lowercase();
        let decoded = if lower.starts_with("=?utf-8?b?") && lower.ends_with("?=") {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&word[10..word.len() - 2])
                .unwrap_or_default();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        } else if lower.starts_with("=?utf-8?q?") && lower.ends_with("?=") {
            Some(quoted_printable(
                &word[10..word.len() - 2].replace('_', " "),
            ))
        } else {
            None
        };
        let encoded = decoded.is_some();
        let joined = encoded && previous_encoded;
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        out.push_str(&decoded.unwrap_or_else(|| word.to_string()));
        previous_encoded = encoded;
    }
    out
}

fn quoted_printable(text: &str) -> String {
    let mut bytes = Vec::new();
    let raw = text.replace("=\r\n", "").replace("=\n", "");
    let mut chars = raw.as_bytes().iter().copied();
    while let Some(b) = chars.next() {
        if b == b'=' {
            let hex: Vec<u8> = chars.by_ref().take(2).collect();
            match std::str::from_utf8(&hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => bytes.push(v),
                None => bytes.extend_from_slice(&hex),
            }
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The decoded body of the first part with this content type (`text/plain`, `text/html`).
pub fn part(message: &str, content_type: &str) -> Option<String> {
    let at = message
        .to_ascii_lowercase()
        .find(&format!("content-type: {content_type}"))?;
    let rest = &message[at..];
    let (headers, body) = rest.split_once("\r\n\r\n")?;
    let body = body.split("\r\n--").next()?;
    let encoding = headers
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-transfer-encoding:")
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default();
    Some(match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    })
}
