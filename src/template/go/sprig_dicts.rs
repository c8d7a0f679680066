//! Sprig's dictionaries, reflection, flow control and the must* JSON functions (dict.go,
//! reflect.go, defaults.go: merge, dig, typeOf, fail, ...), with Sprig's semantics. `merge` and
//! `mergeOverwrite` follow mergo (v0.3) on `map[string]interface {}`, which is not a plain
//! union: see [`merge_into`].
//!
//! Supported: unset pick omit merge mergeOverwrite mustMerge mustMergeOverwrite dig deepCopy
//! mustDeepCopy typeOf typeIs typeIsLike kindOf kindIs deepEqual all any fail toRawJson
//! mustFromJson mustToJson mustToPrettyJson mustToRawJson.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::builtins::{Param, Sig};
use super::sprig::{bytes, capped, deep_equal, kind_name, MAX_ITEMS};
use super::sprig_json::to_json;
use super::unicode::decode_rune;
use super::value::{MapRef, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "unset",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "dig",
    "deepCopy",
    "mustDeepCopy",
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    "all",
    "any",
    "fail",
    "toRawJson",
    "mustFromJson",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
];

/// How deep `merge` and `deepCopy` go into nested maps and lists. Go recurses without a bound
/// (a map holding itself, which `set` can make, overflows its stack); these stop with an error.
/// They also visit at most `MAX_ITEMS` values, as maps shared at every level of a nesting
/// (`$a = dict "x" $a "y" $a`, repeated) double the work per level.
const MAX_DEPTH: usize = 100;

use Param::{Any, Map, Str};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "unset" => s(&[Map, Str], None),
        "pick" | "omit" => s(&[Map], Some(Str)),
        "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite" => s(&[Map], Some(Map)),
        "dig" | "all" | "any" => s(&[], Some(Any)),
        "deepCopy" | "mustDeepCopy" | "typeOf" | "kindOf" | "toRawJson" | "mustToJson"
        | "mustToPrettyJson" | "mustToRawJson" => s(&[Any], None),
        "typeIs" | "typeIsLike" | "kindIs" => s(&[Str, Any], None),
        "deepEqual" => s(&[Any, Any], None),
        "fail" | "mustFromJson" => s(&[Str], None),
        _ => None,
    }
}

/// Why a merge stopped: an error mergo returns (`merge` then gives "", `mustMerge` the error)
/// or a panic inside it (an error for both).
enum MergeErr {
    Returned(String),
    Panic(String),
}

/// mergo's `isEmptyValue` on the value an interface holds.
fn mergo_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Uint64(u) => *u == 0,
        Value::Uint8(u) => *u == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(s) => s.is_empty(),
        Value::List(l, _) => l.is_empty(),
        Value::Map(m) | Value::StrMap(m) => m.borrow().is_empty(),
        // mergo has no case for complex numbers; structs and pointers to them are not empty.
        Value::Complex(..) | Value::Secret(_) | Value::Time(_) | Value::Object(_) => false,
    }
}

/// The reflect kind mergo dispatches on.
#[derive(PartialEq, Eq)]
enum Kind {
    Map,
    /// A struct with exported fields (the secret, a generated certificate).
    Fields,
    /// A struct without exported fields (`time.Time`).
    Opaque,
    Ptr,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Map(_) => Kind::Map,
        Value::Secret(_) => Kind::Fields,
        Value::Time(_) => Kind::Opaque,
        Value::Object(o) if o.kind() == "ptr" => Kind::Ptr,
        Value::Object(_) => Kind::Fields,
        _ => Kind::Other,
    }
}

