//! Sprig's numbers (int64, float64, the f-suffixed float arithmetic, max, min, ceil, round, ...), with Sprig's semantics.
//!
//! The integer arithmetic returns Go's `int64` and wraps on overflow as Go does; `div`/`mod` by zero
//! is Go's runtime panic, an error here. The float arithmetic (`addf` ...) goes through exact
//! decimals as shopspring/decimal does (`divf` rounds to 16 decimal places, half away from zero).

use std::rc::Rc;

use num_bigint::{BigInt, Sign};

use super::builtins::{Param, Sig};
use super::literal::parse_float;
use super::sprig::{int, items_capped, strval, to_int64, MAX_ITEMS};
use super::value::{ElemType, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "add",
    "sub",
    "mul",
    "div",
    "mod",
    "add1",
    "int64",
    "float64",
    "toDecimal",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "biggest",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    "until",
    "untilStep",
    "seq",
];

use Param::{Any, Float, Int};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "add" | "addf" => s(&[], Some(Any)),
        "sub" | "div" | "mod" => s(&[Any, Any], None),
        "mul" | "subf" | "divf" | "mulf" | "biggest" | "max" | "min" | "maxf" | "minf" => {
            s(&[Any], Some(Any))
        }
        "add1" | "int64" | "float64" | "toDecimal" | "add1f" | "ceil" | "floor" => s(&[Any], None),
        "randInt" => s(&[Int, Int], None),
        "round" => s(&[Any, Int], Some(Float)),
        "until" => s(&[Int], None),
        "untilStep" => s(&[Int, Int, Int], None),
        "seq" => s(&[], Some(Int)),
        _ => None,
    }
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let i64v = |v: i64| Ok(Value::Int64(v));
    let f64v = |v: f64| Ok(Value::Float(v));
    match name {
        "add" => i64v(a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v)))),
        "sub" => i64v(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))),
        "mul" => i64v(a.iter().fold(1i64, |acc, v| acc.wrapping_mul(to_int64(v)))),
        "div" | "mod" => {
            let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
            if y == 0 {
                return Err(format!("{name}: runtime error: integer divide by zero"));
            }
            i64v(if name == "div" {
                x.wrapping_div(y)
            } else {
                x.wrapping_rem(y)
            })
        }
        "add1" => i64v(to_int64(&a[0]).wrapping_add(1)),
        "int64" => i64v(to_int64(&a[0])),
        "float64" => f64v(to_float64(&a[0])),
        "toDecimal" => i64v(parse_octal(&String::from_utf8_lossy(&strval(&a[0])))),
        "randInt" => {
            use rand::Rng as _;
            let (lo, hi) = (int(&a[0]), int(&a[1]));
            let span = hi.wrapping_sub(lo);
            if span <= 0 {
                return Err(format!("randInt: invalid argument to Intn ({hi} - {lo})"));
            }
            Ok(Value::Int(
                rand::rng().random_range(0..span).wrapping_add(lo),
            ))
        }
        "add1f" => f64v(decimal_op(&a[0], &[Value::Int(1)], Op::Add)?),
        "addf" => f64v(decimal_op(&Value::Float(0.0), a, Op::Add)?),
        "subf" => f64v(decimal_op(&a[0], &a[1..], Op::Sub)?),
        "mulf" => f64v(decimal_op(&a[0], &a[1..], Op::Mul)?),
        "divf" => f64v(decimal_op(&a[0], &a[1..], Op::Div)?),
        "biggest" | "max" => i64v(a.iter().map(to_int64).max().unwrap_or(0)),
        "min" => i64v(a.iter().map(to_int64).min().unwrap_or(0)),
        "maxf" | "minf" => {
            let first = to_float64(&a[0]);
            f64v(a[1..].iter().map(to_float64).fold(first, |acc, b| {
                if name == "maxf" {
                    go_max(acc, b)
                } else {
                    go_min(acc, b)
                }
            }))
        }
        "ceil" => f64v(to_float64(&a[0]).ceil()),
        "floor" => f64v(to_float64(&a[0]).floor()),
        "round" => {
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            let val = to_float64(&a[0]);
            let pow = go_pow10(int(&a[1]));
            let digit = pow * val;
            let frac = if digit.is_infinite() {
                f64::NAN
            } else {
                digit.fract()
            };
            let r = if frac >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            f64v(r / pow)
        }
        "until" => {
            let n = int(&a[0]);
            int_list(until_step("until", 0, n, if n < 0 { -1 } else { 1 })?)
        }
        "untilStep" => int_list(until_step("untilStep", int(&a[0]), int(&a[1]), int(&a[2]))?),
        "seq" => {
            let p: Vec<i64> = a.iter().map(int).collect();
            let items = match p[..] {
                [end] => {
                    let inc = if end < 1 { -1 } else { 1 };
                    until_step("seq", 1, end.wrapping_add(inc), inc)?
                }
                [start, end] => {
                    let step = if end < start { -1 } else { 1 };
                    until_step("seq", start, end.wrapping_add(step), step)?
                }
                [start, step, end] => {
                    let mut inc = 1;
                    if end < start {
                        inc = -1;
                        if step > 0 {
                            return Ok(Value::str(""));
                        }
                    }
                    until_step("seq", start, end.wrapping_add(inc), step)?
                }
                _ => Vec::new(),
            };
            let text: Vec<String> = items.iter().map(i64::to_string).collect();
            Ok(Value::str(text.join(" ").into_bytes()))
        }
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

