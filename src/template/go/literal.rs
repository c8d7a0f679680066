//! Literal decoding as Go's parser does it: `strconv.Unquote`, `strconv.UnquoteChar` and the
//! number rules of `parse.newNumber` (ints, uints, floats, hex floats, imaginary, char constants).

use super::ast::Number;
use super::unicode::{decode_rune, push_rune, RUNE_ERROR};

const SYNTAX: &str = "invalid syntax";

/// `strconv.UnquoteChar`: decodes one character or escape of a literal quoted by `quote`.
/// Returns the bytes it stands for and the rest of the input.
fn unquote_char(s: &[u8], quote: u8) -> Result<(Vec<u8>, &[u8]), String> {
    let Some(&c) = s.first() else {
        return Err(SYNTAX.into());
    };
    if c == quote && (quote == b'\'' || quote == b'"') {
        return Err(SYNTAX.into());
    }
    let mut out = Vec::new();
    if c >= 0x80 {
        let (r, w) = decode_rune(s);
        push_rune(&mut out, r);
        return Ok((out, &s[w..]));
    }
    if c != b'\\' {
        return Ok((vec![c], &s[1..]));
    }
    let Some(&e) = s.get(1) else {
        return Err(SYNTAX.into());
    };
    let rest = &s[2..];
    let simple = match e {
        b'a' => Some(7u8),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        b'\'' | b'"' => {
            if e != quote {
                return Err(SYNTAX.into());
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(b) = simple {
        return Ok((vec![b], rest));
    }
    match e {
        b'x' | b'u' | b'U' => {
            let n = match e {
                b'x' => 2,
                b'u' => 4,
                _ => 8,
            };
            if rest.len() < n {
                return Err(SYNTAX.into());
            }
            let mut v: u32 = 0;
            for &d in &rest[..n] {
                let x = (d as char).to_digit(16).ok_or(SYNTAX)?;
                v = v * 16 + x;
            }
            if e == b'x' {
                // A single byte, possibly not valid UTF-8.
                return Ok((vec![v as u8], &rest[n..]));
            }
            let r = char::from_u32(v).ok_or(SYNTAX)?;
            push_rune(&mut out, r);
            Ok((out, &rest[n..]))
        }
        b'0'..=b'7' => {
            if rest.len() < 2 {
                return Err(SYNTAX.into());
            }
            let mut v: u32 = (e - b'0') as u32;
            for &d in &rest[..2] {
                if !(b'0'..=b'7').contains(&d) {
                    return Err(SYNTAX.into());
                }
                v = v * 8 + (d - b'0') as u32;
            }
            if v > 255 {
                return Err(SYNTAX.into());
            }
            Ok((vec![v as u8], &rest[2..]))
        }
        _ => Err(SYNTAX.into()),
    }
}

/// `strconv.Unquote` for a string literal token (`"..."` or `` `...` ``), over bytes.
pub fn unquote(lit: &[u8]) -> Result<Vec<u8>, String> {
    if lit.len() < 2 {
        return Err(SYNTAX.into());
    }
    let q = lit[0];
    if q != lit[lit.len() - 1] {
        return Err(SYNTAX.into());
    }
    let body = &lit[1..lit.len() - 1];
    if q == b'`' {
        if body.contains(&b'`') {
            return Err(SYNTAX.into());
        }
        return Ok(body.iter().copied().filter(|&c| c != b'\r').collect());
    }
    if q != b'"' {
        return Err(SYNTAX.into());
    }
    if !body.contains(&b'\\') && !body.contains(&b'\n') && std::str::from_utf8(body).is_ok() {
        if body.contains(&b'"') {
            return Err(SYNTAX.into());
        }
        return Ok(body.to_vec());
    }
    let mut out = Vec::new();
    let mut s = body;
    while !s.is_empty() {
        if s[0] == b'\n' {
            return Err(SYNTAX.into());
        }
        let (bytes, rest) = unquote_char(s, b'"')?;
        out.extend_from_slice(&bytes);
        s = rest;
    }
    Ok(out)
}

/// Decodes a char constant token (`'a'`, `'\n'`) to its rune value.
fn char_constant(lit: &[u8]) -> Result<u32, String> {
    let bad = || {
        format!(
            "malformed character constant: {}",
            String::from_utf8_lossy(lit)
        )
    };
    if lit.len() < 3 {
        return Err(bad());
    }
    let (bytes, tail) = unquote_char(&lit[1..], b'\'')?;
    if tail != b"'" {
        return Err(bad());
    }
    // Escapes like \x41 give one byte; everything else is one UTF-8 encoded rune.
    if bytes.len() == 1 {
        return Ok(bytes[0] as u32);
    }
    let (r, _) = decode_rune(&bytes);
    Ok(if r == RUNE_ERROR { 0xFFFD } else { r as u32 })
}

/// Go's underscore rule for number literals: only between digits, or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        i = 1;
    }
    let mut saw = '^';
    let mut hex = false;
    if b.len() - i >= 2
        && b[i] == b'0'
        && matches!(b[i + 1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        hex = b[i + 1].eq_ignore_ascii_case(&b'x');
        i += 2;
        saw = '0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = '0';
        } else if c == b'_' {
            if saw != '0' {
                return false;
            }
            saw = '_';
        } else {
            if saw == '_' {
                return false;
            }
            saw = '!';
        }
        i += 1;
    }
    saw != '_'
}

/// `strconv.ParseUint(s, 0, 64)` / `ParseInt`: (magnitude, negative).
pub fn parse_integer(s: &str) -> Option<(u64, bool)> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || !underscore_ok(s) {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r.to_string())
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r.to_string())
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok().map(|v| (v, neg))
}

