//! Sprig's cryptography and randomness (bcrypt, derivePassword, genCA, encryptAES, randBytes, ...), with Sprig's semantics.
//!
//! Keys come out in the PEM formats Sprig writes: RSA as PKCS#1 (`RSA PRIVATE KEY`), ECDSA as
//! SEC1 (`EC PRIVATE KEY`), Ed25519 as PKCS#8 (`PRIVATE KEY`), DSA as Sprig's own ASN.1 sequence
//! (`DSA PRIVATE KEY`). Certificates are X.509 v3 made by rcgen with Sprig's template: the common
//! name, the IP and DNS alternative names, 128 random serial bits, key encipherment and digital
//! signature (and certificate signing for a CA), server and client authentication.
//!
//! Key generation and password hashing are the only functions a template can make the agent
//! spend seconds of CPU on per call (an RSA 4096 key takes about a second). They draw from one
//! process-wide [`Budget`] of work that refills over time; a template that asks for more (a
//! `range` generating keys) gets a render error instead of holding a core, and is rendered again
//! on the next attempt.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine as _;

use super::builtins::{Param, Sig};
use super::sprig::{bytes, capped, int, items_capped, strval};
use super::value::{GoObject, Value};

/// The functions of this family, by template name.
pub const NAMES: &[&str] = &[
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "randBytes",
];

/// The Go type of Sprig's generated certificates.
const CERT_TYPE: &str = "sprig.certificate";

use Param::{Int, List, Object, Str, Uint32};

/// The Go signature of a function of this family.
pub fn signature(name: &str) -> Option<Sig> {
    let s = |fixed: &'static [Param], variadic: Option<Param>| Some(Sig { fixed, variadic });
    match name {
        "bcrypt" | "genPrivateKey" => s(&[Str], None),
        "htpasswd" | "buildCustomCert" | "encryptAES" | "decryptAES" => s(&[Str, Str], None),
        "derivePassword" => s(&[Uint32, Str, Str, Str, Str], None),
        "genCA" => s(&[Str, Int], None),
        "genCAWithKey" => s(&[Str, Int, Str], None),
        "genSelfSignedCert" => s(&[Str, List, List, Int], None),
        "genSelfSignedCertWithKey" => s(&[Str, List, List, Int, Str], None),
        "genSignedCert" => s(&[Str, List, List, Int, Object(CERT_TYPE)], None),
        "genSignedCertWithKey" => s(&[Str, List, List, Int, Object(CERT_TYPE), Str], None),
        "randBytes" => s(&[Int], None),
        _ => None,
    }
}

/// Runs the function `name` on arguments already checked against its signature.
pub fn call(name: &str, a: &[Value]) -> Result<Value, String> {
    let arg = |i: usize| a.get(i).map(bytes).unwrap_or_default();
    let s = |b: Vec<u8>| Ok(Value::str(b));
    match name {
        "bcrypt" => s(bcrypt_hash(name, arg(0))?),
        "htpasswd" => {
            let user = arg(0);
            if user.contains(&b':') {
                return s([b"invalid username: ".as_slice(), user].concat());
            }
            s([user, b":", &bcrypt_hash(name, arg(1))?].concat())
        }
        "derivePassword" => {
            let counter = match a.first() {
                Some(Value::Uint64(c)) => *c as u32,
                _ => 0,
            };
            s(derive_password(counter, arg(1), arg(2), arg(3), arg(4))?)
        }
        "genPrivateKey" => s(gen_private_key(arg(0))?),
        "buildCustomCert" => build_custom_cert(arg(0), arg(1)),
        "genCA" => {
            let days = days(a.get(1))?;
            let key = Key::generate_rsa("genCA", 2048)?;
            certificate(arg(0), &[], &[], days, true, key, None)
        }
        "genCAWithKey" => {
            let key = Key::from_pem(arg(2)).map_err(|e| format!("parsing private key: {e}"))?;
            certificate(arg(0), &[], &[], days(a.get(1))?, true, key, None)
        }
        "genSelfSignedCert" | "genSignedCert" => {
            let (ips, dns) = (list(a.get(1)), list(a.get(2)));
            let days = days(a.get(3))?;
            let ca = ca_of(a.get(4));
            let key = Key::generate_rsa(name, 2048)?;
            certificate(arg(0), &ips, &dns, days, false, key, ca)
        }
        "genSelfSignedCertWithKey" | "genSignedCertWithKey" => {
            let (ips, dns) = (list(a.get(1)), list(a.get(2)));
            let days = days(a.get(3))?;
            let (ca, pem) = match name {
                "genSignedCertWithKey" => (ca_of(a.get(4)), arg(5)),
                _ => (None, arg(4)),
            };
            let key = Key::from_pem(pem).map_err(|e| format!("parsing private key: {e}"))?;
            certificate(arg(0), &ips, &dns, days, false, key, ca)
        }
        "encryptAES" => s(encrypt_aes(arg(0), arg(1))?),
        "decryptAES" => s(decrypt_aes(arg(0), arg(1))?),
        "randBytes" => {
            let n = a.first().map(int).unwrap_or(0);
            if n < 0 {
                return Err("runtime error: makeslice: len out of range".into());
            }
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            items_capped(name, n)?;
            let mut buf = vec![0u8; n];
            fill_random(&mut buf);
            s(b64(&buf))
        }
        _ => Err(format!("{name} is not a Sprig function")),
    }
}

