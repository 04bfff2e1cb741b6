//! Hostile traffic for the load-and-fault run: beside the valid page views, a stream of
//! malformed, oversize, forged, misaddressed and slow requests, each from its own forwarded
//! address (an attacker with many addresses, so that per-address limits do not simply refuse
//! them all before they cost anything).

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What the hostile stream sent, and how the edge answered it.
#[derive(Debug, Default, Clone, Copy)]
pub struct FaultCounts {
    pub sent: u64,
    /// Answered 4xx: refused, as they should be.
    pub refused: u64,
    /// Answered 2xx: a fault that got through (none should).
    pub accepted: u64,
    /// Answered 5xx: the edge failed on hostile input (none should).
    pub server_errors: u64,
    /// Dribbled bodies the edge cut off.
    pub slow_cut: u64,
}

impl std::ops::AddAssign for FaultCounts {
    fn add_assign(&mut self, other: FaultCounts) {
        self.sent += other.sent;
        self.refused += other.refused;
        self.accepted += other.accepted;
        self.server_errors += other.server_errors;
        self.slow_cut += other.slow_cut;
    }
}

/// Sends hostile requests on `connections` keep-alive connections, plus `dribblers` clients
/// that send a body a byte at a time, until `stop_at`.
pub async fn run(
    address: &str,
    connections: usize,
    dribblers: usize,
    stop_at: Instant,
) -> anyhow::Result<FaultCounts> {
    let mut tasks = Vec::new();
    for index in 0..connections {
        let address = address.to_string();
        tasks.push(tokio::spawn(async move {
            hostile(&address, index, stop_at).await
        }));
    }
    for index in 0..dribblers {
        let address = address.to_string();
        tasks.push(tokio::task::spawn_blocking(move || {
            dribble(&address, index, stop_at)
        }));
    }
    let mut counts = FaultCounts::default();
    for task in tasks {
        counts += task.await??;
    }
    Ok(counts)
}

/// One connection of hostile requests, reconnecting whenever the edge closes it.
async fn hostile(address: &str, index: usize, stop_at: Instant) -> anyhow::Result<FaultCounts> {
    let mut counts = FaultCounts::default();
    let mut n: u64 = 0;
    while Instant::now() < stop_at {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        while Instant::now() < stop_at {
            n += 1;
            let request = fault(address, index, n)?;
            if sender.ready().await.is_err() {
                break; // closed by the edge: connect again
            }
            let Ok(response) = sender.send_request(request).await else {
                break;
            };
            counts.sent += 1;
            let status = response.status();
            let _ = response.into_body().collect().await;
            if status.is_success() {
                counts.accepted += 1;
            } else if status.is_server_error() {
                counts.server_errors += 1;
            } else {
                counts.refused += 1;
            }
        }
    }
    Ok(counts)
}

/// The `n`th hostile request of a connection: each kind in turn.
fn fault(address: &str, index: usize, n: u64) -> anyhow::Result<Request<Full<Bytes>>> {
    let forwarded = format!("10.{}.{}.{}", index & 0xff, (n >> 8) & 0xff, n & 0xff);
    let page = |site: &str, vid: &str| {
        serde_json::json!({"site": site, "vid": vid, "events": [
            {"type": "pageview", "url": "http://127.0.0.1:8080/demo/product.html"}]})
        .to_string()
    };
    let (origin, body): (&str, String) = match n % 6 {
        // Not JSON at all.
        0 => (
            "http://127.0.0.1:8080",
            "{\"site\": \"bench\", \"events\": [".into(),
        ),
        // Over the body limit (64 KiB).
        1 => (
            "http://127.0.0.1:8080",
            format!(
                "{{\"site\":\"bench\",\"events\":[{{\"type\":\"pageview\",\"url\":\"http://127.0.0.1:8080/{}\"}}]}}",
                "a".repeat(80 * 1024)
            ),
        ),
        // A visitor id with a forged signature: the edge mints a new one, so it is sent to an
        // unknown site as well, which is refused.
        2 => (
            "http://127.0.0.1:8080",
            page("no-such-site", "v1.AAAAAAAAAAAAAAAAAAAAAA.forgedsignature"),
        ),
        // Another origin than the site's.
        3 => ("https://attacker.example", page("bench", "")),
        // Valid JSON, wrong shape.
        4 => (
            "http://127.0.0.1:8080",
            "{\"site\":\"bench\",\"events\":[{\"type\":\"conversion\",\"fields\":42}]}".into(),
        ),
        // HTML and a formula where a company name could go, to an unknown site.
        _ => (
            "http://127.0.0.1:8080",
            page("<script>alert(1)</script>", "=HYPERLINK(\"http://x\")"),
        ),
    };
    Ok(Request::post("/v1/collect")
        .header("host", address)
        .header("origin", origin)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36",
        )
        .header("x-forwarded-for", forwarded)
        .body(Full::new(Bytes::from(body)))?)
}

/// A client that sends its headers, then its body a byte every 100 ms, again and again.
fn dribble(address: &str, index: usize, stop_at: Instant) -> anyhow::Result<FaultCounts> {
    use std::io::Read;
    let mut counts = FaultCounts::default();
    while Instant::now() < stop_at {
        let Ok(mut stream) = std::net::TcpStream::connect(address) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        stream.set_read_timeout(Some(Duration::from_millis(100)))?;
        let head = format!(
            "POST /v1/collect HTTP/1.1\r\nhost: {address}\r\norigin: http://127.0.0.1:8080\r\n\
             content-type: application/json\r\nx-forwarded-for: 10.200.{}.1\r\n\
             content-length: 10000\r\n\r\n",
            index & 0xff
        );
        if stream.write_all(head.as_bytes()).is_err() {
            continue;
        }
        counts.sent += 1;
        let mut answer = [0u8; 512];
        while Instant::now() < stop_at {
            if stream.write_all(b" ").is_err() {
                counts.slow_cut += 1;
                break;
            }
            match stream.read(&mut answer) {
                Ok(0) => {
                    counts.slow_cut += 1;
                    break;
                }
                Ok(n) => {
                    if answer[..n].starts_with(b"HTTP/1.1 408") {
                        counts.slow_cut += 1;
                        counts.refused += 1;
                    }
                    break;
                }
                Err(_) => {} // nothing yet
            }
        }
    }
    Ok(counts)
}
