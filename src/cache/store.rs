//! [`LeaseCache`]: the directory of sealed entry files, one per lease.
//!
//! Every write is atomic (`fsutil::write_atomic`, mode 0600, directory 0700). Reading never
//! fails because of one bad file: an entry that cannot be decrypted, was tampered with or does
//! not parse is removed and reported in [`LoadReport::dropped`].

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use super::entry::{CachedLease, LeaseKey};
use super::format::{self, OpenError};
use super::gc::plan_gc;
use super::key::{CacheKey, KeyFingerprint};
use crate::fsutil::{write_atomic, WriteError};

/// Mode of every entry file.
pub const ENTRY_FILE_MODE: u32 = 0o600;
/// Mode of the cache directory when the cache creates it.
pub const DIR_MODE: u32 = 0o700;
/// A temporary file of an interrupted write older than this is removed.
const LEFTOVER_TEMP_AGE: Duration = Duration::from_secs(60);

/// Why the cache as a whole could not be used. Names paths and leases, never content.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the cache path {path} exists and is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot create the cache directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot list the cache directory {path}: {source}")]
    ReadDir { path: PathBuf, source: io::Error },
    #[error("cannot write the cache entry of lease {lease}: {source}")]
    Write { lease: String, source: WriteError },
    #[error("cannot remove the cache entry {path}: {source}")]
    Remove { path: PathBuf, source: io::Error },
    #[error("cannot encode the cache entry of lease {lease}")]
    Encode { lease: String },
}

/// Why one entry file was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Could not be read (left in place: the error may be transient).
    Unreadable(io::ErrorKind),
    TooLarge {
        len: u64,
    },
    /// Not a regular file (a symlink, FIFO or device planted under an entry's name): never read.
    NotRegular(&'static str),
    /// Not decryptable with the current key, or not authentic.
    Sealed(OpenError),
    /// Decrypted, but not a lease (position only: the parser's message could quote content).
    Unparsable {
        line: usize,
        column: usize,
    },
    /// Authentic, but holds a lease whose name is not this file's (never written by us).
    MisplacedEntry,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::Unreadable(kind) => write!(f, "cannot be read ({kind}); left in place"),
            DropReason::TooLarge { len } => write!(f, "too large for an entry ({len} bytes)"),
            DropReason::NotRegular(what) => write!(f, "is a {what}, not a regular file"),
            DropReason::Sealed(e) => e.fmt(f),
            DropReason::Unparsable { line, column } => write!(
                f,
                "decrypted but not a valid lease (line {line}, column {column})"
            ),
            DropReason::MisplacedEntry => f.write_str("holds the entry of another file name"),
        }
    }
}

/// An entry file that was dropped, and whether its removal worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedFile {
    pub file_name: String,
    pub reason: DropReason,
    pub removed: bool,
}

/// Result of [`LeaseCache::load_all`].
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Sorted by lease key.
    pub entries: Vec<CachedLease>,
    pub dropped: Vec<DroppedFile>,
}

/// Result of [`LeaseCache::gc`].
#[derive(Debug, Default)]
pub struct GcReport {
    /// Evicted because expired or about to expire.
    pub stale: Vec<LeaseKey>,
    /// Evicted because the cache was over its size limit.
    pub over_limit: Vec<LeaseKey>,
    /// Unreadable files found on the way (see [`LoadReport::dropped`]).
    pub dropped: Vec<DroppedFile>,
    /// Entries left.
    pub remaining: usize,
}

/// Result of [`LeaseCache::reseal`].
#[derive(Debug, Default)]
pub struct ResealReport {
    pub resealed: usize,
    pub dropped: Vec<DroppedFile>,
}

/// The persistent lease cache in one directory, under one key.
pub struct LeaseCache {
    dir: PathBuf,
    key: CacheKey,
}

impl std::fmt::Debug for LeaseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseCache")
            .field("dir", &self.dir)
            .field("key", &self.key)
            .finish()
    }
}

