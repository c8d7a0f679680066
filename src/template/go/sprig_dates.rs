//! Sprig's dates and durations (ago date_in_zone dateInZone htmlDateInZone toDate mustToDate
//! duration durationRound dateModify date_modify mustDateModify must_date_modify htmlDate
//! unixEpoch; `date` and `now` are in `sprig`), with Sprig's semantics.
//!
//! Deliberate difference: rendering never reads the tz database, so `dateInZone` and
//! `htmlDateInZone` know the zones `UTC`, `Local` and `""` (UTC) only; any other name is an error
//! saying so (Sprig converts to a named zone, and falls back to UTC for an unknown name). Times
//! hold an offset, not a zone name: see `sprig_time::go_parse` for what that means for `toDate`.
//!
//! Durations are Go's `time.Duration` (int64 nanoseconds): parsed with `time.ParseDuration`'s
//! grammar and bounds, printed as `Duration.String` prints them.

use chrono::{DateTime, FixedOffset};

use super::builtins::{Param, Sig};
use super::sprig::text;
use super::sprig_time::{go_format, go_parse};
use super::value::Value;

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "ago",
    "duration",
    "durationRound",
    "dateModify",
    "mustDateModify",
    "htmlDate",
    "unixEpoch",
    "date_modify",
    "must_date_modify",
    "dateInZone",
    "date_in_zone",
    "htmlDateInZone",
    "toDate",
    "mustToDate",
];

use Param::{Any, Str, Time};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "ago" | "duration" | "durationRound" | "htmlDate" => s(&[Any], None),
        "dateModify" | "mustDateModify" | "date_modify" | "must_date_modify" => {
            s(&[Str, Time], None)
        }
        "dateInZone" | "date_in_zone" => s(&[Str, Any, Str], None),
        "htmlDateInZone" => s(&[Any, Str], None),
        "toDate" | "mustToDate" => s(&[Str, Str], None),
        "unixEpoch" => s(&[Time], None),
        _ => None,
    }
}

const SECOND: i64 = 1_000_000_000;

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let s = |t: String| Ok(Value::str(t.into_bytes()));
    match name {
        "duration" => {
            let n = match &a[0] {
                Value::Str(v) => parse_int10(&String::from_utf8_lossy(v)),
                Value::Int64(v) => *v,
                _ => 0,
            };
            s(duration_string(n.wrapping_mul(SECOND)))
        }
        "durationRound" => {
            let d = match &a[0] {
                Value::Str(v) => parse_duration(&String::from_utf8_lossy(v)).unwrap_or(0),
                Value::Int64(v) => *v,
                Value::Time(t) => since(t),
                _ => 0,
            };
            s(duration_round(d))
        }
        "ago" => {
            let t = match &a[0] {
                Value::Time(t) => *t,
                Value::Int(v) | Value::Int64(v) => unix(*v),
                _ => now(),
            };
            s(duration_string(round_second(since(&t))))
        }
        "dateModify" | "mustDateModify" | "date_modify" | "must_date_modify" => {
            let must = name.starts_with("must");
            let Value::Time(t) = &a[1] else {
                return Err(format!("{name}: expected a time.Time"));
            };
            match parse_duration(&text(&a[0])) {
                Ok(d) => t
                    .checked_add_signed(chrono::Duration::nanoseconds(d))
                    .map(Value::Time)
                    .ok_or_else(|| format!("{name}: time out of range")),
                Err(e) if must => Err(e),
                Err(_) => Ok(Value::Time(*t)),
            }
        }
        "htmlDate" => {
            let t = match &a[0] {
                Value::Time(t) => *t,
                Value::Int(v) | Value::Int64(v) => unix(*v),
                _ => now(),
            };
            let local = t.with_timezone(&chrono::Local).fixed_offset();
            s(go_format(&local, "2006-01-02"))
        }
        "dateInZone" | "date_in_zone" => s(date_in_zone(name, &text(&a[0]), &a[1], &a[2])?),
        "htmlDateInZone" => s(date_in_zone(name, "2006-01-02", &a[0], &a[1])?),
        "toDate" | "mustToDate" => match go_parse(&bytes(&a[0]), &bytes(&a[1])) {
            Ok(t) => Ok(Value::Time(t)),
            Err(e) if name == "mustToDate" => Err(e),
            Err(_) => Ok(Value::Time(zero_time())),
        },
        "unixEpoch" => match &a[0] {
            Value::Time(t) => s(t.timestamp().to_string()),
            _ => Err(format!("{name}: expected a time.Time")),
        },
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

/// The bytes of a string argument.
fn bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(s) => s.to_vec(),
        _ => Vec::new(),
    }
}

/// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
fn zero_time() -> DateTime<FixedOffset> {
    DateTime::from_timestamp(-62_135_596_800, 0)
        .unwrap_or_default()
        .fixed_offset()
}