/// mergo's `deepMerge` of the map, struct or pointer `s` into `d`, both held by a map (so `d`
/// cannot be set: only a map `d` changes, in place). Mismatched kinds panic or err as in Go.
fn merge_value(
    d: &Value,
    s: &Value,
    overwrite: bool,
    depth: usize,
    budget: &mut usize,
) -> Result<(), MergeErr> {
    let unaddressable =
        || MergeErr::Panic("reflect: reflect.Value.Set using unaddressable value".into());
    match (kind(d), d, s) {
        (_, Value::Nil, _) => Ok(()),
        (Kind::Map, Value::Map(dm), Value::Map(sm)) => {
            merge_into(dm, sm, overwrite, depth + 1, budget)
        }
        (Kind::Map, _, _) if overwrite => Err(unaddressable()),
        (Kind::Map, _, _) => Ok(()),
        (Kind::Fields, _, _) if d.type_name() == s.type_name() => Ok(()),
        (Kind::Fields, _, _) => Err(MergeErr::Panic(format!(
            "reflect: cannot merge the fields of {} from a {}",
            d.type_name(),
            s.type_name()
        ))),
        (Kind::Ptr, _, _) if kind(s) != Kind::Ptr => {
            if overwrite {
                Ok(())
            } else {
                Err(MergeErr::Returned(
                    "src and dst must be of same type".into(),
                ))
            }
        }
        (Kind::Ptr, _, _) if overwrite && d.type_name() != s.type_name() => {
            Err(MergeErr::Panic(format!(
                "reflect.Set: value of type {} is not assignable to type {}",
                s.type_name(),
                d.type_name()
            )))
        }
        _ => Ok(()),
    }
}

/// mergo's `Merge` (or `MergeWithOverwrite`) of the map `src` into `dst`, changing `dst` and the
/// maps nested in it in place. Per key of `src`: a nil value is only copied when overwriting; a
/// map merges into a map already there; a list is taken when overwriting; otherwise the value
/// is taken when overwriting or when `dst` has none or an empty one, except that a non-empty
/// value stays when `src` holds a map or a list (even a string stays in place of a map).
fn merge_into(
    dst: &MapRef,
    src: &MapRef,
    overwrite: bool,
    depth: usize,
    budget: &mut usize,
) -> Result<(), MergeErr> {
    if depth > MAX_DEPTH {
        return Err(MergeErr::Panic(format!(
            "maps nested more than {MAX_DEPTH} deep (or holding themselves)"
        )));
    }
    let keys: Vec<Vec<u8>> = src.borrow().keys().cloned().collect();
    for k in keys {
        *budget = budget.checked_sub(1).ok_or_else(|| {
            MergeErr::Panic(format!(
                "more than {MAX_ITEMS} entries to merge (maps shared many times over)"
            ))
        })?;
        // Read afresh: `src` may be `dst` or hold it.
        let Some(s) = src.borrow().get(&k).cloned() else {
            continue;
        };
        let d = dst.borrow().get(&k).cloned();
        if s.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(k, Value::Nil);
            }
            continue;
        }
        if kind(&s) != Kind::Other {
            if let Some(d) = &d {
                merge_value(d, &s, overwrite, depth, budget)?;
            }
        }
        if overwrite && matches!(s, Value::List(..)) {
            // mergo's slice branch sets the source slice itself when overwriting.
            dst.borrow_mut().insert(k, s);
            continue;
        }
        let container = matches!(s, Value::Map(_) | Value::List(..));
        let d_empty = d.as_ref().is_none_or(mergo_empty);
        if container && !d_empty {
            continue;
        }
        if overwrite || d_empty {
            dst.borrow_mut().insert(k, s);
        }
    }
    Ok(())
}

/// Sprig's `merge` family: every source merged into `dst` in turn, `dst` returned.
fn merge(name: &str, a: &[Value]) -> Result<Value, String> {
    let overwrite = name.ends_with("Overwrite");
    let must = name.starts_with("must");
    let Value::Map(dst) = &a[0] else {
        return Err(format!("{name}: the destination is not a map"));
    };
    let mut budget = MAX_ITEMS;
    for src in &a[1..] {
        let Value::Map(src) = src else { continue };
        match merge_into(dst, src, overwrite, 0, &mut budget) {
            Ok(()) => {}
            Err(MergeErr::Returned(e)) if must => return Err(e),
            Err(MergeErr::Returned(_)) => return Ok(Value::str("")),
            Err(MergeErr::Panic(e)) => return Err(e),
        }
    }
    Ok(a[0].clone())
}

