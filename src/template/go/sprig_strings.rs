//! Sprig's string functions beyond the base family (`abbrev`, `abbrevboth`, `initials`,
//! `untitle`, `swapcase`, `shuffle`, `cat`, `plural`, `trimall`, `splitn`, `toStrings`, `wrap`,
//! `wrapWith`, the `rand*` strings and `hello`), with the semantics of the libraries Sprig 3.2.3
//! calls (goutils, xstrings): `abbrev`, `wrap` and `initials` count bytes, `initials` copies each initial byte as the rune
//! of that number, and functions that go through Go's `[]rune` turn each invalid byte into
//! U+FFFD. The random strings come from the thread's cryptographically secure generator.
//! `snakecase`, `kebabcase` and `camelcase` port xstrings' word splitting; Go's `unicode.IsPunct`
//! is exact for ASCII and covers the common punctuation blocks beyond it (Rust has no
//! general-category table).

use rand::Rng as _;

use super::builtins::{Param, Sig};
use super::fmt::{sprint, PrintMode};
use super::sprig::{
    bytes, capped, int, items_capped, simple_lower, simple_upper, str_list, strslice, trim_set,
};
use super::unicode::{decode_rune, is_space, push_rune};
use super::value::Value;

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "hello",
    "abbrev",
    "abbrevboth",
    "untitle",
    "initials",
    "swapcase",
    "shuffle",
    "cat",
    "plural",
    "trimall",
    "splitn",
    "toStrings",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "wrap",
    "wrapWith",
    "snakecase",
    "kebabcase",
    "camelcase",
];

use Param::{Any, Int, Str};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "hello" => s(&[], None),
        "abbrev" => s(&[Int, Str], None),
        "abbrevboth" => s(&[Int, Int, Str], None),
        "untitle" | "initials" | "swapcase" | "shuffle" | "snakecase" | "kebabcase"
        | "camelcase" => s(&[Str], None),
        "cat" => s(&[], Some(Any)),
        "plural" => s(&[Str, Str, Int], None),
        "trimall" => s(&[Str, Str], None),
        "splitn" => s(&[Str, Int, Str], None),
        "toStrings" => s(&[Any], None),
        "randAlpha" | "randAscii" | "randNumeric" => s(&[Int], None),
        "wrap" => s(&[Int, Str], None),
        "wrapWith" => s(&[Int, Str, Str], None),
        _ => None,
    }
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let s = |b: Vec<u8>| Ok(Value::str(b));
    match name {
        "hello" => s(b"Hello!".to_vec()),
        "abbrev" => {
            let width = int(&a[0]);
            if width < 4 {
                return s(bytes(&a[1]).to_vec());
            }
            s(abbreviate(bytes(&a[1]), 0, width).unwrap_or_default())
        }
        "abbrevboth" => {
            let (left, right) = (int(&a[0]), int(&a[1]));
            if right < 4 || left > 0 && right < 7 {
                return s(bytes(&a[2]).to_vec());
            }
            s(abbreviate(bytes(&a[2]), left, right).unwrap_or_default())
        }
        "untitle" => s(map_first_of_words(bytes(&a[0]), simple_lower)),
        "initials" => s(initials(bytes(&a[0]))),
        "swapcase" => s(swap_case(bytes(&a[0]))),
        "shuffle" => {
            let mut runes = go_runes(bytes(&a[0]));
            let mut rng = rand::rng();
            for i in (1..runes.len()).rev() {
                runes.swap(i, rng.random_range(0..=i));
            }
            s(runes.into_iter().collect::<String>().into_bytes())
        }
        "cat" => {
            let kept: Vec<Value> = a.iter().filter(|v| !v.is_nil()).cloned().collect();
            let mut out = Vec::new();
            for (i, v) in kept.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend(sprint(std::slice::from_ref(v), PrintMode::Print));
                capped(out.len())?;
            }
            s(out)
        }
        "plural" => Ok(if int(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        }),
        "trimall" => s(trim_set(bytes(&a[1]), bytes(&a[0]))),
        "splitn" => {
            let parts = split_n(bytes(&a[2]), bytes(&a[0]), int(&a[1]), name)?;
            Ok(Value::str_map(
                parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (format!("_{i}").into_bytes(), Value::str(p)))
                    .collect(),
            ))
        }
        "toStrings" => Ok(str_list(strslice(&a[0]))),
        "snakecase" => s(words_joined(bytes(&a[0]), '_')),
        "kebabcase" => s(words_joined(bytes(&a[0]), '-')),
        "camelcase" => s(camel_case(bytes(&a[0]))),
        "wrap" => s(wrap_custom(bytes(&a[1]), int(&a[0]), b"\n", false)?),
        "wrapWith" => s(wrap_custom(bytes(&a[2]), int(&a[0]), bytes(&a[1]), true)?),
        "randAlpha" => random(int(&a[0]), |b| b.is_ascii_alphabetic()),
        "randNumeric" => random(int(&a[0]), |b| b.is_ascii_digit()),
        "randAscii" => random(int(&a[0]), |b| (32..127).contains(&b)),
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

