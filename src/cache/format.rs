//! The on-disk format of one cache entry (version 1), and the name of its file.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "KMSL"
//!      4     1  format version (1)
//!      5     8  fingerprint of the key that sealed it
//!     13    24  XChaCha20-Poly1305 nonce (random per write)
//!     37     n  ciphertext of the JSON-encoded CachedLease, then the 16-byte tag
//! ```
//!
//! The associated data is the 37-byte header followed by the file name, so a header edit, a
//! byte flip anywhere, or a file renamed onto another entry's name fails authentication.
//! The file name is `<first 16 bytes of HMAC-SHA256(name key, lease key) in hex>.lease`: it
//! reveals nothing about which secret the entry holds.

use std::fmt;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::entry::LeaseKey;
use super::key::{CacheKey, KeyFingerprint, FINGERPRINT_LEN};

pub const MAGIC: &[u8; 4] = b"KMSL";
pub const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
pub const HEADER_LEN: usize = MAGIC.len() + 1 + FINGERPRINT_LEN + NONCE_LEN;
/// Suffix of every entry file.
pub const FILE_SUFFIX: &str = ".lease";
const NAME_HEX_LEN: usize = 32;
/// Length of an entry file name.
pub const ENTRY_NAME_LEN: usize = NAME_HEX_LEN + FILE_SUFFIX.len();
/// A larger file is not ours: it is dropped without being read whole.
pub const MAX_FILE_LEN: u64 = 1 << 20;

/// The file name of the entry for `lease` under `key`.
pub fn file_name(key: &CacheKey, lease: &LeaseKey) -> String {
    // A tuple, not the struct, so the bytes never depend on field names or serde attributes.
    let canonical = serde_json::to_vec(&(
        &lease.project_slug,
        &lease.environment,
        &lease.path,
        &lease.name,
        &lease.ttl,
    ))
    .unwrap_or_default();
    let mac = key.name_mac(&canonical);
    let mut name = String::with_capacity(NAME_HEX_LEN + FILE_SUFFIX.len());
    for b in &mac[..NAME_HEX_LEN / 2] {
        name.push_str(&format!("{b:02x}"));
    }
    name.push_str(FILE_SUFFIX);
    name
}

/// Whether `name` has the shape of an entry file name (other files in the directory are left
/// alone).
pub fn is_entry_file_name(name: &str) -> bool {
    name.strip_suffix(FILE_SUFFIX).is_some_and(|stem| {
        stem.len() == NAME_HEX_LEN
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Whether `name` is a temporary file left by an interrupted atomic write of an entry
/// (`.<entry name>.<random>.tmp`, see `fsutil::write_atomic`).
pub fn is_leftover_temp_name(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|rest| {
            rest.get(..ENTRY_NAME_LEN).is_some_and(is_entry_file_name)
                && rest[ENTRY_NAME_LEN..].starts_with('.')
        })
}

/// Why an entry file cannot be opened. None of these reveal content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Shorter than a header and a tag.
    Truncated {
        len: usize,
    },
    NotACacheFile,
    UnsupportedVersion(u8),
    /// Sealed with a key of another fingerprint (the key material changed).
    OtherKey(KeyFingerprint),
    /// Authentication failed: the file was modified, corrupted or renamed.
    Tampered,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Truncated { len } => write!(f, "truncated ({len} bytes)"),
            OpenError::NotACacheFile => f.write_str("not a cache entry (bad magic bytes)"),
            OpenError::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            OpenError::OtherKey(fp) => write!(
                f,
                "sealed with another key (fingerprint {fp}); the key material changed"
            ),
            OpenError::Tampered => {
                f.write_str("authentication failed (modified, corrupted or renamed)")
            }
        }
    }
}

/// The parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub fingerprint: KeyFingerprint,
}

/// Reads the header without decrypting.
pub fn read_header(bytes: &[u8]) -> Result<Header, OpenError> {
    if bytes.len() < HEADER_LEN + TAG_LEN {
        if bytes.len() >= MAGIC.len() && &bytes[..MAGIC.len()] != MAGIC {
            return Err(OpenError::NotACacheFile);
        }
        return Err(OpenError::Truncated { len: bytes.len() });
    }
    if &bytes[..MAGIC.len()] != MAGIC {
        return Err(OpenError::NotACacheFile);
    }
    let version = bytes[MAGIC.len()];
    if version != FORMAT_VERSION {
        return Err(OpenError::UnsupportedVersion(version));
    }
    let mut fp = [0u8; FINGERPRINT_LEN];
    fp.copy_from_slice(&bytes[MAGIC.len() + 1..MAGIC.len() + 1 + FINGERPRINT_LEN]);
    Ok(Header {
        version,
        fingerprint: KeyFingerprint(fp),
    })
}

