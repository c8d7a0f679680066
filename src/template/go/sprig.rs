//! The commonly used part of the Sprig function library (github.com/Masterminds/sprig v3), with
//! Sprig's semantics: its argument order (`trimPrefix "-" s`), its lenient conversions (`atoi`
//! gives 0 on bad input, `b64dec` returns the error text) and its panics turned into errors.
//! `env` and `expandenv` are deliberately absent.
//!
//! Supported: default empty coalesce ternary quote squote upper lower title trim trimPrefix
//! trimSuffix trimAll replace contains hasPrefix hasSuffix repeat substr trunc indent nindent
//! nospace split splitList join list first last has dict get set hasKey keys values pluck b64enc
//! b64dec sha256sum sha1sum toJson toPrettyJson fromJson toString atoi int now date uuidv4
//! sortAlpha (the integer arithmetic is in
//! `sprig_numbers`).
//!
//! Where Go's map iteration is random (`keys`, `values`), keys come out sorted.

use std::rc::Rc;

use base64::Engine as _;
use sha1::Digest as _;

use super::builtins::{Param, Sig};
use super::exec::MAX_OUTPUT;
use super::fmt::{sprint, PrintMode};
use super::literal::parse_integer;
use super::sprig_json::{from_json, to_json};
use super::sprig_time::go_format;
use super::strconv::quote;
use super::unicode::{
    decode_rune, go_to_lower, go_to_title, go_to_upper, is_space, push_rune, trim_runes,
};
use super::value::{ElemType, Value};

/// A group of Sprig functions in a file of its own: its names, their Go signatures and how they run
/// (on arguments already checked against the signature).
pub struct Family {
    pub names: &'static [&'static str],
    pub signature: fn(&str) -> Option<Sig>,
    pub call: fn(&str, &[Value]) -> Result<Value, String>,
}

/// The table entry of a family living in a file of its own.
macro_rules! family {
    ($m:ident) => {
        Family {
            names: super::$m::NAMES,
            signature: super::$m::signature,
            call: super::$m::call,
        }
    };
}

/// Every family; a name belongs to exactly one (the unit tests check).
pub const FAMILIES: &[Family] = &[
    Family {
        names: NAMES,
        signature,
        call: call_base,
    },
    family!(sprig_strings),
    family!(sprig_regex),
    family!(sprig_encoding),
    family!(sprig_lists),
    family!(sprig_dicts),
    family!(sprig_numbers),
    family!(sprig_dates),
    family!(sprig_semver),
    family!(sprig_crypto),
];

/// Most items a Sprig function may build from a count it is given (`until`, `seq`, `repeat` of a
/// list, `randBytes`, ...): a list of a million values is already far beyond any real template.
pub(super) const MAX_ITEMS: usize = 1_000_000;

/// Refuses a count above [`MAX_ITEMS`], naming the function.
pub(super) fn items_capped(name: &str, n: usize) -> Result<(), String> {
    if n > MAX_ITEMS {
        return Err(format!(
            "{name}: {n} items is more than the {MAX_ITEMS} a template may build"
        ));
    }
    Ok(())
}

/// The family and signature of the Sprig function `name`, if it is one.
pub fn lookup(name: &str) -> Option<(u8, Sig)> {
    let (i, f) = FAMILIES
        .iter()
        .enumerate()
        .find(|(_, f)| f.names.contains(&name))?;
    (f.signature)(name).map(|sig| (i as u8, sig))
}

/// Runs the Sprig function `name` of family `family`.
pub fn call(family: u8, name: &str, a: &[Value]) -> Result<Value, String> {
    match FAMILIES.get(family as usize) {
        Some(f) => (f.call)(name, a),
        None => Err(format!("{name} is not a Sprig function")),
    }
}

/// The functions of the base family (this file), by template name.
pub const NAMES: &[&str] = &[
    "default",
    "empty",
    "coalesce",
    "ternary",
    "quote",
    "squote",
    "upper",
    "lower",
    "title",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "trimAll",
    "replace",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "repeat",
    "substr",
    "trunc",
    "indent",
    "nindent",
    "nospace",
    "split",
    "splitList",
    "join",
    "list",
    "first",
    "last",
    "has",
    "dict",
    "get",
    "set",
    "hasKey",
    "keys",
    "values",
    "pluck",
    "b64enc",
    "b64dec",
    "sha256sum",
    "sha1sum",
    "toJson",
    "toPrettyJson",
    "fromJson",
    "toString",
    "atoi",
    "int",
    "now",
    "date",
    "uuidv4",
    "sortAlpha",
];

use Param::{Any, Bool, Int, Map, Str};

