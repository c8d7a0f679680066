//! Reading a credential from a file: trimmed, read afresh each time (projected tokens rotate),
//! and a missing or empty file is an error naming the path.

use std::path::Path;

use super::MethodError;
use crate::sensitive::Sensitive;

/// The trimmed contents of the credential file at `path`; `what` names it in errors
/// ("Kubernetes service-account token file", ...).
pub(crate) async fn read_credential_file(
    what: &'static str,
    path: &Path,
) -> Result<Sensitive<String>, MethodError> {
    let raw = tokio::fs::read(path)
        .await
        .map_err(|e| MethodError::FileUnreadable {
            what,
            path: path.to_path_buf(),
            reason: io_reason(&e),
        })?;
    let text = String::from_utf8(raw).map_err(|_| MethodError::FileInvalid {
        what,
        path: path.to_path_buf(),
        reason: "it is not UTF-8 text".to_string(),
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(MethodError::FileEmpty {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(Sensitive::new(trimmed.to_string()))
}

/// An I/O error's kind in words, without the OS text's "(os error N)" noise.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => err.to_string(),
    }
}
