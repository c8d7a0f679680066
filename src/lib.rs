//! kms-agent: a daemon that delivers secrets from a Hanzo KMS (Infisical-compatible) server to
//! files, and keeps an access token fresh for other programs.
//!
//! Layout: everything under `src/` is plain logic that can be tested without actors or a network
//! (config, the KMS client, template engines, atomic file writes, backoff). The actor runtime that
//! wires those pieces together is its own crate (`actors/`, `kms_agent_runtime`), which depends on
//! this one and never the other way round; the `kms` binary (`cli/`) joins the two (see README,
//! "Architecture").

pub mod answer_reuse;
pub mod auth;
pub mod backend;
pub mod backoff;
pub mod cache;
pub mod child;
pub mod client;
pub mod config;
pub mod devserver;
pub mod dry_run;
pub mod exec;
pub mod fetch;
pub mod fsutil;
pub mod init_process;
pub mod injector;
pub mod last_write;
pub mod leases;
pub mod logging;
pub mod malloc_arenas;
pub mod process_hardening;
pub mod reload_plan;
pub mod restart_policy;
pub mod round_alarm;
pub mod round_grid;
pub mod sensitive;
pub mod server_numbers;
pub mod signals;
pub mod single_flight;
pub mod telemetry;
pub mod template;
pub mod tls_pem;
pub mod token_lifecycle;
