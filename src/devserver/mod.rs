//! `kms dev-server`: a small in-memory KMS that follows `shared/kms-api.md` and `shared/dev-server.md`.
