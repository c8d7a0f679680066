//! Sprig's encodings, file paths and URLs (b32enc, adler32sum, base, dir, urlParse, ...), with Sprig's semantics.
//!
//! Paths follow Go's `path` package (and `path/filepath` on Linux, which is the same lexical
//! algorithm with `/`); URLs follow Go's `net/url` parsing and escaping, which is not the WHATWG
//! URL standard (no normalisation, no IDNA, `%` escapes kept or decoded as Go does). Strings are
//! bytes throughout, as in Go. `getHostByName` deliberately does no DNS lookup: rendering never
//! does I/O.

use std::collections::BTreeMap;

use super::builtins::{Param, Sig};
use super::sprig::{bytes, capped};
use super::strconv::quote;
use super::value::Value;

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "b32enc",
    "b32dec",
    "adler32sum",
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "urlParse",
    "urlJoin",
    "getHostByName",
];

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "urlJoin" => s(&[Param::Map], None),
        n if NAMES.contains(&n) => s(&[Param::Str], None),
        _ => None,
    }
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let arg = || a.first().map(bytes).unwrap_or_default();
    let s = |b: Vec<u8>| Ok(Value::str(b));
    match name {
        "b32enc" => {
            capped(arg().len().div_ceil(5).saturating_mul(8))?;
            s(b32_encode(arg()))
        }
        "b32dec" => match b32_decode(arg()) {
            Ok(b) => s(b),
            Err(at) => s(format!("illegal base32 data at input byte {at}").into_bytes()),
        },
        "adler32sum" => s(adler32(arg()).to_string().into_bytes()),
        "base" | "osBase" => s(base(arg())),
        "dir" | "osDir" => s(dir(arg())),
        "clean" | "osClean" => s(clean(arg())),
        "ext" | "osExt" => s(ext(arg()).to_vec()),
        "isAbs" | "osIsAbs" => Ok(Value::Bool(arg().starts_with(b"/"))),
        "urlParse" => url_parse(arg()),
        "urlJoin" => match a.first() {
            Some(Value::Map(m)) => s(url_join(&m.borrow())?),
            _ => s(Vec::new()),
        },
        "getHostByName" => {
            Err("getHostByName is not available: templates do no network I/O".to_string())
        }
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

// ---- base32 (RFC 4648, standard alphabet, with padding), as Go's encoding/base32 ----

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32_encode(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len().div_ceil(5) * 8);
    for chunk in src.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, &b| acc << 8 | b as u64);
        // Output characters carrying at least one input bit: 2, 4, 5, 7 or 8.
        let used = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < used {
                out.push(B32[(bits >> (35 - 5 * i) & 31) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

fn b32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// Go's `base32.StdEncoding.DecodeString`: newlines are dropped first, and an error is the offset
/// (in the input without newlines) that Go's `CorruptInputError` reports.
fn b32_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    let olen = src.len();
    let mut out = Vec::with_capacity(olen / 8 * 5 + 5);
    let mut pos = 0;
    let mut end = false;
    while pos < olen && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            if pos == olen {
                // Missing padding at the end.
                return Err(olen - (olen - pos) - j);
            }
            let c = src[pos];
            pos += 1;
            let left = olen - pos;
            if c == b'=' && j >= 2 && left < 8 {
                if left + j < 8 - 1 {
                    return Err(olen);
                }
                for k in 0..8 - 1 - j {
                    if left > k && src[pos + k] != b'=' {
                        return Err(olen - left + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if dlen == 1 || dlen == 3 || dlen == 6 {
                    return Err(olen - left - 1);
                }
                break;
            }
            match b32_value(c) {
                Some(v) => dbuf[j] = v,
                None => return Err(olen - left - 1),
            }
            j += 1;
        }
        let d = dbuf;
        let bytes = [
            d[0] << 3 | d[1] >> 2,
            d[1] << 6 | d[2] << 1 | d[3] >> 4,
            d[3] << 4 | d[4] >> 1,
            d[4] << 7 | d[5] << 2 | d[6] >> 3,
            d[6] << 5 | d[7],
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    Ok(out)
}

/// Go's `base64.StdEncoding.DecodeString` (its `decodeQuantum`): newlines are skipped where they
/// stand, padding is required, bits after the last byte need not be zero, and an error is the
/// offset (in the input as given) that Go's `CorruptInputError` reports.
pub(super) fn b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let newline = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut si = 0;
    loop {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                // A partial quantum without its padding.
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if newline(c) {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                // "==" is expected: the first '=' is consumed.
                while si < src.len() && newline(src[si]) {
                    si += 1;
                }
                if si == src.len() {
                    return Err(src.len());
                }
                if src[si] != b'=' {
                    return Err(si - 1);
                }
                si += 1;
            }
            while si < src.len() && newline(src[si]) {
                si += 1;
            }
            if si < src.len() {
                // Data after the padding.
                return Err(si);
            }
            dlen = j;
            break;
        }
        let v = u32::from(dbuf[0]) << 18
            | u32::from(dbuf[1]) << 12
            | u32::from(dbuf[2]) << 6
            | u32::from(dbuf[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if dlen < 4 {
            return Ok(out);
        }
    }
}

// ---- adler32 (hash/adler32) ----

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before the 32-bit sums could overflow.
    for chunk in data.chunks(5552) {
        for &c in chunk {
            a += c as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

// ---- Go's path package (path/filepath on Linux is the same) ----

/// `path.Clean`: the shortest lexically equivalent path.
fn clean(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let rooted = path[0] == b'/';
    let n = path.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        // An empty element (`//`) or a `.` element is dropped.
        if path[r] == b'/' || (path[r] == b'.' && (r + 1 == n || path[r + 1] == b'/')) {
            r += 1;
        } else if path[r] == b'.'
            && r + 1 < n
            && path[r + 1] == b'.'
            && (r + 2 == n || path[r + 2] == b'/')
        {
            r += 2;
            if out.len() > dotdot {
                // Back up to the previous slash.
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && path[r] != b'/' {
                out.push(path[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

/// `path.Base`: the last element, trailing slashes dropped.
fn base(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let mut p = path;
    while let Some(rest) = p.strip_suffix(b"/") {
        p = rest;
    }
    if let Some(i) = p.iter().rposition(|&c| c == b'/') {
        p = &p[i + 1..];
    }
    if p.is_empty() {
        return b"/".to_vec();
    }
    p.to_vec()
}

/// `path.Dir`: all but the last element, cleaned.
fn dir(path: &[u8]) -> Vec<u8> {
    let cut = path.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    clean(&path[..cut])
}

/// `path.Ext`: the suffix from the last dot of the last element.
fn ext(path: &[u8]) -> &[u8] {
    for i in (0..path.len()).rev() {
        match path[i] {
            b'/' => break,
            b'.' => return &path[i..],
            _ => {}
        }
    }
    b""
}

// ---- Go's net/url, as much as urlParse and urlJoin use ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Go's `url.unescape` (never in query-component mode here, so `+` stays `+`).
fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, String> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'%' => {
                if i + 2 >= s.len()
                    || !s[i + 1].is_ascii_hexdigit()
                    || !s[i + 2].is_ascii_hexdigit()
                {
                    let bad = &s[i..s.len().min(i + 3)];
                    return Err(escape_error(bad));
                }
                let esc = &s[i..i + 3];
                if mode == Mode::Host && unhex(s[i + 1]) < 8 && esc != b"%25" {
                    return Err(escape_error(esc));
                }
                if mode == Mode::Zone {
                    let v = unhex(s[i + 1]) << 4 | unhex(s[i + 2]);
                    if esc != b"%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(escape_error(esc));
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    let q = String::from_utf8_lossy(&quote(&[c], false)).into_owned();
                    return Err(format!("invalid character {q} in host name"));
                }
                i += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            out.push(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn escape_error(s: &[u8]) -> String {
    let q = String::from_utf8_lossy(&quote(s, false)).into_owned();
    format!("invalid URL escape {q}")
}

fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            out.extend_from_slice(&[b'%', HEX[(c >> 4) as usize], HEX[(c & 15) as usize]]);
        } else {
            out.push(c);
        }
    }
    out
}

fn valid_encoded(s: &[u8], mode: Mode) -> bool {
    s.iter().all(|&c| {
        matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(c, mode)
    })
}

fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

fn valid_userinfo(s: &[u8]) -> bool {
    s.iter().all(|&c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b':'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'%'
                    | b'@'
            )
    })
}

#[derive(Default)]
struct User {
    name: Vec<u8>,
    password: Option<Vec<u8>>,
}

impl User {
    fn string(&self) -> Vec<u8> {
        let mut s = escape(&self.name, Mode::UserPassword);
        if let Some(p) = &self.password {
            s.push(b':');
            s.extend(escape(p, Mode::UserPassword));
        }
        s
    }
}

#[derive(Default)]
struct Url {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: Option<User>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_path: Vec<u8>,
    omit_host: bool,
    force_query: bool,
    raw_query: Vec<u8>,
    fragment: Vec<u8>,
    raw_fragment: Vec<u8>,
}

fn cut(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&c| c == sep) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// Go's `url.Parse`; the error text is what `*url.Error` prints.
fn parse_url(raw: &[u8]) -> Result<Url, String> {
    let (u, frag) = cut(raw, b'#');
    let wrap = |at: &[u8], e: String| {
        let q = String::from_utf8_lossy(&quote(at, false)).into_owned();
        format!("parse {q}: {e}")
    };
    let mut url = parse_no_fragment(u).map_err(|e| wrap(u, e))?;
    if let Some(f) = frag.filter(|f| !f.is_empty()) {
        let fragment = unescape(f, Mode::Fragment).map_err(|e| wrap(raw, e))?;
        url.raw_fragment = if escape(&fragment, Mode::Fragment) == f {
            Vec::new()
        } else {
            f.to_vec()
        };
        url.fragment = fragment;
    }
    Ok(url)
}

fn parse_no_fragment(raw: &[u8]) -> Result<Url, String> {
    if raw.iter().any(|&c| c < b' ' || c == 0x7f) {
        return Err("net/url: invalid control character in URL".into());
    }
    let mut url = Url::default();
    if raw == b"*" {
        url.path = b"*".to_vec();
        return Ok(url);
    }
    // The scheme: letters, then letters, digits, `+`, `-` or `.`, up to a colon.
    let mut rest = raw;
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme".into()),
            b':' => {
                url.scheme = raw[..i].to_ascii_lowercase();
                rest = &raw[i + 1..];
                break;
            }
            _ => break,
        }
    }
    if rest.ends_with(b"?") && rest.iter().filter(|&&c| c == b'?').count() == 1 {
        url.force_query = true;
        rest = &rest[..rest.len() - 1];
    } else {
        let (r, q) = cut(rest, b'?');
        rest = r;
        url.raw_query = q.unwrap_or_default().to_vec();
    }
    if !rest.starts_with(b"/") {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_vec();
            return Ok(url);
        }
        if cut(rest, b'/').0.contains(&b':') {
            return Err("first path segment in URL cannot contain colon".into());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
        let mut authority = &rest[2..];
        rest = b"";
        if let Some(i) = authority.iter().position(|&c| c == b'/') {
            rest = &authority[i..];
            authority = &authority[..i];
        }
        let (user, host) = parse_authority(authority)?;
        url.user = user;
        url.host = host;
    } else if !url.scheme.is_empty() && rest.starts_with(b"/") {
        url.omit_host = true;
    }
    let path = unescape(rest, Mode::Path)?;
    url.raw_path = if escape(&path, Mode::Path) == rest {
        Vec::new()
    } else {
        rest.to_vec()
    };
    url.path = path;
    Ok(url)
}

fn parse_authority(authority: &[u8]) -> Result<(Option<User>, Vec<u8>), String> {
    let at = authority.iter().rposition(|&c| c == b'@');
    let host = parse_host(match at {
        Some(i) => &authority[i + 1..],
        None => authority,
    })?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = &authority[..i];
    if !valid_userinfo(userinfo) {
        return Err("net/url: invalid userinfo".into());
    }
    let user = match cut(userinfo, b':') {
        (name, None) => User {
            name: unescape(name, Mode::UserPassword)?,
            password: None,
        },
        (name, Some(password)) => User {
            name: unescape(name, Mode::UserPassword)?,
            password: Some(unescape(password, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

fn invalid_port(port: &[u8]) -> String {
    let q = String::from_utf8_lossy(&quote(port, false)).into_owned();
    format!("invalid port {q} after host")
}

fn parse_host(host: &[u8]) -> Result<Vec<u8>, String> {
    if host.starts_with(b"[") {
        let Some(i) = host.iter().rposition(|&c| c == b']') else {
            return Err("missing ']' in host".into());
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(invalid_port(colon_port));
        }
        if let Some(zone) = host[..i].windows(3).position(|w| w == b"%25") {
            let mut out = unescape(&host[..zone], Mode::Host)?;
            out.extend(unescape(&host[zone..i], Mode::Zone)?);
            out.extend(unescape(&host[i..], Mode::Host)?);
            return Ok(out);
        }
    } else if let Some(i) = host.iter().rposition(|&c| c == b':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(invalid_port(colon_port));
        }
    }
    unescape(host, Mode::Host)
}

impl Url {
    fn escaped_path(&self) -> Vec<u8> {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).is_ok_and(|p| p == self.path)
        {
            return self.raw_path.clone();
        }
        if self.path == b"*" {
            return b"*".to_vec();
        }
        escape(&self.path, Mode::Path)
    }

    fn escaped_fragment(&self) -> Vec<u8> {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).is_ok_and(|f| f == self.fragment)
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// Go's `URL.String`.
    fn string(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        if !self.scheme.is_empty() {
            buf.extend_from_slice(&self.scheme);
            buf.push(b':');
        }
        if !self.opaque.is_empty() {
            buf.extend_from_slice(&self.opaque);
        } else {
            let no_authority = self.host.is_empty() && self.user.is_none();
            if !(no_authority && (self.scheme.is_empty() || self.omit_host)) {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    buf.extend_from_slice(b"//");
                }
                if let Some(u) = &self.user {
                    buf.extend(u.string());
                    buf.push(b'@');
                }
                buf.extend(escape(&self.host, Mode::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && path[0] != b'/' && !self.host.is_empty() {
                buf.push(b'/');
            }
            if buf.is_empty() && cut(&path, b'/').0.contains(&b':') {
                buf.extend_from_slice(b"./");
            }
            buf.extend(path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            buf.push(b'?');
            buf.extend_from_slice(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            buf.push(b'#');
            buf.extend(self.escaped_fragment());
        }
        buf
    }

    /// Go's `URL.Hostname`: the host without its port or IPv6 brackets.
    fn hostname(&self) -> Vec<u8> {
        let mut host: &[u8] = &self.host;
        if let Some(colon) = host.iter().rposition(|&c| c == b':') {
            if valid_optional_port(&host[colon..]) {
                host = &host[..colon];
            }
        }
        if host.len() >= 2 && host.starts_with(b"[") && host.ends_with(b"]") {
            host = &host[1..host.len() - 1];
        }
        host.to_vec()
    }
}

/// Sprig's `urlParse`: the parts of the URL as a `map[string]interface{}` of strings.
fn url_parse(raw: &[u8]) -> Result<Value, String> {
    let u = parse_url(raw).map_err(|e| format!("unable to parse url: {e}"))?;
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Vec<u8>| {
        m.insert(k.as_bytes().to_vec(), Value::str(v));
    };
    put("scheme", u.scheme.clone());
    put("host", u.host.clone());
    put("hostname", u.hostname());
    put("path", u.path.clone());
    put("query", u.raw_query.clone());
    put("opaque", u.opaque.clone());
    put("fragment", u.fragment.clone());
    put(
        "userinfo",
        u.user.as_ref().map(User::string).unwrap_or_default(),
    );
    Ok(Value::map(m))
}

/// Sprig's `urlJoin`: a URL string from such a map (missing keys are empty; a value that is not a
/// string is an error, as Sprig panics on it).
fn url_join(d: &BTreeMap<Vec<u8>, Value>) -> Result<Vec<u8>, String> {
    let get = |key: &str| -> Result<Vec<u8>, String> {
        match d.get(key.as_bytes()) {
            None => Ok(Vec::new()),
            Some(Value::Str(s)) => Ok(s.to_vec()),
            Some(other) => Err(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                super::sprig::kind_name(other)
            )),
        }
    };
    let mut url = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        ..Url::default()
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let raw = [b"proto://".as_slice(), &userinfo, b"@host"].concat();
        let parsed =
            parse_url(&raw).map_err(|e| format!("unable to parse userinfo in dict: {e}"))?;
        url.user = parsed.user;
    }
    Ok(url.string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_every_length() {
        for n in 0..40usize {
            let data: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            let enc = b32_encode(&data);
            assert_eq!(enc.len() % 8, 0);
            assert_eq!(b32_decode(&enc), Ok(data));
        }
        assert_eq!(b32_encode(b"foobar"), b"MZXW6YTBOI======");
        assert_eq!(b32_decode(b"MZXW6YTBOI=====").unwrap_err(), 15);
        assert_eq!(b32_decode(b"MZXW6\nYTBOI======"), Ok(b"foobar".to_vec()));
    }

    #[test]
    fn adler32_matches_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        // Long inputs do not overflow the running sums.
        assert_eq!(adler32(&vec![0xffu8; 100_000]), {
            let (mut a, mut b) = (1u64, 0u64);
            for _ in 0..100_000 {
                a = (a + 255) % 65521;
                b = (b + a) % 65521;
            }
            (b << 16 | a) as u32
        });
    }

    #[test]
    fn paths_follow_go() {
        for (p, c) in [
            ("", "."),
            ("a/../..", ".."),
            ("/../a//b/./c/", "/a/b/c"),
            ("../../x/..", "../.."),
            ("./", "."),
        ] {
            assert_eq!(clean(p.as_bytes()), c.as_bytes(), "{p}");
        }
        assert_eq!(dir(b"a"), b".");
        assert_eq!(dir(b"/"), b"/");
        assert_eq!(base(b"///"), b"/");
        assert_eq!(ext(b"a.b/c"), b"");
    }
}
