//! Who the client is, behind however many of our own proxies. Forwarding headers are believed
//! only from configured trusted proxies; anyone can write them.

use std::net::IpAddr;

use hyper::HeaderMap;
use ipnet::IpNet;

/// The client's address: the socket peer, or, when the peer is a trusted proxy, the nearest
/// untrusted address in `Forwarded` (preferred) or `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let chain = forwarded_for(headers);
    let chain = if chain.is_empty() {
        x_forwarded_for(headers)
    } else {
        chain
    };
    chain
        .iter()
        .rev()
        .find(|ip| !is_trusted(**ip, trusted))
        .or(chain.first())
        .copied()
        .unwrap_or(peer)
}

/// Whether a trusted proxy says the client connected over HTTPS.
pub fn forwarded_https(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> bool {
    if !is_trusted(peer.to_canonical(), trusted) {
        return false;
    }
    let proto_param = header_values(headers, "forwarded").any(|v| {
        v.split([';', ','])
            .filter_map(|p| p.trim().split_once('='))
            .any(|(k, v)| {
                k.eq_ignore_ascii_case("proto") && v.trim_matches('"').eq_ignore_ascii_case("https")
            })
    });
    proto_param
        || header_values(headers, "x-forwarded-proto")
            .any(|v| v.trim().eq_ignore_ascii_case("https"))
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    header_values(headers, "x-forwarded-for")
        .flat_map(|v| v.split(','))
        .filter_map(|part| parse_node(part.trim()))
        .collect()
}

fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    header_values(headers, "forwarded")
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                .and_then(|(_, v)| parse_node(v.trim().trim_matches('"')))
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest
            .split_once(']')?
            .0
            .parse::<IpAddr>()
            .ok()
            .map(|ip| ip.to_canonical());
    }
    let (host, _port) = text.rsplit_once(':')?;
    host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(client_ip(ip("10.1.2.3"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted),
            ip("203.0.113.9"),
            "spoofed 1.1.1.1 ignored"
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.5")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &all_trusted, &trusted),
            ip("10.9.9.9")
        );
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &garbage, &trusted),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_header_wins_and_parses_ports_and_brackets() {
        let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().expect("net")];
        let h = headers(&[
            (
                "forwarded",
                "for=\"[2001:db8::7]:4711\";proto=https, for=127.0.0.2",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("2001:db8::7"));
        assert!(forwarded_https(ip("127.0.0.1"), &h, &trusted));
        assert!(!forwarded_https(ip("192.0.2.1"), &h, &trusted));
        let v4_port = headers(&[("forwarded", "for=192.0.2.60:8080")]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &v4_port, &trusted),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn mapped_addresses_are_plain_ipv4() {
        assert_eq!(
            client_ip(ip("::ffff:192.0.2.1"), &HeaderMap::new(), &[]),
            ip("192.0.2.1")
        );
    }
}
