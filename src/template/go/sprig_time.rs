//! Go's time formatting (`time.Time.Format` with reference-time layouts such as
//! `2006-01-02 15:04:05`, and `Time.String`), for Sprig's `now` and `date`, and its parse
//! counterpart `time.ParseInLocation(layout, value, time.Local)` for `toDate`.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

pub(super) const MONTHS: [&str; 12] = [
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

const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const SHORT_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Go's `match`: ASCII letters compared ignoring case.
fn match_fold(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).all(|(&x, &y)| {
        x == y || {
            let (x, y) = (x | 0x20, y | 0x20);
            x == y && x.is_ascii_lowercase()
        }
    })
}

/// Go's `lookup`: the index of the table entry `val` starts with (ignoring case), and the rest.
fn lookup<'a>(tab: &[&str], val: &'a [u8]) -> Option<(usize, &'a [u8])> {
    tab.iter().enumerate().find_map(|(i, v)| {
        let v = v.as_bytes();
        (val.len() >= v.len() && match_fold(&val[..v.len()], v)).then(|| (i, &val[v.len()..]))
    })
}

/// Go's `leadingInt`: the leading digits (None on overflow past 2^63) and the rest.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + (s[i] - b'0') as u64;
        if x > 1 << 63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Go's time-package `atoi`: an optional sign, then digits only.
fn atoi(s: &[u8]) -> Option<i64> {
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (q, rem) = leading_int(s)?;
    if !rem.is_empty() {
        return None;
    }
    let x = q as i64; // Go's int(q): 2^63 wraps
    Some(if neg { x.wrapping_neg() } else { x })
}

fn digit(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(|c| c.is_ascii_digit())
}

/// Go's `getnum`: one or two digits (`fixed`: exactly two).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    if !digit(s, 0) {
        return None;
    }
    if !digit(s, 1) {
        if fixed {
            return None;
        }
        return Some(((s[0] - b'0') as i64, &s[1..]));
    }
    Some((((s[0] - b'0') * 10 + (s[1] - b'0')) as i64, &s[2..]))
}

/// Go's `getnum3`: one to three digits (`fixed`: exactly three).
fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && digit(s, i) {
        n = n * 10 + (s[i] - b'0') as i64;
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

/// Go's `skip`: `prefix` off `value`, runs of spaces matching runs of spaces.
fn skip<'a>(mut value: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    let cut = |s: &'a [u8]| {
        let n = s.iter().take_while(|&&c| c == b' ').count();
        &s[n..]
    };
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return None;
            }
            let n = prefix.iter().take_while(|&&c| c == b' ').count();
            prefix = &prefix[n..];
            value = cut(value);
            continue;
        }
        if value.first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

