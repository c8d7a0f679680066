//! Go's predefined template functions (`and`, `or`, `not`, `len`, `index`, `slice`, `print*`,
//! `html`, `js`, `urlquery`, comparisons) and the table that also names the agent's functions.

use std::rc::Rc;

use super::agent::{self, AgentFn};
use super::exec::State;
use super::fmt::{sprint, sprintf, PrintMode};
use super::unicode::{decode_rune, is_print};
use super::value::Value;

/// A parameter's Go type, which decides how an argument is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `reflect.Value`: anything, including nil.
    Value,
    /// `interface{}`.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `bool`.
    Bool,
    /// `map[string]interface {}`.
    Map,
    // Until the Sprig families now being written take them (remove the allow then).
    #[allow(dead_code)]
    /// `int64`.
    Int64,
    #[allow(dead_code)]
    /// `uint32` (a literal is truncated to 32 bits, as `reflect.Value.SetUint` does).
    Uint32,
    /// `float64`.
    Float,
    /// `time.Time`.
    Time,
    #[allow(dead_code)]
    /// `[]interface {}`.
    List,
    #[allow(dead_code)]
    /// A Go struct or pointer type with members ([`super::value::GoObject`]), by its type name.
    Object(&'static str),
}

pub struct Sig {
    pub fixed: &'static [Param],
    pub variadic: Option<Param>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    And,
    Or,
    Not,
    Call,
    Html,
    Js,
    Urlquery,
    Print,
    Printf,
    Println,
    Index,
    Slice,
    Len,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Agent(AgentFn),
    /// A Sprig function, by the index of its family in [`super::sprig::FAMILIES`].
    Sprig(u8),
}

use Param::{Any, Str, Value as V};

/// The function named `name`, if any: its signature and implementation.
pub fn lookup(name: &str) -> Option<(Sig, Builtin)> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Sig { fixed, variadic };
    Some(match name {
        "and" => (s(&[V], Some(V)), Builtin::And),
        "or" => (s(&[V], Some(V)), Builtin::Or),
        "not" => (s(&[V], None), Builtin::Not),
        "call" => (s(&[V], Some(V)), Builtin::Call),
        "html" => (s(&[], Some(Any)), Builtin::Html),
        "js" => (s(&[], Some(Any)), Builtin::Js),
        "urlquery" => (s(&[], Some(Any)), Builtin::Urlquery),
        "print" => (s(&[], Some(Any)), Builtin::Print),
        "println" => (s(&[], Some(Any)), Builtin::Println),
        "printf" => (s(&[Str], Some(Any)), Builtin::Printf),
        "index" => (s(&[V], Some(V)), Builtin::Index),
        "slice" => (s(&[V], Some(V)), Builtin::Slice),
        "len" => (s(&[V], None), Builtin::Len),
        "eq" => (s(&[V], Some(V)), Builtin::Eq),
        "ne" => (s(&[V, V], None), Builtin::Ne),
        "lt" => (s(&[V, V], None), Builtin::Lt),
        "le" => (s(&[V, V], None), Builtin::Le),
        "gt" => (s(&[V, V], None), Builtin::Gt),
        "ge" => (s(&[V, V], None), Builtin::Ge),
        _ => {
            if let Some((family, sig)) = super::sprig::lookup(name) {
                return Some((sig, Builtin::Sprig(family)));
            }
            let f = agent::lookup(name)?;
            let sig = match f {
                AgentFn::ListSecrets | AgentFn::ListSecretsBySlug => s(&[Str, Str, Str], Some(Str)),
                AgentFn::GetSecretByName => s(&[Str, Str, Str, Str], None),
                AgentFn::DynamicSecret => s(&[], Some(Str)),
            };
            (sig, Builtin::Agent(f))
        }
    })
}

/// Whether `name` is a known function (the parser's check).
pub fn has_function(name: &str) -> bool {
    lookup(name).is_some()
}

