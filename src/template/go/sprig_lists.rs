//! Sprig's list functions (append, rest, uniq, chunk, concat, ...), with Sprig's semantics.
//!
//! Sprig takes any slice (`[]string` from `splitList` as well as `[]interface {}`) through
//! reflection and returns a fresh `[]interface {}`; anything else (nil included) makes the non-must
//! functions panic and the must ones return an error: both are render errors here. `mustSlice` is
//! Sprig's `slice` under its other name (the template name `slice` stays Go's builtin).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use super::builtins::{Param, Sig};
use super::sprig::{deep_equal, go_float_to_int, items_capped, kind_name, to_int64};
use super::value::{ElemType, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "tuple",
    "append",
    "push",
    "mustAppend",
    "mustPush",
    "prepend",
    "mustPrepend",
    "mustFirst",
    "rest",
    "mustRest",
    "mustLast",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "mustHas",
    "mustSlice",
    "concat",
    "chunk",
    "mustChunk",
    "compact",
    "mustCompact",
];

use Param::{Any, Int};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "tuple" | "concat" => s(&[], Some(Any)),
        "append" | "push" | "mustAppend" | "mustPush" | "prepend" | "mustPrepend" | "mustHas" => {
            s(&[Any, Any], None)
        }
        "mustFirst" | "rest" | "mustRest" | "mustLast" | "initial" | "mustInitial" | "reverse"
        | "mustReverse" | "uniq" | "mustUniq" | "compact" | "mustCompact" => s(&[Any], None),
        "without" | "mustWithout" | "mustSlice" => s(&[Any], Some(Any)),
        "chunk" | "mustChunk" => s(&[Int, Any], None),
        _ => None,
    }
}

