//! File permissions written as octal strings. `"0600"`, `"600"` and `"0o600"` all mean
//! `rw-------`. The digits are always read as octal, quoted or not, so the unquoted YAML `0600`
//! (an integer 600 to a YAML 1.2 reader) means what its author meant. Only the permission bits
//! (at most `0777`) are accepted: setuid, setgid and sticky bits make no sense on secret files.

/// Why a permissions string was rejected. Messages never repeat the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionsError {
    #[error("permissions must be 3 octal digits with an optional leading 0, e.g. \"0600\"")]
    Malformed,
    #[error("permissions must not exceed 0777 (no setuid, setgid or sticky bit)")]
    TooLarge,
}

/// Parses an octal mode string into its bits.
pub fn parse_permissions(text: &str) -> Result<u32, PermissionsError> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0o")
        .or_else(|| text.strip_prefix("0O"))
        .unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(PermissionsError::Malformed);
    }
    let mode = u32::from_str_radix(digits, 8).map_err(|_| PermissionsError::Malformed)?;
    if digits.len() == 4 && !digits.starts_with('0') || mode > 0o777 {
        return Err(PermissionsError::TooLarge);
    }
    if digits.len() < 3 {
        return Err(PermissionsError::Malformed);
    }
    Ok(mode)
}

/// Formats a mode as four octal digits (`0600`).
pub fn format_permissions(mode: u32) -> String {
    format!("{mode:04o}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_octal_spellings() {
        assert_eq!(parse_permissions("0600"), Ok(0o600));
        assert_eq!(parse_permissions("600"), Ok(0o600));
        assert_eq!(parse_permissions("0o640"), Ok(0o640));
        assert_eq!(parse_permissions("0644"), Ok(0o644));
        assert_eq!(parse_permissions("0000"), Ok(0));
        assert_eq!(parse_permissions("777"), Ok(0o777));
    }

    #[test]
    fn rejects_bad_modes() {
        assert_eq!(parse_permissions(""), Err(PermissionsError::Malformed));
        assert_eq!(parse_permissions("0608"), Err(PermissionsError::Malformed));
        assert_eq!(
            parse_permissions("rw-------"),
            Err(PermissionsError::Malformed)
        );
        assert_eq!(parse_permissions("60"), Err(PermissionsError::Malformed));
        assert_eq!(parse_permissions("00600"), Err(PermissionsError::Malformed));
        assert_eq!(parse_permissions("-600"), Err(PermissionsError::Malformed));
        assert_eq!(parse_permissions("4755"), Err(PermissionsError::TooLarge));
        assert_eq!(parse_permissions("1777"), Err(PermissionsError::TooLarge));
    }

    #[test]
    fn formats_four_digits() {
        assert_eq!(format_permissions(0o600), "0600");
        assert_eq!(format_permissions(0o44), "0044");
    }
}
