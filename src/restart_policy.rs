//! The supervisor's restart policy, as plain code: restart a crashed child after a backoff with
//! jitter, but at most `max_restarts` times within `window`; past that, escalate (the agent exits
//! non-zero so the service manager restarts it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Per-child restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    pub max_restarts: u32,
    pub window: Duration,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    /// 5 restarts within 60s, backoff 100ms doubling up to 5s.
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window: Duration::from_secs(60),
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What to do about a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    RestartAfter(Duration),
    /// Too many crashes in the window: give up and stop the agent.
    Escalate,
}

/// Remembers one child's recent crashes.
#[derive(Debug, Default, Clone)]
pub struct RestartTracker {
    crashes: VecDeque<Instant>,
}

impl RestartTracker {
    /// Records a crash at `now` and decides. `unit` is a random number in `[0, 1)` for jitter.
    pub fn on_crash(&mut self, policy: &RestartPolicy, now: Instant, unit: f64) -> RestartDecision {
        while let Some(&first) = self.crashes.front() {
            if now.duration_since(first) > policy.window {
                self.crashes.pop_front();
            } else {
                break;
            }
        }
        self.crashes.push_back(now);
        let count = self.crashes.len() as u32;
        if count > policy.max_restarts {
            return RestartDecision::Escalate;
        }
        let delay = exponential(policy.base_backoff, policy.max_backoff, count - 1);
        RestartDecision::RestartAfter(equal_jitter(delay, unit))
    }
}

/// `min(max, base × 2^attempt)`.
pub fn exponential(base: Duration, max: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(31));
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// Half the delay fixed, half random: spreads restarts without ever retrying at once.
pub fn equal_jitter(delay: Duration, unit: f64) -> Duration {
    let half = delay / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RestartPolicy::default();
        let mut t = RestartTracker::default();
        let now = Instant::now();
        let delays: Vec<_> = (0..5)
            .map(
                |i| match t.on_crash(&p, now + Duration::from_millis(i), 0.999_999) {
                    RestartDecision::RestartAfter(d) => d,
                    RestartDecision::Escalate => panic!("escalated early"),
                },
            )
            .collect();
        for w in delays.windows(2) {
            assert!(w[1] >= w[0]);
        }
        assert!(delays[4] <= p.max_backoff);
        assert!(delays[0] >= p.base_backoff / 2 && delays[0] <= p.base_backoff);
    }

    #[test]
    fn too_many_crashes_in_the_window_escalate() {
        let p = RestartPolicy {
            max_restarts: 3,
            ..RestartPolicy::default()
        };
        let mut t = RestartTracker::default();
        let now = Instant::now();
        for i in 0..3 {
            assert!(matches!(
                t.on_crash(&p, now + Duration::from_secs(i), 0.5),
                RestartDecision::RestartAfter(_)
            ));
        }
        assert_eq!(
            t.on_crash(&p, now + Duration::from_secs(3), 0.5),
            RestartDecision::Escalate
        );
    }

    #[test]
    fn crashes_outside_the_window_are_forgotten() {
        let p = RestartPolicy {
            max_restarts: 2,
            window: Duration::from_secs(10),
            ..RestartPolicy::default()
        };
        let mut t = RestartTracker::default();
        let now = Instant::now();
        for i in 0..10 {
            // One crash every 6s: never more than 2 within 10s.
            let d = t.on_crash(&p, now + Duration::from_secs(6 * i), 0.0);
            assert!(
                matches!(d, RestartDecision::RestartAfter(_)),
                "crash {i}: {d:?}"
            );
        }
    }

    #[test]
    fn jitter_stays_within_half_and_full_delay() {
        let d = Duration::from_secs(4);
        assert_eq!(equal_jitter(d, 0.0), Duration::from_secs(2));
        assert!(equal_jitter(d, 0.99) < d);
        assert_eq!(equal_jitter(d, 7.0), d);
        assert_eq!(
            exponential(Duration::from_millis(100), Duration::from_secs(5), 40),
            Duration::from_secs(5)
        );
    }
}
