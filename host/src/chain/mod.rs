//! Chain snapshots: what a bridge must know to sign payments and certifications offline,
//! prepared before a shutdown with `toile chain import FILE.json`.
//!
//! ## File format (`format: 1`), one JSON object
//! v2s (Duniter v2s / Substrate; `kind: "v2s"`):
//! ```json
//! { "format": 1, "kind": "v2s", "name": "g1", "taken_at": "block 1234567",
//!   "genesis_hash": "0x…64 hex…", "spec_version": 1100, "tx_version": 1, "ss58_prefix": 4450,
//!   "accounts":   [ { "address": "g1…", "nonce": 7, "balance": "120.50" } ],
//!   "identities": [ { "name": "alice", "index": 42, "address": "g1…" } ] }
//! ```
//! v1 (a Duniter v1 currency; `kind: "v1"`; fields as BMA `/tx/sources` and `/wot/lookup` give them):
//! ```json
//! { "format": 1, "kind": "v1", "name": "g1-test", "currency": "g1-test",
//!   "blockstamp": "12345-…64 uppercase hex…",
//!   "identities": [ { "uid": "alice", "pubkey": "base58", "blockstamp": "0-…", "signature": "base64" } ],
//!   "sources": [ { "pubkey": "base58", "type": "D", "noffset": 42, "identifier": "base58",
//!                  "amount": 1000, "base": 0 } ] }
//! ```
//! `name` defaults to `g1` (v2s) or the currency (v1); `ss58_prefix` defaults to 4450;
//! `accounts`, `identities`, `sources` default to empty; unknown fields are errors (a typo
//! must not silently drop data). Addresses may be SS58 (with the snapshot's prefix) or v1
//! base58 keys. Importing a snapshot of an existing name replaces it, except that v1 sources
//! this bridge already spent stay spent.

use std::path::Path;

use serde::Deserialize;
use toile_proto::address::{AddressError, base58_key_decode, ss58_decode};

use crate::store::{
    AccountRow, IdentityRow, ProfileKind, ProfileRow, SnapshotRows, SourceRow, Store, StoreError,
    Timestamp,
};
use crate::wallet::Amount;

/// The snapshot file format version this build reads.
pub const FORMAT: u32 = 1;

