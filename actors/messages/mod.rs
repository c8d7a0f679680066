//! Every message the actors exchange, one file per protocol. Actors depend on these, never on
//! each other: a reply goes through a narrow handle ([`DataReply`] through a
//! `ractor::DerivedActorRef`), so the fetcher and the lease manager do not know what a renderer
//! is. Only the supervisor knows the actors themselves (it starts them).

mod auth;
mod cache;
mod child;
mod exec;
mod fetcher;
mod leases;
mod renderer;
mod supervisor;

pub use auth::AuthMsg;
pub use cache::CacheMsg;
pub use child::ChildMsg;
pub use exec::ExecMsg;
pub use fetcher::{FetchResult, FetcherMsg};
pub use leases::LeaseMsg;
pub use renderer::{DataReply, RendererMsg, ROUND_TIMEOUT};
pub use supervisor::{Child, SupervisorMsg};