/// The Go signature of a base-family function.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "default" => s(&[Any], Some(Any)),
        "empty" | "first" | "last" | "toJson" | "toPrettyJson" | "toString" | "int"
        | "sortAlpha" => s(&[Any], None),
        "coalesce" | "quote" | "squote" | "list" | "dict" => s(&[], Some(Any)),
        "ternary" => s(&[Any, Any, Bool], None),
        "upper" | "lower" | "title" | "trim" | "nospace" | "b64enc" | "b64dec" | "sha256sum"
        | "sha1sum" | "fromJson" | "atoi" => s(&[Str], None),
        "trimPrefix" | "trimSuffix" | "trimAll" | "contains" | "hasPrefix" | "hasSuffix"
        | "split" | "splitList" => s(&[Str, Str], None),
        "replace" => s(&[Str, Str, Str], None),
        "repeat" | "trunc" | "indent" | "nindent" => s(&[Int, Str], None),
        "substr" => s(&[Int, Int, Str], None),
        "join" => s(&[Str, Any], None),
        "has" => s(&[Any, Any], None),
        "get" | "hasKey" => s(&[Map, Str], None),
        "set" => s(&[Map, Str, Any], None),
        "keys" => s(&[], Some(Map)),
        "values" => s(&[Map], None),
        "pluck" => s(&[Str], Some(Map)),
        "now" | "uuidv4" => s(&[], None),
        "date" => s(&[Str, Any], None),
        _ => None,
    }
}

/// Sprig's `strval`: strings as they are, anything else as `fmt.Sprintf("%v")`.
pub(super) fn strval(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(s) => s.to_vec(),
        other => sprint(std::slice::from_ref(other), PrintMode::Print),
    }
}

pub(super) fn bytes(v: &Value) -> &[u8] {
    match v {
        Value::Str(s) => s,
        _ => b"",
    }
}

pub(super) fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

pub(super) fn text(v: &Value) -> String {
    String::from_utf8_lossy(bytes(v)).into_owned()
}

/// Sprig's `split`/`splitn` result: a `map[string]string` of the parts under `_0`, `_1`, ...
pub(super) fn parts_map<P: AsRef<[u8]>>(parts: Vec<P>) -> Value {
    Value::str_map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}").into_bytes(), Value::str(p)))
            .collect(),
    )
}

pub(super) fn str_list(items: Vec<Vec<u8>>) -> Value {
    Value::List(
        Rc::new(items.into_iter().map(Value::str).collect()),
        ElemType::Str,
    )
}

/// Go's `int(f)` (and `int64(f)`) on amd64: NaN and anything out of range become the most
/// negative int.
pub(super) fn go_float_to_int(f: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-TWO_63..TWO_63).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Go's `cast.ToInt64`: numbers truncate, strings parse (base prefixes allowed), else 0.
pub(super) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Uint8(u) => *u as i64,
        Value::Float(f) => go_float_to_int(*f),
        Value::Bool(b) => *b as i64,
        Value::Str(s) => {
            let s = String::from_utf8_lossy(s);
            let mut t: &str = &s;
            if let Some((int, frac)) = s.split_once('.') {
                if !frac.is_empty() && frac.bytes().all(|c| c == b'0') {
                    t = int;
                }
            }
            match parse_integer(t) {
                Some((m, neg)) if m <= i64::MAX as u64 => {
                    if neg {
                        -(m as i64)
                    } else {
                        m as i64
                    }
                }
                Some((m, true)) if m == i64::MAX as u64 + 1 => i64::MIN,
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// `reflect.DeepEqual` on template values.
pub(super) fn deep_equal(a: &Value, b: &Value, depth: usize) -> bool {
    deep_equal_seen(a, b, depth, &mut std::collections::HashSet::new())
}

/// `reflect.DeepEqual` remembering the pairs of lists and maps it has compared, as Go does: a
/// pair met again counts as equal (its first comparison decides), so maps holding themselves
/// compare without end and maps shared many times over compare once.
fn deep_equal_seen(
    a: &Value,
    b: &Value,
    depth: usize,
    seen: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    if depth > 100 {
        return false;
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Uint64(x), Value::Uint64(y)) => x == y,
        (Value::Uint8(x), Value::Uint8(y)) => x == y,
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.deep_equal(y.as_ref())
        }
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Complex(a1, b1), Value::Complex(a2, b2)) => a1 == a2 && b1 == b2,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Secret(x), Value::Secret(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::List(x, t1), Value::List(y, t2)) => {
            if t1 != t2 || x.len() != y.len() || a.is_nil_list() != b.is_nil_list() {
                return false;
            }
            if Rc::ptr_eq(x, y) || !seen.insert((Rc::as_ptr(x) as usize, Rc::as_ptr(y) as usize)) {
                return true;
            }
            x.iter()
                .zip(y.iter())
                .all(|(p, q)| deep_equal_seen(p, q, depth + 1, seen))
        }
        (Value::Map(x), Value::Map(y)) | (Value::StrMap(x), Value::StrMap(y)) => {
            if Rc::ptr_eq(x, y) || !seen.insert((Rc::as_ptr(x) as usize, Rc::as_ptr(y) as usize)) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.get(k)
                        .is_some_and(|w| deep_equal_seen(v, w, depth + 1, seen))
                })
        }
        _ => false,
    }
}

