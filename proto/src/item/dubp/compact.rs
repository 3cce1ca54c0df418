//! Checking the compact form, iterators over transaction lists, and the character rules shared
//! with the text parser.

use super::{
    Blockstamp, Body, CURRENCY_LEN, Certification, Condition, Currency, DocType, Document,
    DubpError, Identity, Input, MAX_COMMENT_LEN, MAX_CONDITION_LEN, MAX_TX_ENTRIES, Membership,
    MembershipKind, Output, Revocation, Source, TAG_CERTIFICATION, TAG_IDENTITY, TAG_MEMBERSHIP,
    TAG_REVOCATION, TAG_TRANSACTION, Transaction, UID_LEN, Unlock, UnlockParam,
};
use crate::scale::Reader;
use crate::{DecodeError, ErrorKind};

/// Tag: high nibble = type.
pub(super) const TYPE_MASK: u8 = 0xF0;
/// Membership flag: `OUT`.
pub(super) const FLAG_MEMBERSHIP_OUT: u8 = 0x01;
/// Transaction flag: unlocks are `i:SIG(0)` for every input and are omitted.
pub(super) const FLAG_TX_STANDARD_UNLOCKS: u8 = 0x01;
/// Transaction flag: a comment string follows the outputs.
pub(super) const FLAG_TX_COMMENT: u8 = 0x02;

/// Currency byte: an explicit string follows.
pub(super) const CURRENCY_EXPLICIT: u8 = 0;
/// Currency byte: `g1`.
pub(super) const CURRENCY_G1: u8 = 1;
/// Currency byte: `g1-test`.
pub(super) const CURRENCY_G1_TEST: u8 = 2;

/// Input/output header: amount base (bits 0–3).
pub(super) const BASE_MASK: u8 = 0x0F;
/// Input/output header: kind (bits 4–5).
pub(super) const KIND_SHIFT: u8 = 4;
/// Input/output header: reserved bits.
pub(super) const HEADER_RESERVED: u8 = 0xC0;
/// Largest amount base.
pub(super) const MAX_BASE: u8 = 9;

/// Input kinds.
pub(super) const INPUT_D_KEY: u8 = 0;
pub(super) const INPUT_D_ISSUER: u8 = 1;
pub(super) const INPUT_T: u8 = 2;
/// Output condition kinds.
pub(super) const OUTPUT_SIG_KEY: u8 = 0;
pub(super) const OUTPUT_SIG_ISSUER: u8 = 1;
pub(super) const OUTPUT_RAW: u8 = 2;
/// Unlock parameter kinds.
pub(super) const PARAM_SIG: u8 = 0;
pub(super) const PARAM_XHX: u8 = 1;

const KEY_LEN: usize = 32;
const SIG_LEN: usize = 64;

pub(super) const fn dubp_err(offset: usize, e: DubpError) -> DecodeError {
    DecodeError::new(offset, ErrorKind::Dubp(e))
}

