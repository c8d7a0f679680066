//! How soon the agent starts the child again after stopping it for a restart (new secrets, a
//! reloaded `exec` section). A child that ran a good while starts again at once; one the agent
//! keeps restarting within seconds (secrets changing in a burst, a reload loop) is started after a
//! backoff, so restarts cannot spin (docs/behaviour.md §8).

use std::time::Duration;

use crate::backoff::Backoff;

/// A child that ran at least this long before a restart counts as stable: the restart is
/// immediate and the backoff starts over.
pub const STABLE_RUN: Duration = Duration::from_secs(10);

/// The backoff between restarts of a child that does not stay up: 1 s, doubling, up to 30 s.
pub const RESTART_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

/// Restarts in a row of runs shorter than [`STABLE_RUN`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RestartPacing {
    short_runs: u32,
}

impl RestartPacing {
    /// The child just stopped for a restart after running `lived`: the delay before it starts
    /// again (`unit` is a uniform number in `[0, 1)` for the jitter).
    pub fn next_delay(&mut self, lived: Duration, unit: f64) -> Duration {
        if lived >= STABLE_RUN {
            self.short_runs = 0;
            return Duration::ZERO;
        }
        let delay = RESTART_BACKOFF.delay(self.short_runs, unit);
        self.short_runs = self.short_runs.saturating_add(1);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stable_child_restarts_at_once_and_a_restless_one_backs_off() {
        let mut p = RestartPacing::default();
        assert_eq!(p.next_delay(Duration::from_secs(60), 0.5), Duration::ZERO);
        let delays: Vec<Duration> = (0..7)
            .map(|_| p.next_delay(Duration::from_secs(1), 0.999))
            .collect();
        assert!(delays[0] >= Duration::from_millis(500) && delays[0] <= Duration::from_secs(1));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert!(delays[6] <= Duration::from_secs(30) && delays[6] >= Duration::from_secs(15));
        // A run that lasted again starts over.
        assert_eq!(p.next_delay(STABLE_RUN, 0.5), Duration::ZERO);
        assert!(p.next_delay(Duration::ZERO, 0.0) <= Duration::from_secs(1));
    }
}