pub(super) fn capped(len: usize) -> Result<(), String> {
    if len > MAX_OUTPUT {
        return Err(format!("result would exceed {MAX_OUTPUT} bytes"));
    }
    Ok(())
}

/// Go's `strings.Map`: `f` on each rune, an invalid byte being U+FFFD.
pub(super) fn map_chars(s: &[u8], mut f: impl FnMut(char) -> char) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        push_rune(&mut out, f(r));
        i += w.max(1);
    }
    out
}

/// Go's `strings.Title` word-boundary rule.
pub(super) fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The bytes of each rune of `s`, an invalid byte being a rune of its own (Go's `explode`).
fn runes(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (_, w) = decode_rune(rest);
        let (rune, tail) = rest.split_at(w.max(1));
        rest = tail;
        Some(rune)
    })
}

pub(super) fn replace_all(src: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    if old.is_empty() {
        // Go inserts `new` before every rune (an invalid byte is one) and at the end.
        let mut out = Vec::new();
        for rune in runes(src) {
            out.extend_from_slice(new);
            out.extend_from_slice(rune);
        }
        out.extend_from_slice(new);
        return out;
    }
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = find(rest, old) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(new);
        rest = &rest[i + old.len()..];
    }
    out.extend_from_slice(rest);
    out
}

pub(super) fn split(orig: &[u8], sep: &[u8]) -> Vec<Vec<u8>> {
    if sep.is_empty() {
        return runes(orig).map(<[u8]>::to_vec).collect();
    }
    let mut parts = Vec::new();
    let mut rest = orig;
    while let Some(i) = find(rest, sep) {
        parts.push(rest[..i].to_vec());
        rest = &rest[i + sep.len()..];
    }
    parts.push(rest.to_vec());
    parts
}

/// Go's `strings.Trim`: a rune of the cutset (an invalid byte of either is U+FFFD) at either end.
pub(super) fn trim_set(s: &[u8], cutset: &[u8]) -> Vec<u8> {
    let mut set = Vec::new();
    let mut i = 0;
    while i < cutset.len() {
        let (r, w) = decode_rune(&cutset[i..]);
        set.push(r);
        i += w.max(1);
    }
    trim_runes(s, |r| set.contains(&r)).to_vec()
}

/// goutils' `DeleteWhiteSpace`, as Sprig's `nospace` uses it: it walks bytes, not runes, so once
/// anything is removed every other byte comes back as the rune of that number (`é` becomes
/// `Ã©`); a string with nothing to remove comes back as it is.
fn delete_white_space(s: &[u8]) -> Vec<u8> {
    let space = |b: u8| is_space(char::from(b));
    if !s.iter().any(|&b| space(b)) {
        return s.to_vec();
    }
    let mut out = Vec::with_capacity(s.len() * 2);
    for &b in s.iter().filter(|&&b| !space(b)) {
        push_rune(&mut out, char::from(b));
    }
    out
}

fn indent(spaces: i64, v: &[u8]) -> Result<Vec<u8>, String> {
    if spaces < 0 {
        return Err("strings: negative Repeat count".into());
    }
    capped(spaces as usize)?;
    let pad = vec![b' '; spaces as usize];
    let mut nl = vec![b'\n'];
    nl.extend_from_slice(&pad);
    let body = replace_all(v, b"\n", &nl);
    capped(pad.len() + body.len())?;
    Ok([pad, body].concat())
}

pub(super) fn list_of(v: &Value, what: &str) -> Result<Rc<Vec<Value>>, String> {
    match v {
        Value::List(l, _) => Ok(l.clone()),
        other => Err(format!("Cannot find {what} on type {}", kind_name(other))),
    }
}

/// Go's `reflect.Kind` name, as Sprig's messages use it.
pub(super) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Uint64(_) => "uint64",
        Value::Uint8(_) => "uint8",
        Value::Float(_) => "float64",
        Value::Complex(..) => "complex128",
        Value::Str(_) => "string",
        Value::List(..) => "slice",
        Value::Map(_) | Value::StrMap(_) => "map",
        Value::Secret(_) | Value::Time(_) => "struct",
        Value::Object(o) => o.kind(),
    }
}

