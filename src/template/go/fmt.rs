//! Go's `fmt` for template values: `Sprint`, `Sprintln` and `Sprintf` with Go's flags, widths
//! and precisions counted in runes, verb rules per type and the `%!verb(type=value)`,
//! `%!v(MISSING)`, `%!(EXTRA ...)`, `%!(NOVERB)`, `%!(BADWIDTH)` markers.

use super::strconv::{can_backquote, quote};
use super::unicode::{push_rune, rune_count};
use super::value::{Value, SECRET_FIELDS, SECRET_TYPE};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PrintMode {
    Print,
    Println,
}

#[derive(Default, Clone, Copy)]
pub(super) struct Flags {
    pub(super) plus: bool,
    pub(super) minus: bool,
    pub(super) sharp: bool,
    pub(super) space: bool,
    pub(super) zero: bool,
    pub(super) plus_v: bool,
    pub(super) sharp_v: bool,
    pub(super) wid: usize,
    pub(super) wid_present: bool,
    pub(super) prec: usize,
    pub(super) prec_present: bool,
}

pub(super) struct Printer {
    pub(super) buf: Vec<u8>,
    pub(super) f: Flags,
    /// Nesting of the container being printed: maps can hold themselves (Sprig's `set`).
    pub(super) depth: usize,
    /// Inside a `%!verb(type=value)` report, where Go calls no `String` method.
    pub(super) erroring: bool,
}

/// Containers nested deeper than this print as `...` instead of recursing further.
const MAX_PRINT_DEPTH: usize = 100;

/// `fmt.Sprint` (spaces between operands when neither is a string) or `fmt.Sprintln`.
pub fn sprint(args: &[Value], mode: PrintMode) -> Vec<u8> {
    let mut p = Printer {
        buf: Vec::new(),
        f: Flags::default(),
        depth: 0,
        erroring: false,
    };
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && (mode == PrintMode::Println || (!is_string && !prev_string)) {
            p.buf.push(b' ');
        }
        p.print_arg(a, 'v');
        prev_string = is_string;
    }
    if mode == PrintMode::Println {
        p.buf.push(b'\n');
    }
    p.buf
}

fn too_large(x: usize) -> bool {
    x > 1_000_000
}

