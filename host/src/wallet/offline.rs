//! Offline payments and certifications: signed items built from a chain snapshot and queued
//! in the store's outbox, to be pushed at the next sync.
//!
//! | chain | pay | certify |
//! |---|---|---|
//! | v2s | immortal `Balances.transfer_keep_alive(dest, centimes)` with the next local nonce | `Cert.add_cert(receiver identity index)` with the next local nonce |
//! | v1 | DUBP v10 transaction from the snapshot's sources (largest first), change back to the issuer, sources marked spent | DUBP v10 certification of the snapshot's identity, `CertTimestamp` = snapshot blockstamp |
//!
//! The nonce (`max(snapshot nonce, last queued + 1)`) and the sources are read, and the item
//! stored, in one store transaction ([`Store::queue`]): two pays never share a nonce or a source.

use serde_json::json;
use toile_proto::address::{AddressError, SS58_MAX_LEN, ss58_encode};
use toile_proto::item::ItemKind;
use toile_proto::item::v2s::{Call, ChainProfile, build_signed};

use super::{Amount, KeyError, Keypair};
use crate::chain::parse_account;
use crate::store::{
    IdentityRow, NewOutbox, ProfileKind, ProfileRow, Queued, SourceRow, Store, StoreError,
    Timestamp,
};

/// Most inputs in one offline DUBP transaction (Duniter caps a transaction at 100 lines; 40
/// inputs and their 40 unlocks leave room for the rest).
pub const MAX_V1_INPUTS: usize = 40;

/// Why an offline item could not be made.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("no chain snapshot in the store: run `toile chain import FILE.json` first")]
    NoProfile,
    #[error("no chain snapshot named {0:?}: `toile chain list` shows the imported ones")]
    UnknownProfile(String),
    #[error("destination {text:?}: {problem}")]
    Destination { text: String, problem: AddressError },
    #[error("the amount must be more than 0.00")]
    ZeroAmount,
    #[error("v2s transfers carry no comment: drop --comment")]
    CommentOnV2s,
    #[error(
        "known sources of {owner} hold {have} Ğ1, less than {need}: import a fresher snapshot (`toile chain import`)"
    )]
    InsufficientFunds {
        owner: String,
        have: Amount,
        need: Amount,
    },
    #[error("paying {0} needs more than {MAX_V1_INPUTS} sources: pay in smaller parts")]
    TooManyInputs(Amount),
    #[error(
        "no identity {0:?} in the snapshot: check the name or address, or import a fresher snapshot"
    )]
    UnknownIdentity(String),
    #[error("{target:?} matches several identities ({names}): give the address instead")]
    AmbiguousIdentity { target: String, names: String },
    #[error("an identity cannot certify itself")]
    SelfCertification,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was queued, for printing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Made {
    #[serde(serialize_with = "hex_id")]
    pub item_id: toile_proto::item::ItemId,
    /// `extrinsic` or `dubp`.
    pub item_kind: &'static str,
    #[serde(serialize_with = "hex_bytes")]
    pub item_hex: Vec<u8>,
    pub item_bytes: usize,
    pub chain: String,
    pub chain_kind: &'static str,
    pub what: &'static str,
    pub from: String,
    #[serde(flatten)]
    pub intent: serde_json::Value,
    pub nonce: Option<u32>,
    pub outbox_seq: i64,
}

fn hex_id<S: serde::Serializer>(id: &toile_proto::item::ItemId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(id.0))
}

fn hex_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

fn profile(store: &Store, name: Option<&str>) -> Result<ProfileRow, OfflineError> {
    store.profile(name)?.ok_or_else(|| match name {
        Some(n) => OfflineError::UnknownProfile(n.to_owned()),
        None => OfflineError::NoProfile,
    })
}

fn ss58(key: &[u8; 32], prefix: u16) -> String {
    let mut buf = [0u8; SS58_MAX_LEN];
    ss58_encode(key, prefix, &mut buf).to_owned()
}

fn base58(key: &[u8; 32]) -> String {
    let mut buf = [0u8; toile_proto::address::BASE58_KEY_MAX_LEN];
    toile_proto::address::base58_key_encode(key, &mut buf).to_owned()
}

/// How a chain names an account.
fn show_account(kind: &ProfileKind, key: &[u8; 32]) -> String {
    match kind {
        ProfileKind::V2s { ss58_prefix, .. } => ss58(key, *ss58_prefix),
        ProfileKind::V1 { .. } => base58(key),
    }
}

fn chain_prefix(kind: &ProfileKind) -> u16 {
    match kind {
        ProfileKind::V2s { ss58_prefix, .. } => *ss58_prefix,
        ProfileKind::V1 { .. } => toile_proto::address::G1_SS58_PREFIX,
    }
}