/// `strconv.ParseFloat(s, 64)` for the literal forms the lexer accepts (decimal, hex with `p`).
pub fn parse_float(s: &str) -> Option<f64> {
    if !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, &clean[..]),
    };
    let lower = body.to_ascii_lowercase();
    let v = if let Some(hex) = lower.strip_prefix("0x") {
        let (mant, exp) = hex.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let mut m = 0f64;
        for c in int_part.chars() {
            m = m * 16.0 + c.to_digit(16)? as f64;
        }
        let mut scale = 1.0 / 16.0;
        for c in frac_part.chars() {
            m += c.to_digit(16)? as f64 * scale;
            scale /= 16.0;
        }
        m * 2f64.powi(exp)
    } else {
        if lower.is_empty()
            || lower.starts_with('e')
            || lower.contains("inf")
            || lower.contains("nan")
        {
            return None;
        }
        lower.parse::<f64>().ok()?
    };
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn simplify_complex(n: &mut Number) {
    n.is_float = n.complex.1 == 0.0;
    if n.is_float {
        n.float = n.complex.0;
        n.is_int = (n.float as i64) as f64 == n.float;
        if n.is_int {
            n.int = n.float as i64;
        }
        n.is_uint = (n.float as u64) as f64 == n.float && n.float >= 0.0;
        if n.is_uint {
            n.uint = n.float as u64;
        }
    }
}

/// Splits a complex literal `1+2i` into its real and imaginary texts.
fn split_complex(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    for i in (1..b.len()).rev() {
        if (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E' | b'p' | b'P') {
            return Some((&s[..i], &s[i..]));
        }
    }
    None
}

