//! Number formatting for the `fmt` port: Go's `fmtInteger` (bases, precision, zero padding,
//! `%c`, `%q`, `%U`) and `fmtFloat` (signs, padding, Inf/NaN) on top of `strconv`.

use super::fmt::Printer;
use super::strconv::{format_float, quote_rune};
use super::unicode::{is_print, push_rune, RUNE_ERROR};
use super::value::Value;

impl Printer {
    pub(super) fn fmt_integer(&mut self, u: u64, signed: bool, verb: char, v: &Value) {
        if verb == 'v' && self.f.sharp_v && !signed {
            // Go's fmt0x64: `%#v` of an unsigned integer (a byte from `index` on a string) is hex.
            let old = self.f.sharp;
            self.f.sharp = true;
            self.fmt_integer(u, false, 'x', v);
            self.f.sharp = old;
            return;
        }
        let (base, upper) = match verb {
            'v' | 'd' => (10, false),
            'b' => (2, false),
            'o' | 'O' => (8, false),
            'x' => (16, false),
            'X' => (16, true),
            'c' => {
                let r = u32::try_from(u)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or(RUNE_ERROR);
                let mut b = Vec::new();
                push_rune(&mut b, r);
                self.pad(&b);
                return;
            }
            'q' => {
                let q = quote_rune(u, self.f.plus);
                self.pad(&q);
                return;
            }
            'U' => {
                self.fmt_unicode(u);
                return;
            }
            _ => {
                self.bad_verb(verb, v);
                return;
            }
        };
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0usize;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let old = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = old;
                return;
            }
        } else if self.f.zero && !self.f.minus && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            out.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while out.len() < prec {
            out.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => out.extend_from_slice(b"b0"),
                8 if out.last() != Some(&b'0') => out.push(b'0'),
                16 => {
                    out.push(digits[16]);
                    out.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            out.extend_from_slice(b"o0");
        }
        if negative {
            out.push(b'-');
        } else if self.f.plus {
            out.push(b'+');
        } else if self.f.space {
            out.push(b' ');
        }
        out.reverse();
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(&out);
        self.f.zero = old;
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut s = format!("U+{:04X}", u);
        if self.f.prec_present && self.f.prec > 4 {
            // Zero-padded to `prec` hex digits (by hand: Rust's formatter refuses widths over 65535).
            let hex = format!("{u:X}");
            s = String::with_capacity(2 + self.f.prec.max(hex.len()));
            s.push_str("U+");
            s.extend(std::iter::repeat_n(
                '0',
                self.f.prec.saturating_sub(hex.len()),
            ));
            s.push_str(&hex);
        }
        if self.f.sharp {
            if let Some(r) = u32::try_from(u).ok().and_then(char::from_u32) {
                if is_print(r) {
                    s.push_str(&format!(" '{r}'"));
                }
            }
        }
        let old = self.f.zero;
        self.f.zero = false;
        self.pad(s.as_bytes());
        self.f.zero = old;
    }

    pub(super) fn fmt_float(&mut self, x: f64, verb: char, v: &Value) {
        let (verb, mut prec) = match verb {
            'v' => ('g', -1),
            'g' | 'G' | 'x' | 'X' | 'b' => (verb, -1),
            'f' | 'F' | 'e' | 'E' => (verb, 6),
            _ => {
                self.bad_verb(verb, v);
                return;
            }
        };
        if self.f.prec_present {
            prec = self.f.prec as i32;
        }
        let s = format_float(x, verb, prec);
        let mut num: Vec<u8> = if s.starts_with('-') || s.starts_with('+') {
            s.into_bytes()
        } else {
            format!("+{s}").into_bytes()
        };
        if self.f.space && num[0] == b'+' && !self.f.plus {
            num[0] = b' ';
        }
        if num[1] == b'I' || num[1] == b'N' {
            // Infinities and NaN are not zero-padded (handled below).
        } else if self.f.sharp && verb != 'b' {
            num = sharp_float(num, verb, prec);
        }
        if num[1] == b'I' || num[1] == b'N' {
            let old = self.f.zero;
            self.f.zero = false;
            if num[1] == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old;
            return;
        }
        if self.f.plus || num[0] != b'+' {
            if self.f.zero && !self.f.minus && self.f.wid_present && self.f.wid > num.len() {
                self.buf.push(num[0]);
                self.write_padding(self.f.wid - num.len());
                self.buf.extend_from_slice(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }
}

/// The `#` flag on floats: always a decimal point, and `%#g` keeps trailing zeros.
fn sharp_float(mut num: Vec<u8>, verb: char, prec: i32) -> Vec<u8> {
    let mut digits: i32 = match verb {
        'v' | 'g' | 'G' | 'x' => {
            if prec == -1 {
                6
            } else {
                prec
            }
        }
        _ => 0,
    };
    let mut tail = Vec::new();
    let mut has_point = false;
    let mut saw_nonzero = false;
    let mut i = 1;
    while i < num.len() {
        match num[i] {
            b'.' => has_point = true,
            b'p' | b'P' => {
                tail = num.split_off(i);
                break;
            }
            b'e' | b'E' if verb != 'x' && verb != 'X' => {
                tail = num.split_off(i);
                break;
            }
            c => {
                if c != b'0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
        i += 1;
    }
    if !has_point {
        if num.len() == 2 && num[1] == b'0' {
            digits -= 1;
        }
        num.push(b'.');
    }
    while digits > 0 {
        num.push(b'0');
        digits -= 1;
    }
    num.extend_from_slice(&tail);
    num
}
