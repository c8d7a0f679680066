//! The values templates compute with, modelled on the Go types the agent hands to
//! `text/template`: strings are bytes, JSON numbers are `float64`, JSON objects are
//! `map[string]interface {}` (iterated in sorted key order), secrets are a struct.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::template::secret::{Secret, SharedSecret};

/// What a list holds, for type names (`[]interface {}` versus `[]main.Secret`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    Any,
    Secret,
    /// `[]string` (Sprig's `splitList`, `keys`).
    Str,
    /// `[]int` (Sprig's `until`, `untilStep`).
    #[allow(dead_code)] // until the Sprig families take it
    Int,
    /// `[][]interface {}` (Sprig's `chunk`).
    List,
}

/// A Go value with fields or methods of its own that templates can reach (`.Major` of a semver
/// version, `.Cert` of a generated certificate). Implemented beside the function that makes it.
pub trait GoObject: std::fmt::Debug {
    /// The Go type name (`%T`, `typeOf`): `*semver.Version`, `sprig.certificate`.
    fn type_name(&self) -> &'static str;
    /// The `reflect.Kind` name (`kindOf`): `ptr` or `struct`.
    fn kind(&self) -> &'static str;
    /// The field or method `name` called with `args`; `None` when the type has no such member.
    fn member(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>>;
    /// What `%v`, `%s` and `print` show: a `String()` method's text, or a struct's `{f1 f2}`.
    fn display(&self) -> Vec<u8>;
    /// The struct's fields in declaration order, as Go prints them under a verb that calls no
    /// `String` method (`%d` of a `*semver.Version` is `&{1 2 3 ...}`); `None` for no struct.
    fn fields(&self) -> Option<Vec<Value>> {
        None
    }
    /// Whether the type has a `String` method (`display` is then what `%v`, `%s`, `%x`, `%X` and
    /// `%q` format); without one, every verb prints the fields.
    fn stringer(&self) -> bool {
        true
    }
    /// `json.Marshal` of the value.
    fn to_json(&self) -> Vec<u8>;
    /// `reflect.DeepEqual` with another object (only ever called with one of the same type name).
    fn deep_equal(&self, other: &dyn GoObject) -> bool {
        self.display() == other.display()
    }
    /// What copystructure's `Copy` (Sprig's `deepCopy`) makes of it, when not the value itself:
    /// it copies exported fields only, so `*semver.Version` (all unexported) copies to 0.0.0.
    fn deep_copy(&self) -> Option<Value> {
        None
    }
}

/// A shared, mutable map: Go maps are references, and Sprig's `set` changes them in place.
pub type MapRef = Rc<RefCell<BTreeMap<Vec<u8>, Value>>>;

#[derive(Clone, Debug)]
pub enum Value {
    /// Go's invalid value or nil interface: a missing key, `nil`, no data.
    Nil,
    Bool(bool),
    Int(i64),
    /// A Go `int64` (what Sprig's arithmetic and conversions return).
    Int64(i64),
    /// A Go `uint64` (a semver version's parts).
    Uint64(u64),
    /// A byte, as `index` on a string returns (`uint8`).
    Uint8(u8),
    Float(f64),
    Complex(f64, f64),
    Str(Rc<[u8]>),
    List(Rc<Vec<Value>>, ElemType),
    Map(MapRef),
    /// A `map[string]string` (Sprig's `split`, `splitn`): its values are all strings, a missing
    /// key reads as `""`, and functions taking `map[string]interface {}` refuse it, as in Go.
    StrMap(MapRef),
    Secret(SharedSecret),
    /// A `time.Time` (Sprig's `now`).
    Time(chrono::DateTime<chrono::FixedOffset>),
    /// A value of a Go type with members of its own (see [`GoObject`]).
    Object(Rc<dyn GoObject>),
}

/// Values are torn down iteratively: a chain of a million lists or maps nested in each other
/// (`$m = dict "x" $m` in a loop, within every limit) would otherwise be dropped by recursion, a
/// frame per level, far past the render thread's stack, and a stack overflow aborts the process.
/// The items of a container this drop frees are moved to a work list and dropped one by one.
impl Drop for Value {
    fn drop(&mut self) {
        let mut pending = Vec::new();
        take_children(self, &mut pending);
        while let Some(mut v) = pending.pop() {
            take_children(&mut v, &mut pending);
        }
    }
}

/// Moves the items out of `v` when `v` is the last owner of its container (the container is
/// about to be freed); a shared container is left alone.
fn take_children(v: &mut Value, into: &mut Vec<Value>) {
    match v {
        Value::List(items, _) => {
            if let Some(items) = Rc::get_mut(items) {
                into.append(items);
            }
        }
        Value::Map(m) | Value::StrMap(m) => {
            if let Some(m) = Rc::get_mut(m) {
                into.extend(std::mem::take(m.get_mut()).into_values());
            }
        }
        _ => {}
    }
}

thread_local! {
    /// The items of every nil slice on this thread: a nil list is one that shares this empty
    /// array (a list made any other way, even empty, is not nil, as in Go). Values never leave
    /// the thread that renders them (`Rc`), so one array per thread is every nil list there is.
    static NIL_ITEMS: Rc<Vec<Value>> = Rc::new(Vec::new());
}

/// The exported fields of the secret struct, in declaration order.
pub const SECRET_FIELDS: [&str; 8] = [
    "Key",
    "WorkspaceId",
    "Value",
    "SecretPath",
    "Type",
    "ID",
    "Comment",
    "Tags",
];

/// The Go type name of the secret struct in `%T` and error messages.
pub const SECRET_TYPE: &str = "main.Secret";

impl Value {
    /// Roughly the bytes this value holds that nothing else shares, one level deep: what a
    /// function allocated to return it. A value only referenced here (`Rc` count 1) is new; one
    /// also held elsewhere (an argument returned as is, fetched data) is not.
    pub fn new_bytes(&self) -> u64 {
        const SLOT: u64 = std::mem::size_of::<Value>() as u64;
        let fresh_str = |v: &Value| match v {
            Value::Str(s) if Rc::strong_count(s) == 1 => s.len() as u64,
            _ => 0,
        };
        match self {
            Value::Str(_) => fresh_str(self),
            Value::List(items, _) if Rc::strong_count(items) == 1 => {
                items.iter().map(|v| SLOT + fresh_str(v)).sum()
            }
            Value::Map(m) | Value::StrMap(m) if Rc::strong_count(m) == 1 => match m.try_borrow() {
                Ok(m) => m
                    .iter()
                    .map(|(k, v)| Self::map_entry_bytes(k) + fresh_str(v))
                    .sum(),
                Err(_) => 0,
            },
            _ => 0,
        }
    }

