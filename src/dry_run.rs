//! `kms agent --dry-run`: log in, render every template once to stdout (each under a header), and
//! write nothing and run nothing. Leases a template needs are created for the render and revoked
//! right after, so a dry run leaves nothing behind on the server. The `exec` child's environment
//! is shown by its variables' names only: its values are secrets, and stdout may be a log.

use std::collections::HashMap;
use std::io::Write;

use crate::auth::Authenticator;
use crate::fetch::SecretFetcher;
use crate::leases::{LeaseApi, LeaseSpec};
use crate::template::{CompiledTemplate, DataValue, RenderOutcome, Snapshot};

/// Render passes before giving up on a template that keeps asking for new data.
const MAX_PASSES: usize = 10;

/// One template to preview.
pub struct DryRunTemplate<'a> {
    pub id: &'a str,
    pub destination: &'a str,
    pub template: &'a dyn CompiledTemplate,
    /// The output is an environment block (`exec`): print its names, never its values.
    pub names_only: bool,
}

/// Renders each template once and writes the results to `out`. Returns how many failed.
pub async fn dry_run(
    auth: &dyn Authenticator,
    fetcher: &dyn SecretFetcher,
    leases: &dyn LeaseApi,
    templates: &[DryRunTemplate<'_>],
    out: &mut dyn Write,
) -> Result<usize, String> {
    let grant = auth
        .login()
        .await
        .map_err(|e| format!("login failed: {e}"))?;
    let token = grant.access_token;
    let mut snapshot = Snapshot::new();
    let mut created: HashMap<LeaseSpec, String> = HashMap::new();
    let mut failures = 0;

    for t in templates {
        let header = if t.names_only {
            format!(
                "==> {} (the variables the child would get; values are not shown)\n",
                t.id
            )
        } else {
            format!("==> {} (would write {})\n", t.id, t.destination)
        };
        let mut result = Err("the template keeps asking for new data".to_string());
        for _ in 0..MAX_PASSES {
            match t.template.render(&snapshot) {
                Ok(RenderOutcome::Done(bytes)) => {
                    result = Ok(bytes);
                    break;
                }
                Ok(RenderOutcome::NeedData(requests)) => {
                    for request in requests {
                        let answer = match LeaseSpec::from_request(&request) {
                            Some(spec) => match leases.create(&token, &spec).await {
                                Ok(grant) => {
                                    created.insert(spec, grant.info.lease_id.clone());
                                    Ok(DataValue::Credentials(std::sync::Arc::new(
                                        grant.credentials.into_inner(),
                                    )))
                                }
                                Err(e) => Err(e.message),
                            },
                            None => fetcher.fetch(&token, &request).await.map_err(|e| e.message),
                        };
                        snapshot.insert(request, answer);
                    }
                }
                Err(e) => {
                    result = Err(e.message);
                    break;
                }
            }
        }
        let io = |e: std::io::Error| e.to_string();
        out.write_all(header.as_bytes()).map_err(io)?;
        match result {
            Ok(block) if t.names_only => {
                for name in crate::child::env::EnvBlock(&block).names() {
                    use std::os::unix::ffi::OsStrExt as _;
                    out.write_all(name.as_bytes()).map_err(io)?;
                    out.write_all(b"\n").map_err(io)?;
                }
            }
            Ok(bytes) => {
                out.write_all(&bytes).map_err(io)?;
                if !bytes.ends_with(b"\n") {
                    out.write_all(b"\n").map_err(io)?;
                }
            }
            Err(message) => {
                failures += 1;
                tracing::error!(template = t.id, error = %message, "dry run: render failed");
                writeln!(out, "(render failed: {message})").map_err(io)?;
            }
        }
    }

    for (spec, lease_id) in &created {
        if let Err(e) = leases.revoke(&token, spec, lease_id).await {
            tracing::warn!(dynamic_secret = %spec.name, error = %e, "dry run: could not revoke a lease");
        }
    }
    if let Err(e) = auth.revoke(&token).await {
        tracing::debug!(error = %e, "dry run: could not revoke the token");
    }
    Ok(failures)
}
