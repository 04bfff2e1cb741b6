//! `mikomi-edge explain`: asks the running edge's explain API, with the configuration's API
//! key, which conditions and caps hold for a visitor on a page, and prints the answer rule by
//! rule (or as JSON).

use anyhow::Context;

use crate::config::Config;

/// Calls the running edge's explain API with the configuration's first API key (for the named
/// site, if any) and prints the answer rule by rule.
pub fn explain(
    path: &std::path::Path,
    vid: &str,
    url: &str,
    edge: Option<String>,
    site: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    use http_body_util::{BodyExt, Empty};
    let config = Config::load(path)?;
    let key = config
        .api_keys
        .iter()
        .map(|k| k.get_ref())
        .find(|k| {
            site.as_deref()
                .is_none_or(|s| k.sites.iter().any(|x| x.get_ref().as_str() == s))
        })
        .context("the configuration has no API key for this site")?;
    let base = edge.unwrap_or_else(|| {
        let mut listen = config.server.listen;
        if listen.ip().is_unspecified() {
            listen.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{listen}")
    });
    let mut query = format!("vid={}&url={}", encode(vid), encode(url));
    if let Some(site) = &site {
        query.push_str(&format!("&site={}", encode(site)));
    }
    let uri: hyper::Uri = format!(
        "{}/api/v1/rules/explain?{query}",
        base.trim_end_matches('/')
    )
    .parse()
    .context("the edge address is not a URL")?;
    let request = hyper::Request::get(uri)
        .header("authorization", format!("Bearer {}", key.key.expose()))
        .body(Empty::<bytes::Bytes>::new())
        .context("build the request")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the runtime")?;
    let (status, body) = runtime.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let response = client
            .request(request)
            .await
            .with_context(|| format!("ask the edge at {base}"))?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    })?;
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        anyhow::bail!("the edge answered {status}: {text}");
    }
    let answer: serde_json::Value =
        serde_json::from_str(&text).context("the answer is not JSON")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    println!("decision: {}", answer["decision"].as_str().unwrap_or("?"));
    let mark = |held: &serde_json::Value| {
        if held.as_bool() == Some(true) {
            "ok  "
        } else {
            "FAIL"
        }
    };
    for cap in answer["site_caps"].as_array().into_iter().flatten() {
        println!(
            "  site  {} {} ({})",
            mark(&cap["held"]),
            cap["cap"].as_str().unwrap_or(""),
            cap["detail"].as_str().unwrap_or("")
        );
    }
    for rule in answer["rules"].as_array().into_iter().flatten() {
        println!(
            "rule {} (priority {}, line {}, arm {}): {}",
            rule["rule"].as_str().unwrap_or("?"),
            rule["priority"],
            rule["line"],
            rule["arm"].as_str().unwrap_or("?"),
            rule["outcome"].as_str().unwrap_or("?")
        );
        print_conditions(
            rule["conditions"].as_array().map_or(&[][..], Vec::as_slice),
            1,
        );
        for cap in rule["caps"].as_array().into_iter().flatten() {
            println!(
                "    cap  {} {} ({})",
                mark(&cap["held"]),
                cap["cap"].as_str().unwrap_or(""),
                cap["detail"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

fn print_conditions(list: &[serde_json::Value], depth: usize) {
    for c in list {
        let mark = if c["held"].as_bool() == Some(true) {
            "ok  "
        } else {
            "FAIL"
        };
        println!(
            "{}when {mark} {} ({})",
            "  ".repeat(depth + 1),
            c["condition"].as_str().unwrap_or(""),
            c["detail"].as_str().unwrap_or("")
        );
        print_conditions(
            c["inner"].as_array().map_or(&[][..], Vec::as_slice),
            depth + 1,
        );
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