/// A checked run of list entries inside the compact bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Section<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) count: usize,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Document<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    let tag = r.u8()?;
    let doc_type = match tag & TYPE_MASK {
        TAG_IDENTITY => DocType::Identity,
        TAG_CERTIFICATION => DocType::Certification,
        TAG_MEMBERSHIP => DocType::Membership,
        TAG_REVOCATION => DocType::Revocation,
        TAG_TRANSACTION => DocType::Transaction,
        _ => return Err(dubp_err(0, DubpError::UnknownType(tag))),
    };
    let flags = tag & !TYPE_MASK;
    let allowed = match doc_type {
        DocType::Membership => FLAG_MEMBERSHIP_OUT,
        DocType::Transaction => FLAG_TX_STANDARD_UNLOCKS | FLAG_TX_COMMENT,
        _ => 0,
    };
    if flags & !allowed != 0 {
        return Err(dubp_err(0, DubpError::ReservedBits(tag)));
    }
    let currency = currency(&mut r)?;
    let body = match doc_type {
        DocType::Identity => Body::Identity(Identity {
            issuer: r.array()?,
            uid: uid(&mut r)?,
            timestamp: blockstamp(&mut r)?,
            signature: r.array()?,
        }),
        DocType::Certification => Body::Certification(Certification {
            issuer: r.array()?,
            idty_issuer: r.array()?,
            idty_uid: uid(&mut r)?,
            idty_timestamp: blockstamp(&mut r)?,
            idty_signature: r.array()?,
            cert_timestamp: blockstamp(&mut r)?,
            signature: r.array()?,
        }),
        DocType::Membership => Body::Membership(Membership {
            issuer: r.array()?,
            block: blockstamp(&mut r)?,
            kind: if flags & FLAG_MEMBERSHIP_OUT != 0 {
                MembershipKind::Out
            } else {
                MembershipKind::In
            },
            uid: uid(&mut r)?,
            cert_ts: blockstamp(&mut r)?,
            signature: r.array()?,
        }),
        DocType::Revocation => Body::Revocation(Revocation {
            issuer: r.array()?,
            idty_uid: uid(&mut r)?,
            idty_timestamp: blockstamp(&mut r)?,
            idty_signature: r.array()?,
            signature: r.array()?,
        }),
        DocType::Transaction => Body::Transaction(transaction(bytes, &mut r, flags)?),
    };
    r.finish()?;
    Ok(Document {
        bytes,
        currency,
        body,
    })
}

fn currency<'a>(r: &mut Reader<'a>) -> Result<Currency<'a>, DecodeError> {
    let pos = r.pos();
    match r.u8()? {
        CURRENCY_G1 => Ok(Currency::G1),
        CURRENCY_G1_TEST => Ok(Currency::G1Test),
        CURRENCY_EXPLICIT => {
            let pos = r.pos();
            let name = r.compact_bytes(*CURRENCY_LEN.end())?;
            let name =
                ascii_str(name, valid_currency).ok_or(dubp_err(pos, DubpError::BadCurrency))?;
            if well_known_currency(name).is_some() {
                return Err(dubp_err(pos, DubpError::WellKnownCurrencySpelledOut));
            }
            Ok(Currency::Other(name))
        }
        code => Err(dubp_err(pos, DubpError::UnknownCurrencyCode(code))),
    }
}

/// The 1-byte code of a well-known currency name.
pub(super) fn well_known_currency(name: &str) -> Option<u8> {
    match name {
        "g1" => Some(CURRENCY_G1),
        "g1-test" => Some(CURRENCY_G1_TEST),
        _ => None,
    }
}

fn uid<'a>(r: &mut Reader<'a>) -> Result<&'a str, DecodeError> {
    let pos = r.pos();
    let b = r.compact_bytes(*UID_LEN.end())?;
    ascii_str(b, valid_uid).ok_or(dubp_err(pos, DubpError::BadUid))
}

fn blockstamp<'a>(r: &mut Reader<'a>) -> Result<Blockstamp<'a>, DecodeError> {
    Ok(Blockstamp {
        number: r.compact()?,
        hash: r.array()?,
    })
}

/// A list count: at least one, at most [`MAX_TX_ENTRIES`].
fn count(r: &mut Reader<'_>, what: &'static str) -> Result<usize, DecodeError> {
    let pos = r.pos();
    let n = r.compact()?;
    match usize::try_from(n) {
        Ok(0) => Err(dubp_err(pos, DubpError::EmptyList(what))),
        Ok(n) if n <= MAX_TX_ENTRIES => Ok(n),
        _ => Err(dubp_err(pos, DubpError::TooMany(what))),
    }
}

