//! The parts of Go's `strconv` that `fmt` relies on: `FormatFloat` ('e', 'f', 'g' with Go's
//! shortest-digit and exponent rules) and `Quote` / `QuoteRune` / `CanBackquote`.

use super::unicode::{decode_rune, is_print, push_rune, RUNE_ERROR};

/// Decimal digits of |v| and the decimal point position: v = 0.d1d2d3... × 10^dp.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Parses Rust's `{:e}` output ("1.2345e-7") into digits, trimming trailing zeros.
fn digits_from_exp(s: &str) -> Digits {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|c| c.is_ascii_digit()).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { d, dp: 0 };
    }
    Digits { d, dp: exp + 1 }
}

fn shortest(v: f64) -> Digits {
    digits_from_exp(&format!("{:e}", v))
}

/// An f64's exact decimal expansion has at most 767 significant digits and 1074 after the point:
/// past these every digit is 0, so formatting at these precisions (Rust's formatter refuses more
/// than 65535) and padding with zeros is exact. Go allows precisions up to 1e6.
const MAX_SIGNIFICANT_DIGITS: usize = 800;
const MAX_FRACTION_DIGITS: usize = 1100;

fn rounded(v: f64, ndigits: usize) -> Digits {
    let n = ndigits.min(MAX_SIGNIFICANT_DIGITS);
    digits_from_exp(&format!("{:.*e}", n.saturating_sub(1), v))
}

/// `v` with exactly `prec` digits after the point, rounded as Go rounds (to nearest, ties even on
/// the exact value).
fn fixed(v: f64, prec: usize) -> String {
    let mut s = format!("{:.*}", prec.min(MAX_FRACTION_DIGITS), v);
    if prec > MAX_FRACTION_DIGITS && v.is_finite() {
        s.extend(std::iter::repeat_n('0', prec - MAX_FRACTION_DIGITS));
    }
    s
}

fn fmt_e(out: &mut String, d: &Digits, prec: i32, upper: bool) {
    out.push(if d.d.is_empty() { '0' } else { d.d[0] as char });
    if prec > 0 {
        out.push('.');
        let mut i = 1;
        let m = d.d.len().min(prec as usize + 1);
        if i < m {
            out.push_str(std::str::from_utf8(&d.d[i..m]).unwrap_or(""));
            i = m;
        }
        while i <= prec as usize {
            out.push('0');
            i += 1;
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let mut exp = d.dp - 1;
    if d.d.is_empty() {
        exp = 0;
    }
    if exp < 0 {
        out.push('-');
        exp = -exp;
    } else {
        out.push('+');
    }
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, d: &Digits, prec: i32) {
    if d.dp > 0 {
        let m = (d.dp as usize).min(d.d.len());
        out.push_str(std::str::from_utf8(&d.d[..m]).unwrap_or(""));
        for _ in m..d.dp as usize {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 && (j as usize) < d.d.len() {
                d.d[j as usize] as char
            } else {
                '0'
            };
            out.push(c);
        }
    }
}

/// `strconv.FormatFloat(v, verb, prec, 64)` for verbs e, E, f, F, g, G (prec -1 = shortest).
pub fn format_float(v: f64, verb: char, prec: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    let a = v.abs();
    let short = prec < 0;
    if matches!(verb, 'x' | 'X' | 'b') {
        let bits = a.to_bits();
        let mut exp = ((bits >> 52) & 0x7ff) as i32;
        let mut mant = bits & ((1u64 << 52) - 1);
        if exp == 0 {
            exp += 1;
        } else {
            mant |= 1u64 << 52;
        }
        exp -= 1023;
        if verb == 'b' {
            out.push_str(&format!(
                "{mant}p{}{}",
                if exp - 52 >= 0 { "+" } else { "" },
                exp - 52
            ));
        } else {
            fmt_x(&mut out, prec, verb == 'X', mant, exp);
        }
        return out;
    }
    match verb {
        'e' | 'E' => {
            let d = if short {
                shortest(a)
            } else {
                rounded(a, prec as usize + 1)
            };
            let p = if short {
                d.d.len().max(1) as i32 - 1
            } else {
                prec
            };
            fmt_e(&mut out, &d, p, verb == 'E');
        }
        'f' | 'F' => {
            if short {
                let d = shortest(a);
                let p = (d.d.len() as i32 - d.dp).max(0);
                fmt_f(&mut out, &d, p);
            } else {
                out.push_str(&fixed(a, prec as usize));
            }
        }
        _ => {
            let mut p = prec;
            let d = if short {
                shortest(a)
            } else {
                if p == 0 {
                    p = 1;
                }
                rounded(a, p as usize)
            };
            let nd = d.d.len() as i32;
            if short {
                p = nd;
            }
            let mut eprec = p;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if short {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                fmt_e(&mut out, &d, (p - 1).max(0), verb == 'G');
            } else {
                if p > d.dp {
                    p = nd;
                }
                fmt_f(&mut out, &d, (p - d.dp).max(0));
            }
        }
    }
    out
}

/// Go's `fmtX`: hexadecimal mantissa and binary exponent (`0x1.8p+01`).
fn fmt_x(out: &mut String, prec: i32, upper: bool, mut mant: u64, mut exp: i32) {
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8] = if upper {
        b"0123456789ABCDEF"
    } else {
        LOWER_HEX
    };
    out.push('0');
    out.push(if upper { 'X' } else { 'x' });
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(hex[((mant >> 60) & 15) as usize] as char);
            mant <<= 4;
        }
    }
    out.push(if upper { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 100 {
        out.push_str(&format!("{e:02}"));
    } else {
        out.push_str(&e.to_string());
    }
}

const LOWER_HEX: &[u8] = b"0123456789abcdef";

fn escaped_rune(out: &mut Vec<u8>, r: char, quote: u8, ascii_only: bool) {
    if r as u32 == quote as u32 || r == '\\' {
        out.push(b'\\');
        push_rune(out, r);
        return;
    }
    if ascii_only {
        if r.is_ascii() && is_print(r) {
            out.push(r as u8);
            return;
        }
    } else if is_print(r) {
        push_rune(out, r);
        return;
    }
    let esc: &[u8] = match r {
        '\x07' => b"\\a",
        '\x08' => b"\\b",
        '\x0c' => b"\\f",
        '\n' => b"\\n",
        '\r' => b"\\r",
        '\t' => b"\\t",
        '\x0b' => b"\\v",
        _ => b"",
    };
    if !esc.is_empty() {
        out.extend_from_slice(esc);
        return;
    }
    let c = r as u32;
    if c < 0x20 || c == 0x7f {
        out.extend_from_slice(b"\\x");
        out.push(LOWER_HEX[(c >> 4) as usize]);
        out.push(LOWER_HEX[(c & 15) as usize]);
    } else if c < 0x10000 {
        out.extend_from_slice(b"\\u");
        for s in [12, 8, 4, 0] {
            out.push(LOWER_HEX[((c >> s) & 15) as usize]);
        }
    } else {
        out.extend_from_slice(b"\\U");
        for s in [28, 24, 20, 16, 12, 8, 4, 0] {
            out.push(LOWER_HEX[((c >> s) & 15) as usize]);
        }
    }
}

/// `strconv.Quote` (or `QuoteToASCII`) over bytes: invalid bytes become `\xNN`.
pub fn quote(s: &[u8], ascii_only: bool) -> Vec<u8> {
    let mut out = vec![b'"'];
    let mut i = 0;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        if w == 1 && r == RUNE_ERROR {
            out.extend_from_slice(b"\\x");
            out.push(LOWER_HEX[(s[i] >> 4) as usize]);
            out.push(LOWER_HEX[(s[i] & 15) as usize]);
        } else {
            escaped_rune(&mut out, r, b'"', ascii_only);
        }
        i += w.max(1);
    }
    out.push(b'"');
    out
}

