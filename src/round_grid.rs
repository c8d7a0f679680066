//! [`RoundGrid`]: when a template's polling rounds start. Every renderer's grid starts at one
//! shared epoch, so templates with the same interval start their rounds at the same instant and
//! the fetcher serves them all with one request per source (see README, "Architecture").

use std::time::{Duration, Instant};

/// Rounds every `interval` from `epoch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundGrid {
    epoch: Instant,
    interval: Duration,
}

impl RoundGrid {
    /// A zero interval is taken as 1 ms (the grid must move forward).
    pub fn new(epoch: Instant, interval: Duration) -> Self {
        Self {
            epoch,
            interval: interval.max(Duration::from_millis(1)),
        }
    }

    /// The start of the round `now` falls in (the epoch itself before it).
    pub fn current(&self, now: Instant) -> Instant {
        self.start_of(self.index(now))
    }

    /// How long from `now` until the next round starts (never zero: a round that starts exactly
    /// now is the current one).
    pub fn until_next(&self, now: Instant) -> Duration {
        let next = self.start_of(self.index(now).saturating_add(1));
        next.saturating_duration_since(now)
            .max(Duration::from_nanos(1))
    }

    /// When the next round starts (always after `now`).
    pub fn next(&self, now: Instant) -> Instant {
        now + self.until_next(now)
    }

    /// How many whole intervals separate `now` from the epoch.
    fn index(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.epoch).as_nanos() / self.interval.as_nanos()
    }

    /// The start of round `k`. An offset that does not fit (584 years of nanoseconds) gives the
    /// epoch rather than a panic.
    fn start_of(&self, k: u128) -> Instant {
        let offset = self
            .interval
            .as_nanos()
            .checked_mul(k)
            .and_then(|n| u64::try_from(n).ok())
            .map(Duration::from_nanos);
        offset
            .and_then(|d| self.epoch.checked_add(d))
            .unwrap_or(self.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn rounds_start_on_the_grid_of_the_shared_epoch() {
        let epoch = Instant::now();
        let grid = RoundGrid::new(epoch, 2 * S);
        assert_eq!(grid.current(epoch), epoch);
        assert_eq!(grid.current(epoch + S), epoch);
        assert_eq!(grid.current(epoch + 2 * S), epoch + 2 * S);
        assert_eq!(grid.current(epoch + 5 * S), epoch + 4 * S);
        // Two templates with the same interval, asking at different moments of one round, get
        // the same round start: that is what lets the fetcher share the request.
        let a = grid.current(epoch + Duration::from_millis(4100));
        let b = grid.current(epoch + Duration::from_millis(5900));
        assert_eq!(a, b);
    }

    #[test]
    fn the_next_round_is_after_now_even_on_a_boundary() {
        let epoch = Instant::now();
        let grid = RoundGrid::new(epoch, 2 * S);
        assert_eq!(grid.until_next(epoch + S / 2), Duration::from_millis(1500));
        assert_eq!(grid.until_next(epoch + 2 * S), 2 * S);
        assert_eq!(grid.until_next(epoch), 2 * S);
    }

    #[test]
    fn before_the_epoch_is_round_zero_and_a_zero_interval_still_moves() {
        let epoch = Instant::now() + 10 * S;
        let grid = RoundGrid::new(epoch, 3 * S);
        assert_eq!(grid.current(epoch - S), epoch);
        let fine = RoundGrid::new(epoch, Duration::ZERO);
        assert_eq!(fine.until_next(epoch), Duration::from_millis(1));
    }

    #[test]
    fn a_grid_run_for_longer_than_u32_rounds_keeps_counting() {
        // The renderer computed the round index as a `u32`: on a 1 ms grid it wrapped after 49
        // days and rounds started in the past.
        let epoch = Instant::now();
        let grid = RoundGrid::new(epoch, Duration::from_millis(1));
        let later = epoch + Duration::from_millis(u64::from(u32::MAX) + 5_000);
        assert_eq!(grid.current(later), later);
        assert_eq!(grid.until_next(later), Duration::from_millis(1));
    }
}
