//! HTTP plumbing shared by the methods: the two clients and one "send, check, read" helper that
//! turns every failure into a [`MethodError`] without answer bodies or URLs' query strings.

use std::time::Duration;

use super::MethodError;

/// Default overall timeout of one metadata or token request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Metadata services either answer at once or are absent (connecting to a link-local address off
/// the cloud hangs), so their connect timeout is short.
const METADATA_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Answers larger than this are not metadata: refuse them rather than buffer them.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// The clients the methods use.
#[derive(Debug, Clone)]
pub struct HttpClients {
    /// For instance metadata and container credential endpoints: never through a proxy (those
    /// addresses are only reachable from the host itself) and never redirected (they do not
    /// redirect; a redirect would carry their headers elsewhere).
    pub metadata: reqwest::Client,
    /// For Internet APIs (Google OAuth and IAM, AWS STS): honours the usual proxy variables.
    pub internet: reqwest::Client,
}

impl HttpClients {
    pub fn new(timeout: Duration) -> Result<Self, MethodError> {
        let failed = |e: reqwest::Error| MethodError::HttpClient {
            reason: e.to_string(),
        };
        let metadata = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(METADATA_CONNECT_TIMEOUT.min(timeout))
            .build()
            .map_err(failed)?;
        let internet = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(failed)?;
        Ok(Self { metadata, internet })
    }
}

/// `url` without its query string (which may carry parameters nobody needs in a log).
pub(crate) fn url_for_message(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// Sends `request` (built for `url`) and returns the body of a 2xx answer.
pub(crate) async fn send_for_text(
    service: &'static str,
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<String, MethodError> {
    let response = request.send().await.map_err(|e| MethodError::Unreachable {
        service,
        url: url_for_message(url),
        reason: describe(&e),
    })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| MethodError::BadAnswer {
        service,
        url: url_for_message(url),
        reason: format!("reading the answer failed: {}", describe(&e)),
    })?;
    if !status.is_success() {
        return Err(MethodError::Status {
            service,
            url: url_for_message(url),
            status: status.as_u16(),
            code: error_code(&body),
        });
    }
    if body.len() > MAX_ANSWER_BYTES {
        return Err(bad_answer(service, url, "the answer is too large"));
    }
    String::from_utf8(body.to_vec())
        .map_err(|_| bad_answer(service, url, "the answer is not UTF-8"))
}

/// Sends `request` and parses the 2xx answer as JSON.
pub(crate) async fn send_for_json(
    service: &'static str,
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<serde_json::Value, MethodError> {
    let text = send_for_text(service, url, request).await?;
    serde_json::from_str(&text).map_err(|_| bad_answer(service, url, "the answer is not JSON"))
}

pub(crate) fn bad_answer(service: &'static str, url: &str, reason: &str) -> MethodError {
    MethodError::BadAnswer {
        service,
        url: url_for_message(url),
        reason: reason.to_string(),
    }
}

/// A non-empty string field of a JSON answer, or an error naming the missing field.
pub(crate) fn json_string(
    value: &serde_json::Value,
    field: &str,
    service: &'static str,
    url: &str,
) -> Result<String, MethodError> {
    value
        .get(field)
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| bad_answer(service, url, &format!("no `{field}` in the answer")))
}

/// The reason a request failed, from the error's causes (which carry no URL).
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_string();
    }
    let mut deepest = None;
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        deepest = Some(cause.to_string());
        source = cause.source();
    }
    match (err.is_connect(), deepest) {
        (true, Some(cause)) => format!("connection failed: {cause}"),
        (true, None) => "connection failed".to_string(),
        (false, Some(cause)) => cause,
        (false, None) => "request failed".to_string(),
    }
}

/// The machine-readable error code of a failed answer, if it has one: Google's and Azure's JSON
/// `error` / `error.status`, or AWS's XML `<Code>`. Only short identifier-like values are kept,
/// so no free text (which could echo input) reaches a message.
fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let candidate = if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        match json.get("error") {
            Some(serde_json::Value::String(code)) => Some(code.clone()),
            Some(obj @ serde_json::Value::Object(_)) => obj
                .get("status")
                .or_else(|| obj.get("code"))
                .map(|c| c.to_string().trim_matches('"').to_string()),
            _ => None,
        }
    } else {
        xml_element(text, "Code")
    };
    candidate.filter(|c| {
        !c.is_empty()
            && c.len() <= 64
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
    })
}

/// The text of the first `<name>…</name>` element. AWS query-protocol answers are flat enough
/// that this is all the XML reading the methods need.
pub(crate) fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(unescape_xml(xml[start..end].trim()))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_taken_only_when_identifier_like() {
        assert_eq!(
            error_code(br#"{"error":"invalid_grant","error_description":"Invalid JWT"}"#)
                .as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(
            error_code(br#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"x"}}"#)
                .as_deref(),
            Some("PERMISSION_DENIED")
        );
        assert_eq!(
            error_code(b"<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>m</Message></Error></ErrorResponse>")
                .as_deref(),
            Some("InvalidIdentityToken")
        );
        assert_eq!(
            error_code(br#"{"error":"token abc.def leaked here"}"#),
            None
        );
        assert_eq!(error_code(b"plain text"), None);
    }

    #[test]
    fn xml_elements_are_unescaped_and_urls_lose_their_query() {
        assert_eq!(
            xml_element("<a><Token>x&amp;y&lt;z</Token></a>", "Token").as_deref(),
            Some("x&y<z")
        );
        assert_eq!(xml_element("<a></a>", "Token"), None);
        assert_eq!(url_for_message("http://h/p?audience=x"), "http://h/p");
    }
}