// ---- the work budget ----

/// Work the agent may spend on key generation and password hashing, in units of roughly one
/// second of one core: up to [`Budget::CAPACITY`] at once, refilled at [`Budget::REFILL`] a second.
/// One budget for the whole process, as the cost is the machine's.
#[derive(Debug)]
pub(super) struct Budget {
    units: f64,
    at: Option<Instant>,
}

impl Budget {
    pub(super) const CAPACITY: f64 = 60.0;
    pub(super) const REFILL: f64 = 0.5;

    pub(super) const fn full() -> Budget {
        Budget {
            units: Budget::CAPACITY,
            at: None,
        }
    }

    /// Takes `cost` units at `now` if there are that many.
    pub(super) fn take(&mut self, now: Instant, cost: f64) -> bool {
        if let Some(at) = self.at {
            let earned = now.saturating_duration_since(at).as_secs_f64() * Budget::REFILL;
            self.units = (self.units + earned).min(Budget::CAPACITY);
        }
        self.at = Some(now);
        if self.units < cost {
            return false;
        }
        self.units -= cost;
        true
    }
}

static BUDGET: Mutex<Budget> = Mutex::new(Budget::full());

/// What each costly operation draws from the budget (measured optimised on one core: RSA 4096
/// takes 0.5 to 3 s, RSA 2048 0.1 to 0.3 s, DSA parameters 0.4 s, scrypt 0.13 s and 32 MiB,
/// bcrypt at cost 10 0.05 s). ECDSA and Ed25519 keys take microseconds and are free.
const COST_RSA_2048: f64 = 0.25;
const COST_RSA_4096: f64 = 2.0;
const COST_DSA: f64 = 1.0;
const COST_BCRYPT: f64 = 0.05;
const COST_SCRYPT: f64 = 0.15;

fn spend(name: &str, cost: f64) -> Result<(), String> {
    let ok = match BUDGET.lock() {
        Ok(mut b) => b.take(Instant::now(), cost),
        Err(poisoned) => poisoned.into_inner().take(Instant::now(), cost),
    };
    if ok {
        return Ok(());
    }
    Err(format!(
        "{name}: too much key generation and password hashing: the agent spends at most {} \
         units at once and {} more a second on them; the render is retried later",
        Budget::CAPACITY,
        Budget::REFILL
    ))
}

// ---- helpers ----

fn b64(b: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .encode(b)
        .into_bytes()
}

/// Go's `base64.StdEncoding.DecodeString`, its error as Go words it.
fn b64_decode(s: &[u8]) -> Result<Vec<u8>, String> {
    super::sprig_encoding::b64_decode(s)
        .map_err(|at| format!("illegal base64 data at input byte {at}"))
}

/// Bytes from the thread's cryptographically secure generator (reseeded from the OS).
fn fill_random(buf: &mut [u8]) {
    use rand::RngCore as _;
    rand::rng().fill_bytes(buf);
}

/// The same generator behind the `rand_core` 0.6 traits the RSA and DSA crates take.
struct Rng06;