/// `parse.newNumber`: every interpretation of a number, char or complex token.
pub fn parse_number(text: &[u8], is_char: bool, is_complex: bool) -> Result<Number, String> {
    let s = String::from_utf8_lossy(text).into_owned();
    let mut n = Number {
        text: s.clone(),
        ..Number::default()
    };
    if is_char {
        let r = char_constant(text)?;
        n.int = r as i64;
        n.uint = r as u64;
        n.float = r as f64;
        n.is_int = true;
        n.is_uint = true;
        n.is_float = true;
        return Ok(n);
    }
    if is_complex {
        let (re, im) = split_complex(&s).ok_or_else(|| format!("expected integer; found {s}"))?;
        let re = parse_float(re).ok_or_else(|| SYNTAX.to_string())?;
        let im =
            parse_float(im.strip_suffix('i').unwrap_or(im)).ok_or_else(|| SYNTAX.to_string())?;
        n.is_complex = true;
        n.complex = (re, im);
        simplify_complex(&mut n);
        return Ok(n);
    }
    if let Some(body) = s.strip_suffix('i') {
        if let Some(f) = parse_float(body) {
            n.is_complex = true;
            n.complex = (0.0, f);
            simplify_complex(&mut n);
            return Ok(n);
        }
    }
    let parsed = parse_integer(&s);
    if let Some((mag, neg)) = parsed {
        if !neg && !s.starts_with('+') {
            n.is_uint = true;
            n.uint = mag;
        }
        let as_int = if neg {
            if mag <= i64::MAX as u64 + 1 {
                Some((mag as i64).wrapping_neg())
            } else {
                None
            }
        } else if mag <= i64::MAX as u64 {
            Some(mag as i64)
        } else {
            None
        };
        if let Some(i) = as_int {
            n.is_int = true;
            n.int = i;
            if i == 0 {
                n.is_uint = true;
                n.uint = 0;
            }
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_float(&s) {
        if !s.contains(['.', 'e', 'E', 'p', 'P'])
            || (s.to_ascii_lowercase().starts_with("0x") && !s.contains(['p', 'P']))
        {
            return Err(format!("integer overflow: {s:?}"));
        }
        n.is_float = true;
        n.float = f;
        if (f as i64) as f64 == f && f.fract() == 0.0 && f.abs() < 9.2e18 {
            n.is_int = true;
            n.int = f as i64;
        }
        if f >= 0.0 && (f as u64) as f64 == f && f.fract() == 0.0 && f < 1.8e19 {
            n.is_uint = true;
            n.uint = f as u64;
        }
    } else if parsed.is_none()
        && !s.contains(['.', 'e', 'E', 'p', 'P'])
        && s.chars().all(|c| c.is_ascii_digit())
    {
        return Err(format!("integer overflow: {s:?}"));
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!("illegal number syntax: {s:?}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquotes_like_go() {
        assert_eq!(unquote(br#""a\tb""#).unwrap(), b"a\tb");
        assert_eq!(unquote(br#""\xff\xfe""#).unwrap(), b"\xff\xfe");
        assert_eq!(unquote(br#""\u00e9\101""#).unwrap(), "éA".as_bytes());
        assert_eq!(unquote(b"`a\r\nb`").unwrap(), b"a\nb");
        assert!(unquote(br#""\q""#).is_err());
        assert_eq!(unquote(b"\"caf\xe9\"").unwrap(), "caf\u{fffd}".as_bytes());
    }

    #[test]
    fn numbers() {
        let n = parse_number(b"0x1F", false, false).unwrap();
        assert!(n.is_int && n.int == 31);
        assert_eq!(parse_number(b"017", false, false).unwrap().int, 15);
        assert_eq!(parse_number(b"1_000", false, false).unwrap().int, 1000);
        assert_eq!(parse_number(b"0x1p-2", false, false).unwrap().float, 0.25);
        assert_eq!(parse_number(b"'a'", true, false).unwrap().int, 97);
        assert_eq!(parse_number(b"'\\n'", true, false).unwrap().int, 10);
        assert_eq!(
            parse_number("'日'".as_bytes(), true, false).unwrap().int,
            26085
        );
        let c = parse_number(b"2i", false, false).unwrap();
        assert!(c.is_complex && c.complex == (0.0, 2.0));
        let c = parse_number(b"1+2i", false, true).unwrap();
        assert_eq!(c.complex, (1.0, 2.0));
        assert!(parse_number(b"99999999999999999999", false, false)
            .unwrap_err()
            .contains("integer overflow"));
        let u = parse_number(b"9223372036854775808", false, false).unwrap();
        assert!(u.is_uint && !u.is_int);
        assert!(parse_number(b"-", false, false).is_err());
    }
}
