//! What the client tells an observer about each request (for metrics): the route pattern and the
//! status, never the URL's variable parts (secret names, lease ids) or anything sent.

/// Receives one call per attempt and one per retry.
pub trait RequestObserver: Send + Sync {
    /// An attempt finished with `status` (0 = no HTTP answer: transport error or timeout).
    fn request(&self, route: &str, status: u16);
    /// The attempt that ended with `status` is retried.
    fn retry(&self, route: &str, status: u16);
}

/// The route pattern of an API path: `/api/v3/secrets/raw/DB_PASS` becomes
/// `/api/v3/secrets/raw/{secretName}`, lease ids become `{leaseId}`.
pub fn route_pattern(path: &str) -> String {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut out: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let prefix = segments[..i].join("/");
        let replaced =
            if prefix.ends_with("/api/v3/secrets/raw") || prefix.ends_with("/api/v4/secrets") {
                "{secretName}"
            } else if prefix.ends_with("/api/v1/dynamic-secrets/leases") {
                "{leaseId}"
            } else {
                seg
            };
        out.push(replaced);
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_segments_become_placeholders() {
        assert_eq!(route_pattern("/api/v3/secrets/raw"), "/api/v3/secrets/raw");
        assert_eq!(
            route_pattern("/api/v3/secrets/raw/DB_PASS"),
            "/api/v3/secrets/raw/{secretName}"
        );
        assert_eq!(
            route_pattern("/api/v4/secrets/X"),
            "/api/v4/secrets/{secretName}"
        );
        assert_eq!(
            route_pattern("/api/v1/dynamic-secrets/leases/3f0c/renew"),
            "/api/v1/dynamic-secrets/leases/{leaseId}/renew"
        );
        assert_eq!(
            route_pattern("/prefix/api/v1/auth/token/renew/"),
            "/prefix/api/v1/auth/token/renew"
        );
    }
}