/// Go's `[]rune(s)`: each invalid byte is U+FFFD.
fn go_runes(s: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        out.push(r);
        i += w.max(1);
    }
    out
}

/// goutils' `AbbreviateFull` (byte offsets, as in goutils); `None` where it returns an error.
fn abbreviate(s: &[u8], offset: i64, width: i64) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    let len = s.len() as i64;
    if width < 4 {
        return None;
    }
    if len <= width {
        return Some(s.to_vec());
    }
    let mut offset = offset.min(len);
    if len - offset < width - 3 {
        offset = len - (width - 3);
    }
    // goutils slices bytes: a cut inside a character is Go's out-of-range-free byte slice.
    let cut = |from: i64, to: i64| s[from.max(0) as usize..to.clamp(0, len) as usize].to_vec();
    if offset <= 4 {
        return Some([cut(0, width - 3), b"...".to_vec()].concat());
    }
    if width < 7 {
        return None;
    }
    if offset + width - 3 < len {
        // goutils drops the inner call's error: an empty rest.
        let rest = abbreviate(&s[offset as usize..], 0, width - 3).unwrap_or_default();
        return Some([b"...".to_vec(), rest].concat());
    }
    Some([b"...".to_vec(), cut(len - (width - 3), len)].concat())
}

/// goutils' `Uncapitalize` (and the like): `f` on the first rune of each space-separated word.
fn map_first_of_words(s: &[u8], f: impl Fn(char) -> char) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut next = true;
    let out: String = go_runes(s)
        .into_iter()
        .map(|c| {
            if is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                f(c)
            } else {
                c
            }
        })
        .collect();
    out.into_bytes()
}

/// goutils' `Initials`: it walks bytes, so each initial is the rune of that byte's number.
fn initials(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut gap = true;
    for &b in s {
        let c = char::from(b);
        if is_space(c) {
            gap = true;
        } else if gap {
            push_rune(&mut out, c);
            gap = false;
        }
    }
    out
}

/// Go's `unicode.ToTitle`: upper case, but for the four digraphs that have a title form.
fn to_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        _ => simple_upper(c),
    }
}

fn is_title(c: char) -> bool {
    matches!(
        c,
        '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}' | '\u{1F88}'..='\u{1F8F}'
            | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}' | '\u{1FBC}' | '\u{1FCC}'
            | '\u{1FFC}'
    )
}

/// goutils' `SwapCase`.
fn swap_case(s: &[u8]) -> Vec<u8> {
    let mut space = true;
    let out: String = go_runes(s)
        .into_iter()
        .map(|c| {
            if is_title(c) || c.is_uppercase() {
                space = false;
                simple_lower(c)
            } else if c.is_lowercase() {
                if space {
                    space = false;
                    to_title(c)
                } else {
                    simple_upper(c)
                }
            } else {
                space = is_space(c);
                c
            }
        })
        .collect();
    out.into_bytes()
}