/// `strconv.QuoteRune` (or `QuoteRuneToASCII`) of a code point (invalid ones become U+FFFD).
pub fn quote_rune(c: u64, ascii_only: bool) -> Vec<u8> {
    let r = u32::try_from(c)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or(RUNE_ERROR);
    let mut out = vec![b'\''];
    escaped_rune(&mut out, r, b'\'', ascii_only);
    out.push(b'\'');
    out
}

/// `strconv.CanBackquote`.
pub fn can_backquote(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        i += w.max(1);
        if w > 1 {
            if r == '\u{feff}' {
                return false;
            }
            continue;
        }
        if r == RUNE_ERROR || (r < ' ' && r != '\t') || r == '`' || r == '\x7f' {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g_matches_go() {
        for (v, want) in [
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.00001, "1e-05"),
            (3.0, "3"),
            (5432.0, "5432"),
            (19.99, "19.99"),
            (123456789.0, "1.23456789e+08"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (-0.0, "-0"),
            (0.0, "0"),
            (100000.0, "100000"),
        ] {
            assert_eq!(format_float(v, 'g', -1), want, "{v}");
        }
    }

    #[test]
    fn fixed_precisions() {
        assert_eq!(format_float(1.23456, 'f', 2), "1.23");
        assert_eq!(format_float(1.23456, 'f', 6), "1.234560");
        assert_eq!(format_float(1234.5678, 'e', 2), "1.23e+03");
        assert_eq!(format_float(1234.5678, 'e', -1), "1.2345678e+03");
        assert_eq!(format_float(1.0, 'g', 3), "1");
        assert_eq!(format_float(1234.5678, 'g', 3), "1.23e+03");
        assert_eq!(format_float(0.000012345, 'g', 2), "1.2e-05");
        assert_eq!(format_float(3.0, 'f', -1), "3");
        assert_eq!(format_float(f64::INFINITY, 'g', -1), "+Inf");
        assert_eq!(format_float(3.0, 'x', -1), "0x1.8p+01");
        assert_eq!(format_float(1.0, 'X', 2), "0X1.00P+00");
        assert_eq!(format_float(0.0, 'x', -1), "0x0p+00");
        assert_eq!(format_float(1.0, 'b', -1), "4503599627370496p-52");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote(b"a\"b\\\x07\x00\x7f\xff", false),
            br#""a\"b\\\a\x00\x7f\xff""#.to_vec()
        );
        assert_eq!(
            quote("é🔑\u{2028}".as_bytes(), false),
            "\"é🔑\\u2028\"".as_bytes()
        );
        assert_eq!(quote("é".as_bytes(), true), b"\"\\u00e9\"".to_vec());
        assert_eq!(quote_rune(97, false), b"'a'".to_vec());
        assert_eq!(quote_rune(39, false), b"'\\''".to_vec());
        assert!(can_backquote(b"a\tb"));
        assert!(!can_backquote(b"a`b"));
    }
}
