//! The cache key: derived with HKDF-SHA256 from key material read from a file (the Kubernetes
//! service-account token, or a dedicated key file), never stored anywhere.
//!
//! One piece of material gives three independent outputs: the AEAD key, a key for the keyed hash
//! that names entry files (so a file name reveals nothing about the lease it holds), and a short
//! fingerprint that tells whether the material changed (and which key sealed a file) without
//! revealing the key.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Fixed HKDF salt: separates this use of the material from any other.
const HKDF_SALT: &[u8] = b"kms-agent lease cache v1";
const INFO_AEAD_KEY: &[u8] = b"aead key (xchacha20-poly1305)";
const INFO_NAME_KEY: &[u8] = b"entry file name key (hmac-sha256)";
const INFO_FINGERPRINT: &[u8] = b"key fingerprint";

/// Minimum length of a `file` key (after trimming surrounding whitespace): 32 bytes, e.g. the
/// output of `openssl rand -hex 32` or `head -c 32 /dev/urandom`.
pub const MIN_KEY_FILE_LEN: usize = 32;

/// Length of a [`KeyFingerprint`] in bytes.
pub const FINGERPRINT_LEN: usize = 8;

/// Where the key material comes from (`cache.persistent.type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `kubernetes`: the service-account token file. It rotates; re-read it to notice.
    KubernetesToken(PathBuf),
    /// `file`: a key file of at least [`MIN_KEY_FILE_LEN`] bytes.
    KeyFile(PathBuf),
}

impl KeySource {
    pub fn path(&self) -> &Path {
        match self {
            KeySource::KubernetesToken(p) | KeySource::KeyFile(p) => p,
        }
    }

    /// Reads the material now and derives the key from it. Surrounding ASCII whitespace (a
    /// trailing newline) is not part of the material.
    pub fn read_key(&self) -> Result<CacheKey, KeyError> {
        let path = self.path();
        let raw = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?);
        let material = raw.trim_ascii();
        match self {
            KeySource::KubernetesToken(_) if material.is_empty() => Err(KeyError::Empty {
                path: path.to_path_buf(),
            }),
            KeySource::KeyFile(_) if material.len() < MIN_KEY_FILE_LEN => Err(KeyError::TooShort {
                path: path.to_path_buf(),
                len: material.len(),
                min: MIN_KEY_FILE_LEN,
            }),
            _ => Ok(CacheKey::derive(material)),
        }
    }
}

/// Why the key material could not be used. Names the file, never its content.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the cache key material {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the service-account token file {path} is empty: no cache key can be derived")]
    Empty { path: PathBuf },
    #[error("the cache key file {path} is too short: {len} bytes, at least {min} are needed")]
    TooShort {
        path: PathBuf,
        len: usize,
        min: usize,
    },
}

/// A short, non-secret identifier of the key material (an HKDF output of its own). Equal
/// fingerprints mean the same material, as far as the cache is concerned.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyFingerprint(pub(crate) [u8; FINGERPRINT_LEN]);

impl KeyFingerprint {
    pub fn as_bytes(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.0
    }
}

impl fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyFingerprint({self})")
    }
}

/// The derived keys. `Debug` shows only the fingerprint; the bytes are wiped on drop.
#[derive(Clone)]
pub struct CacheKey {
    aead_key: [u8; 32],
    name_key: [u8; 32],
    fingerprint: KeyFingerprint,
}

impl CacheKey {
    /// Derives the keys from raw material (already read and trimmed).
    pub fn derive(material: &[u8]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), material);
        let mut aead_key = [0u8; 32];
        let mut name_key = [0u8; 32];
        let mut fingerprint = [0u8; FINGERPRINT_LEN];
        // Only fails for outputs longer than 255 * 32 bytes.
        let lengths_ok = hk.expand(INFO_AEAD_KEY, &mut aead_key).is_ok()
            && hk.expand(INFO_NAME_KEY, &mut name_key).is_ok()
            && hk.expand(INFO_FINGERPRINT, &mut fingerprint).is_ok();
        debug_assert!(lengths_ok);
        Self {
            aead_key,
            name_key,
            fingerprint: KeyFingerprint(fingerprint),
        }
    }

    pub fn fingerprint(&self) -> KeyFingerprint {
        self.fingerprint
    }

    pub(crate) fn aead_key(&self) -> &[u8; 32] {
        &self.aead_key
    }

    /// HMAC-SHA256 of `data` under the name key (HKDF-Extract with the key as salt is exactly
    /// HMAC(key, data)).
    pub(crate) fn name_mac(&self, data: &[u8]) -> [u8; 32] {
        let (prk, _) = Hkdf::<Sha256>::extract(Some(&self.name_key), data);
        prk.into()
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheKey")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Drop for CacheKey {
    fn drop(&mut self) {
        self.aead_key.zeroize();
        self.name_key.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn derivation_is_deterministic_and_material_sensitive() {
        let a = CacheKey::derive(b"token-one");
        let b = CacheKey::derive(b"token-one");
        let c = CacheKey::derive(b"token-two");
        assert_eq!(a.aead_key(), b.aead_key());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.aead_key(), c.aead_key());
        assert_ne!(a.fingerprint(), c.fingerprint());
        // The three outputs are independent of each other.
        assert_ne!(a.aead_key(), &a.name_key);
        assert_ne!(&a.aead_key()[..FINGERPRINT_LEN], a.fingerprint().as_bytes());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = CacheKey::derive(b"material");
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.fingerprint().to_string()), "{shown}");
        let hex: String = key.aead_key().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex[..8]), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &key.aead_key()[..4])));
    }

    #[test]
    fn kubernetes_token_is_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        fs::write(&path, b"eyJhbGciOi.token\n").unwrap();
        let key = KeySource::KubernetesToken(path.clone()).read_key().unwrap();
        assert_eq!(
            key.fingerprint(),
            CacheKey::derive(b"eyJhbGciOi.token").fingerprint()
        );

        fs::write(&path, b" \n").unwrap();
        let err = KeySource::KubernetesToken(path.clone())
            .read_key()
            .unwrap_err();
        assert!(matches!(err, KeyError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("token"), "{err}");
    }

    #[test]
    fn key_file_must_be_long_enough_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.key");
        fs::write(&path, b"short-secret-material\n").unwrap();
        let err = KeySource::KeyFile(path.clone()).read_key().unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, KeyError::TooShort { len: 21, .. }), "{msg}");
        assert!(msg.contains("cache.key"), "{msg}");
        assert!(!msg.contains("short-secret-material"), "{msg}");

        fs::write(&path, [b'k'; MIN_KEY_FILE_LEN]).unwrap();
        assert!(KeySource::KeyFile(path.clone()).read_key().is_ok());

        let missing = KeySource::KeyFile(dir.path().join("missing.key"))
            .read_key()
            .unwrap_err();
        assert!(matches!(missing, KeyError::Read { .. }));
        assert!(missing.to_string().contains("missing.key"), "{missing}");
    }
}