/// copystructure's `Copy`: maps and lists copied all the way down, Go objects as their
/// `GoObject::deep_copy` says, other values as they are.
fn deep_copy(v: &Value, depth: usize, budget: &mut usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "deepCopy error: values nested more than {MAX_DEPTH} deep (or holding themselves)"
        ));
    }
    *budget = budget.checked_sub(1).ok_or_else(|| {
        format!("deepCopy error: more than {MAX_ITEMS} values to copy (shared many times over)")
    })?;
    Ok(match v {
        Value::Map(m) => {
            let entries: Vec<(Vec<u8>, Value)> = m
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                out.insert(k, deep_copy(&v, depth + 1, budget)?);
            }
            Value::map(out)
        }
        // copystructure keeps a nil slice nil.
        list @ Value::List(..) if list.is_nil_list() => list.clone(),
        Value::List(l, t) => Value::List(
            Rc::new(
                l.iter()
                    .map(|v| deep_copy(v, depth + 1, budget))
                    .collect::<Result<_, _>>()?,
            ),
            *t,
        ),
        Value::Object(o) => o.deep_copy().unwrap_or_else(|| v.clone()),
        other => other.clone(),
    })
}

/// Sprig's `dig`: keys, then the default, then the map.
fn dig(a: &[Value]) -> Result<Value, String> {
    if a.len() < 3 {
        return Err("dig needs at least three arguments".into());
    }
    let iface = |v: &Value, want: &str| {
        format!(
            "interface conversion: interface {{}} is {}, not {want}",
            v.type_name()
        )
    };
    let n = a.len();
    let (keys, def, dict) = (&a[..n - 2], &a[n - 2], &a[n - 1]);
    let mut keys_b = Vec::with_capacity(keys.len());
    for k in keys {
        match k {
            Value::Str(s) => keys_b.push(s.clone()),
            other => return Err(iface(other, "string")),
        }
    }
    let Value::Map(m) = dict else {
        return Err(iface(dict, "map[string]interface {}"));
    };
    let mut m = m.clone();
    for (i, k) in keys_b.iter().enumerate() {
        let Some(step) = m.borrow().get(&k[..]).cloned() else {
            return Ok(def.clone());
        };
        if i == keys_b.len() - 1 {
            return Ok(step);
        }
        match step {
            Value::Map(ref next) => m = next.clone(),
            other => return Err(iface(&other, "map[string]interface {}")),
        }
    }
    Ok(def.clone())
}

/// `json.Encoder` with `SetEscapeHTML(false)`: the `\u003c`, `\u003e` and `\u0026` that
/// `json.Marshal` writes inside strings back as `<`, `>` and `&`.
fn unescape_html(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            let esc = json.get(i..i + 6);
            let plain = match esc {
                Some(b"\\u003c") => Some(b'<'),
                Some(b"\\u003e") => Some(b'>'),
                Some(b"\\u0026") => Some(b'&'),
                _ => None,
            };
            if let Some(c) = plain {
                out.push(c);
                i += 6;
            } else {
                // Any other escape (`\\`, `\"`, `\n`, `\u00XX`) stays whole.
                out.extend_from_slice(&json[i..(i + 2).min(json.len())]);
                i += 2;
            }
            continue;
        }
        out.push(json[i]);
        i += 1;
    }
    out
}

