//! Machine-identity access tokens: HS256 JWTs signed with a per-server random key, with the
//! server-side TTL / max-TTL rules of docs/wire-contract.md §2, §3 and §0.2.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::api_error::ApiError;
use super::store::Identity;

#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub identity_id: String,
    pub created_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
    /// Seconds; 0 = non-expiring.
    pub ttl: u64,
    /// Seconds; 0 = unbounded.
    pub max_ttl: u64,
    /// Set by `POST /dev/tokens/expire`.
    pub force_expired: bool,
}

impl TokenRecord {
    fn ttl_passed(&self, now: DateTime<Utc>) -> bool {
        self.force_expired || (self.ttl > 0 && passed(now, self.renewed_at, self.ttl))
    }

    fn max_ttl_passed(&self, now: DateTime<Utc>) -> bool {
        self.max_ttl > 0 && passed(now, self.created_at, self.max_ttl)
    }
}

/// Whether `n` seconds after `from` is before `now`; a time past chrono's range never comes.
fn passed(now: DateTime<Utc>, from: DateTime<Utc>, n: u64) -> bool {
    from.checked_add_signed(secs(n)).is_some_and(|t| now > t)
}

fn secs(n: u64) -> TimeDelta {
    TimeDelta::seconds(i64::try_from(n).unwrap_or(i64::MAX / 1000))
}

/// The response of login and renew.
pub fn token_response(token: &str, record: &TokenRecord) -> Value {
    json!({"accessToken": token, "expiresIn": record.ttl, "accessTokenMaxTTL": record.max_ttl, "tokenType": "Bearer"})
}

pub struct Tokens {
    key: [u8; 32],
    records: HashMap<String, TokenRecord>,
    pub issued: u64,
    pub renewed: u64,
    pub revoked: u64,
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens {
            key: rand::random(),
            records: HashMap::new(),
            issued: 0,
            renewed: 0,
            revoked: 0,
        }
    }
}

impl Tokens {
    /// Issues a fresh token for an identity (a login).
    pub fn issue(&mut self, identity: &Identity) -> (String, TokenRecord) {
        let now = Utc::now();
        let record = TokenRecord {
            identity_id: identity.identity_id.clone(),
            created_at: now,
            renewed_at: now,
            ttl: identity.ttl,
            max_ttl: identity.max_ttl,
            force_expired: false,
        };
        self.issued += 1;
        (self.store(record.clone()), record)
    }