/// Encrypts `plaintext` for the file `file_name`. Fails only for absurd sizes.
pub fn seal(key: &CacheKey, file_name: &str, plaintext: &[u8]) -> Option<Vec<u8>> {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(key.fingerprint().as_bytes());
    out.extend_from_slice(&nonce);
    let aad = associated_data(&out, file_name);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.aead_key()));
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .ok()?;
    out.extend_from_slice(&ciphertext);
    Some(out)
}

/// Decrypts the file `file_name` whose content is `bytes`.
pub fn open(
    key: &CacheKey,
    file_name: &str,
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let header = read_header(bytes)?;
    if header.fingerprint != key.fingerprint() {
        return Err(OpenError::OtherKey(header.fingerprint));
    }
    let (head, ciphertext) = bytes.split_at(HEADER_LEN);
    let nonce = XNonce::from_slice(&head[HEADER_LEN - NONCE_LEN..]);
    let aad = associated_data(head, file_name);
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key.aead_key()));
    cipher
        .decrypt(
            nonce,
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| OpenError::Tampered)
}

fn associated_data(header: &[u8], file_name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + file_name.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(file_name.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::entry::tests::lease;

    #[test]
    fn seal_then_open_round_trips_and_nonces_differ() {
        let key = CacheKey::derive(b"material");
        let a = seal(&key, "n.lease", b"hello").unwrap();
        let b = seal(&key, "n.lease", b"hello").unwrap();
        assert_ne!(a, b, "a fresh nonce per write");
        assert_eq!(&a[..4], MAGIC);
        assert_eq!(a[4], FORMAT_VERSION);
        assert_eq!(&open(&key, "n.lease", &a).unwrap()[..], b"hello");
    }

    #[test]
    fn every_flipped_byte_and_a_rename_are_detected() {
        let key = CacheKey::derive(b"material");
        let sealed = seal(&key, "n.lease", b"payload").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(
                open(&key, "n.lease", &bad).is_err(),
                "flip at {i} undetected"
            );
        }
        assert_eq!(open(&key, "m.lease", &sealed), Err(OpenError::Tampered));
        assert!(matches!(
            open(&key, "n.lease", &sealed[..HEADER_LEN + 3]),
            Err(OpenError::Truncated { .. })
        ));
        assert_eq!(
            open(
                &key,
                "n.lease",
                b"something else entirely, long enough to hold a header"
            ),
            Err(OpenError::NotACacheFile)
        );
    }

    #[test]
    fn another_key_is_recognised_by_its_fingerprint() {
        let old = CacheKey::derive(b"old");
        let new = CacheKey::derive(b"new");
        let sealed = seal(&old, "n.lease", b"payload").unwrap();
        assert_eq!(
            open(&new, "n.lease", &sealed),
            Err(OpenError::OtherKey(old.fingerprint()))
        );
        let mut future = sealed.clone();
        future[4] = 2;
        assert_eq!(
            open(&old, "n.lease", &future),
            Err(OpenError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn file_names_are_keyed_hashes_of_the_whole_lease_key() {
        let key = CacheKey::derive(b"material");
        let l = lease("pg", 0, "pw");
        let name = file_name(&key, &l.key);
        assert!(is_entry_file_name(&name), "{name}");
        assert_eq!(name, file_name(&key, &l.key));
        assert!(!name.contains("pg") && !name.contains("shop"));
        let mut other = l.key.clone();
        other.ttl = None;
        assert_ne!(name, file_name(&key, &other));
        assert_ne!(name, file_name(&CacheKey::derive(b"other"), &l.key));
        assert!(!is_entry_file_name("notes.txt"));
        assert!(!is_entry_file_name(&name.to_uppercase()));
        assert!(!is_entry_file_name(&format!(".{name}.abc.tmp")));
        assert!(is_leftover_temp_name(&format!(".{name}.abc123.tmp")));
        assert!(!is_leftover_temp_name(&format!(".{name}.tmp")));
        assert!(!is_leftover_temp_name(".notes.txt.abc.tmp"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_open_and_never_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            keep_magic in proptest::bool::ANY,
        ) {
            let key = CacheKey::derive(b"material");
            let mut bytes = bytes;
            if keep_magic && bytes.len() >= HEADER_LEN {
                bytes[..4].copy_from_slice(MAGIC);
                bytes[4] = FORMAT_VERSION;
                bytes[5..13].copy_from_slice(key.fingerprint().as_bytes());
            }
            proptest::prop_assert!(open(&key, "n.lease", &bytes).is_err());
        }
    }
}
