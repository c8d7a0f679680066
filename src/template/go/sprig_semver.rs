//! Sprig's semantic versions (semver semverCompare) as Sprig 3.2.3 does them with
//! github.com/Masterminds/semver/v3: `NewVersion`'s lenient parsing (`v1`, `1.2` are 1.0.0 and
//! 1.2.0), its constraint language (`>= 1.2, < 2`, `1.2 - 1.4`, `^1.2`, `~1.2.3`, `1.x`, `!=`,
//! `||`, and its prerelease rules), with the library's own regular expressions.
//!
//! `semver` returns a `*semver.Version` whose methods templates can call: `Major` `Minor` `Patch`
//! `Prerelease` `Metadata` `String` `Original`, `IncMajor` `IncMinor` `IncPatch`
//! `SetPrerelease` `SetMetadata` (which return a `semver.Version` value, whose pointer methods
//! `Original`, `Compare`, ... Go cannot call either), and `Compare` `LessThan` `GreaterThan`
//! `Equal` with another `*semver.Version`.
//!
//! Deliberate differences: versions and constraints longer than [`MAX_LEN`] bytes are an error
//! naming the limit (Go takes any length); the marshalling and mutating methods (`MarshalJSON`,
//! `MarshalText`, `Value`, `Scan`, `UnmarshalJSON`, `UnmarshalText`) are not reachable.

use std::rc::Rc;
use std::sync::OnceLock;

use regex::bytes::Regex;

use super::builtins::{Param, Sig};
use super::value::{GoObject, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &["semver", "semverCompare"];

/// Longest version or constraint string accepted, in bytes.
pub const MAX_LEN: usize = 1024;

const PTR_TYPE: &str = "*semver.Version";
const VALUE_TYPE: &str = "semver.Version";

use Param::Str;

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    match name {
        "semver" => Some(Sig {
            fixed: &[Str],
            variadic: None,
        }),
        "semverCompare" => Some(Sig {
            fixed: &[Str, Str],
            variadic: None,
        }),
        _ => None,
    }
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    match name {
        "semver" => {
            let v = bounded(name, "version", arg(&a[0]))?;
            Ok(object(new_version(v)?, true))
        }
        "semverCompare" => {
            let c = bounded(name, "constraint", arg(&a[0]))?;
            let v = bounded(name, "version", arg(&a[1]))?;
            let cs = new_constraint(c)?;
            let v = new_version(v)?;
            Ok(Value::Bool(check(&cs, &v)))
        }
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

fn arg(v: &Value) -> &[u8] {
    match v {
        Value::Str(s) => s,
        _ => b"",
    }
}

fn bounded<'a>(name: &str, what: &str, s: &'a [u8]) -> Result<&'a [u8], String> {
    if s.len() > MAX_LEN {
        return Err(format!(
            "{name}: the {what} is {} bytes, more than the {MAX_LEN} allowed",
            s.len()
        ));
    }
    Ok(s)
}

// ---- versions ----

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<u8>,
    metadata: Vec<u8>,
    original: Vec<u8>,
}

/// Go's `\s`: ASCII space, tab, newline, form feed and carriage return (not vertical tab).
const WS: &str = r"[\t\n\f\r ]";
const SEMVER_RE: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV_RE: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS_RE: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

/// The library's regular expressions, compiled once (Go's RE2 and the regex crate agree on
/// leftmost-first submatches).
struct Regexes {
    version: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn re() -> &'static Regexes {
    static RE: OnceLock<Regexes> = OnceLock::new();
    RE.get_or_init(|| {
        let r = |s: String| Regex::new(&s).expect("semver's regular expressions compile");
        Regexes {
            version: r(format!("^{SEMVER_RE}$")),
            constraint: r(format!("^{WS}*({OPS_RE}){WS}*({CV_RE}){WS}*$")),
            range: r(format!("{WS}*({CV_RE}){WS}+-{WS}+({CV_RE}){WS}*")),
            find: r(format!("({OPS_RE}){WS}*({CV_RE})")),
            valid: r(format!(
                "^({WS}*({OPS_RE}){WS}*({CV_RE}){WS}*)((?:{WS}+|,{WS}*)({OPS_RE}){WS}*({CV_RE}){WS}*)*$"
            )),
        }
    })
}

