//! `LeaseCache` against a real temporary directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use super::entry::tests::lease;
use super::format;
use super::*;

/// A credential value that must never be found in the cache directory's bytes.
const PASSWORD: &str = "Pw-7f3a9c1e-DISTINCTIVE";

fn key(material: &str) -> CacheKey {
    CacheKey::derive(material.as_bytes())
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn names(keys: &[LeaseKey]) -> Vec<&str> {
    keys.iter().map(|k| k.name.as_str()).collect()
}

#[test]
fn round_trip_put_load_replace_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LeaseCache::open(tmp.path().join("cache"), key("k1")).unwrap();
    let a = lease("a", 10_000, PASSWORD);
    let b = lease("b", 20_000, "other");
    cache.put(&b).unwrap();
    cache.put(&a).unwrap();

    let report = cache.load_all().unwrap();
    assert!(report.dropped.is_empty(), "{:?}", report.dropped);
    assert_eq!(report.entries, vec![a.clone(), b.clone()]);

    // A put replaces the entry of the same key.
    let mut renewed = a.clone();
    renewed.expire_at_unix_ms = 99_000;
    cache.put(&renewed).unwrap();
    assert_eq!(files(cache.dir()).len(), 2);
    assert_eq!(cache.load_all().unwrap().entries[0], renewed);

    assert!(cache.remove(&a.key).unwrap());
    assert!(!cache.remove(&a.key).unwrap());
    assert_eq!(cache.load_all().unwrap().entries, vec![b]);

    // A fresh instance with the same key material reads the same entries (a restart).
    let reopened = LeaseCache::open(tmp.path().join("cache"), key("k1")).unwrap();
    assert_eq!(reopened.load_all().unwrap().entries.len(), 1);
}

#[test]
fn the_directory_never_holds_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LeaseCache::open(tmp.path(), key("k1")).unwrap();
    let l = lease("postgres-main", 10_000, PASSWORD);
    cache.put(&l).unwrap();
    for name in files(tmp.path()) {
        let bytes = fs::read(tmp.path().join(&name)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in [
            PASSWORD,
            "user-postgres-main",
            "lease-postgres-main",
            "DB_PASSWORD",
        ] {
            assert!(!text.contains(needle), "{needle} in {name}");
            assert!(!name.contains(needle));
        }
        assert!(
            !name.contains("postgres") && !name.contains("shop"),
            "{name}"
        );
    }
}

#[test]
fn modes_are_0600_for_entries_and_0700_for_a_created_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/cache");
    let cache = LeaseCache::open(&dir, key("k1")).unwrap();
    assert_eq!(mode(&dir), 0o700);
    cache.put(&lease("a", 1, "x")).unwrap();
    let name = &files(&dir)[0];
    assert_eq!(mode(&dir.join(name)), 0o600);

    // If the directory disappears at run time, the next write recreates it privately.
    fs::remove_dir_all(&dir).unwrap();
    cache.put(&lease("b", 1, "x")).unwrap();
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn a_file_where_the_directory_should_be_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("cache");
    fs::write(&path, b"x").unwrap();
    let err = LeaseCache::open(&path, key("k1")).unwrap_err();
    assert!(matches!(err, CacheError::NotADirectory { .. }), "{err}");
}

#[test]
fn an_entry_sealed_with_another_key_is_dropped_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    LeaseCache::open(tmp.path(), key("old"))
        .unwrap()
        .put(&lease("a", 1, PASSWORD))
        .unwrap();
    let cache = LeaseCache::open(tmp.path(), key("new")).unwrap();
    let report = cache.load_all().unwrap();
    assert!(report.entries.is_empty());
    assert_eq!(report.dropped.len(), 1);
    let dropped = &report.dropped[0];
    assert_eq!(
        dropped.reason,
        DropReason::Sealed(format::OpenError::OtherKey(key("old").fingerprint()))
    );
    assert!(dropped.removed);
    assert!(dropped.reason.to_string().contains("another key"));
    assert!(files(tmp.path()).is_empty(), "dropped files are removed");
}

