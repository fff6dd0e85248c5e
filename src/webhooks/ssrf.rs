//! The SSRF guard of webhook deliveries: which destination addresses are refused, a URL check
//! (scheme, host, IP literals) for `createWebhook` / `updateWebhook`, and a DNS resolver for
//! the HTTP client that resolves the host itself and hands the client only addresses that pass
//! ([`GuardedResolver`]), so the connection goes to a checked address and a DNS rebind between
//! check and connect cannot slip past.
//!
//! Refused unless the operator sets `WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true`: loopback
//! (127/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16, which
//! holds the cloud metadata address 169.254.169.254, and fe80::/10), unspecified (0/8, ::),
//! broadcast, CGNAT (100.64/10), multicast and reserved (240/4), and IPv4 addresses embedded
//! in IPv6 (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64 `64:ff9b::/96`, 6to4
//! `2002::/16`) when the embedded address is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Why `ip` is refused as a webhook destination, or `None` when it is a public address.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => refusal_v6(v6),
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private (RFC 1918)")
    } else if ip.is_link_local() {
        Some("link-local (169.254.0.0/16, cloud metadata)")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a == 0 {
        Some("unspecified (0.0.0.0/8)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (CGNAT, 100.64.0.0/10)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved (240.0.0.0/4)")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refusal_v4(v4).map(|_| "an IPv4-mapped address in a refused range");
    }
    if ip.is_unique_local() {
        return Some("private (unique local, fc00::/7)");
    }
    if ip.is_unicast_link_local() {
        return Some("link-local (fe80::/10)");
    }
    if ip.is_multicast() {
        return Some("multicast");
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96) carry the IPv4
    // address in the last 32 bits; 6to4 (2002::/16) in bits 16..48.
    let carried = if segments[..6] == [0; 6] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(embedded(segments[6], segments[7]))
    } else if segments[0] == 0x2002 {
        Some(embedded(segments[1], segments[2]))
    } else {
        None
    };
    carried
        .and_then(refusal_v4)
        .map(|_| "an IPv6 address embedding a refused IPv4 address")
}

/// Why a webhook URL is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Not a URL at all.
    #[error("is not a valid URL: {0}")]
    Invalid(String),
    /// A scheme other than `http` / `https`.
    #[error("must be an http or https URL")]
    Scheme,
    /// No host, or credentials in the URL.
    #[error("must have a host and no user name or password")]
    Host,
    /// An IP literal in a refused range.
    #[error("is refused by the SSRF guard: {ip} is {why}")]
    Address {
        /// The literal.
        ip: IpAddr,
        /// Its range ([`refusal`]).
        why: &'static str,
    },
}

/// Parses and checks a webhook URL: `http` or `https`, a host, no credentials, and (unless
/// `allow_private`) no IP literal in a refused range. Host names are checked at each
/// delivery ([`GuardedResolver`]), as their addresses may change. Errors: [`UrlRefused`].
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, UrlRefused> {
    let url = Url::parse(raw.trim()).map_err(|e| UrlRefused::Invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlRefused::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefused::Host);
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(UrlRefused::Host)?;
    // The URL parser normalises IP literals (`[..]` around IPv6, `0x7f.1` spelled out).
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if let Some(ip) = ip
        && !allow_private
        && let Some(why) = refusal(ip)
    {
        return Err(UrlRefused::Address { ip, why });
    }
    Ok(url)
}

/// The HTTP client's resolver: resolves with the system resolver (`getaddrinfo`, through
/// tokio) and keeps only addresses that pass [`refusal`] (all of them with `allow_private`);
/// fails with the guard's reason when none is left.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    /// `WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`.
    pub allow_private: bool,
}

/// The error of a refused resolution (its text ends up in `webhook_delivery.error`).
#[derive(Debug, thiserror::Error)]
#[error("destination refused by the SSRF guard: {host} resolves to {ip}, {why}")]
pub struct Refused {
    host: String,
    ip: IpAddr,
    why: &'static str,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_refused = None;
            let mut kept = Vec::new();
            for addr in found {
                match refusal(addr.ip()) {
                    Some(why) if !allow_private => {
                        first_refused.get_or_insert((addr.ip(), why));
                    }
                    _ => kept.push(addr),
                }
            }
            if kept.is_empty()
                && let Some((ip, why)) = first_refused
            {
                return Err(Box::new(Refused { host, ip, why }) as _);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        refusal(s.parse().unwrap()).is_some()
    }

    #[test]
    fn refused_ranges() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "2002:7f00:1::",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn urls() {
        assert!(check_url("https://example.com/hook", false).is_ok());
        assert_eq!(
            check_url("ftp://example.com/", false),
            Err(UrlRefused::Scheme)
        );
        assert_eq!(
            check_url("https://u:p@example.com/", false),
            Err(UrlRefused::Host)
        );
        assert!(matches!(
            check_url("http://127.0.0.1:8080/x", false),
            Err(UrlRefused::Address { .. })
        ));
        assert!(matches!(
            check_url("http://[::ffff:7f00:1]/x", false),
            Err(UrlRefused::Address { .. })
        ));
        assert!(check_url("http://127.0.0.1:8080/x", true).is_ok());
        assert!(matches!(
            check_url("not a url", false),
            Err(UrlRefused::Invalid(_))
        ));
    }
}
