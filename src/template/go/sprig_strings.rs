//! Sprig's string functions beyond the base family, with Sprig 3.2.3's semantics and those of
//! the libraries it calls: `abbrev abbrevboth untitle initials swapcase wrap wrapWith` (goutils),
//! `randAlphaNum randAlpha randAscii randNumeric` (goutils' crypto-random strings), `shuffle
//! snakecase camelcase kebabcase` (xstrings 1.3.3), and `cat plural trimall splitn toStrings
//! hello` (Sprig's own).
//!
//! As in Go, `abbrev`, `abbrevboth`, `initials` and `wrap` count bytes, not runes (so they may
//! cut a rune in two, and `initials` writes each byte back as the rune of that number); the
//! rune-based functions turn an invalid byte into U+FFFD. Letter case and character classes
//! follow Go 1.23's Unicode 15.0 tables (`unicode_tables`).
//!
//! Bounds where Sprig has none: a `rand*` count above the output cap is an error (Go would try
//! to allocate it), `wrap`/`wrapWith` stop with an error once their result passes the output cap,
//! and `splitn` refuses more than `MAX_ITEMS` parts.

use super::builtins::{Param, Sig};
use super::fmt::{sprint, PrintMode};
use super::sprig::{bytes, capped, int, items_capped, parts_map, str_list, strslice, trim_set};
use super::unicode::{
    decode_rune, go_is_letter, go_is_lower, go_is_number, go_is_punct, go_is_title, go_is_upper,
    go_to_lower, go_to_title, go_to_upper, is_space, push_rune, RUNE_ERROR,
};
use super::value::{ElemType, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "abbrev",
    "abbrevboth",
    "untitle",
    "initials",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "swapcase",
    "shuffle",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "cat",
    "plural",
    "trimall",
    "splitn",
    "toStrings",
    "hello",
];

use Param::{Any, Int, Str};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "abbrev" | "wrap" => s(&[Int, Str], None),
        "abbrevboth" => s(&[Int, Int, Str], None),
        "untitle" | "initials" | "swapcase" | "shuffle" | "snakecase" | "camelcase"
        | "kebabcase" => s(&[Str], None),
        "randAlphaNum" | "randAlpha" | "randAscii" | "randNumeric" => s(&[Int], None),
        "wrapWith" => s(&[Int, Str, Str], None),
        "cat" => s(&[], Some(Any)),
        "plural" => s(&[Str, Str, Int], None),
        "trimall" => s(&[Str, Str], None),
        "splitn" => s(&[Str, Int, Str], None),
        "toStrings" => s(&[Any], None),
        "hello" => s(&[], None),
        _ => None,
    }
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let s = |b: Vec<u8>| Ok(Value::str(b));
    match name {
        "abbrev" => {
            let (width, v) = (int(&a[0]), bytes(&a[1]));
            if width < 4 {
                return s(v.to_vec());
            }
            s(abbreviate_full(v, 0, width).unwrap_or_default())
        }
        "abbrevboth" => {
            let (left, right, v) = (int(&a[0]), int(&a[1]), bytes(&a[2]));
            if right < 4 || left > 0 && right < 7 {
                return s(v.to_vec());
            }
            s(abbreviate_full(v, left, right).unwrap_or_default())
        }
        "untitle" => s(uncapitalize(bytes(&a[0]))),
        "initials" => s(initials(bytes(&a[0]))),
        "randAlphaNum" => random(
            int(&a[0]),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        ),
        "randAlpha" => random(
            int(&a[0]),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        ),
        "randNumeric" => random(int(&a[0]), b"0123456789"),
        "randAscii" => {
            let printable: Vec<u8> = (32u8..127).collect();
            random(int(&a[0]), &printable)
        }
        "swapcase" => s(swap_case(bytes(&a[0]))),
        "shuffle" => {
            use rand::seq::SliceRandom as _;
            let mut runes = go_runes(bytes(&a[0]));
            runes.shuffle(&mut rand::rng());
            s(runes_to_bytes(&runes))
        }
        "snakecase" => s(camel_case_to_lower_case(bytes(&a[0]), '_')),
        "kebabcase" => s(camel_case_to_lower_case(bytes(&a[0]), '-')),
        "camelcase" => s(to_camel_case(bytes(&a[0]))),
        "wrap" => s(wrap_custom(bytes(&a[1]), int(&a[0]), b"", false)?),
        "wrapWith" => s(wrap_custom(bytes(&a[2]), int(&a[0]), bytes(&a[1]), true)?),
        "cat" => {
            let parts: Vec<Vec<u8>> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| sprint(std::slice::from_ref(v), PrintMode::Print))
                .collect();
            let out = parts.join(&b' ');
            capped(out.len())?;
            s(out)
        }
        "plural" => Ok(if int(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        }),
        "trimall" => s(trim_set(bytes(&a[1]), bytes(&a[0]))),
        "splitn" => {
            let parts = split_n(bytes(&a[2]), bytes(&a[0]), int(&a[1]));
            items_capped("splitn", parts.len())?;
            Ok(parts_map(parts))
        }
        // Sprig's strslice hands a `[]string` back as is.
        "toStrings" if matches!(a[0], Value::List(_, ElemType::Str)) => Ok(a[0].clone()),
        "toStrings" => Ok(str_list(strslice(&a[0]))),
        "hello" => s(b"Hello!".to_vec()),
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