impl rsa::rand_core::RngCore for Rng06 {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        fill_random(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        fill_random(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        fill_random(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        fill_random(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for Rng06 {}

// ---- bcrypt, htpasswd, derivePassword ----

/// Go's `bcrypt.GenerateFromPassword` at the default cost 10, in its `$2a$` format. Passwords
/// longer than 72 bytes are cut there, as bcrypt itself does.
fn bcrypt_hash(name: &str, password: &[u8]) -> Result<Vec<u8>, String> {
    spend(name, COST_BCRYPT)?;
    match bcrypt::hash_with_result(password, 10) {
        Ok(h) => Ok(h.format_for_version(bcrypt::Version::TwoA).into_bytes()),
        Err(e) => Ok(format!("failed to encrypt string with bcrypt: {e}").into_bytes()),
    }
}

const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

fn password_templates(kind: &[u8]) -> Option<&'static [&'static [u8]]> {
    Some(match kind {
        b"maximum" => &[b"anoxxxxxxxxxxxxxxxxx", b"axxxxxxxxxxxxxxxxxno"],
        b"long" => &[
            b"CvcvnoCvcvCvcv",
            b"CvcvCvcvnoCvcv",
            b"CvcvCvcvCvcvno",
            b"CvccnoCvcvCvcv",
            b"CvccCvcvnoCvcv",
            b"CvccCvcvCvcvno",
            b"CvcvnoCvccCvcv",
            b"CvcvCvccnoCvcv",
            b"CvcvCvccCvcvno",
            b"CvcvnoCvcvCvcc",
            b"CvcvCvcvnoCvcc",
            b"CvcvCvcvCvccno",
            b"CvccnoCvccCvcv",
            b"CvccCvccnoCvcv",
            b"CvccCvccCvcvno",
            b"CvcvnoCvccCvcc",
            b"CvcvCvccnoCvcc",
            b"CvcvCvccCvccno",
            b"CvccnoCvcvCvcc",
            b"CvccCvcvnoCvcc",
            b"CvccCvcvCvccno",
        ],
        b"medium" => &[b"CvcnoCvc", b"CvcCvcno"],
        b"short" => &[b"Cvcn"],
        b"basic" => &[b"aaanaaan", b"aannaaan", b"aaannaaa"],
        b"pin" => &[b"nnnn"],
        _ => return None,
    })
}

fn template_characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// The Master Password algorithm (scrypt N=32768 r=8 p=2 of the password salted with the user,
/// then HMAC-SHA256 of the site and counter choosing a template and its characters).
fn derive_password(
    counter: u32,
    kind: &[u8],
    password: &[u8],
    user: &[u8],
    site: &[u8],
) -> Result<Vec<u8>, String> {
    let Some(templates) = password_templates(kind) else {
        return Ok([b"cannot find password template ".as_slice(), kind].concat());
    };
    let (Ok(user_len), Ok(site_len)) = (u32::try_from(user.len()), u32::try_from(site.len()))
    else {
        return Err("derivePassword: user or site longer than 4 GiB".into());
    };
    spend("derivePassword", COST_SCRYPT)?;
    let salt = [MASTER_PASSWORD_SEED, &user_len.to_be_bytes(), user].concat();
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).map_err(|e| e.to_string())?;
    if let Err(e) = scrypt::scrypt(password, &salt, &params, &mut key) {
        return Ok(format!("failed to derive password: {e}").into_bytes());
    }
    let msg = [
        MASTER_PASSWORD_SEED,
        &site_len.to_be_bytes(),
        site,
        &counter.to_be_bytes(),
    ]
    .concat();
    let seed = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key), &msg);
    let seed = seed.as_ref();
    let template = templates[seed[0] as usize % templates.len()];
    Ok(template
        .iter()
        .enumerate()
        .map(|(i, &class)| {
            let chars = template_characters(class);
            chars[seed[i + 1] as usize % chars.len()]
        })
        .collect())
}

// ---- AES ----

/// Sprig's AES key: the password's first 32 bytes, zero-padded (so always AES-256).
fn aes_key(password: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    key
}

/// AES-256-CBC with PKCS#7 padding and a random IV before the ciphertext, in base64.
fn encrypt_aes(password: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, String> {
    use aes::cipher::{BlockEncryptMut as _, KeyIvInit as _};
    if plaintext.is_empty() {
        return Ok(Vec::new());
    }
    capped((plaintext.len() + 32).saturating_mul(4) / 3 + 4)?;
    let mut iv = [0u8; 16];
    fill_random(&mut iv);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let ct = enc.encrypt_padded_vec_mut::<aes::cipher::block_padding::Pkcs7>(plaintext);
    Ok(b64(&[iv.as_slice(), &ct].concat()))
}

/// The reverse of [`encrypt_aes`], as leniently as Sprig: the padding is not checked, only cut
/// by its last byte; what Go panics on (too short, not whole blocks, padding longer than the
/// text) is an error.
fn decrypt_aes(password: &[u8], crypt64: &[u8]) -> Result<Vec<u8>, String> {
    use aes::cipher::{BlockDecryptMut as _, KeyIvInit as _};
    if crypt64.is_empty() {
        return Ok(Vec::new());
    }
    let crypt = b64_decode(crypt64)?;
    if crypt.len() < 16 {
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let Ok(iv) = <[u8; 16]>::try_from(iv) else {
        return Err("crypto/cipher: bad IV".into());
    };
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let plain = dec
        .decrypt_padded_vec_mut::<aes::cipher::block_padding::NoPadding>(body)
        .map_err(|e| e.to_string())?;
    let Some(&pad) = plain.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let Some(end) = plain.len().checked_sub(pad as usize) else {
        return Err(format!(
            "runtime error: slice bounds out of range [:{}] with capacity {}",
            plain.len() as i64 - pad as i64,
            plain.len()
        ));
    };
    Ok(plain[..end].to_vec())
}

// ---- DER and PEM, as much as keys need ----

fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b = n.to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count();
        out.push(0x80 | (b.len() - skip) as u8);
        out.extend_from_slice(&b[skip..]);
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER from an unsigned big-endian magnitude.
fn der_uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&x| x == 0).count();
    let mut m = be[skip..].to_vec();
    if m.first().is_none_or(|&b| b & 0x80 != 0) {
        m.insert(0, 0);
    }
    tlv(0x02, &m)
}

/// One DER element: its tag, its content and what follows it.
fn der_read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// Go's `pem.EncodeToMemory`: base64 in lines of 64.
fn pem_encode(kind: &str, der: &[u8]) -> Vec<u8> {
    let body = b64(der);
    let mut out = format!("-----BEGIN {kind}-----\n").into_bytes();
    for line in body.chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(format!("-----END {kind}-----\n").as_bytes());
    out
}

/// Go's `pem.Decode`: the first well-formed block anywhere in the input (headers skipped).
fn pem_decode(data: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut from = 0;
    while from < data.len() {
        let at = super::sprig::find(&data[from..], BEGIN)? + from;
        from = at + BEGIN.len();
        if at > 0 && data[at - 1] != b'\n' {
            continue;
        }
        let rest = &data[from..];
        let line_end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
        let line = rest[..line_end].trim_ascii_end();
        let Some(kind) = line.strip_suffix(b"-----") else {
            continue;
        };
        let mut body = rest.get(line_end + 1..).unwrap_or_default();
        // Headers ("Proc-Type: ...") up to a blank line.
        let first = body.split(|&c| c == b'\n').next().unwrap_or_default();
        if first.contains(&b':') {
            match super::sprig::find(body, b"\n\n") {
                Some(i) => body = &body[i + 2..],
                None => continue,
            }
        }
        let end = [b"-----END ".as_slice(), kind, b"-----"].concat();
        let Some(e) = super::sprig::find(body, &end) else {
            continue;
        };
        if e > 0 && body[e - 1] != b'\n' {
            continue;
        }
        let b64: Vec<u8> = body[..e]
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&b64) {
            return Some((kind.to_vec(), der));
        }
    }
    None
}