fn transaction<'a>(
    bytes: &'a [u8],
    r: &mut Reader<'a>,
    flags: u8,
) -> Result<Transaction<'a>, DecodeError> {
    let blockstamp = blockstamp(r)?;
    let locktime = r.compact()?;

    let n_issuers = count(r, "issuer")?;
    let issuers_pos = r.pos();
    let issuers = r.bytes(n_issuers * KEY_LEN)?;
    for (i, key) in issuers.chunks_exact(KEY_LEN).enumerate() {
        if issuers.chunks_exact(KEY_LEN).take(i).any(|k| k == key) {
            return Err(dubp_err(
                issuers_pos + i * KEY_LEN,
                DubpError::DuplicateIssuer,
            ));
        }
    }

    let n_inputs = count(r, "input")?;
    let start = r.pos();
    for _ in 0..n_inputs {
        input(r, issuers)?;
    }
    let inputs = Section {
        bytes: bytes.get(start..r.pos()).unwrap_or(&[]),
        count: n_inputs,
    };

    let unlocks = if flags & FLAG_TX_STANDARD_UNLOCKS != 0 {
        None
    } else {
        let list_pos = r.pos();
        let n = count(r, "unlock")?;
        let start = r.pos();
        let mut standard = n == n_inputs;
        for i in 0..n {
            let (index, mut params) = unlock(r)?;
            standard &= index == i as u64
                && params.next() == Some(UnlockParam::Sig(0))
                && params.next().is_none();
        }
        if standard {
            return Err(dubp_err(list_pos, DubpError::StandardUnlocksSpelledOut));
        }
        Some(Section {
            bytes: bytes.get(start..r.pos()).unwrap_or(&[]),
            count: n,
        })
    };

    let n_outputs = count(r, "output")?;
    let start = r.pos();
    for _ in 0..n_outputs {
        output(r, issuers)?;
    }
    let outputs = Section {
        bytes: bytes.get(start..r.pos()).unwrap_or(&[]),
        count: n_outputs,
    };

    let comment = if flags & FLAG_TX_COMMENT != 0 {
        let pos = r.pos();
        let b = r.compact_bytes(MAX_COMMENT_LEN)?;
        ascii_str(b, valid_comment)
            .filter(|c| !c.is_empty())
            .ok_or(dubp_err(pos, DubpError::BadComment))?
    } else {
        ""
    };

    let signatures = r.bytes(n_issuers * SIG_LEN)?;
    Ok(Transaction {
        blockstamp,
        locktime,
        issuers,
        inputs,
        unlocks,
        outputs,
        comment,
        signatures,
    })
}

/// An input/output header byte: (base, kind).
fn header(r: &mut Reader<'_>) -> Result<(u8, u8, usize), DecodeError> {
    let pos = r.pos();
    let h = r.u8()?;
    if h & HEADER_RESERVED != 0 {
        return Err(dubp_err(pos, DubpError::ReservedBits(h)));
    }
    let base = h & BASE_MASK;
    if base > MAX_BASE {
        return Err(dubp_err(pos, DubpError::BadBase));
    }
    Ok((base, h >> KIND_SHIFT, pos))
}

/// An explicit key, which must not be one of the issuers.
fn explicit_key<'a>(r: &mut Reader<'a>, issuers: &[u8]) -> Result<&'a [u8; 32], DecodeError> {
    let pos = r.pos();
    let key = r.array::<KEY_LEN>()?;
    if issuers.chunks_exact(KEY_LEN).any(|k| k == key) {
        return Err(dubp_err(pos, DubpError::IssuerSpelledOut));
    }
    Ok(key)
}

fn issuer_ref<'a>(r: &mut Reader<'_>, issuers: &'a [u8]) -> Result<&'a [u8; 32], DecodeError> {
    let pos = r.pos();
    let index = r.compact()?;
    usize::try_from(index)
        .ok()
        .and_then(|i| Keys::new(issuers).nth(i))
        .ok_or(dubp_err(pos, DubpError::IssuerRefOutOfRange))
}

fn input<'a>(r: &mut Reader<'a>, issuers: &'a [u8]) -> Result<Input<'a>, DecodeError> {
    let (base, kind, pos) = header(r)?;
    let amount = r.compact()?;
    let source = match kind {
        INPUT_D_KEY => Source::Dividend {
            pubkey: explicit_key(r, issuers)?,
            block: r.compact()?,
        },
        INPUT_D_ISSUER => Source::Dividend {
            pubkey: issuer_ref(r, issuers)?,
            block: r.compact()?,
        },
        INPUT_T => Source::Transaction {
            hash: r.array()?,
            index: r.compact()?,
        },
        _ => return Err(dubp_err(pos, DubpError::ReservedBits(kind << KIND_SHIFT))),
    };
    Ok(Input {
        amount,
        base,
        source,
    })
}

