//! Which file a destination or sink path names, so that two spellings of one file (`./x/out` and
//! `x/out`, `x/../x/out`, `x//out`, a symlinked directory) are found to clash.
//!
//! The agent replaces a file by renaming a temporary file over its name, so what identifies the
//! file it writes is the directory entry: the parent directory (by device and inode when it exists,
//! which sees through every symlink and `..`) and the final name. A parent that does not exist yet
//! is compared by its absolute, lexically cleaned path.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// The directory entry a path names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileIdentity {
    /// The parent directory exists: its device and inode, and the entry's name.
    Entry { dev: u64, ino: u64, name: OsString },
    /// The parent does not exist (yet): the cleaned absolute path.
    Path(PathBuf),
}

/// The identity of `path`, relative paths taken from `cwd`.
pub fn file_identity(path: &Path, cwd: &Path) -> FileIdentity {
    let absolute = clean(&cwd.join(path));
    if let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) {
        if let Ok(meta) = std::fs::metadata(parent) {
            return FileIdentity::Entry {
                dev: meta.dev(),
                ino: meta.ino(),
                name: name.to_os_string(),
            };
        }
    }
    FileIdentity::Path(absolute)
}

/// Lexical cleaning as Go's `filepath.Clean`: no `.`, no doubled separators, `..` taken against
/// the component before it (wrong only through a symlink in a parent that does not exist, where
/// nothing better is known).
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(part);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_one_file_has_one_identity() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("x")).unwrap();
        std::os::unix::fs::symlink(root.join("x"), root.join("link")).unwrap();
        let plain = file_identity(Path::new("x/out"), root);
        for spelling in ["./x/out", "x//out", "x/./out", "x/../x/out", "link/out"] {
            assert_eq!(
                file_identity(Path::new(spelling), root),
                plain,
                "{spelling}"
            );
        }
        let absolute = root.join("x/out");
        assert_eq!(file_identity(&absolute, Path::new("/elsewhere")), plain);
        assert_ne!(file_identity(Path::new("x/other"), root), plain);
        assert_ne!(file_identity(Path::new("out"), root), plain);
    }

    #[test]
    fn a_parent_that_does_not_exist_is_compared_by_its_cleaned_path() {
        let root = Path::new("/nonexistent-kms-test");
        let a = file_identity(Path::new("./a/b/../out"), root);
        assert_eq!(a, file_identity(Path::new("a//out"), root));
        assert_eq!(
            a,
            FileIdentity::Path(PathBuf::from("/nonexistent-kms-test/a/out"))
        );
        assert_ne!(a, file_identity(Path::new("a/b/out"), root));
    }
}
