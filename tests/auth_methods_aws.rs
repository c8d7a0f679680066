//! AWS IAM auth: each credential source against local fakes (IMDSv2, STS web identity, container
//! endpoint) or files, and the exact signed STS request that ends up in the login body.

mod auth_methods_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_methods_support::{clients, dead_address, FakeServer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kms_agent::auth::methods::{aws_iam_login, AwsEndpoints, LoginRequest, MapEnv, MethodError};
use serde_json::Value;

const IDENTITY: &str = "3c1f0b2e-7d4a-4e59-9a61-0c2b8d7e5f10";

/// 2024-05-06T07:08:09Z
fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_979_289)
}

/// The decoded `iamRequestHeaders` object, keys in order.
fn signed_headers(request: &LoginRequest) -> Vec<(String, String)> {
    let body = request.body();
    let encoded = body["iamRequestHeaders"].as_str().unwrap();
    let json: Value = serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap();
    json.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Checks everything about the login body except the signature bytes (pinned by the unit tests
/// against AWS's test vectors and an independent computation).
fn assert_login(request: &LoginRequest, key_id: &str, region: &str, session_token: Option<&str>) {
    assert_eq!(request.path(), "/api/v1/auth/aws-auth/login");
    let body = request.body();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "identityId",
            "iamHttpRequestMethod",
            "iamRequestBody",
            "iamRequestHeaders"
        ]
    );
    assert_eq!(body["identityId"], IDENTITY);
    assert_eq!(body["iamHttpRequestMethod"], "POST");
    assert_eq!(
        body["iamRequestBody"],
        "QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNQ=="
    );
    let headers = signed_headers(request);
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let mut expected_names = vec!["Authorization", "X-Amz-Date"];
    if session_token.is_some() {
        expected_names.push("X-Amz-Security-Token");
    }
    expected_names.extend(["Host", "Content-Type", "Content-Length"]);
    assert_eq!(names, expected_names);
    assert_eq!(header(&headers, "X-Amz-Date"), Some("20240506T070809Z"));
    assert_eq!(header(&headers, "X-Amz-Security-Token"), session_token);
    assert_eq!(
        header(&headers, "Host"),
        Some(format!("sts.{region}.amazonaws.com").as_str())
    );
    assert_eq!(
        header(&headers, "Content-Type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    assert_eq!(header(&headers, "Content-Length"), Some("43"));
    let signed_list = if session_token.is_some() {
        "content-length;content-type;host;x-amz-date;x-amz-security-token"
    } else {
        "content-length;content-type;host;x-amz-date"
    };
    let authorization = header(&headers, "Authorization").unwrap();
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/20240506/{region}/sts/aws4_request, \
         SignedHeaders={signed_list}, Signature="
    );
    assert!(authorization.starts_with(&prefix), "{authorization}");
    let signature = &authorization[prefix.len()..];
    assert_eq!(signature.len(), 64);
    assert!(signature.chars().all(|c| c.is_ascii_hexdigit()));
    // Debug never shows the signed headers.
    assert!(!format!("{request:?}").contains(signature));
}

/// An environment with instance metadata pointed at `imds` (a fake or a dead address).
fn env_with_imds(imds: &str, pairs: &[(&str, &str)]) -> MapEnv {
    let mut env = MapEnv::new(pairs.iter().copied());
    env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds);
    env
}

/// A fake IMDS that fails every request: proves a source was never consulted.
async fn untouchable_imds() -> FakeServer {
    FakeServer::start(|_| (500, String::new())).await
}