fn output<'a>(r: &mut Reader<'a>, issuers: &'a [u8]) -> Result<Output<'a>, DecodeError> {
    let (base, kind, pos) = header(r)?;
    let amount = r.compact()?;
    let condition = match kind {
        OUTPUT_SIG_KEY => Condition::Sig(explicit_key(r, issuers)?),
        OUTPUT_SIG_ISSUER => Condition::Sig(issuer_ref(r, issuers)?),
        OUTPUT_RAW => {
            let pos = r.pos();
            let raw = r.compact_bytes(MAX_CONDITION_LEN)?;
            let raw = ascii_str(raw, valid_condition)
                .filter(|c| !c.is_empty())
                .ok_or(dubp_err(pos, DubpError::BadCondition))?;
            if plain_sig(raw.as_bytes()).is_some() {
                return Err(dubp_err(pos, DubpError::PlainSigAsRaw));
            }
            Condition::Raw(raw)
        }
        _ => return Err(dubp_err(pos, DubpError::ReservedBits(kind << KIND_SHIFT))),
    };
    Ok(Output {
        amount,
        base,
        condition,
    })
}

fn unlock<'a>(r: &mut Reader<'a>) -> Result<(u64, UnlockParams<'a>), DecodeError> {
    let index = r.compact()?;
    let n = count(r, "unlock parameter")?;
    let params = r.clone();
    for _ in 0..n {
        param(r)?;
    }
    Ok((index, UnlockParams::explicit(params, n)))
}

fn param(r: &mut Reader<'_>) -> Result<UnlockParam, DecodeError> {
    let pos = r.pos();
    match r.u8()? {
        PARAM_SIG => Ok(UnlockParam::Sig(r.compact()?)),
        PARAM_XHX => Ok(UnlockParam::Xhx(r.compact()?)),
        k => Err(dubp_err(pos, DubpError::UnknownUnlockParam(k))),
    }
}

// ---- iterators (over checked bytes: a decode error cannot happen and just ends them) ----

/// Iterator over 32-byte public keys.
#[derive(Debug, Clone)]
pub struct Keys<'a>(core::slice::ChunksExact<'a, u8>);

impl<'a> Keys<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes.chunks_exact(KEY_LEN))
    }
}

impl<'a> Iterator for Keys<'a> {
    type Item = &'a [u8; 32];
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().and_then(|c| c.try_into().ok())
    }
}

/// Iterator over 64-byte signatures.
#[derive(Debug, Clone)]
pub struct Signatures<'a>(core::slice::ChunksExact<'a, u8>);

impl<'a> Signatures<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self(bytes.chunks_exact(SIG_LEN))
    }
}

impl<'a> Iterator for Signatures<'a> {
    type Item = &'a [u8; 64];
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().and_then(|c| c.try_into().ok())
    }
}

/// Iterator over transaction inputs.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    r: Reader<'a>,
    left: usize,
    issuers: &'a [u8],
}

impl<'a> Inputs<'a> {
    pub(super) fn new(s: Section<'a>, issuers: &'a [u8]) -> Self {
        Self {
            r: Reader::new(s.bytes),
            left: s.count,
            issuers,
        }
    }
}

impl<'a> Iterator for Inputs<'a> {
    type Item = Input<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        input(&mut self.r, self.issuers).ok()
    }
}

/// Iterator over transaction outputs.
#[derive(Debug, Clone)]
pub struct Outputs<'a> {
    r: Reader<'a>,
    left: usize,
    issuers: &'a [u8],
}

impl<'a> Outputs<'a> {
    pub(super) fn new(s: Section<'a>, issuers: &'a [u8]) -> Self {
        Self {
            r: Reader::new(s.bytes),
            left: s.count,
            issuers,
        }
    }
}

impl<'a> Iterator for Outputs<'a> {
    type Item = Output<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        output(&mut self.r, self.issuers).ok()
    }
}

/// Iterator over transaction unlocks (the standard ones are synthesized).
#[derive(Debug, Clone)]
pub struct Unlocks<'a> {
    /// `None`: standard unlocks.
    r: Option<Reader<'a>>,
    next_index: u64,
    left: usize,
}

