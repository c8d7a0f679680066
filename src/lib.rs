//! kms-agent: a daemon that delivers secrets from a Hanzo KMS (Infisical-compatible) server to
//! files, and keeps an access token fresh for other programs.
//!
//! Layout: everything under `src/` is plain logic that can be tested without actors or a network
//! (config, the KMS client, template engines, atomic file writes, backoff); the actor runtime that
//! wires those pieces together lives in the top-level `actors/` folder and is compiled into this
//! same library as the `actors` module (see README, "Architecture").

pub mod auth;
pub mod backend;
pub mod backoff;
pub mod cache;
pub mod cli;
pub mod client;
pub mod config;
pub mod devserver;
pub mod dry_run;
pub mod exec;
pub mod fetch;
pub mod fsutil;
pub mod last_write;
pub mod leases;
pub mod logging;
pub mod process_hardening;
pub mod restart_policy;
pub mod sensitive;
pub mod server_numbers;
pub mod signals;
pub mod telemetry;
pub mod template;
pub mod token_lifecycle;

#[path = "../actors/mod.rs"]
pub mod actors;
