//! When to renew a lease and when to replace it.
//!
//! Renew at about 2/3 of the time left; a renewal adds the lease TTL to the current expiry (the
//! server's rule) and must stay within `createdAt + maxTTL`. When it would not fit, create a
//! replacement instead, early enough that templates re-render before the old lease expires.

use std::time::{Duration, SystemTime};

use super::LeaseInfo;
use crate::backoff::Backoff;

/// A lease that arrives with less than this to live is dead on arrival (a TTL of 0, or a server
/// whose answers put expiry in the past): it is used, but not replaced at once. One second is
/// the server's TTL granularity, so no lease a server means to grant falls under it.
pub const MIN_LEASE_LIFETIME: Duration = Duration::from_secs(1);
/// The wait before replacing a dead-on-arrival lease, doubling with each one in a row up to
/// [`DEAD_LEASE_BACKOFF_MAX`]: a server that keeps granting dead leases costs a handful of
/// creations a minute, not hundreds (each may be a real database user on the target system).
pub const DEAD_LEASE_BACKOFF_BASE: Duration = Duration::from_secs(5);
pub const DEAD_LEASE_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Never schedule lease work closer together than this.
pub const MIN_DELAY: Duration = Duration::from_millis(200);
/// A cached lease is reused on restart only with more than this left (docs/behaviour.md §5).
pub const REUSE_MIN_LEFT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseStep {
    Renew { after: Duration },
    Replace { after: Duration },
}

/// The next step for `lease`, seen at `now`.
pub fn next_step(lease: &LeaseInfo, now: SystemTime) -> LeaseStep {
    let left = lease.expire_at.duration_since(now).unwrap_or_default();
    let after = (left * 2 / 3).max(MIN_DELAY.min(left));
    let at = now + after;
    let fits = match lease.max_expire_at {
        None => true,
        Some(max) => lease.expire_at + lease.renew_ttl <= max && at < lease.expire_at,
    };
    if fits && !lease.renew_ttl.is_zero() {
        LeaseStep::Renew { after }
    } else {
        LeaseStep::Replace { after }
    }
}

/// Whether `lease`, just received at `now`, is dead on arrival.
pub fn dead_on_arrival(lease: &LeaseInfo, now: SystemTime) -> bool {
    lease
        .expire_at
        .duration_since(now)
        .map_or(true, |left| left < MIN_LEASE_LIFETIME)
}

/// The wait before replacing the `in_a_row`-th dead-on-arrival lease in a row (`unit` in [0, 1)).
pub fn dead_lease_delay(in_a_row: u32, unit: f64) -> Duration {
    Backoff::new(DEAD_LEASE_BACKOFF_BASE, DEAD_LEASE_BACKOFF_MAX)
        .delay(in_a_row.saturating_sub(1), unit)
}

/// Retries of a failed renewal or replacement: from this...
pub const FAILURE_BACKOFF_BASE: Duration = Duration::from_millis(500);
/// ...doubling up to this (never past what is left of the current lease, see below).
pub const FAILURE_BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A renewal that failed with less than this left is given up for a replacement.
pub const REPLACE_WHEN_LEFT_UNDER: Duration = Duration::from_secs(2);

fn failure_backoff(failures: u32, unit: f64) -> Duration {
    Backoff::new(FAILURE_BACKOFF_BASE, FAILURE_BACKOFF_MAX).delay(failures.saturating_sub(1), unit)
}

/// After the `failures`-th failed renewal in a row of a lease expiring at `expire_at`: retry the
/// renewal within a third of the time left, or replace the lease when it is nearly gone.
pub fn after_failed_renewal(
    failures: u32,
    expire_at: SystemTime,
    now: SystemTime,
    unit: f64,
) -> LeaseStep {
    let left = expire_at.duration_since(now).unwrap_or_default();
    let after = failure_backoff(failures, unit).min(left / 3);
    if left < REPLACE_WHEN_LEFT_UNDER {
        LeaseStep::Replace { after }
    } else {
        LeaseStep::Renew { after }
    }
}

/// After the `failures`-th failed creation of a replacement for a lease expiring at
/// `expire_at`: when to try again (within half the time left), or `None` once it has expired
/// (the next template that asks creates one).
pub fn after_failed_replacement(
    failures: u32,
    expire_at: SystemTime,
    now: SystemTime,
    unit: f64,
) -> Option<Duration> {
    let left = expire_at.duration_since(now).unwrap_or_default();
    (!left.is_zero()).then(|| failure_backoff(failures, unit).min(left / 2))
}

