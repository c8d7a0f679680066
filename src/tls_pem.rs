//! A TLS server certificate and its key from PEM files (the dev server's `--tls-cert`/`--tls-key`,
//! the injector's), checked to belong together. rustls's `ring` provider is chosen explicitly, so
//! that no process-wide default provider has to be installed.
//!
//! [`ServedCert`] is what a server hands rustls: the pair, read again when its files change (the
//! injector's certificate is rotated in place by cert-manager).
//!
//! Errors name the file and what is wrong with it; they never quote the key file's content.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::ServerConfig;

/// Why a certificate or key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read the TLS {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the TLS certificate file {path} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)"
    )]
    NoCertificate { path: PathBuf },
    #[error("the TLS certificate file {path} is not valid PEM: {reason}")]
    InvalidCertificatePem { path: PathBuf, reason: String },
    /// The PEM error is not quoted: it could echo a line of the key.
    #[error("the TLS key file {path} holds no valid PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    InvalidKey { path: PathBuf },
    #[error("the TLS certificate {cert} and key {key} cannot be used together: {reason}")]
    Rejected {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

/// The provider every TLS server here uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}

/// Reads `cert` (the server certificate first, then any intermediates) and `key` (PEM), and checks
/// that the key is the certificate's.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsSetupError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| TlsSetupError::Read {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let cert_pem = read("certificate file", cert)?;
    let key_pem = zeroize::Zeroizing::new(read("key file", key)?);
    let chain = certificate_chain(&cert_pem, cert)?;
    let private_key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsSetupError::InvalidKey {
            path: key.to_path_buf(),
        })?;
    CertifiedKey::from_der(chain, private_key, &provider()).map_err(|e| TlsSetupError::Rejected {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        reason: e.to_string(),
    })
}

/// What tells a changed file from an unchanged one: its modification time, size and inode.
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

/// A certificate and key served from their files; [`ServedCert::reload_if_changed`] reads them
/// again when either file changed. Until a changed pair loads (a rotation half done, a key that
/// does not match yet) the previous pair keeps serving.
#[derive(Debug)]
pub struct ServedCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<(Stamp, Stamp, Arc<CertifiedKey>)>,
}

impl ServedCert {
    pub fn load(cert: &Path, key: &Path) -> Result<ServedCert, TlsSetupError> {
        let (cert_stamp, key_stamp) = (stamp(cert), stamp(key));
        let pair = load_certified_key(cert, key)?;
        Ok(ServedCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new((cert_stamp, key_stamp, Arc::new(pair))),
        })
    }

    /// `Ok(true)` when the files changed and the new pair now serves; `Ok(false)` when nothing
    /// changed; the error when they changed but do not load (the old pair still serves, and the
    /// next call tries again).
    pub fn reload_if_changed(&self) -> Result<bool, TlsSetupError> {
        let (cert_stamp, key_stamp) = (stamp(&self.cert), stamp(&self.key));
        let unchanged = self
            .current
            .read()
            .map(|c| c.0 == cert_stamp && c.1 == key_stamp)
            .unwrap_or(false);
        if unchanged {
            return Ok(false);
        }
        let pair = load_certified_key(&self.cert, &self.key)?;
        if let Ok(mut current) = self.current.write() {
            *current = (cert_stamp, key_stamp, Arc::new(pair));
        }
        Ok(true)
    }

    /// A rustls server configuration that serves this pair (whatever it is at each handshake).
    pub fn server_config(self: &Arc<Self>) -> Result<ServerConfig, TlsSetupError> {
        Ok(ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Rejected {
                cert: self.cert.clone(),
                key: self.key.clone(),
                reason: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(self.clone()))
    }
}

impl ResolvesServerCert for ServedCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.2.clone())
    }
}

fn certificate_chain(
    pem_bytes: &[u8],
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let chain = CertificateDer::pem_slice_iter(pem_bytes)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| TlsSetupError::InvalidCertificatePem {
            path: path.to_path_buf(),
            reason: pem_problem(&e),
        })?;
    if chain.is_empty() {
        return Err(TlsSetupError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(chain)
}

/// The PEM parser's error in words (its own text prints the offending line as a byte list).
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no `-----END ...-----` line".into(),
        pem::Error::IllegalSectionStart { .. } => {
            "a `-----BEGIN ...-----` line is malformed".into()
        }
        pem::Error::Base64Decode(_) => "a section is not valid base64".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        fn write(&self, name: &str, content: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            path
        }
    }

    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_matching_certificate_and_key_load() {
        let f = Files::new();
        let (cert, key) = self_signed();
        let tls = load_certified_key(&f.write("c.pem", &cert), &f.write("k.pem", &key));
        assert!(tls.is_ok(), "{:?}", tls.err());
    }

    #[test]
    fn a_rotated_pair_is_served_once_it_is_whole() {
        let f = Files::new();
        let (cert, key) = self_signed();
        let (cert_path, key_path) = (f.write("c.pem", &cert), f.write("k.pem", &key));
        let served = ServedCert::load(&cert_path, &key_path).unwrap();
        assert!(!served.reload_if_changed().unwrap());
        let first = served.current.read().unwrap().2.cert[0].clone();
        // Half a rotation: a new certificate, the old key. The old pair keeps serving.
        let (cert2, key2) = self_signed();
        std::fs::write(&cert_path, &cert2).unwrap();
        assert!(served.reload_if_changed().is_err());
        assert_eq!(served.current.read().unwrap().2.cert[0], first);
        std::fs::write(&key_path, &key2).unwrap();
        assert!(served.reload_if_changed().unwrap());
        assert_ne!(served.current.read().unwrap().2.cert[0], first);
    }

    #[test]
    fn errors_name_the_file_and_never_quote_the_key() {
        let f = Files::new();
        let (cert, key) = self_signed();
        let (_, other_key) = self_signed();
        let cert_path = f.write("c.pem", &cert);
        let key_path = f.write("k.pem", &key);
        let junk_key = f.write("junk-key.pem", "hunter2-not-a-key\n");
        let cases = [
            (
                f.dir.path().join("missing.pem"),
                key_path.clone(),
                "missing.pem",
            ),
            (f.write("text.pem", "hello"), key_path.clone(), "text.pem"),
            (
                f.write("bad.pem", "-----BEGIN CERTIFICATE-----\n!!!\n"),
                key_path.clone(),
                "bad.pem",
            ),
            (cert_path.clone(), junk_key, "junk-key.pem"),
            // The certificate file given as the key, and a key from another pair.
            (cert_path.clone(), cert_path.clone(), "c.pem"),
            (
                cert_path.clone(),
                f.write("other.pem", &other_key),
                "other.pem",
            ),
        ];
        for (cert, key, named) in cases {
            let message = load_certified_key(&cert, &key)
                .expect_err(named)
                .to_string();
            assert!(message.contains(named), "{named}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("PRIVATE KEY-----\n"), "{message}");
        }
    }
}