fn int_list(items: Vec<i64>) -> Result<Value, String> {
    Ok(Value::List(
        Rc::new(items.into_iter().map(Value::Int).collect()),
        ElemType::Int,
    ))
}

/// Sprig's `untilStep`, stepping with Go's wrapping `int` arithmetic, refusing more than
/// [`MAX_ITEMS`] items (where Go would run out of memory or loop for ever).
fn until_step(name: &str, start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let mut v = Vec::new();
    let mut i = start;
    let push = |i: i64, v: &mut Vec<i64>| {
        if v.len() >= MAX_ITEMS {
            return items_capped(name, MAX_ITEMS + 1);
        }
        v.push(i);
        Ok(())
    };
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        while i > stop {
            push(i, &mut v)?;
            i = i.wrapping_add(step);
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    while i < stop {
        push(i, &mut v)?;
        i = i.wrapping_add(step);
    }
    Ok(v)
}

/// `strconv.ParseInt(s, 8, 64)`, 0 on any error (Sprig's `toDecimal`).
fn parse_octal(s: &str) -> i64 {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        return 0;
    }
    let Ok(m) = u64::from_str_radix(digits, 8) else {
        return 0;
    };
    match (neg, m) {
        (false, m) if m <= i64::MAX as u64 => m as i64,
        (true, m) if m <= i64::MAX as u64 => -(m as i64),
        (true, m) if m == i64::MAX as u64 + 1 => i64::MIN,
        _ => 0,
    }
}

/// Go's `cast.ToFloat64`: numbers convert, strings parse as `strconv.ParseFloat`, bools are 1 or
/// 0, anything else (nil, maps, lists, bad strings) is 0.
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint64(u) => *u as f64,
        Value::Uint8(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as u8 as f64,
        Value::Str(s) => parse_go_float(&String::from_utf8_lossy(s)).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `strconv.ParseFloat(s, 64)` without error: `inf`, `infinity` and `nan` in any case, decimal and
/// hexadecimal forms; out of range is an error (None), as in Go.
fn parse_go_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        return (s.len() == 3).then_some(f64::NAN);
    }
    if body.starts_with(['+', '-']) {
        return None;
    }
    parse_float(s)
}

/// Go's `math.Max`.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x > 0.0 || y.is_infinite() && y > 0.0 {
        f64::INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() {
            y
        } else {
            x
        }
    } else if x > y {
        x
    } else {
        y
    }
}

/// Go's `math.Min`.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x < 0.0 || y.is_infinite() && y < 0.0 {
        f64::NEG_INFINITY
    } else if x.is_nan() || y.is_nan() {
        f64::NAN
    } else if x == 0.0 && x == y {
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else if x < y {
        x
    } else {
        y
    }
}

