//! Atomic file replacement: the only way the agent writes a sink, a destination or a cache file.
//!
//! A reader never sees a partial file: the bytes go to a temporary file in the same directory
//! (created with the final mode from the start, so it is never readable by others even for an
//! instant), are flushed with `fsync`, then renamed over the destination; the directory is synced
//! so the rename survives a crash.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a file could not be written. Names the path, never the content.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot write a temporary file in {dir}: {source}")]
    Temp { dir: PathBuf, source: io::Error },
    #[error("cannot replace {path}: {source}")]
    Rename { path: PathBuf, source: io::Error },
    #[error("{path} has no parent directory")]
    NoParent { path: PathBuf },
    #[error(
        "refusing to write {path}: {link} is a symbolic link owned by uid {owner}, which another \
         user may have planted (only links owned by root or by the agent's user are followed)"
    )]
    PlantedLink {
        path: PathBuf,
        link: PathBuf,
        owner: u32,
    },
}

/// Whether [`write_if_changed`] touched the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file already held exactly these bytes (and the mode): nothing was written.
    Unchanged,
    /// The file was created or replaced.
    Written,
}

/// Replaces `path` with `contents` atomically, with permission bits `mode` (e.g. `0o600`).
/// Parent directories are created (mode 0700 for the ones we create).
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = parent_dir(path)?;
    refuse_planted_links(path, dir)?;
    create_dir_all_private(dir)?;

    let temp_err = |source| WriteError::Temp {
        dir: dir.to_path_buf(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name().unwrap_or_default().to_string_lossy()
        ))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(temp_err)?;
    // `permissions` is subject to the umask at creation; set the exact mode before any byte lands.
    fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode)).map_err(temp_err)?;
    temp.write_all(contents).map_err(temp_err)?;
    temp.as_file().sync_all().map_err(temp_err)?;
    temp.persist(path).map_err(|e| WriteError::Rename {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    // Make the rename durable. Failure to sync a directory is not worth failing the write for.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes only when the file's bytes (or its mode) differ from `contents`/`mode`. Anything at
/// `path` that is not a regular file (a symlink, a FIFO, a device) counts as different and is
/// replaced by the rename, never read: reading a planted FIFO blocked the render for good.
pub fn write_if_changed(
    path: &Path,
    contents: &[u8],
    mode: u32,
) -> Result<WriteOutcome, WriteError> {
    if regular_file_holds(path, contents, mode) {
        return Ok(WriteOutcome::Unchanged);
    }
    write_atomic(path, contents, mode)?;
    Ok(WriteOutcome::Written)
}

/// Whether `path` is a regular file with permission bits `mode` holding exactly `contents`:
/// opened without following a symlink or blocking on a FIFO, and never read past
/// `contents.len() + 1` bytes (a file that grew is not read whole).
fn regular_file_holds(path: &Path, contents: &[u8], mode: u32) -> bool {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
        .open(path)
    else {
        return false;
    };
    let Ok(meta) = file.metadata() else {
        return false;
    };
    if !meta.file_type().is_file()
        || meta.permissions().mode() & 0o7777 != mode
        || meta.len() != contents.len() as u64
    {
        return false;
    }
    let mut existing = Vec::with_capacity(contents.len());
    file.take(contents.len() as u64 + 1)
        .read_to_end(&mut existing)
        .is_ok_and(|_| existing == contents)
}

fn parent_dir(path: &Path) -> Result<&Path, WriteError> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(p) => Ok(p),
        None => Err(WriteError::NoParent {
            path: path.to_path_buf(),
        }),
    }
}