// ---- private keys ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
        }
    }

    fn from_oid(oid: &[u8]) -> Result<Curve, String> {
        match oid {
            OID_P256 => Ok(Curve::P256),
            OID_P384 => Ok(Curve::P384),
            _ => Err("x509: unknown elliptic curve".into()),
        }
    }

    fn ring_alg(self) -> &'static ring::signature::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }
}

/// A private key as Sprig holds one, with the DER it writes it in.
enum Key {
    /// PKCS#1 `RSAPrivateKey`.
    Rsa(Vec<u8>),
    /// SEC1 `ECPrivateKey`, with its curve parameters and public key.
    Ec(Curve, Vec<u8>),
    /// The 32-byte seed.
    Ed25519([u8; 32]),
    /// Sprig's `DSAKeyFormat` sequence (Go cannot sign certificates with it).
    Dsa(Vec<u8>),
}

/// RSA keys above this many bits are refused outright (parsing a larger one costs time for
/// nothing: ring signs with keys of 2048 to 4096 bits only).
const MAX_RSA_BITS: usize = 8192;

impl Key {
    fn generate_rsa(name: &str, bits: usize) -> Result<Key, String> {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        spend(
            name,
            if bits > 2048 {
                COST_RSA_4096
            } else {
                COST_RSA_2048
            },
        )?;
        let key = rsa::RsaPrivateKey::new(&mut Rng06, bits)
            .map_err(|e| format!("error generating rsa key: {e}"))?;
        let der = key
            .to_pkcs1_der()
            .map_err(|e| format!("error generating rsa key: {e}"))?;
        Ok(Key::Rsa(der.as_bytes().to_vec()))
    }

    fn generate_ecdsa() -> Result<Key, String> {
        let rng = ring::rand::SystemRandom::new();
        let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(Curve::P256.ring_alg(), &rng)
            .map_err(|_| "failed to generate private key: ecdsa".to_string())?;
        Key::from_pkcs8(doc.as_ref())
    }

    fn generate_ed25519() -> Key {
        let mut seed = [0u8; 32];
        fill_random(&mut seed);
        Key::Ed25519(seed)
    }

    fn generate_dsa() -> Result<Key, String> {
        spend("genPrivateKey", COST_DSA)?;
        let components = dsa::Components::generate(&mut Rng06, dsa::KeySize::DSA_2048_256);
        let key = dsa::SigningKey::generate(&mut Rng06, components);
        let vk = key.verifying_key();
        let c = vk.components();
        let mut seq = der_uint(&[0]);
        for n in [c.p(), c.q(), c.g(), vk.y(), key.x()] {
            seq.extend(der_uint(&n.to_bytes_be()));
        }
        Ok(Key::Dsa(tlv(0x30, &seq)))
    }