/// goutils' `AbbreviateFull`, on bytes as Go slices strings; `Err` is its illegal-argument error
/// (Sprig then gives "").
fn abbreviate_full(s: &[u8], offset: i64, max_width: i64) -> Result<Vec<u8>, ()> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if max_width < 4 {
        return Err(());
    }
    let len = s.len() as i64;
    if len <= max_width {
        return Ok(s.to_vec());
    }
    // From here 4 <= max_width < len, so `max_width - 3` fits and leaves room for the marker.
    let keep = max_width - 3;
    let mut offset = offset.min(len);
    // Go's int arithmetic wraps: a very negative offset makes this difference negative.
    if len.wrapping_sub(offset) < keep {
        offset = len - keep;
    }
    if offset <= 4 {
        return Ok([&s[..keep as usize], b"..."].concat());
    }
    if max_width < 7 {
        return Err(());
    }
    // 4 < offset <= len here.
    if offset + keep < len {
        let inner = abbreviate_full(&s[offset as usize..], 0, keep).unwrap_or_default();
        return Ok([b"...".as_slice(), &inner].concat());
    }
    Ok([b"...".as_slice(), &s[(len - keep) as usize..]].concat())
}

/// Go's `[]rune(s)`: each invalid byte becomes U+FFFD.
fn go_runes(s: &[u8]) -> Vec<char> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        out.push(r);
        i += w.max(1);
    }
    out
}

fn runes_to_bytes(runes: &[char]) -> Vec<u8> {
    runes.iter().collect::<String>().into_bytes()
}

/// goutils' `Uncapitalize` with whitespace as the delimiters.
fn uncapitalize(s: &[u8]) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut next = true;
    let runes: Vec<char> = go_runes(s)
        .into_iter()
        .map(|c| {
            if is_space(c) {
                next = true;
                c
            } else if next {
                next = false;
                go_to_lower(c)
            } else {
                c
            }
        })
        .collect();
    runes_to_bytes(&runes)
}

/// goutils' `Initials`: it walks bytes, each taken as the rune of that number.
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

/// goutils' `SwapCase`.
fn swap_case(s: &[u8]) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut whitespace = true;
    let runes: Vec<char> = go_runes(s)
        .into_iter()
        .map(|c| {
            if go_is_upper(c) || go_is_title(c) {
                whitespace = false;
                go_to_lower(c)
            } else if go_is_lower(c) {
                if whitespace {
                    whitespace = false;
                    go_to_title(c)
                } else {
                    go_to_upper(c)
                }
            } else {
                whitespace = is_space(c);
                c
            }
        })
        .collect();
    runes_to_bytes(&runes)
}

/// goutils' `CryptoRandom` over a set of ASCII characters: a count of zero or less gives "" (Go's
/// error, which Sprig drops), one above the output cap is refused.
fn random(n: i64, set: &[u8]) -> Result<Value, String> {
    use rand::Rng as _;
    if n <= 0 {
        return Ok(Value::str(Vec::new()));
    }
    capped(n as usize)?;
    let mut rng = rand::rng();
    let out: Vec<u8> = (0..n)
        .map(|_| set[rng.random_range(0..set.len())])
        .collect();
    Ok(Value::str(out))
}

