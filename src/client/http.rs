//! [`KmsClient`] and its transport: one shared `reqwest::Client` (connection reuse, rustls, a
//! timeout on every attempt, optional extra CA bundle and headers), retries, bounded bodies. Each
//! endpoint sits beside its types: logins and tokens in `auth.rs`, secret reads in `secrets.rs`,
//! leases in `leases.rs`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::body::{Body, DECODE_ON_WORKER_MAX};
use super::config::{ClientBuildError, ClientConfig, USER_AGENT};
use super::error::{classify_error, parse_retry_after, ApiError, RequestContext};
use super::observer::{route_pattern, RequestObserver};
use super::retry::{Idempotency, RetryPolicy};
use super::secrets::ApiVersion;
use super::tls::{describe_tls_failure, load_ca_bundle};
use crate::backoff::{RandomSource, Sleeper, ThreadRandom, TokioSleeper};
use crate::config::defaults::MAX_RESPONSE_BODY;
use crate::sensitive::Sensitive;

pub(super) const DETECTED_UNKNOWN: u8 = 0;
pub(super) const DETECTED_V3: u8 = 3;
pub(super) const DETECTED_V4: u8 = 4;

/// The KMS API client. Cheap to clone; clones share connections and the detected API version.
#[derive(Clone)]
pub struct KmsClient {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
    retry: RetryPolicy,
    api_version: ApiVersion,
    pub(super) detected: Arc<AtomicU8>,
    sleeper: Arc<dyn Sleeper>,
    random: Arc<dyn RandomSource>,
    observer: Option<Arc<dyn RequestObserver>>,
}

impl std::fmt::Debug for KmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsClient")
            .field("base", &self.base.as_str())
            .field("api_version", &self.resolved_api_version())
            .finish_non_exhaustive()
    }
}

/// One request, as the retry loop repeats it.
pub(super) struct Call<'a> {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) token: Option<&'a Sensitive<String>>,
    pub(super) body: Option<serde_json::Value>,
    pub(super) idempotency: Idempotency,
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        _ => "OTHER",
    }
}

/// `<address>/api`, whether or not the address already ends in `/api`.
fn api_base(address: &str) -> Result<Url, ClientBuildError> {
    let invalid = || ClientBuildError::InvalidAddress(address.to_string());
    let mut url = Url::parse(address.trim()).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid());
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_string();
    if path.ends_with("/api") {
        url.set_path(&path);
    } else {
        url.set_path(&format!("{path}/api"));
    }
    Ok(url)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

impl KmsClient {
    /// Builds the client with the real clock and random source.
    pub fn new(config: &ClientConfig) -> Result<Self, ClientBuildError> {
        Self::with_runtime(config, Arc::new(TokioSleeper), Arc::new(ThreadRandom))
    }

