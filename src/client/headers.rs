//! Extra request headers from `KMS_CUSTOM_HEADERS` (or `INFISICAL_CUSTOM_HEADERS`), e.g. for a
//! KMS behind Cloudflare Access.
//!
//! Format (the Infisical CLI's): whitespace-separated `Name=Value` pairs; a value may be quoted
//! with `"` or `'` to hold spaces:
//!
//! ```text
//! KMS_CUSTOM_HEADERS='CF-Access-Client-Id=abc.access CF-Access-Client-Secret="x y z"'
//! ```
//!
//! Unlike the Infisical CLI, headers the client sets itself (`Authorization`, `User-Agent`,
//! `Accept`, `Content-Type`, `Content-Length`, `Host`) are refused rather than silently dropped.
//! Header values are treated as secrets: no error message contains one.

use reqwest::header::{HeaderName, HeaderValue};

use crate::sensitive::Sensitive;

/// The environment variables read, in order of precedence.
pub const CUSTOM_HEADERS_ENV: [&str; 2] = ["KMS_CUSTOM_HEADERS", "INFISICAL_CUSTOM_HEADERS"];

const RESERVED: [&str; 6] = [
    "authorization",
    "user-agent",
    "accept",
    "content-type",
    "content-length",
    "host",
];

/// One extra header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomHeader {
    pub name: String,
    pub value: Sensitive<String>,
}

/// Why the custom headers were refused. Names the header or position, never a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderFormatError {
    #[error("custom headers: expected `Name=Value` at character {0}")]
    MissingEquals(usize),
    #[error("custom headers: `{0}` is not a valid header name")]
    InvalidName(String),
    #[error("custom headers: the value of `{0}` is not a valid header value")]
    InvalidValue(String),
    #[error("custom headers: `{0}` is set by the client itself and cannot be overridden")]
    Reserved(String),
    #[error("custom headers: unterminated quote in the value of `{0}`")]
    UnterminatedQuote(String),
}

/// Parses the `Name=Value ...` format.
pub fn parse_custom_headers(input: &str) -> Result<Vec<CustomHeader>, HeaderFormatError> {
    let chars: Vec<char> = input.chars().collect();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < chars.len() && chars[pos].is_whitespace() {
            pos += 1;
        }
        if pos >= chars.len() {
            return Ok(out);
        }
        let start = pos;
        while pos < chars.len() && chars[pos] != '=' && !chars[pos].is_whitespace() {
            pos += 1;
        }
        if pos >= chars.len() || chars[pos] != '=' {
            return Err(HeaderFormatError::MissingEquals(start));
        }
        let name: String = chars[start..pos].iter().collect();
        pos += 1;
        let value: String = match chars.get(pos) {
            Some(&q) if q == '"' || q == '\'' => {
                pos += 1;
                let vstart = pos;
                while pos < chars.len() && chars[pos] != q {
                    pos += 1;
                }
                if pos >= chars.len() {
                    return Err(HeaderFormatError::UnterminatedQuote(name));
                }
                let v = chars[vstart..pos].iter().collect();
                pos += 1;
                v
            }
            _ => {
                let vstart = pos;
                while pos < chars.len() && !chars[pos].is_whitespace() {
                    pos += 1;
                }
                chars[vstart..pos].iter().collect()
            }
        };
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(HeaderFormatError::InvalidName(name));
        }
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(HeaderFormatError::Reserved(name));
        }
        if HeaderValue::from_str(&value).is_err() {
            return Err(HeaderFormatError::InvalidValue(name));
        }
        out.push(CustomHeader {
            name,
            value: Sensitive::new(value),
        });
    }
}

/// Reads the custom headers from the environment (`KMS_CUSTOM_HEADERS` wins over
/// `INFISICAL_CUSTOM_HEADERS`); none when neither is set or both are empty.
pub fn custom_headers_from_env() -> Result<Vec<CustomHeader>, HeaderFormatError> {
    custom_headers_from(|name| std::env::var(name).ok())
}

/// [`custom_headers_from_env`] with an injectable lookup.
pub fn custom_headers_from(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<CustomHeader>, HeaderFormatError> {
    for name in CUSTOM_HEADERS_ENV {
        if let Some(value) = lookup(name).filter(|v| !v.trim().is_empty()) {
            return parse_custom_headers(&value);
        }
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        parse_custom_headers(input)
            .unwrap()
            .into_iter()
            .map(|h| (h.name, h.value.into_inner()))
            .collect()
    }

    #[test]
    fn plain_and_quoted_values() {
        assert_eq!(
            pairs(r#"  CF-Access-Client-Id=abc  X-Two="a b=c" X-Three='d' X-Empty= "#),
            vec![
                ("CF-Access-Client-Id".into(), "abc".into()),
                ("X-Two".into(), "a b=c".into()),
                ("X-Three".into(), "d".into()),
                ("X-Empty".into(), "".into()),
            ]
        );
        assert!(pairs("   ").is_empty());
    }

    #[test]
    fn errors_never_show_values() {
        let e = parse_custom_headers("X-Secret=\"hunter2").unwrap_err();
        assert_eq!(e, HeaderFormatError::UnterminatedQuote("X-Secret".into()));
        assert_eq!(
            parse_custom_headers("novalue"),
            Err(HeaderFormatError::MissingEquals(0))
        );
        assert_eq!(
            parse_custom_headers("Authorization=Bearer-x"),
            Err(HeaderFormatError::Reserved("Authorization".into()))
        );
        assert_eq!(
            parse_custom_headers("Bad(Name)=x"),
            Err(HeaderFormatError::InvalidName("Bad(Name)".into()))
        );
        let e = parse_custom_headers("X-Ctl=\"a\u{7}b\"").unwrap_err();
        assert_eq!(e, HeaderFormatError::InvalidValue("X-Ctl".into()));
        assert!(!e.to_string().contains("a\u{7}b"));
    }

    #[test]
    fn kms_variable_wins_over_infisical() {
        let got = custom_headers_from(|n| match n {
            "KMS_CUSTOM_HEADERS" => Some("A=1".into()),
            "INFISICAL_CUSTOM_HEADERS" => Some("B=2".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(got[0].name, "A");
        let got = custom_headers_from(|n| (n == "INFISICAL_CUSTOM_HEADERS").then(|| "B=2".into()))
            .unwrap();
        assert_eq!(got[0].name, "B");
        assert!(custom_headers_from(|_| None).unwrap().is_empty());
    }
}
