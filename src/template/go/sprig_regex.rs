//! Sprig's regular expressions (`regexMatch`, `regexFind`, `regexFindAll`, `regexReplaceAll`,
//! `regexReplaceAllLiteral`, `regexSplit`, `regexQuoteMeta` and the `must*` variants), with Go's
//! `regexp` semantics on top of the `regex` crate (both are RE2).
//!
//! What Go does that the crate does not by itself, and is done here: `\d \s \w \b` are ASCII
//! (`\s` without `\v`); `\Q...\E` quotes; an invalid `{` is a literal; repeat counts over 1000,
//! nested repetition (`a**`) and flags other than `imsU` are errors; match iteration steps by
//! rune, so an empty match never splits a character; replacement templates follow Go's `Expand`
//! (`$1x` names group `1x`); `n` in `regexFindAll`/`regexSplit` is Go's. The non-must functions
//! fail on a bad pattern as Sprig's `regexp.MustCompile` panics, except `regexMatch`, which
//! returns false. Deliberate bound: a pattern compiles to at most 4 MiB. The last 16 patterns
//! compiled are kept for reuse across renders.
//! A haystack with invalid UTF-8 is matched as Go reads it (each invalid byte a U+FFFD, which
//! `.` and negated classes match), and the results are the bytes as they were.

use std::rc::Rc;

use regex::bytes::{Captures, Regex, RegexBuilder};

use super::builtins::{Param, Sig};
use super::sprig::{bytes, capped, int, items_capped, str_list, text};
use super::unicode::decode_rune;
use super::value::{ElemType, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "regexMatch",
    "mustRegexMatch",
    "regexFind",
    "mustRegexFind",
    "regexFindAll",
    "mustRegexFindAll",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
];

use Param::{Int, Str};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param]| {
        Some(Sig {
            fixed,
            variadic: None,
        })
    };
    match name {
        "regexMatch" | "mustRegexMatch" | "regexFind" | "mustRegexFind" => s(&[Str, Str]),
        "regexFindAll" | "mustRegexFindAll" | "regexSplit" | "mustRegexSplit" => {
            s(&[Str, Str, Int])
        }
        "regexReplaceAll"
        | "mustRegexReplaceAll"
        | "regexReplaceAllLiteral"
        | "mustRegexReplaceAllLiteral" => s(&[Str, Str, Str]),
        "regexQuoteMeta" => s(&[Str]),
        _ => None,
    }
}

