//! Container credentials (ECS task roles, EKS Pod Identity): a local HTTP endpoint named by
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `AWS_CONTAINER_CREDENTIALS_FULL_URI`.

use std::net::IpAddr;
use std::path::Path;

use super::AwsCredentials;
use crate::auth::methods::credential_file::read_credential_file;
use crate::auth::methods::http::send_for_json;
use crate::auth::methods::{Env, MethodError};

/// The ECS credential endpoint that relative URIs are resolved against.
pub const DEFAULT_CONTAINER_CREDENTIALS_HOST: &str = "http://169.254.170.2";

const SERVICE: &str = "AWS container credentials endpoint";

/// The endpoint URL from `env`, or `None` when neither variable is set. Plain-http full URIs
/// must point at a loopback or the ECS/EKS agent address, as in the AWS SDKs, so a stray
/// variable cannot send the authorization token across a network.
pub(crate) fn container_credentials_url(
    env: &dyn Env,
    relative_base: &str,
) -> Result<Option<String>, MethodError> {
    if let Some(relative) = env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let separator = if relative.starts_with('/') { "" } else { "/" };
        return Ok(Some(format!(
            "{}{separator}{relative}",
            relative_base.trim_end_matches('/')
        )));
    }
    let Some(full) = env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
        return Ok(None);
    };
    let invalid = |reason: &str| MethodError::EnvInvalid {
        name: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        reason: reason.to_string(),
    };
    let url = reqwest::Url::parse(&full).map_err(|_| invalid("it is not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let host = url.host_str().unwrap_or_default();
            let allowed = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(allowed_http_ip);
            if !allowed {
                return Err(invalid(
                    "a plain-http URI must point at a loopback address or the ECS/EKS \
                     credential address",
                ));
            }
        }
        _ => return Err(invalid("its scheme must be http or https")),
    }
    Ok(Some(full))
}

fn allowed_http_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
        || ip == IpAddr::from([169, 254, 170, 2])
        || ip == IpAddr::from([169, 254, 170, 23])
        || ip == IpAddr::from([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23])
}

/// Fetches credentials from `url`, presenting the authorization token from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (read afresh) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
pub(crate) async fn container_credentials(
    http: &reqwest::Client,
    env: &dyn Env,
    url: &str,
) -> Result<AwsCredentials, MethodError> {
    let token = match env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(path) => Some(
            read_credential_file("AWS container authorization token file", Path::new(&path))
                .await?
                .into_inner(),
        ),
        None => env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    let mut request = http.get(url).header("Accept", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    let answer = send_for_json(SERVICE, url, request).await?;
    AwsCredentials::from_json(&answer, SERVICE, url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::methods::MapEnv;

    #[test]
    fn relative_uri_wins_and_full_uri_hosts_are_restricted() {
        let base = DEFAULT_CONTAINER_CREDENTIALS_HOST;
        assert_eq!(
            container_credentials_url(&MapEnv::default(), base).unwrap(),
            None
        );
        let env = MapEnv::new([
            (
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "/v2/credentials/abc",
            ),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/x"),
        ]);
        assert_eq!(
            container_credentials_url(&env, base).unwrap().as_deref(),
            Some("http://169.254.170.2/v2/credentials/abc")
        );
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://localhost/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://creds.example.com/x",
        ] {
            let env = MapEnv::new([("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok)]);
            assert_eq!(
                container_credentials_url(&env, base).unwrap().as_deref(),
                Some(ok)
            );
        }
        for bad in ["http://10.0.0.5/creds", "ftp://127.0.0.1/x", "not a url"] {
            let env = MapEnv::new([("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad)]);
            let err = container_credentials_url(&env, base).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("environment variable AWS_CONTAINER_CREDENTIALS_FULL_URI"),
                "{err}"
            );
        }
    }
}
