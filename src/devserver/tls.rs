//! HTTPS for the dev server (`--tls-cert`/`--tls-key`): a certificate chain and a private key
//! read from PEM files, served by rustls with its `ring` provider chosen explicitly, so that no
//! process-wide default provider has to be installed.
//!
//! Errors name the file and what is wrong with it; they never quote the key file's content.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// Why the dev server's certificate or key cannot be used.
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

/// A loaded certificate and key, ready to accept TLS connections. Cheap to clone.
#[derive(Clone)]
pub struct DevServerTls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for DevServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevServerTls").finish_non_exhaustive()
    }
}

impl DevServerTls {
    /// Reads `cert` (the server certificate first, then any intermediates) and `key` (PEM).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsSetupError> {
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
        let rejected = |reason: String| TlsSetupError::Rejected {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            reason,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| rejected(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|e| rejected(e.to_string()))?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub(super) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
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
        let tls = DevServerTls::from_pem_files(&f.write("c.pem", &cert), &f.write("k.pem", &key));
        assert!(tls.is_ok(), "{:?}", tls.err());
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
            let message = DevServerTls::from_pem_files(&cert, &key)
                .expect_err(named)
                .to_string();
            assert!(message.contains(named), "{named}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("PRIVATE KEY-----\n"), "{message}");
        }
    }
}