/// Runs the base family's function `name` on arguments already checked against its signature.
fn call_base(name: &str, a: &[Value]) -> Result<Value, String> {
    let s = |b: Vec<u8>| Ok(Value::str(b));
    match name {
        "default" => Ok(if a.len() < 2 || !a[1].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        }),
        "empty" => Ok(Value::Bool(!a[0].truth())),
        "coalesce" => Ok(a.iter().find(|v| v.truth()).cloned().unwrap_or(Value::Nil)),
        "ternary" => Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        }),
        "quote" | "squote" => {
            let parts: Vec<Vec<u8>> = a
                .iter()
                .filter(|v| !v.is_nil())
                .map(|v| {
                    if name == "quote" {
                        quote(&strval(v), false)
                    } else {
                        [b"'".as_slice(), &strval(v), b"'"].concat()
                    }
                })
                .collect();
            s(parts.join(&b' '))
        }
        "upper" => s(map_chars(bytes(&a[0]), go_to_upper)),
        "lower" => s(map_chars(bytes(&a[0]), go_to_lower)),
        "title" => {
            let mut prev = ' ';
            s(map_chars(bytes(&a[0]), |c| {
                let out = if is_separator(prev) {
                    go_to_title(c)
                } else {
                    c
                };
                prev = c;
                out
            }))
        }
        "trim" => s(trim_runes(bytes(&a[0]), is_space).to_vec()),
        "trimPrefix" => s(bytes(&a[1])
            .strip_prefix(bytes(&a[0]))
            .unwrap_or(bytes(&a[1]))
            .to_vec()),
        "trimSuffix" => s(bytes(&a[1])
            .strip_suffix(bytes(&a[0]))
            .unwrap_or(bytes(&a[1]))
            .to_vec()),
        "trimAll" => s(trim_set(bytes(&a[1]), bytes(&a[0]))),
        "replace" => {
            let out = replace_all(bytes(&a[2]), bytes(&a[0]), bytes(&a[1]));
            capped(out.len())?;
            s(out)
        }
        "contains" => Ok(Value::Bool(find(bytes(&a[1]), bytes(&a[0])).is_some())),
        "hasPrefix" => Ok(Value::Bool(bytes(&a[1]).starts_with(bytes(&a[0])))),
        "hasSuffix" => Ok(Value::Bool(bytes(&a[1]).ends_with(bytes(&a[0])))),
        "repeat" => {
            let n = int(&a[0]);
            if n < 0 {
                return Err("strings: negative Repeat count".into());
            }
            capped((n as usize).saturating_mul(bytes(&a[1]).len()))?;
            s(bytes(&a[1]).repeat(n as usize))
        }
        "substr" => {
            let (start, end, v) = (int(&a[0]), int(&a[1]), bytes(&a[2]));
            let len = v.len() as i64;
            let range = if start < 0 {
                0..end
            } else if end < 0 || end > len {
                start..len
            } else {
                start..end
            };
            if range.start < 0 || range.end > len || range.start > range.end {
                return Err(format!(
                    "slice bounds out of range [{}:{}] with length {len}",
                    range.start, range.end
                ));
            }
            s(v[range.start as usize..range.end as usize].to_vec())
        }
        "trunc" => {
            let (c, v) = (int(&a[0]), bytes(&a[1]));
            let len = v.len() as i64;
            if c < 0 && len + c > 0 {
                return s(v[(len + c) as usize..].to_vec());
            }
            if c >= 0 && len > c {
                return s(v[..c as usize].to_vec());
            }
            s(v.to_vec())
        }
        "indent" => s(indent(int(&a[0]), bytes(&a[1]))?),
        "nindent" => s([b"\n".to_vec(), indent(int(&a[0]), bytes(&a[1]))?].concat()),
        "nospace" => s(delete_white_space(bytes(&a[0]))),
        "split" => Ok(parts_map(split(bytes(&a[1]), bytes(&a[0])))),
        "splitList" => Ok(str_list(split(bytes(&a[1]), bytes(&a[0])))),
        // Sprig's strslice hands a `[]string` back as is: a nil one stays nil.
        "sortAlpha" if a[0].is_nil_list() && matches!(a[0], Value::List(_, ElemType::Str)) => {
            Ok(a[0].clone())
        }
        "sortAlpha" => {
            let mut items = match &a[0] {
                Value::List(..) => strslice(&a[0]),
                other => vec![strval(other)],
            };
            items.sort();
            Ok(str_list(items))
        }
        "join" => {
            let items = strslice(&a[1]);
            let out = items.join(bytes(&a[0]));
            capped(out.len())?;
            s(out)
        }
        "list" => Ok(Value::List(Rc::new(a.to_vec()), ElemType::Any)),
        "first" => Ok(list_of(&a[0], "first")?
            .first()
            .cloned()
            .unwrap_or(Value::Nil)),
        "last" => Ok(list_of(&a[0], "last")?
            .last()
            .cloned()
            .unwrap_or(Value::Nil)),
        "has" => match &a[1] {
            Value::Nil => Ok(Value::Bool(false)),
            hay => Ok(Value::Bool(
                list_of(hay, "has")?.iter().any(|v| deep_equal(&a[0], v, 0)),
            )),
        },
        "dict" => {
            let mut m = std::collections::BTreeMap::new();
            for pair in a.chunks(2) {
                let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
                m.insert(strval(&pair[0]), v);
            }
            Ok(Value::map(m))
        }
        "get" => {
            let Value::Map(m) = &a[0] else {
                return Ok(Value::str(""));
            };
            Ok(m.borrow()
                .get(bytes(&a[1]))
                .cloned()
                .unwrap_or_else(|| Value::str("")))
        }
        "set" => {
            if let Value::Map(m) = &a[0] {
                m.borrow_mut().insert(bytes(&a[1]).to_vec(), a[2].clone());
            }
            Ok(a[0].clone())
        }
        "hasKey" => Ok(Value::Bool(
            matches!(&a[0], Value::Map(m) if m.borrow().contains_key(bytes(&a[1]))),
        )),
        "keys" => {
            let mut keys = Vec::new();
            for d in a {
                if let Value::Map(m) = d {
                    keys.extend(m.borrow().keys().cloned());
                }
            }
            Ok(str_list(keys))
        }
        "values" => {
            let vals = match &a[0] {
                Value::Map(m) => m.borrow().values().cloned().collect(),
                _ => Vec::new(),
            };
            Ok(Value::List(Rc::new(vals), ElemType::Any))
        }
        "pluck" => {
            let key = bytes(&a[0]);
            let vals = a[1..]
                .iter()
                .filter_map(|d| match d {
                    Value::Map(m) => m.borrow().get(key).cloned(),
                    _ => None,
                })
                .collect();
            Ok(Value::List(Rc::new(vals), ElemType::Any))
        }
        "b64enc" => s(base64::engine::general_purpose::STANDARD
            .encode(bytes(&a[0]))
            .into_bytes()),
        "b64dec" => s(match super::sprig_encoding::b64_decode(bytes(&a[0])) {
            Ok(b) => b,
            Err(at) => format!("illegal base64 data at input byte {at}").into_bytes(),
        }),
        "sha256sum" => s(hex(&sha2::Sha256::digest(bytes(&a[0])))),
        "sha1sum" => s(hex(&sha1::Sha1::digest(bytes(&a[0])))),
        "toJson" => s(to_json(&a[0], false).unwrap_or_default()),
        "toPrettyJson" => s(to_json(&a[0], true).unwrap_or_default()),
        "fromJson" => Ok(from_json(bytes(&a[0]))),
        "toString" => s(strval(&a[0])),
        "atoi" => {
            let t = text(&a[0]);
            let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
            let ok = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit());
            Ok(Value::Int(if ok {
                t.parse::<i64>().unwrap_or(0)
            } else {
                0
            }))
        }
        "int" => Ok(Value::Int(to_int64(&a[0]))),
        "now" => Ok(Value::Time(chrono::Local::now().fixed_offset())),
        "date" => {
            let t = match &a[1] {
                Value::Time(t) => *t,
                Value::Int(secs) | Value::Int64(secs) => chrono::DateTime::from_timestamp(*secs, 0)
                    .map(|t| t.with_timezone(&chrono::Local).fixed_offset())
                    .unwrap_or_else(|| chrono::Local::now().fixed_offset()),
                _ => chrono::Local::now().fixed_offset(),
            };
            s(go_format(&t, &text(&a[0])).into_bytes())
        }
        "uuidv4" => s(uuid::Uuid::new_v4().to_string().into_bytes()),
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

/// Sprig's `strslice`: a list's non-nil items as strings, nil as none, anything else as one.
pub(super) fn strslice(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(l, _) => l.iter().filter(|v| !v.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

pub(super) fn hex(b: &[u8]) -> Vec<u8> {
    b.iter()
        .flat_map(|x| format!("{x:02x}").into_bytes())
        .collect()
}
