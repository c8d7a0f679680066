//! Which entries garbage collection evicts (pure; the store removes the files).

use std::time::Duration;

use super::entry::{CachedLease, LeaseKey};

/// The decision for one GC run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcPlan {
    /// Expired, or expiring within the stale margin.
    pub stale: Vec<LeaseKey>,
    /// Still valid, but over `max_entries`: those closest to expiry.
    pub over_limit: Vec<LeaseKey>,
}

/// Stale entries go first; then, while more than `max_entries` remain, the ones that expire
/// soonest (ties broken by key, so the choice is deterministic).
pub fn plan_gc(
    entries: &[CachedLease],
    now_unix_ms: i64,
    stale_margin: Duration,
    max_entries: usize,
) -> GcPlan {
    let margin_ms = i64::try_from(stale_margin.as_millis()).unwrap_or(i64::MAX);
    let deadline = now_unix_ms.saturating_add(margin_ms);
    let (stale, mut fresh): (Vec<&CachedLease>, Vec<&CachedLease>) = entries
        .iter()
        .partition(|e| e.effective_expiry_unix_ms() <= deadline);
    fresh.sort_by(|a, b| {
        a.effective_expiry_unix_ms()
            .cmp(&b.effective_expiry_unix_ms())
            .then_with(|| a.key.cmp(&b.key))
    });
    let excess = fresh.len().saturating_sub(max_entries);
    GcPlan {
        stale: stale.into_iter().map(|e| e.key.clone()).collect(),
        over_limit: fresh[..excess].iter().map(|e| e.key.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::entry::tests::lease;

    const NOW: i64 = 1_000_000;

    #[test]
    fn evicts_expired_and_about_to_expire() {
        let entries = vec![
            lease("expired", NOW - 1, "x"),
            lease("soon", NOW + 10_000, "x"),
            lease("later", NOW + 60_000, "x"),
        ];
        let plan = plan_gc(&entries, NOW, Duration::from_secs(30), 10);
        let names: Vec<_> = plan.stale.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["expired", "soon"]);
        assert!(plan.over_limit.is_empty());
    }

    #[test]
    fn over_the_limit_evicts_closest_to_expiry_first() {
        let entries = vec![
            lease("c", NOW + 300_000, "x"),
            lease("a", NOW + 100_000, "x"),
            lease("d", NOW + 400_000, "x"),
            lease("b", NOW + 200_000, "x"),
            lease("gone", NOW - 5, "x"),
        ];
        let plan = plan_gc(&entries, NOW, Duration::ZERO, 2);
        let stale: Vec<_> = plan.stale.iter().map(|k| k.name.as_str()).collect();
        let over: Vec<_> = plan.over_limit.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(stale, ["gone"]);
        assert_eq!(over, ["a", "b"]);
    }

    #[test]
    fn max_ttl_counts_as_expiry() {
        let mut l = lease("capped", NOW + 600_000, "x");
        l.max_expire_at_unix_ms = Some(NOW + 1_000);
        let plan = plan_gc(&[l], NOW, Duration::from_secs(30), 10);
        assert_eq!(plan.stale.len(), 1);
    }

    #[test]
    fn huge_margins_and_times_do_not_overflow() {
        let entries = vec![lease("x", i64::MAX, "x")];
        let plan = plan_gc(&entries, i64::MAX - 1, Duration::MAX, 0);
        assert_eq!(plan.stale.len(), 1);
    }
}
