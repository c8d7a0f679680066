//! Exponential backoff with jitter, and the two things it needs from the outside world (a random
//! source and a way to wait), behind traits so tests can replace them.
//!
//! Delay for retry number `attempt` (0-based): `d = min(max, base × 2^attempt)`, then "equal
//! jitter": a uniform pick in `[d/2, d]`. Half of the delay is guaranteed (no hot retry loop), the
//! other half spreads clients that failed together.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Exponential backoff parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Cap of one delay (before jitter, so also after).
    pub max: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The delay before retry `attempt` (0 = first retry) without jitter: `min(max, base × 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // 2^attempt overflows quickly; saturate instead of panicking.
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The delay before retry `attempt`, jittered with `unit` (a number in `[0, 1)`, clamped).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(unit)
    }
}

/// A source of uniform numbers in `[0, 1)`.
pub trait RandomSource: Send + Sync {
    fn next_unit(&self) -> f64;
}

/// The process's thread-local generator (`rand`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn next_unit(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// A future that completes after a delay.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Waits. Production code uses [`TokioSleeper`]; tests record the delays and return at once.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, delay: Duration) -> SleepFuture;
}

/// `tokio::time::sleep`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, delay: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::new(200 * MS, 5000 * MS);
        let got: Vec<_> = (0..7).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(got, vec![200, 400, 800, 1600, 3200, 5000, 5000]);
    }

    #[test]
    fn huge_attempt_numbers_saturate_at_the_cap() {
        let b = Backoff::new(200 * MS, 5000 * MS);
        assert_eq!(b.ceiling(40), 5000 * MS);
        assert_eq!(b.ceiling(u32::MAX), 5000 * MS);
        let b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.ceiling(3), Duration::MAX);
    }

    #[test]
    fn jitter_spans_half_to_full_ceiling() {
        let b = Backoff::new(200 * MS, 5000 * MS);
        assert_eq!(b.delay(1, 0.0), 200 * MS);
        assert_eq!(b.delay(1, 0.5), 300 * MS);
        assert_eq!(b.delay(1, 1.0), 400 * MS);
        // Out-of-range or NaN units are clamped, never panic.
        assert_eq!(b.delay(1, 7.0), 400 * MS);
        assert_eq!(b.delay(1, -1.0), 200 * MS);
        assert_eq!(b.delay(1, f64::NAN), 200 * MS);
    }

    proptest! {
        #[test]
        fn delay_is_within_bounds(base_ms in 0u32..10_000, max_ms in 0u32..100_000,
                                  attempt in 0u32..100, unit in 0.0f64..1.0) {
            let b = Backoff::new(base_ms * MS, max_ms * MS);
            let d = b.delay(attempt, unit);
            let ceiling = b.ceiling(attempt);
            prop_assert!(d <= ceiling);
            prop_assert!(d >= ceiling / 2);
            prop_assert!(ceiling <= max_ms * MS);
        }
    }

    #[test]
    fn thread_random_stays_in_unit_interval() {
        for _ in 0..1000 {
            let u = ThreadRandom.next_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
