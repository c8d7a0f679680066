//! Remembering what the agent last wrote to a destination, so that an unchanged render costs one
//! `stat` instead of reading the file back every round (with 10,000 templates polled every few
//! seconds, the reads were a large share of the agent's CPU time).
//!
//! The file is trusted to still hold the remembered bytes only while its identity and timestamps
//! are exactly as they were right after the write: same device and inode, size, mode,
//! modification and status-change times (nanoseconds). Any edit, `chmod`, truncation or
//! replacement by another program changes at least one of them, and the next round falls back to
//! reading and comparing the whole file (and rewrites it if it differs).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fsutil::{write_if_changed, WriteError, WriteOutcome};

/// The identity and timestamps of a file, as `stat` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mode: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        // `symlink_metadata`: a destination that became a symlink must not look unchanged.
        let m = std::fs::symlink_metadata(path).ok()?;
        m.file_type().is_file().then(|| FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mode: m.mode() & 0o7777,
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// What was last written to (or found in) one destination. Holds a SHA-256 digest of the
/// contents, never the contents: a secret stays in the file only.
#[derive(Debug, Clone, Default)]
pub struct LastWrite {
    last: Option<(/* digest */ [u8; 32], FileStamp)>,
}

impl LastWrite {
    /// Like [`write_if_changed`], but when `contents` equal what was last written and the file
    /// is untouched since, answers `Unchanged` after a single `stat`.
    pub fn write_if_changed(
        &mut self,
        path: &Path,
        contents: &[u8],
        mode: u32,
    ) -> Result<WriteOutcome, WriteError> {
        if self.is_current(path, contents, mode) {
            return Ok(WriteOutcome::Unchanged);
        }
        let digest: [u8; 32] = Sha256::digest(contents).into();
        self.last = None;
        let outcome = write_if_changed(path, contents, mode)?;
        // Taken after the write: the stamp describes the file holding exactly `contents`.
        self.last = FileStamp::of(path).map(|stamp| (digest, stamp));
        Ok(outcome)
    }
}

impl LastWrite {
    /// Whether the file still holds exactly `contents` with `mode`, as last written: one `stat`,
    /// cheap enough for an async task to call without moving to a blocking thread.
    pub fn is_current(&self, path: &Path, contents: &[u8], mode: u32) -> bool {
        let Some((last_digest, stamp)) = &self.last else {
            return false;
        };
        stamp.len == contents.len() as u64
            && self.is_untouched(path, mode)
            && *last_digest == <[u8; 32]>::from(Sha256::digest(contents))
    }

    /// Whether the file is untouched since the last write and has `mode`: one `stat`. It then
    /// holds exactly the bytes last written (for a caller that knows they would not change).
    pub fn is_untouched(&self, path: &Path, mode: u32) -> bool {
        self.last.as_ref().is_some_and(|(_, stamp)| {
            stamp.mode == mode && FileStamp::of(path).as_ref() == Some(stamp)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn unchanged_content_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut last = LastWrite::default();
        assert_eq!(
            last.write_if_changed(&path, b"v1", 0o600).unwrap(),
            WriteOutcome::Written
        );
        let inode = fs::metadata(&path).unwrap().ino();
        assert!(last.is_current(&path, b"v1", 0o600));
        assert!(!last.is_current(&path, b"v2", 0o600));
        assert!(!last.is_current(&path, b"v1", 0o644));
        assert_eq!(
            last.write_if_changed(&path, b"v1", 0o600).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
        assert_eq!(
            last.write_if_changed(&path, b"v2", 0o600).unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(fs::read(&path).unwrap(), b"v2");
    }

    #[test]
    fn a_file_edited_by_someone_else_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut last = LastWrite::default();
        last.write_if_changed(&path, b"secret-v1", 0o600).unwrap();
        // Same length, so only the timestamps tell.
        fs::write(&path, b"tampered!").unwrap();
        assert_eq!(
            last.write_if_changed(&path, b"secret-v1", 0o600).unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(fs::read(&path).unwrap(), b"secret-v1");
    }

    #[test]
    fn untouched_means_as_last_written_with_the_same_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut last = LastWrite::default();
        assert!(!last.is_untouched(&path, 0o600), "nothing written yet");
        last.write_if_changed(&path, b"secret-v1", 0o600).unwrap();
        assert!(last.is_untouched(&path, 0o600));
        assert!(
            !last.is_untouched(&path, 0o640),
            "another mode is asked for"
        );
        fs::write(&path, b"tampered!").unwrap();
        assert!(!last.is_untouched(&path, 0o600), "edited by someone else");
        last.write_if_changed(&path, b"secret-v1", 0o600).unwrap();
        fs::remove_file(&path).unwrap();
        assert!(!last.is_untouched(&path, 0o600), "deleted");
    }

    #[test]
    fn a_deleted_or_chmodded_file_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let mut last = LastWrite::default();
        last.write_if_changed(&path, b"x", 0o600).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(
            last.write_if_changed(&path, b"x", 0o600).unwrap(),
            WriteOutcome::Written
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            last.write_if_changed(&path, b"x", 0o600).unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_file_already_holding_the_content_is_adopted_without_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        fs::write(&path, b"same").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let mut last = LastWrite::default();
        assert_eq!(
            last.write_if_changed(&path, b"same", 0o600).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(
            last.write_if_changed(&path, b"same", 0o600).unwrap(),
            WriteOutcome::Unchanged
        );
    }
}