/// Why a snapshot was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a chain snapshot: {source} (see `toile chain import --help` for the format)"
    )]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "snapshot format {0} is not known to this toile (it reads format {FORMAT}): upgrade toile"
    )]
    Format(u32),
    #[error("{field}: {problem}")]
    Field { field: String, problem: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn field(field: impl Into<String>, problem: impl std::fmt::Display) -> ChainError {
    ChainError::Field {
        field: field.into(),
        problem: problem.to_string(),
    }
}

/// A snapshot file.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SnapshotFile {
    V2s(V2sSnapshot),
    V1(V1Snapshot),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2sSnapshot {
    pub format: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub taken_at: Option<String>,
    pub genesis_hash: String,
    pub spec_version: u32,
    pub tx_version: u32,
    #[serde(default = "g1_prefix")]
    pub ss58_prefix: u16,
    #[serde(default)]
    pub accounts: Vec<V2sAccount>,
    #[serde(default)]
    pub identities: Vec<V2sIdentity>,
}

fn g1_prefix() -> u16 {
    toile_proto::address::G1_SS58_PREFIX
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2sAccount {
    pub address: String,
    pub nonce: u32,
    #[serde(default)]
    pub balance: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V2sIdentity {
    pub name: String,
    pub index: u32,
    pub address: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Snapshot {
    pub format: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub taken_at: Option<String>,
    pub currency: String,
    pub blockstamp: String,
    #[serde(default)]
    pub identities: Vec<V1Identity>,
    #[serde(default)]
    pub sources: Vec<V1Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Identity {
    pub uid: String,
    pub pubkey: String,
    pub blockstamp: String,
    pub signature: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Source {
    pub pubkey: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub noffset: u64,
    pub identifier: String,
    pub amount: u64,
    pub base: u8,
    /// As BMA gives it; when present it must be `SIG(pubkey)`.
    #[serde(default)]
    pub conditions: Option<String>,
}

/// An account written as SS58 with `prefix`, or as a v1 base58 key.
pub fn parse_account(text: &str, prefix: u16) -> Result<[u8; 32], AddressError> {
    match ss58_decode(text) {
        Ok((p, key)) if p == prefix => Ok(key),
        Ok((p, _)) => Err(AddressError::WrongPrefix(p)),
        Err(e) if text.len() > toile_proto::address::BASE58_KEY_MAX_LEN => Err(e),
        Err(_) => base58_key_decode(text),
    }
}

/// Read and check a snapshot file; `now` is its import time.
pub fn read(path: &Path, now: Timestamp) -> Result<SnapshotRows, ChainError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ChainError::Io {
        path: name.clone(),
        source,
    })?;
    let file: SnapshotFile =
        serde_json::from_slice(&bytes).map_err(|source| ChainError::Json { path: name, source })?;
    rows(&file, now)
}

/// Import a snapshot file into the store.
pub fn import(store: &mut Store, path: &Path, now: Timestamp) -> Result<SnapshotRows, ChainError> {
    let rows = read(path, now)?;
    store.put_snapshot(&rows)?;
    Ok(rows)
}

/// Check a parsed snapshot and turn it into store rows.
pub fn rows(file: &SnapshotFile, now: Timestamp) -> Result<SnapshotRows, ChainError> {
    match file {
        SnapshotFile::V2s(s) => v2s_rows(s, now),
        SnapshotFile::V1(s) => v1_rows(s, now),
    }
}

fn v2s_rows(s: &V2sSnapshot, now: Timestamp) -> Result<SnapshotRows, ChainError> {
    if s.format != FORMAT {
        return Err(ChainError::Format(s.format));
    }
    let genesis_hash: [u8; 32] = hex::decode(s.genesis_hash.trim_start_matches("0x"))
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| field("genesis_hash", "must be 32 bytes of hex (0x…)"))?;
    let account = |f: String, text: &str| {
        parse_account(text, s.ss58_prefix).map_err(|e| field(f, format!("{text:?}: {e}")))
    };
    let mut accounts = Vec::with_capacity(s.accounts.len());
    for (i, a) in s.accounts.iter().enumerate() {
        let balance = a
            .balance
            .as_deref()
            .map(|b| b.parse::<Amount>())
            .transpose()
            .map_err(|e| field(format!("accounts[{i}].balance"), e))?;
        accounts.push(AccountRow {
            account: account(format!("accounts[{i}].address"), &a.address)?,
            nonce: a.nonce,
            balance: balance.map(|b| b.0),
        });
    }
    let mut identities = Vec::with_capacity(s.identities.len());
    for (i, idty) in s.identities.iter().enumerate() {
        if idty.name.is_empty() || idty.name.len() > toile_proto::item::v2s::IDTY_NAME_MAX_LEN {
            return Err(field(format!("identities[{i}].name"), "must be 1-64 bytes"));
        }
        identities.push(IdentityRow {
            name: idty.name.clone(),
            account: account(format!("identities[{i}].address"), &idty.address)?,
            idty_index: Some(idty.index),
            v1_blockstamp: None,
            v1_signature: None,
        });
    }
    Ok(SnapshotRows {
        profile: ProfileRow {
            name: s.name.clone().unwrap_or_else(|| "g1".into()),
            kind: ProfileKind::V2s {
                chain: toile_proto::item::v2s::ChainProfile {
                    genesis_hash,
                    spec_version: s.spec_version,
                    tx_version: s.tx_version,
                },
                ss58_prefix: s.ss58_prefix,
            },
            taken_at: s.taken_at.clone(),
            imported_at: now,
        },
        accounts,
        identities,
        sources: Vec::new(),
    })
}

/// `NUMBER-HASH` with 64 uppercase hex digits.
pub fn check_blockstamp(text: &str) -> bool {
    text.split_once('-').is_some_and(|(n, h)| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n == "0" || !n.starts_with('0'))
            && h.len() == 64
            && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'))
    })
}

fn v1_rows(s: &V1Snapshot, now: Timestamp) -> Result<SnapshotRows, ChainError> {
    use base64::Engine;
    if s.format != FORMAT {
        return Err(ChainError::Format(s.format));
    }
    let dubp = toile_proto::item::dubp::CURRENCY_LEN;
    if !dubp.contains(&s.currency.len()) {
        return Err(field("currency", "must be 2-50 characters"));
    }
    if !check_blockstamp(&s.blockstamp) {
        return Err(field(
            "blockstamp",
            "must be NUMBER-HASH (64 uppercase hex digits)",
        ));
    }
    let key = |f: String, text: &str| {
        base58_key_decode(text).map_err(|e| field(f, format!("{text:?}: {e}")))
    };
    let mut identities = Vec::with_capacity(s.identities.len());
    for (i, idty) in s.identities.iter().enumerate() {
        if !check_blockstamp(&idty.blockstamp) {
            return Err(field(
                format!("identities[{i}].blockstamp"),
                "must be NUMBER-HASH",
            ));
        }
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&idty.signature)
            .ok()
            .filter(|s| s.len() == 64);
        if sig.is_none() {
            return Err(field(
                format!("identities[{i}].signature"),
                "must be base64 of 64 bytes",
            ));
        }
        identities.push(IdentityRow {
            name: idty.uid.clone(),
            account: key(format!("identities[{i}].pubkey"), &idty.pubkey)?,
            idty_index: None,
            v1_blockstamp: Some(idty.blockstamp.clone()),
            v1_signature: Some(idty.signature.clone()),
        });
    }
    let mut sources = Vec::with_capacity(s.sources.len());
    for (i, src) in s.sources.iter().enumerate() {
        let owner = key(format!("sources[{i}].pubkey"), &src.pubkey)?;
        match src.kind.as_str() {
            "D" => {
                key(format!("sources[{i}].identifier"), &src.identifier)?;
            }
            "T" => {
                let ok = src.identifier.len() == 64
                    && src
                        .identifier
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F'));
                if !ok {
                    return Err(field(
                        format!("sources[{i}].identifier"),
                        "a T source names a transaction hash: 64 uppercase hex digits",
                    ));
                }
            }
            _ => return Err(field(format!("sources[{i}].type"), "must be D or T")),
        }
        if src.base > 9 {
            return Err(field(format!("sources[{i}].base"), "must be 0-9"));
        }
        if src.amount == 0 || i64::try_from(src.amount).is_err() {
            return Err(field(format!("sources[{i}].amount"), "must be positive"));
        }
        if let Some(c) = &src.conditions
            && *c != format!("SIG({})", src.pubkey)
        {
            return Err(field(
                format!("sources[{i}].conditions"),
                "only SIG(pubkey) sources can be spent offline; leave this source out",
            ));
        }
        sources.push(SourceRow {
            owner,
            kind: src.kind.clone(),
            identifier: src.identifier.clone(),
            pos: src.noffset,
            amount: src.amount,
            base: src.base,
        });
    }
    Ok(SnapshotRows {
        profile: ProfileRow {
            name: s.name.clone().unwrap_or_else(|| s.currency.clone()),
            kind: ProfileKind::V1 {
                currency: s.currency.clone(),
                blockstamp: s.blockstamp.clone(),
            },
            taken_at: s.taken_at.clone(),
            imported_at: now,
        },
        accounts: Vec::new(),
        identities,
        sources,
    })
}
