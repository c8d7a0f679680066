//! The server's duration strings (`docs/wire-contract.md` §12.8, the JS `ms` grammar): lease `ttl`,
//! `dynamicSecret.defaultTTL` / `maxTTL`.
//!
//! Grammar: optional `-`, a decimal number (`1`, `1.5`, `.5`), optional spaces, an optional
//! case-insensitive unit. No unit means milliseconds. No compound forms (`1h30m`). At most 100
//! characters.

use std::time::Duration;

/// Why a duration string was refused. Holds no part of the input beyond its length.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("duration longer than 100 characters ({0})")]
    TooLong(usize),
    #[error("not a duration (expected a number and a unit such as 30s, 5m, 1h, 7d)")]
    Malformed,
    #[error("negative duration")]
    Negative,
    #[error("unknown duration unit `{0}`")]
    UnknownUnit(String),
    #[error("duration out of range")]
    OutOfRange,
}

const MS_PER_SECOND: f64 = 1_000.0;
const MS_PER_MINUTE: f64 = 60.0 * MS_PER_SECOND;
const MS_PER_HOUR: f64 = 60.0 * MS_PER_MINUTE;
const MS_PER_DAY: f64 = 24.0 * MS_PER_HOUR;
const MS_PER_WEEK: f64 = 7.0 * MS_PER_DAY;
const MS_PER_YEAR: f64 = 365.25 * MS_PER_DAY;

fn unit_millis(unit: &str) -> Option<f64> {
    Some(match unit {
        "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => MS_PER_SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => MS_PER_MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => MS_PER_HOUR,
        "d" | "day" | "days" => MS_PER_DAY,
        "w" | "week" | "weeks" => MS_PER_WEEK,
        "y" | "yr" | "yrs" | "year" | "years" => MS_PER_YEAR,
        _ => return None,
    })
}

/// Parses a duration in the server's grammar. Negative durations are refused (no TTL can be);
/// spaces around it are allowed.
pub fn parse_ms_duration(input: &str) -> Result<Duration, DurationError> {
    if input.len() > 100 {
        return Err(DurationError::TooLong(input.len()));
    }
    let millis = parse_ms_millis(input.trim())?;
    if millis < 0.0 {
        return Err(DurationError::Negative);
    }
    if millis > u64::MAX as f64 / 2.0 {
        return Err(DurationError::OutOfRange);
    }
    Ok(Duration::from_secs_f64(millis / MS_PER_SECOND))
}

/// The grammar itself, exactly as the JS `ms` package reads it (the dev server answers with
/// it): signed milliseconds; nothing around the duration.
pub fn parse_ms_millis(input: &str) -> Result<f64, DurationError> {
    if input.len() > 100 {
        return Err(DurationError::TooLong(input.len()));
    }
    if input.is_empty() {
        return Err(DurationError::Empty);
    }
    let (negative, rest) = match input.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, unit) = rest.split_at(number_len);
    // `1.`, `.`, `1.2.3` are not numbers in the grammar.
    let valid_number = !number.is_empty()
        && number.matches('.').count() <= 1
        && !number.ends_with('.')
        && number.chars().any(|c| c.is_ascii_digit());
    if !valid_number {
        return Err(DurationError::Malformed);
    }
    let value: f64 = number.parse().map_err(|_| DurationError::Malformed)?;
    let unit = unit.trim_start_matches(' ').to_ascii_lowercase();
    if unit.contains(|c: char| !c.is_ascii_alphabetic()) {
        return Err(DurationError::Malformed);
    }
    let factor = unit_millis(&unit).ok_or_else(|| DurationError::UnknownUnit(unit.clone()))?;
    let millis = value * factor;
    if !millis.is_finite() {
        return Err(DurationError::OutOfRange);
    }
    Ok(if negative { -millis } else { millis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> f64 {
        parse_ms_duration(s).unwrap().as_secs_f64()
    }

    #[test]
    fn every_unit_spelling() {
        for u in ["ms", "msec", "msecs", "millisecond", "milliseconds", ""] {
            assert_eq!(secs(&format!("1500{u}")), 1.5, "{u}");
        }
        for u in ["s", "sec", "secs", "second", "seconds"] {
            assert_eq!(secs(&format!("2{u}")), 2.0, "{u}");
        }
        for u in ["m", "min", "mins", "minute", "minutes"] {
            assert_eq!(secs(&format!("1{u}")), 60.0, "{u}");
        }
        for u in ["h", "hr", "hrs", "hour", "hours"] {
            assert_eq!(secs(&format!("1{u}")), 3600.0, "{u}");
        }
        for u in ["d", "day", "days"] {
            assert_eq!(secs(&format!("1{u}")), 86_400.0, "{u}");
        }
        for u in ["w", "week", "weeks"] {
            assert_eq!(secs(&format!("2{u}")), 1_209_600.0, "{u}");
        }
        for u in ["y", "yr", "yrs", "year", "years"] {
            assert_eq!(secs(&format!("1{u}")), 31_557_600.0, "{u}");
        }
    }

    #[test]
    fn fractions_spaces_and_case() {
        assert_eq!(secs("1.5h"), 5400.0);
        assert_eq!(secs(".5m"), 30.0);
        assert_eq!(secs("30 Minutes"), 1800.0);
        assert_eq!(secs("1M"), 60.0);
        assert_eq!(secs("  5m  "), 300.0);
        assert_eq!(secs("-0s"), 0.0);
    }

    #[test]
    fn no_unit_is_milliseconds() {
        assert_eq!(
            parse_ms_duration("3600").unwrap(),
            Duration::from_millis(3600)
        );
    }

    #[test]
    fn refusals() {
        use DurationError::*;
        assert_eq!(parse_ms_duration(""), Err(Empty));
        assert_eq!(parse_ms_duration("abc"), Err(Malformed));
        assert_eq!(parse_ms_duration("1h30m"), Err(Malformed));
        assert_eq!(parse_ms_duration("1."), Err(Malformed));
        assert_eq!(parse_ms_duration("1.2.3s"), Err(Malformed));
        assert_eq!(parse_ms_duration("-5m"), Err(Negative));
        assert_eq!(
            parse_ms_duration("5 fortnights"),
            Err(UnknownUnit("fortnights".into()))
        );
        assert_eq!(parse_ms_duration(&"1".repeat(101)), Err(TooLong(101)));
        assert_eq!(
            parse_ms_duration(&format!("{}y", "9".repeat(90))),
            Err(OutOfRange)
        );
    }
}
