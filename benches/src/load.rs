//! A closed- or open-loop HTTP/1.1 load generator over keep-alive connections, built on hyper's
//! client. Open loop (a fixed rate) measures latency from each request's scheduled send time,
//! so a stalled server cannot hide its queueing delay (no coordinated omission).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What each request is.
#[derive(Clone, Copy, Debug)]
pub enum Workload {
    /// `POST /` with a small body: for the bare baseline.
    Bare,
    /// `POST /v1/collect` page views from distinct visitors, each behind its own forwarded
    /// address; a visitor's first request mints its id, later ones send it back.
    Collect { visitors_per_connection: usize },
}

#[derive(Clone, Debug)]
pub struct LoadSpec {
    pub address: String,
    pub connections: usize,
    pub warmup: Duration,
    pub measure: Duration,
    /// Total requests per second across connections; `None` sends as fast as answers come.
    pub rate: Option<f64>,
    pub workload: Workload,
}

#[derive(Debug, Default)]
pub struct LoadResult {
    pub requests: u64,
    pub failures: u64,
    /// Successful answers including the warm-up: what the server acknowledged in all.
    pub acknowledged: u64,
    pub elapsed: Duration,
    /// Microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Each measured answer's latency in microseconds, by the second of the run it was
    /// scheduled in (0 = the first measured second): where a stall shows.
    pub by_second: Vec<(u32, u32)>,
    /// When the measurement started, for finding a stall's second in a server's log.
    pub measured_from: Option<std::time::SystemTime>,
    /// The share of the machine's CPU time the hypervisor took in each measured second (see
    /// `steal`); empty where it cannot be read.
    pub stolen_by_second: Vec<f64>,
    /// How late the load generator itself woke for a scheduled send, by measured second, in
    /// microseconds (open loop only): a client starved of its core sends late, and that
    /// delay shows as latency without being the server's.
    pub client_late_by_second: Vec<(u32, u32)>,
    /// CPU time the server spent over the phase (warm-up included), where it was read.
    pub server_cpu: Option<Duration>,
    /// Measured answers that carried a popup.
    pub popups: u64,
}

/// The second of a run whose answers were slowest.
#[derive(Clone, Copy, Debug)]
pub struct WorstSecond {
    /// Counted from the start of the measurement.
    pub second: u32,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub requests: usize,
    /// The share of CPU time the hypervisor took in that second, where known.
    pub stolen: Option<f64>,
    /// The longest the load generator overslept a scheduled send in that second (open loop).
    pub client_late_ms: f64,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The server's CPU time per answered request (warm-up included on both sides).
    pub fn server_cpu_us_per_request(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.acknowledged > 0).then(|| cpu.as_secs_f64() * 1e6 / self.acknowledged as f64)
    }

    /// The share of CPU time the hypervisor took over the measured seconds, where known.
    pub fn stolen(&self) -> Option<f64> {
        let seconds = &self.stolen_by_second;
        (!seconds.is_empty()).then(|| seconds.iter().sum::<f64>() / seconds.len() as f64)
    }

    /// Latency at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }

    /// The second with the highest p99.
    pub fn worst_second(&self) -> Option<WorstSecond> {
        self.seconds()
            .into_iter()
            .max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms))
    }

    /// The seconds whose p99 passed `ms`, in order: each is a stall to explain.
    pub fn seconds_over(&self, ms: f64) -> Vec<WorstSecond> {
        self.seconds()
            .into_iter()
            .filter(|s| s.p99_ms > ms)
            .collect()
    }

    /// Each measured second's latency summary.
    fn seconds(&self) -> Vec<WorstSecond> {
        let mut seconds: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for &(second, latency) in &self.by_second {
            seconds.entry(second).or_default().push(latency);
        }
        let mut late: std::collections::BTreeMap<u32, u32> = Default::default();
        for &(second, micros) in &self.client_late_by_second {
            let worst = late.entry(second).or_default();
            *worst = (*worst).max(micros);
        }
        seconds
            .into_iter()
            .map(|(second, mut latencies)| {
                latencies.sort_unstable();
                let p99 = latencies[((latencies.len() - 1) as f64 * 0.99).round() as usize];
                WorstSecond {
                    second,
                    p99_ms: f64::from(p99) / 1000.0,
                    max_ms: f64::from(latencies[latencies.len() - 1]) / 1000.0,
                    requests: latencies.len(),
                    stolen: self.stolen_by_second.get(second as usize).copied(),
                    client_late_ms: f64::from(late.get(&second).copied().unwrap_or(0)) / 1000.0,
                }
            })
            .collect()
    }
}

pub async fn run(spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let stop_at = measure_from + spec.measure;
    let mut tasks = Vec::new();
    for index in 0..spec.connections {
        let spec = spec.clone();
        tasks.push(tokio::spawn(async move {
            connection(&spec, index, measure_from, stop_at).await
        }));
    }
    let stolen = tokio::spawn(crate::steal::per_second(measure_from, stop_at));
    let mut result = LoadResult {
        elapsed: spec.measure,
        measured_from: Some(std::time::SystemTime::now() + spec.warmup),
        ..LoadResult::default()
    };
    for task in tasks {
        let one = task.await??;
        result.requests += one.requests;
        result.failures += one.failures;
        result.acknowledged += one.acknowledged;
        result.popups += one.popups;
        result.latencies_us.extend(one.latencies_us);
        result.by_second.extend(one.by_second);
        result
            .client_late_by_second
            .extend(one.client_late_by_second);
    }
    result.latencies_us.sort_unstable();
    result.stolen_by_second = stolen.await?;
    Ok(result)
}