/// Most bytes a compiled pattern may take.
const MAX_PROGRAM: usize = 4 << 20;
/// Go's `syntax` limit on repeat counts.
const MAX_REPEAT: u32 = 1000;

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    if name == "regexQuoteMeta" {
        return Ok(Value::str(quote_meta(bytes(&a[0]))));
    }
    let compiled = compile(bytes(&a[0]));
    if name == "regexMatch" {
        return Ok(Value::Bool(
            // Invalid UTF-8 reads as Go reads it, as for every other function here.
            compiled.is_ok_and(|re| re.is_match(&Haystack::new(bytes(&a[1])).text)),
        ));
    }
    // Sprig's non-must functions use regexp.MustCompile, whose panic names the pattern.
    let re = compiled.map_err(|e| {
        if name.starts_with("must") {
            e
        } else {
            format!("regexp: Compile({}): {e}", go_backquote(&text(&a[0])))
        }
    })?;
    let hay = Haystack::new(bytes(&a[1]));
    let text = &hay.text[..];
    match name {
        "mustRegexMatch" => Ok(Value::Bool(re.is_match(text))),
        "regexFind" | "mustRegexFind" => {
            let found = matches(&re, text, 1).next().map(|(s, e)| hay.slice(s, e));
            Ok(Value::str(found.unwrap_or_default()))
        }
        "regexFindAll" | "mustRegexFindAll" => {
            let n = limit(int(&a[2]), text);
            let mut out = Vec::new();
            for (s, e) in matches(&re, text, n) {
                items_capped(name, out.len() + 1)?;
                out.push(hay.slice(s, e).to_vec());
            }
            // Go's FindAllString returns nil when nothing matched.
            if out.is_empty() {
                return Ok(Value::nil_list(ElemType::Str));
            }
            Ok(str_list(out))
        }
        // Go's Split returns nil for n = 0.
        "regexSplit" | "mustRegexSplit" if int(&a[2]) == 0 => Ok(Value::nil_list(ElemType::Str)),
        "regexSplit" | "mustRegexSplit" => Ok(str_list(split(&re, &hay, int(&a[2]), name)?)),
        "regexReplaceAll" | "mustRegexReplaceAll" => {
            let template = bytes(&a[2]);
            let names: Vec<Option<&str>> = re.capture_names().collect();
            replace_all(&re, &hay, |out, caps| {
                expand(out, template, caps, &names, &hay)
            })
        }
        "regexReplaceAllLiteral" | "mustRegexReplaceAllLiteral" => {
            let literal = bytes(&a[2]);
            replace_all(&re, &hay, |out, _| out.extend_from_slice(literal))
        }
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

/// The text a pattern runs on. Go reads each invalid byte as U+FFFD (so `.` and `[^a]` match it):
/// the crate is given that reading, and matches map back to the bytes as they are.
struct Haystack<'a> {
    original: &'a [u8],
    /// `original`, or its reading with each invalid byte as U+FFFD.
    text: std::borrow::Cow<'a, [u8]>,
    /// For a rewritten text: the original offset of each text offset (and of its end).
    at: Vec<usize>,
}

impl<'a> Haystack<'a> {
    fn new(original: &'a [u8]) -> Haystack<'a> {
        if std::str::from_utf8(original).is_ok() {
            return Haystack {
                original,
                text: std::borrow::Cow::Borrowed(original),
                at: Vec::new(),
            };
        }
        let mut text = Vec::with_capacity(original.len() + 8);
        let mut at = Vec::with_capacity(original.len() + 8);
        let mut i = 0;
        while i < original.len() {
            let (r, w) = decode_rune(&original[i..]);
            let before = text.len();
            if w == 1 && r == '\u{FFFD}' {
                text.extend_from_slice("\u{FFFD}".as_bytes());
            } else {
                text.extend_from_slice(&original[i..i + w]);
            }
            at.extend(std::iter::repeat_n(i, text.len() - before));
            i += w.max(1);
        }
        at.push(original.len());
        Haystack {
            original,
            text: std::borrow::Cow::Owned(text),
            at,
        }
    }

    /// The original bytes of the text's `s..e`.
    fn slice(&self, s: usize, e: usize) -> &'a [u8] {
        if self.at.is_empty() {
            return &self.original[s..e];
        }
        &self.original[self.at[s]..self.at[e]]
    }
}

/// Go's backquoted form of a pattern in `MustCompile`'s panic (`strconv.Quote` when it cannot).
fn go_backquote(s: &str) -> String {
    if s.contains('`') || s.chars().any(|c| c.is_control() && c != '\t') {
        format!("{s:?}")
    } else {
        format!("`{s}`")
    }
}

/// How many matches `regexSplit` with these (valid) arguments cuts at: Go's `Split` finds them
/// all first (`FindAllStringIndex(s, n)`) and starts its result with that capacity. `None` when
/// the call fails or `n` is 0. (The pattern is compiled again: only the capacity needs this.)
pub fn split_cuts(a: &[Value]) -> Option<usize> {
    let n = int(a.get(2)?);
    if n == 0 {
        return None;
    }
    let re = compile(bytes(a.first()?)).ok()?;
    let hay = Haystack::new(bytes(a.get(1)?));
    Some(matches(&re, &hay.text, limit(n, &hay.text)).count())
}