    /// Sprig's `parsePrivateKeyPEM`.
    fn from_pem(pem: &[u8]) -> Result<Key, String> {
        let Some((kind, der)) = pem_decode(pem) else {
            return Err("no PEM data in input".into());
        };
        let kind = String::from_utf8_lossy(&kind).into_owned();
        if kind == "PRIVATE KEY" {
            return Key::from_pkcs8(&der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
        }
        let Some(algo) = kind.strip_suffix(" PRIVATE KEY") else {
            return Err(format!("no private key data in PEM block of type {kind}"));
        };
        match algo {
            "RSA" => {
                Key::from_pkcs1(&der).map_err(|e| format!("parsing RSA private key from PEM: {e}"))
            }
            "EC" => Key::from_sec1(&der, None)
                .map_err(|e| format!("parsing EC private key from PEM: {e}")),
            "DSA" => {
                let ok = der_read(&der).is_some_and(|(tag, mut seq, _)| {
                    let mut n = 0;
                    while let Some((t, _, rest)) = der_read(seq) {
                        if t != 0x02 {
                            return false;
                        }
                        n += 1;
                        seq = rest;
                    }
                    tag == 0x30 && n == 6 && seq.is_empty()
                });
                if !ok {
                    return Err("parsing DSA private key from PEM: asn1: structure error".into());
                }
                Ok(Key::Dsa(der))
            }
            _ => Err(format!("invalid private key type {kind}")),
        }
    }

    fn from_pkcs1(der: &[u8]) -> Result<Key, String> {
        use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
        let parsed = rsa::pkcs1::RsaPrivateKey::try_from(der).map_err(|e| e.to_string())?;
        if parsed.modulus.as_bytes().len() > MAX_RSA_BITS / 8 + 1 {
            return Err(format!(
                "RSA keys of more than {MAX_RSA_BITS} bits are not supported"
            ));
        }
        let key = rsa::RsaPrivateKey::from_pkcs1_der(der).map_err(|e| e.to_string())?;
        let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
        Ok(Key::Rsa(der.as_bytes().to_vec()))
    }

    /// A SEC1 key, its curve from its own parameters or else from the PKCS#8 wrapping; written
    /// back with the parameters, as Go's `MarshalECPrivateKey` does.
    fn from_sec1(der: &[u8], curve: Option<Curve>) -> Result<Key, String> {
        let bad = || "x509: failed to parse EC private key".to_string();
        let (0x30, seq, _) = der_read(der).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x02, [1], rest) = der_read(seq).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x04, private, mut rest) = der_read(rest).ok_or_else(bad)? else {
            return Err(bad());
        };
        let mut curve = curve;
        let mut public = None;
        while let Some((tag, content, next)) = der_read(rest) {
            match tag {
                0xa0 => {
                    let (0x06, oid, _) = der_read(content).ok_or_else(bad)? else {
                        return Err(bad());
                    };
                    curve = Some(Curve::from_oid(oid)?);
                }
                0xa1 => public = Some(content),
                _ => return Err(bad()),
            }
            rest = next;
        }
        let curve = curve.ok_or_else(bad)?;
        let public = public.ok_or("the EC private key has no public key")?;
        let mut body = tlv(0x02, &[1]);
        body.extend(tlv(0x04, private));
        body.extend(tlv(0xa0, &tlv(0x06, curve.oid())));
        body.extend(tlv(0xa1, public));
        let key = Key::Ec(curve, tlv(0x30, &body));
        let rng = ring::rand::SystemRandom::new();
        ring::signature::EcdsaKeyPair::from_pkcs8(curve.ring_alg(), &key.pkcs8()?, &rng)
            .map_err(|e| format!("x509: invalid EC private key: {e}"))?;
        Ok(key)
    }

    /// Go's `x509.ParsePKCS8PrivateKey` for the kinds a certificate can be signed with.
    fn from_pkcs8(der: &[u8]) -> Result<Key, String> {
        let bad = || "asn1: structure error".to_string();
        let (0x30, seq, _) = der_read(der).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x02, _version, rest) = der_read(seq).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x30, alg, rest) = der_read(rest).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x04, private, _) = der_read(rest).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x06, oid, params) = der_read(alg).ok_or_else(bad)? else {
            return Err(bad());
        };
        match oid {
            OID_RSA => Key::from_pkcs1(private),
            OID_EC => {
                let curve = match der_read(params) {
                    Some((0x06, c, _)) => Some(Curve::from_oid(c)?),
                    _ => None,
                };
                Key::from_sec1(private, curve)
            }
            OID_ED25519 => {
                let Some((0x04, seed, _)) = der_read(private) else {
                    return Err(bad());
                };
                let seed = <[u8; 32]>::try_from(seed)
                    .map_err(|_| "x509: invalid Ed25519 private key length".to_string())?;
                Ok(Key::Ed25519(seed))
            }
            _ => Err("x509: PKCS#8 wrapping contained private key with unknown algorithm".into()),
        }
    }

    /// The key as PKCS#8, which is what ring (and so rcgen) signs with.
    fn pkcs8(&self) -> Result<Vec<u8>, String> {
        let wrap = |alg: Vec<u8>, private: &[u8]| {
            let mut body = tlv(0x02, &[0]);
            body.extend(tlv(0x30, &alg));
            body.extend(tlv(0x04, private));
            tlv(0x30, &body)
        };
        Ok(match self {
            Key::Rsa(der) => wrap([tlv(0x06, OID_RSA), vec![0x05, 0x00]].concat(), der),
            Key::Ec(curve, der) => wrap([tlv(0x06, OID_EC), tlv(0x06, curve.oid())].concat(), der),
            Key::Ed25519(seed) => wrap(tlv(0x06, OID_ED25519), &tlv(0x04, seed)),
            Key::Dsa(_) => {
                return Err("x509: certificate private key does not implement crypto.Signer".into())
            }
        })
    }

    /// The PEM Sprig writes for the key.
    fn pem(&self) -> Vec<u8> {
        match self {
            Key::Rsa(der) => pem_encode("RSA PRIVATE KEY", der),
            Key::Ec(_, der) => pem_encode("EC PRIVATE KEY", der),
            Key::Dsa(der) => pem_encode("DSA PRIVATE KEY", der),
            Key::Ed25519(_) => pem_encode("PRIVATE KEY", &self.pkcs8().unwrap_or_default()),
        }
    }

    fn key_pair(&self) -> Result<rcgen::KeyPair, String> {
        rcgen::KeyPair::try_from(self.pkcs8()?.as_slice()).map_err(|e| match self {
            // ring signs with RSA keys of 2048 to 4096 bits only (Go takes any size).
            Key::Rsa(_) => format!(
                "error creating certificate: RSA keys that sign certificates must be 2048 to 4096 bits here ({e})"
            ),
            _ => format!("error creating certificate: {e}"),
        })
    }
}

