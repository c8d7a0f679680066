//! Go's `encoding/json` marshalling of template values (Sprig's `toJson`, `toPrettyJson`):
//! HTML-safe string escaping, Go's float format, sorted map keys, struct field names.

use super::strconv::format_float;
use super::unicode::decode_rune;
use super::value::{Value, SECRET_FIELDS};

const MAX_JSON_DEPTH: usize = 100;

fn string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8] = b"0123456789abcdef";
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'<' | b'>' | b'&' | 0..=0x1f => {
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
        if w == 1 {
            out.extend_from_slice(b"\\ufffd");
        } else if r == '\u{2028}' || r == '\u{2029}' {
            out.extend_from_slice(format!("\\u{:04x}", r as u32).as_bytes());
        } else {
            out.extend_from_slice(&s[i..i + w]);
        }
        i += w;
    }
    out.push(b'"');
}

fn float(out: &mut Vec<u8>, f: f64) -> Result<(), String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', -1)
        ));
    }
    let a = f.abs();
    let e = a != 0.0 && !(1e-6..1e21).contains(&a);
    let mut s = format_float(f, if e { 'e' } else { 'f' }, -1);
    if e {
        // Go writes e-09 as e-9.
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn newline(out: &mut Vec<u8>, pretty: bool, level: usize) {
    if pretty {
        out.push(b'\n');
        for _ in 0..level {
            out.extend_from_slice(b"  ");
        }
    }
}

fn encode(out: &mut Vec<u8>, v: &Value, pretty: bool, level: usize) -> Result<(), String> {
    if level > MAX_JSON_DEPTH {
        return Err("json: unsupported value: encountered a cycle".into());
    }
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Uint8(u) => out.extend_from_slice(u.to_string().as_bytes()),
        Value::Int64(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Uint64(u) => out.extend_from_slice(u.to_string().as_bytes()),
        Value::Object(o) => out.extend_from_slice(&o.to_json()),
        Value::Float(f) => float(out, *f)?,
        Value::Complex(..) => return Err("json: unsupported type: complex128".into()),
        Value::Str(s) => string(out, s),
        Value::Time(t) => string(
            out,
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .as_bytes(),
        ),
        list @ Value::List(..) if list.is_nil_list() => out.extend_from_slice(b"null"),
        Value::List(items, _) => {
            out.push(b'[');
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, pretty, level + 1);
                encode(out, e, pretty, level + 1)?;
            }
            if !items.is_empty() {
                newline(out, pretty, level);
            }
            out.push(b']');
        }
        Value::Map(m) | Value::StrMap(m) => {
            let m = m.borrow();
            out.push(b'{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, pretty, level + 1);
                string(out, k);
                out.extend_from_slice(if pretty { b": " } else { b":" });
                encode(out, e, pretty, level + 1)?;
            }
            if !m.is_empty() {
                newline(out, pretty, level);
            }
            out.push(b'}');
        }
        Value::Secret(s) => {
            out.push(b'{');
            for (i, name) in SECRET_FIELDS.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, pretty, level + 1);
                string(out, name.as_bytes());
                out.extend_from_slice(if pretty { b": " } else { b":" });
                encode(
                    out,
                    &Value::secret_field(s, name).unwrap_or(Value::Nil),
                    pretty,
                    level + 1,
                )?;
            }
            newline(out, pretty, level);
            out.push(b'}');
        }
    }
    Ok(())
}

/// `json.Marshal` (or `json.MarshalIndent(v, "", "  ")` when `pretty`).
pub fn to_json(v: &Value, pretty: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    encode(&mut out, v, pretty, 0)?;
    Ok(out)
}

/// `json.Unmarshal` into `interface{}`; invalid JSON gives nil, as Sprig's `fromJson` does.
pub fn from_json(s: &[u8]) -> Value {
    match serde_json::from_slice::<serde_json::Value>(s) {
        Ok(v) => Value::from_json(&v),
        Err(_) => Value::Nil,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshals_like_go() {
        let v = from_json(br#"{"b": [1, 2.5, 1e21, 0.0000001], "a": "<x&y>", "c": null, "d": {}}"#);
        assert_eq!(
            String::from_utf8(to_json(&v, false).unwrap()).unwrap(),
            r#"{"a":"\u003cx\u0026y\u003e","b":[1,2.5,1e+21,1e-7],"c":null,"d":{}}"#
        );
        assert_eq!(
            String::from_utf8(to_json(&v, true).unwrap()).unwrap(),
            "{\n  \"a\": \"\\u003cx\\u0026y\\u003e\",\n  \"b\": [\n    1,\n    2.5,\n    1e+21,\n    1e-7\n  ],\n  \"c\": null,\n  \"d\": {}\n}"
        );
        assert_eq!(
            to_json(&Value::str("a\u{2028}\x01\n"), false).unwrap(),
            b"\"a\\u2028\\u0001\\n\""
        );
        assert!(from_json(b"{nope").is_nil());
    }
}