    fn store(&mut self, record: TokenRecord) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let iat = Utc::now().timestamp();
        let mut claims = json!({
            "identityId": record.identity_id, "identityAccessTokenId": id,
            "authTokenType": "identityAccessToken", "iat": iat,
        });
        if record.max_ttl > 0 {
            let max = i64::try_from(record.max_ttl).unwrap_or(i64::MAX);
            claims["exp"] = json!(record.created_at.timestamp().saturating_add(max));
        }
        self.records.insert(id, record);
        self.sign(&claims)
    }

    fn sign(&self, claims: &Value) -> String {
        let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{head}.{body}");
        let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(&self.key, signing_input.as_bytes()));
        format!("{signing_input}.{sig}")
    }

    /// Checks signature and `exp`, and returns the token id (403 `TokenError` otherwise).
    fn decode(&self, token: &str) -> Result<String, ApiError> {
        let parts: Vec<&str> = token.split('.').collect();
        let [head, body, sig] = parts.as_slice() else {
            return Err(ApiError::token_malformed());
        };
        let decoded = |p: &str| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok();
        let (Some(_), Some(body_bytes), Some(sig_bytes)) =
            (decoded(head), decoded(body), decoded(sig))
        else {
            return Err(ApiError::token_malformed());
        };
        let Ok(claims) = serde_json::from_slice::<Value>(&body_bytes) else {
            return Err(ApiError::token_malformed());
        };
        let expected = hmac_sha256(&self.key, format!("{head}.{body}").as_bytes());
        if sig_bytes != expected {
            return Err(ApiError::new(403, "TokenError", "invalid signature"));
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            if Utc::now().timestamp() >= exp {
                return Err(ApiError::new(
                    403,
                    "TokenError",
                    "Your token has expired. Please re-authenticate.",
                ));
            }
        }
        claims
            .get("identityAccessTokenId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(ApiError::token_malformed)
    }

    /// Validates a token for an authenticated call; a token past its TTL or max TTL is deleted.
    pub fn check(&mut self, token: &str) -> Result<TokenRecord, ApiError> {
        let id = self.decode(token)?;
        self.check_id(&id).map(|(_, r)| r)
    }

    fn check_id(&mut self, id: &str) -> Result<(String, TokenRecord), ApiError> {
        let now = Utc::now();
        let Some(record) = self.records.get(id).cloned() else {
            return Err(ApiError::unauthorized("No identity access token found"));
        };
        if record.ttl_passed(now) {
            self.records.remove(id);
            return Err(ApiError::unauthorized(
                "Failed to renew MI access token due to TTL expiration",
            ));
        }
        if record.max_ttl_passed(now) {
            self.records.remove(id);
            return Err(ApiError::unauthorized(
                "Failed to renew MI access token due to Max TTL expiration",
            ));
        }
        Ok((id.to_string(), record))
    }

    /// Renews: a NEW token string with the same creation time; refused (and the token deleted)
    /// when now + TTL would pass creation + max TTL.
    pub fn renew(&mut self, token: &str) -> Result<(String, TokenRecord), ApiError> {
        let id = self.decode(token)?;
        let (old_id, mut record) = self.check_id(&id)?;
        let now = Utc::now();
        let renewed_expiry = now.checked_add_signed(secs(record.ttl));
        let max_expiry = record.created_at.checked_add_signed(secs(record.max_ttl));
        let past_max = match (renewed_expiry, max_expiry) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(r), Some(m)) => r > m,
        };
        if record.max_ttl > 0 && past_max {
            self.records.remove(&old_id);
            return Err(ApiError::unauthorized(
                "Failed to renew MI access token past its Max TTL expiration",
            ));
        }
        // The renewed token is a new JWT; the old one keeps working until its own TTL ends (as
        // with a current server's stateless tokens), so a client swapping tokens never holds a
        // dead one in between.
        record.renewed_at = now;
        self.renewed += 1;
        let new_token = self.store(record.clone());
        Ok((new_token, record))
    }

    pub fn revoke(&mut self, token: &str) -> Result<(), ApiError> {
        let id = self.decode(token)?;
        if self.records.remove(&id).is_none() {
            return Err(ApiError::unauthorized("No identity access token found"));
        }
        self.revoked += 1;
        Ok(())
    }

    /// Makes every issued token invalid at once (its next use is a TTL-expiry 401).
    pub fn expire_all(&mut self) -> usize {
        self.records
            .values_mut()
            .for_each(|r| r.force_expired = true);
        self.records.len()
    }

    pub fn active(&self) -> usize {
        let now = Utc::now();
        self.records
            .values()
            .filter(|r| !r.ttl_passed(now) && !r.max_ttl_passed(now))
            .count()
    }
}

/// HMAC-SHA256 (RFC 2104), kept here to avoid a dependency for twelve lines.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(ttl: u64, max_ttl: u64) -> Identity {
        Identity {
            identity_id: "i".into(),
            client_id: None,
            client_secret: None,
            ttl,
            max_ttl,
            projects: None,
        }
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn renew_gives_a_new_token_and_the_old_one_lives_out_its_ttl() {
        let mut t = Tokens::default();
        let (tok, _) = t.issue(&identity(60, 0));
        assert_eq!(tok.split('.').count(), 3);
        let (new, _) = t.renew(&tok).unwrap();
        assert_ne!(new, tok);
        assert!(t.check(&new).is_ok());
        assert!(t.check(&tok).is_ok());
    }

    #[test]
    fn renew_past_max_ttl_deletes_token() {
        let mut t = Tokens::default();
        let (tok, _) = t.issue(&identity(60, 60));
        let e = t.renew(&tok).unwrap_err();
        assert_eq!(e.status().as_u16(), 401);
        assert_eq!(
            t.check(&tok).unwrap_err().body()["message"],
            "No identity access token found"
        );
    }

    #[test]
    fn garbage_tampered_and_expired_by_admin() {
        let mut t = Tokens::default();
        assert_eq!(
            t.check("garbage").unwrap_err().body()["error"],
            "TokenError"
        );
        let (tok, _) = t.issue(&identity(0, 0));
        let tampered = format!("{}x", &tok[..tok.len() - 1]);
        let e = t.check(&tampered).unwrap_err().body();
        assert!(
            e["message"] == "invalid signature"
                || e["message"].as_str().unwrap().contains("malformed")
        );
        assert_eq!(t.active(), 1);
        t.expire_all();
        assert_eq!(
            t.check(&tok).unwrap_err().body()["message"],
            "Failed to renew MI access token due to TTL expiration"
        );
        assert_eq!(t.active(), 0);
        t.revoke(&tok).unwrap_err();
    }
}
