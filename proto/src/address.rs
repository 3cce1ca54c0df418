//! Account keys as people write them: Duniter v1 base58 public keys and Substrate SS58
//! addresses (Ğ1 uses prefix 4450, so addresses start with `g1`). The same 32 bytes are the
//! same account on both chains.
//!
//! Encoding works without allocation into a caller buffer; the SS58 checksum is the first two
//! bytes of `blake2b-512("SS58PRE" || prefix || key)` as in `sp-core`.

use blake2::{Blake2b512, Digest};

/// The Ğ1 network's SS58 prefix.
pub const G1_SS58_PREFIX: u16 = 4450;

/// Longest SS58 text for a 32-byte key with a two-byte prefix (36 bytes in base58).
pub const SS58_MAX_LEN: usize = 50;
/// Longest base58 text of 32 bytes.
pub const BASE58_KEY_MAX_LEN: usize = 44;

/// Why an address or key text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressError {
    /// Not base58.
    NotBase58,
    /// Decodes to the wrong number of bytes for an account.
    BadLength,
    /// The SS58 checksum does not match (a typo).
    BadChecksum,
    /// A valid SS58 address, but for another network.
    WrongPrefix(u16),
    /// The text is not the canonical base58 spelling of its bytes.
    NonCanonical,
}

impl core::fmt::Display for AddressError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotBase58 => f.write_str("not base58 text"),
            Self::BadLength => f.write_str("wrong length for a 32-byte account key"),
            Self::BadChecksum => f.write_str("checksum mismatch: check the address for a typo"),
            Self::WrongPrefix(p) => write!(
                f,
                "address of network prefix {p}, expected {G1_SS58_PREFIX} (Ğ1)"
            ),
            Self::NonCanonical => f.write_str("non-canonical base58 spelling"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for AddressError {}

fn prefix_bytes(prefix: u16) -> ([u8; 2], usize) {
    if prefix < 64 {
        ([prefix as u8, 0], 1)
    } else {
        let first = (((prefix & 0b0000_0000_1111_1100) >> 2) as u8) | 0b0100_0000;
        let second = ((prefix >> 8) as u8) | (((prefix & 0b11) as u8) << 6);
        ([first, second], 2)
    }
}

fn checksum(body: &[u8]) -> [u8; 2] {
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update(body);
    let out = h.finalize();
    [out[0], out[1]]
}

/// Write the SS58 address of `key` into `out`; returns the text.
pub fn ss58_encode<'o>(key: &[u8; 32], prefix: u16, out: &'o mut [u8; SS58_MAX_LEN]) -> &'o str {
    let (p, plen) = prefix_bytes(prefix);
    let mut raw = [0u8; 2 + 32 + 2];
    raw[..plen].copy_from_slice(&p[..plen]);
    raw[plen..plen + 32].copy_from_slice(key);
    let sum = checksum(&raw[..plen + 32]);
    raw[plen + 32..plen + 34].copy_from_slice(&sum);
    let n = bs58::encode(&raw[..plen + 34])
        .onto(&mut out[..])
        .unwrap_or(0);
    core::str::from_utf8(&out[..n]).unwrap_or("")
}

/// Parse an SS58 address and check its checksum; returns `(prefix, key)`.
pub fn ss58_decode(text: &str) -> Result<(u16, [u8; 32]), AddressError> {
    let mut raw = [0u8; 40];
    let n = bs58::decode(text).onto(&mut raw[..]).map_err(|e| match e {
        bs58::decode::Error::BufferTooSmall => AddressError::BadLength,
        _ => AddressError::NotBase58,
    })?;
    let raw = &raw[..n];
    let (prefix, plen) = match raw.first() {
        Some(&b) if b < 64 => (u16::from(b), 1),
        Some(&b) if b < 128 => {
            let b1 = *raw.get(1).ok_or(AddressError::BadLength)?;
            let lower = (u16::from(b) << 2) | (u16::from(b1) >> 6);
            let upper = u16::from(b1 & 0b0011_1111);
            ((lower & 0x00ff) | (upper << 8), 2)
        }
        _ => return Err(AddressError::BadLength),
    };
    if raw.len() != plen + 32 + 2 {
        return Err(AddressError::BadLength);
    }
    let (body, sum) = raw.split_at(plen + 32);
    if checksum(body) != sum {
        return Err(AddressError::BadChecksum);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&body[plen..]);
    Ok((prefix, key))
}