/// Refuses a value whose JSON would exceed the output bound, before writing any: maps and lists
/// shared many times over are small in memory but enormous written out. Sizes a lower bound of
/// the bytes, each shared list or map once.
fn json_capped(v: &Value) -> Result<(), String> {
    fn size(v: &Value, depth: usize, memo: &mut HashMap<usize, usize>) -> usize {
        if depth > MAX_DEPTH {
            // Deeper than json.Marshal goes here: to_json reports it.
            return 0;
        }
        let ptr = match v {
            Value::Str(s) => return s.len() + 2,
            Value::List(l, _) => Rc::as_ptr(l) as usize,
            Value::Map(m) => Rc::as_ptr(m) as usize,
            _ => return 1,
        };
        if let Some(n) = memo.get(&ptr) {
            return *n;
        }
        let mut n = 1usize;
        match v {
            Value::List(l, _) => {
                for e in l.iter() {
                    n = n.saturating_add(size(e, depth + 1, memo) + 1);
                }
            }
            Value::Map(m) => {
                let entries: Vec<(usize, Value)> = m
                    .borrow()
                    .iter()
                    .map(|(k, e)| (k.len(), e.clone()))
                    .collect();
                for (k, e) in entries {
                    n = n
                        .saturating_add(k + 4)
                        .saturating_add(size(&e, depth + 1, memo));
                }
            }
            _ => {}
        }
        memo.insert(ptr, n);
        n
    }
    capped(size(v, 0, &mut HashMap::new()))
}

/// `json.Unmarshal` into `interface {}`, with its error. Go keeps invalid UTF-8 inside strings
/// as U+FFFD, one per bad byte.
fn must_from_json(s: &[u8]) -> Result<Value, String> {
    let mut text = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let (r, w) = decode_rune(&s[i..]);
        text.push(r);
        i += w.max(1);
    }
    serde_json::from_str::<serde_json::Value>(&text)
        .map(|v| Value::from_json(&v))
        .map_err(|e| e.to_string())
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let b = |x: bool| Ok(Value::Bool(x));
    match name {
        "unset" => {
            if let Value::Map(m) = &a[0] {
                m.borrow_mut().remove(bytes(&a[1]));
            }
            Ok(a[0].clone())
        }
        "pick" | "omit" => {
            let Value::Map(m) = &a[0] else {
                return Ok(Value::map(BTreeMap::new()));
            };
            let keys: Vec<&[u8]> = a[1..].iter().map(bytes).collect();
            let m = m.borrow();
            let out = if name == "pick" {
                keys.iter()
                    .filter_map(|k| m.get(*k).map(|v| (k.to_vec(), v.clone())))
                    .collect()
            } else {
                m.iter()
                    .filter(|(k, _)| !keys.contains(&k.as_slice()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            Ok(Value::map(out))
        }
        "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite" => merge(name, a),
        "dig" => dig(a),
        "deepCopy" | "mustDeepCopy" => {
            if a[0].is_nil() {
                return Err(
                    "deepCopy error: reflect: call of reflect.Value.Type on zero Value".into(),
                );
            }
            deep_copy(&a[0], 0, &mut { MAX_ITEMS })
        }
        "typeOf" => Ok(Value::str(a[0].type_name())),
        "typeIs" => b(bytes(&a[0]) == a[1].type_name().as_bytes()),
        "typeIsLike" => {
            let t = a[1].type_name().as_bytes();
            let target = bytes(&a[0]);
            b(target == t || t.strip_prefix(b"*") == Some(target))
        }
        "kindOf" => Ok(Value::str(kind_name(&a[0]))),
        "kindIs" => b(bytes(&a[0]) == kind_name(&a[1]).as_bytes()),
        "deepEqual" => b(deep_equal(&a[0], &a[1], 0)),
        "all" => b(a.iter().all(Value::truth)),
        "any" => b(a.iter().any(Value::truth)),
        "fail" => Err(String::from_utf8_lossy(bytes(&a[0])).into_owned()),
        "mustToJson" | "mustToPrettyJson" => {
            json_capped(&a[0])?;
            Ok(Value::str(to_json(&a[0], name == "mustToPrettyJson")?))
        }
        "toRawJson" | "mustToRawJson" => {
            json_capped(&a[0])?;
            Ok(Value::str(unescape_html(&to_json(&a[0], false)?)))
        }
        "mustFromJson" => must_from_json(bytes(&a[0])),
        _ => Err(format!("{name} is not a Sprig function")),
    }
}