fn gen_private_key(kind: &[u8]) -> Result<Vec<u8>, String> {
    let key = match kind {
        b"" | b"rsa" => Key::generate_rsa("genPrivateKey", 4096)?,
        b"dsa" => Key::generate_dsa()?,
        b"ecdsa" => Key::generate_ecdsa()?,
        b"ed25519" => Key::generate_ed25519(),
        _ => return Ok([b"Unknown type ".as_slice(), kind].concat()),
    };
    Ok(key.pem())
}

// ---- certificates ----

/// Sprig's `certificate` struct: two PEM strings.
#[derive(Debug)]
struct Certificate {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl GoObject for Certificate {
    fn type_name(&self) -> &'static str {
        CERT_TYPE
    }

    fn kind(&self) -> &'static str {
        "struct"
    }

    fn member(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let v = match name {
            "Cert" => &self.cert,
            "Key" => &self.key,
            _ => return None,
        };
        if !args.is_empty() {
            return Some(Err(format!(
                "{name} has arguments but cannot be invoked as function"
            )));
        }
        Some(Ok(Value::str(v)))
    }

    fn display(&self) -> Vec<u8> {
        [b"{".as_slice(), &self.cert, b" ", &self.key, b"}"].concat()
    }

    fn fields(&self) -> Option<Vec<Value>> {
        Some(vec![Value::str(&self.cert), Value::str(&self.key)])
    }

    // sprig.certificate has no String method: every verb prints its fields.
    fn stringer(&self) -> bool {
        false
    }

    fn to_json(&self) -> Vec<u8> {
        let s = |b: &[u8]| serde_json::to_string(&String::from_utf8_lossy(b)).unwrap_or_default();
        format!("{{\"Cert\":{},\"Key\":{}}}", s(&self.cert), s(&self.key)).into_bytes()
    }

    fn deep_equal(&self, other: &dyn GoObject) -> bool {
        self.display() == other.display()
    }
}

fn cert_value(cert: Vec<u8>, key: Vec<u8>) -> Value {
    Value::Object(std::rc::Rc::new(Certificate { cert, key }))
}

fn list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::List(l, _)) => l.to_vec(),
        _ => Vec::new(),
    }
}

