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
/// A cached lease is reused on restart only with more than this left (PRODUCT.md §5).
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