/// Parse a Ğ1 account: an SS58 address with prefix 4450, or a v1 base58 public key.
pub fn parse_account(text: &str) -> Result<[u8; 32], AddressError> {
    match ss58_decode(text) {
        Ok((G1_SS58_PREFIX, key)) => Ok(key),
        Ok((other, _)) => Err(AddressError::WrongPrefix(other)),
        Err(_) if text.len() <= BASE58_KEY_MAX_LEN => base58_key_decode(text),
        Err(e) => Err(e),
    }
}

/// Write the v1 base58 text of a public key into `out`.
pub fn base58_key_encode<'o>(key: &[u8; 32], out: &'o mut [u8; BASE58_KEY_MAX_LEN]) -> &'o str {
    let n = bs58::encode(key).onto(&mut out[..]).unwrap_or(0);
    core::str::from_utf8(&out[..n]).unwrap_or("")
}

/// Parse a v1 base58 public key; only the canonical spelling of 32 bytes is accepted.
pub fn base58_key_decode(text: &str) -> Result<[u8; 32], AddressError> {
    let mut raw = [0u8; 33];
    let n = bs58::decode(text)
        .onto(&mut raw[..])
        .map_err(|_| AddressError::NotBase58)?;
    let key: [u8; 32] = raw
        .get(..n)
        .and_then(|b| b.try_into().ok())
        .ok_or(AddressError::BadLength)?;
    let mut back = [0u8; BASE58_KEY_MAX_LEN];
    if base58_key_encode(&key, &mut back) != text {
        return Err(AddressError::NonCanonical);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    // duniterpy: SigningKey.from_credentials("rootsalt", "rootpass").pubkey
    const ROOT_V1: &str = "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV";

    #[test]
    fn g1_address_starts_with_g1_and_round_trips() {
        let key = base58_key_decode(ROOT_V1).unwrap();
        let mut buf = [0u8; SS58_MAX_LEN];
        let addr = ss58_encode(&key, G1_SS58_PREFIX, &mut buf);
        assert!(addr.starts_with("g1"), "{addr}");
        assert_eq!(ss58_decode(addr), Ok((G1_SS58_PREFIX, key)));
        assert_eq!(parse_account(addr), Ok(key));
        assert_eq!(parse_account(ROOT_V1), Ok(key));
    }

    #[test]
    fn substrate_generic_prefix_matches_known_address() {
        // Alice's sr25519 public key and its generic (prefix 42) address, from Substrate docs.
        let alice: [u8; 32] = [
            0xd4, 0x35, 0x93, 0xc7, 0x15, 0xfd, 0xd3, 0x1c, 0x61, 0x14, 0x1a, 0xbd, 0x04, 0xa9,
            0x9f, 0xd6, 0x82, 0x2c, 0x85, 0x58, 0x85, 0x4c, 0xcd, 0xe3, 0x9a, 0x56, 0x84, 0xe7,
            0xa5, 0x6d, 0xa2, 0x7d,
        ];
        let mut buf = [0u8; SS58_MAX_LEN];
        assert_eq!(
            ss58_encode(&alice, 42, &mut buf),
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
        );
        assert_eq!(
            parse_account("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"),
            Err(AddressError::WrongPrefix(42))
        );
    }

    #[test]
    fn typos_are_caught() {
        let key = base58_key_decode(ROOT_V1).unwrap();
        let mut buf = [0u8; SS58_MAX_LEN];
        let addr = ss58_encode(&key, G1_SS58_PREFIX, &mut buf);
        let mut bad = heapless::String::<64>::new();
        for (i, c) in addr.chars().enumerate() {
            let _ = bad.push(if i == 10 {
                if c == 'a' { 'b' } else { 'a' }
            } else {
                c
            });
        }
        assert!(ss58_decode(&bad).is_err());
        assert_eq!(base58_key_decode("0OIl"), Err(AddressError::NotBase58));
        assert_eq!(base58_key_decode("1111"), Err(AddressError::BadLength));
    }
}
