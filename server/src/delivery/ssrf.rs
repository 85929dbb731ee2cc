//! The SSRF guard: targets must be public addresses unless private targets are
//! allowed. Checked on the resolved address at connect time, so that a name
//! that resolves to a public address when saved and to 127.0.0.1 later
//! (DNS rebinding) does not get through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an address belongs to the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, with cloud metadata at 169.254.169.254
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site local (deprecated) fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64 to IPv4 (and 64:ff9b:1::/48), may reach private v4
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)) // IPv4-compatible ::a.b.c.d
        || embedded_v4(ip).is_some_and(|v4| !is_public_v4(v4)))
}

/// The IPv4 address that an IPv6 address of a transition range reaches:
/// 6to4 (`2002:AABB:CCDD::/48` is `A.B.C.D`), Teredo (`2001::/32`, the
/// client's address inverted in the last 32 bits) and IPv4-translated
/// (`::ffff:0:a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    match ip.segments() {
        [0x2002, high, low, ..] => Some(v4(high, low)),
        [0x2001, 0, _, _, _, _, high, low] => Some(v4(!high, !low)),
        [0, 0, 0, 0, 0xffff, 0, high, low] => Some(v4(high, low)),
        _ => None,
    }
}

/// A target refused by the guard.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused private target {0}: hookhub only delivers to public addresses unless --allow-private-targets is set"
)]
pub struct PrivateTarget(pub IpAddr);

/// The address of `url` if it is a literal one the guard refuses; a name is
/// checked where it resolves (`filter_public`).
pub fn private_literal(url: &url::Url) -> Option<PrivateTarget> {
    let ip = match url.host()? {
        url::Host::Ipv4(ip) => IpAddr::V4(ip),
        url::Host::Ipv6(ip) => IpAddr::V6(ip),
        url::Host::Domain(_) => return None,
    };
    (!is_public(ip)).then_some(PrivateTarget(ip))
}

/// The addresses of a name that the guard lets through.
pub fn filter_public(
    addresses: impl Iterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, PrivateTarget> {
    let mut refused = None;
    let allowed: Vec<SocketAddr> = addresses
        .filter(|address| {
            let public = is_public(address.ip());
            if !public {
                refused = Some(address.ip());
            }
            public
        })
        .collect();
    match (allowed.is_empty(), refused) {
        (true, Some(ip)) => Err(PrivateTarget(ip)),
        _ => Ok(allowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_that_embeds_ipv4_is_judged_by_the_ipv4_address() {
        for text in [
            "2002:7f00:1::",                        // 6to4 of 127.0.0.1
            "2002:c0a8:101::1",                     // 6to4 of 192.168.1.1
            "2002:a9fe:a9fe::",                     // 6to4 of 169.254.169.254
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo of 127.0.0.1
            "::ffff:0:10.0.0.1",                    // IPv4-translated
            "64:ff9b::808:808",                     // NAT64, whatever it embeds
        ] {
            assert!(!is_public(ip(text)), "{text}");
        }
        for text in ["2002:808:808::1", "2001:0:4136:e378:8000:63bf:f7f7:f7f7"] {
            assert!(is_public(ip(text)), "{text}");
        }
    }

    #[test]
    fn loopback_private_link_local_and_metadata_are_not_public() {
        for text in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "fd00:ec2::254",
        ] {
            assert!(!is_public(ip(text)), "{text} passed the guard");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(text)), "{text} was refused");
        }
    }

    #[test]
    fn a_name_with_only_private_addresses_is_refused() {
        let private = [SocketAddr::new(ip("10.0.0.1"), 80)];
        assert!(filter_public(private.into_iter()).is_err());
        let mixed = [
            SocketAddr::new(ip("10.0.0.1"), 80),
            SocketAddr::new(ip("8.8.8.8"), 80),
        ];
        assert_eq!(filter_public(mixed.into_iter()).unwrap().len(), 1);
    }
}
