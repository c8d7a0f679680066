//! Sprig's numbers (int64, float64, the f-suffixed float arithmetic, max, min, ceil, round, ...), with Sprig's semantics.

use super::builtins::Sig;
use super::value::Value;

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[];

/// The Go signature of a function of this family.
pub fn signature(_name: &str) -> Option<Sig> {
    None
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, _a: &[Value]) -> Result<Value, String> {
    Err(format!("{name} is not a Sprig function"))
}
