//! A GCP service-account key file (the JSON Google issues) and RS256 JWT signing with its key.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

use super::credential_file::read_credential_file;
use super::MethodError;

const WHAT: &str = "GCP service-account key file";

/// The parts of a service-account key the IAM method needs.
pub(crate) struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: Option<String>,
    pub token_uri: Option<String>,
    key_pair: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads and parses the key file at `path` (afresh, so a rotated key is picked up).
    pub async fn load(path: &Path) -> Result<Self, MethodError> {
        let text = read_credential_file(WHAT, path).await?;
        Self::parse(text.expose(), path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, MethodError> {
        let invalid = |reason: &str| MethodError::FileInvalid {
            what: WHAT,
            path: PathBuf::from(path),
            reason: reason.to_string(),
        };
        let json: Value = serde_json::from_str(text).map_err(|e| {
            invalid(&format!(
                "it is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let field = |name: &str| {
            json.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let client_email = field("client_email").ok_or_else(|| invalid("no `client_email`"))?;
        let pem = field("private_key").ok_or_else(|| invalid("no `private_key`"))?;
        let key_pair =
            rsa_key_from_pem(&pem).map_err(|reason| invalid(&format!("`private_key` {reason}")))?;
        Ok(Self {
            client_email,
            private_key_id: field("private_key_id"),
            token_uri: field("token_uri"),
            key_pair,
        })
    }

    /// The OAuth2 JWT-bearer assertion (RFC 7523) asking `token_uri` for a token with `scope`.
    pub fn token_assertion(
        &self,
        token_uri: &str,
        scope: &str,
        now_unix: u64,
    ) -> Result<String, MethodError> {
        let claims = json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": token_uri,
            "iat": now_unix,
            "exp": now_unix + 3600,
        });
        self.sign_jwt(&claims)
    }

    /// A compact RS256 JWT of `claims`, with this key's id in the header.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, MethodError> {
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = Value::String(kid.clone());
        }
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| MethodError::Signing {
                reason: "RSA signing of the GCP token assertion failed".to_string(),
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The public key (PKCS#1 `RSAPublicKey` DER), for verifying signatures in tests.
    #[cfg(test)]
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key_pair.public().as_ref().to_vec()
    }
}

/// An RSA key from PEM: PKCS#8 (`PRIVATE KEY`, what Google issues) or PKCS#1
/// (`RSA PRIVATE KEY`). The error says what is wrong, never what the key holds.
fn rsa_key_from_pem(pem: &str) -> Result<RsaKeyPair, &'static str> {
    let begin = pem.find("-----BEGIN ").ok_or("is not a PEM block")?;
    let rest = &pem[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or("is not a PEM block")?;
    let label = &rest[..label_end];
    let body_start = label_end + "-----".len();
    let body_end = rest.find("-----END ").ok_or("has no END line")?;
    if body_end < body_start {
        return Err("is not a PEM block");
    }
    let base64: String = rest[body_start..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| "is not valid base64 PEM")?;
    match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der).map_err(|_| "is not a usable RSA key"),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der).map_err(|_| "is not a usable RSA key"),
        _ => Err("is not an RSA private key"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    /// A throwaway 2048-bit key made for these tests with
    /// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`; it protects nothing.
    pub const TEST_KEY_PEM: &str =
        include_str!("../../../tests/fixtures/auth_methods/test-rsa-key.pem");

    pub fn test_key_json(token_uri: Option<&str>) -> String {
        let mut key = json!({
            "type": "service_account",
            "project_id": "demo",
            "private_key_id": "kid-123",
            "private_key": TEST_KEY_PEM,
            "client_email": "agent@demo.iam.gserviceaccount.com",
        });
        if let Some(uri) = token_uri {
            key["token_uri"] = Value::String(uri.to_string());
        }
        key.to_string()
    }

    #[test]
    fn signs_rs256_jwts_that_verify_with_the_public_key() {
        let key = ServiceAccountKey::parse(&test_key_json(None), Path::new("k.json")).unwrap();
        assert_eq!(key.client_email, "agent@demo.iam.gserviceaccount.com");
        let jwt = key
            .token_assertion("https://oauth2.example/token", "scope-a", 1_700_000_000)
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "JWT", "kid": "kid-123"})
        );
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            json!({
                "iss": "agent@demo.iam.gserviceaccount.com",
                "scope": "scope-a",
                "aud": "https://oauth2.example/token",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key_der());
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("signature verifies");
        assert!(public.verify(b"other input", &signature).is_err());
    }

    #[test]
    fn bad_key_files_name_the_problem_without_the_key() {
        let path = Path::new("/keys/sa.json");
        let err = ServiceAccountKey::parse("{", path).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "GCP service-account key file /keys/sa.json is not usable: it is not valid JSON"
            ),
            "{err}"
        );
        let err = ServiceAccountKey::parse(r#"{"private_key":"x"}"#, path).unwrap_err();
        assert!(err.to_string().ends_with("no `client_email`"), "{err}");
        let err = ServiceAccountKey::parse(
            r#"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"}"#,
            path,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("`private_key` is not a usable RSA key"),
            "{err}"
        );
        assert!(!err.to_string().contains("bm90IGEga2V5"));
    }
}
