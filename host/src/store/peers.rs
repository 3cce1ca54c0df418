//! Noise keys: this bridge's static key pair and the peers pinned at pairing.

use rusqlite::{OptionalExtension, params};
use zeroize::Zeroizing;

use super::{Store, StoreError, Timestamp};

/// This bridge's Noise static key pair (X25519).
#[derive(Clone)]
pub struct StaticKey {
    pub secret: Zeroizing<[u8; 32]>,
    pub public: [u8; 32],
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticKey(public {})", hex::encode(self.public))
    }
}

impl Store {
    /// The bridge's own Noise static key, if one was stored.
    pub fn own_static_key(&self) -> Result<Option<StaticKey>, StoreError> {
        self.conn
            .query_row(
                "SELECT secret, public FROM own_key WHERE one = 1",
                [],
                |r| {
                    Ok(StaticKey {
                        secret: Zeroizing::new(r.get(0)?),
                        public: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Store the bridge's own Noise static key unless one exists; returns the stored key
    /// (the existing one wins, so two processes racing to create it agree).
    pub fn init_own_static_key(
        &mut self,
        key: &StaticKey,
        now: Timestamp,
    ) -> Result<StaticKey, StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO own_key (one, secret, public, created) VALUES (1, ?1, ?2, ?3)",
                params![&key.secret[..], &key.public[..], now.0],
            )
            .map_err(|e| self.err(e))?;
        self.own_static_key()?.ok_or(StoreError::Corrupt("own_key"))
    }

    /// Pin `public` under `name`. Pinning the same key again is a no-op; a different key under
    /// a pinned name is [`StoreError::PinConflict`].
    pub fn pin_peer(
        &mut self,
        name: &str,
        public: &[u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match self.pinned_peer(name)? {
            Some(k) if &k == public => Ok(()),
            Some(_) => Err(StoreError::PinConflict(name.to_owned())),
            None => self
                .conn
                .execute(
                    "INSERT INTO pinned_peers (name, public, pinned_at) VALUES (?1, ?2, ?3)",
                    params![name, &public[..], now.0],
                )
                .map(drop)
                .map_err(|e| self.err(e)),
        }
    }

    /// Pin `public` under `name`, replacing any key pinned there (pairing again with a
    /// replaced device), in one statement.
    pub fn repin_peer(
        &mut self,
        name: &str,
        public: &[u8; 32],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO pinned_peers (name, public, pinned_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET public = excluded.public, pinned_at = excluded.pinned_at",
                params![name, &public[..], now.0],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Forget a pinned peer; returns whether it was pinned.
    pub fn unpin_peer(&mut self, name: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM pinned_peers WHERE name = ?1", [name])
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// The key pinned under `name`.
    pub fn pinned_peer(&self, name: &str) -> Result<Option<[u8; 32]>, StoreError> {
        self.conn
            .query_row(
                "SELECT public FROM pinned_peers WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Every pinned peer `(name, key)`, by name.
    pub fn pinned_peers(&self) -> Result<Vec<(String, [u8; 32])>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT name, public FROM pinned_peers ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.map(|r| r.map_err(|e| self.err(e))).collect()
    }
}
