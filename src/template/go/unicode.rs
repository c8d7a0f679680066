//! UTF-8 decoding over raw bytes and Go's `unicode.IsPrint`, as `fmt`, `strconv` and the lexer
//! need them, and Go's case predicates and mappings (`IsUpper`, `ToLower`, `ToTitle`, ...) from
//! tables generated out of Go 1.23's own `unicode` package (`unicode_tables`, Unicode 15.0). Template text and values
//! may hold bytes that are not UTF-8; like Go, an invalid byte decodes to U+FFFD with width 1.

pub const RUNE_ERROR: char = '\u{FFFD}';

/// Decodes the first rune of `b`: (rune, width). Empty input gives (U+FFFD, 0).
pub fn decode_rune(b: &[u8]) -> (char, usize) {
    if b.is_empty() {
        return (RUNE_ERROR, 0);
    }
    let c0 = b[0];
    if c0 < 0x80 {
        return (c0 as char, 1);
    }
    let need = match c0 {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (RUNE_ERROR, 1),
    };
    if b.len() < need {
        return (RUNE_ERROR, 1);
    }
    match std::str::from_utf8(&b[..need]) {
        Ok(s) => (s.chars().next().unwrap_or(RUNE_ERROR), need),
        Err(_) => (RUNE_ERROR, 1),
    }
}

/// Number of runes in `b`, counting each invalid byte as one (Go's `utf8.RuneCount`).
pub fn rune_count(b: &[u8]) -> usize {
    let mut i = 0;
    let mut n = 0;
    while i < b.len() {
        let (_, w) = decode_rune(&b[i..]);
        i += w.max(1);
        n += 1;
    }
    n
}

/// `s` without the runes `cut` accepts at either end, as Go's `strings.TrimFunc` decodes them
/// (an invalid byte is U+FFFD of width 1): the bytes kept are `s`'s own, invalid ones included.
pub fn trim_runes(s: &[u8], cut: impl Fn(char) -> bool) -> &[u8] {
    let mut start = 0;
    let mut end = 0;
    let mut i = 0;
    let mut kept_any = false;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        if !cut(r) {
            if !kept_any {
                start = i;
                kept_any = true;
            }
            end = i + w;
        }
        i += w.max(1);
    }
    &s[start..end]
}

/// Go's `unicode.IsSpace`.
pub fn is_space(r: char) -> bool {
    match r as u32 {
        0x09..=0x0D | 0x20 | 0x85 | 0xA0 => true,
        c if c < 0x100 => false,
        _ => r.is_whitespace(),
    }
}

/// Appends the UTF-8 encoding of `r`.
pub fn push_rune(out: &mut Vec<u8>, r: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(r.encode_utf8(&mut buf).as_bytes());
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Rust has no general-category table, so format characters, private use, separators and
/// controls are excluded by range; unassigned code points are treated as printable.
pub fn is_print(r: char) -> bool {
    let c = r as u32;
    if c < 0x20 || (0x7F..0xA0).contains(&c) {
        return false;
    }
    if c == 0x20 {
        return true;
    }
    if r.is_whitespace() {
        return false;
    }
    !matches!(c,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F | 0xD800..=0xDFFF | 0xE000..=0xF8FF
        | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF)
}

/// Go's `unicode.IsLetter || '_' || unicode.IsDigit`, used for identifiers and fields.
pub fn is_alphanumeric(r: char) -> bool {
    r == '_' || r.is_alphabetic() || r.is_numeric()
}

/// Whether `r` is in one of the generated tables of Go's `unicode` predicates.
fn in_table(table: &[(u32, u32)], r: char) -> bool {
    let c = r as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Go's `unicode.IsUpper` (Unicode 15.0, as Go 1.23).
pub fn go_is_upper(r: char) -> bool {
    in_table(super::unicode_tables::UPPER, r)
}

/// Go's `unicode.IsLower`.
pub fn go_is_lower(r: char) -> bool {
    in_table(super::unicode_tables::LOWER, r)
}

/// Go's `unicode.IsTitle`.
pub fn go_is_title(r: char) -> bool {
    in_table(super::unicode_tables::TITLE, r)
}

/// Go's `unicode.IsLetter`.
pub fn go_is_letter(r: char) -> bool {
    in_table(super::unicode_tables::LETTER, r)
}

/// Go's `unicode.IsNumber`.
pub fn go_is_number(r: char) -> bool {
    in_table(super::unicode_tables::NUMBER, r)
}

/// Go's `unicode.IsPunct`.
pub fn go_is_punct(r: char) -> bool {
    in_table(super::unicode_tables::PUNCT, r)
}

/// Go's `unicode.To(case, r)` over `unicode.CaseRanges`: case 0 is upper, 1 lower, 2 title.
fn go_to(case: usize, r: char) -> char {
    let c = r as u32;
    let table = super::unicode_tables::CASE_RANGES;
    let Ok(i) = table.binary_search_by(|&(lo, hi, _)| {
        if hi < c {
            std::cmp::Ordering::Less
        } else if lo > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }) else {
        return r;
    };
    let (lo, _, deltas) = table[i];
    let delta = deltas[case];
    let mapped = if delta > 0x10FFFF {
        // An upper/lower alternation: even offsets are upper case, odd ones lower.
        lo + (((c - lo) & !1) | (case as u32 & 1))
    } else {
        c.wrapping_add_signed(delta)
    };
    char::from_u32(mapped).unwrap_or(r)
}

/// Go's `unicode.ToUpper`.
pub fn go_to_upper(r: char) -> char {
    go_to(0, r)
}

/// Go's `unicode.ToLower`.
pub fn go_to_lower(r: char) -> char {
    go_to(1, r)
}

/// Go's `unicode.ToTitle`.
pub fn go_to_title(r: char) -> char {
    go_to(2, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_valid_and_invalid_bytes() {
        assert_eq!(decode_rune("é".as_bytes()), ('é', 2));
        assert_eq!(decode_rune(b"\xffa"), (RUNE_ERROR, 1));
        assert_eq!(decode_rune(b"\xe6\x97"), (RUNE_ERROR, 1));
        assert_eq!(rune_count("日本".as_bytes()), 2);
        assert_eq!(rune_count(b"a\xffb"), 3);
    }

    #[test]
    fn printable_runes_follow_go() {
        assert!(is_print('a'));
        assert!(is_print(' '));
        assert!(is_print('é'));
        assert!(is_print('🔑'));
        assert!(!is_print('\u{7f}'));
        assert!(!is_print('\u{2028}'));
        assert!(!is_print('\u{a0}'));
        assert!(!is_print('\u{200b}'));
    }

    #[test]
    fn case_tables_follow_go() {
        assert_eq!(go_to_lower('\u{130}'), 'i');
        assert_eq!(go_to_upper('\u{1C6}'), '\u{1C4}');
        assert_eq!(go_to_title('\u{1C6}'), '\u{1C5}');
        assert_eq!(go_to_lower('\u{100}'), '\u{101}');
        assert_eq!(go_to_upper('\u{101}'), '\u{100}');
        assert!(go_is_title('\u{1C5}') && !go_is_upper('\u{1C5}'));
        assert!(!go_is_upper('\u{24B6}') && !go_is_lower('\u{AA}'));
        assert!(go_is_punct('-') && go_is_number('\u{2160}') && go_is_letter('\u{AA}'));
    }
}