/// goutils' `WrapCustom`: lines broken at the last space within `width` bytes; a longer word
/// is cut at `width` (`long_words`) or left whole.
fn wrap_custom(s: &[u8], width: i64, newline: &[u8], long_words: bool) -> Result<Vec<u8>, String> {
    let newline: &[u8] = if newline.is_empty() { b"\n" } else { newline };
    let width = width.max(1) as usize;
    let mut out = Vec::with_capacity(s.len());
    let mut offset = 0;
    while s.len() - offset > width {
        if s[offset] == b' ' {
            offset += 1;
            continue;
        }
        let window = &s[offset..offset + width + 1];
        if let Some(space) = window.iter().rposition(|&b| b == b' ') {
            out.extend_from_slice(&window[..space]);
            out.extend_from_slice(newline);
            offset += space + 1;
        } else if long_words {
            out.extend_from_slice(&s[offset..offset + width]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            match s[offset + width..].iter().position(|&b| b == b' ') {
                None => {
                    out.extend_from_slice(&s[offset..]);
                    offset = s.len();
                }
                Some(at) => {
                    let space = offset + width + at;
                    out.extend_from_slice(&s[offset..space]);
                    out.extend_from_slice(newline);
                    offset = space + 1;
                }
            }
        }
        capped(out.len())?;
    }
    out.extend_from_slice(&s[offset..]);
    capped(out.len())?;
    Ok(out)
}

/// Go's `strings.SplitN`.
fn split_n(s: &[u8], sep: &[u8], n: i64, name: &str) -> Result<Vec<Vec<u8>>, String> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if sep.is_empty() {
        let runes = go_runes(s).len() as i64;
        let n = if n < 0 || n > runes { runes } else { n };
        items_capped(name, n as usize)?;
        let mut parts = Vec::new();
        let mut rest = s;
        for _ in 1..n {
            let w = decode_rune(rest).1.max(1);
            parts.push(rest[..w].to_vec());
            rest = &rest[w..];
        }
        if n > 0 {
            parts.push(rest.to_vec());
        }
        return Ok(parts);
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while n < 0 || (parts.len() as i64) < n - 1 {
        let Some(at) = rest.windows(sep.len()).position(|w| w == sep) else {
            break;
        };
        items_capped(name, parts.len() + 1)?;
        parts.push(rest[..at].to_vec());
        rest = &rest[at + sep.len()..];
    }
    parts.push(rest.to_vec());
    Ok(parts)
}

/// goutils' `CryptoRandom` over the ASCII range it draws from, keeping the bytes `keep` accepts.
fn random(count: i64, keep: impl Fn(u8) -> bool) -> Result<Value, String> {
    if count <= 0 {
        // goutils returns an error for a negative count, which Sprig drops.
        return Ok(Value::str(""));
    }
    capped(count as usize)?;
    let pool: Vec<u8> = (32u8..127).filter(|&b| keep(b)).collect();
    let mut rng = rand::rng();
    let out: Vec<u8> = (0..count)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect();
    Ok(Value::str(out))
}

// ---- xstrings' case conversions ----

/// xstrings' connector: `-`, `_` or a space.
fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || is_space(r)
}

/// xstrings' `isAlphabet`: a letter, but not a CJK ideograph.
fn is_alphabet(r: char) -> bool {
    r.is_alphabetic()
        && !matches!(r, '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4D85}' | '\u{20000}'..='\u{2B81D}')
}

/// Go's `unicode.IsPunct`: exact for ASCII, the common blocks beyond it.
fn is_punct(r: char) -> bool {
    if r.is_ascii() {
        return r.is_ascii_punctuation() && !"$+<=>^`|~".contains(r);
    }
    matches!(r as u32,
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF | 0x2010..=0x2027 | 0x2030..=0x2043
        | 0x2045..=0x2051 | 0x2053..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F
        | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B | 0xFF1F | 0xFF20)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// Go's `utf8.DecodeRuneInString`: (U+FFFD, 0) at the end.
fn decode(s: &[u8]) -> (char, usize) {
    decode_rune(s)
}

/// xstrings' `nextValidRune`: the first rune that is not U+FFFD and the bytes up to its end, or
/// `prev` and all the bytes.
fn next_valid_rune(s: &[u8], prev: char) -> (char, usize) {
    let mut size = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let (r, w) = decode(rest);
        size += w;
        if r != '\u{FFFD}' {
            return (r, size);
        }
        rest = &rest[w..];
    }
    (prev, size)
}