/// `strconv.ParseUint(s, 10, 64)`.
fn parse_uint(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &c| {
        n.checked_mul(10)?.checked_add((c - b'0') as u64)
    })
}

fn segment(s: &[u8]) -> Result<u64, String> {
    parse_uint(s).ok_or_else(|| {
        format!(
            "Error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            String::from_utf8_lossy(&super::strconv::quote(s, false))
        )
    })
}

/// semver's `NewVersion`.
fn new_version(v: &[u8]) -> Result<Version, String> {
    let m = re().version.captures(v).ok_or("Invalid Semantic Version")?;
    let g = |i: usize| m.get(i).map_or(&b""[..], |m| m.as_bytes());
    let mut sv = Version {
        pre: g(5).to_vec(),
        metadata: g(8).to_vec(),
        original: v.to_vec(),
        major: segment(g(1))?,
        ..Version::default()
    };
    if !g(2).is_empty() {
        sv.minor = segment(&g(2)[1..])?;
    }
    if !g(3).is_empty() {
        sv.patch = segment(&g(3)[1..])?;
    }
    if !sv.pre.is_empty() {
        validate_prerelease(&sv.pre)?;
    }
    if !sv.metadata.is_empty() {
        validate_metadata(&sv.metadata)?;
    }
    Ok(sv)
}

fn allowed(c: &u8) -> bool {
    c.is_ascii_alphanumeric() || *c == b'-'
}