#[test]
fn a_flipped_byte_drops_only_that_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LeaseCache::open(tmp.path(), key("k1")).unwrap();
    cache.put(&lease("a", 1, "x")).unwrap();
    let before = files(tmp.path());
    cache.put(&lease("b", 1, "y")).unwrap();
    let victim = files(tmp.path())
        .into_iter()
        .find(|n| !before.contains(n))
        .unwrap();
    let path = tmp.path().join(&victim);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 20; // inside the ciphertext
    bytes[last] ^= 0x40;
    fs::write(&path, &bytes).unwrap();

    let report = cache.load_all().unwrap();
    assert_eq!(
        names(
            &report
                .entries
                .iter()
                .map(|e| e.key.clone())
                .collect::<Vec<_>>()
        ),
        ["a"]
    );
    assert_eq!(report.dropped.len(), 1);
    assert_eq!(report.dropped[0].file_name, victim);
    assert_eq!(
        report.dropped[0].reason,
        DropReason::Sealed(format::OpenError::Tampered)
    );
    assert!(!path.exists());
}

#[test]
fn garbage_truncated_and_renamed_files_are_dropped_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LeaseCache::open(tmp.path(), key("k1")).unwrap();
    cache.put(&lease("a", 1, "x")).unwrap();
    cache.put(&lease("b", 1, "x")).unwrap();
    let entries = files(tmp.path());
    // b's content under a's name: authentic bytes, wrong name.
    fs::copy(tmp.path().join(&entries[1]), tmp.path().join(&entries[0])).unwrap();
    let garbage = format!("{}{}", "0".repeat(32), ".lease");
    fs::write(
        tmp.path().join(&garbage),
        b"not a cache file at all, really not",
    )
    .unwrap();
    let short = format!("{}{}", "1".repeat(32), ".lease");
    fs::write(tmp.path().join(&short), b"KMSL").unwrap();
    fs::write(tmp.path().join("README"), b"not ours").unwrap();

    let report = cache.load_all().unwrap();
    assert_eq!(report.entries.len(), 1);
    let mut reasons: Vec<String> = report
        .dropped
        .iter()
        .map(|d| d.reason.to_string())
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("authentication failed")));
    assert!(reasons.iter().any(|r| r.contains("bad magic")));
    assert!(reasons.iter().any(|r| r.contains("truncated")));
    // Files that do not look like entries are left alone.
    assert!(tmp.path().join("README").exists());
}

#[test]
fn gc_evicts_stale_then_closest_to_expiry_over_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LeaseCache::open(tmp.path(), key("k1")).unwrap();
    let now = 1_000_000;
    for (name, expire) in [
        ("expired", now - 1),
        ("soon", now + 5_000),
        ("a", now + 100_000),
        ("b", now + 200_000),
        ("c", now + 300_000),
    ] {
        cache.put(&lease(name, expire, "x")).unwrap();
    }
    let report = cache.gc(now, Duration::from_secs(30), 2).unwrap();
    assert_eq!(names(&report.stale), ["expired", "soon"]);
    assert_eq!(names(&report.over_limit), ["a"]);
    assert_eq!(report.remaining, 2);
    let left: Vec<_> = cache
        .load_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.key.name)
        .collect();
    assert_eq!(left, ["b", "c"]);
    assert_eq!(files(tmp.path()).len(), 2);

    let again = cache.gc(now, Duration::from_secs(30), 2).unwrap();
    assert!(again.stale.is_empty() && again.over_limit.is_empty());
}

#[test]
fn reseal_moves_every_entry_to_the_new_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cache = LeaseCache::open(tmp.path(), key("old")).unwrap();
    cache.put(&lease("a", 10, PASSWORD)).unwrap();
    cache.put(&lease("b", 20, "y")).unwrap();
    let old_files = files(tmp.path());

    let report = cache.reseal(key("new")).unwrap();
    assert_eq!(report.resealed, 2);
    assert!(report.dropped.is_empty());
    assert_eq!(cache.key_fingerprint(), key("new").fingerprint());
    let new_files = files(tmp.path());
    assert_eq!(new_files.len(), 2);
    assert!(new_files.iter().all(|n| !old_files.contains(n)));

    // The new key reads everything; the old one reads nothing (and drops it).
    let under_new = LeaseCache::open(tmp.path(), key("new")).unwrap();
    assert_eq!(under_new.load_all().unwrap().entries.len(), 2);
    assert_eq!(
        cache.load_all().unwrap().entries[0],
        lease("a", 10, PASSWORD)
    );
    for name in &new_files {
        let bytes = fs::read(tmp.path().join(name)).unwrap();
        assert_eq!(
            format::open(&key("old"), name, &bytes),
            Err(format::OpenError::OtherKey(key("new").fingerprint()))
        );
        assert_eq!(mode(&tmp.path().join(name)), 0o600);
    }
    let under_old = LeaseCache::open(tmp.path(), key("old")).unwrap();
    assert!(under_old.load_all().unwrap().entries.is_empty());
}

