//! [`RoundAlarm`]: when a renderer's one timer should fire, and what to do when it does.
//!
//! A renderer needs a timer for two things: to start its next round, and, while a round waits
//! for data, to give up on it after the round timeout. Arming a timer costs a task, and 10,000
//! renderers polling every 2 s would spawn two a round each if the two uses had one timer each.
//! The alarm serves both with one: a round arms it for the earlier of its timeout and the next
//! round, and a round that ends in time finds it already set for the next one. A timer that
//! fires earlier than needed is harmless (it only re-arms); only a later one is replaced.

use std::time::{Duration, Instant};

/// What a renderer does when its timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmAction {
    /// Start the next round (`retry`: it retries a failed one).
    StartRound { retry: bool },
    /// The round in flight has waited its whole timeout for data: fail it.
    TimeOutRound,
    /// Nothing yet (a stale timer, or an early one, re-armed by the call that said so).
    Nothing,
}

/// One renderer's timer plan. Each method that changes it returns `Some(at)` when a timer must
/// be (re)armed to fire at `at`, replacing the one armed before.
#[derive(Debug, Clone)]
pub struct RoundAlarm {
    timeout: Duration,
    /// When the next round starts, and whether it retries a failure.
    next_round: Option<(Instant, bool)>,
    /// When the round in flight started: its timeout runs from then.
    round_started: Option<Instant>,
    /// When the armed timer fires; `None` when none is armed.
    armed: Option<Instant>,
}

