//! kms-agent: a daemon that delivers secrets from a Hanzo KMS (Infisical-compatible) server to
//! files, and keeps an access token fresh for other programs.
//!
//! Layout: everything under `src/` is plain logic that can be tested without actors or a network
//! (config, the KMS client, template engines, atomic file writes, backoff); the actor runtime that
//! wires those pieces together lives in the top-level `actors/` folder and is compiled into this
//! same library as the `actors` module (see README, "Architecture").

pub mod cli;
pub mod client;
pub mod config;
pub mod devserver;
pub mod logging;
pub mod sensitive;
pub mod template;

#[path = "../actors/mod.rs"]
pub mod actors;