/// Go's `n` for the FindAll family: negative is every match.
fn limit(n: i64, hay: &[u8]) -> usize {
    if n < 0 {
        hay.len() + 1
    } else {
        n as usize
    }
}

/// How many compiled patterns are kept for reuse: templates call the same few patterns on every
/// render, and compiling one costs far more than matching with it (Sprig compiles on every call;
/// the output is the same either way). Few, because a kept pattern may hold up to
/// [`MAX_PROGRAM`] and its matching caches.
const KEPT_PATTERNS: usize = 16;
/// Longer patterns are compiled afresh each call rather than kept.
const MAX_KEPT_PATTERN: usize = 4 << 10;

/// A pattern and what compiling it gave.
type Kept = (Box<[u8]>, Result<Regex, String>);
/// The kept patterns (and their compile errors), the most recently used first.
static KEPT: std::sync::Mutex<Vec<Kept>> = std::sync::Mutex::new(Vec::new());

/// Go's `regexp.Compile`: a kept pattern, or [`compile_afresh`].
fn compile(pattern: &[u8]) -> Result<Regex, String> {
    if pattern.len() > MAX_KEPT_PATTERN {
        return compile_afresh(pattern);
    }
    if let Ok(mut kept) = KEPT.lock() {
        if let Some(i) = kept.iter().position(|(p, _)| **p == *pattern) {
            let entry = kept.remove(i);
            let compiled = entry.1.clone();
            kept.insert(0, entry);
            return compiled;
        }
    }
    let compiled = compile_afresh(pattern);
    if let Ok(mut kept) = KEPT.lock() {
        kept.insert(0, (pattern.into(), compiled.clone()));
        kept.truncate(KEPT_PATTERNS);
    }
    compiled
}

/// Go's `regexp.Compile`, translated to the crate's syntax.
fn compile_afresh(pattern: &[u8]) -> Result<Regex, String> {
    let pattern = std::str::from_utf8(pattern).map_err(|_| {
        format!(
            "error parsing regexp: invalid UTF-8: `{}`",
            String::from_utf8_lossy(pattern)
        )
    })?;
    let translated = translate(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    RegexBuilder::new(&translated)
        .octal(true)
        .nest_limit(1000)
        .size_limit(MAX_PROGRAM)
        .dfa_size_limit(MAX_PROGRAM)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => format!(
                "error parsing regexp: expression too large (compiles to more than {} MiB)",
                MAX_PROGRAM >> 20
            ),
            other => format!(
                "error parsing regexp: {}",
                other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("invalid pattern")
            ),
        })
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_SPACE: &str = "\\t\\n\\f\\r ";
const ASCII_WORD: &str = "0-9A-Za-z_";

