//! The form of an entry of the allowed `Host` values: a host name, an IPv4
//! address or an IPv6 address, each optionally with a port. The endpoint
//! and rmcp compare entries with the `Host` header for equality, ignoring
//! only case and IPv6 brackets, so an entry of another form, such as a URL
//! or a wildcard, would never match.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Returns whether `entry` is a host name or IP address, optionally with
/// `:PORT`. An IPv6 address with a port is written in brackets, as in a
/// `Host` header: `[::1]:3000`. A blank entry, such as the one a trailing
/// comma leaves, matches nothing and passes.
pub(crate) fn is_host_entry(entry: &str) -> bool {
    let entry = entry.trim();
    if entry.is_empty() || entry.parse::<IpAddr>().is_ok() {
        return true;
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return false;
        };
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return address.parse::<Ipv6Addr>().is_ok() && port_ok;
    }
    let (host, port) = match entry.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (entry, None),
    };
    port.is_none_or(is_port) && (host.parse::<Ipv4Addr>().is_ok() || is_host_name(host))
}

/// Returns whether `text` is a decimal TCP port from 1 to 65535.
fn is_port(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<u16>().is_ok_and(|port| port > 0)
}

/// Returns whether `name` is a DNS host name: dot-separated labels of 1
/// to 63 letters, digits and hyphens, not starting or ending with a
/// hyphen, 253 characters at most. Underscores pass too, because
/// container names such as `pons_app` reach servers as host names.
fn is_host_name(name: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    name.len() <= 253 && name.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_entries_accepted() {
        for entry in [
            "pons.example.com",
            "PONS.Example.com",
            "proxy.internal:8443",
            "localhost",
            "pons_app:3000",
            "192.0.2.10",
            "192.0.2.10:8080",
            "::1",
            "2001:db8::1",
            "[::1]",
            "[2001:db8::1]:3000",
            " pons.example.com ",
            "",
        ] {
            assert!(is_host_entry(entry), "{entry:?} rejected");
        }
    }

    #[test]
    fn other_host_entries_rejected() {
        for entry in [
            "https://pons.example.com",
            "pons.example.com/api",
            "*.example.com",
            "pons.example.com:*",
            "pons.example.com:0",
            "pons.example.com:65536",
            "pons.example.com:+80",
            "pons.example.com:",
            "-pons.example.com",
            "pons..example.com",
            "pons example.com",
            "user@pons.example.com",
            "[::1",
            "[::1]x",
            "[pons.example.com]",
            "2001:db8::1:3000:",
            "pons.example.com:80:80",
        ] {
            assert!(!is_host_entry(entry), "{entry:?} accepted");
        }
    }
}