/// Sign a payment of `amount` to `to` and queue it.
pub fn pay(
    store: &mut Store,
    key: &Keypair,
    chain: Option<&str>,
    to: &str,
    amount: Amount,
    comment: Option<&str>,
    now: Timestamp,
) -> Result<Made, OfflineError> {
    let p = profile(store, chain)?;
    let dest =
        parse_account(to, chain_prefix(&p.kind)).map_err(|problem| OfflineError::Destination {
            text: to.to_owned(),
            problem,
        })?;
    if amount.0 == 0 {
        return Err(OfflineError::ZeroAmount);
    }
    let me = key.public();
    let mut intent = json!({
        "to": show_account(&p.kind, &dest),
        "amount": amount.to_string(),
    });
    match &p.kind {
        ProfileKind::V2s { chain, .. } => {
            if comment.is_some() {
                return Err(OfflineError::CommentOnV2s);
            }
            let call = Call::TransferKeepAlive {
                dest: &dest,
                value: amount.0,
            };
            queue_v2s(store, key, &p, chain, &call, "pay", intent, now)
        }
        ProfileKind::V1 {
            currency,
            blockstamp,
        } => {
            if let Some(c) = comment {
                intent["comment"] = c.into();
            }
            let (currency, blockstamp) = (currency.clone(), blockstamp.clone());
            let from = base58(&me);
            let mut made = None;
            let q = store.queue(now, |q| {
                let sources = q.unspent_sources(&p.name, &me)?;
                let (inputs, total) = choose_inputs(&sources, amount, &from)?;
                let change = total - u128::from(amount.0);
                let text = v1_transaction(
                    &currency,
                    &blockstamp,
                    &from,
                    &inputs,
                    &[(amount.0, base58(&dest))],
                    change,
                    comment.unwrap_or(""),
                );
                let bytes = key.sign_dubp(&text)?;
                intent["inputs"] = inputs.len().into();
                intent["change"] = Amount(u64::try_from(change).unwrap_or(u64::MAX))
                    .to_string()
                    .into();
                made = Some(bytes.clone());
                Ok::<_, OfflineError>(NewOutbox {
                    kind: ItemKind::Dubp,
                    bytes,
                    chain: p.name.clone(),
                    account: me,
                    nonce: None,
                    what: "pay".into(),
                    intent: intent.clone(),
                    spends: inputs,
                })
            })?;
            Ok(made_from(q, made, &p, key, "pay", intent, None))
        }
    }
}

