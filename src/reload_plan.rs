//! What a reloaded configuration changes: which running templates stay, which stop and which
//! new ones start. A template whose whole definition (its fingerprint) is unchanged keeps running
//! untouched, with its files, its leases and its round.

use std::collections::HashMap;

/// The outcome of [`plan_reload`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    /// Slots whose template is in the new configuration too.
    pub keep: Vec<usize>,
    /// Slots whose template is not.
    pub stop: Vec<usize>,
    /// Indexes (into the new configuration's templates) of the templates to start.
    pub start: Vec<usize>,
}

/// Matches the running templates (`slot`, `fingerprint`) with the new configuration's
/// fingerprints, each new template matching at most one running one (two identical templates
/// are two templates). Linear in both: a reload of 10,000 templates must not compare every pair.
pub fn plan_reload(running: &[(usize, u64)], new: &[u64]) -> ReloadPlan {
    let mut unmatched: HashMap<u64, Vec<usize>> = HashMap::new();
    for (index, fingerprint) in new.iter().enumerate().rev() {
        unmatched.entry(*fingerprint).or_default().push(index);
    }
    let mut plan = ReloadPlan::default();
    for &(slot, fingerprint) in running {
        match unmatched.get_mut(&fingerprint).and_then(|v| v.pop()) {
            Some(_) => plan.keep.push(slot),
            None => plan.stop.push(slot),
        }
    }
    plan.start = unmatched.into_values().flatten().collect();
    plan.start.sort_unstable();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_templates_stay_removed_ones_stop_new_ones_start() {
        let plan = plan_reload(&[(0, 10), (1, 11), (4, 12)], &[12, 13, 10]);
        assert_eq!(plan.keep, [0, 4]);
        assert_eq!(plan.stop, [1]);
        assert_eq!(plan.start, [1]);
    }

    #[test]
    fn identical_templates_are_matched_one_to_one() {
        // Two running copies, three wanted: both stay and one more starts.
        let plan = plan_reload(&[(0, 7), (1, 7)], &[7, 7, 7]);
        assert_eq!(plan.keep, [0, 1]);
        assert!(plan.stop.is_empty());
        assert_eq!(plan.start.len(), 1);
        // Three running, one wanted: one stays.
        let plan = plan_reload(&[(0, 7), (1, 7), (2, 7)], &[7]);
        assert_eq!((plan.keep.len(), plan.stop.len()), (1, 2));
    }

    #[test]
    fn an_empty_configuration_stops_everything() {
        let plan = plan_reload(&[(3, 1), (5, 2)], &[]);
        assert_eq!(plan.stop, [3, 5]);
        assert!(plan.keep.is_empty() && plan.start.is_empty());
    }
}