/// Rewrites a Go pattern into the crate's syntax with the same meaning, or Go's parse error.
fn translate(p: &str) -> Result<String, String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    // Inside a class: whether a `-` now makes a range, and whether this member ends one.
    let (mut range_from, mut range_to) = (false, false);
    // Whether the last thing written can take a repetition, and whether it already has one.
    let mut repeated = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            // Whether this member is a single character (it may start a range if it did not end one).
            let mut single = false;
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class `[:alpha:]`, copied whole.
                    let end = (i + 2..chars.len().saturating_sub(1))
                        .find(|&j| chars[j] == ':' && chars[j + 1] == ']');
                    match end {
                        Some(j) => {
                            out.extend(&chars[i..j + 2]);
                            i = j + 1;
                        }
                        None => {
                            out.push_str("\\[");
                            single = true;
                        }
                    }
                }
                '-' if range_from && chars.get(i + 1).is_some_and(|&n| n != ']') => {
                    // `a-z`: the next member ends the range.
                    out.push('-');
                    range_from = false;
                    range_to = true;
                    i += 1;
                    continue;
                }
                '\\' => {
                    let Some(&e) = chars.get(i + 1) else {
                        return Err("trailing backslash at end of expression: ``".into());
                    };
                    i += 1;
                    match e {
                        'd' => out.push_str(ASCII_DIGIT),
                        's' => out.push_str(ASCII_SPACE),
                        'w' => out.push_str(ASCII_WORD),
                        'D' => out.push_str(&format!("[^{ASCII_DIGIT}]")),
                        'S' => out.push_str(&format!("[^{ASCII_SPACE}]")),
                        'W' => out.push_str(&format!("[^{ASCII_WORD}]")),
                        _ => {
                            i = copy_escape(&chars, i, &mut out)?;
                            single = !matches!(e, 'p' | 'P');
                        }
                    }
                }
                // Everything else is itself (the crate's `[`, `&&`, `--`, `~~` are not Go's).
                _ => {
                    out.push_str(&regex::escape(&c.to_string()));
                    single = true;
                }
            }
            range_from = single && !range_to;
            range_to = false;
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                // `[]a]` and `[^]a]`: a leading `]` is a member.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                range_from = false;
                range_to = false;
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    range_from = true;
                    i += 1;
                }
                repeated = false;
            }
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err("trailing backslash at end of expression: ``".into());
                };
                i += 1;
                match e {
                    'd' => out.push_str(&format!("[{ASCII_DIGIT}]")),
                    's' => out.push_str(&format!("[{ASCII_SPACE}]")),
                    'w' => out.push_str(&format!("[{ASCII_WORD}]")),
                    'D' => out.push_str(&format!("[^{ASCII_DIGIT}]")),
                    'S' => out.push_str(&format!("[^{ASCII_SPACE}]")),
                    'W' => out.push_str(&format!("[^{ASCII_WORD}]")),
                    'b' => out.push_str("(?-u:\\b)"),
                    'B' => out.push_str("(?-u:\\B)"),
                    'Q' => {
                        // Literal text up to `\E` or the end.
                        let mut j = i + 1;
                        while j < chars.len() {
                            if chars[j] == '\\' && chars.get(j + 1) == Some(&'E') {
                                j += 1;
                                break;
                            }
                            out.push_str(&regex::escape(&chars[j].to_string()));
                            j += 1;
                        }
                        i = j;
                    }
                    _ => i = copy_escape(&chars, i, &mut out)?,
                }
                repeated = false;
            }
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    check_group_flags(&chars[i + 2..])?;
                }
                out.push('(');
                repeated = false;
            }
            '*' | '+' | '?' => {
                if repeated {
                    return Err(format!("invalid nested repetition operator: `{c}`"));
                }
                out.push(c);
                if chars.get(i + 1) == Some(&'?') {
                    out.push('?');
                    i += 1;
                }
                repeated = true;
            }
            '{' => match repeat_count(&chars[i..]) {
                Some((len, min, max)) => {
                    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                        let text: String = chars[i..i + len].iter().collect();
                        return Err(format!("invalid repeat count: `{text}`"));
                    }
                    if repeated {
                        return Err("invalid nested repetition operator".into());
                    }
                    out.extend(&chars[i..i + len]);
                    i += len - 1;
                    if chars.get(i + 1) == Some(&'?') {
                        out.push('?');
                        i += 1;
                    }
                    repeated = true;
                }
                None => {
                    out.push_str("\\{");
                    repeated = false;
                }
            },
            _ => {
                out.push(c);
                repeated = false;
            }
        }
        i += 1;
    }
    if in_class {
        return Err(format!("missing closing ]: `{p}`"));
    }
    Ok(out)
}

