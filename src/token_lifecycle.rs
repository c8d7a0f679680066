//! When to renew the access token and when to log in again (docs/behaviour.md §2), as plain code.
//!
//! - Renew at about 2/3 of the token's TTL, but only while the renewed expiry fits inside the max
//!   TTL counted from the first login; a renewal that would not fit is refused by the server (and
//!   on some servers destroys the still-valid token), so log in again instead, before expiry.
//! - TTL 0 means the token does not expire; max TTL 0 means renewals are unbounded. Neither may
//!   cause a tight loop.
//! - Failed logins back off exponentially with jitter, about 1s growing to 5m.

use std::time::{Duration, Instant};

use crate::backoff::Backoff;

/// First delay after a failed login.
pub const LOGIN_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay between login attempts.
pub const LOGIN_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Never schedule token work closer together than this (protects against tiny TTLs).
pub const MIN_SCHEDULE_DELAY: Duration = Duration::from_millis(100);

/// What the agent knows about its current token's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTimes {
    /// When the token (login or renewal answer) was received.
    pub obtained_at: Instant,
    /// `expiresIn` of that answer; zero = does not expire.
    pub ttl: Duration,
    /// `accessTokenMaxTTL`; zero = unbounded.
    pub max_ttl: Duration,
    /// When the first login of this token's lineage happened (renewals keep it).
    pub session_start: Instant,
}

/// The next thing to do about the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Renew {
        at: Instant,
    },
    Relogin {
        at: Instant,
    },
    /// A token that never expires: nothing to schedule.
    Nothing,
}

impl TokenTimes {
    /// The moment the token stops working, if it ever does.
    pub fn hard_expiry(&self) -> Option<Instant> {
        let by_ttl = (!self.ttl.is_zero()).then(|| self.obtained_at + self.ttl);
        let by_max = (!self.max_ttl.is_zero()).then(|| self.session_start + self.max_ttl);
        match (by_ttl, by_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Decides the next step. Renewal happens at 2/3 of the TTL; it is chosen only when the
    /// renewed expiry (renewal time + TTL, plus a safety margin for latency and clock skew) still
    /// fits inside the max TTL.
    pub fn next_step(&self) -> NextStep {
        let Some(expiry) = self.hard_expiry() else {
            return NextStep::Nothing;
        };
        let lifetime = expiry.saturating_duration_since(self.obtained_at);
        let at = self.obtained_at + (lifetime * 2 / 3).max(MIN_SCHEDULE_DELAY.min(lifetime));
        if self.ttl.is_zero() {
            // Non-expiring TTL but a bounded max TTL: nothing to renew, log in again in time.
            return NextStep::Relogin { at };
        }
        if self.max_ttl.is_zero() {
            return NextStep::Renew { at };
        }
        let margin = (self.ttl / 10).max(Duration::from_secs(1));
        let renewed_expiry = at + self.ttl + margin;
        if renewed_expiry <= self.session_start + self.max_ttl {
            NextStep::Renew { at }
        } else {
            NextStep::Relogin { at }
        }
    }
}

/// Delay before login attempt number `failures + 1` (after `failures` failures in a row).
/// `unit` is a random number in `[0, 1)`.
pub fn login_backoff(failures: u32, unit: f64) -> Duration {
    Backoff::new(LOGIN_BACKOFF_BASE, LOGIN_BACKOFF_MAX).delay(failures.saturating_sub(1), unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn times(ttl: u64, max: u64, since_session: u64) -> TokenTimes {
        let session_start = Instant::now();
        TokenTimes {
            obtained_at: session_start + secs(since_session),
            ttl: secs(ttl),
            max_ttl: secs(max),
            session_start,
        }
    }

    #[test]
    fn renews_at_two_thirds_of_the_ttl_while_it_fits() {
        let t = times(60, 3600, 0);
        assert_eq!(
            t.next_step(),
            NextStep::Renew {
                at: t.obtained_at + secs(40)
            }
        );
    }

    #[test]
    fn logs_in_again_when_the_renewal_would_pass_max_ttl() {
        // TTL 4s, max 12s, the test scenario of the runtime issue.
        let session = times(4, 12, 0);
        let mut t = session;
        let mut steps = vec![];
        for _ in 0..5 {
            match t.next_step() {
                NextStep::Renew { at } => {
                    steps.push("renew");
                    t.obtained_at = at;
                    // The server's renewed expiry must stay inside the max TTL.
                    assert!(at + t.ttl <= t.session_start + t.max_ttl);
                }
                NextStep::Relogin { at } => {
                    steps.push("relogin");
                    assert!(
                        at < t.hard_expiry().unwrap(),
                        "relogin must happen before expiry"
                    );
                    break;
                }
                NextStep::Nothing => panic!("expiring token with nothing to do"),
            }
        }
        assert_eq!(steps.last(), Some(&"relogin"));
        assert!(steps.contains(&"renew"));
    }

    #[test]
    fn never_renews_when_less_than_a_ttl_is_left() {
        let t = times(60, 100, 50);
        assert!(matches!(t.next_step(), NextStep::Relogin { .. }));
        // Expiry is capped by the max TTL, and relogin comes before it.
        let NextStep::Relogin { at } = t.next_step() else {
            unreachable!()
        };
        assert!(at < t.session_start + secs(100));
    }

    #[test]
    fn zero_ttl_and_zero_max_ttl_do_not_loop() {
        assert_eq!(times(0, 0, 0).next_step(), NextStep::Nothing);
        // Unbounded max TTL: renew forever at 2/3 TTL.
        let t = times(30, 0, 1000);
        assert_eq!(
            t.next_step(),
            NextStep::Renew {
                at: t.obtained_at + secs(20)
            }
        );
        // Non-expiring TTL with a max TTL: log in again at 2/3 of what is left.
        let t = times(0, 90, 0);
        assert_eq!(
            t.next_step(),
            NextStep::Relogin {
                at: t.obtained_at + secs(60)
            }
        );
    }

    #[test]
    fn tiny_ttls_are_not_scheduled_in_a_tight_loop() {
        let mut t = times(0, 0, 0);
        t.ttl = Duration::from_millis(30);
        let NextStep::Renew { at } = t.next_step() else {
            panic!()
        };
        assert!(at >= t.obtained_at + Duration::from_millis(20));
    }

    #[test]
    fn login_backoff_grows_from_about_one_second_to_five_minutes() {
        assert!(login_backoff(1, 0.0) >= Duration::from_millis(500));
        assert!(login_backoff(1, 0.99) <= secs(1));
        assert!(login_backoff(4, 0.5) > login_backoff(2, 0.5));
        assert!(login_backoff(30, 0.99) <= secs(300));
        assert!(login_backoff(30, 0.0) >= secs(150));
    }
}
