//! The typed KMS API client (Infisical-compatible wire contract, `shared/kms-api.md`).
