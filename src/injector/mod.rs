//! `kms injector`: the Kubernetes agent injector, a mutating admission webhook that adds the agent
//! to annotated pods (docs/injector.md).
//!
//! - [`annotations`]: a pod's annotations read and checked as the injector's settings.
//! - [`patch`]: the JSONPatch that adds the volumes, mounts and agent containers.
//! - [`review`]: one `AdmissionReview` in, its answer out.
//! - [`server`]: the HTTPS server, its limits and its certificate reloading.

pub mod annotations;
pub mod patch;
pub mod review;
pub mod server;