#[tokio::test]
async fn environment_credentials_and_region_sign_without_touching_imds() {
    let imds = untouchable_imds().await;
    let env = env_with_imds(
        &imds.base(),
        &[
            ("AWS_ACCESS_KEY_ID", "ASIAENVEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-session-token"),
            ("AWS_REGION", "eu-west-1"),
            // Not consulted: the environment already has keys and region.
            ("AWS_PROFILE", "absent-profile"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ],
    );
    let request = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap();
    assert_login(
        &request,
        "ASIAENVEXAMPLE",
        "eu-west-1",
        Some("env-session-token"),
    );
    assert!(imds.requests().is_empty());
}

#[tokio::test]
async fn imds_v2_gives_region_and_role_credentials_with_one_session_token() {
    let imds = FakeServer::start(|r| {
        if r.method == "PUT" && r.path == "/latest/api/token" {
            return match r.header("x-aws-ec2-metadata-token-ttl-seconds") {
                Some("21600") => (200, "imds-session-token".to_string()),
                _ => (400, String::new()),
            };
        }
        if r.header("x-aws-ec2-metadata-token") != Some("imds-session-token") {
            return (401, String::new());
        }
        match r.path.as_str() {
            "/latest/meta-data/placement/region" => (200, "ap-southeast-2".to_string()),
            "/latest/meta-data/iam/security-credentials/" => (200, "app-role\n".to_string()),
            "/latest/meta-data/iam/security-credentials/app-role" => (
                200,
                r#"{"Code":"Success","LastUpdated":"2024-05-06T06:00:00Z","Type":"AWS-HMAC",
                    "AccessKeyId":"ASIAIMDSEXAMPLE","SecretAccessKey":"imds-secret",
                    "Token":"imds-role-token","Expiration":"2024-05-06T12:00:00Z"}"#
                    .to_string(),
            ),
            _ => (404, String::new()),
        }
    })
    .await;
    let env = env_with_imds(&imds.base(), &[]);
    let request = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap();
    assert_login(
        &request,
        "ASIAIMDSEXAMPLE",
        "ap-southeast-2",
        Some("imds-role-token"),
    );

    let seen: Vec<(String, String)> = imds
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let expected = [
        ("PUT", "/latest/api/token"),
        ("GET", "/latest/meta-data/placement/region"),
        ("GET", "/latest/meta-data/iam/security-credentials/"),
        ("GET", "/latest/meta-data/iam/security-credentials/app-role"),
    ];
    assert_eq!(
        seen,
        expected
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .to_vec()
    );
}

#[tokio::test]
async fn web_identity_token_is_exchanged_at_sts_for_role_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "oidc.web.identity.jwt\n").unwrap();
    let sts = FakeServer::start(|r| {
        if r.method == "POST" && r.path == "/" {
            (
                200,
                "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleWithWebIdentityResult><Credentials>\
                 <AccessKeyId>ASIAWEBEXAMPLE</AccessKeyId>\
                 <SecretAccessKey>web-secret</SecretAccessKey>\
                 <SessionToken>web-session/token+with=chars</SessionToken>\
                 <Expiration>2024-05-06T08:08:09Z</Expiration>\
                 </Credentials></AssumeRoleWithWebIdentityResult>\
                 </AssumeRoleWithWebIdentityResponse>"
                    .to_string(),
            )
        } else {
            (404, String::new())
        }
    })
    .await;
    let imds = untouchable_imds().await;
    let env = env_with_imds(
        &imds.base(),
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/agent"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
            ("AWS_ENDPOINT_URL_STS", &sts.base()),
        ],
    );
    let request = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap();
    assert_login(
        &request,
        "ASIAWEBEXAMPLE",
        "us-east-2",
        Some("web-session/token+with=chars"),
    );

    let seen = sts.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form: Vec<(String, String)> = seen[0].form();
    let expected = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::123456789012:role/agent"),
        ("RoleSessionName", "kms-agent-1714979289"),
        ("WebIdentityToken", "oidc.web.identity.jwt"),
    ];
    assert_eq!(
        form,
        expected
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec()
    );
    assert!(imds.requests().is_empty());
}

#[tokio::test]
async fn web_identity_failures_name_the_file_or_sts_code_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    let imds = dead_address().await;
    let mut env = env_with_imds(
        &imds,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/agent"),
            ("AWS_REGION", "us-east-2"),
        ],
    );
    let err = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "AWS web identity token file {} cannot be read: no such file",
            token_file.display()
        )
    );

    std::fs::write(&token_file, "oidc.secret.jwt").unwrap();
    let sts = FakeServer::start(|_| {
        (
            400,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>\
             <Message>Bad token oidc.secret.jwt</Message></Error></ErrorResponse>"
                .to_string(),
        )
    })
    .await;
    env.set("AWS_ENDPOINT_URL_STS", sts.base());
    let err = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "AWS STS AssumeRoleWithWebIdentity at {}/ answered HTTP 400 (InvalidIdentityToken)",
            sts.base()
        )
    );
}

fn container_answer() -> (u16, String) {
    (
        200,
        r#"{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"container-secret",
            "Token":"container-token","Expiration":"2024-05-06T12:00:00Z"}"#
            .to_string(),
    )
}

#[tokio::test]
async fn container_full_uri_is_called_with_the_authorization_token() {
    let endpoint = FakeServer::start(|r| {
        if r.path == "/v1/credentials" && r.header("authorization") == Some("container-auth") {
            container_answer()
        } else {
            (401, String::new())
        }
    })
    .await;
    let imds = untouchable_imds().await;
    let full_uri = format!("{}/v1/credentials", endpoint.base());
    let env = env_with_imds(
        &imds.base(),
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", full_uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth"),
            ("AWS_REGION", "ca-central-1"),
        ],
    );
    let request = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap();
    assert_login(
        &request,
        "ASIACONTAINER",
        "ca-central-1",
        Some("container-token"),
    );
    let seen = endpoint.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].header("authorization"), Some("container-auth"));
    assert!(imds.requests().is_empty());
}

