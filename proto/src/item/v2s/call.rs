//! The calls a mesh item may carry, as a typed borrowed view ([`Call`]) with one encoder
//! ([`Call::encode`]) and one decoder ([`Call::parse`]) that mirror each other field by field.
//!
//! ## What was checked in the duniter-v2s source
//! Pallet indices come from `construct_runtime!` in `runtime/g1/src/lib.rs`
//! (Balances 6, UniversalDividend 30, Identity 41, Cert 43, Distance 44). Call indices and
//! argument types come from the `#[pallet::call]` blocks:
//!
//! | call | source | arguments (SCALE) |
//! |---|---|---|
//! | `Balances.transfer_keep_alive` (6.3) | `pallet_balances` (Substrate) | `dest: MultiAddress<AccountId32, ()>`, `#[compact] value: u64` |
//! | `UniversalDividend.claim_uds` (30.0) | `pallets/universal-dividend/src/lib.rs` | none |
//! | `UniversalDividend.transfer_ud` (30.1) | same | `dest: MultiAddress`, `#[pallet::compact] value` (milliUD) |
//! | `UniversalDividend.transfer_ud_keep_alive` (30.2) | same | `dest: MultiAddress`, `#[pallet::compact] value` (milliUD) |
//! | `Identity.create_identity` (41.0) | `pallets/identity/src/lib.rs` | `owner_key: T::AccountId` (raw 32 bytes, no MultiAddress tag) |
//! | `Identity.confirm_identity` (41.1) | same | `idty_name: IdtyName` (a `Vec<u8>`: compact length + bytes) |
//! | `Identity.revoke_identity` (41.4) | same | `idty_index: u32` (fixed 4 bytes LE), `revocation_key: AccountId32`, `revocation_sig: MultiSignature` |
//! | `Identity.revoke_identity_legacy` (41.9) | same | `revocation_document: Vec<u8>` (DUBP v10 revocation text, signature included) |
//! | `Cert.add_cert` (43.0) | `pallets/certification/src/lib.rs` | `receiver: IdtyIndex` (u32, fixed 4 bytes LE; the issuer is the origin's identity) |
//! | `Cert.renew_cert` (43.3) | same | `receiver: IdtyIndex` |
//! | `Distance.request_distance_evaluation` (44.0) | `pallets/distance/src/lib.rs` | none |
//!
//! Older runtimes had `add_cert(issuer, receiver)`; the current one takes only the receiver.
//! Identity names: the runtime's `IdtyNameValidatorImpl` (`runtime/common/src/lib.rs`)
//! accepts 3 to 64 bytes, so a name longer than [`IDTY_NAME_MAX_LEN`] is refused here (a
//! shorter-than-3 name is well-formed and left to the chain to refuse).

use crate::crypto::{Counter, Sink};
use crate::scale::{Reader, put_compact, put_compact_bytes};
use crate::{DecodeError, ErrorKind};

use super::{ExtrinsicError, MultiSignature};

/// `Balances` pallet index in the g1 runtime.
pub const PALLET_BALANCES: u8 = 6;
/// `UniversalDividend` pallet index.
pub const PALLET_UNIVERSAL_DIVIDEND: u8 = 30;
/// `Identity` pallet index.
pub const PALLET_IDENTITY: u8 = 41;
/// `Cert` (certification, main web of trust) pallet index.
pub const PALLET_CERTIFICATION: u8 = 43;
/// `Distance` pallet index.
pub const PALLET_DISTANCE: u8 = 44;

