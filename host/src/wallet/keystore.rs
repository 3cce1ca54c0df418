//! Encrypted keystore file.
//!
//! JSON, versioned. The secret (ed25519 seed or sr25519 secret key) is sealed with
//! XChaCha20-Poly1305 under a key derived from a passphrase with scrypt (N = 2^15, r = 8,
//! p = 1: ~32 MiB and ~0.1 s, as keystores of Ethereum and polkadot.js use). The scheme and the
//! public key are authenticated as associated data, so editing them breaks decryption rather
//! than pairing the secret with the wrong public identity. Writes are atomic (temp file +
//! rename) and the file is created with mode 0600.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{KeyError, Keypair, Scheme};

const VERSION: u32 = 1;
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    #[error("cannot read or write keystore {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("keystore {0} is not a Toile keystore file (malformed JSON: {1})")]
    Format(String, serde_json::Error),
    #[error("keystore version {0} is newer than this toile understands; upgrade toile")]
    Version(u32),
    #[error("wrong passphrase, or the keystore file was modified")]
    Decrypt,
    #[error("keystore holds an invalid key: {0}")]
    Key(#[from] KeyError),
    #[error("unusable KDF parameters in keystore")]
    Kdf,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    scheme: Scheme,
    public_hex: String,
    v2_address: String,
    kdf: Kdf,
    cipher: String,
    nonce_hex: String,
    ciphertext_hex: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    log_n: u8,
    r: u32,
    p: u32,
    salt_hex: String,
}

fn derive(
    passphrase: &str,
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let params = scrypt::Params::new(log_n, r, p, 32).map_err(|_| KeystoreError::Kdf)?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, &mut key[..])
        .map_err(|_| KeystoreError::Kdf)?;
    Ok(key)
}

fn aad(scheme: Scheme, public: &[u8; 32]) -> Vec<u8> {
    let mut v = format!("toile-keystore-v{VERSION}:{scheme}:").into_bytes();
    v.extend_from_slice(public);
    v
}

/// Encrypt `key` under `passphrase` and write it to `path` atomically.
pub fn save(path: &Path, key: &Keypair, passphrase: &str) -> Result<(), KeystoreError> {
    let io = |source| KeystoreError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    getrandom::getrandom(&mut salt).map_err(|e| io(std::io::Error::other(e)))?;
    getrandom::getrandom(&mut nonce).map_err(|e| io(std::io::Error::other(e)))?;
    let k = derive(passphrase, &salt, LOG_N, R, P)?;
    let cipher = XChaCha20Poly1305::new((&*k).into());
    let public = key.public();
    let secret = key.secret_bytes();
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &secret,
                aad: &aad(key.scheme(), &public),
            },
        )
        .map_err(|_| KeystoreError::Decrypt)?;
    let file = File {
        version: VERSION,
        scheme: key.scheme(),
        public_hex: hex::encode(public),
        v2_address: key.v2_address(),
        kdf: Kdf {
            name: "scrypt".into(),
            log_n: LOG_N,
            r: R,
            p: P,
            salt_hex: hex::encode(salt),
        },
        cipher: "xchacha20poly1305".into(),
        nonce_hex: hex::encode(nonce),
        ciphertext_hex: hex::encode(ct),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Read and decrypt a keystore file.
pub fn load(path: &Path, passphrase: &str) -> Result<Keypair, KeystoreError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| KeystoreError::Io {
        path: name.clone(),
        source,
    })?;
    let file: File =
        serde_json::from_slice(&bytes).map_err(|e| KeystoreError::Format(name.clone(), e))?;
    if file.version != VERSION {
        return Err(KeystoreError::Version(file.version));
    }
    let bad = |_| KeystoreError::Format(name.clone(), serde::de::Error::custom("bad hex field"));
    let salt = hex::decode(&file.kdf.salt_hex).map_err(bad)?;
    let nonce: [u8; 24] = hex::decode(&file.nonce_hex)
        .map_err(bad)?
        .try_into()
        .map_err(|_| KeystoreError::Decrypt)?;
    let public: [u8; 32] = hex::decode(&file.public_hex)
        .map_err(bad)?
        .try_into()
        .map_err(|_| KeystoreError::Decrypt)?;
    let ct = hex::decode(&file.ciphertext_hex).map_err(bad)?;
    if file.kdf.name != "scrypt" || file.cipher != "xchacha20poly1305" {
        return Err(KeystoreError::Kdf);
    }
    let k = derive(passphrase, &salt, file.kdf.log_n, file.kdf.r, file.kdf.p)?;
    let cipher = XChaCha20Poly1305::new((&*k).into());
    let secret = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: &aad(file.scheme, &public),
                },
            )
            .map_err(|_| KeystoreError::Decrypt)?,
    );
    let key = Keypair::from_secret_bytes(file.scheme, &secret)?;
    if key.public() != public {
        return Err(KeystoreError::Decrypt);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        for key in [
            Keypair::from_credentials("s", "p"),
            Keypair::from_suri(
                "bottom drive obey lake curtain smoke basket hold race lonely fit walk//Alice",
                Scheme::Sr25519,
            )
            .unwrap(),
        ] {
            save(&path, &key, "correct horse").unwrap();
            let back = load(&path, "correct horse").unwrap();
            assert_eq!(back.public(), key.public());
            assert_eq!(back.scheme(), key.scheme());
            assert!(matches!(load(&path, "wrong"), Err(KeystoreError::Decrypt)));
        }
        // Tampering with the public key is detected.
        let text = std::fs::read_to_string(&path).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["public_hex"] = serde_json::Value::String("00".repeat(32));
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(matches!(
            load(&path, "correct horse"),
            Err(KeystoreError::Decrypt)
        ));
        std::fs::write(&path, "garbage").unwrap();
        assert!(matches!(load(&path, "x"), Err(KeystoreError::Format(..))));
    }
}