impl LeaseCache {
    /// Uses `dir`, creating it (mode 0700) when missing. An existing directory is not chmod-ed
    /// (it may be shared); a warning says when others can list it.
    pub fn open(dir: impl Into<PathBuf>, key: CacheKey) -> Result<Self, CacheError> {
        let dir = dir.into();
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        dir = %dir.display(),
                        "the cache directory is accessible to other users (entries stay encrypted and 0600)"
                    );
                }
            }
            Ok(_) => return Err(CacheError::NotADirectory { path: dir }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DIR_MODE)
                    .create(&dir)
                    .map_err(|source| CacheError::CreateDir {
                        path: dir.clone(),
                        source,
                    })?;
            }
            Err(source) => return Err(CacheError::CreateDir { path: dir, source }),
        }
        Ok(Self { dir, key })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Fingerprint of the key entries are sealed with now.
    pub fn key_fingerprint(&self) -> KeyFingerprint {
        self.key.fingerprint()
    }

    /// Every readable entry. Bad files are removed and reported, never an error; only an
    /// unlistable directory is.
    pub fn load_all(&self) -> Result<LoadReport, CacheError> {
        let mut report = LoadReport::default();
        for name in self.entry_file_names()? {
            match self.read_entry(&self.key, &name) {
                Ok(lease) => report.entries.push(lease),
                Err(reason) => report.dropped.push(self.drop_file(name, reason)),
            }
        }
        report.entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(report)
    }

    /// Stores (or replaces) the entry of `lease.key`, atomically.
    pub fn put(&self, lease: &CachedLease) -> Result<(), CacheError> {
        let name = format::file_name(&self.key, &lease.key);
        let sealed = seal_lease(&self.key, &name, lease)?;
        write_atomic(&self.dir.join(&name), &sealed, ENTRY_FILE_MODE).map_err(|source| {
            CacheError::Write {
                lease: lease.key.to_string(),
                source,
            }
        })
    }

    /// Removes the entry of `key`; `false` when there was none.
    pub fn remove(&self, key: &LeaseKey) -> Result<bool, CacheError> {
        let path = self.dir.join(format::file_name(&self.key, key));
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(CacheError::Remove { path, source }),
        }
    }

    /// Evicts entries that expire within `stale_margin` of `now_unix_ms`, then, while more than
    /// `max_entries` remain, those closest to expiry.
    pub fn gc(
        &self,
        now_unix_ms: i64,
        stale_margin: Duration,
        max_entries: usize,
    ) -> Result<GcReport, CacheError> {
        let loaded = self.load_all()?;
        let plan = plan_gc(&loaded.entries, now_unix_ms, stale_margin, max_entries);
        for key in plan.stale.iter().chain(&plan.over_limit) {
            self.remove(key)?;
        }
        Ok(GcReport {
            remaining: loaded.entries.len() - plan.stale.len() - plan.over_limit.len(),
            stale: plan.stale,
            over_limit: plan.over_limit,
            dropped: loaded.dropped,
        })
    }

    /// Re-encrypts every entry under `new_key` (the key material rotated) and keeps using it.
    ///
    /// All new files are written before any old one is removed; if a write fails, the new files
    /// are removed again and the cache stays under the current key (try again later). File
    /// names depend on the key, so old and new files never overwrite each other. Entries
    /// already sealed with `new_key` (an earlier, interrupted reseal) are kept as they are.
    pub fn reseal(&mut self, new_key: CacheKey) -> Result<ResealReport, CacheError> {
        let mut report = ResealReport::default();
        if new_key.fingerprint() == self.key.fingerprint() {
            return Ok(report);
        }
        let mut to_move = vec![];
        for name in self.entry_file_names()? {
            let already_new = self
                .read_header(&name)
                .is_some_and(|h| h.fingerprint == new_key.fingerprint());
            let key = if already_new { &new_key } else { &self.key };
            match self.read_entry(key, &name) {
                Ok(_) if already_new => {}
                Ok(lease) => to_move.push((name, lease)),
                Err(reason) => report.dropped.push(self.drop_file(name, reason)),
            }
        }

        let mut written: Vec<PathBuf> = vec![];
        for (_, lease) in &to_move {
            let name = format::file_name(&new_key, &lease.key);
            let path = self.dir.join(&name);
            let result = seal_lease(&new_key, &name, lease).and_then(|sealed| {
                write_atomic(&path, &sealed, ENTRY_FILE_MODE).map_err(|source| CacheError::Write {
                    lease: lease.key.to_string(),
                    source,
                })
            });
            if let Err(e) = result {
                for p in &written {
                    let _ = fs::remove_file(p);
                }
                return Err(e);
            }
            written.push(path);
        }
        for (old_name, _) in &to_move {
            if let Err(e) = fs::remove_file(self.dir.join(old_name)) {
                if e.kind() != io::ErrorKind::NotFound {
                    // Harmless: under the new key it is dropped as "sealed with another key".
                    tracing::warn!(file = %old_name, error = %e, "cannot remove a re-sealed cache entry's old file");
                }
            }
        }
        report.resealed = to_move.len();
        self.key = new_key;
        Ok(report)
    }

    /// Entry file names in the directory (sorted); removes old leftovers of interrupted writes.
    fn entry_file_names(&self) -> Result<Vec<String>, CacheError> {
        let read_dir_err = |source| CacheError::ReadDir {
            path: self.dir.clone(),
            source,
        };
        let mut names = vec![];
        for item in fs::read_dir(&self.dir).map_err(read_dir_err)? {
            let item = item.map_err(read_dir_err)?;
            let Ok(name) = item.file_name().into_string() else {
                continue;
            };
            if format::is_entry_file_name(&name) {
                names.push(name);
            } else if format::is_leftover_temp_name(&name) && is_old(&item) {
                let _ = fs::remove_file(item.path());
            }
        }
        names.sort();
        Ok(names)
    }

    fn read_header(&self, name: &str) -> Option<format::Header> {
        let bytes = read_entry_file(&self.dir.join(name)).ok()?;
        format::read_header(&bytes).ok()
    }

    fn read_entry(&self, key: &CacheKey, name: &str) -> Result<CachedLease, DropReason> {
        let bytes = read_entry_file(&self.dir.join(name))?;
        let plaintext = format::open(key, name, &bytes).map_err(DropReason::Sealed)?;
        let lease: CachedLease =
            serde_json::from_slice(&plaintext).map_err(|e| DropReason::Unparsable {
                line: e.line(),
                column: e.column(),
            })?;
        if format::file_name(key, &lease.key) != name {
            return Err(DropReason::MisplacedEntry);
        }
        Ok(lease)
    }

    /// Removes a bad file (except an unreadable one, which may recover).
    fn drop_file(&self, file_name: String, reason: DropReason) -> DroppedFile {
        let removed = match reason {
            DropReason::Unreadable(_) => false,
            _ => match fs::remove_file(self.dir.join(&file_name)) {
                Ok(()) => true,
                Err(e) => e.kind() == io::ErrorKind::NotFound,
            },
        };
        DroppedFile {
            file_name,
            reason,
            removed,
        }
    }
}

