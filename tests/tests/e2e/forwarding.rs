//! Who the client is behind a proxy: only the configured forwarding header is read.

use mikomi_tests::{Edge, EdgeConfig};

/// Sends a page view through a "proxy" on loopback with the given extra headers.
async fn collect_with(edge: &Edge, headers: &[(&str, String)]) -> u16 {
    let mut request = edge
        .http
        .post(edge.url("/v1/collect"))
        .header("origin", mikomi_tests::ORIGIN)
        .header("content-type", "application/json")
        .body(mikomi_tests::edge::page_view(None, "http://site.test/").to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.expect("collect").status().as_u16()
}

/// Behind a proxy that appends to `X-Forwarded-For` and passes `Forwarded` through, a client that
/// writes its own `Forwarded` must not choose its address: here, to escape its rate limit. Only
/// the configured header is read.
#[tokio::test]
async fn only_the_configured_forwarding_header_names_the_client() {
    let limited = |server_toml: &str| EdgeConfig {
        per_ip: (1, 2),
        trusted_proxies: vec!["127.0.0.0/8"],
        server_toml: server_toml.to_string(),
        ..EdgeConfig::default()
    };
    let config = limited("");
    let edge = Edge::start(&config);
    let mut statuses = Vec::new();
    for i in 0..3 {
        let headers = [
            ("x-forwarded-for", "203.0.113.9".to_string()),
            ("forwarded", format!("for=198.51.100.{i}")),
        ];
        statuses.push(collect_with(&edge, &headers).await);
    }
    assert_eq!(statuses, [200, 200, 429], "one client, one bucket");

    let config = limited("forwarded_header = \"forwarded\"\n");
    let edge = Edge::start(&config);
    let mut statuses = Vec::new();
    for i in 0..3 {
        let headers = [
            ("x-forwarded-for", format!("198.51.100.{i}")),
            ("forwarded", "for=203.0.113.9".to_string()),
        ];
        statuses.push(collect_with(&edge, &headers).await);
    }
    assert_eq!(statuses, [200, 200, 429], "Forwarded names the client");
}

/// An IPv6 host holds a whole /64 and can send every request from a new address in it: the
/// edge rate-limits the /64 as one client, and another /64 as another.
#[tokio::test]
async fn a_client_rotating_ipv6_addresses_inside_one_slash_64_is_one_client() {
    let config = EdgeConfig {
        per_ip: (1, 3),
        trusted_proxies: vec!["127.0.0.0/8"],
        ..EdgeConfig::default()
    };
    let edge = Edge::start(&config);
    let mut statuses = Vec::new();
    for i in 1..=5u32 {
        let rotated = format!("2001:db8:a:b:{:x}:{:x}::{i:x}", i * 7919, i * 104_729);
        statuses.push(collect_with(&edge, &[("x-forwarded-for", rotated)]).await);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429], "one /64, one bucket");
    let other = collect_with(&edge, &[("x-forwarded-for", "2001:db8:a:c::1".into())]).await;
    assert_eq!(other, 200, "the next /64 is another client");
}