/// Copies the escape at `chars[i]` (after a backslash) as the crate spells it; escapes Go does
/// not know are its errors.
fn copy_escape(chars: &[char], i: usize, out: &mut String) -> Result<usize, String> {
    let e = chars[i];
    let octal = |c: Option<&char>| c.is_some_and(|c| ('0'..='7').contains(c));
    match e {
        // Punctuation stands for itself (the crate gives some, like `\<`, other meanings).
        _ if e.is_ascii_punctuation() => out.push_str(&regex::escape(&e.to_string())),
        'x' | 'p' | 'P' => {
            // `\x41`, `\pL`, or the braced forms `\x{1F600}`, `\p{Greek}`, copied whole.
            let end = match chars.get(i + 1) {
                Some('{') => (i + 1..chars.len()).find(|&j| chars[j] == '}').unwrap_or(i),
                Some(_) if e == 'x' => (i + 2).min(chars.len() - 1),
                Some(_) => i + 1,
                None => i,
            };
            out.push('\\');
            out.extend(&chars[i..=end]);
            return Ok(end);
        }
        'a' | 'f' | 't' | 'n' | 'r' | 'v' | 'A' | 'z' | '0' => {
            out.push('\\');
            out.push(e);
        }
        // `\1` alone would be a backreference; `\12` is octal.
        '1'..='7' if octal(chars.get(i + 1)) => {
            out.push('\\');
            out.push(e);
        }
        _ => return Err(format!("invalid escape sequence: `\\{e}`")),
    }
    Ok(i)
}

/// `{n}`, `{n,}` or `{n,m}` at the start of `chars`: (its length, n, m); `None` when it is not one.
fn repeat_count(chars: &[char]) -> Option<(usize, u32, Option<u32>)> {
    let close = chars.iter().position(|&c| c == '}')?;
    let inner: String = chars[1..close].iter().collect();
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(s.parse::<u32>().unwrap_or(u32::MAX))
    };
    let (min, max) = match inner.split_once(',') {
        None => {
            let n = number(&inner)?;
            (n, Some(n))
        }
        Some((a, "")) => (number(a)?, None),
        Some((a, b)) => (number(a)?, Some(number(b)?)),
    };
    Some((close + 1, min, max))
}

/// Go accepts the flags `i`, `m`, `s` and `U` in `(?flags)` and `(?flags:re)`.
fn check_group_flags(rest: &[char]) -> Result<(), String> {
    if matches!(rest.first(), Some('P') | Some('<')) {
        return Ok(()); // a named group
    }
    for &c in rest {
        match c {
            ')' | ':' => return Ok(()),
            'i' | 'm' | 's' | 'U' | '-' => {}
            _ => {
                let text: String = rest.iter().take_while(|&&c| c != ')').collect();
                return Err(format!("invalid or unsupported Perl syntax: `(?{text}`"));
            }
        }
    }
    Err("missing closing ): `(?`".into())
}

/// Go's `allMatches`: up to `n` matches, searching on from each match's end (one rune further
/// after an empty match), and no empty match right after the previous match.
fn matches<'a>(
    re: &'a Regex,
    hay: &'a [u8],
    n: usize,
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut pos = 0;
    let mut prev_end: Option<usize> = None;
    let mut found = 0;
    std::iter::from_fn(move || {
        while found < n && pos <= hay.len() {
            let m = re.find_at(hay, pos)?;
            let (s, e) = (m.start(), m.end());
            let mut accept = true;
            if e == pos {
                if Some(s) == prev_end {
                    accept = false;
                }
                pos += rune_width(&hay[pos..]);
            } else {
                pos = e;
            }
            prev_end = Some(e);
            if accept {
                found += 1;
                return Some((s, e));
            }
        }
        None
    })
}

/// The width Go steps over at the start of `rest` (1 at the end, so the loop ends).
fn rune_width(rest: &[u8]) -> usize {
    decode_rune(rest).1.max(1)
}

