//! Who may ask: the Host allow-list (against DNS rebinding: a web page
//! whose name resolves to 127.0.0.1 still sends its own name as Host) and
//! the bearer token. Health probes are open, so an orchestrator needs
//! neither; they reveal nothing but liveness.

use std::net::{IpAddr, SocketAddr};

use sha2::{Digest, Sha256};

/// Paths answered without a token and whatever the Host: liveness and
/// readiness probes (kubelet sends the pod IP as Host and no token).
pub(crate) const OPEN_PATHS: [&str; 4] =
    ["/v2/health/live", "/v2/health/ready", "/ping", "/health"];

/// The Host names a request may carry.
#[derive(Debug, Clone)]
pub(crate) enum Hosts {
    Any,
    /// Lowercase names, IPv6 addresses in brackets, with or without a port.
    Only(Vec<String>),
}

impl Hosts {
    /// `--allow-host` values, or when none are given: on a loopback bind
    /// only the loopback names (a rebinding page cannot send them); on any
    /// other bind every name (the server cannot know what it is called;
    /// pass `--allow-host` to narrow it).
    pub(crate) fn new(given: &[String], bound: SocketAddr) -> Hosts {
        if given.iter().any(|h| h == "*") {
            return Hosts::Any;
        }
        if given.is_empty() {
            if !bound.ip().is_loopback() {
                return Hosts::Any;
            }
            return Hosts::Only(vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()]);
        }
        Hosts::Only(given.iter().map(|h| normalize(h)).collect())
    }

    /// Whether a Host header value is allowed: it matches an entry in full
    /// (`name:port`) or without its port.
    pub(crate) fn allows(&self, host: Option<&str>) -> bool {
        let list = match self {
            Hosts::Any => return true,
            Hosts::Only(list) => list,
        };
        let Some(host) = host else {
            return false;
        };
        let host = host.trim().to_ascii_lowercase();
        let name = without_port(&host);
        list.iter().any(|h| *h == host || h == name)
    }
}

/// A configured name as it appears in a Host header: lowercase, an IPv6
/// address in brackets.
fn normalize(h: &str) -> String {
    let h = h.trim().to_ascii_lowercase();
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V6(a)) => format!("[{a}]"),
        _ => h,
    }
}

/// `name:port` → `name`; `[v6]:port` → `[v6]`.
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The bearer token, kept as its SHA-256 digest: comparing two fixed-size
/// digests in constant time reveals neither the token's bytes nor its
/// length through timing.
#[derive(Clone)]
pub(crate) struct Token([u8; 32]);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    pub(crate) fn new(secret: &str) -> Token {
        Token(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether an Authorization header value is `Bearer <the token>`.
    pub(crate) fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some(given) = strip_bearer(value) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(given).into();
        constant_time_eq(&digest, &self.0)
    }
}

fn strip_bearer(value: &[u8]) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    if value.len() < SCHEME.len() || !value[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    Some(value[SCHEME.len()..].trim_ascii())
}

/// Every byte is compared whatever the earlier ones were; `black_box`
/// keeps the optimiser from cutting the loop short.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_binds_allow_loopback_names_only() {
        let h = Hosts::new(&[], addr("127.0.0.1:8080"));
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(h.allows(Some(ok)), "{ok}");
        }
        for bad in ["evil.example", "evil.example:8080", "localhost.evil:80", ""] {
            assert!(!h.allows(Some(bad)), "{bad}");
        }
        assert!(!h.allows(None));
        assert!(Hosts::new(&[], addr("0.0.0.0:80")).allows(Some("anything")));
    }

    #[test]
    fn given_hosts_replace_the_default() {
        let given = vec!["model.internal".to_string(), "::1".to_string()];
        let h = Hosts::new(&given, addr("127.0.0.1:8080"));
        assert!(h.allows(Some("model.internal:443")));
        assert!(h.allows(Some("[::1]:8080")));
        assert!(!h.allows(Some("localhost")));
        assert!(Hosts::new(&["*".to_string()], addr("127.0.0.1:1")).allows(Some("x")));
    }

    #[test]
    fn bearer_tokens() {
        let t = Token::new("s3cret");
        assert!(t.accepts(Some(b"Bearer s3cret")));
        assert!(t.accepts(Some(b"bearer  s3cret ")));
        assert!(!t.accepts(Some(b"Bearer s3cre")));
        assert!(!t.accepts(Some(b"Bearer s3cret2")));
        assert!(!t.accepts(Some(b"Basic s3cret")));
        assert!(!t.accepts(Some(b"s3cret")));
        assert!(!t.accepts(None));
        assert_eq!(format!("{t:?}"), "Token(..)");
    }
}
