//! The built-in demo seed that `kms dev-server` loads without `--seed`.

/// Universal-auth client id of the demo identity.
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
/// Universal-auth client secret of the demo identity (a public, well-known dev credential).
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
/// Project id of the demo project.
pub const DEMO_PROJECT_ID: &str = "6553ccb2b7da580d7f6e7260";
/// Project slug of the demo project.
pub const DEMO_PROJECT_SLUG: &str = "demo";

/// The demo seed, in the seed file format.
pub const DEMO_SEED_YAML: &str = r#"
identities:
  - name: demo
    client-id: demo-client-id
    client-secret: demo-client-secret
    identity-id: 00000000-0000-0000-0000-000000000001
    access-token-ttl: 300
    access-token-max-ttl: 3600
projects:
  - id: 6553ccb2b7da580d7f6e7260
    slug: demo
    environments:
      dev:
        secrets:
          /:
            - { key: API_KEY, value: sk-test-51HxYz, id: 5b0c1c4e-8f0e-4b8e-9d0a-000000000001, comment: "test API key" }
            - { key: DATABASE_URL, value: "postgres://app:${DB_PASSWORD}@db:5432/app", id: 5b0c1c4e-8f0e-4b8e-9d0a-000000000002 }
            - { key: DB_PASSWORD, value: s3cret, id: 5b0c1c4e-8f0e-4b8e-9d0a-000000000003 }
            - { key: DEBUG, value: "true", id: 5b0c1c4e-8f0e-4b8e-9d0a-000000000004 }
          /app:
            APP_NAME: demo-app
            GREETING: "hello from ${prod.APP_ENV}"
        dynamic-secrets:
          /:
            redis:
              default-ttl: 1h
              max-ttl: 24h
              credentials:
                DB_USERNAME: "v-redis-$LEASE_ID"
                DB_PASSWORD: "$RANDOM"
      prod:
        secrets:
          /:
            APP_ENV: production
            API_KEY: sk-live-99AbCd
"#;