/// Most `reflect.DeepEqual` calls `uniq` may make: values that hash alike but differ (lists
/// holding NaN) would otherwise make it quadratic in the list's length.
const MAX_COMPARISONS: usize = 10_000_000;

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let any = |v: Vec<Value>| Ok(Value::List(Rc::new(v), ElemType::Any));
    match name {
        "tuple" => any(a.to_vec()),
        "append" | "push" | "mustAppend" | "mustPush" => {
            let l = items(&a[0], "Cannot push on type")?;
            items_capped(name, l.len().saturating_add(1))?;
            let mut v = Vec::with_capacity(l.len() + 1);
            v.extend(l.iter().cloned());
            v.push(a[1].clone());
            any(v)
        }
        "prepend" | "mustPrepend" => {
            let l = items(&a[0], "Cannot prepend on type")?;
            items_capped(name, l.len().saturating_add(1))?;
            let mut v = Vec::with_capacity(l.len() + 1);
            v.push(a[1].clone());
            v.extend(l.iter().cloned());
            any(v)
        }
        "mustFirst" => Ok(items(&a[0], "Cannot find first on type")?
            .first()
            .cloned()
            .unwrap_or(Value::Nil)),
        "mustLast" => Ok(items(&a[0], "Cannot find last on type")?
            .last()
            .cloned()
            .unwrap_or(Value::Nil)),
        "rest" | "mustRest" => {
            // Sprig returns nil for an empty list.
            let l = items(&a[0], "Cannot find rest on type")?;
            if l.is_empty() {
                return Ok(Value::nil_list(ElemType::Any));
            }
            any(l.iter().skip(1).cloned().collect())
        }
        "initial" | "mustInitial" => {
            let l = items(&a[0], "Cannot find initial on type")?;
            if l.is_empty() {
                return Ok(Value::nil_list(ElemType::Any));
            }
            any(l[..l.len() - 1].to_vec())
        }
        "reverse" | "mustReverse" => {
            let l = items(&a[0], "Cannot find reverse on type")?;
            any(l.iter().rev().cloned().collect())
        }
        "compact" | "mustCompact" => {
            let l = items(&a[0], "Cannot compact on type")?;
            any(l.iter().filter(|v| v.truth()).cloned().collect())
        }
        "uniq" | "mustUniq" => {
            let l = items(&a[0], "Cannot find uniq on type")?;
            any(uniq(&l)?)
        }
        "without" | "mustWithout" => {
            let l = items(&a[0], "Cannot find without on type")?;
            let omit = &a[1..];
            any(l
                .iter()
                .filter(|v| !omit.iter().any(|o| deep_equal(v, o, 0)))
                .cloned()
                .collect())
        }
        "mustHas" => match &a[1] {
            Value::Nil => Ok(Value::Bool(false)),
            hay => Ok(Value::Bool(
                items(hay, "Cannot find has on type")?
                    .iter()
                    .any(|v| deep_equal(&a[0], v, 0)),
            )),
        },
        "mustSlice" => must_slice(&a[0], &a[1..]),
        "concat" => {
            let mut out = Vec::new();
            for l in a {
                let l = match l {
                    Value::List(l, _) => l,
                    Value::Nil => return Err(nil_argument()),
                    other => {
                        return Err(format!("Cannot concat type {} as list", kind_name(other)))
                    }
                };
                items_capped(name, out.len().saturating_add(l.len()))?;
                out.extend(l.iter().cloned());
            }
            // Sprig appends to a nil slice: nil when nothing was appended.
            Ok(Value::appended_list(out, ElemType::Any))
        }
        "chunk" | "mustChunk" => chunk(super::sprig::int(&a[0]), &a[1]),
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

/// The items of a slice, or Sprig's error for any other kind (`what` names the function).
fn items(v: &Value, what: &str) -> Result<Rc<Vec<Value>>, String> {
    match v {
        Value::List(l, _) => Ok(l.clone()),
        // `reflect.TypeOf(nil).Kind()` is a nil dereference in Go.
        Value::Nil => Err(nil_argument()),
        other => Err(format!("{what} {}", kind_name(other))),
    }
}

fn nil_argument() -> String {
    "runtime error: invalid memory address or nil pointer dereference (a nil list)".into()
}

/// `cast.ToInt`, with Go's float conversion.
fn cast_int(v: &Value) -> i64 {
    match v {
        Value::Float(f) => go_float_to_int(*f),
        other => to_int64(other),
    }
}

/// Sprig's `slice`: `list[start:end]` of the same slice type; an empty list gives nil.
fn must_slice(list: &Value, indices: &[Value]) -> Result<Value, String> {
    let (l, t) = match list {
        Value::List(l, t) => (l, *t),
        Value::Nil => return Err(nil_argument()),
        other => {
            return Err(format!(
                "list should be type of slice or array but {}",
                kind_name(other)
            ))
        }
    };
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let len = l.len() as i64;
    let start = indices.first().map_or(0, cast_int);
    let end = indices.get(1).map_or(len, cast_int);
    if start < 0 || end < start || end > len {
        return Err(format!(
            "reflect.Value.Slice: slice index out of bounds [{start}:{end}] with length {len}"
        ));
    }
    Ok(Value::List(
        Rc::new(l[start as usize..end as usize].to_vec()),
        t,
    ))
}

/// Sprig's `chunk`, computing the number and sizes of the chunks in floating point as Sprig does
/// (so a zero or negative size fails, or not, exactly where Go's `make` panics).
fn chunk(size: i64, list: &Value) -> Result<Value, String> {
    let l = items(list, "Cannot chunk type")?;
    let n = l.len() as f64;
    let sz = size as f64;
    let cs = go_float_to_int(((n - 1.0) / sz).floor() + 1.0);
    let bad_len = || Err("runtime error: makeslice: len out of range".to_string());
    if cs < 0 {
        return bad_len();
    }
    items_capped("chunk", usize::try_from(cs).unwrap_or(usize::MAX))?;
    let mut out = Vec::with_capacity(cs as usize);
    for i in 0..cs {
        let mut clen = size;
        if i == cs - 1 {
            clen = go_float_to_int((n % sz).floor());
            if clen == 0 {
                clen = size;
            }
        }
        if clen < 0 {
            return bad_len();
        }
        items_capped("chunk", usize::try_from(clen).unwrap_or(usize::MAX))?;
        let mut c = Vec::with_capacity(clen as usize);
        for j in 0..clen {
            let ix = (i as i128) * (size as i128) + j as i128;
            match usize::try_from(ix).ok().and_then(|ix| l.get(ix)) {
                Some(v) => c.push(v.clone()),
                None => {
                    return Err(format!(
                        "runtime error: index out of range [{ix}] with length {}",
                        l.len()
                    ))
                }
            }
        }
        out.push(Value::List(Rc::new(c), ElemType::Any));
    }
    Ok(Value::List(Rc::new(out), ElemType::List))
}

/// The distinct items in first-seen order, by `reflect.DeepEqual`; values are bucketed by a hash
/// that agrees with it so that long lists stay linear.
fn uniq(l: &[Value]) -> Result<Vec<Value>, String> {
    let mut dest: Vec<Value> = Vec::new();
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut comparisons = 0usize;
    for v in l {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        hash_value(v, &mut h, &mut 10_000, 0);
        let bucket = buckets.entry(h.finish()).or_default();
        let mut seen = false;
        for &i in bucket.iter() {
            comparisons += 1;
            if comparisons > MAX_COMPARISONS {
                return Err(format!(
                    "uniq: more than {MAX_COMPARISONS} comparisons between alike values"
                ));
            }
            if deep_equal(v, &dest[i], 0) {
                seen = true;
                break;
            }
        }
        if !seen {
            bucket.push(dest.len());
            dest.push(v.clone());
        }
    }
    Ok(dest)
}

/// A hash such that values `reflect.DeepEqual` calls equal hash alike (NaN hashes as one value,
/// -0 as 0; a secret by its key, path and id, other objects only by their type). It looks at no
/// more than `budget` values, in the same order for equal values, so a map holding itself stays
/// cheap.
fn hash_value(v: &Value, h: &mut impl Hasher, budget: &mut usize, depth: usize) {
    fn float(f: f64, h: &mut impl Hasher) {
        if f.is_nan() {
            u64::MAX.hash(h);
        } else if f == 0.0 {
            0u64.hash(h);
        } else {
            f.to_bits().hash(h);
        }
    }
    std::mem::discriminant(v).hash(h);
    if *budget == 0 || depth > 100 {
        return;
    }
    *budget -= 1;
    match v {
        Value::Nil => {}
        Value::Secret(s) => {
            s.key().hash(h);
            s.secret_path().hash(h);
            s.id().hash(h);
        }
        Value::Bool(b) => b.hash(h),
        Value::Int(i) | Value::Int64(i) => i.hash(h),
        Value::Uint64(u) => u.hash(h),
        Value::Uint8(u) => u.hash(h),
        Value::Float(f) => float(*f, h),
        Value::Complex(r, i) => {
            float(*r, h);
            float(*i, h);
        }
        Value::Str(s) => s.hash(h),
        Value::Time(t) => {
            t.timestamp().hash(h);
            t.timestamp_subsec_nanos().hash(h);
        }
        Value::Object(o) => o.type_name().hash(h),
        Value::List(items, t) => {
            (*t as u8).hash(h);
            items.len().hash(h);
            for e in items.iter() {
                hash_value(e, h, budget, depth + 1);
            }
        }
        Value::Map(m) | Value::StrMap(m) => {
            let m = m.borrow();
            m.len().hash(h);
            for (k, e) in m.iter() {
                k.hash(h);
                hash_value(e, h, budget, depth + 1);
            }
        }
    }
}