/// Sprig's `dateInZone`: a `time.Time` or Unix seconds (`int`, `int64`; anything else is now)
/// formatted in `zone`. Only the zones that need no tz database are known (see the header).
fn date_in_zone(name: &str, layout: &str, date: &Value, zone: &Value) -> Result<String, String> {
    let t = match date {
        Value::Time(t) => *t,
        Value::Int(v) | Value::Int64(v) => unix(*v),
        _ => now(),
    };
    let t = match &bytes(zone)[..] {
        b"" | b"UTC" => t.with_timezone(&chrono::Utc).fixed_offset(),
        b"Local" => t.with_timezone(&chrono::Local).fixed_offset(),
        other => {
            return Err(format!(
                "{name}: time zone {} is not supported: templates know only \"UTC\", \"Local\" and \"\" (rendering never reads the tz database)",
                quote_go(&String::from_utf8_lossy(other))
            ))
        }
    };
    Ok(go_format(&t, layout))
}

fn now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

/// `time.Unix(secs, 0)` in the local zone (now when chrono cannot hold it).
fn unix(secs: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.with_timezone(&chrono::Local).fixed_offset())
        .unwrap_or_else(now)
}

/// `time.Since(t)`, saturating as Go's `Time.Sub` does.
fn since(t: &DateTime<FixedOffset>) -> i64 {
    let d = now().signed_duration_since(*t);
    d.num_nanoseconds()
        .unwrap_or(if d < chrono::Duration::zero() {
            i64::MIN
        } else {
            i64::MAX
        })
}

/// `Duration.Round(time.Second)`: halves away from zero, saturating.
fn round_second(d: i64) -> i64 {
    let r = d % SECOND;
    if d < 0 {
        let r = -r;
        if r + r < SECOND {
            return d + r;
        }
        d.checked_sub(SECOND - r).unwrap_or(i64::MIN)
    } else {
        if r + r < SECOND {
            return d - r;
        }
        d.checked_add(SECOND - r).unwrap_or(i64::MAX)
    }
}

/// `strconv.ParseInt(s, 10, 64)` as Sprig's `duration` uses it: a syntax error is 0, out of range
/// is the nearest bound (Go returns it along with the error, which Sprig ignores).
fn parse_int10(s: &str) -> i64 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let mut m: u128 = 0;
    for c in digits.bytes() {
        m = (m * 10 + (c - b'0') as u128).min(1 << 64);
    }
    if neg {
        if m >= 1 << 63 {
            i64::MIN
        } else {
            -(m as i64)
        }
    } else if m > i64::MAX as u128 {
        i64::MAX
    } else {
        m as i64
    }
}

/// Go's `Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(super) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < SECOND as u64 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "\u{b5}s")
        } else {
            (6, "ms")
        };
        let (frac, rest) = fmt_frac(u, prec);
        out = format!("{rest}{frac}{unit}");
    } else {
        let (frac, rest) = fmt_frac(u, 9);
        u = rest;
        let secs = format!("{}{frac}s", u % 60);
        u /= 60;
        if u > 0 {
            let mins = format!("{}m", u % 60);
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&mins);
        }
        out.push_str(&secs);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Go's `fmtFrac`: the `prec` low decimal digits of `v` as `.ddd` without trailing zeros (nothing
/// when they are all zero), and `v` without them.
fn fmt_frac(v: u64, prec: u32) -> (String, u64) {
    if prec == 0 {
        return (String::new(), v);
    }
    let p = 10u64.pow(prec);
    let digits = format!("{:0width$}", v % p, width = prec as usize);
    let digits = digits.trim_end_matches('0');
    let frac = if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    };
    (frac, v / p)
}

/// Sprig's `durationRound`: the largest whole unit (y mo d h m s) of a duration.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour = 3_600 * SECOND as u64;
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60 * SECOND as u64, "m"),
        (SECOND as u64, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, in nanoseconds, overflow an error.
pub(super) fn parse_duration(orig: &str) -> Result<i64, String> {
    let bad = || format!("time: invalid duration {}", quote_go(orig));
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    const LIMIT: u64 = 1 << 63;
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(bad());
        }
        // the integer part
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > LIMIT / 10 {
                return Err(bad());
            }
            v = v * 10 + (s[i] - b'0') as u64;
            if v > LIMIT {
                return Err(bad());
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        // the fraction
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let mut overflow = false;
            let mut i = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                if !overflow {
                    if f > (LIMIT - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + (s[i] - b'0') as u64;
                        if y > LIMIT {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            post = i > 0;
            s = &s[i..];
        }
        if !pre && !post {
            return Err(bad());
        }
        // the unit
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(format!("time: missing unit in duration {}", quote_go(orig)));
        }
        let unit: u64 = match &s[..i] {
            b"ns" => 1,
            b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
            b"ms" => 1_000_000,
            b"s" => SECOND as u64,
            b"m" => 60 * SECOND as u64,
            b"h" => 3_600 * SECOND as u64,
            other => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote_go(&String::from_utf8_lossy(other)),
                    quote_go(orig)
                ))
            }
        };
        s = &s[i..];
        if v > LIMIT / unit {
            return Err(bad());
        }
        v *= unit;
        if f > 0 {
            v = v.saturating_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > LIMIT {
                return Err(bad());
            }
        }
        d = d.saturating_add(v);
        if d > LIMIT {
            return Err(bad());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > LIMIT - 1 {
        return Err(bad());
    }
    Ok(d as i64)
}

fn quote_go(s: &str) -> String {
    String::from_utf8_lossy(&super::strconv::quote(s.as_bytes(), false)).into_owned()
}