/// The CA a `genSignedCert` call passes.
fn ca_of(v: Option<&Value>) -> Option<(Vec<u8>, Vec<u8>)> {
    let Some(Value::Object(o)) = v else {
        return None;
    };
    let get = |m: &str| match o.member(m, &[]) {
        Some(Ok(Value::Str(ref s))) => s.to_vec(),
        _ => Vec::new(),
    };
    Some((get("Cert"), get("Key")))
}

/// Go's `time.Duration` holds at most this many days; Sprig's `24h * days` wraps beyond it, which
/// here is refused instead.
const MAX_DAYS: i64 = 106_751;

fn days(v: Option<&Value>) -> Result<i64, String> {
    let d = v.map(int).unwrap_or(0);
    if d.unsigned_abs() > MAX_DAYS as u64 {
        return Err(format!(
            "daysValid {d} is out of range: at most {MAX_DAYS} days either way"
        ));
    }
    Ok(d)
}

/// `buildCustomCert`: checks a base64 PEM certificate and key and returns them as they are.
fn build_custom_cert(b64cert: &[u8], b64key: &[u8]) -> Result<Value, String> {
    let cert = b64_decode(b64cert).map_err(|_| "unable to decode base64 certificate")?;
    let key = b64_decode(b64key).map_err(|_| "unable to decode base64 private key")?;
    let Some((_, der)) = pem_decode(&cert) else {
        return Err("unable to decode certificate".into());
    };
    match x509_parser::parse_x509_certificate(&der) {
        Ok(([], _)) => {}
        Ok(_) => {
            return Err("error parsing certificate: decodedCert.Bytes: x509: trailing data".into())
        }
        Err(e) => return Err(format!("error parsing certificate: decodedCert.Bytes: {e}")),
    }
    Key::from_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(cert_value(cert, key))
}