/// Runs a builtin on evaluated arguments. `and`, `or` and `call` are handled by the executor.
pub fn call(
    f: Builtin,
    name: &str,
    args: &[Value],
    state: &mut State<'_>,
) -> Result<Value, String> {
    // One frame, not a wrapper: this is on the path of every level of template recursion.
    let value = match f {
        Builtin::Not => Value::Bool(!args[0].truth()),
        Builtin::Html => Value::str(html_escape(&eval_args(args))),
        Builtin::Js => Value::str(js_escape(&eval_args(args))),
        Builtin::Urlquery => Value::str(query_escape(&eval_args(args))),
        Builtin::Print => Value::str(sprint(args, PrintMode::Print)),
        Builtin::Println => Value::str(sprint(args, PrintMode::Println)),
        Builtin::Printf => {
            let Value::Str(fmt) = &args[0] else {
                return Err("format is not a string".into());
            };
            Value::str(sprintf(fmt, &args[1..]))
        }
        Builtin::Index => index(&args[0], &args[1..])?,
        Builtin::Slice => slice(&args[0], &args[1..], &mut state.spare)?,
        Builtin::Len => Value::Int(length(&args[0])?),
        Builtin::Eq => Value::Bool(eq(&args[0], &args[1..])?),
        Builtin::Ne => Value::Bool(!eq(&args[0], &args[1..])?),
        Builtin::Lt => Value::Bool(lt(&args[0], &args[1])?),
        Builtin::Le => Value::Bool(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?),
        Builtin::Gt => Value::Bool(!(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?)),
        Builtin::Ge => Value::Bool(!lt(&args[0], &args[1])?),
        Builtin::Agent(a) => agent::call(a, args, state)?,
        Builtin::Sprig(family) => {
            // `set` grows the map it is given, which it returns shared (so not counted below):
            // a new entry is counted here, its key being a copy.
            if let ("set", [Value::Map(m), key, ..]) = (name, args) {
                let key = super::sprig::bytes(key);
                if !m.borrow().contains_key(key) {
                    state.charge_bytes(Value::map_entry_bytes(key))?;
                }
            }
            // The functions that store into an existing map, which may then hold itself.
            if let (
                "set" | "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite",
                [Value::Map(m), ..],
            ) = (name, args)
            {
                state.wrote_into(m);
            }
            let value = super::sprig::call(family, name, args)?;
            let cut_at = match name {
                "regexSplit" | "mustRegexSplit" => super::sprig_regex::split_cuts(args),
                _ => None,
            };
            if let (Some(cap), Value::List(items, _)) = (
                super::capacity::of_sprig_result(name, &value, cut_at),
                &value,
            ) {
                state.spare.grown(items, cap);
            }
            if matches!(name, "fromJson" | "mustFromJson") {
                super::capacity::each_decoded_list(&value, &mut |list, cap| {
                    state.spare.grown(list, cap)
                });
            }
            value
        }
        Builtin::And | Builtin::Or | Builtin::Call => {
            return Err(format!("{name} is evaluated by the executor"))
        }
    };
    // Fetched data is bounded where it is read, and shared between calls: not counted.
    if !matches!(f, Builtin::Agent(_)) {
        state.charge(&value)?;
    }
    Ok(value)
}

/// Go's `evalArgs` for the escapers: one string as is, otherwise `fmt.Sprint` with nil shown
/// as `<no value>`.
fn eval_args(args: &[Value]) -> Vec<u8> {
    if let [Value::Str(s)] = args {
        return s.to_vec();
    }
    let conv: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::str("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    sprint(&conv, PrintMode::Print)
}

/// `template.HTMLEscapeString`.
pub fn html_escape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        match c {
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
pub fn js_escape(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'<' => out.extend_from_slice(b"\\u003C"),
                b'>' => out.extend_from_slice(b"\\u003E"),
                b'&' => out.extend_from_slice(b"\\u0026"),
                b'=' => out.extend_from_slice(b"\\u003D"),
                _ if c < b' ' => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(c >> 4) as usize]);
                    out.push(HEX[(c & 15) as usize]);
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        let (r, w) = decode_rune(&s[i..]);
        if is_print(r) {
            out.extend_from_slice(&s[i..i + w]);
        } else {
            out.extend_from_slice(format!("\\u{:04X}", r as u32).as_bytes());
        }
        i += w;
    }
    out
}

/// `url.QueryEscape`.
pub fn query_escape(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c);
        } else if c == b' ' {
            out.push(b'+');
        } else {
            out.push(b'%');
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        }
    }
    out
}

