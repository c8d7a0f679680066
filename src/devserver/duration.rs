//! Duration strings in the grammar of the JS `ms` package (docs/wire-contract.md §12.8), as lease
//! TTLs use them.

use std::time::Duration;

use crate::client::duration::parse_ms_millis;

/// Parses an `ms` duration string into milliseconds. `None` when the grammar does not match (the
/// real `ms` returns `undefined` then). No unit means milliseconds; a year is 365.25 days.
pub fn parse_ms(text: &str) -> Option<f64> {
    parse_ms_millis(text).ok()
}

/// Parses a duration string into a non-negative [`Duration`] (negative values are `None`).
pub fn parse(text: &str) -> Option<Duration> {
    let ms = parse_ms(text)?;
    if ms < 0.0 {
        return None;
    }
    Some(Duration::from_millis(ms.round() as u64))
}

/// Formats whole seconds the way a dynamic secret's `defaultTTL` is usually written (`1m`, `2h`).
pub fn format_secs(secs: u64) -> String {
    match secs {
        0 => "0s".to_string(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_defaults() {
        assert_eq!(parse_ms("1m"), Some(60_000.0));
        assert_eq!(parse_ms("1.5h"), Some(5_400_000.0));
        assert_eq!(parse_ms(".5s"), Some(500.0));
        assert_eq!(parse_ms("3600"), Some(3600.0));
        assert_eq!(parse_ms("2 Weeks"), Some(1_209_600_000.0));
        assert_eq!(parse_ms("1y"), Some(31_557_600_000.0));
        assert_eq!(parse_ms("-1m"), Some(-60_000.0));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
    }

    #[test]
    fn rejects_garbage_and_compounds() {
        assert_eq!(parse_ms("abc"), None);
        assert_eq!(parse_ms("1h30m"), None);
        assert_eq!(parse_ms(""), None);
        assert_eq!(parse_ms(&"1".repeat(101)), None);
        assert_eq!(parse("-1m"), None);
    }

    #[test]
    fn formats_seconds() {
        assert_eq!(format_secs(60), "1m");
        assert_eq!(format_secs(7200), "2h");
        assert_eq!(format_secs(90), "90s");
        assert_eq!(format_secs(172_800), "2d");
    }
}
