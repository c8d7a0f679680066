//! When to repeat a failed KMS request, and after how long (docs/behaviour.md §6).
//!
//! Retried: transport errors, timeouts, 429 (after `Retry-After` when given) and 5xx; never any
//! other 4xx. Delays follow [`Backoff`] (`min(max, base × 2^attempt)`, equal jitter).
//!
//! Lease creation is not idempotent: a repeated create that reached the server makes a second
//! lease (a leaked credential until its TTL ends), and the contract offers no way to find the
//! first one. So a create is repeated only when the server provably did not process it: the
//! connection was never established, or the rate limiter (which runs before any handler)
//! answered 429. A create that timed out, broke mid-answer or got a 5xx is returned as an error;
//! the caller creates a fresh lease on its next round, and a lease the server did make expires
//! on its own.

use std::time::Duration;

use super::error::ApiError;
use crate::backoff::Backoff;

/// Defaults of `kms.retry-strategy`: the configuration's, named once in `config::defaults`.
pub const DEFAULT_MAX_RETRIES: u32 = crate::config::defaults::RETRY_MAX_RETRIES;
pub const DEFAULT_BASE_DELAY: Duration = crate::config::defaults::RETRY_BASE_DELAY;
pub const DEFAULT_MAX_DELAY: Duration = crate::config::defaults::RETRY_MAX_DELAY;
/// Longest `Retry-After` the client waits inside one call. A server asking for more gets its
/// 429 returned to the caller (which has the `retry_after` to schedule with) instead of a call
/// that hangs for minutes.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// `kms.retry-strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retries).
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }
}

/// Whether repeating a request is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating it has no effect beyond the first (reads, renew, revoke, logins).
    Repeatable,
    /// Repeat only if the server provably did not process it (lease create).
    OnlyIfNotProcessed,
}

impl RetryPolicy {
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.base_delay, self.max_delay)
    }

    /// How long to wait before retry number `attempt` (0-based) of a request that failed with
    /// `error`, or `None` to give up. `unit` is a random number in `[0, 1)` for the jitter.
    pub fn next_delay(
        &self,
        attempt: u32,
        error: &ApiError,
        idempotency: Idempotency,
        unit: f64,
    ) -> Option<Duration> {
        if attempt >= self.max_retries || !error.is_retryable() {
            return None;
        }
        if idempotency == Idempotency::OnlyIfNotProcessed && error.request_may_have_been_processed()
        {
            return None;
        }
        match error.retry_after() {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(self.backoff().delay(attempt, unit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::error::{classify_error, RequestContext};

    fn ctx() -> RequestContext {
        RequestContext::new("POST", "/api/v1/dynamic-secrets/leases")
    }

    fn status(code: u16) -> ApiError {
        classify_error(ctx(), code, None, b"{}")
    }

    fn transport(sent: bool) -> ApiError {
        ApiError::Transport {
            ctx: ctx().into(),
            detail: "reset".into(),
            sent,
        }
    }

    fn timeout() -> ApiError {
        ApiError::Timeout {
            ctx: ctx().into(),
            after: Duration::from_secs(30),
        }
    }

    const R: Idempotency = Idempotency::Repeatable;

    #[test]
    fn retryable_errors_get_backoff_delays_until_max_retries() {
        let p = RetryPolicy::default();
        for e in [
            transport(true),
            transport(false),
            timeout(),
            status(500),
            status(502),
            status(503),
            status(504),
        ] {
            assert_eq!(
                p.next_delay(0, &e, R, 1.0),
                Some(Duration::from_millis(200)),
                "{e:?}"
            );
            assert_eq!(
                p.next_delay(1, &e, R, 1.0),
                Some(Duration::from_millis(400))
            );
            assert_eq!(
                p.next_delay(2, &e, R, 0.0),
                Some(Duration::from_millis(400))
            );
            assert_eq!(p.next_delay(3, &e, R, 0.5), None);
        }
    }

    #[test]
    fn client_errors_are_never_retried() {
        let p = RetryPolicy::default();
        for code in [400, 401, 403, 404, 405, 409, 422] {
            assert_eq!(p.next_delay(0, &status(code), R, 0.5), None, "{code}");
        }
    }

    #[test]
    fn zero_retries_means_one_attempt() {
        let p = RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.next_delay(0, &status(503), R, 0.5), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        let limited = |secs| classify_error(ctx(), 429, Some(Duration::from_secs(secs)), b"{}");
        assert_eq!(
            p.next_delay(0, &limited(17), R, 0.0),
            Some(Duration::from_secs(17))
        );
        assert_eq!(
            p.next_delay(0, &limited(60), R, 0.0),
            Some(Duration::from_secs(60))
        );
        assert_eq!(p.next_delay(0, &limited(61), R, 0.0), None);
        // Without Retry-After: plain backoff.
        let bare = classify_error(ctx(), 429, None, b"{}");
        assert_eq!(
            p.next_delay(2, &bare, R, 1.0),
            Some(Duration::from_millis(800))
        );
    }

    #[test]
    fn jitter_stays_between_half_and_full_delay() {
        let p = RetryPolicy::default();
        for i in 0..100 {
            let unit = i as f64 / 100.0;
            let d = p.next_delay(2, &status(500), R, unit).unwrap();
            assert!(
                d >= Duration::from_millis(400) && d <= Duration::from_millis(800),
                "{d:?}"
            );
        }
        let capped = RetryPolicy {
            max_retries: 10,
            ..RetryPolicy::default()
        };
        assert!(capped.next_delay(9, &status(500), R, 0.99).unwrap() <= Duration::from_secs(5));
    }

    #[test]
    fn lease_create_repeats_only_what_never_reached_the_server() {
        let p = RetryPolicy::default();
        let once = Idempotency::OnlyIfNotProcessed;
        assert!(p.next_delay(0, &transport(false), once, 0.5).is_some());
        assert!(p
            .next_delay(0, &classify_error(ctx(), 429, None, b"{}"), once, 0.5)
            .is_some());
        assert_eq!(p.next_delay(0, &transport(true), once, 0.5), None);
        assert_eq!(p.next_delay(0, &timeout(), once, 0.5), None);
        assert_eq!(p.next_delay(0, &status(500), once, 0.5), None);
    }
}