/// Sign a certification of `target` (identity name or address) and queue it.
pub fn certify(
    store: &mut Store,
    key: &Keypair,
    chain: Option<&str>,
    target: &str,
    now: Timestamp,
) -> Result<Made, OfflineError> {
    let p = profile(store, chain)?;
    let account = parse_account(target, chain_prefix(&p.kind)).ok();
    let found = store.find_identities(&p.name, target, account.as_ref())?;
    let idty: IdentityRow = match found.as_slice() {
        [] => return Err(OfflineError::UnknownIdentity(target.to_owned())),
        [one] => one.clone(),
        many => {
            return Err(OfflineError::AmbiguousIdentity {
                target: target.to_owned(),
                names: many
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    };
    if idty.account == key.public() {
        return Err(OfflineError::SelfCertification);
    }
    let intent = json!({
        "to": show_account(&p.kind, &idty.account),
        "identity": idty.name,
    });
    match &p.kind {
        ProfileKind::V2s { chain, .. } => {
            let index = idty
                .idty_index
                .ok_or(StoreError::Corrupt("identities.idty_index"))?;
            let mut intent = intent;
            intent["index"] = index.into();
            let call = Call::AddCert { receiver: index };
            queue_v2s(store, key, &p, chain, &call, "certify", intent, now)
        }
        ProfileKind::V1 {
            currency,
            blockstamp,
        } => {
            let (Some(idty_ts), Some(idty_sig)) = (&idty.v1_blockstamp, &idty.v1_signature) else {
                return Err(StoreError::Corrupt("identities (v1)").into());
            };
            let text = format!(
                "Version: 10\nType: Certification\nCurrency: {currency}\nIssuer: {}\n\
                 IdtyIssuer: {}\nIdtyUniqueID: {}\nIdtyTimestamp: {idty_ts}\n\
                 IdtySignature: {idty_sig}\nCertTimestamp: {blockstamp}\n",
                key.v1_pubkey(),
                base58(&idty.account),
                idty.name,
            );
            let bytes = key.sign_dubp(&text)?;
            let me = key.public();
            let q = store.queue(now, |_| {
                Ok::<_, OfflineError>(NewOutbox {
                    kind: ItemKind::Dubp,
                    bytes: bytes.clone(),
                    chain: p.name.clone(),
                    account: me,
                    nonce: None,
                    what: "certify".into(),
                    intent: intent.clone(),
                    spends: Vec::new(),
                })
            })?;
            Ok(made_from(q, Some(bytes), &p, key, "certify", intent, None))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn queue_v2s(
    store: &mut Store,
    key: &Keypair,
    p: &ProfileRow,
    profile: &ChainProfile,
    call: &Call<'_>,
    what: &'static str,
    intent: serde_json::Value,
    now: Timestamp,
) -> Result<Made, OfflineError> {
    let me = key.public();
    let signer = key.v2s_signer();
    let mut made = None;
    let q = store.queue(now, |q| {
        let nonce = q.next_nonce(&p.name, &me)?;
        let bytes = build_signed(call, &signer, nonce, 0, profile);
        made = Some((bytes.clone(), nonce));
        Ok::<_, OfflineError>(NewOutbox {
            kind: ItemKind::Extrinsic,
            bytes,
            chain: p.name.clone(),
            account: me,
            nonce: Some(nonce),
            what: what.into(),
            intent: intent.clone(),
            spends: Vec::new(),
        })
    })?;
    let (bytes, nonce) = made.unzip();
    Ok(made_from(q, bytes, p, key, what, intent, nonce))
}

fn made_from(
    q: Queued,
    bytes: Option<Vec<u8>>,
    p: &ProfileRow,
    key: &Keypair,
    what: &'static str,
    intent: serde_json::Value,
    nonce: Option<u32>,
) -> Made {
    let bytes = bytes.unwrap_or_default();
    let (item_kind, chain_kind) = match p.kind {
        ProfileKind::V2s { .. } => ("extrinsic", "v2s"),
        ProfileKind::V1 { .. } => ("dubp", "v1"),
    };
    Made {
        item_id: q.item_id,
        item_kind,
        item_bytes: bytes.len(),
        item_hex: bytes,
        chain: p.name.clone(),
        chain_kind,
        what,
        from: show_account(&p.kind, &key.public()),
        intent,
        nonce,
        outbox_seq: q.seq,
    }
}

/// Inputs for `amount`, chosen deterministically: `sources` in the order
/// [`crate::store::Queue::unspent_sources`] gives (largest first), taken until they cover the
/// amount. Returns the inputs and their total value.
pub fn choose_inputs(
    sources: &[SourceRow],
    amount: Amount,
    owner: &str,
) -> Result<(Vec<SourceRow>, u128), OfflineError> {
    let need = u128::from(amount.0);
    let mut total = 0u128;
    let mut chosen = Vec::new();
    for s in sources {
        if total >= need {
            break;
        }
        if chosen.len() == MAX_V1_INPUTS {
            return Err(OfflineError::TooManyInputs(amount));
        }
        total += s.value();
        chosen.push(s.clone());
    }
    if total < need {
        return Err(OfflineError::InsufficientFunds {
            owner: owner.to_owned(),
            have: Amount(u64::try_from(total).unwrap_or(u64::MAX)),
            need: amount,
        });
    }
    Ok((chosen, total))
}

/// The unsigned DUBP v10 text of a one-issuer transaction with standard unlocks: `outputs`
/// (centimes, base58 key) then the change back to the issuer when non-zero.
pub fn v1_transaction(
    currency: &str,
    blockstamp: &str,
    issuer: &str,
    inputs: &[SourceRow],
    outputs: &[(u64, String)],
    change: u128,
    comment: &str,
) -> String {
    use std::fmt::Write;
    let mut t = format!(
        "Version: 10\nType: Transaction\nCurrency: {currency}\nBlockstamp: {blockstamp}\n\
         Locktime: 0\nIssuers:\n{issuer}\nInputs:\n"
    );
    for i in inputs {
        let _ = writeln!(
            t,
            "{}:{}:{}:{}:{}",
            i.amount, i.base, i.kind, i.identifier, i.pos
        );
    }
    t.push_str("Unlocks:\n");
    for n in 0..inputs.len() {
        let _ = writeln!(t, "{n}:SIG(0)");
    }
    t.push_str("Outputs:\n");
    for (amount, key) in outputs {
        let _ = writeln!(t, "{amount}:0:SIG({key})");
    }
    if change > 0 {
        let _ = writeln!(t, "{change}:0:SIG({issuer})");
    }
    let _ = writeln!(t, "Comment: {comment}");
    t
}