/// xstrings' `nextWord`: the type of the word at the start of `s`, the word and what follows.
fn next_word(s: &[u8]) -> (Word, &[u8], &[u8]) {
    if s.is_empty() {
        return (Word::Invalid, b"", b"");
    }
    let (mut r, mut size) = next_valid_rune(s, '\u{FFFD}');
    let mut offset = size;
    if r == '\u{FFFD}' {
        return (Word::Invalid, &s[..offset], &s[offset..]);
    }
    let mut remaining = &s[size..];
    // Consumes runes while `more` holds; returns the rune that stopped it.
    let take_while =
        |remaining: &mut &[u8], offset: &mut usize, mut r: char, more: &dyn Fn(char) -> bool| {
            while !remaining.is_empty() {
                let (next, sz) = next_valid_rune(remaining, r);
                r = next;
                if !more(r) {
                    break;
                }
                *offset += sz;
                *remaining = &remaining[sz..];
            }
            r
        };
    let wt = if is_connector(r) {
        take_while(&mut remaining, &mut offset, r, &is_connector);
        Word::Connector
    } else if is_punct(r) {
        take_while(&mut remaining, &mut offset, r, &is_punct);
        Word::Punct
    } else if r.is_uppercase() {
        if !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if r.is_uppercase() {
                let mut prev_size = size;
                offset += size;
                remaining = &remaining[size..];
                while !remaining.is_empty() {
                    let (next, sz) = next_valid_rune(remaining, r);
                    r = next;
                    if !r.is_uppercase() {
                        break;
                    }
                    prev_size = sz;
                    offset += sz;
                    remaining = &remaining[sz..];
                }
                if !remaining.is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                    remaining = &s[offset..];
                }
            } else if is_alphabet(r) {
                offset += size;
                remaining = &remaining[size..];
                take_while(&mut remaining, &mut offset, r, &|c| {
                    is_alphabet(c) && !c.is_uppercase()
                });
            }
        }
        Word::Upper
    } else if is_alphabet(r) {
        take_while(&mut remaining, &mut offset, r, &|c| {
            is_alphabet(c) && !c.is_uppercase()
        });
        Word::Alphabet
    } else if r.is_numeric() {
        take_while(&mut remaining, &mut offset, r, &|c| c.is_numeric());
        Word::Number
    } else {
        while !remaining.is_empty() {
            let (next, sz) = next_valid_rune(remaining, r);
            r = next;
            if sz == 0 || is_connector(r) || is_alphabet(r) || r.is_numeric() || is_punct(r) {
                break;
            }
            offset += sz;
            remaining = &remaining[sz..];
        }
        Word::Other
    };
    (wt, &s[..offset], remaining)
}

/// xstrings' `toLower`: upper-case and connector words lowered, connectors replaced.
fn to_lower(out: &mut Vec<u8>, wt: Word, word: &[u8], connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.extend_from_slice(word);
        return;
    }
    let mut rest = word;
    while !rest.is_empty() {
        let (r, w) = decode(rest);
        rest = &rest[w.max(1)..];
        if is_connector(r) {
            push_rune(out, connector);
        } else if r.is_uppercase() {
            push_rune(out, simple_lower(r));
        } else {
            push_rune(out, r);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`ToSnakeCase`, `ToKebabCase`).
fn words_joined(s: &[u8], connector: char) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + s.len() / 2);
    if s.is_empty() {
        return out;
    }
    let (mut wt, mut word, mut remaining) = next_word(s);
    let join = |out: &mut Vec<u8>| push_rune(out, connector);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            to_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    join(&mut out);
                }
            }
            Word::Connector => to_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        join(&mut out);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alphabet {
                    to_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        join(&mut out);
                    }
                    continue;
                }
                join(&mut out);
                to_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    join(&mut out);
                }
            }
        }
    }
    to_lower(&mut out, wt, word, connector);
    out
}

/// xstrings' `ToCamelCase`.
fn camel_case(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s;
    let (mut r0, mut size) = ('\u{FFFD}', 0);
    while !rest.is_empty() {
        (r0, size) = decode(rest);
        rest = &rest[size.max(1)..];
        if !is_connector(r0) {
            r0 = simple_upper(r0);
            break;
        }
        push_rune(&mut out, r0);
    }
    if rest.is_empty() {
        if size != 0 {
            push_rune(&mut out, r0);
        }
        return out;
    }
    while !rest.is_empty() {
        let r1 = r0;
        (r0, size) = decode(rest);
        rest = &rest[size.max(1)..];
        if is_connector(r0) && is_connector(r1) {
            push_rune(&mut out, r1);
            continue;
        }
        if is_connector(r1) {
            r0 = simple_upper(r0);
        } else {
            r0 = simple_lower(r0);
            push_rune(&mut out, r1);
        }
    }
    push_rune(&mut out, r0);
    out
}