/// `Balances.transfer_keep_alive`.
pub const CALL_TRANSFER_KEEP_ALIVE: u8 = 3;
/// `UniversalDividend.claim_uds`.
pub const CALL_CLAIM_UDS: u8 = 0;
/// `UniversalDividend.transfer_ud`.
pub const CALL_TRANSFER_UD: u8 = 1;
/// `UniversalDividend.transfer_ud_keep_alive`.
pub const CALL_TRANSFER_UD_KEEP_ALIVE: u8 = 2;
/// `Identity.create_identity`.
pub const CALL_CREATE_IDENTITY: u8 = 0;
/// `Identity.confirm_identity`.
pub const CALL_CONFIRM_IDENTITY: u8 = 1;
/// `Identity.revoke_identity`.
pub const CALL_REVOKE_IDENTITY: u8 = 4;
/// `Identity.revoke_identity_legacy`.
pub const CALL_REVOKE_IDENTITY_LEGACY: u8 = 9;
/// `Cert.add_cert`.
pub const CALL_ADD_CERT: u8 = 0;
/// `Cert.renew_cert`.
pub const CALL_RENEW_CERT: u8 = 3;
/// `Distance.request_distance_evaluation`.
pub const CALL_REQUEST_DISTANCE_EVALUATION: u8 = 0;

/// Longest identity name the runtime accepts (`IdtyNameValidatorImpl`: 3..=64 bytes).
pub const IDTY_NAME_MAX_LEN: usize = 64;
/// Longest DUBP revocation document accepted in `revoke_identity_legacy`. A real one is
/// ~395 bytes (Issuer, IdtyUniqueID up to 100 chars, blockstamp, two base64 signatures).
pub const REVOCATION_DOCUMENT_MAX_LEN: usize = 1024;

/// `MultiAddress::Id` tag: the only address form accepted (signer and `dest`).
pub const MULTI_ADDRESS_ID: u8 = 0;

