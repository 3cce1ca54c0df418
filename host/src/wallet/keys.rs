//! Key derivation and signing.

use schnorrkel::ExpansionMode;
use schnorrkel::derive::{ChainCode, Derivation};
use toile_proto::address::{
    BASE58_KEY_MAX_LEN, G1_SS58_PREFIX, SS58_MAX_LEN, base58_key_encode, ss58_encode,
};
use toile_proto::crypto::{blake2_256, ed25519_public, ed25519_sign};
use zeroize::Zeroizing;

/// Signature scheme of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Ed25519,
    Sr25519,
}

impl std::str::FromStr for Scheme {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        match s {
            "ed25519" => Ok(Self::Ed25519),
            "sr25519" => Ok(Self::Sr25519),
            other => Err(KeyError::UnknownScheme(other.to_owned())),
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Ed25519 => "ed25519",
            Self::Sr25519 => "sr25519",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid mnemonic: {0} (check the words and their order)")]
    Mnemonic(String),
    #[error("invalid derivation path {0:?}: use //hard, /soft and ///password junctions")]
    Path(String),
    #[error("soft derivation (/{0}) is not defined for ed25519 keys; use //{0}")]
    SoftEd25519(String),
    #[error("unknown key scheme {0:?}: use ed25519 or sr25519")]
    UnknownScheme(String),
    #[error("Duniter v1 documents need an ed25519 key (Cesium credentials or --scheme ed25519)")]
    NotForV1,
    #[error("cannot sign this document: {0}")]
    Document(String),
    #[error("secret key bytes are invalid for {0}")]
    BadSecret(Scheme),
}

/// A signing key. Secrets are zeroed on drop.
pub enum Keypair {
    Ed25519 {
        seed: Zeroizing<[u8; 32]>,
        public: [u8; 32],
    },
    Sr25519(Box<schnorrkel::Keypair>),
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({}, {})", self.scheme(), self.v2_address())
    }
}

/// scrypt parameters of Cesium / Duniter "salt + password" credentials.
const CESIUM_LOG_N: u8 = 12;
const CESIUM_R: u32 = 16;
const CESIUM_P: u32 = 1;

