//! The agent configuration: raw YAML, then a validated [`Config`] with real types.