/// goutils' `WrapCustom`, on bytes; the result is held to the output cap.
fn wrap_custom(s: &[u8], width: i64, newline: &[u8], long_words: bool) -> Result<Vec<u8>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let newline: &[u8] = if newline.is_empty() { b"\n" } else { newline };
    let width = width.max(1);
    let len = s.len() as i64;
    let mut offset: i64 = 0;
    let mut out = Vec::new();
    // Each pass consumes at least one byte, so `offset + width + 1 <= len` inside the loop.
    while len - offset > width {
        capped(out.len())?;
        let o = offset as usize;
        if s[o] == b' ' {
            offset += 1;
            continue;
        }
        let end = (width + offset + 1) as usize;
        if let Some(sp) = s[o..end].iter().rposition(|&b| b == b' ') {
            let at = o + sp;
            out.extend_from_slice(&s[o..at]);
            out.extend_from_slice(newline);
            offset = at as i64 + 1;
        } else if long_words {
            let end = (width + offset) as usize;
            out.extend_from_slice(&s[o..end]);
            out.extend_from_slice(newline);
            offset += width;
        } else {
            let end = (width + offset) as usize;
            match s[end..].iter().position(|&b| b == b' ') {
                None => {
                    out.extend_from_slice(&s[o..]);
                    offset = len;
                }
                Some(i) => {
                    let at = end + i;
                    out.extend_from_slice(&s[o..at]);
                    out.extend_from_slice(newline);
                    offset = at as i64 + 1;
                }
            }
        }
    }
    out.extend_from_slice(&s[offset as usize..]);
    capped(out.len())?;
    Ok(out)
}

/// Go's `strings.SplitN(s, sep, n)`.
fn split_n<'a>(s: &'a [u8], sep: &[u8], n: i64) -> Vec<&'a [u8]> {
    if n == 0 {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let mut rest = s;
    if sep.is_empty() {
        // Go's explode: one rune (an invalid byte is one) a part, the last part the rest.
        while !rest.is_empty() {
            if n > 0 && parts.len() as i64 == n - 1 {
                break;
            }
            let (_, w) = decode_rune(rest);
            let (rune, tail) = rest.split_at(w.max(1));
            parts.push(rune);
            rest = tail;
        }
        if !rest.is_empty() {
            parts.push(rest);
        }
        return parts;
    }
    while n < 0 || (parts.len() as i64) < n - 1 {
        let Some(i) = super::sprig::find(rest, sep) else {
            break;
        };
        parts.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest);
    parts
}

/// Go's `utf8.DecodeRuneInString` on the rest of `s`: (rune, width), width 0 at the end.
fn decode(s: &[u8]) -> (char, usize) {
    if s.is_empty() {
        return (RUNE_ERROR, 0);
    }
    decode_rune(s)
}

/// xstrings' `isConnector`.
fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || is_space(r)
}

/// xstrings' `isAlphabet`: a letter, but not a CJK ideograph.
fn is_alphabet(r: char) -> bool {
    if !go_is_letter(r) {
        return false;
    }
    let c = r as u32;
    if c < 0x3400 {
        return true;
    }
    !((0x4E00..=0x9FCC).contains(&c)
        || (0x3400..=0x4D85).contains(&c)
        || (0x20000..=0x2B81D).contains(&c))
}

/// xstrings' `ToCamelCase`.
fn to_camel_case(s: &[u8]) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut rest = s;
    let (mut r0, mut size) = (RUNE_ERROR, 0);
    while !rest.is_empty() {
        (r0, size) = decode(rest);
        rest = &rest[size..];
        if !is_connector(r0) {
            r0 = go_to_upper(r0);
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
        rest = &rest[size..];
        if is_connector(r0) && is_connector(r1) {
            push_rune(&mut out, r1);
            continue;
        }
        if is_connector(r1) {
            r0 = go_to_upper(r0);
        } else {
            r0 = go_to_lower(r0);
            push_rune(&mut out, r1);
        }
    }
    push_rune(&mut out, r0);
    out
}

/// xstrings' word types.
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

/// xstrings' `nextValidRune`: the first rune that is not U+FFFD (invalid or not), and the bytes up
/// to its end; `prev` and all of `s` if there is none.
fn next_valid_rune(s: &[u8], prev: char) -> (char, usize) {
    let mut size = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let (r, w) = decode(rest);
        size += w;
        if r != RUNE_ERROR {
            return (r, size);
        }
        rest = &rest[w..];
    }
    (prev, size)
}

