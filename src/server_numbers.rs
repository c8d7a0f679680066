//! Numbers a server sends, made safe to compute with: a TTL of 2^63 seconds must neither overflow
//! `Instant` arithmetic (a panic) nor schedule work for the year 292 billion. Every duration that
//! comes from a server passes through [`server_duration`].

use std::time::Duration;

/// The longest lifetime the agent believes a server grants: ten years. A longer one is taken as
/// this (the token or lease is renewed or replaced within it, which costs one request a decade).
pub const MAX_SERVER_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A server's number of seconds as a duration, at most [`MAX_SERVER_DURATION`].
pub fn server_duration(secs: u64) -> Duration {
    Duration::from_secs(secs).min(MAX_SERVER_DURATION)
}

/// A server-sent duration (already parsed) clamped the same way.
pub fn clamp(d: Duration) -> Duration {
    d.min(MAX_SERVER_DURATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_numbers_are_clamped_and_can_be_added_to_now() {
        assert_eq!(server_duration(u64::MAX), MAX_SERVER_DURATION);
        assert_eq!(server_duration(1 << 63), MAX_SERVER_DURATION);
        assert_eq!(server_duration(7200), Duration::from_secs(7200));
        let _ = std::time::Instant::now() + server_duration(u64::MAX) * 2;
    }
}