/// Go's `parsenum`: (number, found, new index).
fn parse_num(s: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    let mut num = 0usize;
    let mut found = false;
    let mut i = start;
    if start >= end {
        return (0, false, end);
    }
    while i < end && s[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + (s[i] - b'0') as usize;
        found = true;
        i += 1;
    }
    (num, found, i)
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &[u8], args: &[Value]) -> Vec<u8> {
    let mut p = Printer {
        buf: Vec::new(),
        f: Flags::default(),
        depth: 0,
        erroring: false,
    };
    let end = format.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0;
    'format: while i < end {
        let mut good_arg_num = true;
        let last = i;
        while i < end && format[i] != b'%' {
            i += 1;
        }
        if i > last {
            p.buf.extend_from_slice(&format[last..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            match format[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = true,
                b'+' => p.f.plus = true,
                b'-' => p.f.minus = true,
                b' ' => p.f.space = true,
                c => {
                    if c.is_ascii_lowercase() && arg_num < args.len() {
                        if c == b'v' || c == b'w' {
                            p.f.sharp_v = p.f.sharp;
                            p.f.sharp = false;
                            p.f.plus_v = p.f.plus;
                            p.f.plus = false;
                        }
                        p.print_arg(&args[arg_num], c as char);
                        arg_num += 1;
                        i += 1;
                        continue 'format;
                    }
                    break;
                }
            }
            i += 1;
        }
        // Argument index, width, precision.
        let mut after_index;
        (arg_num, i, after_index) = arg_number(
            &mut reordered,
            &mut good_arg_num,
            arg_num,
            format,
            i,
            args.len(),
        );
        if i < end && format[i] == b'*' {
            i += 1;
            let (n, ok, next) = int_from_arg(args, arg_num);
            arg_num = next;
            p.f.wid_present = ok;
            if !ok {
                p.buf.extend_from_slice(b"%!(BADWIDTH)");
            }
            if n < 0 {
                p.f.wid = n.unsigned_abs() as usize;
                p.f.minus = true;
                p.f.zero = false;
            } else {
                p.f.wid = n as usize;
            }
            after_index = false;
        } else {
            let (n, ok, next) = parse_num(format, i, end);
            p.f.wid = n;
            p.f.wid_present = ok;
            i = next;
            if after_index && ok {
                good_arg_num = false;
            }
        }
        if i + 1 < end && format[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) = arg_number(
                &mut reordered,
                &mut good_arg_num,
                arg_num,
                format,
                i,
                args.len(),
            );
            if i < end && format[i] == b'*' {
                i += 1;
                let (n, ok, next) = int_from_arg(args, arg_num);
                arg_num = next;
                p.f.prec_present = ok;
                p.f.prec = n.max(0) as usize;
                // Go: a negative precision argument makes no sense, and says so.
                if n < 0 {
                    p.f.prec_present = false;
                }
                if !p.f.prec_present {
                    p.buf.extend_from_slice(b"%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (n, ok, next) = parse_num(format, i, end);
                p.f.prec = n;
                p.f.prec_present = true;
                if !ok {
                    p.f.prec = 0;
                }
                i = next;
            }
        }
        if !after_index {
            (arg_num, i, _) = arg_number(
                &mut reordered,
                &mut good_arg_num,
                arg_num,
                format,
                i,
                args.len(),
            );
        }
        if i >= end {
            p.buf.extend_from_slice(b"%!(NOVERB)");
            break;
        }
        let (verb, size) = if format[i] < 0x80 {
            (format[i] as char, 1)
        } else {
            super::unicode::decode_rune(&format[i..])
        };
        i += size;
        if verb == '%' {
            p.buf.push(b'%');
        } else if !good_arg_num {
            p.bad_arg(verb, "BADINDEX");
        } else if arg_num >= args.len() {
            p.bad_arg(verb, "MISSING");
        } else {
            if verb == 'v' || verb == 'w' {
                p.f.sharp_v = p.f.sharp;
                p.f.sharp = false;
                p.f.plus_v = p.f.plus;
                p.f.plus = false;
            }
            p.print_arg(&args[arg_num], verb);
            arg_num += 1;
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.extend_from_slice(b"%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.buf.extend_from_slice(b", ");
            }
            if a.is_nil() {
                p.buf.extend_from_slice(b"<nil>");
            } else {
                p.buf.extend_from_slice(a.type_name().as_bytes());
                p.buf.push(b'=');
                p.print_arg(a, 'v');
            }
        }
        p.buf.push(b')');
    }
    p.buf
}

fn arg_number(
    reordered: &mut bool,
    good: &mut bool,
    arg_num: usize,
    format: &[u8],
    i: usize,
    num_args: usize,
) -> (usize, usize, bool) {
    if format.len() <= i || format[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let s = &format[i..];
    // Go's parseArgNumber.
    let (index, wid, ok) = 'parse: {
        if s.len() < 3 {
            break 'parse (0, 1, false);
        }
        for j in 1..s.len() {
            if s[j] == b']' {
                let (w, ok, newi) = parse_num(s, 1, j);
                if !ok || newi != j {
                    break 'parse (0, j + 1, false);
                }
                break 'parse (w as i64 - 1, j + 1, true);
            }
        }
        (0, 1, false)
    };
    if ok && index >= 0 && (index as usize) < num_args {
        return (index as usize, i + wid, true);
    }
    *good = false;
    (arg_num, i + wid, ok)
}

fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    if arg_num >= args.len() {
        return (0, false, arg_num);
    }
    let (n, ok) = match &args[arg_num] {
        Value::Uint64(u) if *u > i64::MAX as u64 => (i64::MAX, true),
        v => v.as_i64().map_or((0, false), |n| (n, true)),
    };
    if n.unsigned_abs() > 1_000_000 {
        return (0, false, arg_num + 1);
    }
    (n, ok, arg_num + 1)
}

/// `time.Time`'s `GoString` (`%#v`): `time.Date(2006, time.January, 2, 15, 4, 5, 0, time.UTC)`.
/// A time keeps only its offset: UTC is `time.UTC`, any other offset the local zone.
fn go_string_of_time(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    let zone = if t.offset().local_minus_utc() == 0 {
        "time.UTC"
    } else {
        "time.Local"
    };
    format!(
        "time.Date({}, time.{}, {}, {}, {}, {}, {}, {zone})",
        t.year(),
        super::sprig_time::MONTHS[t.month0() as usize % 12],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() % 1_000_000_000,
    )
}

impl Printer {
    pub(super) fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero && !self.f.minus {
            b'0'
        } else {
            b' '
        };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    pub(super) fn pad(&mut self, b: &[u8]) {
        if !self.f.wid_present || self.f.wid == 0 {
            self.buf.extend_from_slice(b);
            return;
        }
        let width = self.f.wid.saturating_sub(rune_count(b));
        if !self.f.minus {
            self.write_padding(width);
            self.buf.extend_from_slice(b);
        } else {
            self.buf.extend_from_slice(b);
            self.write_padding(width);
        }
    }

    fn bad_arg(&mut self, verb: char, what: &str) {
        self.buf.extend_from_slice(b"%!");
        push_rune(&mut self.buf, verb);
        self.buf.push(b'(');
        self.buf.extend_from_slice(what.as_bytes());
        self.buf.push(b')');
    }

    pub(super) fn bad_verb(&mut self, verb: char, v: &Value) {
        self.buf.extend_from_slice(b"%!");
        push_rune(&mut self.buf, verb);
        self.buf.push(b'(');
        if v.is_nil() {
            self.buf.extend_from_slice(b"<nil>");
        } else {
            self.buf.extend_from_slice(v.type_name().as_bytes());
            self.buf.push(b'=');
            let erroring = std::mem::replace(&mut self.erroring, true);
            self.print_arg(v, 'v');
            self.erroring = erroring;
        }
        self.buf.push(b')');
    }

    /// A `time.Time` printed as the struct it is, `{wall ext loc}`, where Go calls no `String`
    /// method: the wall clock's nanoseconds, the seconds since year 1 (no monotonic reading: only
    /// `now` has one, and it is never the same twice), and the location as a nil pointer (Go's
    /// UTC; a Local time's pointer is an address that differs on every run).
    fn time_fields(&mut self, t: &chrono::DateTime<chrono::FixedOffset>, verb: char) {
        const UNIX_TO_INTERNAL: i64 = 62_135_596_800;
        let wall = u64::from(t.timestamp_subsec_nanos());
        let ext = t.timestamp().wrapping_add(UNIX_TO_INTERNAL);
        self.buf.push(b'{');
        self.print_value(&Value::Uint64(wall), verb);
        self.buf.push(b' ');
        self.print_value(&Value::Int64(ext), verb);
        self.buf.push(b' ');
        // A nil *time.Location: `<nil>` for %v, 0 for the integer verbs, a bad verb otherwise.
        match verb {
            'v' => self.pad(b"<nil>"),
            'b' | 'o' | 'd' | 'x' | 'X' => self.print_value(&Value::Uint64(0), verb),
            _ => {
                self.buf.extend_from_slice(b"%!");
                push_rune(&mut self.buf, verb);
                self.buf.extend_from_slice(b"(*time.Location=");
                self.pad(b"<nil>");
                self.buf.push(b')');
            }
        }
        self.buf.push(b'}');
    }

    fn print_arg(&mut self, v: &Value, verb: char) {
        if v.is_nil() {
            match verb {
                'T' | 'v' => self.pad(b"<nil>"),
                _ => self.bad_verb(verb, v),
            }
            return;
        }
        if verb == 'T' {
            self.fmt_s(v.type_name().as_bytes());
            return;
        }
        if verb == 'w' {
            // Sprintf wraps no errors: `%w` is a bad verb for every operand, reported whole
            // (a list is `%!w([]interface {}=[x y])`, not one marker per element).
            self.bad_verb(verb, v);
            return;
        }
        self.print_value(v, verb);
    }

    /// `items` each printed with `verb`, between `open` and `close`, `sep` between them (a
    /// list's `[a b]`, its `%#v` `T{a, b}`, a struct's `{a b}`).
    fn print_items(&mut self, items: &[Value], open: &[u8], sep: &[u8], close: &[u8], verb: char) {
        self.buf.extend_from_slice(open);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.buf.extend_from_slice(sep);
            }
            self.print_value(item, verb);
        }
        self.buf.extend_from_slice(close);
    }

    fn print_value(&mut self, v: &Value, verb: char) {
        if matches!(v, Value::List(..) | Value::Map(_) | Value::StrMap(_)) {
            if self.depth >= MAX_PRINT_DEPTH {
                self.buf.extend_from_slice(b"...");
                return;
            }
            self.depth += 1;
            self.print_scalar_or_container(v, verb);
            self.depth -= 1;
        } else {
            self.print_scalar_or_container(v, verb);
        }
    }

    fn print_scalar_or_container(&mut self, v: &Value, verb: char) {
        match v {
            Value::Nil => {
                if self.f.sharp_v {
                    self.buf.extend_from_slice(b"interface {}(nil)");
                } else {
                    self.buf.extend_from_slice(b"<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { b"true" } else { b"false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_integer(*i as u64, true, verb, v),
            Value::Uint64(u) => self.fmt_integer(*u, false, verb, v),
            Value::Uint8(u) => self.fmt_integer(*u as u64, false, verb, v),
            Value::Float(x) => self.fmt_float(*x, verb, v),
            Value::Complex(re, im) => match verb {
                'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                    let old_plus = self.f.plus;
                    self.buf.push(b'(');
                    self.fmt_float(*re, verb, v);
                    self.f.plus = true;
                    self.fmt_float(*im, verb, v);
                    self.buf.extend_from_slice(b"i)");
                    self.f.plus = old_plus;
                }
                _ => self.bad_verb(verb, v),
            },
            Value::Str(s) => self.fmt_string(s, verb, v),
            Value::List(items, _) => {
                if self.f.sharp_v {
                    self.buf.extend_from_slice(v.type_name().as_bytes());
                    if v.is_nil_list() {
                        self.buf.extend_from_slice(b"(nil)");
                        return;
                    }
                    self.print_items(items, b"{", b", ", b"}", verb);
                } else {
                    self.print_items(items, b"[", b" ", b"]", verb);
                }
            }
            Value::Map(m) | Value::StrMap(m) => {
                if self.f.sharp_v {
                    self.buf.extend_from_slice(v.type_name().as_bytes());
                    self.buf.push(b'{');
                } else {
                    self.buf.extend_from_slice(b"map[");
                }
                for (i, (k, e)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.extend_from_slice(b", ");
                        } else {
                            self.buf.push(b' ');
                        }
                    }
                    self.print_value(&Value::str(k), verb);
                    self.buf.push(b':');
                    self.print_value(e, verb);
                }
                self.buf.push(if self.f.sharp_v { b'}' } else { b']' });
            }
            Value::Object(o) => match (verb, o.fields()) {
                ('v' | 's' | 'x' | 'X' | 'q', _) if o.stringer() && !self.erroring => {
                    self.fmt_string(&o.display(), verb, v)
                }
                (_, Some(fields)) => {
                    if o.kind() == "ptr" {
                        self.buf.push(b'&');
                    }
                    self.print_items(&fields, b"{", b" ", b"}", verb);
                }
                _ => self.bad_verb(verb, v),
            },
            Value::Time(t) => match verb {
                // Go's GoStringer path: `fmtS`, so precision truncates and width pads.
                'v' if self.f.sharp_v && !self.erroring => {
                    let s = go_string_of_time(t);
                    self.fmt_s(s.as_bytes());
                }
                'v' | 's' | 'x' | 'X' | 'q' if !self.erroring => {
                    let s = super::sprig_time::go_time_string(t);
                    self.fmt_string(s.as_bytes(), verb, v)
                }
                _ => self.time_fields(t, verb),
            },
            Value::Secret(s) => {
                if self.f.sharp_v {
                    self.buf.extend_from_slice(SECRET_TYPE.as_bytes());
                }
                self.buf.push(b'{');
                for (i, name) in SECRET_FIELDS.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.extend_from_slice(b", ");
                        } else {
                            self.buf.push(b' ');
                        }
                    }
                    if self.f.plus_v || self.f.sharp_v {
                        self.buf.extend_from_slice(name.as_bytes());
                        self.buf.push(b':');
                    }
                    let field = Value::secret_field(s, name).unwrap_or(Value::Nil);
                    if *name == "Tags" && self.f.sharp_v {
                        self.buf.extend_from_slice(b"[]string");
                        let Value::List(tags, _) = &field else {
                            continue;
                        };
                        self.buf.push(b'{');
                        for (j, t) in tags.iter().enumerate() {
                            if j > 0 {
                                self.buf.extend_from_slice(b", ");
                            }
                            self.print_value(t, verb);
                        }
                        self.buf.push(b'}');
                        continue;
                    }
                    self.print_value(&field, verb);
                }
                self.buf.push(b'}');
            }
        }
    }

    fn fmt_s(&mut self, s: &[u8]) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn truncate<'s>(&self, s: &'s [u8]) -> &'s [u8] {
        if self.f.prec_present {
            let mut n = self.f.prec;
            let mut i = 0;
            while i < s.len() {
                if n == 0 {
                    return &s[..i];
                }
                n -= 1;
                let (_, w) = super::unicode::decode_rune(&s[i..]);
                i += w.max(1);
            }
        }
        s
    }

    fn fmt_string(&mut self, s: &[u8], verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, b"0123456789abcdefx"),
            'X' => self.fmt_sx(s, b"0123456789ABCDEFX"),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_q(&mut self, s: &[u8]) {
        let s = self.truncate(s).to_vec();
        if self.f.sharp && can_backquote(&s) {
            let mut q = vec![b'`'];
            q.extend_from_slice(&s);
            q.push(b'`');
            self.pad(&q);
            return;
        }
        let q = quote(&s, self.f.plus);
        self.pad(&q);
    }

    fn fmt_sx(&mut self, s: &[u8], digits: &[u8]) {
        let mut length = s.len();
        if self.f.prec_present && self.f.prec < length {
            length = self.f.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.wid_present && self.f.wid > width && !self.f.minus {
            self.write_padding(self.f.wid - width);
        }
        if self.f.sharp {
            self.buf.push(b'0');
            self.buf.push(digits[16]);
        }
        for (i, &c) in s[..length].iter().enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(b' ');
                if self.f.sharp {
                    self.buf.push(b'0');
                    self.buf.push(digits[16]);
                }
            }
            self.buf.push(digits[(c >> 4) as usize]);
            self.buf.push(digits[(c & 15) as usize]);
        }
        if self.f.wid_present && self.f.wid > width && self.f.minus {
            self.write_padding(self.f.wid - width);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    fn pf(f: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(f.as_bytes(), args)).unwrap()
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn verbs_and_flags() {
        assert_eq!(
            pf(
                "%s|%q|%d|%v|%-10s|%05d|%x",
                &[
                    s("str"),
                    s("quo\"te"),
                    Value::Int(42),
                    s("v"),
                    s("left"),
                    Value::Int(42),
                    Value::Int(255)
                ]
            ),
            "str|\"quo\\\"te\"|42|v|left      |00042|ff"
        );
        assert_eq!(pf("%[2]s %[1]s", &[s("a"), s("b")]), "b a");
        assert_eq!(
            pf(
                "%*d|%-*d|",
                &[Value::Int(5), Value::Int(42), Value::Int(4), Value::Int(7)]
            ),
            "   42|7   |"
        );
        assert_eq!(pf("%.*f", &[Value::Int(2), Value::Float(1.23456)]), "1.23");
        assert_eq!(
            pf("%-10s|%.2s|%5.1s", &[s("héllo"), s("日本語"), s("éa")]),
            "héllo     |日本|    é"
        );
        assert_eq!(
            pf("% x|%X|%#x", &[s("hi"), s("hi"), Value::Int(255)]),
            "68 69|6869|0xff"
        );
        assert_eq!(
            pf(
                "%c%c|%q|%U",
                &[
                    Value::Int(111),
                    Value::Int(107),
                    Value::Int(97),
                    Value::Int(0x1F600)
                ]
            ),
            "ok|'a'|U+1F600"
        );
        assert_eq!(
            pf(
                "%+d|% d|%o|%b|%O",
                &[
                    Value::Int(5),
                    Value::Int(5),
                    Value::Int(8),
                    Value::Int(5),
                    Value::Int(8)
                ]
            ),
            "+5| 5|10|101|0o10"
        );
        assert_eq!(
            pf(
                "%6.2f|%-8.3e|%g",
                &[
                    Value::Float(1.23456),
                    Value::Float(1234.5),
                    Value::Float(1e6)
                ]
            ),
            "  1.23|1.234e+03|1e+06"
        );
        assert_eq!(
            pf("%T %T %T", &[s("x"), Value::Int(1), Value::Nil]),
            "string int <nil>"
        );
        assert_eq!(pf("%v", &[Value::Complex(0.0, 2.0)]), "(0+2i)");
        assert_eq!(pf("%05s", &[s("ab")]), "000ab");
        assert_eq!(
            pf(
                "%#g|%#.3g|%#v|%x|%#.0f",
                &[
                    Value::Float(1.0),
                    Value::Float(2.5),
                    Value::Float(2.0),
                    Value::Float(3.0),
                    Value::Float(3.0)
                ]
            ),
            "1.00000|2.50|2|0x1.8p+01|3."
        );
    }

    #[test]
    fn error_markers() {
        assert_eq!(pf("%s %d", &[s("a")]), "a %!d(MISSING)");
        assert_eq!(pf("%d", &[s("x")]), "%!d(string=x)");
        assert_eq!(pf("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(pf("%d", &[Value::Float(5432.0)]), "%!d(float64=5432)");
        assert_eq!(
            pf("x", &[Value::Int(1), s("y")]),
            "x%!(EXTRA int=1, string=y)"
        );
        assert_eq!(pf("%", &[]), "%!(NOVERB)");
        assert_eq!(pf("%!", &[]), "%!!(MISSING)");
        assert_eq!(pf("%[3]d", &[Value::Int(1)]), "%!d(BADINDEX)");
        assert_eq!(pf("100%% %z", &[Value::Int(1)]), "100% %!z(int=1)");
    }

    #[test]
    fn collections() {
        let list = Value::List(
            Rc::new(vec![s("x"), s("y")]),
            super::super::value::ElemType::Any,
        );
        assert_eq!(
            pf(
                "%v|%q|%d|%x",
                &[list.clone(), list.clone(), list.clone(), list.clone()]
            ),
            "[x y]|[\"x\" \"y\"]|[%!d(string=x) %!d(string=y)]|[78 79]"
        );
        assert_eq!(pf("%#v", &[list]), "[]interface {}{\"x\", \"y\"}");
        let mut m = BTreeMap::new();
        m.insert(b"b".to_vec(), Value::Float(2.0));
        m.insert(b"a".to_vec(), Value::Nil);
        assert_eq!(pf("%v", &[Value::map(m)]), "map[a:<nil> b:2]");
    }

    #[test]
    fn print_spacing() {
        let v = [s("a"), Value::Int(1), Value::Int(2), s("b")];
        assert_eq!(sprint(&v, PrintMode::Print), b"a1 2b");
        assert_eq!(sprint(&v, PrintMode::Println), b"a 1 2 b\n");
    }
}
