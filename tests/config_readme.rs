//! The README "Configuration reference" table must list every field of the schema, and each
//! default it shows must be the named constant in `config::defaults`: the docs cannot drift.

use std::collections::BTreeMap;

use kms_agent::config::{
    self, defaults, env_vars, format_duration, format_permissions, RestartOnChange,
};

struct Row {
    field: String,
    default: String,
    env: Vec<String>,
}

fn reference_rows() -> Vec<Row> {
    let readme = include_str!("../README.md");
    let start = readme
        .find("\n## Configuration reference")
        .expect("README has a Configuration reference section");
    let section = &readme[start + 1..];
    let section = match section[3..].find("\n## ") {
        Some(end) => &section[..end + 3],
        None => section,
    };
    let strip = |cell: &str| cell.trim().trim_matches('`').to_string();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            assert!(cells.len() >= 4, "malformed row: {l}");
            Row {
                field: strip(cells[0]),
                default: strip(cells[1]),
                env: cells[2]
                    .split(',')
                    .map(strip)
                    .filter(|s| !s.is_empty())
                    .collect(),
            }
        })
        .collect()
}

/// The default each field should show, rendered from the constants.
fn expected_defaults() -> BTreeMap<&'static str, String> {
    let d = format_duration;
    BTreeMap::from([
        ("kms.address", defaults::KMS_ADDRESS.to_string()),
        ("kms.timeout", d(defaults::KMS_TIMEOUT)),
        (
            "kms.api-version",
            defaults::API_VERSION.as_str().to_string(),
        ),
        ("kms.exit-after-auth", defaults::EXIT_AFTER_AUTH.to_string()),
        (
            "kms.revoke-credentials-on-shutdown",
            defaults::REVOKE_CREDENTIALS_ON_SHUTDOWN.to_string(),
        ),
        ("kms.shutdown-grace", d(defaults::SHUTDOWN_GRACE)),
        (
            "kms.retry-strategy.max-retries",
            defaults::RETRY_MAX_RETRIES.to_string(),
        ),
        (
            "kms.retry-strategy.base-delay",
            d(defaults::RETRY_BASE_DELAY),
        ),
        ("kms.retry-strategy.max-delay", d(defaults::RETRY_MAX_DELAY)),
        (
            "auth.config.remove_client_secret_on_read",
            defaults::REMOVE_CLIENT_SECRET_ON_READ.to_string(),
        ),
        (
            "auth.config.service-account-token",
            defaults::SERVICE_ACCOUNT_TOKEN_PATH.to_string(),
        ),
        (
            "sinks[].config.permissions",
            format_permissions(defaults::FILE_PERMISSIONS),
        ),
        (
            "cache.persistent.service-account-token-path",
            defaults::SERVICE_ACCOUNT_TOKEN_PATH.to_string(),
        ),
        (
            "cache.persistent.gc-interval",
            d(defaults::CACHE_GC_INTERVAL),
        ),
        (
            "cache.persistent.max-entries",
            defaults::CACHE_MAX_ENTRIES.to_string(),
        ),
        (
            "templates[].config.polling-interval",
            d(defaults::TEMPLATE_POLLING_INTERVAL),
        ),
        (
            "templates[].config.permissions",
            format_permissions(defaults::FILE_PERMISSIONS),
        ),
        (
            "templates[].config.execute.timeout",
            d(defaults::EXECUTE_TIMEOUT),
        ),
        (
            "listener.allow-non-loopback",
            defaults::LISTENER_ALLOW_NON_LOOPBACK.to_string(),
        ),
        ("exec.env-from[].path", "/".to_string()),
        (
            "exec.env-from[].recursive",
            defaults::EXEC_ENV_FROM_RECURSIVE.to_string(),
        ),
        ("exec.engine", "go".to_string()),
        (
            "exec.polling-interval",
            d(defaults::TEMPLATE_POLLING_INTERVAL),
        ),
        (
            "exec.restart-on-change",
            match defaults::EXEC_RESTART_ON_CHANGE {
                RestartOnChange::Always => "always",
                RestartOnChange::Never => "never",
            }
            .to_string(),
        ),
        (
            "exec.stop-signal",
            defaults::EXEC_STOP_SIGNAL.as_str().to_string(),
        ),
        ("exec.stop-grace", d(defaults::EXEC_STOP_GRACE)),
        ("exec.inherit-env", defaults::EXEC_INHERIT_ENV.to_string()),
    ])
}

#[test]
fn the_table_lists_exactly_the_schema_fields() {
    let mut documented: Vec<String> = reference_rows().into_iter().map(|r| r.field).collect();
    let mut schema = config::field_paths();
    documented.sort();
    schema.sort();
    assert_eq!(documented, schema);
}

#[test]
fn every_default_in_the_table_is_the_constant() {
    let expected = expected_defaults();
    let rows = reference_rows();
    for row in &rows {
        match expected.get(row.field.as_str()) {
            Some(want) => assert_eq!(&row.default, want, "README default of {}", row.field),
            // No default: blank, or a description in parentheses such as "(required)".
            None => assert!(
                row.default.is_empty() || row.default.starts_with('('),
                "{} shows a default `{}` that no constant backs",
                row.field,
                row.default
            ),
        }
    }
    for field in expected.keys() {
        assert!(
            rows.iter().any(|r| r.field == *field),
            "{field} has a default but no README row"
        );
    }
}

#[test]
fn every_environment_variable_in_the_table_is_one_the_code_reads() {
    let known: Vec<&str> = [
        env_vars::UNIVERSAL_AUTH_CLIENT_ID,
        env_vars::UNIVERSAL_AUTH_CLIENT_SECRET,
        env_vars::MACHINE_IDENTITY_ID,
        env_vars::KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH,
        env_vars::GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH,
    ]
    .concat();
    let documented: Vec<String> = reference_rows().into_iter().flat_map(|r| r.env).collect();
    for name in &documented {
        assert!(
            known.contains(&name.as_str()),
            "{name} is not read by the code"
        );
    }
    for name in known.iter().filter(|n| n.starts_with("KMS_")) {
        assert!(
            documented.iter().any(|d| d == name),
            "{name} is not documented"
        );
    }
}