/// xstrings' `nextWord`: (type, word, remaining).
fn next_word(s: &[u8]) -> (Word, &[u8], &[u8]) {
    if s.is_empty() {
        return (Word::Invalid, b"", b"");
    }
    let mut remaining = s;
    let (mut r, mut size) = next_valid_rune(remaining, RUNE_ERROR);
    let mut offset = size;
    if r == RUNE_ERROR {
        return (Word::Invalid, &s[..offset], &s[offset..]);
    }
    let wt;
    if is_connector(r) {
        wt = Word::Connector;
        remaining = &remaining[size..];
        run(&mut r, &mut offset, &mut remaining, &is_connector);
    } else if go_is_punct(r) {
        wt = Word::Punct;
        remaining = &remaining[size..];
        run(&mut r, &mut offset, &mut remaining, &go_is_punct);
    } else if go_is_upper(r) {
        wt = Word::Upper;
        remaining = &remaining[size..];
        if !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if go_is_upper(r) {
                let mut prev_size = size;
                offset += size;
                remaining = &remaining[size..];
                while !remaining.is_empty() {
                    (r, size) = next_valid_rune(remaining, r);
                    if !go_is_upper(r) {
                        break;
                    }
                    prev_size = size;
                    offset += size;
                    remaining = &remaining[size..];
                }
                // "HTTPStatus" is "HTTP" and "Status": the last upper case letter starts the next
                // word when a letter follows it.
                if !remaining.is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                    remaining = &s[offset..];
                }
            } else if is_alphabet(r) {
                offset += size;
                remaining = &remaining[size..];
                run(&mut r, &mut offset, &mut remaining, &|r| {
                    is_alphabet(r) && !go_is_upper(r)
                });
            }
        }
    } else if is_alphabet(r) {
        wt = Word::Alphabet;
        remaining = &remaining[size..];
        run(&mut r, &mut offset, &mut remaining, &|r| {
            is_alphabet(r) && !go_is_upper(r)
        });
    } else if go_is_number(r) {
        wt = Word::Number;
        remaining = &remaining[size..];
        run(&mut r, &mut offset, &mut remaining, &go_is_number);
    } else {
        wt = Word::Other;
        remaining = &remaining[size..];
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if size == 0 || is_connector(r) || is_alphabet(r) || go_is_number(r) || go_is_punct(r) {
                break;
            }
            offset += size;
            remaining = &remaining[size..];
        }
    }
    (wt, &s[..offset], remaining)
}

/// Consumes the runes `keep` accepts, as xstrings' `nextWord` loops do.
fn run(r: &mut char, offset: &mut usize, remaining: &mut &[u8], keep: &dyn Fn(char) -> bool) {
    while !remaining.is_empty() {
        let (next, size) = next_valid_rune(remaining, *r);
        *r = next;
        if !keep(next) {
            break;
        }
        *offset += size;
        *remaining = &remaining[size..];
    }
}

/// xstrings' `toLower`: upper-case and connector words are lowered (connectors becoming
/// `connector`), the others written as they are.
fn word_to_lower(out: &mut Vec<u8>, wt: Word, word: &[u8], connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.extend_from_slice(word);
        return;
    }
    let mut rest = word;
    while !rest.is_empty() {
        let (r, w) = decode(rest);
        rest = &rest[w..];
        if is_connector(r) {
            push_rune(out, connector);
        } else if go_is_upper(r) {
            push_rune(out, go_to_lower(r));
        } else {
            push_rune(out, r);
        }
    }
}

/// xstrings' `camelCaseToLowerCase`, behind `ToSnakeCase` and `ToKebabCase`.
fn camel_case_to_lower_case(s: &[u8], connector: char) -> Vec<u8> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let (mut wt, mut word, mut remaining) = next_word(s);
    let c = connector;
    while !remaining.is_empty() {
        if wt != Word::Connector {
            word_to_lower(&mut out, wt, word, c);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    word_to_lower(&mut out, wt, word, c);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    push_rune(&mut out, c);
                }
            }
            Word::Connector => word_to_lower(&mut out, prev, last, c),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        push_rune(&mut out, c);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                // A number is part of the word before it ("Bld4Floor" is "bld4_floor") unless
                // lower-case letters follow it ("HTTP2xx" is "http_2xx").
                if wt != Word::Alphabet {
                    word_to_lower(&mut out, Word::Number, last, c);
                    if wt != Word::Connector && wt != Word::Punct {
                        push_rune(&mut out, c);
                    }
                    continue;
                }
                push_rune(&mut out, c);
                word_to_lower(&mut out, Word::Number, last, c);
                while wt == Word::Alphabet || wt == Word::Number {
                    word_to_lower(&mut out, wt, word, c);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    push_rune(&mut out, c);
                }
            }
        }
    }
    word_to_lower(&mut out, wt, word, c);
    out
}
