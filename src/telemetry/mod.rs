//! What operators can observe: Prometheus metrics, readiness, and the HTTP listener serving them.

pub mod listener;
pub mod metrics;
pub mod outside_text;
pub mod readiness;
pub mod redaction;

pub use metrics::Metrics;
pub use readiness::Readiness;