impl RoundAlarm {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            next_round: None,
            round_started: None,
            armed: None,
        }
    }

    /// A round starts `now`; the one after it is due at `next_round`.
    pub fn round_started(&mut self, now: Instant, next_round: Instant) -> Option<Instant> {
        self.round_started = Some(now);
        self.next_round = Some((next_round, false));
        self.rearm(now)
    }

    /// The round in flight ended (or there was none); the next starts at `next_round`.
    pub fn round_ended(
        &mut self,
        now: Instant,
        next_round: Instant,
        retry: bool,
    ) -> Option<Instant> {
        self.round_started = None;
        self.next_round = Some((next_round, retry));
        self.rearm(now)
    }

    /// No more rounds (render once and exit): a timer still armed does nothing when it fires.
    pub fn stop(&mut self) {
        self.round_started = None;
        self.next_round = None;
    }

    /// The timer armed for `at` fired `now`. Returns what to do, and when to arm the next timer
    /// if nothing is to be done yet. After `StartRound` or `TimeOutRound` the caller's
    /// `round_started` or `round_ended` arms it.
    pub fn fired(&mut self, at: Instant, now: Instant) -> (AlarmAction, Option<Instant>) {
        if self.armed != Some(at) {
            return (AlarmAction::Nothing, None); // replaced after it was set off
        }
        self.armed = None;
        match (self.round_started, self.next_round) {
            (Some(started), _) if now >= started + self.timeout => {
                self.round_started = None;
                return (AlarmAction::TimeOutRound, None);
            }
            (None, Some((next, retry))) if now >= next => {
                self.next_round = None;
                return (AlarmAction::StartRound { retry }, None);
            }
            _ => {}
        }
        (AlarmAction::Nothing, self.rearm(now))
    }

    /// When the timer must fire next: while a round is in flight, at its timeout or the next
    /// round if that comes first and is still ahead (so that a round ending in time leaves the
    /// timer set for the next one); between rounds, at the next round.
    fn due(&self, now: Instant) -> Option<Instant> {
        let next = self.next_round.map(|(at, _)| at);
        match self.round_started {
            Some(started) => {
                let timeout = started + self.timeout;
                Some(next.filter(|&n| n > now && n < timeout).unwrap_or(timeout))
            }
            None => next,
        }
    }

    fn rearm(&mut self, now: Instant) -> Option<Instant> {
        let due = self.due(now)?;
        if self.armed.is_some_and(|armed| armed <= due) {
            return None; // fires in time; early is harmless
        }
        self.armed = Some(due);
        Some(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const TIMEOUT: Duration = Duration::from_secs(180);

    #[test]
    fn a_round_that_ends_in_time_needs_one_timer() {
        let t0 = Instant::now();
        let mut alarm = RoundAlarm::new(TIMEOUT);
        // The round arms the timer for the next round, not for its timeout...
        assert_eq!(alarm.round_started(t0, t0 + 2 * S), Some(t0 + 2 * S));
        // ...so ending in time arms nothing.
        assert_eq!(alarm.round_ended(t0 + S, t0 + 2 * S, false), None);
        assert_eq!(
            alarm.fired(t0 + 2 * S, t0 + 2 * S),
            (AlarmAction::StartRound { retry: false }, None)
        );
        assert_eq!(
            alarm.round_started(t0 + 2 * S, t0 + 4 * S),
            Some(t0 + 4 * S)
        );
    }

    #[test]
    fn a_round_waiting_past_the_next_round_times_out_after_the_timeout() {
        let t0 = Instant::now();
        let mut alarm = RoundAlarm::new(TIMEOUT);
        alarm.round_started(t0, t0 + 2 * S);
        // At the next round's instant the round is still in flight: wait for its timeout.
        assert_eq!(
            alarm.fired(t0 + 2 * S, t0 + 2 * S),
            (AlarmAction::Nothing, Some(t0 + TIMEOUT))
        );
        assert_eq!(
            alarm.fired(t0 + TIMEOUT, t0 + TIMEOUT),
            (AlarmAction::TimeOutRound, None)
        );
        // The failure's retry arms the timer again.
        assert_eq!(
            alarm.round_ended(t0 + TIMEOUT, t0 + TIMEOUT + S, true),
            Some(t0 + TIMEOUT + S)
        );
        assert_eq!(
            alarm.fired(t0 + TIMEOUT + S, t0 + TIMEOUT + S),
            (AlarmAction::StartRound { retry: true }, None)
        );
    }

    #[test]
    fn a_slow_round_that_ends_after_its_next_round_moves_the_timer_earlier() {
        let t0 = Instant::now();
        let mut alarm = RoundAlarm::new(TIMEOUT);
        alarm.round_started(t0, t0 + 2 * S);
        alarm.fired(t0 + 2 * S, t0 + 2 * S); // re-armed at the timeout
        assert_eq!(
            alarm.round_ended(t0 + 3 * S, t0 + 4 * S, false),
            Some(t0 + 4 * S)
        );
        // The timer replaced is stale when it fires.
        assert_eq!(
            alarm.fired(t0 + TIMEOUT, t0 + TIMEOUT),
            (AlarmAction::Nothing, None)
        );
        assert_eq!(
            alarm.fired(t0 + 4 * S, t0 + 4 * S),
            (AlarmAction::StartRound { retry: false }, None)
        );
    }

    #[test]
    fn a_long_interval_keeps_the_timeout_and_then_waits_for_the_next_round() {
        let t0 = Instant::now();
        let hour = 3600 * S;
        let mut alarm = RoundAlarm::new(TIMEOUT);
        assert_eq!(alarm.round_started(t0, t0 + hour), Some(t0 + TIMEOUT));
        assert_eq!(alarm.round_ended(t0 + S, t0 + hour, false), None);
        // The early timer finds no round in flight and the next one ahead: it re-arms.
        assert_eq!(
            alarm.fired(t0 + TIMEOUT, t0 + TIMEOUT),
            (AlarmAction::Nothing, Some(t0 + hour))
        );
        assert_eq!(
            alarm.fired(t0 + hour, t0 + hour),
            (AlarmAction::StartRound { retry: false }, None)
        );
    }

    #[test]
    fn a_retry_sooner_than_the_armed_timer_replaces_it_and_a_later_one_keeps_it() {
        let t0 = Instant::now();
        let mut alarm = RoundAlarm::new(TIMEOUT);
        alarm.round_started(t0, t0 + 10 * S);
        assert_eq!(alarm.round_ended(t0, t0 + S, true), Some(t0 + S));
        alarm.fired(t0 + S, t0 + S);
        alarm.round_started(t0 + S, t0 + 10 * S);
        // A retry after the armed timer: the timer fires first and re-arms.
        assert_eq!(alarm.round_ended(t0 + S, t0 + 20 * S, true), None);
        assert_eq!(
            alarm.fired(t0 + 10 * S, t0 + 10 * S),
            (AlarmAction::Nothing, Some(t0 + 20 * S))
        );
    }

    #[test]
    fn a_stopped_alarm_does_nothing() {
        let t0 = Instant::now();
        let mut alarm = RoundAlarm::new(TIMEOUT);
        alarm.round_started(t0, t0 + 2 * S);
        alarm.stop();
        assert_eq!(
            alarm.fired(t0 + 2 * S, t0 + 2 * S),
            (AlarmAction::Nothing, None)
        );
    }
}