fn index_arg(v: &Value, cap: usize) -> Result<usize, String> {
    let x = match v {
        Value::Int(_) | Value::Int64(_) | Value::Uint8(_) => v.as_i64().unwrap_or(0),
        Value::Uint64(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for ix in indexes {
        item = match &item {
            Value::List(l, _) => {
                let x = index_arg(ix, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or_else(|| format!("index out of range: {x}"))?
            }
            Value::Str(s) => {
                let x = index_arg(ix, s.len())?;
                Value::Uint8(*s.get(x).ok_or_else(|| format!("index out of range: {x}"))?)
            }
            Value::Map(m) | Value::StrMap(m) => match ix {
                // A missing key is the element type's zero value.
                Value::Str(k) => m.borrow().get(&k[..]).cloned().unwrap_or_else(|| {
                    if matches!(item, Value::StrMap(_)) {
                        Value::str("")
                    } else {
                        Value::Nil
                    }
                }),
                Value::Nil => return Err("value is nil; should be of type string".into()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ))
                }
            },
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

/// Go slices have a capacity past their length, and `slice` may reach into it: `slice (slice $l 0
/// 2) 0 4` is `$l`'s first four items. Our lists are exactly their items, so for each list with
/// spare capacity the array it was cut from is kept here for the render, with where its items
/// start and where its capacity ends. Two kinds of list have some: those `slice` made, and those
/// a Sprig function grew with `append` (see [`super::capacity`]), whose spare holds zero values.
#[derive(Default)]
pub struct SpareCapacity {
    lists: std::collections::HashMap<usize, Spare>,
    /// How many entries there may be before the dead ones are swept out (doubling, so that
    /// sweeping stays linear in the lists made).
    sweep_at: usize,
}

/// A list with spare capacity (held weakly, so the entry dies with it), the array it is a
/// window of (`None`: the list itself, which the entry must not keep alive), and the window
/// `start..end` (its items, then its spare capacity). Past the array's own items, up to `end`,
/// the window holds zero values of the list's type.
struct Spare {
    list: std::rc::Weak<Vec<Value>>,
    array: Option<Rc<Vec<Value>>>,
    start: usize,
    end: usize,
}

impl SpareCapacity {
    /// The array `list` is a window of and the window, or `list` itself when it has no spare.
    fn window(&self, list: &Rc<Vec<Value>>) -> (Rc<Vec<Value>>, usize, usize) {
        let own = || (list.clone(), 0, list.len());
        let Some(s) = self.lists.get(&(Rc::as_ptr(list) as usize)) else {
            return own();
        };
        // The address may have been reused by another list since.
        if !s.list.upgrade().is_some_and(|o| Rc::ptr_eq(&o, list)) {
            return own();
        }
        let array = s.array.clone().unwrap_or_else(|| list.clone());
        (array, s.start, s.end)
    }

    /// Gives a list a Sprig function made the capacity Go's `append` left it.
    pub(super) fn grown(&mut self, list: &Rc<Vec<Value>>, cap: usize) {
        self.remember(list, None, 0, cap);
    }

    fn remember(
        &mut self,
        list: &Rc<Vec<Value>>,
        array: Option<Rc<Vec<Value>>>,
        start: usize,
        end: usize,
    ) {
        if self.lists.len() >= self.sweep_at {
            self.lists.retain(|_, s| s.list.strong_count() > 0);
            self.sweep_at = (2 * self.lists.len()).max(64);
        }
        self.lists.insert(
            Rc::as_ptr(list) as usize,
            Spare {
                list: Rc::downgrade(list),
                array,
                start,
                end,
            },
        );
    }
}

/// Go's `slice`: `item[i:j]` or `item[i:j:k]`, the indexes checked against the capacity.
fn slice(item: &Value, indexes: &[Value], spare: &mut SpareCapacity) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let (len, window) = match item {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            (s.len(), None)
        }
        Value::List(l, _) => (l.len(), Some(spare.window(l))),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let cap = window.as_ref().map_or(len, |(_, start, end)| end - start);
    let mut idx = [0, len, cap];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, cap)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    Ok(match (item, window) {
        (Value::Str(s), _) => Value::str(&s[idx[0]..idx[1]]),
        // A nil slice sliced (only as [0:0]) is nil still.
        (list, _) if list.is_nil_list() => list.clone(),
        (Value::List(_, t), Some((array, start, _))) => {
            let (from, to) = (start + idx[0], start + idx[1]);
            // Past the array's items (a list `append` grew), the capacity holds zero values.
            let mut items = array[from.min(array.len())..to.min(array.len())].to_vec();
            items.resize(to - from, super::capacity::zero_item(*t));
            let result = Rc::new(items);
            if idx[2] > idx[1] {
                spare.remember(&result, Some(array), from, start + idx[2]);
            }
            Value::List(result, *t)
        }
        _ => unreachable!("checked above"),
    })
}

fn length(item: &Value) -> Result<i64, String> {
    Ok(match item {
        Value::Str(s) => s.len() as i64,
        Value::List(l, _) => l.len() as i64,
        Value::Map(m) | Value::StrMap(m) => m.borrow().len() as i64,
        Value::Nil => return Err("len of nil value".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Complex,
    Str,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint8(_) | Value::Uint64(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::Complex(..) => Kind::Complex,
        Value::Str(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

const BAD_TYPE: &str = "invalid type for comparison";
const BAD_CMP: &str = "incompatible types for comparison";

fn as_int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn uint_of(v: &Value) -> u64 {
    match v {
        Value::Uint8(u) => *u as u64,
        Value::Uint64(u) => *u,
        _ => 0,
    }
}

/// Go's `eq`: true if `a` equals any of `others`.
pub fn eq(a: &Value, others: &[Value]) -> Result<bool, String> {
    if others.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(a);
    for b in others {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) | (Kind::Uint, Kind::Int) => as_int(a) == as_int(b),
                _ => {
                    if !a.is_nil() && !b.is_nil() {
                        return Err(BAD_CMP.into());
                    }
                    false
                }
            }
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Complex(r1, i1), Value::Complex(r2, i2)) => r1 == r2 && i1 == i2,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Int(_) | Value::Int64(_), Value::Int(_) | Value::Int64(_)) => {
                    as_int(a) == as_int(b)
                }
                (Value::Uint8(_) | Value::Uint64(_), Value::Uint8(_) | Value::Uint64(_)) => {
                    uint_of(a) == uint_of(b)
                }
                (Value::Str(x), Value::Str(y)) => x == y,
                (Value::Nil, _) | (_, Value::Nil) => a.is_nil() == b.is_nil(),
                (Value::Secret(x), Value::Secret(y)) => x == y,
                (Value::Time(x), Value::Time(y)) => x == y,
                (Value::Secret(_) | Value::Time(_), _) | (_, Value::Secret(_) | Value::Time(_)) => {
                    return Err(BAD_CMP.into())
                }
                _ => {
                    if std::mem::discriminant(a) != std::mem::discriminant(b) {
                        return Err(format!(
                            "non-comparable types {}, {}",
                            a.type_name(),
                            b.type_name()
                        ));
                    }
                    return Err(format!("non-comparable type {}", b.type_name()));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`.
pub fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    let k1 = basic_kind(a);
    if k1 == Kind::Invalid {
        return Err(BAD_TYPE.into());
    }
    let k2 = basic_kind(b);
    if k2 == Kind::Invalid {
        return Err(BAD_TYPE.into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) | (Kind::Uint, Kind::Int) => Ok(as_int(a) < as_int(b)),
            _ => Err(BAD_CMP.into()),
        };
    }
    Ok(match (a, b) {
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(_) | Value::Int64(_), Value::Int(_) | Value::Int64(_)) => as_int(a) < as_int(b),
        (Value::Uint8(_) | Value::Uint64(_), Value::Uint8(_) | Value::Uint64(_)) => {
            uint_of(a) < uint_of(b)
        }
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return Err(BAD_TYPE.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape(b"'\"<>&\0"),
            "&#39;&#34;&lt;&gt;&amp;\u{FFFD}".as_bytes()
        );
        assert_eq!(
            js_escape("'\"\\<>&=\n`\u{2028}é\x7f".as_bytes()),
            "\\'\\\"\\\\\\u003C\\u003E\\u0026\\u003D\\u000A`\\u2028é\x7f".as_bytes()
        );
        assert_eq!(query_escape(b"a b/?~"), b"a+b%2F%3F~");
    }

    #[test]
    fn comparisons_follow_go_types() {
        assert!(eq(&Value::Int(97), &[Value::Uint8(97)]).unwrap());
        assert!(eq(&Value::Float(5432.0), &[Value::Int(5432)]).is_err());
        assert!(!eq(&Value::Nil, &[Value::str("x")]).unwrap());
        assert!(eq(&Value::Nil, &[Value::Nil]).unwrap());
        assert!(lt(&Value::str("10"), &Value::str("9")).unwrap());
        assert!(lt(&Value::Bool(true), &Value::Bool(false)).is_err());
        assert!(lt(&Value::Nil, &Value::str("x")).is_err());
        assert!(eq(&Value::str("x"), &[]).is_err());
    }

    #[test]
    fn index_and_slice() {
        assert!(matches!(
            index(&Value::str("abc"), &[Value::Int(1)]).unwrap(),
            Value::Uint8(98)
        ));
        assert!(index(&Value::str("abc"), &[Value::Int(3)]).is_err());
        let Value::Str(ref s) = slice(
            &Value::str("abcdef"),
            &[Value::Int(1), Value::Int(3)],
            &mut Default::default(),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(&s[..], b"bc");
        assert!(slice(
            &Value::str("abcdef"),
            &[Value::Int(3), Value::Int(1)],
            &mut Default::default()
        )
        .is_err());
    }
}