async fn connection(
    spec: &LoadSpec,
    index: usize,
    measure_from: Instant,
    stop_at: Instant,
) -> anyhow::Result<LoadResult> {
    let stream = TcpStream::connect(&spec.address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);

    let visitors = match spec.workload {
        Workload::Bare => 1,
        Workload::Collect {
            visitors_per_connection,
        } => visitors_per_connection.max(1),
    };
    let mut vids: Vec<Option<String>> = vec![None; visitors];
    let interval = spec
        .rate
        .map(|rate| Duration::from_secs_f64(spec.connections as f64 / rate));
    // Spread the connections' schedules so they do not fire in lockstep.
    let mut next = Instant::now()
        + interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(index as f64 / spec.connections as f64)
        });
    let mut result = LoadResult::default();
    let mut sent: u64 = 0;
    loop {
        let scheduled = match interval {
            Some(interval) => {
                let at = next;
                if at > Instant::now() {
                    tokio::time::sleep_until(at.into()).await;
                    if at >= measure_from && at < stop_at {
                        let late = at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        let second = at.duration_since(measure_from).as_secs() as u32;
                        result.client_late_by_second.push((second, late));
                    }
                }
                next += interval;
                at
            }
            None => Instant::now(),
        };
        if scheduled >= stop_at {
            break;
        }
        let slot = (sent as usize) % visitors;
        // The visitor's own count of views, so that each walks the site's pages in turn.
        let view = sent / visitors as u64;
        sent += 1;
        let request = match spec.workload {
            Workload::Bare => bare_request(&spec.address),
            Workload::Collect { .. } => {
                let global = index * visitors + slot;
                collect_request(&spec.address, global, vids[slot].as_deref(), view)
            }
        }?;
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let ok = response.status().is_success();
        let body = response.into_body().collect().await?.to_bytes();
        let latency = scheduled.elapsed();
        if ok {
            result.acknowledged += 1;
        }
        if vids[slot].is_none() && matches!(spec.workload, Workload::Collect { .. }) {
            vids[slot] = extract_vid(&body);
        }
        if scheduled >= measure_from {
            if ok {
                result.requests += 1;
                if body.windows(9).any(|w| w == b"\"popup\":{") {
                    result.popups += 1;
                }
                let micros = latency.as_micros().min(u128::from(u32::MAX)) as u32;
                result.latencies_us.push(micros);
                let second = scheduled.duration_since(measure_from).as_secs() as u32;
                result.by_second.push((second, micros));
            } else {
                result.failures += 1;
            }
        }
    }
    Ok(result)
}

fn bare_request(address: &str) -> anyhow::Result<Request<Full<Bytes>>> {
    Ok(Request::post("/")
        .header("host", address)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"ping\":true}")))?)
}

/// Realistic page views: a product or pricing page with UTM tags and a Japanese title, from
/// `visitor` (each behind its own forwarded address), carrying `vid` once the edge gave one.
/// `view` counts the visitor's page views: it walks product, pricing, FAQ and seminar pages in
/// turn, so that its eighth view (FAQ and pricing twice each) meets the demo's seminar rule.
pub fn collect_request(
    address: &str,
    visitor: usize,
    vid: Option<&str>,
    view: u64,
) -> anyhow::Result<Request<Full<Bytes>>> {
    const PAGES: [(&str, &str); 4] = [
        ("/demo/product.html", "製品紹介 | Demo"),
        (
            "/demo/pricing.html?utm_source=newsletter&utm_medium=email",
            "料金プラン | Demo",
        ),
        ("/demo/faq.html", "よくある質問 | Demo"),
        ("/demo/seminar.html", "セミナー | Demo"),
    ];
    let (path, title) = PAGES[(view % 4) as usize];
    // Written as the tag writes it (`tracker-wasm/src/event.rs`): keys in its order, `type`
    // first in each event.
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let body = format!(
        r#"{{"site":"bench","vid":{},"lang":"ja","events":[{{"type":"pageview","url":{},"referrer":{},"title":{},"ts":{}}}]}}"#,
        vid.map_or_else(|| "null".to_string(), text),
        text(&format!("http://127.0.0.1:8080{path}")),
        text("https://www.example.co.jp/search?q=mikomi"),
        text(title),
        1_700_000_000_000u64 + view,
    );
    // Each visitor behind its own address, as seen through a trusted proxy.
    let forwarded = format!(
        "127.{}.{}.{}",
        (visitor >> 16) & 0xff,
        (visitor >> 8) & 0xff,
        (visitor & 0xff).max(1)
    );
    Ok(Request::post("/v1/collect")
        .header("host", address)
        .header("origin", "http://127.0.0.1:8080")
        .header("content-type", "application/json")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36",
        )
        .header("x-forwarded-for", forwarded)
        .body(Full::new(Bytes::from(body)))?)
}

/// The visitor id in a collect answer.
pub fn extract_vid(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"vid\":\"")? + 7;
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

/// A plain blocking GET with a bearer token, for reading `/metrics` between runs.
pub fn http_get(address: &str, path: &str, token: &str) -> anyhow::Result<String> {
    let mut stream = std::net::TcpStream::connect(address)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default())
}
