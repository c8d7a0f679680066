//! SigV4 signing of the STS `GetCallerIdentity` request the KMS replays (docs/wire-contract.md §7),
//! with AWS's own signer crate.

use std::time::SystemTime;

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

use super::AwsCredentials;
use crate::auth::methods::MethodError;

/// The form body that is signed and sent (base64-encoded) to the KMS.
pub(crate) const GET_CALLER_IDENTITY_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The headers of a signed `POST https://sts.<region>.amazonaws.com/` carrying
/// [`GET_CALLER_IDENTITY_BODY`], in the order docs/wire-contract.md lists them: `Authorization`,
/// `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials only), `Host`, `Content-Type`,
/// `Content-Length`. Every one of them is covered by the signature.
pub(crate) fn sign_get_caller_identity(
    credentials: &AwsCredentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, MethodError> {
    let host = format!("sts.{region}.amazonaws.com");
    let length = GET_CALLER_IDENTITY_BODY.len().to_string();
    let added = sign_request(
        credentials,
        region,
        "sts",
        time,
        "POST",
        &format!("https://{host}/"),
        &[
            ("Host", &host),
            ("Content-Type", FORM_CONTENT_TYPE),
            ("Content-Length", &length),
        ],
        GET_CALLER_IDENTITY_BODY.as_bytes(),
    )?;
    let added_value = |name: &str| {
        added
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let missing = |name: &str| MethodError::Signing {
        reason: format!("the signer added no {name} header"),
    };
    let mut headers = vec![
        (
            "Authorization",
            added_value("authorization").ok_or_else(|| missing("Authorization"))?,
        ),
        (
            "X-Amz-Date",
            added_value("x-amz-date").ok_or_else(|| missing("X-Amz-Date"))?,
        ),
    ];
    if credentials.session_token.is_some() {
        headers.push((
            "X-Amz-Security-Token",
            added_value("x-amz-security-token").ok_or_else(|| missing("X-Amz-Security-Token"))?,
        ));
    }
    headers.push(("Host", host));
    headers.push(("Content-Type", FORM_CONTENT_TYPE.to_string()));
    headers.push(("Content-Length", length));
    Ok(headers)
}

/// Signs one request (header signature, signed payload) and returns the headers the signer adds
/// (`x-amz-date`, `authorization`, and `x-amz-security-token` with a session token), lower-case.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sign_request(
    credentials: &AwsCredentials,
    region: &str,
    service: &str,
    time: SystemTime,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, MethodError> {
    let failed = |what: &str| MethodError::Signing {
        reason: what.to_string(),
    };
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose().clone(),
        credentials
            .session_token
            .as_ref()
            .map(|t| t.expose().clone()),
        None,
        "kms-agent",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| failed("incomplete signing parameters"))?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|_| failed("the request cannot be signed (bad URL or header)"))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|_| failed("the signer refused the request"))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitive::Sensitive;
    use std::time::{Duration, UNIX_EPOCH};

    fn credentials(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Sensitive::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: token.map(|t| Sensitive::new(t.to_string())),
        }
    }

    /// Cases of AWS's published SigV4 test suite; see tests/fixtures/auth_methods/README.md.
    #[test]
    fn signer_matches_the_published_sigv4_test_vectors() {
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../../../tests/fixtures/auth_methods/sigv4-vectors.json"
        ))
        .unwrap();
        let creds = &fixture["credentials"];
        let credentials = AwsCredentials {
            access_key_id: creds["access_key_id"].as_str().unwrap().into(),
            secret_access_key: Sensitive::new(creds["secret_access_key"].as_str().unwrap().into()),
            session_token: None,
        };
        let time = UNIX_EPOCH + Duration::from_secs(fixture["timestamp_unix"].as_u64().unwrap());
        let cases = fixture["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 2);
        for case in cases {
            let headers: Vec<(&str, &str)> = case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                .collect();
            let added = sign_request(
                &credentials,
                fixture["region"].as_str().unwrap(),
                fixture["service"].as_str().unwrap(),
                time,
                case["method"].as_str().unwrap(),
                case["url"].as_str().unwrap(),
                &headers,
                case["body"].as_str().unwrap().as_bytes(),
            )
            .unwrap();
            let get = |name: &str| {
                added
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(
                get("authorization"),
                case["authorization"].as_str(),
                "{}",
                case["name"]
            );
            assert_eq!(get("x-amz-date"), fixture["amz_date"].as_str());
        }
    }

    #[test]
    fn sts_request_headers_at_a_fixed_time() {
        // 2015-08-30T12:36:00Z, reusing the suite's credentials: a regression value for our
        // exact STS request (headers and body as docs/wire-contract.md §7 lists them).
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let headers = sign_get_caller_identity(&credentials(None), "us-east-1", time).unwrap();
        let names: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "Authorization",
                "X-Amz-Date",
                "Host",
                "Content-Type",
                "Content-Length"
            ]
        );
        assert_eq!(headers[1].1, "20150830T123600Z");
        assert_eq!(headers[2].1, "sts.us-east-1.amazonaws.com");
        assert_eq!(
            headers[3].1,
            "application/x-www-form-urlencoded; charset=utf-8"
        );
        assert_eq!(headers[4].1, "43");
        let authorization = &headers[0].1;
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, \
                 SignedHeaders=content-length;content-type;host;x-amz-date, Signature="
            ),
            "{authorization}"
        );
        assert_eq!(authorization, &expected_sts_authorization(None));

        let with_token =
            sign_get_caller_identity(&credentials(Some("session-token")), "us-east-1", time)
                .unwrap();
        assert_eq!(
            with_token[2],
            ("X-Amz-Security-Token", "session-token".to_string())
        );
        assert!(with_token[0].1.contains(
            "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token"
        ));
        assert_eq!(
            with_token[0].1,
            expected_sts_authorization(Some("session-token"))
        );
    }

    /// The same signature computed independently, straight from the SigV4 definition
    /// (HMAC-SHA256 chain over the canonical request), so the crate and the spec must agree.
    fn expected_sts_authorization(token: Option<&str>) -> String {
        use ring::digest::{digest, SHA256};
        use ring::hmac;
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let mac = |key: &[u8], data: &str| {
            hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
                .as_ref()
                .to_vec()
        };
        let mut canonical_headers = String::from(
            "content-length:43\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n\
             host:sts.us-east-1.amazonaws.com\nx-amz-date:20150830T123600Z\n",
        );
        let mut signed = String::from("content-length;content-type;host;x-amz-date");
        if let Some(token) = token {
            canonical_headers.push_str(&format!("x-amz-security-token:{token}\n"));
            signed.push_str(";x-amz-security-token");
        }
        let canonical_request = format!(
            "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
            hex(digest(&SHA256, GET_CALLER_IDENTITY_BODY.as_bytes()).as_ref())
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/sts/aws4_request\n{}",
            hex(digest(&SHA256, canonical_request.as_bytes()).as_ref())
        );
        let mut key = mac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830");
        for part in ["us-east-1", "sts", "aws4_request"] {
            key = mac(&key, part);
        }
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, \
             SignedHeaders={signed}, Signature={}",
            hex(&mac(&key, &string_to_sign))
        )
    }
}