/// A decoded call, borrowing its byte arguments from the extrinsic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call<'a> {
    /// `Balances.transfer_keep_alive(dest, value)`: `value` in cents (1 Ğ1 = 100).
    TransferKeepAlive { dest: &'a [u8; 32], value: u64 },
    /// `UniversalDividend.claim_uds()`.
    ClaimUds,
    /// `UniversalDividend.transfer_ud(dest, value)`: `value` in milliUD.
    TransferUd { dest: &'a [u8; 32], value: u64 },
    /// `UniversalDividend.transfer_ud_keep_alive(dest, value)`: `value` in milliUD.
    TransferUdKeepAlive { dest: &'a [u8; 32], value: u64 },
    /// `Identity.create_identity(owner_key)`.
    CreateIdentity { owner_key: &'a [u8; 32] },
    /// `Identity.confirm_identity(idty_name)`.
    ConfirmIdentity { idty_name: &'a [u8] },
    /// `Identity.revoke_identity(idty_index, revocation_key, revocation_sig)`. The inner
    /// signature is over `b"revo" ++ genesis_hash ++ idty_index (u32 LE)`; the chain checks
    /// it, this crate only carries it.
    RevokeIdentity {
        idty_index: u32,
        revocation_key: &'a [u8; 32],
        revocation_sig: MultiSignature<'a>,
    },
    /// `Identity.revoke_identity_legacy(revocation_document)`.
    RevokeIdentityLegacy { revocation_document: &'a [u8] },
    /// `Cert.add_cert(receiver)`.
    AddCert { receiver: u32 },
    /// `Cert.renew_cert(receiver)`.
    RenewCert { receiver: u32 },
    /// `Distance.request_distance_evaluation()`.
    RequestDistanceEvaluation,
}

/// Coarse class of a call, for relay priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallKind {
    /// Moves money: transfers and UD claims.
    Payment,
    /// Web of trust certifications.
    Certification,
    /// Identity life cycle: creation, confirmation, revocation, distance evaluation
    /// (which grants or renews membership).
    Identity,
    /// Anything else (calls this build does not decode).
    Other,
}

impl CallKind {
    /// Classify raw `(pallet, call)` indices, so a relay can prioritise bytes it has not
    /// fully decoded.
    pub const fn from_indices(pallet: u8, call: u8) -> Self {
        match (pallet, call) {
            (PALLET_BALANCES, CALL_TRANSFER_KEEP_ALIVE)
            | (
                PALLET_UNIVERSAL_DIVIDEND,
                CALL_CLAIM_UDS | CALL_TRANSFER_UD | CALL_TRANSFER_UD_KEEP_ALIVE,
            ) => Self::Payment,
            (PALLET_CERTIFICATION, CALL_ADD_CERT | CALL_RENEW_CERT) => Self::Certification,
            (
                PALLET_IDENTITY,
                CALL_CREATE_IDENTITY
                | CALL_CONFIRM_IDENTITY
                | CALL_REVOKE_IDENTITY
                | CALL_REVOKE_IDENTITY_LEGACY,
            )
            | (PALLET_DISTANCE, CALL_REQUEST_DISTANCE_EVALUATION) => Self::Identity,
            _ => Self::Other,
        }
    }
}

impl<'a> Call<'a> {
    /// Decode one call (pallet index, call index, arguments) from `r`. Stops right after the
    /// call; the caller decides whether bytes may follow.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let at = r.pos();
        let pallet = r.u8()?;
        let call = r.u8()?;
        Ok(match (pallet, call) {
            (PALLET_BALANCES, CALL_TRANSFER_KEEP_ALIVE) => {
                let (dest, value) = parse_transfer(r)?;
                Self::TransferKeepAlive { dest, value }
            }
            (PALLET_UNIVERSAL_DIVIDEND, CALL_CLAIM_UDS) => Self::ClaimUds,
            (PALLET_UNIVERSAL_DIVIDEND, CALL_TRANSFER_UD) => {
                let (dest, value) = parse_transfer(r)?;
                Self::TransferUd { dest, value }
            }
            (PALLET_UNIVERSAL_DIVIDEND, CALL_TRANSFER_UD_KEEP_ALIVE) => {
                let (dest, value) = parse_transfer(r)?;
                Self::TransferUdKeepAlive { dest, value }
            }
            (PALLET_IDENTITY, CALL_CREATE_IDENTITY) => Self::CreateIdentity {
                owner_key: r.array()?,
            },
            (PALLET_IDENTITY, CALL_CONFIRM_IDENTITY) => Self::ConfirmIdentity {
                idty_name: r.compact_bytes(IDTY_NAME_MAX_LEN)?,
            },
            (PALLET_IDENTITY, CALL_REVOKE_IDENTITY) => Self::RevokeIdentity {
                idty_index: r.u32_le()?,
                revocation_key: r.array()?,
                revocation_sig: MultiSignature::parse(r)?,
            },
            (PALLET_IDENTITY, CALL_REVOKE_IDENTITY_LEGACY) => Self::RevokeIdentityLegacy {
                revocation_document: r.compact_bytes(REVOCATION_DOCUMENT_MAX_LEN)?,
            },
            (PALLET_CERTIFICATION, CALL_ADD_CERT) => Self::AddCert {
                receiver: r.u32_le()?,
            },
            (PALLET_CERTIFICATION, CALL_RENEW_CERT) => Self::RenewCert {
                receiver: r.u32_le()?,
            },
            (PALLET_DISTANCE, CALL_REQUEST_DISTANCE_EVALUATION) => Self::RequestDistanceEvaluation,
            (pallet, call) => {
                return Err(DecodeError::new(
                    at,
                    ErrorKind::Extrinsic(ExtrinsicError::UnsupportedCall { pallet, call }),
                ));
            }
        })
    }

    /// Decode a call that fills `bytes` exactly.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let call = Self::parse(&mut r)?;
        r.finish()?;
        Ok(call)
    }

    /// Write the call's SCALE encoding: the exact inverse of [`Call::parse`].
    pub fn encode<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(&[self.pallet_index(), self.call_index()]);
        match *self {
            Self::TransferKeepAlive { dest, value }
            | Self::TransferUd { dest, value }
            | Self::TransferUdKeepAlive { dest, value } => {
                put_address(sink, dest);
                put_compact(sink, value);
            }
            Self::ClaimUds | Self::RequestDistanceEvaluation => {}
            Self::CreateIdentity { owner_key } => sink.put(owner_key),
            Self::ConfirmIdentity { idty_name } => put_compact_bytes(sink, idty_name),
            Self::RevokeIdentity {
                idty_index,
                revocation_key,
                revocation_sig,
            } => {
                sink.put(&idty_index.to_le_bytes());
                sink.put(revocation_key);
                revocation_sig.encode(sink);
            }
            Self::RevokeIdentityLegacy {
                revocation_document,
            } => put_compact_bytes(sink, revocation_document),
            Self::AddCert { receiver } | Self::RenewCert { receiver } => {
                sink.put(&receiver.to_le_bytes());
            }
        }
    }

    /// Length of [`Call::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        let mut c = Counter::default();
        self.encode(&mut c);
        c.0
    }

    pub const fn pallet_index(&self) -> u8 {
        match self {
            Self::TransferKeepAlive { .. } => PALLET_BALANCES,
            Self::ClaimUds | Self::TransferUd { .. } | Self::TransferUdKeepAlive { .. } => {
                PALLET_UNIVERSAL_DIVIDEND
            }
            Self::CreateIdentity { .. }
            | Self::ConfirmIdentity { .. }
            | Self::RevokeIdentity { .. }
            | Self::RevokeIdentityLegacy { .. } => PALLET_IDENTITY,
            Self::AddCert { .. } | Self::RenewCert { .. } => PALLET_CERTIFICATION,
            Self::RequestDistanceEvaluation => PALLET_DISTANCE,
        }
    }

    pub const fn call_index(&self) -> u8 {
        match self {
            Self::TransferKeepAlive { .. } => CALL_TRANSFER_KEEP_ALIVE,
            Self::ClaimUds => CALL_CLAIM_UDS,
            Self::TransferUd { .. } => CALL_TRANSFER_UD,
            Self::TransferUdKeepAlive { .. } => CALL_TRANSFER_UD_KEEP_ALIVE,
            Self::CreateIdentity { .. } => CALL_CREATE_IDENTITY,
            Self::ConfirmIdentity { .. } => CALL_CONFIRM_IDENTITY,
            Self::RevokeIdentity { .. } => CALL_REVOKE_IDENTITY,
            Self::RevokeIdentityLegacy { .. } => CALL_REVOKE_IDENTITY_LEGACY,
            Self::AddCert { .. } => CALL_ADD_CERT,
            Self::RenewCert { .. } => CALL_RENEW_CERT,
            Self::RequestDistanceEvaluation => CALL_REQUEST_DISTANCE_EVALUATION,
        }
    }

    /// Relay priority class.
    pub const fn kind(&self) -> CallKind {
        CallKind::from_indices(self.pallet_index(), self.call_index())
    }

    /// Snake-case call name as in the runtime metadata (`"transfer_keep_alive"`).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::TransferKeepAlive { .. } => "transfer_keep_alive",
            Self::ClaimUds => "claim_uds",
            Self::TransferUd { .. } => "transfer_ud",
            Self::TransferUdKeepAlive { .. } => "transfer_ud_keep_alive",
            Self::CreateIdentity { .. } => "create_identity",
            Self::ConfirmIdentity { .. } => "confirm_identity",
            Self::RevokeIdentity { .. } => "revoke_identity",
            Self::RevokeIdentityLegacy { .. } => "revoke_identity_legacy",
            Self::AddCert { .. } => "add_cert",
            Self::RenewCert { .. } => "renew_cert",
            Self::RequestDistanceEvaluation => "request_distance_evaluation",
        }
    }
}

/// `MultiAddress::Id(AccountId32)`; any other variant is refused.
pub(super) fn parse_address<'a>(r: &mut Reader<'a>) -> Result<&'a [u8; 32], DecodeError> {
    let at = r.pos();
    match r.u8()? {
        MULTI_ADDRESS_ID => r.array(),
        tag => Err(DecodeError::new(
            at,
            ErrorKind::Extrinsic(ExtrinsicError::UnsupportedAddress(tag)),
        )),
    }
}

pub(super) fn put_address<S: Sink + ?Sized>(sink: &mut S, account: &[u8; 32]) {
    sink.put(&[MULTI_ADDRESS_ID]);
    sink.put(account);
}

fn parse_transfer<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8; 32], u64), DecodeError> {
    Ok((parse_address(r)?, r.compact()?))
}
