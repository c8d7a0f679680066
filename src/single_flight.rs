//! [`SingleFlight`]: one fetch per distinct request per round, however many templates ask.
//!
//! A request is fetched again only when nobody fetched it since the asker's round began;
//! everyone else joins the fetch in flight or reuses its answer. N templates over K distinct
//! sources therefore cost K requests per round. The table decides; the caller (the FetcherActor)
//! performs the fetches and sends the answers.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// What the caller does with a request it was asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Join<W, V> {
    /// Fetched since the round began: answer `W` with this.
    Answered(W, V),
    /// A fetch that started since the round began is in flight: the waiter was added to it.
    Waiting,
    /// Fetch it now; report the result with [`SingleFlight::complete`] and this start instant.
    /// Waiters of an older fetch still in flight were moved to this one.
    Start(Instant),
}

enum State<W, V> {
    InFlight(Vec<W>),
    Done(V),
}

struct Entry<W, V> {
    started: Instant,
    state: State<W, V>,
}

/// Requests `K`, answers `V`, waiters `W`.
pub struct SingleFlight<K, W, V> {
    entries: HashMap<K, Entry<W, V>>,
}

impl<K, W, V> Default for SingleFlight<K, W, V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash, W, V: Clone> SingleFlight<K, W, V> {
    /// `waiter` needs `key` with data fetched at or after `round`; `now` is when it asks.
    pub fn join(&mut self, key: K, round: Instant, waiter: W, now: Instant) -> Join<W, V> {
        let mut carried = Vec::new();
        if let Some(entry) = self.entries.get_mut(&key) {
            if entry.started >= round {
                return match &mut entry.state {
                    State::InFlight(waiters) => {
                        waiters.push(waiter);
                        Join::Waiting
                    }
                    State::Done(answer) => Join::Answered(waiter, answer.clone()),
                };
            }
            // Too old for this round: waiters of an older fetch still in flight move to the new one.
            if let State::InFlight(waiters) = &mut entry.state {
                carried = std::mem::take(waiters);
            }
        }
        carried.push(waiter);
        self.entries.insert(
            key,
            Entry {
                started: now,
                state: State::InFlight(carried),
            },
        );
        Join::Start(now)
    }

    /// The fetch of `key` that started at `started` finished: the waiters to answer with
    /// `answer`, which is kept for later askers of the same round. Nothing when a newer fetch
    /// replaced it (that one carries the waiters).
    pub fn complete(&mut self, key: &K, started: Instant, answer: &V) -> Vec<W> {
        let Some(entry) = self.entries.get_mut(key) else {
            return Vec::new();
        };
        if entry.started != started {
            return Vec::new();
        }
        match std::mem::replace(&mut entry.state, State::Done(answer.clone())) {
            State::InFlight(waiters) => waiters,
            State::Done(_) => Vec::new(),
        }
    }

    /// Drops the answers fetched longer than `max_age` before `now`: nobody is in a round that
    /// old, and without this the table would keep, for ever, the answers of requests nobody
    /// makes any more (templates a reload removed, calls whose arguments change). Fetches in
    /// flight are kept.
    pub fn forget_older_than(&mut self, now: Instant, max_age: Duration) {
        self.entries.retain(|_, e| {
            matches!(e.state, State::InFlight(_))
                || now.saturating_duration_since(e.started) <= max_age
        });
    }

    /// Requests held (in flight or answered).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn askers_of_one_round_share_one_fetch_and_its_answer() {
        let t0 = Instant::now();
        let mut table: SingleFlight<&str, u32, String> = SingleFlight::default();
        assert_eq!(table.join("A", t0, 1, t0), Join::Start(t0));
        assert_eq!(table.join("A", t0, 2, t0 + S / 10), Join::Waiting);
        assert_eq!(table.complete(&"A", t0, &"a".to_string()), [1, 2]);
        assert_eq!(
            table.join("A", t0, 3, t0 + S / 5),
            Join::Answered(3, "a".to_string())
        );
        // Another request is its own fetch.
        assert_eq!(table.join("B", t0, 1, t0 + S / 5), Join::Start(t0 + S / 5));
    }

    #[test]
    fn a_later_round_fetches_again_and_takes_over_the_waiters_of_a_slow_fetch() {
        let t0 = Instant::now();
        let mut table: SingleFlight<&str, u32, &str> = SingleFlight::default();
        assert_eq!(table.join("A", t0, 1, t0), Join::Start(t0));
        // Still in flight when the next round (t0 + 2 s) begins.
        let t1 = t0 + 2 * S;
        assert_eq!(table.join("A", t1, 2, t1), Join::Start(t1));
        // The old fetch's answer is stale: superseded, nobody to answer.
        assert!(table.complete(&"A", t0, &"old").is_empty());
        assert_eq!(table.complete(&"A", t1, &"new"), [1, 2]);
        // An answer fetched before the round began is not reused.
        let t2 = t0 + 4 * S;
        assert_eq!(table.join("A", t2, 3, t2), Join::Start(t2));
    }

    #[test]
    fn old_answers_are_forgotten_and_fetches_in_flight_kept() {
        let t0 = Instant::now();
        let mut table: SingleFlight<&str, u32, &str> = SingleFlight::default();
        table.join("done-long-ago", t0, 1, t0);
        table.complete(&"done-long-ago", t0, &"x");
        table.join("in-flight-long-ago", t0, 1, t0);
        table.join("recent", t0, 1, t0 + 150 * S);
        table.complete(&"recent", t0 + 150 * S, &"y");
        table.forget_older_than(t0 + 200 * S, 180 * S);
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.join("recent", t0 + 150 * S, 2, t0 + 200 * S),
            Join::Answered(2, "y")
        );
        assert_eq!(
            table.join("in-flight-long-ago", t0, 2, t0 + 200 * S),
            Join::Waiting
        );
    }
}