#[tokio::test]
async fn container_relative_uri_reads_the_token_file_each_time() {
    let endpoint = FakeServer::start(|r| {
        if r.path == "/v2/credentials/task-1" {
            container_answer()
        } else {
            (404, String::new())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("eks-pod-identity-token");
    std::fs::write(&token_file, "first-token\n").unwrap();
    let env = MapEnv::new([
        (
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/task-1",
        ),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            token_file.to_str().unwrap(),
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-set"),
        ("AWS_REGION", "us-west-2"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let endpoints = AwsEndpoints {
        container_credentials_host: endpoint.base(),
        ..AwsEndpoints::from_env(&env)
    };
    let request = aws_iam_login(&clients(), IDENTITY, &env, &endpoints, now())
        .await
        .unwrap();
    assert_login(
        &request,
        "ASIACONTAINER",
        "us-west-2",
        Some("container-token"),
    );
    std::fs::write(&token_file, "second-token").unwrap();
    aws_iam_login(&clients(), IDENTITY, &env, &endpoints, now())
        .await
        .unwrap();
    let tokens: Vec<Option<String>> = endpoint
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_string))
        .collect();
    assert_eq!(
        tokens,
        [
            Some("first-token".to_string()),
            Some("second-token".to_string())
        ]
    );
}

#[tokio::test]
async fn shared_profile_supplies_static_keys_and_region() {
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n\n\
         [ci]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n",
    )
    .unwrap();
    std::fs::write(aws.join("config"), "[profile ci]\nregion = eu-central-1\n").unwrap();
    let imds = untouchable_imds().await;
    let env = env_with_imds(
        &imds.base(),
        &[
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_PROFILE", "ci"),
        ],
    );
    let request = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap();
    assert_login(&request, "AKIDPROFILE", "eu-central-1", None);
    assert!(imds.requests().is_empty());

    // AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE replace the files under HOME.
    let other = home.path().join("other-credentials");
    std::fs::write(
        &other,
        "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = o\n",
    )
    .unwrap();
    let env = MapEnv::new([
        ("HOME", home.path().to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", other.to_str().unwrap()),
        ("AWS_REGION", "sa-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let request = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap();
    assert_login(&request, "AKIDOTHER", "sa-east-1", None);
}

#[tokio::test]
async fn missing_credentials_and_region_are_errors_naming_what_was_tried() {
    // Instance metadata answers but the instance has no role.
    let imds = FakeServer::start(|r| match r.path.as_str() {
        "/latest/api/token" => (200, "t".to_string()),
        _ => (404, String::new()),
    })
    .await;
    let env = env_with_imds(&imds.base(), &[("AWS_REGION", "us-east-1")]);
    let err = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, MethodError::NoAwsCredentials { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    for named in [
        "AWS_ACCESS_KEY_ID",
        "profile default",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        &format!(
            "EC2 instance metadata service at {}/latest/meta-data/iam/security-credentials/ \
             answered HTTP 404",
            imds.base()
        ),
    ] {
        assert!(message.contains(named), "{named} missing from: {message}");
    }

    // Half-set environment keys name the missing variable.
    let env = MapEnv::new([("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_REGION", "us-east-1")]);
    let err = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable AWS_SECRET_ACCESS_KEY is not usable: it must be set along with \
         AWS_ACCESS_KEY_ID"
    );

    // No region anywhere and instance metadata unreachable.
    let dead = dead_address().await;
    let env = env_with_imds(
        &dead,
        &[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ],
    );
    let err = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MethodError::NoAwsRegion { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (instance metadata at {dead} \
             did not say: EC2 instance metadata service at {dead}/latest/api/token could not be \
             reached"
        )),
        "{err}"
    );

    // An unsupported profile kind is named rather than skipped.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile sso]\nsso_session = corp\nregion = us-east-1\n",
    )
    .unwrap();
    let env = MapEnv::new([
        ("HOME", home.path().to_str().unwrap()),
        ("AWS_PROFILE", "sso"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let err = aws_iam_login(
        &clients(),
        IDENTITY,
        &env,
        &AwsEndpoints::from_env(&env),
        now(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("AWS profile sso is not usable: it uses `sso_session`"),
        "{err}"
    );
}