/// Reads an entry file: only a regular file (opened without following a symlink and without
/// blocking on a FIFO), at most [`format::MAX_FILE_LEN`] bytes.
fn read_entry_file(path: &Path) -> Result<Vec<u8>, DropReason> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => DropReason::NotRegular("symlink"),
            _ => DropReason::Unreadable(e.kind()),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| DropReason::Unreadable(e.kind()))?;
    let t = meta.file_type();
    if !t.is_file() {
        return Err(DropReason::NotRegular(if t.is_fifo() {
            "FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "device"
        } else if t.is_socket() {
            "socket"
        } else if t.is_dir() {
            "directory"
        } else {
            "special file"
        }));
    }
    if meta.len() > format::MAX_FILE_LEN {
        return Err(DropReason::TooLarge { len: meta.len() });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(format::MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DropReason::Unreadable(e.kind()))?;
    if bytes.len() as u64 > format::MAX_FILE_LEN {
        return Err(DropReason::TooLarge {
            len: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn seal_lease(key: &CacheKey, name: &str, lease: &CachedLease) -> Result<Vec<u8>, CacheError> {
    let encode_err = || CacheError::Encode {
        lease: lease.key.to_string(),
    };
    let plaintext = Zeroizing::new(serde_json::to_vec(lease).map_err(|_| encode_err())?);
    format::seal(key, name, &plaintext).ok_or_else(encode_err)
}

fn is_old(item: &fs::DirEntry) -> bool {
    item.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > LEFTOVER_TEMP_AGE)
}
