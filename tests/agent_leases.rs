//! Dynamic-secret leases and the encrypted cache, end to end: the real `kms` binary against
//! `kms dev-server` (issue "Dynamic secret leases and the encrypted persistent cache").

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::*;

/// A seed whose `redis` dynamic secret has a 3s default TTL and a 9s max TTL.
fn short_lease_seed() -> String {
    default_seed(300, 3600)
        .replace("default-ttl: 60", "default-ttl: 3")
        .replace("max-ttl: 600", "max-ttl: 9")
}

fn config(
    dev: &DevServer,
    dir: &std::path::Path,
    extra_kms: &str,
    templates: usize,
    command: bool,
) -> String {
    let mut s = format!(
        "kms:\n  address: {}\n{extra_kms}{}sinks:\n  - type: file\n    config:\n      path: {{dir}}/token\ntemplates:\n",
        dev.url(),
        universal_auth_block(dir)
    );
    for i in 0..templates {
        s.push_str(&format!(
            "  - destination-path: {{dir}}/creds{i}\n    template-content: '{{{{ with dynamic_secret \"proj\" \"dev\" \"/\" \"redis\" }}}}{{{{ .DB_USERNAME }}}}:{{{{ .DB_PASSWORD }}}}{{{{ end }}}}'\n    config:\n      polling-interval: 1s\n"
        ));
        if command {
            s.push_str(
                "      execute:\n        command: echo run >> {dir}/runs\n        timeout: 5\n",
            );
        }
    }
    s
}

fn leases(dev: &DevServer, what: &str) -> u64 {
    dev.stats()["leases"][what].as_u64().unwrap()
}

#[test]
fn identical_calls_share_one_lease_which_is_renewed_and_replaced_before_max_ttl() {
    let dev = DevServer::start(&short_lease_seed());
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(dir.path(), &config(&dev, dir.path(), "", 3, true));
    wait_until("three rendered files", Duration::from_secs(10), || {
        (0..3).all(|i| !agent.read(&format!("creds{i}")).is_empty())
    });
    let first = agent.read("creds0");
    assert_eq!(agent.read("creds1"), first);
    assert_eq!(agent.read("creds2"), first);
    assert_eq!(
        leases(&dev, "created"),
        1,
        "three identical calls share one lease"
    );

    // TTL 3s within max 9s: renewals, then a replacement before the max TTL; every file follows.
    let start = Instant::now();
    let mut seen = vec![first.clone()];
    while start.elapsed() < Duration::from_secs(20) {
        let now = agent.read("creds0");
        if !now.is_empty() && seen.last() != Some(&now) {
            seen.push(now);
        }
        if seen.len() >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        seen.len() >= 3,
        "expected two replacements in 20s, saw {} credentials:\n{}",
        seen.len(),
        agent.logs()
    );
    assert!(leases(&dev, "renewed") >= 2, "{}", dev.stats());
    wait_until(
        "every file on the newest lease",
        Duration::from_secs(5),
        || (0..3).all(|i| agent.read(&format!("creds{i}")) == agent.read("creds0")),
    );
    // At most one or two leases alive at once (the old one runs out by itself).
    assert!(leases(&dev, "active") <= 2, "{}", dev.stats());
    // The command ran for each template and each lease.
    wait_until("commands", Duration::from_secs(5), || {
        agent.read("runs").lines().count() >= 9
    });
    assert!(
        !agent.logs().contains(&seen[0]),
        "credentials must never reach the log"
    );
}

#[test]
fn sigterm_with_revocation_leaves_no_lease_and_no_token() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Agent::start(
        dir.path(),
        &config(
            &dev,
            dir.path(),
            "  revoke-credentials-on-shutdown: true\n",
            2,
            false,
        ),
    );
    wait_until("rendered", Duration::from_secs(10), || {
        !agent.read("creds1").is_empty()
    });
    let token = agent.read("token");
    assert_eq!(leases(&dev, "active"), 1);
    let sent = Instant::now();
    agent.signal(Signal::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(5))
        .expect("exit within 5s");
    assert!(status.success(), "{}", agent.logs());
    assert!(sent.elapsed() < Duration::from_secs(5));
    assert_eq!(leases(&dev, "active"), 0, "{}", dev.stats());
    assert_eq!(dev.stats()["tokens"]["revoked"].as_u64(), Some(1));
    assert!(!dev.token_works(&token));
    assert_eq!(agent.read("token"), "", "the sink is emptied");

    // With nothing to revoke (no templates), shutdown is just as quick.
    let dir2 = tempfile::tempdir().unwrap();
    let cfg = format!(
        "kms:\n  address: {}\n  revoke-credentials-on-shutdown: true\n{}sinks:\n  - type: file\n    config:\n      path: {{dir}}/token\n",
        dev.url(),
        universal_auth_block(dir2.path())
    );
    let mut agent = Agent::start(dir2.path(), &cfg);
    wait_until("token", Duration::from_secs(10), || {
        !agent.read("token").is_empty()
    });
    let sent = Instant::now();
    agent.signal(Signal::SIGTERM);
    assert!(agent
        .wait_exit(Duration::from_secs(5))
        .expect("exit")
        .success());
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "took {:?}",
        sent.elapsed()
    );
}

#[test]
fn after_sigkill_a_restart_reuses_the_cached_lease() {
    let dev = DevServer::start(&default_seed(300, 3600));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cache.key"), "k".repeat(40)).unwrap();
    let cache = format!(
        "cache:\n  persistent:\n    type: file\n    path: {d}/cache\n    key-file: {d}/cache.key\n",
        d = dir.path().display()
    );
    let cfg =
        config(&dev, dir.path(), "", 1, false).replacen("sinks:", &format!("{cache}sinks:"), 1);
    let mut agent = Agent::start(dir.path(), &cfg);
    wait_until("rendered", Duration::from_secs(10), || {
        !agent.read("creds0").is_empty()
    });
    let creds = agent.read("creds0");
    // An entry, not the temporary file of its write (`.<name>.<random>.tmp`): a SIGKILL between
    // the two leaves nothing to reuse.
    wait_until("the cache entry", Duration::from_secs(5), || {
        std::fs::read_dir(dir.path().join("cache"))
            .map(|d| {
                d.flatten()
                    .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
            })
            .unwrap_or(false)
    });
    agent.signal(Signal::SIGKILL);
    agent.wait_exit(Duration::from_secs(5)).expect("killed");

    // The cache holds no plaintext credential.
    let password = creds.split(':').nth(1).unwrap().to_string();
    for entry in std::fs::read_dir(dir.path().join("cache")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "plaintext credential in the cache"
        );
    }

    let agent = Agent::start(dir.path(), &cfg);
    wait_until(
        "the restarted agent renders",
        Duration::from_secs(10),
        || agent.logs().contains("reusing a cached lease"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        agent.read("creds0"),
        creds,
        "the file keeps the cached credentials"
    );
    assert_eq!(
        leases(&dev, "created"),
        1,
        "no new lease after the restart: {}",
        dev.stats()
    );
}