/// Go's `parseSignedOffset`: the length of a `+hh`/`-hh` (hours up to 23), 0 when there is none.
fn signed_offset_len(v: &[u8]) -> usize {
    if !matches!(v.first(), Some(b'-' | b'+')) {
        return 0;
    }
    match leading_int(&v[1..]) {
        Some((x, rem)) if rem.len() != v.len() - 1 && x <= 23 => v.len() - rem.len(),
        _ => 0,
    }
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `v`.
fn time_zone_len(v: &[u8]) -> Option<usize> {
    if v.len() < 3 {
        return None;
    }
    if v.starts_with(b"ChST") || v.starts_with(b"MeST") {
        return Some(4);
    }
    if v.starts_with(b"GMT") {
        return Some(
            3 + if v.len() == 3 {
                0
            } else {
                signed_offset_len(&v[3..])
            },
        );
    }
    if v[0] == b'+' || v[0] == b'-' {
        let n = signed_offset_len(v);
        return (n > 0).then_some(n);
    }
    let upper = v
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if v[4] == b'T' => Some(5),
        4 if v[3] == b'T' || v.starts_with(b"WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// Go's `parseNanoseconds`: `value[..n]` is a separator and digits.
fn parse_nanos(value: &[u8], n: usize) -> Result<i64, &'static str> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return Err("");
    }
    let n = n.min(10);
    let mut ns = atoi(&value[1..n]).ok_or("")?;
    if ns < 0 {
        return Err("fractional second");
    }
    for _ in 0..10 - n {
        ns *= 10;
    }
    Ok(ns)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `time.ParseInLocation(layout, value, time.Local)`. A zone abbreviation other than `UTC` is
/// taken as Go takes a name the local zone does not know: the wall time read as UTC, shown at
/// offset 0 (`GMT+3`: at +3h). The name itself is not kept (the engine's times hold an offset
/// only), so `MST` in a layout prints such a time as `UTC` or `+0300`, where Go prints `PST` or
/// `GMT+3`; and the local zone's own abbreviations (`CET` under `TZ=Europe/Paris`) are not
/// recognised as such. Offsets of a day or more, which Go accepts up to 24:60:60, are an error.
pub fn go_parse(layout: &[u8], value: &[u8]) -> Result<DateTime<FixedOffset>, String> {
    use super::strconv::quote;
    let q = |s: &[u8]| String::from_utf8_lossy(&quote(s, false)).into_owned();
    let whole = format!("parsing time {} as {}", q(value), q(layout));
    let (mut layout, mut value) = (layout, value);
    let (mut am, mut pm) = (false, false);
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let mut utc = false;
    let mut zone_offset: Option<i64> = None;
    let mut zone_name: Option<&[u8]> = None;
    loop {
        let chunk = next_chunk(layout);
        let pre = chunk.map_or(layout.len(), |c| c.0);
        value = skip(value, &layout[..pre]).ok_or_else(|| {
            format!(
                "{whole}: cannot parse {} as {}",
                q(value),
                q(&layout[..pre])
            )
        })?;
        let Some((_, std, len)) = chunk else {
            if !value.is_empty() {
                return Err(format!("{whole}: extra text: {}", q(value)));
            }
            break;
        };
        let stdstr = &layout[pre..pre + len];
        layout = &layout[pre + len..];
        let hold = value;
        let mut range = "";
        let ok: Option<()> = (|| {
            match std {
                Std::Year => {
                    if value.len() < 2 {
                        return None;
                    }
                    let y = atoi(&value[..2])?;
                    value = &value[2..];
                    year = if y >= 69 { y + 1900 } else { y + 2000 };
                }
                Std::LongYear => {
                    if value.len() < 4 || !digit(value, 0) {
                        return None;
                    }
                    year = atoi(&value[..4])?;
                    value = &value[4..];
                }
                Std::Month | Std::LongMonth => {
                    let tab: &[&str] = if std == Std::Month {
                        &SHORT_MONTHS
                    } else {
                        &MONTHS
                    };
                    let (i, rest) = lookup(tab, value)?;
                    month = i as i64 + 1;
                    value = rest;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
                    (month, value) = (m, rest);
                    if !(1..=12).contains(&month) {
                        range = "month";
                    }
                }
                Std::WeekDay => value = lookup(&SHORT_DAYS, value)?.1,
                Std::LongWeekDay => value = lookup(&DAYS, value)?.1,
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay && value.first() == Some(&b' ') {
                        value = &value[1..];
                    }
                    (day, value) = getnum(value, std == Std::ZeroDay)?;
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    for _ in 0..2 {
                        if std == Std::UnderYearDay && value.first() == Some(&b' ') {
                            value = &value[1..];
                        }
                    }
                    (yday, value) = getnum3(value, std == Std::ZeroYearDay)?;
                }
                Std::Hour => {
                    (hour, value) = getnum(value, false)?;
                    if hour >= 24 {
                        range = "hour";
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    (hour, value) = getnum(value, std == Std::ZeroHour12)?;
                    if hour > 12 {
                        range = "hour";
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    (min, value) = getnum(value, std == Std::ZeroMinute)?;
                    if min >= 60 {
                        range = "minute";
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    (sec, value) = getnum(value, std == Std::ZeroSecond)?;
                    if sec >= 60 {
                        range = "second";
                        return Some(());
                    }
                    // A fraction in the value that the layout does not ask for.
                    if value.len() >= 2 && matches!(value[0], b'.' | b',') && digit(value, 1) {
                        if let Some((_, Std::Frac(..), _)) = next_chunk(layout) {
                            return Some(());
                        }
                        let mut n = 2;
                        while digit(value, n) {
                            n += 1;
                        }
                        match parse_nanos(value, n) {
                            Ok(ns) => nsec = ns,
                            Err("") => return None,
                            Err(r) => range = r,
                        }
                        value = &value[n..];
                    }
                }
                Std::PM | Std::Pm => {
                    if value.len() < 2 {
                        return None;
                    }
                    let (p, rest) = value.split_at(2);
                    value = rest;
                    let (up, low) = if std == Std::PM {
                        (b"PM", b"AM")
                    } else {
                        (b"pm", b"am")
                    };
                    if p == up {
                        pm = true;
                    } else if p == low {
                        am = true;
                    } else {
                        return None;
                    }
                }
                Std::NumTz(zulu, colons, seconds, short) => {
                    if zulu && value.first() == Some(&b'Z') {
                        value = &value[1..];
                        utc = true;
                        return Some(());
                    }
                    let (need, h, m, s) = match (colons, seconds, short) {
                        (_, _, true) => (3, 1, None, None),
                        (true, false, _) => (6, 1, Some(4), None),
                        (true, true, _) => (9, 1, Some(4), Some(7)),
                        (false, true, _) => (7, 1, Some(3), Some(5)),
                        (false, false, _) => (5, 1, Some(3), None),
                    };
                    if value.len() < need {
                        return None;
                    }
                    if colons && (value[3] != b':' || (seconds && value[6] != b':')) {
                        return None;
                    }
                    let two = |i: Option<usize>| match i {
                        Some(i) => getnum(&value[i..i + 2], true).map(|n| n.0),
                        None => Some(0),
                    };
                    let hr = two(Some(h))?;
                    let mm = two(m)?;
                    let ss = two(s)?;
                    if hr > 24 {
                        range = "time zone offset hour";
                    }
                    if mm > 60 {
                        range = "time zone offset minute";
                    }
                    if ss > 60 {
                        range = "time zone offset second";
                    }
                    let off = (hr * 60 + mm) * 60 + ss;
                    zone_offset = Some(match value[0] {
                        b'+' => off,
                        b'-' => -off,
                        _ => return None,
                    });
                    value = &value[need..];
                }
                Std::Tz => {
                    if value.starts_with(b"UTC") {
                        utc = true;
                        value = &value[3..];
                        return Some(());
                    }
                    let n = time_zone_len(value)?;
                    zone_name = Some(&value[..n]);
                    value = &value[n..];
                }
                Std::Frac(_, digits, false) => {
                    let n = 1 + digits;
                    if value.len() < n {
                        return None;
                    }
                    match parse_nanos(value, n) {
                        Ok(ns) => nsec = ns,
                        Err("") => return None,
                        Err(r) => range = r,
                    }
                    value = &value[n..];
                }
                Std::Frac(_, _, true) => {
                    if value.len() < 2 || !matches!(value[0], b'.' | b',') || !digit(value, 1) {
                        return Some(());
                    }
                    let mut i = 0;
                    while digit(value, i + 1) {
                        i += 1;
                    }
                    match parse_nanos(value, 1 + i) {
                        Ok(ns) => nsec = ns,
                        Err("") => return None,
                        Err(r) => range = r,
                    }
                    value = &value[1 + i..];
                }
            }
            Some(())
        })();
        if !range.is_empty() {
            return Err(format!("{whole}: {range} out of range"));
        }
        if ok.is_none() {
            return Err(format!(
                "{whole}: cannot parse {} as {}",
                q(hold),
                q(stdstr)
            ));
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let (mut m, mut d) = (0, 0);
        if is_leap(year) {
            if yday == 31 + 29 {
                (m, d) = (2, 29);
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(format!("{whole}: day-of-year out of range"));
        }
        if m == 0 {
            const BEFORE: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
            m = (yday - 1) / 31 + 1;
            if BEFORE[m as usize] < yday {
                m += 1;
            }
            d = yday - BEFORE[m as usize - 1];
        }
        if month >= 0 && month != m {
            return Err(format!("{whole}: day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(format!("{whole}: day-of-year does not match day"));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(format!("{whole}: day out of range"));
    }
    let naive = chrono::NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
        .and_then(|d| d.and_hms_nano_opt(hour as u32, min as u32, sec as u32, nsec as u32))
        .ok_or_else(|| format!("{whole}: out of range"))?;
    let fixed = |off: i64| {
        FixedOffset::east_opt(off as i32)
            .and_then(|o| naive.and_local_timezone(o).single())
            .ok_or_else(|| format!("{whole}: a zone offset of a day or more is not supported"))
    };
    if utc {
        return fixed(0);
    }
    // Go keeps "no offset" as -1, so an offset of exactly -1s falls through to the name or Local.
    if let Some(off) = zone_offset.filter(|&o| o != -1) {
        return fixed(off);
    }
    if let Some(name) = zone_name {
        let hours = if name.len() > 3 && name.starts_with(b"GMT") {
            atoi(&name[3..]).unwrap_or(0)
        } else {
            0
        };
        // Go sets the zone without moving the instant: 10:00 GMT+3 is 10:00 UTC shown as 13:00.
        return FixedOffset::east_opt((hours * 3600) as i32)
            .map(|o| naive.and_utc().with_timezone(&o))
            .ok_or_else(|| format!("{whole}: out of range"));
    }
    Ok(local_date(naive))
}

/// `time.Date(...)` of a wall-clock time in the local zone (a time a transition skips takes
/// the offset in force just before it).
pub fn local_date(naive: chrono::NaiveDateTime) -> DateTime<FixedOffset> {
    use chrono::{Offset, TimeZone};
    match chrono::Local.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.fixed_offset(),
        chrono::LocalResult::None => {
            let off = chrono::Local.offset_from_utc_datetime(&naive).fix();
            naive
                .and_local_timezone(off)
                .single()
                .unwrap_or_else(|| naive.and_utc().fixed_offset())
        }
    }
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
