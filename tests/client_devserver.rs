//! The client against the in-process dev server: every endpoint, success and error paths, and
//! the dev server's `/dev/stats` counters. Fault injection and retries: client_faults.rs.

mod client_support;

use std::collections::BTreeMap;
use std::time::Duration;

use client_support::*;
use kms_agent::client::auth::AWS_GET_CALLER_IDENTITY_BODY;
use kms_agent::client::{
    ApiError, ApiVersion, AwsIamLogin, CreateLeaseRequest, GetSecretQuery, JwtLogin,
    ListSecretsQuery, LoginRequest, RenewLeaseRequest, RevokeLeaseRequest,
};
use kms_agent::sensitive::Sensitive;
use kms_agent::template::ProjectRef;
use serde_json::json;

// ---- auth ---------------------------------------------------------------------------------

#[tokio::test]
async fn universal_auth_login_renew_revoke() {
    let env = start().await;
    let token = env.client.login(&ua("test-secret")).await.unwrap();
    assert_eq!(token.expires_in, 300);
    assert_eq!(token.access_token_max_ttl, 3600);
    assert_eq!(token.token_type, "Bearer");

    let renewed = env.client.renew_token(&token.access_token).await.unwrap();
    assert!(renewed.expires_in > 0);
    let revoked = env
        .client
        .revoke_token(&renewed.access_token)
        .await
        .unwrap();
    assert!(!revoked.message.is_empty());

    let stats = env.stats().await;
    assert_eq!(stats["tokens"]["issued"], 1, "{stats}");
    assert_eq!(stats["tokens"]["renewed"], 1, "{stats}");
    assert_eq!(stats["tokens"]["revoked"], 1, "{stats}");

    // A revoked token is an auth failure everywhere, and is not retried.
    let err = env
        .client
        .list_secrets(&renewed.access_token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    assert!(env.sleeper.delays().is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_not_retried() {
    let env = start().await;
    let err = env.client.login(&ua("wrong")).await.unwrap_err();
    assert!(matches!(err, ApiError::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert!(
        !err.to_string().contains("wrong"),
        "the secret must not appear: {err}"
    );
    assert_eq!(env.requests(LOGIN_UA).await, 1);
}

#[tokio::test]
async fn cloud_logins_send_the_documented_bodies() {
    let env = start().await;
    let jwt = || JwtLogin {
        identity_id: IDENTITY_ID.into(),
        jwt: Sensitive::new("header.payload.signature".into()),
        organization_slug: None,
    };
    for login in [
        LoginRequest::Kubernetes(jwt()),
        LoginRequest::Azure(jwt()),
        LoginRequest::Gcp(jwt()),
    ] {
        let token = env
            .client
            .login(&login)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", login.path()));
        assert!(!token.access_token.expose().is_empty());
    }
    let mut headers = BTreeMap::new();
    headers.insert(
        "Authorization".to_string(),
        "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc".to_string(),
    );
    headers.insert(
        "Host".to_string(),
        "sts.us-east-1.amazonaws.com".to_string(),
    );
    headers.insert("X-Amz-Date".to_string(), "20250101T000000Z".to_string());
    let aws = AwsIamLogin::from_signed_request(
        IDENTITY_ID,
        AWS_GET_CALLER_IDENTITY_BODY.as_bytes(),
        &headers,
    );
    env.client.login(&LoginRequest::AwsIam(aws)).await.unwrap();

    let stats = env.stats().await;
    assert_eq!(stats["tokens"]["issued"], 4, "{stats}");
    for route in [
        "POST /api/v1/auth/kubernetes-auth/login",
        "POST /api/v1/auth/azure-auth/login",
        "POST /api/v1/auth/gcp-auth/login",
        "POST /api/v1/auth/aws-auth/login",
    ] {
        assert_eq!(stats["requests"][route], 1, "{route}: {stats}");
    }

    // Unknown identity: refused (the dev server's 404 "auth method not found" reads as refused).
    let unknown = LoginRequest::Kubernetes(JwtLogin {
        identity_id: "99999999-0000-0000-0000-000000000000".into(),
        ..jwt()
    });
    let err = env.client.login(&unknown).await.unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
}

#[tokio::test]
async fn expired_tokens_are_auth_failures() {
    let env = start().await;
    let token = env.login().await;
    let resp = env
        .admin
        .post(format!("{}/dev/tokens/expire", env.server.url()))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let err = env
        .client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
    let err = env
        .client
        .create_lease(&token, &create_request())
        .await
        .unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
}

// ---- secrets ------------------------------------------------------------------------------

#[tokio::test]
async fn auto_version_lists_with_v4_and_merges_imports() {
    let env = start().await;
    let token = env.login().await;
    let secrets = env
        .client
        .list_template_secrets(&token, &list_query("/app"))
        .await
        .unwrap();
    assert_eq!(env.client.resolved_api_version(), ApiVersion::V4);
    let find = |k: &str| {
        secrets
            .iter()
            .find(|s| s.key() == k)
            .unwrap_or_else(|| panic!("{k} in {secrets:?}"))
    };
    assert_eq!(find("APP_NAME").value(), "demo-app");
    assert_eq!(find("APP_NAME").secret_path(), "/app");
    assert_eq!(find("APP_NAME").workspace_id(), PROJECT_ID);
    // Own secrets win over imports; import-only keys come with the import's source folder.
    assert_eq!(find("SHARED").value(), "own-value");
    assert_eq!(find("ONLY_IMPORTED").value(), "from-prod");
    assert_eq!(find("ONLY_IMPORTED").secret_path(), "/shared");
    assert_eq!(secrets.iter().filter(|s| s.key() == "SHARED").count(), 1);

    // References expanded on request; raw when not.
    let root = env
        .client
        .list_template_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    assert_eq!(
        root.iter().find(|s| s.key() == "DSN").unwrap().value(),
        "db://sk-test"
    );
    let raw = ListSecretsQuery {
        expand_references: false,
        ..list_query("/")
    };
    let root = env
        .client
        .list_template_secrets(&token, &raw)
        .await
        .unwrap();
    assert_eq!(
        root.iter().find(|s| s.key() == "DSN").unwrap().value(),
        "db://${API_KEY}"
    );
    let api_key = root.iter().find(|s| s.key() == "API_KEY").unwrap();
    assert_eq!((api_key.id(), api_key.comment()), ("sec-1", "the key"));

    assert_eq!(env.requests(LIST_V4).await, 3);
    assert_eq!(env.requests(LIST_V3).await, 0);
}

#[tokio::test]
async fn recursive_lists_keep_every_folder() {
    let env = start().await;
    let token = env.login().await;
    let q = ListSecretsQuery {
        recursive: true,
        include_imports: false,
        ..list_query("/")
    };
    let list = env.client.list_secrets(&token, &q).await.unwrap();
    let mut paths: Vec<(String, String)> = list
        .secrets
        .0
        .iter()
        .map(|s| (s.secret_path().to_string(), s.key().to_string()))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            ("/".into(), "API_KEY".into()),
            ("/".into(), "DSN".into()),
            ("/app".into(), "APP_NAME".into()),
            ("/app".into(), "SHARED".into()),
        ]
    );
}

#[tokio::test]
async fn auto_version_falls_back_to_v3_on_the_framework_404_and_remembers() {
    let env = start().await;
    let token = env.login().await;
    let framework_404 = json!({"message": "Route GET:/api/v4/secrets not found", "error": "Not Found", "statusCode": 404});
    env.faults(json!([
        {"route": LIST_V4, "status": 404, "body": framework_404},
        {"route": "GET /api/v4/secrets/{secretName}", "status": 404, "body": framework_404},
    ]))
    .await;
    let secrets = env
        .client
        .list_template_secrets(&token, &list_query("/app"))
        .await
        .unwrap();
    assert!(
        secrets.iter().any(|s| s.key() == "ONLY_IMPORTED"),
        "v3 with include_imports: {secrets:?}"
    );
    assert_eq!(env.client.resolved_api_version(), ApiVersion::V3);
    env.client
        .list_secrets(&token, &list_query("/"))
        .await
        .unwrap();
    let secret = env
        .client
        .get_secret(&token, &get_query("/", "API_KEY"))
        .await
        .unwrap();
    assert_eq!(secret.secret_value.expose(), "sk-test");
    // v4 was tried once, then never again.
    assert_eq!(env.requests(LIST_V4).await, 1);
    assert_eq!(env.requests(LIST_V3).await, 2);
    assert_eq!(env.requests("GET /api/v4/secrets/{secretName}").await, 0);
    assert_eq!(
        env.requests("GET /api/v3/secrets/raw/{secretName}").await,
        1
    );
}

#[tokio::test]
async fn a_handler_404_on_v4_is_not_found_not_a_fallback() {
    let env = start().await;
    let token = env.login().await;
    let err = env
        .client
        .get_secret(&token, &get_query("/", "NOPE"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(env.client.resolved_api_version(), ApiVersion::Auto);
    assert_eq!(
        env.requests("GET /api/v3/secrets/raw/{secretName}").await,
        0
    );
}

#[tokio::test]
async fn get_by_name_in_v3_and_v4() {
    for version in [ApiVersion::V3, ApiVersion::V4] {
        let env = start_with(|c| c.api_version = version).await;
        let token = env.login().await;
        let s = env
            .client
            .get_template_secret(&token, &get_query("/app", "APP_NAME"))
            .await
            .unwrap();
        assert_eq!(
            (s.key(), s.value(), s.secret_path()),
            ("APP_NAME", "demo-app", "/app")
        );
        // Found through the folder's import.
        let s = env
            .client
            .get_secret(&token, &get_query("/app", "ONLY_IMPORTED"))
            .await
            .unwrap();
        assert_eq!(s.secret_value.expose(), "from-prod");
        assert_eq!(s.environment, "prod");
        let no_imports = GetSecretQuery {
            include_imports: false,
            ..get_query("/app", "ONLY_IMPORTED")
        };
        let err = env
            .client
            .get_secret(&token, &no_imports)
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{version:?}: {err:?}");
        let err = env
            .client
            .get_secret(&token, &get_query("/nope", "APP_NAME"))
            .await
            .unwrap_err();
        assert!(err.is_not_found(), "{version:?}: {err:?}");
        assert!(err.to_string().contains("APP_NAME"), "{err}");
        let route = match version {
            ApiVersion::V3 => "GET /api/v3/secrets/raw/{secretName}",
            _ => "GET /api/v4/secrets/{secretName}",
        };
        assert_eq!(env.requests(route).await, 4, "{version:?}");
    }
}

#[tokio::test]
async fn an_empty_secret_name_is_refused_before_sending() {
    let env = start().await;
    let token = env.login().await;
    let err = env
        .client
        .get_secret(&token, &get_query("/", " "))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::InvalidRequest { .. }) && err.status().is_none(),
        "{err:?}"
    );
    assert!(env.stats().await["requests"]
        .as_object()
        .unwrap()
        .keys()
        .all(|k| k.starts_with("POST /api/v1/auth")));
}

#[tokio::test]
async fn slug_projects_list_through_v3() {
    let env = start_with(|c| c.api_version = ApiVersion::V4).await;
    let token = env.login().await;
    let q = ListSecretsQuery {
        project: ProjectRef::Slug("demo".into()),
        ..list_query("/")
    };
    let secrets = env.client.list_template_secrets(&token, &q).await.unwrap();
    assert!(
        secrets
            .iter()
            .any(|s| s.key() == "API_KEY" && s.workspace_id() == PROJECT_ID),
        "{secrets:?}"
    );
    assert_eq!(env.requests(LIST_V3).await, 1);
    assert_eq!(env.requests(LIST_V4).await, 0);
}

#[tokio::test]
async fn unknown_project_and_missing_environment() {
    let env = start().await;
    let token = env.login().await;
    let q = ListSecretsQuery {
        project: ProjectRef::Id("no-such-project".into()),
        ..list_query("/")
    };
    let err = env.client.list_secrets(&token, &q).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let q = ListSecretsQuery {
        environment: String::new(),
        ..list_query("/")
    };
    let err = env.client.list_secrets(&token, &q).await.unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(env.requests(LIST_V4).await, 2, "4xx are never retried");
}

// ---- leases -------------------------------------------------------------------------------

#[tokio::test]
async fn lease_create_get_renew_revoke() {
    let env = start().await;
    let token = env.login().await;
    let created = env
        .client
        .create_lease(&token, &create_request())
        .await
        .unwrap();
    let data = created.data.expose();
    assert_eq!(data["DB_USERNAME"], "v-redis-user");
    assert_eq!(data["DB_PASSWORD"].as_str().map(str::len), Some(24));
    assert_eq!(created.dynamic_secret.name, "redis");
    assert_eq!(
        created.dynamic_secret.default_ttl().unwrap(),
        Duration::from_secs(60)
    );
    let id = created.lease.id.clone();

    let details = env
        .client
        .get_lease(&token, &id, &location())
        .await
        .unwrap();
    assert_eq!(details.lease.id, id);
    assert_eq!(details.dynamic_secret.unwrap().name, "redis");

    let renew = RenewLeaseRequest {
        location: location(),
        ttl: Some("2m".into()),
    };
    let renewed = env.client.renew_lease(&token, &id, &renew).await.unwrap();
    assert_eq!(
        renewed.expire_at - created.lease.expire_at,
        chrono::TimeDelta::seconds(120)
    );

    let revoked = env
        .client
        .revoke_lease(
            &token,
            &id,
            &RevokeLeaseRequest {
                location: location(),
                is_forced: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(revoked.id, id);
    assert!(!revoked.revocation_failed());

    let stats = env.stats().await;
    assert_eq!(stats["leases"]["created"], 1, "{stats}");
    assert_eq!(stats["leases"]["renewed"], 1, "{stats}");
    assert_eq!(stats["leases"]["revoked"], 1, "{stats}");
    assert_eq!(stats["leases"]["active"], 0, "{stats}");

    let err = env
        .client
        .get_lease(&token, &id, &location())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = env
        .client
        .renew_lease(&token, &id, &renew)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn lease_errors() {
    let env = start().await;
    let token = env.login().await;
    let unknown = CreateLeaseRequest {
        dynamic_secret_name: "nope".into(),
        ..create_request()
    };
    assert!(env
        .client
        .create_lease(&token, &unknown)
        .await
        .unwrap_err()
        .is_not_found());
    let too_long = CreateLeaseRequest {
        ttl: Some("1h".into()),
        ..create_request()
    };
    let err = env
        .client
        .create_lease(&token, &too_long)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    let too_short = CreateLeaseRequest {
        ttl: Some("30s".into()),
        ..create_request()
    };
    let err = env
        .client
        .create_lease(&token, &too_short)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::InvalidRequest { .. }), "{err:?}");
    assert_eq!(env.requests(LEASE_CREATE).await, 3);

    // A non-UUID lease id is refused before anything is sent.
    let renew = RenewLeaseRequest {
        location: location(),
        ttl: None,
    };
    let err = env
        .client
        .renew_lease(&token, "not-a-uuid", &renew)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::InvalidRequest { .. }) && err.status().is_none(),
        "{err:?}"
    );
    assert_eq!(
        env.requests("POST /api/v1/dynamic-secrets/leases/{leaseId}/renew")
            .await,
        0
    );
}