fn validate_prerelease(p: &[u8]) -> Result<(), String> {
    for part in p.split(|&c| c == b'.') {
        if part.iter().all(u8::is_ascii_digit) {
            if part.len() > 1 && part[0] == b'0' {
                return Err("Version segment starts with 0".into());
            }
        } else if !part.iter().all(allowed) {
            return Err("Invalid Prerelease string".into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &[u8]) -> Result<(), String> {
    if m.split(|&c| c == b'.').all(|p| p.iter().all(allowed)) {
        Ok(())
    } else {
        Err("Invalid Metadata string".into())
    }
}

impl Version {
    /// `Version.String`: without the `v` prefix, with prerelease and metadata.
    fn string(&self) -> Vec<u8> {
        let mut out = format!("{}.{}.{}", self.major, self.minor, self.patch).into_bytes();
        if !self.pre.is_empty() {
            out.push(b'-');
            out.extend_from_slice(&self.pre);
        }
        if !self.metadata.is_empty() {
            out.push(b'+');
            out.extend_from_slice(&self.metadata);
        }
        out
    }

    /// The `original` of a version derived from this one: the `v` prefix kept, then `String`.
    fn reoriginal(mut self, from: &Version) -> Version {
        let mut o = if from.original.first() == Some(&b'v') {
            b"v".to_vec()
        } else {
            Vec::new()
        };
        o.extend_from_slice(&self.string());
        self.original = o;
        self
    }

    fn compare(&self, o: &Version) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        let d = (self.major, self.minor, self.patch).cmp(&(o.major, o.minor, o.patch));
        if d != Equal {
            return d;
        }
        match (self.pre.is_empty(), o.pre.is_empty()) {
            (true, true) => Equal,
            (true, false) => Greater,
            (false, true) => Less,
            (false, false) => compare_prerelease(&self.pre, &o.pre),
        }
    }
}

fn compare_prerelease(v: &[u8], o: &[u8]) -> std::cmp::Ordering {
    let s: Vec<&[u8]> = v.split(|&c| c == b'.').collect();
    let o: Vec<&[u8]> = o.split(|&c| c == b'.').collect();
    for i in 0..s.len().max(o.len()) {
        let a = s.get(i).copied().unwrap_or(b"");
        let b = o.get(i).copied().unwrap_or(b"");
        let d = compare_pre_part(a, b);
        if d != std::cmp::Ordering::Equal {
            return d;
        }
    }
    std::cmp::Ordering::Equal
}

fn compare_pre_part(s: &[u8], o: &[u8]) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    if s == o {
        return Equal;
    }
    if s.is_empty() {
        return Less;
    }
    if o.is_empty() {
        return Greater;
    }
    match (parse_uint(s), parse_uint(o)) {
        (None, None) => {
            if s > o {
                Greater
            } else {
                Less
            }
        }
        (Some(_), None) => Less,
        (None, Some(_)) => Greater,
        (Some(a), Some(b)) => {
            if a > b {
                Greater
            } else {
                Less
            }
        }
    }
}

// ---- the template-visible object ----

/// A `*semver.Version` (`ptr`) or a `semver.Version` value (what `IncPatch` and the like return).
#[derive(Debug)]
struct SemverObject {
    v: Version,
    ptr: bool,
}

fn object(v: Version, ptr: bool) -> Value {
    Value::Object(Rc::new(SemverObject { v, ptr }))
}

/// The version inside another `*semver.Version` object, read back through its members.
fn version_of(o: &dyn GoObject) -> Option<Version> {
    let s = |m: &str| match o.member(m, &[]) {
        Some(Ok(Value::Str(ref s))) => Some(s.to_vec()),
        _ => None,
    };
    let u = |m: &str| match o.member(m, &[]) {
        Some(Ok(Value::Uint64(n))) => Some(n),
        _ => None,
    };
    Some(Version {
        major: u("Major")?,
        minor: u("Minor")?,
        patch: u("Patch")?,
        pre: s("Prerelease")?,
        metadata: s("Metadata")?,
        original: s(HIDDEN_ORIGINAL)?,
    })
}

/// A member name no template can write, for `deep_equal` and `version_of`.
const HIDDEN_ORIGINAL: &str = "#original";

fn want_args(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

impl SemverObject {
    fn run(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let v = &self.v;
        let s = |b: &[u8]| Value::str(b);
        let niladic = |r: Value| Some(want_args(name, args, 0).map(|_| r));
        match name {
            "Major" => niladic(Value::Uint64(v.major)),
            "Minor" => niladic(Value::Uint64(v.minor)),
            "Patch" => niladic(Value::Uint64(v.patch)),
            "Prerelease" => niladic(s(&v.pre)),
            "Metadata" => niladic(s(&v.metadata)),
            "String" => niladic(s(&v.string())),
            HIDDEN_ORIGINAL => Some(Ok(s(&v.original))),
            "Original" if self.ptr => niladic(s(&v.original)),
            "IncPatch" | "IncMinor" | "IncMajor" => {
                let mut n = Version {
                    pre: Vec::new(),
                    metadata: Vec::new(),
                    ..v.clone()
                };
                match name {
                    "IncPatch" if v.pre.is_empty() => n.patch = v.patch.wrapping_add(1),
                    "IncPatch" => {}
                    "IncMinor" => (n.minor, n.patch) = (v.minor.wrapping_add(1), 0),
                    _ => (n.major, n.minor, n.patch) = (v.major.wrapping_add(1), 0, 0),
                }
                niladic(object(n.reoriginal(v), false))
            }
            "SetPrerelease" | "SetMetadata" => Some((|| {
                want_args(name, args, 1)?;
                let Value::Str(x) = &args[0] else {
                    return Err(format!(
                        "wrong type for value; expected string; got {}",
                        args[0].type_name()
                    ));
                };
                let mut n = v.clone();
                if name == "SetPrerelease" {
                    if !x.is_empty() {
                        validate_prerelease(x)?;
                    }
                    n.pre = x.to_vec();
                } else {
                    if !x.is_empty() {
                        validate_metadata(x)?;
                    }
                    n.metadata = x.to_vec();
                }
                Ok(object(n.reoriginal(v), false))
            })()),
            "Compare" | "LessThan" | "GreaterThan" | "Equal" if self.ptr => Some((|| {
                want_args(name, args, 1)?;
                let o = match &args[0] {
                    Value::Object(o) if o.type_name() == PTR_TYPE => version_of(o.as_ref()),
                    Value::Nil => {
                        return Err(
                            "runtime error: invalid memory address or nil pointer dereference"
                                .into(),
                        )
                    }
                    _ => None,
                }
                .ok_or_else(|| {
                    format!(
                        "wrong type for value; expected {PTR_TYPE}; got {}",
                        args[0].type_name()
                    )
                })?;
                let d = v.compare(&o);
                Ok(match name {
                    "Compare" => Value::Int(d as i64),
                    "LessThan" => Value::Bool(d.is_lt()),
                    "GreaterThan" => Value::Bool(d.is_gt()),
                    _ => Value::Bool(d.is_eq()),
                })
            })()),
            _ => None,
        }
    }
}

impl GoObject for SemverObject {
    fn type_name(&self) -> &'static str {
        if self.ptr {
            PTR_TYPE
        } else {
            VALUE_TYPE
        }
    }

    fn kind(&self) -> &'static str {
        if self.ptr {
            "ptr"
        } else {
            "struct"
        }
    }

    fn member(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        self.run(name, args)
    }

    fn display(&self) -> Vec<u8> {
        self.v.string()
    }

    fn fields(&self) -> Option<Vec<Value>> {
        let v = &self.v;
        Some(vec![
            Value::Uint64(v.major),
            Value::Uint64(v.minor),
            Value::Uint64(v.patch),
            Value::str(&v.pre),
            Value::str(&v.metadata),
            Value::str(&v.original),
        ])
    }

    fn to_json(&self) -> Vec<u8> {
        [b"\"".as_slice(), &self.v.string(), b"\""].concat()
    }

    fn deep_equal(&self, other: &dyn GoObject) -> bool {
        version_of(other).is_some_and(|o| o == self.v)
    }

    fn deep_copy(&self) -> Option<Value> {
        // copystructure copies exported fields only; all of Version's are unexported.
        Some(object(Version::default(), self.ptr))
    }
}