impl<'a> Unlocks<'a> {
    pub(super) fn new(s: Option<Section<'a>>, n_inputs: usize) -> Self {
        match s {
            Some(s) => Self {
                r: Some(Reader::new(s.bytes)),
                next_index: 0,
                left: s.count,
            },
            None => Self {
                r: None,
                next_index: 0,
                left: n_inputs,
            },
        }
    }
}

impl<'a> Iterator for Unlocks<'a> {
    type Item = Unlock<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        match &mut self.r {
            Some(r) => unlock(r)
                .ok()
                .map(|(index, params)| Unlock { index, params }),
            None => {
                let index = self.next_index;
                self.next_index += 1;
                Some(Unlock {
                    index,
                    params: UnlockParams::standard(),
                })
            }
        }
    }
}

/// Iterator over one unlock's parameters.
#[derive(Debug, Clone)]
pub struct UnlockParams<'a> {
    /// `None`: the standard single `SIG(0)`.
    r: Option<Reader<'a>>,
    left: usize,
}

impl<'a> UnlockParams<'a> {
    fn standard() -> Self {
        Self { r: None, left: 1 }
    }
    fn explicit(r: Reader<'a>, left: usize) -> Self {
        Self { r: Some(r), left }
    }
}

impl Iterator for UnlockParams<'_> {
    type Item = UnlockParam;
    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        match &mut self.r {
            Some(r) => param(r).ok(),
            None => Some(UnlockParam::Sig(0)),
        }
    }
}

// ---- character rules and key forms, shared with the text side ----

fn ascii_str(b: &[u8], rule: fn(&[u8]) -> bool) -> Option<&str> {
    if rule(b) {
        core::str::from_utf8(b).ok()
    } else {
        None
    }
}

pub(super) fn valid_uid(b: &[u8]) -> bool {
    UID_LEN.contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'))
}

pub(super) fn valid_currency(b: &[u8]) -> bool {
    CURRENCY_LEN.contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b' '))
}

/// DUBP comment characters (`[ a-zA-Z0-9-_:/;*\[\]()?!^+=@&~#{}|\\<>%.]{0,255}`).
pub(super) fn valid_comment(b: &[u8]) -> bool {
    b.len() <= MAX_COMMENT_LEN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b" -_:/;*[]()?!^+=@&~#{}|\\<>%.".contains(c))
}

/// Whether `b` is a well-formed output condition of the DUBP v10 grammar:
///
/// ```text
/// cond := term ((" && " | " || ") term)*
/// term := "SIG(" pubkey ")" | "XHX(" 64 uppercase hex ")" | "CSV(" u64 ")" | "CLTV(" u64 ")"
///       | "(" cond ")"
/// ```
///
/// Keys must be canonical base58 of 32 bytes and numbers canonical decimals, so that the compact
/// checker and the text parser accept exactly the same conditions (the text round trip is
/// then byte-identical). Nesting is bounded by [`MAX_CONDITION_DEPTH`]; no allocation.
pub(super) fn valid_condition(b: &[u8]) -> bool {
    if b.is_empty() || b.len() > MAX_CONDITION_LEN {
        return false;
    }
    let mut p = ConditionParser {
        s: b,
        pos: 0,
        depth: 0,
    };
    p.expr() && p.pos == b.len()
}

/// Deepest parenthesis nesting accepted in an output condition.
pub(super) const MAX_CONDITION_DEPTH: u8 = 16;

struct ConditionParser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: u8,
}

