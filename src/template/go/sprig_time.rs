//! Go's time formatting (`time.Time.Format` with reference-time layouts such as
//! `2006-01-02 15:04:05`, and `Time.String`), for Sprig's `now` and `date`.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    Tz,
    /// (zulu, colons, seconds, short): the numeric and ISO 8601 zone forms.
    NumTz(bool, bool, bool, bool),
    /// (separator, digits, trim trailing zeros).
    Frac(u8, usize, bool),
}

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go's `nextStdChunk`: (literal prefix length, token, token length) of the next token.
fn next_chunk(l: &[u8]) -> Option<(usize, Std, usize)> {
    let has = |i: usize, s: &str| l[i..].starts_with(s.as_bytes());
    for i in 0..l.len() {
        let tok = match l[i] {
            b'J' if has(i, "Jan") => {
                if has(i, "January") {
                    Some((Std::LongMonth, 7))
                } else if !starts_lower(&l[i + 3..]) {
                    Some((Std::Month, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "Mon") => {
                if has(i, "Monday") {
                    Some((Std::LongWeekDay, 6))
                } else if !starts_lower(&l[i + 3..]) {
                    Some((Std::WeekDay, 3))
                } else {
                    None
                }
            }
            b'M' if has(i, "MST") => Some((Std::Tz, 3)),
            b'0' if l.len() >= i + 2 && (b'1'..=b'6').contains(&l[i + 1]) => Some((
                [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(l[i + 1] - b'1') as usize],
                2,
            )),
            b'0' if has(i, "002") => Some((Std::ZeroYearDay, 3)),
            b'1' if has(i, "15") => Some((Std::Hour, 2)),
            b'1' => Some((Std::NumMonth, 1)),
            b'2' if has(i, "2006") => Some((Std::LongYear, 4)),
            b'2' => Some((Std::Day, 1)),
            b'_' if has(i, "_2006") => return Some((i + 1, Std::LongYear, 4)),
            b'_' if has(i, "_2") => Some((Std::UnderDay, 2)),
            b'_' if has(i, "__2") => Some((Std::UnderYearDay, 3)),
            b'3' => Some((Std::Hour12, 1)),
            b'4' => Some((Std::Minute, 1)),
            b'5' => Some((Std::Second, 1)),
            b'P' if has(i, "PM") => Some((Std::PM, 2)),
            b'p' if has(i, "pm") => Some((Std::Pm, 2)),
            b'-' | b'Z' => {
                let z = l[i] == b'Z';
                if has(i + 1, "070000") {
                    Some((Std::NumTz(z, false, true, false), 7))
                } else if has(i + 1, "07:00:00") {
                    Some((Std::NumTz(z, true, true, false), 9))
                } else if has(i + 1, "0700") {
                    Some((Std::NumTz(z, false, false, false), 5))
                } else if has(i + 1, "07:00") {
                    Some((Std::NumTz(z, true, false, false), 6))
                } else if has(i + 1, "07") {
                    Some((Std::NumTz(z, false, false, true), 3))
                } else {
                    None
                }
            }
            b'.' | b',' if l.len() > i + 1 && (l[i + 1] == b'0' || l[i + 1] == b'9') => {
                let ch = l[i + 1];
                let mut j = i + 1;
                while j < l.len() && l[j] == ch {
                    j += 1;
                }
                if j < l.len() && l[j].is_ascii_digit() {
                    None
                } else {
                    Some((Std::Frac(l[i], j - i - 1, ch == b'9'), j - i))
                }
            }
            _ => None,
        };
        if let Some((std, len)) = tok {
            return Some((i, std, len));
        }
    }
    None
}

fn zone(out: &mut String, offset: i32, colons: bool, seconds: bool, short: bool) {
    let (sign, abs) = if offset < 0 {
        ('-', -offset)
    } else {
        ('+', offset)
    };
    out.push(sign);
    out.push_str(&format!("{:02}", abs / 3600));
    if short {
        return;
    }
    if colons {
        out.push(':');
    }
    out.push_str(&format!("{:02}", (abs / 60) % 60));
    if seconds {
        if colons {
            out.push(':');
        }
        out.push_str(&format!("{:02}", abs % 60));
    }
}

/// `t.Format(layout)`.
pub fn go_format(t: &DateTime<FixedOffset>, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout.as_bytes();
    while let Some((pre, std, len)) = next_chunk(rest) {
        out.push_str(&String::from_utf8_lossy(&rest[..pre]));
        rest = &rest[pre + len..];
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::LongMonth => out.push_str(MONTHS[t.month0() as usize]),
            Std::Month => out.push_str(&MONTHS[t.month0() as usize][..3]),
            Std::NumMonth => out.push_str(&t.month().to_string()),
            Std::ZeroMonth => out.push_str(&format!("{:02}", t.month())),
            Std::LongWeekDay => out.push_str(DAYS[t.weekday().num_days_from_sunday() as usize]),
            Std::WeekDay => out.push_str(&DAYS[t.weekday().num_days_from_sunday() as usize][..3]),
            Std::Day => out.push_str(&t.day().to_string()),
            Std::UnderDay => out.push_str(&format!("{:>2}", t.day())),
            Std::ZeroDay => out.push_str(&format!("{:02}", t.day())),
            Std::UnderYearDay => out.push_str(&format!("{:>3}", t.ordinal())),
            Std::ZeroYearDay => out.push_str(&format!("{:03}", t.ordinal())),
            Std::Hour => out.push_str(&format!("{:02}", t.hour())),
            Std::Hour12 => out.push_str(&hour12.to_string()),
            Std::ZeroHour12 => out.push_str(&format!("{hour12:02}")),
            Std::Minute => out.push_str(&t.minute().to_string()),
            Std::ZeroMinute => out.push_str(&format!("{:02}", t.minute())),
            Std::Second => out.push_str(&t.second().to_string()),
            Std::ZeroSecond => out.push_str(&format!("{:02}", t.second())),
            Std::LongYear => out.push_str(&format!("{:04}", t.year())),
            Std::Year => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Std::PM => out.push_str(if t.hour() >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if t.hour() >= 12 { "pm" } else { "am" }),
            Std::Tz => {
                let off = t.offset().local_minus_utc();
                if off == 0 {
                    out.push_str("UTC");
                } else {
                    zone(&mut out, off, false, false, false);
                }
            }
            Std::NumTz(zulu, colons, seconds, short) => {
                let off = t.offset().local_minus_utc();
                if zulu && off == 0 {
                    out.push('Z');
                } else {
                    zone(&mut out, off, colons, seconds, short);
                }
            }
            Std::Frac(sep, digits, trim) => {
                let nanos = format!("{:09}", t.nanosecond().min(999_999_999));
                let mut frac = nanos[..digits.min(9)].to_string();
                if trim {
                    while frac.ends_with('0') {
                        frac.pop();
                    }
                }
                if !frac.is_empty() {
                    out.push(sep as char);
                    out.push_str(&frac);
                }
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(rest));
    out
}

/// `t.String()` without the monotonic clock reading.
pub fn go_time_string(t: &DateTime<FixedOffset>) -> String {
    go_format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2009-02-03T04:05:06.120+00:00").unwrap()
    }

    #[test]
    fn layouts() {
        assert_eq!(go_format(&t(), "2006-01-02"), "2009-02-03");
        assert_eq!(
            go_format(&t(), "Jan 2, 2006 at 3:04pm (MST)"),
            "Feb 3, 2009 at 4:05am (UTC)"
        );
        assert_eq!(
            go_format(&t(), "Monday January _2 15:04:05.000 Z07:00"),
            "Tuesday February  3 04:05:06.120 Z"
        );
        assert_eq!(go_time_string(&t()), "2009-02-03 04:05:06.12 +0000 UTC");
        let off = DateTime::parse_from_rfc3339("2009-02-03T16:05:06-07:00").unwrap();
        assert_eq!(
            go_format(&off, "03:04 PM -07:00 -0700 MST"),
            "04:05 PM -07:00 -0700 -0700"
        );
    }
}