impl Keypair {
    /// Cesium-style credentials: the scrypt output is the ed25519 seed.
    pub fn from_credentials(salt: &str, password: &str) -> Self {
        let params = scrypt::Params::new(CESIUM_LOG_N, CESIUM_R, CESIUM_P, 32)
            .expect("constant scrypt parameters are valid");
        let mut seed = Zeroizing::new([0u8; 32]);
        scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut seed[..])
            .expect("32-byte output is valid for scrypt");
        Self::from_ed25519_seed(*seed)
    }

    pub fn from_ed25519_seed(seed: [u8; 32]) -> Self {
        let public = ed25519_public(&seed);
        Self::Ed25519 {
            seed: Zeroizing::new(seed),
            public,
        }
    }

    /// A secret URI: `"<mnemonic>[//hard|/soft]*[///password]"`, as in Substrate tools.
    pub fn from_suri(suri: &str, scheme: Scheme) -> Result<Self, KeyError> {
        let (phrase, junctions, password) = split_suri(suri)?;
        let mnemonic = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, phrase)
            .map_err(|e| KeyError::Mnemonic(e.to_string()))?;
        let entropy = mnemonic.to_entropy();
        let password = password.unwrap_or("");
        let mut key = match scheme {
            Scheme::Sr25519 => {
                let mini = substrate_bip39::mini_secret_from_entropy(&entropy, password)
                    .map_err(|e| KeyError::Mnemonic(format!("{e:?}")))?;
                Self::Sr25519(Box::new(mini.expand_to_keypair(ExpansionMode::Ed25519)))
            }
            Scheme::Ed25519 => {
                let seed = substrate_bip39::seed_from_entropy(&entropy, password)
                    .map_err(|e| KeyError::Mnemonic(format!("{e:?}")))?;
                let mut s = [0u8; 32];
                s.copy_from_slice(&seed[..32]);
                Self::from_ed25519_seed(s)
            }
        };
        for j in junctions {
            key = key.derive(&j)?;
        }
        Ok(key)
    }

    fn derive(self, j: &Junction) -> Result<Self, KeyError> {
        match self {
            Self::Ed25519 { seed, .. } => {
                if !j.hard {
                    return Err(KeyError::SoftEd25519(j.text.clone()));
                }
                // sp-core: blake2_256(("Ed25519HDKD", seed, chain_code).encode())
                let mut buf = Zeroizing::new(Vec::with_capacity(1 + 11 + 64));
                buf.push(11 << 2);
                buf.extend_from_slice(b"Ed25519HDKD");
                buf.extend_from_slice(&seed[..]);
                buf.extend_from_slice(&j.chain_code);
                Ok(Self::from_ed25519_seed(blake2_256(&buf)))
            }
            Self::Sr25519(pair) => {
                let cc = ChainCode(j.chain_code);
                let secret = if j.hard {
                    pair.secret
                        .hard_derive_mini_secret_key(Some(cc), b"")
                        .0
                        .expand(ExpansionMode::Ed25519)
                } else {
                    pair.secret.derived_key_simple(cc, []).0
                };
                Ok(Self::Sr25519(Box::new(secret.to_keypair())))
            }
        }
    }

    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Ed25519 { .. } => Scheme::Ed25519,
            Self::Sr25519(_) => Scheme::Sr25519,
        }
    }

    pub fn public(&self) -> [u8; 32] {
        match self {
            Self::Ed25519 { public, .. } => *public,
            Self::Sr25519(pair) => pair.public.to_bytes(),
        }
    }

    /// Duniter v1 base58 public key (v1 only knows ed25519 keys).
    pub fn v1_pubkey(&self) -> String {
        let mut buf = [0u8; BASE58_KEY_MAX_LEN];
        base58_key_encode(&self.public(), &mut buf).to_owned()
    }

    /// Ğ1 v2s SS58 address (prefix 4450, starts with `g1`).
    pub fn v2_address(&self) -> String {
        let mut buf = [0u8; SS58_MAX_LEN];
        ss58_encode(&self.public(), G1_SS58_PREFIX, &mut buf).to_owned()
    }

    /// Sign `msg` (sr25519 uses Substrate's `b"substrate"` signing context).
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        match self {
            Self::Ed25519 { seed, .. } => ed25519_sign(seed, msg),
            Self::Sr25519(pair) => pair.sign_simple(b"substrate", msg).to_bytes(),
        }
    }

    /// The signer a v2s extrinsic builder takes.
    pub fn v2s_signer(&self) -> toile_proto::item::v2s::Signer {
        match self {
            Self::Ed25519 { seed, .. } => toile_proto::item::v2s::Signer::ed25519(seed),
            Self::Sr25519(pair) => toile_proto::item::v2s::Signer::sr25519((**pair).clone()),
        }
    }

    /// Sign a DUBP v10 document (the text up to, not including, the signature line) and return
    /// its compact form. Duniter v1 only knows ed25519 keys.
    pub fn sign_dubp(&self, unsigned: &str) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::Ed25519 { seed, .. } => toile_proto::item::dubp::sign(unsigned, &[**seed])
                .map_err(|e| KeyError::Document(e.to_string())),
            Self::Sr25519(_) => Err(KeyError::NotForV1),
        }
    }

    /// Secret bytes for the keystore: the 32-byte ed25519 seed, or the 64-byte sr25519 secret.
    pub(crate) fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        match self {
            Self::Ed25519 { seed, .. } => Zeroizing::new(seed.to_vec()),
            Self::Sr25519(pair) => Zeroizing::new(pair.secret.to_bytes().to_vec()),
        }
    }

    pub(crate) fn from_secret_bytes(scheme: Scheme, bytes: &[u8]) -> Result<Self, KeyError> {
        match scheme {
            Scheme::Ed25519 => {
                let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadSecret(scheme))?;
                Ok(Self::from_ed25519_seed(seed))
            }
            Scheme::Sr25519 => {
                let secret = schnorrkel::SecretKey::from_bytes(bytes)
                    .map_err(|_| KeyError::BadSecret(scheme))?;
                Ok(Self::Sr25519(Box::new(secret.to_keypair())))
            }
        }
    }
}

/// Generate a fresh 12-word mnemonic from the OS RNG.
pub fn generate_mnemonic() -> String {
    let mut entropy = Zeroizing::new([0u8; 16]);
    getrandom::getrandom(&mut entropy[..]).expect("the OS random number generator is available");
    bip39::Mnemonic::from_entropy(&entropy[..])
        .expect("16 bytes is valid BIP-39 entropy")
        .to_string()
}

