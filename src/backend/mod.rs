//! The runtime's view of the KMS: the [`Authenticator`](crate::auth::Authenticator),
//! [`SecretFetcher`](crate::fetch::SecretFetcher) and [`LeaseApi`](crate::leases::LeaseApi)
//! interfaces, implemented with the KMS client and the configured auth method.

mod authenticator;
mod fetcher;
mod leases;

pub use authenticator::KmsAuthenticator;
pub use fetcher::KmsFetcher;
pub use leases::KmsLeases;

use crate::client::ApiError;

/// An API error as a message that is safe to log: the client's errors carry method, route,
/// status and the server's message, never a token or a secret value.
fn describe(error: &ApiError) -> String {
    error.to_string()
}