/// Whether a cached lease may be reused after a restart.
pub fn reusable(lease: &LeaseInfo, now: SystemTime) -> bool {
    lease
        .expire_at
        .duration_since(now)
        .is_ok_and(|left| left > REUSE_MIN_LEFT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_renewal_is_retried_with_backoff_within_a_third_of_what_is_left() {
        let now = SystemTime::now();
        let s = Duration::from_secs;
        // Early: the backoff (500 ms, doubling; `unit` 0.5 is the middle of the jitter).
        let first = after_failed_renewal(1, now + s(3600), now, 0.5);
        let LeaseStep::Renew { after } = first else {
            panic!("{first:?}")
        };
        assert!(after <= FAILURE_BACKOFF_BASE, "{after:?}");
        let many = after_failed_renewal(20, now + s(3600), now, 0.99);
        assert!(matches!(many, LeaseStep::Renew { after } if after <= FAILURE_BACKOFF_MAX));
        // Late: never past a third of what is left.
        let late = after_failed_renewal(20, now + s(6), now, 0.99);
        assert!(
            matches!(late, LeaseStep::Renew { after } if after <= s(2)),
            "{late:?}"
        );
        // Nearly gone: replace.
        let gone = after_failed_renewal(1, now + Duration::from_millis(1500), now, 0.5);
        assert!(
            matches!(gone, LeaseStep::Replace { after } if after <= s(1)),
            "{gone:?}"
        );
        let past = after_failed_renewal(1, now - s(5), now, 0.5);
        assert_eq!(
            past,
            LeaseStep::Replace {
                after: Duration::ZERO
            }
        );
    }

    #[test]
    fn a_failed_replacement_is_retried_while_the_current_lease_lasts() {
        let now = SystemTime::now();
        let s = Duration::from_secs;
        let retry = after_failed_replacement(20, now + s(10), now, 0.99).unwrap();
        assert!(retry <= s(5), "{retry:?}");
        assert!(after_failed_replacement(1, now + s(3600), now, 0.5).unwrap() <= s(1));
        assert_eq!(after_failed_replacement(1, now, now, 0.5), None);
        assert_eq!(after_failed_replacement(1, now - s(1), now, 0.5), None);
    }

    #[test]
    fn dead_leases_are_replaced_a_handful_of_times_a_minute() {
        let now = SystemTime::now();
        assert!(dead_on_arrival(&lease(now, 0, None, 0), now));
        assert!(
            !dead_on_arrival(&lease(now, 1, None, 60), now),
            "one second is a real lease"
        );
        assert!(!dead_on_arrival(&lease(now, 60, None, 60), now));
        // The fastest a server granting only dead leases can make the agent go (no jitter).
        let mut t = Duration::ZERO;
        let mut created = 1;
        for n in 1.. {
            t += dead_lease_delay(n, 0.0);
            if t > Duration::from_secs(60) {
                break;
            }
            created += 1;
        }
        assert!(created <= 6, "{created} leases in a minute");
        assert_eq!(dead_lease_delay(100, 1.0), DEAD_LEASE_BACKOFF_MAX);
    }

    fn lease(now: SystemTime, expires_in: u64, max_in: Option<u64>, ttl: u64) -> LeaseInfo {
        LeaseInfo {
            lease_id: "l".into(),
            created_at: now,
            expire_at: now + Duration::from_secs(expires_in),
            max_expire_at: max_in.map(|m| now + Duration::from_secs(m)),
            renew_ttl: Duration::from_secs(ttl),
        }
    }

    #[test]
    fn renews_at_two_thirds_while_the_renewal_fits() {
        let now = SystemTime::now();
        assert_eq!(
            next_step(&lease(now, 60, Some(600), 60), now),
            LeaseStep::Renew {
                after: Duration::from_secs(40)
            }
        );
        assert_eq!(
            next_step(&lease(now, 60, None, 60), now),
            LeaseStep::Renew {
                after: Duration::from_secs(40)
            }
        );
    }

    #[test]
    fn replaces_when_the_renewal_would_pass_max_ttl() {
        // TTL 3s, max TTL 9s: renew, renew (exactly to max), then replace before expiry.
        let now = SystemTime::now();
        let mut l = lease(now, 3, Some(9), 3);
        let mut t = now;
        let mut steps = vec![];
        loop {
            match next_step(&l, t) {
                LeaseStep::Renew { after } => {
                    steps.push("renew");
                    t += after;
                    l.expire_at += l.renew_ttl;
                    assert!(l.expire_at <= l.max_expire_at.unwrap());
                }
                LeaseStep::Replace { after } => {
                    steps.push("replace");
                    assert!(
                        t + after < l.expire_at,
                        "replacement must come before expiry"
                    );
                    break;
                }
            }
            assert!(steps.len() < 10);
        }
        assert_eq!(steps, ["renew", "renew", "replace"]);
    }

    #[test]
    fn expired_or_short_leases_are_not_reused() {
        let now = SystemTime::now();
        assert!(reusable(&lease(now, 31, None, 60), now));
        assert!(!reusable(&lease(now, 30, None, 60), now));
        assert!(!reusable(
            &lease(now, 0, None, 60),
            now + Duration::from_secs(5)
        ));
    }
}
