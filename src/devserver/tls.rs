//! HTTPS for the dev server (`--tls-cert`/`--tls-key`): a certificate chain and a private key
//! read from PEM files ([`crate::tls_pem`]), served by rustls.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;

use crate::tls_pem::ServedCert;
pub use crate::tls_pem::TlsSetupError;

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
        // Never reloaded: a dev server is restarted, not rotated.
        let config = Arc::new(ServedCert::load(cert, key)?).server_config()?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub(super) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}