/// Go's `math.Pow(10, p)` for an integer `p`, by Go's successive squarings (so the last bit is
/// Go's, not the C library's).
fn go_pow10(p: i64) -> f64 {
    if p == 0 {
        return 1.0;
    }
    if p == 1 {
        return 10.0;
    }
    let (mut a1, mut ae) = (1.0f64, 0i64);
    // frexp(10) = 0.625 * 2^4
    let (mut x1, mut xe) = (0.625f64, 4i64);
    let mut i = p.unsigned_abs();
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if p < 0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// Go's `math.Ldexp`.
fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || frac.is_infinite() || frac.is_nan() {
        return frac;
    }
    let (frac, e) = if frac.abs() < f64::MIN_POSITIVE {
        (frac * (1u64 << 52) as f64, -52)
    } else {
        (frac, 0)
    };
    let mut x = frac.to_bits();
    let mut exp = exp
        .saturating_add(e)
        .saturating_add(((x >> 52) & 0x7ff) as i64 - 1023);
    if exp < -1075 {
        return 0.0f64.copysign(frac);
    }
    if exp > 1023 {
        return f64::INFINITY.copysign(frac);
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    x &= !(0x7ffu64 << 52);
    x |= ((exp + 1023) as u64) << 52;
    m * f64::from_bits(x)
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// An exact decimal `m * 10^e` (shopspring/decimal's value).
#[derive(Clone)]
struct Dec {
    m: BigInt,
    e: i64,
}

/// Significant digits kept beyond which a mantissa is cut (with a sticky last digit so the final
/// rounding to float64 stays right): only a chain of many huge or tiny products gets there.
const MAX_DIGITS: usize = 1200;

/// Largest decimal exponent a `mulf`/`divf` chain may reach (Go's limit is int32, far beyond what
/// a template can afford to compute): an intermediate result beyond 1e±20000 is an error.
const MAX_EXP: u64 = 20_000;

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_float(f: f64) -> Result<Dec, String> {
        if f.is_nan() || f.is_infinite() {
            return Err(format!(
                "Cannot create a Decimal from {}",
                super::strconv::format_float(f, 'g', -1)
            ));
        }
        if f == 0.0 {
            return Ok(Dec {
                m: BigInt::from(0),
                e: 0,
            });
        }
        let t = format!("{f:e}");
        let (mant, exp) = t.split_once('e').unwrap_or((&t, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let (int_part, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int_part}{frac}");
        let m: BigInt = digits.parse().unwrap_or_default();
        Ok(Dec {
            m,
            e: exp - frac.len() as i64,
        })
    }

    fn is_zero(&self) -> bool {
        self.m.sign() == Sign::NoSign
    }

    /// Both mantissas at the smaller exponent.
    fn aligned(&self, o: &Dec) -> (BigInt, BigInt, i64) {
        let e = self.e.min(o.e);
        let scale = |d: &Dec| &d.m * BigInt::from(10u32).pow((d.e - e) as u32);
        (scale(self), scale(o), e)
    }

    /// Drops trailing zeros, then cuts a mantissa longer than [`MAX_DIGITS`].
    fn normalized(mut self) -> Dec {
        if self.is_zero() {
            self.e = 0;
            return self;
        }
        let ten = BigInt::from(10u32);
        let digits = self.m.magnitude().to_string().len();
        if digits <= MAX_DIGITS && self.e.unsigned_abs() < 2000 {
            return self;
        }
        while (&self.m % &ten).sign() == Sign::NoSign {
            self.m /= &ten;
            self.e += 1;
        }
        let digits = self.m.magnitude().to_string().len();
        if digits > MAX_DIGITS {
            let cut = (digits - MAX_DIGITS) as u32;
            let div = ten.pow(cut);
            let rest = &self.m % &div;
            self.m /= &div;
            self.e += cut as i64;
            self.m *= &ten;
            self.e -= 1;
            if rest.sign() != Sign::NoSign {
                self.m += if self.m.sign() == Sign::Minus { -1 } else { 1 };
            }
        }
        self
    }

    fn apply(self, o: Dec, op: Op) -> Result<Dec, String> {
        let out = match op {
            Op::Add | Op::Sub => {
                let (x, y, e) = self.aligned(&o);
                let m = if matches!(op, Op::Add) { x + y } else { x - y };
                Dec { m, e }
            }
            Op::Mul => {
                let e = self.e + o.e;
                if e.unsigned_abs() > MAX_EXP {
                    return Err("mulf: decimal exponent out of range".into());
                }
                Dec { m: self.m * o.m, e }
            }
            Op::Div => {
                if o.is_zero() {
                    return Err("divf: decimal division by 0".into());
                }
                // The quotient to 16 decimal places, rounded half away from zero.
                let scale = self.e - o.e + 16;
                if scale.unsigned_abs() > MAX_EXP {
                    return Err("divf: decimal exponent out of range".into());
                }
                let ten = BigInt::from(10u32);
                let (aa, bb) = if scale < 0 {
                    (self.m.clone(), &o.m * ten.pow(scale.unsigned_abs() as u32))
                } else {
                    (&self.m * ten.pow(scale as u32), o.m.clone())
                };
                let mut q = &aa / &bb;
                let r = &aa % &bb;
                if r.magnitude() * 2u32 >= *bb.magnitude() {
                    let neg = (self.m.sign() == Sign::Minus) != (o.m.sign() == Sign::Minus);
                    q += if neg { -1 } else { 1 };
                }
                Dec { m: q, e: -16 }
            }
        };
        Ok(out.normalized())
    }

    /// `Decimal.Float64`: the nearest float64.
    fn to_float(&self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }
}

/// Sprig's `execDecimalOp`: `first op x1 op x2 ...` in exact decimals, then to float64.
fn decimal_op(first: &Value, rest: &[Value], op: Op) -> Result<f64, String> {
    let mut acc = Dec::from_float(to_float64(first))?;
    for x in rest {
        acc = acc.apply(Dec::from_float(to_float64(x))?, op)?;
    }
    Ok(acc.to_float())
}