struct Junction {
    text: String,
    hard: bool,
    chain_code: [u8; 32],
}

/// Split `phrase//a/b///pw` into the phrase, junctions and password (sp-core's SURI grammar).
fn split_suri(suri: &str) -> Result<(&str, Vec<Junction>, Option<&str>), KeyError> {
    let (rest, password) = match suri.split_once("///") {
        Some((r, p)) => (r, Some(p)),
        None => (suri, None),
    };
    let Some(first) = rest.find('/') else {
        return Ok((rest.trim(), Vec::new(), password));
    };
    let (phrase, mut path) = rest.split_at(first);
    let mut junctions = Vec::new();
    while !path.is_empty() {
        let hard = path.starts_with("//");
        path = &path[if hard { 2 } else { 1 }..];
        let end = path.find('/').unwrap_or(path.len());
        let text = &path[..end];
        if text.is_empty() {
            return Err(KeyError::Path(suri[first..].to_owned()));
        }
        junctions.push(Junction {
            text: text.to_owned(),
            hard,
            chain_code: chain_code(text),
        });
        path = &path[end..];
    }
    Ok((phrase.trim(), junctions, password))
}

/// sp-core `DeriveJunction`: a number is its u64 LE encoding, text its SCALE encoding; either
/// padded to 32 bytes, or hashed with blake2-256 when longer.
fn chain_code(text: &str) -> [u8; 32] {
    let encoded: Vec<u8> = match text.parse::<u64>() {
        Ok(n) => n.to_le_bytes().to_vec(),
        Err(_) => {
            let mut v = Vec::new();
            toile_proto::scale::put_compact(&mut v, text.len() as u64);
            v.extend_from_slice(text.as_bytes());
            v
        }
    };
    if encoded.len() > 32 {
        blake2_256(&encoded)
    } else {
        let mut cc = [0u8; 32];
        cc[..encoded.len()].copy_from_slice(&encoded);
        cc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV_PHRASE: &str =
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

    #[test]
    fn cesium_credentials_match_duniterpy() {
        // duniterpy SigningKey.from_credentials("rootsalt", "rootpass").pubkey
        let k = Keypair::from_credentials("rootsalt", "rootpass");
        assert_eq!(
            k.v1_pubkey(),
            "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV"
        );
        assert!(k.v2_address().starts_with("g1"));
    }

    #[test]
    fn substrate_dev_accounts() {
        // Well-known Substrate development keys (subkey inspect //Alice).
        let alice_sr =
            Keypair::from_suri(&format!("{DEV_PHRASE}//Alice"), Scheme::Sr25519).unwrap();
        assert_eq!(
            hex::encode(alice_sr.public()),
            "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        );
        let alice_ed =
            Keypair::from_suri(&format!("{DEV_PHRASE}//Alice"), Scheme::Ed25519).unwrap();
        assert_eq!(
            hex::encode(alice_ed.public()),
            "88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"
        );
    }

    #[test]
    fn signatures_verify_with_proto() {
        for scheme in [Scheme::Ed25519, Scheme::Sr25519] {
            let k = Keypair::from_suri(&format!("{DEV_PHRASE}//Bob/1"), scheme);
            let k = match (scheme, k) {
                (Scheme::Ed25519, Err(KeyError::SoftEd25519(_))) => {
                    Keypair::from_suri(&format!("{DEV_PHRASE}//Bob//1"), scheme).unwrap()
                }
                (_, k) => k.unwrap(),
            };
            let sig = k.sign(b"payload");
            let r = match scheme {
                Scheme::Ed25519 => {
                    toile_proto::crypto::ed25519_verify(&k.public(), &sig, b"payload")
                }
                Scheme::Sr25519 => {
                    toile_proto::crypto::sr25519_verify(&k.public(), &sig, b"payload")
                }
            };
            assert_eq!(r, Ok(()), "{scheme}");
        }
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        assert!(matches!(
            Keypair::from_suri("not a mnemonic", Scheme::Sr25519),
            Err(KeyError::Mnemonic(_))
        ));
        assert!(matches!(
            Keypair::from_suri(&format!("{DEV_PHRASE}//"), Scheme::Sr25519),
            Err(KeyError::Path(_))
        ));
        assert!(matches!(
            "rsa".parse::<Scheme>(),
            Err(KeyError::UnknownScheme(_))
        ));
    }
}