/// Go's `Regexp.Split` for `n` other than 0 (for which Go returns nil: the caller says so).
fn split(re: &Regex, hay: &Haystack, n: i64, name: &str) -> Result<Vec<Vec<u8>>, String> {
    let s = &hay.text[..];
    if !re.as_str().is_empty() && s.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (ms, me) in matches(re, s, limit(n, s)) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            items_capped(name, parts.len() + 1)?;
            parts.push(hay.slice(beg, end).to_vec());
        }
        beg = me;
    }
    if end != s.len() {
        parts.push(hay.slice(beg, s.len()).to_vec());
    }
    Ok(parts)
}

/// Go's `replaceAll`: each match replaced (not an empty match right after another), searching
/// on at least one rune further.
fn replace_all(
    re: &Regex,
    hay: &Haystack,
    mut repl: impl FnMut(&mut Vec<u8>, &Captures),
) -> Result<Value, String> {
    let src = &hay.text[..];
    let mut out = Vec::with_capacity(src.len());
    let (mut last_end, mut pos) = (0, 0);
    while pos <= src.len() {
        let Some(caps) = re.captures_at(src, pos) else {
            break;
        };
        let m = caps
            .get(0)
            .map(|m| (m.start(), m.end()))
            .unwrap_or((pos, pos));
        out.extend_from_slice(hay.slice(last_end, m.0));
        if m.1 > last_end || m.0 == 0 {
            repl(&mut out, &caps);
        }
        capped(out.len())?;
        last_end = m.1;
        let width = decode_rune(&src[pos..]).1;
        if pos + width > m.1 {
            pos += width;
        } else if pos + 1 > m.1 {
            pos += 1;
        } else {
            pos = m.1;
        }
    }
    out.extend_from_slice(hay.slice(last_end, src.len()));
    capped(out.len())?;
    Ok(Value::Str(Rc::from(out)))
}

/// Go's `Regexp.Expand` on a template: `$1`, `${1}`, `$name`, `${name}` and `$$`; a `$` that
/// starts none of these is copied.
fn expand(
    out: &mut Vec<u8>,
    mut template: &[u8],
    caps: &Captures,
    names: &[Option<&str>],
    hay: &Haystack,
) {
    while let Some(at) = template.iter().position(|&b| b == b'$') {
        out.extend_from_slice(&template[..at]);
        template = &template[at + 1..];
        if template.first() == Some(&b'$') {
            out.push(b'$');
            template = &template[1..];
            continue;
        }
        let Some((name, rest)) = extract(template) else {
            out.push(b'$');
            continue;
        };
        template = rest;
        let group = group_number(name).or_else(|| {
            let name = std::str::from_utf8(name).ok()?;
            names.iter().position(|n| *n == Some(name))
        });
        if let Some(m) = group.and_then(|g| caps.get(g)) {
            out.extend_from_slice(hay.slice(m.start(), m.end()));
        }
    }
    out.extend_from_slice(template);
}

/// Go's `extract`: the name after a `$` (letters, digits and `_`, maybe in braces) and the rest.
fn extract(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let brace = s.first() == Some(&b'{');
    let body = if brace { &s[1..] } else { s };
    let mut i = 0;
    while i < body.len() {
        let (r, w) = decode_rune(&body[i..]);
        if !(r.is_alphabetic() || r.is_numeric() || r == '_') {
            break;
        }
        i += w;
    }
    if i == 0 {
        return None;
    }
    let name = &body[..i];
    let mut end = i;
    if brace {
        if body.get(i) != Some(&b'}') {
            return None;
        }
        end += 1;
    }
    Some((name, &body[end..]))
}

/// A group number as Go reads one: ASCII digits, no leading zero, under 10^8.
fn group_number(name: &[u8]) -> Option<usize> {
    if !name.iter().all(u8::is_ascii_digit) || (name.len() > 1 && name[0] == b'0') {
        return None;
    }
    let mut n = 0usize;
    for &d in name {
        if n >= 100_000_000 {
            return None;
        }
        n = n * 10 + usize::from(d - b'0');
    }
    Some(n)
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for &b in s {
        if b"\\.+*?()|[]{}^$".contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}