    /// Builds the client with an injected sleeper and random source (tests).
    pub fn with_runtime(
        config: &ClientConfig,
        sleeper: Arc<dyn Sleeper>,
        random: Arc<dyn RandomSource>,
    ) -> Result<Self, ClientBuildError> {
        let base = api_base(&config.address)?;
        let mut headers = HeaderMap::new();
        for h in &config.custom_headers {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| ClientBuildError::InvalidHeader(h.name.clone()))?;
            let mut value = HeaderValue::from_str(h.value.expose())
                .map_err(|_| ClientBuildError::InvalidHeader(h.name.clone()))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // An API never redirects; a proxy's login page is an error, not the answer.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &config.ca_cert_path {
            for cert in load_ca_bundle(path)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientBuildError::Http(error_chain(&e)))?;
        Ok(Self {
            http,
            base,
            timeout: config.timeout,
            retry: config.retry,
            api_version: config.api_version,
            detected: Arc::new(AtomicU8::new(DETECTED_UNKNOWN)),
            sleeper,
            random,
            observer: None,
        })
    }

    /// Reports every request and retry to `observer` (metrics).
    pub fn with_observer(mut self, observer: Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// `<address>/api` as used for every request.
    pub fn api_base(&self) -> &Url {
        &self.base
    }

    /// The secret-route version in use: the configured one, or for `Auto` the one detected so
    /// far (`Auto` until the first secret read settles it).
    pub fn resolved_api_version(&self) -> ApiVersion {
        match (self.api_version, self.detected.load(Ordering::Relaxed)) {
            (ApiVersion::Auto, DETECTED_V3) => ApiVersion::V3,
            (ApiVersion::Auto, DETECTED_V4) => ApiVersion::V4,
            (configured, _) => configured,
        }
    }

    pub(super) fn url(&self, segments: &[&str], query: &[(&'static str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    // ---- transport ----------------------------------------------------------------------

    pub(super) async fn call<T: DeserializeOwned + Send + 'static>(
        &self,
        call: Call<'_>,
    ) -> Result<T, ApiError> {
        let mut attempt = 0;
        loop {
            let route = self
                .observer
                .as_ref()
                .map(|_| route_pattern(call.url.path()));
            let result = self.attempt(&call).await;
            if let (Some(observer), Some(route)) = (&self.observer, &route) {
                let status = match &result {
                    Ok(_) => 200,
                    Err(e) => e.status().unwrap_or(0),
                };
                observer.request(&format!("{} {route}", method_name(&call.method)), status);
            }
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let unit = self.random.next_unit();
            match self
                .retry
                .next_delay(attempt, &error, call.idempotency, unit)
            {
                Some(delay) => {
                    if let (Some(observer), Some(route)) = (&self.observer, &route) {
                        observer.retry(
                            &format!("{} {route}", method_name(&call.method)),
                            error.status().unwrap_or(0),
                        );
                    }
                    tracing::debug!(%error, ?delay, attempt = attempt + 1, "retrying KMS request");
                    self.sleeper.sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(error),
            }
        }
    }

    async fn attempt<T: DeserializeOwned + Send + 'static>(
        &self,
        call: &Call<'_>,
    ) -> Result<T, ApiError> {
        let ctx = RequestContext::new(method_name(&call.method), call.url.path());
        let mut request = self.http.request(call.method.clone(), call.url.clone());
        if let Some(token) = call.token {
            let mut value =
                HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                    let mut ctx = ctx.clone();
                    ctx.message =
                        "the access token holds characters not allowed in a header".into();
                    ApiError::InvalidRequest { ctx: Box::new(ctx) }
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(ctx.clone(), e, false))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = self.read_body(&ctx, response).await?;
        if !(200..300).contains(&status) {
            return Err(classify_error(ctx, status, retry_after, &body.into_vec()));
        }
        if body.len() <= DECODE_ON_WORKER_MAX {
            return body.decode(ctx, status);
        }
        let on_failure = ctx.clone();
        tokio::task::spawn_blocking(move || body.decode(ctx, status))
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::Decode {
                    ctx: Box::new(on_failure),
                    detail: "the decoder stopped".into(),
                })
            })
    }

    /// The response body, read as it arrives and refused at [`MAX_RESPONSE_BODY`] bytes.
    async fn read_body(
        &self,
        ctx: &RequestContext,
        mut response: reqwest::Response,
    ) -> Result<Body, ApiError> {
        let too_big = || ApiError::Decode {
            ctx: Box::new(ctx.clone()),
            detail: format!(
                "the response body is over the agent's limit of {} MiB",
                MAX_RESPONSE_BODY >> 20
            ),
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > MAX_RESPONSE_BODY as u64 {
            return Err(too_big());
        }
        let mut body = Body::default();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(ctx.clone(), e, true))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BODY {
                return Err(too_big());
            }
            body.push(chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, ctx: RequestContext, e: reqwest::Error, answered: bool) -> ApiError {
        if e.is_timeout() {
            return ApiError::Timeout {
                ctx: Box::new(ctx),
                after: self.timeout,
            };
        }
        let sent = answered || !e.is_connect();
        let e = e.without_url();
        // A refused certificate gets a plain description with the setting that fixes it.
        let detail = describe_tls_failure(&e).unwrap_or_else(|| error_chain(&e));
        ApiError::Transport {
            ctx: Box::new(ctx),
            detail,
            sent,
        }
    }

    pub(super) fn invalid(&self, method: &'static str, url: &Url, message: &str) -> ApiError {
        let mut ctx = RequestContext::new(method, url.path());
        ctx.message = message.to_string();
        ApiError::InvalidRequest { ctx: Box::new(ctx) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_base_appends_api_once() {
        for (address, want) in [
            ("https://kms.example.com", "https://kms.example.com/api"),
            ("https://kms.example.com/", "https://kms.example.com/api"),
            ("https://kms.example.com/api", "https://kms.example.com/api"),
            (
                "https://kms.example.com/api/",
                "https://kms.example.com/api",
            ),
            (
                "http://127.0.0.1:8200/prefix",
                "http://127.0.0.1:8200/prefix/api",
            ),
        ] {
            assert_eq!(api_base(address).unwrap().as_str(), want, "{address}");
        }
        for bad in ["", "kms.example.com", "ftp://x", "unix:/tmp/sock"] {
            assert!(
                matches!(api_base(bad), Err(ClientBuildError::InvalidAddress(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn urls_encode_names_and_carry_queries() {
        let client = KmsClient::new(&ClientConfig::new("http://127.0.0.1:1")).unwrap();
        let url = client.url(
            &["v3", "secrets", "raw", "A B/C"],
            &[("secretPath", "/a b".into())],
        );
        assert_eq!(url.path(), "/api/v3/secrets/raw/A%20B%2FC");
        assert_eq!(url.query(), Some("secretPath=%2Fa+b"));
    }

    #[test]
    fn ca_bundle_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let config = ClientConfig {
            ca_cert_path: Some(missing.clone()),
            ..ClientConfig::new("https://kms.example.com")
        };
        let e = KmsClient::new(&config).unwrap_err();
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let config = ClientConfig {
            ca_cert_path: Some(junk),
            ..config
        };
        assert!(matches!(
            KmsClient::new(&config),
            Err(ClientBuildError::InvalidCaBundle(_))
        ));
    }

    /// A self-signed test CA certificate (public part only).
    const TEST_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBjDCCATOgAwIBAgIUcz+ktaU4yOdRdhSZWO43knLMPwgwCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRa21zLWFnZW50IHRlc3QgQ0EwHhcNMjYxMTI4MTI0OTA0WhcN
MzYxMTI1MTI0OTA0WjAcMRowGAYDVQQDDBFrbXMtYWdlbnQgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABB7bfKTkNwumet8h5bzsJimZ3vt0I6TNBz4g
yfj2Mcve03Gh9bY1N9TPjzQ8JesFvHSGOyGRzvfUo3FuTNkVLXmjUzBRMB0GA1Ud
DgQWBBR8nvElSfE0OuTYHeGS0q5UV0hyhTAfBgNVHSMEGDAWgBR8nvElSfE0OuTY
HeGS0q5UV0hyhTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIBJi
+IoXnX5keJSyyiGkXlarheG1BztmfC3kgS6V6jPDAiBvpa3u8EXUcTJR9IU/CbDC
y8bg9Riug4LQAzWJ0t3XeA==
-----END CERTIFICATE-----\n";

    #[test]
    fn a_pem_bundle_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, format!("{TEST_CA_PEM}{TEST_CA_PEM}")).unwrap();
        let config = ClientConfig {
            ca_cert_path: Some(path),
            ..ClientConfig::new("https://kms.example.com")
        };
        assert!(KmsClient::new(&config).is_ok());
    }

    #[test]
    fn auto_version_starts_unresolved() {
        let client = KmsClient::new(&ClientConfig::new("http://127.0.0.1:1")).unwrap();
        assert_eq!(client.resolved_api_version(), ApiVersion::Auto);
        let v3 = ClientConfig {
            api_version: ApiVersion::V3,
            ..ClientConfig::new("http://127.0.0.1:1")
        };
        assert_eq!(
            KmsClient::new(&v3).unwrap().resolved_api_version(),
            ApiVersion::V3
        );
    }
}