impl ConditionParser<'_> {
    fn rest(&self) -> &[u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        let hit = self.rest().starts_with(lit);
        if hit {
            self.pos += lit.len();
        }
        hit
    }

    fn expr(&mut self) -> bool {
        if !self.term() {
            return false;
        }
        while self.eat(b" && ") || self.eat(b" || ") {
            if !self.term() {
                return false;
            }
        }
        true
    }

    fn term(&mut self) -> bool {
        if self.eat(b"(") {
            if self.depth >= MAX_CONDITION_DEPTH {
                return false;
            }
            self.depth += 1;
            let ok = self.expr() && self.eat(b")");
            self.depth -= 1;
            ok
        } else if self.eat(b"SIG(") {
            self.argument(|t| decode_pubkey(t).is_ok())
        } else if self.eat(b"XHX(") {
            self.argument(|t| {
                t.len() == 64 && t.iter().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F'))
            })
        } else if self.eat(b"CSV(") || self.eat(b"CLTV(") {
            self.argument(canonical_u64)
        } else {
            false
        }
    }

    /// The text up to the next `)`, which is consumed.
    fn argument(&mut self, ok: impl Fn(&[u8]) -> bool) -> bool {
        let rest = self.rest();
        match rest.iter().position(|&c| c == b')') {
            Some(end) => {
                let arg = rest.get(..end).unwrap_or(&[]);
                let good = ok(arg);
                self.pos += end + 1;
                good
            }
            None => false,
        }
    }
}

/// A decimal `u64` without sign or leading zeros.
fn canonical_u64(t: &[u8]) -> bool {
    let digits = !t.is_empty()
        && t.iter().all(u8::is_ascii_digit)
        && (t.len() == 1 || t.first() != Some(&b'0'));
    digits
        && core::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .is_some()
}

/// Longest base58 text of 32 bytes.
const MAX_PUBKEY_TEXT: usize = 44;

/// A base58 public key that must be the canonical encoding of exactly 32 bytes.
pub(super) fn decode_pubkey(text: &[u8]) -> Result<[u8; 32], DubpError> {
    if text.is_empty() || text.len() > MAX_PUBKEY_TEXT + 1 {
        return Err(DubpError::BadPubkey);
    }
    let mut buf = [0u8; 48];
    let n = bs58::decode(text)
        .onto(&mut buf[..])
        .map_err(|_| DubpError::BadPubkey)?;
    if n != KEY_LEN {
        return Err(DubpError::BadPubkey);
    }
    let key: [u8; 32] = buf
        .get(..KEY_LEN)
        .and_then(|k| k.try_into().ok())
        .ok_or(DubpError::BadPubkey)?;
    let mut enc = [0u8; 48];
    let m = bs58::encode(&key)
        .onto(&mut enc[..])
        .map_err(|_| DubpError::BadPubkey)?;
    if enc.get(..m) != Some(text) {
        return Err(DubpError::NonCanonicalPubkey);
    }
    Ok(key)
}

/// The key of a condition that is exactly `SIG(canonical pubkey)`.
pub(super) fn plain_sig(cond: &[u8]) -> Option<[u8; 32]> {
    let inner = cond.strip_prefix(b"SIG(")?.strip_suffix(b")")?;
    decode_pubkey(inner).ok()
}

#[cfg(test)]
mod condition_tests {
    use super::valid_condition;

    const KEY: &str = "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV";
    const HASH: &str = "3ECC1453AF11A3CDC9D48CF75CAABDE93A56FAC49A327A861B87363812F7E0FF";

    #[test]
    fn grammar() {
        let ok = [
            std::format!("SIG({KEY})"),
            std::format!("(SIG({KEY}) && XHX({HASH})) || (SIG({KEY}) && CSV(604800))"),
            std::format!("SIG({KEY}) || CLTV(0)"),
        ];
        for c in &ok {
            assert!(valid_condition(c.as_bytes()), "{c}");
        }
        let bad = [
            std::string::String::from(
                "SIG(6E5H749xDUTCyV1jgCC1453AF11A3CDC9D48CF75CAABDE93A56FAC49A327A000)",
            ),
            std::string::String::from("(SIG(&E5H749x6o5pStPR && CSV(604800))"),
            std::format!("SIG({KEY})  && CSV(1)"),
            std::string::String::from("CSV(01)"),
            std::format!("XHX({})", HASH.to_lowercase()),
            std::format!("({KEY}"),
            std::string::String::from("CSV(99999999999999999999)"),
            "(".repeat(20) + "CSV(1)" + &")".repeat(20),
        ];
        for c in &bad {
            assert!(!valid_condition(c.as_bytes()), "{c}");
        }
    }
}