// ---- constraints ----

struct Constraint {
    con: Version,
    op: Vec<u8>,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// The first occurrence of `from` in `s` replaced by `to` (Go's `strings.Replace(s, from, to, 1)`).
fn replace_once(s: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return [to, s].concat();
    }
    match s.windows(from.len()).position(|w| w == from) {
        Some(i) => [&s[..i], to, &s[i + from.len()..]].concat(),
        None => s.to_vec(),
    }
}

/// Go's `strings.Split(s, sep)` for a non-empty `sep`.
fn split_on<'a>(s: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

/// semver's `NewConstraint`: OR groups of ANDed constraints.
fn new_constraint(c: &[u8]) -> Result<Vec<Vec<Constraint>>, String> {
    let lossy = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    // `1.2 - 1.4` becomes `>= 1.2, <= 1.4`.
    let mut o = c.to_vec();
    for m in re().range.captures_iter(c) {
        let g = |i: usize| m.get(i).map_or(&b""[..], |m| m.as_bytes());
        let t = [b">= ", g(1), b", <= ", g(11)].concat();
        o = replace_once(&o, g(0), &t);
    }
    let mut ors = Vec::new();
    for v in split_on(&o, b"||") {
        if !re().valid.is_match(v) {
            return Err(format!("improper constraint: {}", lossy(v)));
        }
        let mut cs: Vec<&[u8]> = re().find.find_iter(v).map(|m| m.as_bytes()).collect();
        if cs.is_empty() {
            cs.push(v);
        }
        let ands = cs
            .into_iter()
            .map(parse_constraint)
            .collect::<Result<Vec<_>, _>>()?;
        ors.push(ands);
    }
    Ok(ors)
}