/// Refuses a directory path that goes through a symbolic link owned by someone other than root
/// or the agent's user: another user who can create entries in a parent (`/tmp`, a shared
/// directory) could plant one pointing at a directory only the agent can write, and the agent
/// would write there. The kernel's `fs.protected_symlinks` applies the same rule, but only in
/// sticky directories. Links inside a followed link's target are checked too.
fn refuse_planted_links(path: &Path, dir: &Path) -> Result<(), WriteError> {
    let agent = nix::unistd::geteuid().as_raw();
    check_links(dir, agent, 0)
        .map(|_| ())
        .map_err(|(link, owner)| WriteError::PlantedLink {
            path: path.to_path_buf(),
            link,
            owner,
        })
}

/// Most links followed through one path, as the kernel's own limit (`ELOOP`).
const MAX_LINKS_FOLLOWED: usize = 40;

fn check_links(dir: &Path, agent: u32, followed: usize) -> Result<usize, (PathBuf, u32)> {
    use std::os::unix::fs::MetadataExt;
    let mut followed = followed;
    let mut prefix = PathBuf::new();
    for component in dir.components() {
        prefix.push(component);
        let Ok(meta) = fs::symlink_metadata(&prefix) else {
            return Ok(followed); // the rest does not exist yet: it will be created, not followed
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        if meta.uid() != 0 && meta.uid() != agent {
            return Err((prefix, meta.uid()));
        }
        followed += 1;
        if followed > MAX_LINKS_FOLLOWED {
            return Ok(followed); // the kernel refuses the path itself (ELOOP)
        }
        if let Ok(target) = fs::read_link(&prefix) {
            let target = match prefix.parent() {
                Some(parent) if target.is_relative() => parent.join(target),
                _ => target,
            };
            followed = check_links(&target, agent, followed)?;
        }
    }
    Ok(followed)
}

fn create_dir_all_private(dir: &Path) -> Result<(), WriteError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| WriteError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })
}