    /// What one map entry with this key costs, its value shared: the key's bytes and two slots.
    pub fn map_entry_bytes(key: &[u8]) -> u64 {
        2 * std::mem::size_of::<Value>() as u64 + key.len() as u64
    }

    pub fn str(s: impl AsRef<[u8]>) -> Value {
        Value::Str(Rc::from(s.as_ref()))
    }

    pub fn map(m: BTreeMap<Vec<u8>, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(m)))
    }

    /// A `map[string]string` of these entries (every value a [`Value::Str`]).
    pub fn str_map(m: BTreeMap<Vec<u8>, Value>) -> Value {
        Value::StrMap(Rc::new(RefCell::new(m)))
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's nil slice of this element type: what `rest` and `initial` of an empty list, a
    /// `concat` of nothing and a `regexFindAll` that found nothing return. It has no items, as
    /// an empty list, but `toJson` writes it `null`, `%#v` prints `[]interface {}(nil)` and
    /// `deepEqual` tells it from an empty list.
    pub fn nil_list(t: ElemType) -> Value {
        NIL_ITEMS.with(|nil| Value::List(nil.clone(), t))
    }

    /// Whether this is a nil slice ([`Value::nil_list`]).
    pub fn is_nil_list(&self) -> bool {
        matches!(self, Value::List(l, _) if NIL_ITEMS.with(|nil| Rc::ptr_eq(l, nil)))
    }

    /// `items` as a list, or Go's nil slice when there are none (a function that builds its result
    /// with `append` from a nil slice, as `concat` and `regexFindAll` do).
    pub fn appended_list(items: Vec<Value>, t: ElemType) -> Value {
        if items.is_empty() {
            Value::nil_list(t)
        } else {
            Value::List(Rc::new(items), t)
        }
    }

    /// The value of any Go integer kind as an `i64` (a `uint64` above `i64::MAX` is not one).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            Value::Uint8(u) => Some(*u as i64),
            Value::Uint64(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// Go's `reflect.Type.String()` of the value (`<nil>` for nil).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint64(_) => "uint64",
            Value::Uint8(_) => "uint8",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::Str(_) => "string",
            Value::List(_, ElemType::Any) => "[]interface {}",
            Value::List(_, ElemType::Secret) => "[]main.Secret",
            Value::List(_, ElemType::Str) => "[]string",
            Value::List(_, ElemType::Int) => "[]int",
            Value::List(_, ElemType::List) => "[][]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::StrMap(_) => "map[string]string",
            Value::Secret(_) => SECRET_TYPE,
            Value::Time(_) => "time.Time",
            Value::Object(o) => o.type_name(),
        }
    }

    /// Go's `template.IsTrue` (every value of ours has a defined truth).
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint64(u) => *u != 0,
            Value::Uint8(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(r, i) => *r != 0.0 || *i != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l, _) => !l.is_empty(),
            Value::Map(m) | Value::StrMap(m) => !m.borrow().is_empty(),
            Value::Secret(_) | Value::Time(_) | Value::Object(_) => true,
        }
    }

    /// A struct field of a secret, by its exported Go name.
    pub fn secret_field(s: &Secret, name: &str) -> Option<Value> {
        Some(match name {
            "Key" => Value::str(s.key()),
            "WorkspaceId" => Value::str(s.workspace_id()),
            "Value" => Value::str(s.value()),
            "SecretPath" => Value::str(s.secret_path()),
            "Type" => Value::str(s.secret_type()),
            "ID" => Value::str(s.id()),
            "Comment" => Value::str(s.comment()),
            "Tags" => Value::List(
                Rc::new(s.tags().iter().map(|t| Value::str(&**t)).collect()),
                ElemType::Any,
            ),
            _ => return None,
        })
    }

    /// Converts a JSON value the way `encoding/json` decodes into `interface{}`.
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(a) => Value::List(
                Rc::new(a.iter().map(Value::from_json).collect()),
                ElemType::Any,
            ),
            serde_json::Value::Object(o) => Value::map(json_map(o)),
        }
    }
}

/// A JSON object as a sorted map.
pub fn json_map(o: &serde_json::Map<String, serde_json::Value>) -> BTreeMap<Vec<u8>, Value> {
    o.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), Value::from_json(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_follows_go() {
        assert!(Value::str("0").truth());
        assert!(Value::str(" ").truth());
        assert!(!Value::str("").truth());
        assert!(!Value::Int(0).truth());
        assert!(!Value::Float(0.0).truth());
        assert!(!Value::Nil.truth());
        assert!(Value::Secret(SharedSecret::single(Secret::default())).truth());
        assert!(!Value::List(Rc::new(vec![]), ElemType::Any).truth());
    }

    #[test]
    fn json_numbers_are_floats() {
        let v = Value::from_json(&serde_json::json!({"a": 5432, "b": null}));
        let Value::Map(ref m) = v else { panic!() };
        let m = m.borrow();
        assert!(matches!(m[b"a".as_slice()], Value::Float(f) if f == 5432.0));
        assert!(m[b"b".as_slice()].is_nil());
    }
}
