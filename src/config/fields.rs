//! Interpreting one raw field: booleans, integers, durations, permissions, paths and choices.
//! Each helper reports its own error (field path, position, what was expected) and returns
//! `None` on error, so that a section can check all its fields before giving up.

use std::path::PathBuf;
use std::time::Duration;

use super::duration::parse_duration;
use super::error::{ErrorKind, Errors};
use super::permissions::parse_permissions;
use super::reader::{Leaf, Site};

/// The leaf when it holds a value (not absent, not null, not a wrongly-typed node).
pub(crate) fn present(leaf: Option<&Leaf>) -> Option<&Leaf> {
    leaf.filter(|l| !l.is_null() && !l.wrong_type)
}

pub(crate) fn boolean(leaf: Option<&Leaf>, default: bool, errs: &mut Errors) -> Option<bool> {
    let Some(leaf) = present(leaf) else {
        return Some(default);
    };
    match leaf.text.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            errs.push(
                &leaf.path,
                leaf.at,
                ErrorKind::WrongType {
                    expected: "a boolean (true or false)",
                },
            );
            None
        }
    }
}

pub(crate) fn unsigned<T: std::str::FromStr>(
    leaf: Option<&Leaf>,
    default: T,
    errs: &mut Errors,
) -> Option<T> {
    let Some(leaf) = present(leaf) else {
        return Some(default);
    };
    let text = leaf.text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        errs.push(
            &leaf.path,
            leaf.at,
            ErrorKind::WrongType {
                expected: "a whole number (0 or more)",
            },
        );
        return None;
    }
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errs.invalid(&leaf.path, leaf.at, "number out of range");
            None
        }
    }
}

/// A positive duration string; with `bare_seconds`, a whole number means seconds too.
pub(crate) fn duration(
    leaf: Option<&Leaf>,
    default: Duration,
    bare_seconds: bool,
    errs: &mut Errors,
) -> Option<Duration> {
    let d = duration_or_zero(leaf, default, bare_seconds, errs)?;
    if d.is_zero() {
        if let Some(leaf) = present(leaf) {
            errs.invalid(&leaf.path, leaf.at, "must be greater than zero");
        }
        return None;
    }
    Some(d)
}

/// [`duration`], with zero allowed.
pub(crate) fn duration_or_zero(
    leaf: Option<&Leaf>,
    default: Duration,
    bare_seconds: bool,
    errs: &mut Errors,
) -> Option<Duration> {
    let Some(leaf) = present(leaf) else {
        return Some(default);
    };
    let text = leaf.text.trim();
    let parsed = if bare_seconds && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| "number out of range".to_string())
    } else {
        parse_duration(text).map_err(|e| e.to_string())
    };
    match parsed {
        Ok(d) => Some(d),
        Err(reason) => {
            errs.invalid(&leaf.path, leaf.at, reason);
            None
        }
    }
}

pub(crate) fn permissions(leaf: Option<&Leaf>, default: u32, errs: &mut Errors) -> Option<u32> {
    let Some(leaf) = present(leaf) else {
        return Some(default);
    };
    match parse_permissions(&leaf.text) {
        Ok(mode) => Some(mode),
        Err(e) => {
            errs.invalid(&leaf.path, leaf.at, e.to_string());
            None
        }
    }
}

/// A non-empty path, when given.
pub(crate) fn optional_path(leaf: Option<&Leaf>, errs: &mut Errors) -> Option<Option<PathBuf>> {
    let Some(leaf) = present(leaf) else {
        return Some(None);
    };
    non_empty(leaf, errs).map(|text| Some(PathBuf::from(text)))
}

/// A non-empty path that must be given; `parent` locates the error when the key is absent.
pub(crate) fn required_path(
    leaf: Option<&Leaf>,
    key: &str,
    parent: &Site,
    errs: &mut Errors,
) -> Option<PathBuf> {
    match present(leaf) {
        Some(leaf) => non_empty(leaf, errs).map(PathBuf::from),
        None => {
            missing(leaf, key, parent, None, errs);
            None
        }
    }
}

/// Reports a missing required field: at the null value when the key is there, else at the
/// parent mapping.
pub(crate) fn missing(
    leaf: Option<&Leaf>,
    key: &str,
    parent: &Site,
    hint: Option<&'static str>,
    errs: &mut Errors,
) {
    if leaf.is_some_and(|l| l.wrong_type) {
        return; // already reported as the wrong type
    }
    let (path, at) = match leaf {
        Some(l) => (l.path.clone(), l.at),
        None => (super::reader::child_path(&parent.path, key), parent.at),
    };
    errs.push(path, at, ErrorKind::Missing { hint });
}

pub(crate) fn non_empty<'l>(leaf: &'l Leaf, errs: &mut Errors) -> Option<&'l str> {
    if leaf.text.trim().is_empty() {
        errs.invalid(&leaf.path, leaf.at, "must not be empty");
        None
    } else {
        Some(&leaf.text)
    }
}

/// One of `choices`; the error lists the choices, never the text found.
pub(crate) fn choice(
    leaf: &Leaf,
    choices: &[&'static str],
    errs: &mut Errors,
) -> Option<&'static str> {
    match choices.iter().find(|c| **c == leaf.text.trim()) {
        Some(c) => Some(c),
        None => {
            errs.invalid(
                &leaf.path,
                leaf.at,
                format!("must be one of: {}", choices.join(", ")),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::error::Location;

    fn leaf(text: &str) -> Leaf {
        Leaf {
            text: text.into(),
            plain: true,
            path: "a.b".into(),
            at: Location { line: 3, column: 5 },
            wrong_type: false,
        }
    }

    #[test]
    fn absent_and_null_give_the_default() {
        let mut errs = Errors::default();
        assert_eq!(boolean(None, true, &mut errs), Some(true));
        assert_eq!(boolean(Some(&leaf("~")), true, &mut errs), Some(true));
        assert_eq!(unsigned::<u32>(Some(&leaf("")), 7, &mut errs), Some(7));
        assert!(errs.0.is_empty());
    }

    #[test]
    fn wrong_values_report_path_and_position_but_not_the_value() {
        let mut errs = Errors::default();
        assert_eq!(boolean(Some(&leaf("SECRETVAL")), false, &mut errs), None);
        assert_eq!(
            unsigned::<u32>(Some(&leaf("-SECRETVAL")), 0, &mut errs),
            None
        );
        assert_eq!(
            duration(Some(&leaf("SECRETVAL")), Duration::ZERO, false, &mut errs),
            None
        );
        assert_eq!(permissions(Some(&leaf("SECRETVAL")), 0, &mut errs), None);
        assert_eq!(choice(&leaf("SECRETVAL"), &["go"], &mut errs), None);
        assert_eq!(errs.0.len(), 5);
        for e in &errs.0 {
            assert_eq!(e.path, "a.b");
            assert_eq!(e.line(), Some(3));
            assert!(!e.to_string().contains("SECRETVAL"), "{e}");
        }
    }

    #[test]
    fn durations_accept_bare_seconds_only_when_asked() {
        let mut errs = Errors::default();
        let d = Duration::ZERO;
        assert_eq!(
            duration(Some(&leaf("45")), d, true, &mut errs),
            Some(Duration::from_secs(45))
        );
        assert_eq!(duration(Some(&leaf("45")), d, false, &mut errs), None);
        assert_eq!(duration(Some(&leaf("0s")), d, false, &mut errs), None);
        assert_eq!(errs.0.len(), 2);
    }
}
