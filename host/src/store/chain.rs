//! Chain snapshots as stored: the profile a bridge signs for, v2s nonces, identities and v1
//! sources. The JSON import format lives in [`crate::chain`]; this is only the persistence.

use rusqlite::{OptionalExtension, Row, params};

use toile_proto::item::v2s::ChainProfile;

use super::{Store, StoreError, Timestamp};

/// What a chain snapshot is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileKind {
    /// Duniter v2s (Substrate): what an extrinsic signature commits to.
    V2s {
        /// Genesis hash, spec and transaction versions.
        chain: ChainProfile,
        ss58_prefix: u16,
    },
    /// Duniter v1 (DUBP v10): the currency and the current block documents refer to.
    V1 {
        currency: String,
        blockstamp: String,
    },
}

/// One imported chain snapshot's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub name: String,
    pub kind: ProfileKind,
    /// Free text saying when the snapshot was taken (block number, date).
    pub taken_at: Option<String>,
    pub imported_at: Timestamp,
}

/// A v2s account's nonce (and balance in centimes, when known) at snapshot time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub account: [u8; 32],
    pub nonce: u32,
    pub balance: Option<u64>,
}

/// An identity: v2s index, or v1 uid with its self-certification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRow {
    pub name: String,
    pub account: [u8; 32],
    pub idty_index: Option<u32>,
    pub v1_blockstamp: Option<String>,
    pub v1_signature: Option<String>,
}

/// A v1 source: `D` (dividend of `identifier` = pubkey at block `pos`) or `T` (output `pos` of
/// transaction `identifier`), worth `amount · 10^base` centimes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    pub owner: [u8; 32],
    pub kind: String,
    pub identifier: String,
    pub pos: u64,
    pub amount: u64,
    pub base: u8,
}

impl SourceRow {
    /// Value in centimes (`amount · 10^base`; `base` ≤ 9 keeps this exact in `u128`).
    pub fn value(&self) -> u128 {
        u128::from(self.amount) * 10u128.pow(u32::from(self.base.min(9)))
    }
}

/// Everything one snapshot holds, as rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRows {
    pub profile: ProfileRow,
    pub accounts: Vec<AccountRow>,
    pub identities: Vec<IdentityRow>,
    pub sources: Vec<SourceRow>,
}

/// Row counts of one stored snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotCounts {
    pub accounts: u64,
    pub identities: u64,
    pub unspent_sources: u64,
    pub spent_sources: u64,
}

const PROFILE_COLUMNS: &str = "name, kind, genesis_hash, spec_version, tx_version, ss58_prefix, currency, blockstamp, taken_at, imported_at";

fn profile_row(r: &Row<'_>) -> rusqlite::Result<Result<ProfileRow, StoreError>> {
    let kind: String = r.get(1)?;
    let kind = match kind.as_str() {
        "v2s" => match (
            r.get::<_, Option<[u8; 32]>>(2)?,
            r.get::<_, Option<u32>>(3)?,
            r.get::<_, Option<u32>>(4)?,
            r.get::<_, Option<u16>>(5)?,
        ) {
            (Some(genesis_hash), Some(spec_version), Some(tx_version), Some(ss58_prefix)) => {
                Ok(ProfileKind::V2s {
                    chain: ChainProfile {
                        genesis_hash,
                        spec_version,
                        tx_version,
                    },
                    ss58_prefix,
                })
            }
            _ => Err(StoreError::Corrupt("chain_profiles (v2s)")),
        },
        "v1" => match (
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
        ) {
            (Some(currency), Some(blockstamp)) => Ok(ProfileKind::V1 {
                currency,
                blockstamp,
            }),
            _ => Err(StoreError::Corrupt("chain_profiles (v1)")),
        },
        _ => Err(StoreError::Corrupt("chain_profiles.kind")),
    };
    Ok(match kind {
        Ok(kind) => Ok(ProfileRow {
            name: r.get(0)?,
            kind,
            taken_at: r.get(8)?,
            imported_at: Timestamp(r.get(9)?),
        }),
        Err(e) => Err(e),
    })
}