/// Removes the temporary files an interrupted [`write_atomic`] of `path` left beside it
/// (`.<file name>.<6 random characters>.tmp`, regular files owned by this user): an agent killed
/// mid-write leaves one holding the secret, and nothing else would ever remove it. Returns how
/// many were removed.
pub fn remove_leftover_temps(path: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let (Ok(dir), Some(name)) = (parent_dir(path), path.file_name()) else {
        return 0;
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let uid = nix::unistd::geteuid().as_raw();
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(random) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix.as_str()))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        // tempfile's default: 6 alphanumeric characters.
        if random.len() != 6 || !random.bytes().all(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if meta.file_type().is_file() && meta.uid() == uid && fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Empties a token sink on shutdown: replaces it with an empty file of `mode`, atomically like
/// every write, so that a symlink planted at the sink's path is replaced, never followed (its
/// target keeps its bytes). A missing file is left missing.
pub fn empty_file(path: &Path, mode: u32) -> Result<(), WriteError> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    write_atomic(path, b"", mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_with_the_requested_mode_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/token");
        write_atomic(&path, b"t0k3n", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"t0k3n");
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(mode_of(&dir.path().join("a")), 0o700);
        write_atomic(&path, b"x", 0o640).unwrap();
        assert_eq!(mode_of(&path), 0o640);
    }

    #[test]
    fn write_if_changed_skips_identical_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        assert_eq!(
            write_if_changed(&path, b"v1", 0o600).unwrap(),
            WriteOutcome::Written
        );
        let before = fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(
            write_if_changed(&path, b"v1", 0o600).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), before);
        assert_eq!(
            write_if_changed(&path, b"v2", 0o600).unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(fs::read(&path).unwrap(), b"v2");
        // A mode change alone is a change.
        assert_eq!(
            write_if_changed(&path, b"v2", 0o644).unwrap(),
            WriteOutcome::Written
        );
        assert_eq!(mode_of(&path), 0o644);
    }

    #[test]
    fn no_temporary_files_are_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        for i in 0..5 {
            write_atomic(&path, format!("{i}").as_bytes(), 0o600).unwrap();
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn a_failed_write_reports_the_path_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory where the file should go: the rename must fail (even for root).
        let path = dir.path().join("out");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"old").unwrap();
        let err = write_atomic(&path, b"SECRET-CONTENT", 0o600).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("out"), "{msg}");
        assert!(!msg.contains("SECRET-CONTENT"));
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"old");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out")]);
    }

    #[test]
    fn empty_file_empties_and_tolerates_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sink");
        write_atomic(&path, b"token", 0o600).unwrap();
        empty_file(&path, 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"");
        empty_file(&dir.path().join("missing"), 0o600).unwrap();
        assert!(!dir.path().join("missing").exists());
    }

    #[test]
    fn links_owned_by_the_agent_are_followed_and_links_of_others_refused() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir(&real).unwrap();
        symlink(&real, dir.path().join("mine")).unwrap();
        // A relative link to a link: both checked.
        symlink("mine", dir.path().join("chain")).unwrap();
        write_atomic(&dir.path().join("chain/out"), b"x", 0o600).unwrap();
        assert_eq!(fs::read(real.join("out")).unwrap(), b"x");
        let me = nix::unistd::geteuid().as_raw();
        let other = if me == 65534 { 65533 } else { 65534 };
        assert_eq!(
            check_links(&dir.path().join("chain"), me, 0),
            Ok(2),
            "two links followed"
        );
        if me == 0 {
            // Root's links are trusted: plant one as another user, as an attacker would.
            std::os::unix::fs::lchown(dir.path().join("chain"), Some(other), Some(other)).unwrap();
            let e = write_atomic(&dir.path().join("chain/out2"), b"y", 0o600).unwrap_err();
            assert!(
                matches!(&e, WriteError::PlantedLink { link, owner, .. }
                    if *link == dir.path().join("chain") && *owner == other),
                "{e}"
            );
            assert!(!real.join("out2").exists());
        } else {
            // As another agent user would see them, the same links are someone else's.
            let refused = check_links(&dir.path().join("chain/sub"), other, 0).unwrap_err();
            assert_eq!(refused, (dir.path().join("chain"), me));
        }
        // A loop is left to the kernel (ELOOP), not followed forever.
        symlink("loop", dir.path().join("loop")).unwrap();
        assert!(check_links(&dir.path().join("loop/x"), me, 0).is_ok());
    }

    #[test]
    fn emptying_a_symlinked_sink_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        fs::write(&target, b"not yours").unwrap();
        let sink = dir.path().join("sink");
        std::os::unix::fs::symlink(&target, &sink).unwrap();
        empty_file(&sink, 0o600).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"not yours");
        assert!(!fs::symlink_metadata(&sink)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&sink).unwrap(), b"");
    }

    #[test]
    fn a_fifo_or_a_symlink_at_the_path_is_replaced_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // An empty render onto an empty FIFO of the right mode used to block in `read`.
        assert_eq!(
            write_if_changed(&fifo, b"", 0o600).unwrap(),
            WriteOutcome::Written
        );
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_file());

        let target = dir.path().join("target");
        fs::write(&target, b"same").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            write_if_changed(&link, b"same", 0o600).unwrap(),
            WriteOutcome::Written
        );
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_file());
        assert_eq!(
            write_if_changed(&link, b"same", 0o600).unwrap(),
            WriteOutcome::Unchanged
        );
    }

    #[test]
    fn leftover_temporaries_of_the_file_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.env");
        for name in [".out.env.AbC123.tmp", ".out.env.zzzzzz.tmp"] {
            fs::write(dir.path().join(name), "secret").unwrap();
        }
        let keep = [
            ".out.env.toolong1.tmp",
            ".other.AbC123.tmp",
            "out.env",
            ".out.env.AbC123.tmp.bak",
        ];
        for name in keep {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join(".out.env.link12.tmp"))
            .unwrap();
        assert_eq!(remove_leftover_temps(&path), 2);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        want.push(".out.env.link12.tmp".into());
        want.sort();
        assert_eq!(left, want);
    }
}
