//! Who the client is, behind however many of our own proxies. A forwarding header is believed
//! only from configured trusted proxies (anyone can write one), and only the one header the
//! proxies are configured to write: a proxy that appends to `X-Forwarded-For` typically passes a
//! client's own `Forwarded` through untouched, so reading both would let the client choose.

use std::net::IpAddr;

use hyper::HeaderMap;
use hyper::header::{FORWARDED, HeaderName};
use ipnet::IpNet;

use crate::config::ForwardedHeader;

/// The proxies in front of the edge and the header they write.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    pub trusted: Vec<IpNet>,
    pub header: ForwardedHeader,
}

impl Proxies {
    /// The client's address: the socket peer, or, when the peer is a trusted proxy, the nearest
    /// untrusted address in the configured header.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.is_trusted(peer) {
            return peer;
        }
        match self.header {
            ForwardedHeader::XForwardedFor => self.nearest_untrusted(x_forwarded_for(headers)),
            ForwardedHeader::Forwarded => self.nearest_untrusted(forwarded_for(headers)),
            // One address, set by the nearest proxy: the last one if there are several.
            ForwardedHeader::XRealIp => self.nearest_untrusted(
                header_values(headers, &X_REAL_IP)
                    .filter_map(|v| parse_node(v.trim()))
                    .last(),
            ),
        }
        .unwrap_or(peer)
    }

    /// Of a chain of addresses, client first and nearest proxy last: the nearest one that is
    /// not a trusted proxy, else the first. One pass, nothing collected.
    fn nearest_untrusted(&self, chain: impl IntoIterator<Item = IpAddr>) -> Option<IpAddr> {
        let (mut first, mut nearest) = (None, None);
        for ip in chain {
            first.get_or_insert(ip);
            if !self.is_trusted(ip) {
                nearest = Some(ip);
            }
        }
        nearest.or(first)
    }

    /// Whether a trusted proxy says the client connected over HTTPS: `proto=` of `Forwarded`
    /// when that is the configured header, `X-Forwarded-Proto` otherwise.
    pub fn forwarded_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        if !self.is_trusted(peer.to_canonical()) {
            return false;
        }
        match self.header {
            ForwardedHeader::Forwarded => header_values(headers, &FORWARDED).any(|v| {
                v.split([';', ','])
                    .filter_map(|p| p.trim().split_once('='))
                    .any(|(k, v)| {
                        k.eq_ignore_ascii_case("proto")
                            && v.trim_matches('"').eq_ignore_ascii_case("https")
                    })
            }),
            ForwardedHeader::XForwardedFor | ForwardedHeader::XRealIp => {
                header_values(headers, &X_FORWARDED_PROTO)
                    .any(|v| v.trim().eq_ignore_ascii_case("https"))
            }
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }
}

/// Header names built once: a name given as text is parsed (and a non-standard one copied)
/// on every look-up.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

fn header_values<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'a str> + use<'a> {
    headers.get_all(name).iter().filter_map(|v| v.to_str().ok())
}

fn x_forwarded_for(headers: &HeaderMap) -> impl Iterator<Item = IpAddr> + '_ {
    header_values(headers, &X_FORWARDED_FOR)
        .flat_map(|v| v.split(','))
        .filter_map(|part| parse_node(part.trim()))
}

fn forwarded_for(headers: &HeaderMap) -> impl Iterator<Item = IpAddr> + '_ {
    header_values(headers, &FORWARDED)
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(k, _)| k.eq_ignore_ascii_case("for"))
                .and_then(|(_, v)| parse_node(v.trim().trim_matches('"')))
        })
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

    fn proxies(net: &str, header: ForwardedHeader) -> Proxies {
        Proxies {
            trusted: vec![net.parse().expect("net")],
            header,
        }
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let proxies = proxies("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            proxies.client_ip(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        assert_eq!(proxies.client_ip(ip("10.1.2.3"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxies = proxies("10.0.0.0/8", ForwardedHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &h),
            ip("203.0.113.9"),
            "spoofed 1.1.1.1 ignored"
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.5")]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &all_trusted),
            ip("10.9.9.9")
        );
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &garbage), ip("10.0.0.1"));
    }

    /// Behind a proxy that appends to `X-Forwarded-For` and passes `Forwarded` through, the
    /// client's own `Forwarded` is not believed (it used to win).
    #[test]
    fn only_the_configured_header_is_read() {
        let h = headers(&[
            ("forwarded", "for=198.51.100.66;proto=https"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-real-ip", "192.0.2.44"),
            ("x-forwarded-proto", "http"),
        ]);
        let by = |header| proxies("127.0.0.0/8", header).client_ip(ip("127.0.0.1"), &h);
        assert_eq!(by(ForwardedHeader::XForwardedFor), ip("203.0.113.9"));
        assert_eq!(by(ForwardedHeader::Forwarded), ip("198.51.100.66"));
        assert_eq!(by(ForwardedHeader::XRealIp), ip("192.0.2.44"));
        let https = |header| proxies("127.0.0.0/8", header).forwarded_https(ip("127.0.0.1"), &h);
        assert!(
            !https(ForwardedHeader::XForwardedFor),
            "proto= of Forwarded ignored"
        );
        assert!(https(ForwardedHeader::Forwarded));
        // Without the configured header, the peer is the client whatever else is sent.
        let only_forwarded = headers(&[("forwarded", "for=198.51.100.66")]);
        let xff = proxies("127.0.0.0/8", ForwardedHeader::XForwardedFor);
        assert_eq!(
            xff.client_ip(ip("127.0.0.1"), &only_forwarded),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn forwarded_parses_ports_and_brackets() {
        let proxies = proxies("127.0.0.0/8", ForwardedHeader::Forwarded);
        let h = headers(&[(
            "forwarded",
            "for=\"[2001:db8::7]:4711\";proto=https, for=127.0.0.2",
        )]);
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &h), ip("2001:db8::7"));
        assert!(proxies.forwarded_https(ip("127.0.0.1"), &h));
        assert!(!proxies.forwarded_https(ip("192.0.2.1"), &h));
        let v4_port = headers(&[("forwarded", "for=192.0.2.60:8080")]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &v4_port),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn x_real_ip_is_one_address_from_the_nearest_proxy() {
        let proxies = proxies("127.0.0.0/8", ForwardedHeader::XRealIp);
        let h = headers(&[("x-real-ip", "198.51.100.1"), ("x-real-ip", "203.0.113.9")]);
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        let garbage = headers(&[("x-real-ip", "1.1.1.1, 2.2.2.2")]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &garbage),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn mapped_addresses_are_plain_ipv4() {
        assert_eq!(
            Proxies::default().client_ip(ip("::ffff:192.0.2.1"), &HeaderMap::new()),
            ip("192.0.2.1")
        );
    }
}