fn is_x(s: &[u8]) -> bool {
    matches!(s, b"x" | b"*" | b"X")
}

fn parse_constraint(c: &[u8]) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version {
                original: b"0.0.0".to_vec(),
                ..Version::default()
            },
            op: Vec::new(),
            dirty: true,
            minor_dirty: false,
            patch_dirty: false,
        });
    }
    let m = re()
        .constraint
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {}", String::from_utf8_lossy(c)))?;
    let g = |i: usize| m.get(i).map_or(&b""[..], |m| m.as_bytes());
    let dot = |s: &[u8]| s.strip_prefix(b".").unwrap_or(s).to_vec();
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        [b"0.0.0", g(6)].concat()
    } else if is_x(&dot(g(4))) || g(4).is_empty() {
        (dirty, minor_dirty) = (true, true);
        [g(3), b".0.0", g(6)].concat()
    } else if is_x(&dot(g(5))) || g(5).is_empty() {
        (dirty, patch_dirty) = (true, true);
        [g(3), g(4), b".0", g(6)].concat()
    } else {
        g(2).to_vec()
    };
    let con = new_version(&ver).map_err(|_| "constraint Parser Error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_vec(),
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// `Constraints.Check`: some OR group whose every constraint holds.
fn check(cs: &[Vec<Constraint>], v: &Version) -> bool {
    cs.iter().any(|ands| ands.iter().all(|c| holds(c, v)))
}

/// The constraint function of `c`'s operator, applied to `v`.
fn holds(c: &Constraint, v: &Version) -> bool {
    let con = &c.con;
    // A prerelease version only satisfies constraints that name a prerelease (issue 21), except
    // for a dirty `!=`, which checks this itself in the same way.
    let pre_mismatch = !v.pre.is_empty() && con.pre.is_empty();
    match &c.op[..] {
        b"!=" => {
            if c.dirty {
                if pre_mismatch {
                    return false;
                }
                if con.major != v.major {
                    return true;
                }
                if con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &con.pre).is_ne();
                    }
                    return false;
                }
            }
            !v.compare(con).is_eq()
        }
        _ if pre_mismatch => false,
        b">" => {
            if !c.dirty {
                return v.compare(con).is_gt();
            }
            if v.major > con.major {
                true
            } else if v.major < con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > con.minor
            } else {
                v.compare(con).is_gt()
            }
        }
        b"<" => v.compare(con).is_lt(),
        b">=" | b"=>" => v.compare(con).is_ge(),
        b"<=" | b"=<" => {
            if !c.dirty {
                return v.compare(con).is_le();
            }
            !(v.major > con.major
                || (v.major == con.major && v.minor > con.minor && !c.minor_dirty))
        }
        b"~" | b"~>" => tilde(c, v),
        b"^" => {
            if v.compare(con).is_lt() {
                return false;
            }
            if con.major > 0 || c.minor_dirty {
                return v.major == con.major;
            }
            if v.major > 0 {
                return false;
            }
            if con.minor > 0 || c.patch_dirty {
                return v.minor == con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            con.patch == v.patch
        }
        // "" and "=": a dirty version is a tilde range, else equality.
        _ => {
            if c.dirty {
                tilde(c, v)
            } else {
                v.compare(con).is_eq()
            }
        }
    }
}

fn tilde(c: &Constraint, v: &Version) -> bool {
    let con = &c.con;
    if !v.pre.is_empty() && con.pre.is_empty() {
        return false;
    }
    if v.compare(con).is_lt() {
        return false;
    }
    if con.major == 0 && con.minor == 0 && con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
        return true;
    }
    if v.major != con.major {
        return false;
    }
    v.minor == con.minor || c.minor_dirty
}