/// Go's `net.ParseIP` (an IPv4-mapped IPv6 address is the IPv4 one, as x509 writes it).
fn parse_ip(v: &Value) -> Result<IpAddr, String> {
    let Value::Str(s) = v else {
        let shown = String::from_utf8_lossy(&strval(v)).into_owned();
        return Err(format!("error parsing ip: {shown} is not a string"));
    };
    let text = String::from_utf8_lossy(s);
    let bad = || format!("error parsing ip: {text}");
    let ip: IpAddr = text.parse().map_err(|_| bad())?;
    // Go refuses IPv4 parts with leading zeros, as Rust does; zones are refused by both.
    Ok(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

fn dns_name(v: &Value) -> Result<rcgen::SanType, String> {
    let Value::Str(s) = v else {
        let shown = String::from_utf8_lossy(&strval(v)).into_owned();
        return Err(format!(
            "error processing alternate dns name: {shown} is not a string"
        ));
    };
    let text = String::from_utf8_lossy(s).into_owned();
    let ia5 = rcgen::string::Ia5String::try_from(text.clone()).map_err(|_| {
        format!("error creating certificate: x509: {text:?} cannot be encoded as an IA5String")
    })?;
    Ok(rcgen::SanType::DnsName(ia5))
}

/// Sprig's certificate template signed by `ca` (a certificate and key PEM) or by the key itself.
fn certificate(
    cn: &[u8],
    ips: &[Value],
    dns: &[Value],
    days: i64,
    is_ca: bool,
    key: Key,
    ca: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<Value, String> {
    use rcgen::{ExtendedKeyUsagePurpose as Eku, KeyUsagePurpose as Ku};
    // The CA is read first, as Sprig does.
    let issuer = match &ca {
        Some((cert, key)) => {
            let Some((_, der)) = pem_decode(cert) else {
                return Err("unable to decode certificate".into());
            };
            let ca_public = match x509_parser::parse_x509_certificate(&der) {
                Ok((_, c)) => c.public_key().subject_public_key.data.to_vec(),
                Err(e) => {
                    return Err(format!(
                        "error parsing certificate: decodedSignerCert.Bytes: {e}"
                    ))
                }
            };
            let signer =
                Key::from_pem(key).map_err(|e| format!("error parsing private key: {e}"))?;
            Some((der, signer, ca_public))
        }
        None => None,
    };
    let mut sans = Vec::with_capacity(ips.len() + dns.len());
    for ip in ips {
        sans.push(rcgen::SanType::IpAddress(parse_ip(ip)?));
    }
    for name in dns {
        sans.push(dns_name(name)?);
    }
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if !cn.is_empty() {
        let cn = String::from_utf8(cn.to_vec())
            .map_err(|_| "error creating certificate: asn1: string not valid UTF-8")?;
        let value = match rcgen::string::PrintableString::try_from(cn.clone()) {
            Ok(p) => rcgen::DnValue::PrintableString(p),
            Err(_) => rcgen::DnValue::Utf8String(cn),
        };
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, value);
    }
    params.subject_alt_names = sans;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now
        .checked_add(time::Duration::days(days))
        .ok_or_else(|| format!("daysValid {days} is out of range"))?;
    let mut serial = [0u8; 16];
    fill_random(&mut serial);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.key_usages = vec![Ku::KeyEncipherment, Ku::DigitalSignature];
    if is_ca {
        params.key_usages.push(Ku::KeyCertSign);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    } else {
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
    }
    params.extended_key_usages = vec![Eku::ServerAuth, Eku::ClientAuth];
    let subject = key.key_pair()?;
    let created = match issuer {
        None => params.self_signed(&subject),
        Some((ca_der, signer, ca_public)) => {
            params.use_authority_key_identifier_extension = true;
            let signer = signer.key_pair()?;
            // As Go's CreateCertificate checks.
            if signer.public_key_raw() != ca_public.as_slice() {
                return Err(
                    "error creating certificate: x509: provided PrivateKey doesn't \
                            match parent's PublicKey"
                        .into(),
                );
            }
            let issuer = rcgen::Issuer::from_ca_cert_der(&ca_der.into(), signer)
                .map_err(|e| format!("error parsing certificate: {e}"))?;
            params.signed_by(&subject, &issuer)
        }
    };
    let cert = created.map_err(|e| format!("error creating certificate: {e}"))?;
    Ok(cert_value(pem_encode("CERTIFICATE", cert.der()), key.pem()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn budget_refills_over_time_and_never_past_its_capacity() {
        let t0 = Instant::now();
        let mut b = Budget::full();
        let mut n = 0;
        while b.take(t0, COST_RSA_4096) {
            n += 1;
        }
        assert_eq!(n, (Budget::CAPACITY / COST_RSA_4096) as usize);
        // Refilled at REFILL a second: 4 s later, 2 units are back.
        assert!(!b.take(t0 + Duration::from_secs(1), COST_RSA_4096));
        assert!(b.take(t0 + Duration::from_secs(5), COST_RSA_4096));
        // A long pause refills to the capacity, no more.
        let later = t0 + Duration::from_secs(100_000);
        assert!(b.take(later, Budget::CAPACITY));
        assert!(!b.take(later, 0.01));
    }

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(der_uint(&[0, 0, 5]), [2, 1, 5]);
        assert_eq!(der_uint(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(der_uint(&[]), [2, 1, 0]);
        assert_eq!(tlv(4, &[0; 200])[..3], [4, 0x81, 200]);
        assert_eq!(der_read(&[0x30, 0x82, 0x01]), None);
        assert_eq!(der_read(&[0x30, 0x05, 1]), None);
    }

    #[test]
    fn pem_round_trips_and_skips_garbage() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = pem_encode("THING", &der);
        assert!(pem.split(|&c| c == b'\n').all(|l| l.len() <= 64));
        let noisy = [b"junk -----BEGIN X\n".as_slice(), b"text\n", &pem, b"tail"].concat();
        assert_eq!(pem_decode(&noisy), Some((b"THING".to_vec(), der)));
        assert_eq!(
            pem_decode(b"-----BEGIN A-----\nAAAA\n-----END B-----\n"),
            None
        );
    }

    #[test]
    fn generated_keys_parse_back_as_sprig_reads_them() {
        for key in [Key::generate_ecdsa().unwrap(), Key::generate_ed25519()] {
            let pem = key.pem();
            let back = Key::from_pem(&pem).unwrap();
            assert_eq!(back.pem(), pem);
            back.key_pair().unwrap();
        }
        // A PKCS#8 EC key (no curve parameters inside) is written back as SEC1 with them.
        let rng = ring::rand::SystemRandom::new();
        let doc =
            ring::signature::EcdsaKeyPair::generate_pkcs8(Curve::P384.ring_alg(), &rng).unwrap();
        let key = Key::from_pem(&pem_encode("PRIVATE KEY", doc.as_ref())).unwrap();
        assert!(matches!(key, Key::Ec(Curve::P384, _)));
        assert!(key.pem().starts_with(b"-----BEGIN EC PRIVATE KEY-----\n"));
    }

    #[test]
    fn aes_round_trips_and_refuses_what_go_panics_on() {
        for n in [1usize, 15, 16, 17, 100] {
            let text = vec![b'x'; n];
            let c = encrypt_aes(b"pw", &text).unwrap();
            assert_eq!(decrypt_aes(b"pw", &c).unwrap(), text);
        }
        assert!(decrypt_aes(b"pw", &b64(&[0u8; 15])).is_err());
        assert!(decrypt_aes(b"pw", &b64(&[0u8; 16])).is_err());
        assert!(decrypt_aes(b"pw", &b64(&[0u8; 40])).is_err());
        assert!(decrypt_aes(b"pw", b"!!!").is_err());
    }
}
