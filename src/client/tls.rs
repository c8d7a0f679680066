//! Transport security as the operator sees it: the warning for plain `http://` to another host,
//! and a clear description (with what to do) when the server's TLS certificate is refused.

use std::error::Error;
use std::net::IpAddr;
use std::path::Path;

use reqwest::Url;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{self, CertificateError, RootCertStore};

use super::config::ClientBuildError;

/// Whether `url` names this host: `localhost` or a loopback IP (127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    // The URL parser lowercases names and writes IPv6 hosts in brackets.
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The warning to log when `kms.address` sends tokens and secrets unencrypted off this host:
/// `http://` to anything but a loopback address. The text names the scheme, host and port only,
/// never credentials a URL may carry.
pub fn plain_http_warning(url: &Url) -> Option<String> {
    if url.scheme() != "http" || is_loopback(url) {
        return None;
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!(
        "kms.address http://{host}{port} uses plain http to a non-loopback host: tokens and secrets travel unencrypted; use https"
    ))
}

/// Reads `kms.tls.ca-cert`: one or more PEM certificates, each checked now (reqwest would only
/// fail later, at build time, without naming the file).
pub fn load_ca_bundle(path: &Path) -> Result<Vec<reqwest::Certificate>, ClientBuildError> {
    let invalid = || ClientBuildError::InvalidCaBundle(path.to_path_buf());
    let pem = std::fs::read(path).map_err(|source| ClientBuildError::ReadCaBundle {
        path: path.to_path_buf(),
        source,
    })?;
    let ders = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid())?;
    if ders.is_empty() {
        return Err(invalid());
    }
    let mut store = RootCertStore::empty();
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            let bad = |reason: String| ClientBuildError::InvalidCaCertificate {
                path: path.to_path_buf(),
                index: i + 1,
                reason,
            };
            store.add(der.clone()).map_err(|e| match e {
                rustls::Error::InvalidCertificate(c) => bad(format!("{c:?}")),
                other => bad(other.to_string()),
            })?;
            reqwest::Certificate::from_der(der).map_err(|e| bad(e.to_string()))
        })
        .collect()
}

/// When `error` (or anything in its source chain) is a refused TLS handshake, says so plainly,
/// with the setting that fixes it. `None` for any other failure.
pub fn describe_tls_failure(error: &(dyn Error + 'static)) -> Option<String> {
    let tls = rustls_error(error)?;
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "the server's TLS certificate does not name this host ({tls}); kms.address must use a name or IP the certificate lists"
            ),
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => format!(
                "the server's TLS certificate is outside its validity period ({tls}); check the server's certificate and this host's clock"
            ),
            _ => format!(
                "the server's TLS certificate is not trusted ({tls}); if the KMS uses a private CA, set kms.tls.ca-cert to that CA's PEM file"
            ),
        },
        _ => format!("the TLS handshake with the server failed ({tls}); is kms.address an https server?"),
    })
}

/// The rustls error behind `error`. `io::Error` hides its payload from `source()` (it returns
/// the payload's own source), and the connector nests one `io::Error` in another, so every
/// `io::Error` in the chain is opened down to its innermost payload.
fn rustls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        let mut link = e;
        while let Some(payload) = link
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            link = payload;
        }
        if let Some(tls) = link.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(url: &str) -> Option<String> {
        plain_http_warning(&Url::parse(url).unwrap())
    }

    #[test]
    fn plain_http_warns_only_off_this_host() {
        for quiet in [
            "http://127.0.0.1:8200",
            "http://127.1.2.3",
            "http://[::1]:8200",
            "http://localhost:8200",
            "http://LOCALHOST",
            "https://example.com",
            "https://10.0.0.5",
        ] {
            assert_eq!(warning(quiet), None, "{quiet}");
        }
        for loud in [
            "http://10.0.0.5:8200",
            "http://example.com",
            "http://0.0.0.0:8200",
            "http://[::]:8200",
            "http://localhost.example.com",
            "http://192.168.1.1/api",
        ] {
            let text = warning(loud).unwrap_or_else(|| panic!("{loud}: no warning"));
            assert!(text.contains("plain http"), "{text}");
        }
    }

    #[test]
    fn the_warning_names_host_and_port_but_never_url_credentials() {
        let text = warning("http://user:hunter2@kms.internal:8200/api?token=abc").unwrap();
        assert!(text.contains("http://kms.internal:8200"), "{text}");
        assert!(!text.contains("hunter2") && !text.contains("abc"), "{text}");
    }

    /// A transport error shaped like reqwest's: a wrapper whose source is an io::Error carrying
    /// the rustls error.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }
    impl Error for Wrapper {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    /// As reqwest reports it: an `io::Error` (Other) around one (InvalidData) around the
    /// rustls error, behind the client's own error.
    fn describe(tls: rustls::Error) -> Option<String> {
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let wrapped = Wrapper(std::io::Error::other(inner));
        describe_tls_failure(&wrapped)
    }

    #[test]
    fn an_unknown_issuer_points_at_kms_tls_ca_cert() {
        let text = describe(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        ))
        .unwrap();
        assert!(text.contains("not trusted"), "{text}");
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert!(text.contains("kms.tls.ca-cert"), "{text}");
        let text = describe(rustls::Error::InvalidCertificate(
            CertificateError::BadSignature,
        ))
        .unwrap();
        assert!(text.contains("kms.tls.ca-cert"), "{text}");
    }

    #[test]
    fn a_wrong_name_or_date_says_so() {
        let text = describe(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ))
        .unwrap();
        assert!(text.contains("does not name this host"), "{text}");
        let text = describe(rustls::Error::InvalidCertificate(CertificateError::Expired)).unwrap();
        assert!(text.contains("validity period"), "{text}");
        let text = describe(rustls::Error::General("x".into())).unwrap();
        assert!(text.contains("TLS handshake"), "{text}");
    }

    #[test]
    fn a_ca_bundle_loads_or_names_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, content: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            path
        };
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem();
        let two = write("two.pem", &format!("{ca}\n{ca}"));
        assert_eq!(load_ca_bundle(&two).unwrap().len(), 2);
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        for (path, expected) in [
            (dir.path().join("missing.pem"), "cannot read the CA bundle"),
            (
                write("notes.txt", "not a certificate"),
                "no valid PEM certificate",
            ),
            (
                write("half.pem", &ca[..ca.len() / 2]),
                "no valid PEM certificate",
            ),
            (
                write("second-bad.pem", &format!("{ca}{garbled}")),
                "certificate 2 is not a valid X.509",
            ),
        ] {
            let message = load_ca_bundle(&path).unwrap_err().to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn other_failures_are_not_described_as_tls() {
        let refused = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(describe_tls_failure(&refused), None);
        let custom = Wrapper(std::io::Error::other("boom"));
        assert_eq!(describe_tls_failure(&custom), None);
    }
}