impl Store {
    /// Store a snapshot, replacing an earlier one of the same name, in one transaction.
    /// Nonces and identities are replaced. v1 sources this bridge already spent stay spent
    /// (and stay, even when the new snapshot no longer lists them); other sources are replaced.
    pub fn put_snapshot(&mut self, s: &SnapshotRows) -> Result<(), StoreError> {
        let path = self.path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let p = &s.profile;
        let (kind, genesis, spec, txv, prefix, currency, blockstamp) = match &p.kind {
            ProfileKind::V2s { chain, ss58_prefix } => (
                "v2s",
                Some(&chain.genesis_hash[..]),
                Some(chain.spec_version),
                Some(chain.tx_version),
                Some(*ss58_prefix),
                None,
                None,
            ),
            ProfileKind::V1 {
                currency,
                blockstamp,
            } => (
                "v1",
                None,
                None,
                None,
                None,
                Some(currency.as_str()),
                Some(blockstamp.as_str()),
            ),
        };
        tx.execute(
            &format!(
                "INSERT INTO chain_profiles ({PROFILE_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,
                    genesis_hash = excluded.genesis_hash, spec_version = excluded.spec_version,
                    tx_version = excluded.tx_version, ss58_prefix = excluded.ss58_prefix,
                    currency = excluded.currency, blockstamp = excluded.blockstamp,
                    taken_at = excluded.taken_at, imported_at = excluded.imported_at"
            ),
            params![
                p.name,
                kind,
                genesis,
                spec,
                txv,
                prefix,
                currency,
                blockstamp,
                p.taken_at,
                p.imported_at.0
            ],
        )
        .map_err(sql)?;
        // An upsert, not a REPLACE: the profile row is never deleted, so nothing cascades
        // to the spent sources kept below.
        tx.execute("DELETE FROM accounts WHERE profile = ?1", [&p.name])
            .map_err(sql)?;
        tx.execute("DELETE FROM identities WHERE profile = ?1", [&p.name])
            .map_err(sql)?;
        tx.execute(
            "DELETE FROM v1_sources WHERE profile = ?1 AND spent_by IS NULL",
            [&p.name],
        )
        .map_err(sql)?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO accounts (profile, account, nonce, balance)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql)?;
            for a in &s.accounts {
                ins.execute(params![p.name, &a.account[..], a.nonce, a.balance])
                    .map_err(sql)?;
            }
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO identities
                     (profile, name, account, idty_index, v1_blockstamp, v1_signature)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(sql)?;
            for i in &s.identities {
                ins.execute(params![
                    p.name,
                    i.name,
                    &i.account[..],
                    i.idty_index,
                    i.v1_blockstamp,
                    i.v1_signature
                ])
                .map_err(sql)?;
            }
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO v1_sources (profile, owner, kind, identifier, pos, amount, base)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (profile, kind, identifier, pos) DO NOTHING",
                )
                .map_err(sql)?;
            for src in &s.sources {
                ins.execute(params![
                    p.name,
                    &src.owner[..],
                    src.kind,
                    src.identifier,
                    src.pos,
                    src.amount,
                    src.base
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// All stored snapshots, most recently imported first.
    pub fn profiles(&self) -> Result<Vec<ProfileRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {PROFILE_COLUMNS} FROM chain_profiles ORDER BY imported_at DESC, name"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], profile_row).map_err(|e| self.err(e))?;
        rows.map(|r| r.map_err(|e| self.err(e))?).collect()
    }

    /// The snapshot named `name`, or the most recently imported one.
    pub fn profile(&self, name: Option<&str>) -> Result<Option<ProfileRow>, StoreError> {
        let row = match name {
            Some(n) => self.conn.query_row(
                &format!("SELECT {PROFILE_COLUMNS} FROM chain_profiles WHERE name = ?1"),
                [n],
                profile_row,
            ),
            None => self.conn.query_row(
                &format!(
                    "SELECT {PROFILE_COLUMNS} FROM chain_profiles
                     ORDER BY imported_at DESC, name LIMIT 1"
                ),
                [],
                profile_row,
            ),
        };
        row.optional().map_err(|e| self.err(e))?.transpose()
    }

    /// Identities of `profile` whose name is `name` or whose account is `account`.
    pub fn find_identities(
        &self,
        profile: &str,
        name: &str,
        account: Option<&[u8; 32]>,
    ) -> Result<Vec<IdentityRow>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, account, idty_index, v1_blockstamp, v1_signature FROM identities
                 WHERE profile = ?1 AND (name = ?2 OR account = ?3) ORDER BY name",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![profile, name, account.map(|a| &a[..])], |r| {
                Ok(IdentityRow {
                    name: r.get(0)?,
                    account: r.get(1)?,
                    idty_index: r.get(2)?,
                    v1_blockstamp: r.get(3)?,
                    v1_signature: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map_err(|e| self.err(e))).collect()
    }

    /// Row counts of one snapshot.
    pub fn snapshot_counts(&self, profile: &str) -> Result<SnapshotCounts, StoreError> {
        let count = |sql: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(sql, [profile], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(|e| self.err(e))
        };
        Ok(SnapshotCounts {
            accounts: count("SELECT count(*) FROM accounts WHERE profile = ?1")?,
            identities: count("SELECT count(*) FROM identities WHERE profile = ?1")?,
            unspent_sources: count(
                "SELECT count(*) FROM v1_sources WHERE profile = ?1 AND spent_by IS NULL",
            )?,
            spent_sources: count(
                "SELECT count(*) FROM v1_sources WHERE profile = ?1 AND spent_by IS NOT NULL",
            )?,
        })
    }
}