#[test]
fn reseal_keeps_entries_already_under_the_new_key_and_drops_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    // An interrupted earlier reseal: one entry already under "new".
    LeaseCache::open(tmp.path(), key("new"))
        .unwrap()
        .put(&lease("done", 10, "x"))
        .unwrap();
    let mut cache = LeaseCache::open(tmp.path(), key("old")).unwrap();
    cache.put(&lease("todo", 10, "x")).unwrap();
    LeaseCache::open(tmp.path(), key("stranger"))
        .unwrap()
        .put(&lease("lost", 10, "x"))
        .unwrap();

    let report = cache.reseal(key("new")).unwrap();
    assert_eq!(report.resealed, 1);
    assert_eq!(report.dropped.len(), 1);
    let left: Vec<_> = cache
        .load_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.key.name)
        .collect();
    assert_eq!(left, ["done", "todo"]);
    assert_eq!(files(tmp.path()).len(), 2);

    // Same fingerprint: nothing to do.
    let again = cache.reseal(key("new")).unwrap();
    assert_eq!(again.resealed, 0);
}

#[test]
fn a_failed_reseal_keeps_the_current_key_and_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let mut cache = LeaseCache::open(&dir, key("old")).unwrap();
    cache.put(&lease("a", 10, "x")).unwrap();
    let before = files(&dir);
    // Make the new file's name a non-empty directory: the atomic rename must fail (even as root).
    let blocked = dir.join(format::file_name(&key("new"), &lease("a", 10, "x").key));
    fs::create_dir(&blocked).unwrap();
    fs::write(blocked.join("x"), b"x").unwrap();

    assert!(cache.reseal(key("new")).is_err());
    assert_eq!(cache.key_fingerprint(), key("old").fingerprint());
    fs::remove_dir_all(&blocked).unwrap();
    assert_eq!(files(&dir), before);
    assert_eq!(cache.load_all().unwrap().entries.len(), 1);
}

#[test]
fn old_leftover_temp_files_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = LeaseCache::open(tmp.path(), key("k1")).unwrap();
    let name = format::file_name(&key("k1"), &lease("a", 1, "x").key);
    let fresh = tmp.path().join(format!(".{name}.new1.tmp"));
    let stale = tmp.path().join(format!(".{name}.old1.tmp"));
    fs::write(&fresh, b"partial").unwrap();
    fs::write(&stale, b"partial").unwrap();
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    let report = cache.load_all().unwrap();
    assert!(report.entries.is_empty() && report.dropped.is_empty());
    assert!(fresh.exists(), "a write may still be in progress");
    assert!(!stale.exists());
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_under_an_entry_name_is_dropped_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let k = key("k1");
    let cache = LeaseCache::open(tmp.path(), k.clone()).unwrap();
    let good = lease("good", 10_000, "x");
    cache.put(&good).unwrap();
    let zero = format::file_name(&k, &lease("zero", 1, "x").key);
    let fifo = format::file_name(&k, &lease("fifo", 1, "x").key);
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join(&zero)).unwrap();
    nix::unistd::mkfifo(
        &tmp.path().join(&fifo),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let report = cache.load_all().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(report.entries, vec![good]);
    let mut reasons: Vec<String> = report
        .dropped
        .iter()
        .map(|d| d.reason.to_string())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "is a FIFO, not a regular file",
            "is a symlink, not a regular file"
        ]
    );
    assert!(report.dropped.iter().all(|d| d.removed));
    assert!(fs::symlink_metadata(tmp.path().join(&zero)).is_err());
}
