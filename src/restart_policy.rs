//! The supervisor's restart policy, as plain code: restart a crashed child after a backoff with
//! jitter, but at most `max_restarts` times within `window`; past that, escalate (the agent exits
//! non-zero so the service manager restarts it).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::backoff::Backoff;

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
        RestartDecision::RestartAfter(
            Backoff::new(policy.base_backoff, policy.max_backoff).delay(count - 1, unit),
        )
    }
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
}
