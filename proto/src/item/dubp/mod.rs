//! DUBP v10 documents (Duniter v1) in Toile's compact binary form.
//!
//! The mesh carries a compact, canonical binary form of the five signed DUBP v10 documents;
//! [`Document::render`] streams the byte-identical signed text back (to a hash, a signature
//! verifier, a counter or a buffer), so a node verifies a document with no text buffer and the
//! bridge submits exactly what the wallet signed.
//!
//! ## Call order
//! - [`Document::parse`] checks untrusted compact bytes once (every rule below); accessors on
//!   the view then cannot fail and nothing allocates.
//! - [`Document::verify`] streams the unsigned text into one [`Ed25519Verifier`] per issuer.
//! - [`Document::render`] / [`Document::render_unsigned`] / [`Document::text_len`] produce the
//!   signed text, the signed part, or its length.
//! - Host only (`std`): [`from_text`] turns a signed text into the compact form (offsets in its
//!   errors are byte offsets into the text), [`Document::render_to_string`].
//!
//! ## Compact layout
//!
//! Integers marked *c* are SCALE compacts (canonical); `pk` is 32 bytes, `sig` 64 bytes,
//! `hash` 32 bytes; `bs` (blockstamp) is *c* block number + 32-byte block hash;
//! `str` is a SCALE byte string (*c* length + bytes).
//!
//! | field | encoding |
//! |---|---|
//! | tag | 1 byte: high nibble = type ([`TAG_IDENTITY`] `0x1_`, [`TAG_CERTIFICATION`] `0x2_`, [`TAG_MEMBERSHIP`] `0x3_`, [`TAG_REVOCATION`] `0x4_`, [`TAG_TRANSACTION`] `0x5_`), low nibble = flags; always version 10 |
//! | flags | membership: bit 0 = `OUT` (else `IN`); transaction: bit 0 = standard unlocks (`i:SIG(0)` for every input, unlock list omitted), bit 1 = comment present; every other bit is reserved and must be 0 |
//! | currency | 1 byte: `1` = `g1`, `2` = `g1-test`, `0` = explicit `str` (2–50 chars of `[A-Za-z0-9_ -]`, never a well-known name) |
//! | Identity | tag, currency, issuer pk, uid str, timestamp bs, sig |
//! | Certification | tag, currency, issuer pk, idty issuer pk, idty uid str, idty timestamp bs, idty sig, cert timestamp bs, sig |
//! | Membership | tag, currency, issuer pk, block bs, uid str, cert-ts bs, sig |
//! | Revocation | tag, currency, issuer pk, idty uid str, idty timestamp bs, idty sig, sig |
//! | Transaction | tag, currency, blockstamp bs, locktime *c*, *c* n issuers + n × pk, *c* inputs + inputs, \[*c* unlocks + unlocks if not standard\], *c* outputs + outputs, \[comment str if flagged\], n × sig |
//! | input | header byte (bits 0–3 base ≤ 9, bits 4–5 source: `0` D + pk, `1` D + issuer index *c*, `2` T + hash; bits 6–7 reserved), amount *c*, then pk / index / hash, then block number *c* (D) or output index *c* (T) |
//! | unlock | input index *c*, *c* n params (≥ 1), each: byte `0` = `SIG(c)`, `1` = `XHX(c)` |
//! | output | header byte (bits 0–3 base ≤ 9, bits 4–5 condition: `0` `SIG(pk)`, `1` `SIG(issuer index c)`, `2` raw condition str; bits 6–7 reserved), amount *c*, then pk / index / str |
//!
//! ## Canonical form
//! Exactly one compact form per text: a key equal to an issuer must be an issuer reference
//! (issuers are distinct), standard unlocks must use the flag, a raw condition must not be a plain
//! `SIG(pubkey)`, a comment flag needs a non-empty comment, an explicit currency must not be a
//! well-known name, compacts are canonical, and the buffer must end with the last signature.
//! The text side accepts only canonical base58 keys, canonical base64 signatures, uppercase hex
//! hashes and decimal numbers without leading zeros, and [`from_text`] finally checks that the
//! compact form renders back to the exact input.
//!
//! [`Ed25519Verifier`]: crate::crypto::Ed25519Verifier

mod compact;
mod render;
#[cfg(feature = "std")]
mod text;

use core::fmt;

use crate::crypto::{Counter, Ed25519Verifier, Sink};
use crate::{DecodeError, VerifyError};

pub use compact::{Inputs, Keys, Outputs, Signatures, UnlockParams, Unlocks};
#[cfg(feature = "std")]
pub use text::{from_text, sign};

/// Tag high nibble of an Identity document.
pub const TAG_IDENTITY: u8 = 0x10;
/// Tag high nibble of a Certification document.
pub const TAG_CERTIFICATION: u8 = 0x20;
/// Tag high nibble of a Membership document (flag bit 0 = `OUT`).
pub const TAG_MEMBERSHIP: u8 = 0x30;
/// Tag high nibble of a Revocation document.
pub const TAG_REVOCATION: u8 = 0x40;
/// Tag high nibble of a Transaction document (flags: standard unlocks, comment).
pub const TAG_TRANSACTION: u8 = 0x50;

/// The only DUBP document version this format carries.
pub const VERSION: u64 = 10;
/// Most issuers, inputs, unlocks or outputs in one transaction (Duniter caps a transaction
/// at 100 lines).
pub const MAX_TX_ENTRIES: usize = 100;
/// Longest comment (DUBP rule).
pub const MAX_COMMENT_LEN: usize = 255;
/// Longest raw output condition.
pub const MAX_CONDITION_LEN: usize = 1_000;
/// UID length bounds (DUBP rule `[A-Za-z0-9_-]{2,100}`).
pub const UID_LEN: core::ops::RangeInclusive<usize> = 2..=100;
/// Currency name length bounds.
pub const CURRENCY_LEN: core::ops::RangeInclusive<usize> = 2..=50;

/// Why compact bytes or a DUBP text were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DubpError {
    /// The tag's high nibble is not a known document type.
    UnknownType(u8),
    /// A tag, input or output header byte has reserved bits set.
    ReservedBits(u8),
    /// The currency byte is not a known code.
    UnknownCurrencyCode(u8),
    /// An explicit currency string names a currency that has a 1-byte code.
    WellKnownCurrencySpelledOut,
    /// The currency name has bad characters or length.
    BadCurrency,
    /// The UID has bad characters or length.
    BadUid,
    /// The comment has bad characters or is too long, or is empty while flagged present.
    BadComment,
    /// An amount base is above 9.
    BadBase,
    /// An issuer reference points past the issuer list.
    IssuerRefOutOfRange,
    /// A key is spelled out although it is one of the issuers (must be a reference).
    IssuerSpelledOut,
    /// The same issuer appears twice.
    DuplicateIssuer,
    /// A transaction list that must not be empty is empty.
    EmptyList(&'static str),
    /// A transaction list is longer than [`MAX_TX_ENTRIES`].
    TooMany(&'static str),
    /// An explicit unlock list equals the standard one (must use the flag).
    StandardUnlocksSpelledOut,
    /// An unlock parameter kind byte is unknown.
    UnknownUnlockParam(u8),
    /// A raw output condition is empty, too long or has characters outside the condition
    /// grammar.
    BadCondition,
    /// A raw output condition is a plain `SIG(pubkey)` (must use the compact key form).
    PlainSigAsRaw,
    /// Text: the `Version` line is not `Version: 10`.
    BadVersion,
    /// Text: the `Type` line names no known document type.
    BadDocType,
    /// Text: the expected line is missing or malformed.
    ExpectedField(&'static str),
    /// Text: a public key is not base58 for 32 bytes.
    BadPubkey,
    /// Text: a public key is not the canonical base58 encoding of its bytes.
    NonCanonicalPubkey,
    /// Text: a signature is not base64 for 64 bytes, or not its canonical encoding.
    BadSignature,
    /// Text: a hash is not 64 uppercase hex digits.
    BadHash,
    /// Text: a number is not plain decimal (no sign, no leading zero, fits in 64 bits).
    BadNumber,
    /// Text: a blockstamp is not `NUMBER-HASH`.
    BadBlockstamp,
    /// Text: a transaction input line is malformed.
    BadInput,
    /// Text: an unlock line is malformed.
    BadUnlock,
    /// Text: an output line is malformed.
    BadOutput,
    /// Text: the number of signature lines differs from the number of issuers.
    SignatureCount,
    /// Text: the last line does not end with LF.
    MissingFinalNewline,
    /// Text: the text is not the canonical rendering of its fields (e.g. extra spaces).
    TextMismatch,
}

impl fmt::Display for DubpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownType(t) => write!(f, "unknown document tag {t:#04x}"),
            Self::ReservedBits(b) => write!(f, "reserved bits set in byte {b:#04x}"),
            Self::UnknownCurrencyCode(c) => write!(f, "unknown currency code {c}"),
            Self::WellKnownCurrencySpelledOut => {
                f.write_str("currency spelled out although it has a 1-byte code")
            }
            Self::BadCurrency => f.write_str("currency must be 2-50 chars of [A-Za-z0-9_ -]"),
            Self::BadUid => f.write_str("UID must be 2-100 chars of [A-Za-z0-9_-]"),
            Self::BadComment => f.write_str(
                "comment must be 1-255 chars of letters, digits, spaces and -_:/;*[]()?!^+=@&~#{}|\\<>%.",
            ),
            Self::BadBase => f.write_str("amount base must be 0-9"),
            Self::IssuerRefOutOfRange => f.write_str("issuer reference past the issuer list"),
            Self::IssuerSpelledOut => {
                f.write_str("key spelled out although it is an issuer (must be a reference)")
            }
            Self::DuplicateIssuer => f.write_str("the same issuer appears twice"),
            Self::EmptyList(what) => write!(f, "a transaction needs at least one {what}"),
            Self::TooMany(what) => write!(f, "more than {MAX_TX_ENTRIES} {what}"),
            Self::StandardUnlocksSpelledOut => {
                f.write_str("standard unlocks spelled out (must use the flag)")
            }
            Self::UnknownUnlockParam(k) => write!(f, "unknown unlock parameter kind {k}"),
            Self::BadCondition => f.write_str(
                "output condition must be 1-1000 chars of SIG/XHX/CSV/CLTV, (, ), &&, ||, spaces",
            ),
            Self::PlainSigAsRaw => {
                f.write_str("plain SIG(pubkey) condition stored raw (must use the key form)")
            }
            Self::BadVersion => f.write_str("expected `Version: 10`"),
            Self::BadDocType => f.write_str(
                "expected `Type: ` Identity, Certification, Membership, Revocation or Transaction",
            ),
            Self::ExpectedField(name) => write!(f, "expected the `{name}` line"),
            Self::BadPubkey => f.write_str("public key is not base58 for 32 bytes"),
            Self::NonCanonicalPubkey => {
                f.write_str("public key is not the canonical base58 of its bytes")
            }
            Self::BadSignature => {
                f.write_str("signature is not the canonical base64 of 64 bytes")
            }
            Self::BadHash => f.write_str("hash must be 64 uppercase hex digits"),
            Self::BadNumber => {
                f.write_str("number must be decimal digits without leading zero, < 2^64")
            }
            Self::BadBlockstamp => f.write_str("blockstamp must be NUMBER-HASH"),
            Self::BadInput => f.write_str(
                "input must be AMOUNT:BASE:D:PUBKEY:BLOCK or AMOUNT:BASE:T:HASH:INDEX",
            ),
            Self::BadUnlock => f.write_str("unlock must be INDEX:SIG(n) or XHX(n), space separated"),
            Self::BadOutput => f.write_str("output must be AMOUNT:BASE:CONDITION"),
            Self::SignatureCount => f.write_str("one signature line per issuer is required"),
            Self::MissingFinalNewline => f.write_str("the last line must end with LF"),
            Self::TextMismatch => f.write_str(
                "text is not the canonical DUBP rendering of its fields (check spacing)",
            ),
        }
    }
}

/// The five DUBP v10 document types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocType {
    Identity,
    Certification,
    Membership,
    Revocation,
    Transaction,
}

impl DocType {
    /// The `Type:` value in the text.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Identity => "Identity",
            Self::Certification => "Certification",
            Self::Membership => "Membership",
            Self::Revocation => "Revocation",
            Self::Transaction => "Transaction",
        }
    }

    /// Tag high nibble.
    pub const fn tag(self) -> u8 {
        match self {
            Self::Identity => TAG_IDENTITY,
            Self::Certification => TAG_CERTIFICATION,
            Self::Membership => TAG_MEMBERSHIP,
            Self::Revocation => TAG_REVOCATION,
            Self::Transaction => TAG_TRANSACTION,
        }
    }
}

/// The currency a document is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency<'a> {
    /// `g1` (code 1).
    G1,
    /// `g1-test` (code 2).
    G1Test,
    /// Any other currency, spelled out (code 0).
    Other(&'a str),
}

impl<'a> Currency<'a> {
    pub const fn as_str(&self) -> &'a str {
        match self {
            Self::G1 => "g1",
            Self::G1Test => "g1-test",
            Self::Other(s) => s,
        }
    }
}

/// A block reference `NUMBER-HASH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blockstamp<'a> {
    pub number: u64,
    pub hash: &'a [u8; 32],
}

/// `Membership: IN` or `OUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MembershipKind {
    In,
    Out,
}

/// Identity (self-certification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    pub issuer: &'a [u8; 32],
    pub uid: &'a str,
    pub timestamp: Blockstamp<'a>,
    pub signature: &'a [u8; 64],
}

/// Certification of `idty_issuer` by `issuer`; embeds the certified identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certification<'a> {
    pub issuer: &'a [u8; 32],
    pub idty_issuer: &'a [u8; 32],
    pub idty_uid: &'a str,
    pub idty_timestamp: Blockstamp<'a>,
    pub idty_signature: &'a [u8; 64],
    pub cert_timestamp: Blockstamp<'a>,
    pub signature: &'a [u8; 64],
}

/// Membership request (`IN`) or exit (`OUT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership<'a> {
    pub issuer: &'a [u8; 32],
    pub block: Blockstamp<'a>,
    pub kind: MembershipKind,
    pub uid: &'a str,
    pub cert_ts: Blockstamp<'a>,
    pub signature: &'a [u8; 64],
}

/// Revocation of the issuer's identity; embeds that identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation<'a> {
    pub issuer: &'a [u8; 32],
    pub idty_uid: &'a str,
    pub idty_timestamp: Blockstamp<'a>,
    pub idty_signature: &'a [u8; 64],
    pub signature: &'a [u8; 64],
}

/// A transaction. Lists are iterated from the checked compact bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transaction<'a> {
    pub blockstamp: Blockstamp<'a>,
    pub locktime: u64,
    /// `n × 32` bytes.
    issuers: &'a [u8],
    inputs: compact::Section<'a>,
    /// `None`: the standard unlocks `i:SIG(0)`.
    unlocks: Option<compact::Section<'a>>,
    outputs: compact::Section<'a>,
    /// Empty when absent.
    pub comment: &'a str,
    /// `n × 64` bytes.
    signatures: &'a [u8],
}

impl<'a> Transaction<'a> {
    pub fn issuers(&self) -> Keys<'a> {
        Keys::new(self.issuers)
    }
    pub fn issuer_count(&self) -> usize {
        self.issuers.len() / 32
    }
    pub fn inputs(&self) -> Inputs<'a> {
        Inputs::new(self.inputs, self.issuers)
    }
    pub fn unlocks(&self) -> Unlocks<'a> {
        Unlocks::new(self.unlocks, self.inputs.count)
    }
    /// Whether the unlocks are the standard `i:SIG(0)` for every input.
    pub fn has_standard_unlocks(&self) -> bool {
        self.unlocks.is_none()
    }
    pub fn outputs(&self) -> Outputs<'a> {
        Outputs::new(self.outputs, self.issuers)
    }
    pub fn signatures(&self) -> Signatures<'a> {
        Signatures::new(self.signatures)
    }
}

/// Where a transaction input comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// `D`: the universal dividend of `pubkey` created at block `block`.
    Dividend { pubkey: &'a [u8; 32], block: u64 },
    /// `T`: output `index` of transaction `hash`.
    Transaction { hash: &'a [u8; 32], index: u64 },
}

/// One transaction input `AMOUNT:BASE:D|T:...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'a> {
    pub amount: u64,
    pub base: u8,
    pub source: Source<'a>,
}

/// One unlock parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlockParam {
    /// `SIG(n)`: signature of issuer `n`.
    Sig(u64),
    /// `XHX(n)`: hash preimage.
    Xhx(u64),
}

/// One unlock line `INDEX:PARAM PARAM...`.
#[derive(Debug, Clone)]
pub struct Unlock<'a> {
    pub index: u64,
    pub params: UnlockParams<'a>,
}

/// An output's locking condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// `SIG(pubkey)`.
    Sig(&'a [u8; 32]),
    /// Any other condition expression, verbatim.
    Raw(&'a str),
}

/// One transaction output `AMOUNT:BASE:CONDITION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output<'a> {
    pub amount: u64,
    pub base: u8,
    pub condition: Condition<'a>,
}

/// The type-specific content of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    Identity(Identity<'a>),
    Certification(Certification<'a>),
    Membership(Membership<'a>),
    Revocation(Revocation<'a>),
    Transaction(Transaction<'a>),
}

/// A checked, borrowed DUBP document in compact form. Once parsed, no accessor can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    bytes: &'a [u8],
    currency: Currency<'a>,
    body: Body<'a>,
}

impl<'a> Document<'a> {
    /// Check `bytes` as one compact document (the whole buffer). Validates every rule of the
    /// module table; no allocation.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        compact::parse(bytes)
    }

    /// The compact bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn doc_type(&self) -> DocType {
        match self.body {
            Body::Identity(_) => DocType::Identity,
            Body::Certification(_) => DocType::Certification,
            Body::Membership(_) => DocType::Membership,
            Body::Revocation(_) => DocType::Revocation,
            Body::Transaction(_) => DocType::Transaction,
        }
    }

    pub fn currency(&self) -> Currency<'a> {
        self.currency
    }

    pub fn body(&self) -> Body<'a> {
        self.body
    }

    /// The signers, in signature order (one for all types but transactions).
    pub fn issuers(&self) -> Keys<'a> {
        match &self.body {
            Body::Identity(d) => Keys::new(d.issuer),
            Body::Certification(d) => Keys::new(d.issuer),
            Body::Membership(d) => Keys::new(d.issuer),
            Body::Revocation(d) => Keys::new(d.issuer),
            Body::Transaction(t) => t.issuers(),
        }
    }

    /// The document signatures, one per issuer (not the embedded identity signature).
    pub fn signatures(&self) -> Signatures<'a> {
        match &self.body {
            Body::Identity(d) => Signatures::new(d.signature),
            Body::Certification(d) => Signatures::new(d.signature),
            Body::Membership(d) => Signatures::new(d.signature),
            Body::Revocation(d) => Signatures::new(d.signature),
            Body::Transaction(t) => t.signatures(),
        }
    }

    /// Stream the full signed text (unsigned part, then one base64 signature line per issuer).
    pub fn render<S: Sink + ?Sized>(&self, sink: &mut S) {
        render::unsigned(self, sink);
        for sig in self.signatures() {
            render::signature_line(sink, sig);
        }
    }

    /// Stream the part of the text that the signatures cover.
    pub fn render_unsigned<S: Sink + ?Sized>(&self, sink: &mut S) {
        render::unsigned(self, sink);
    }

    /// Length of the full signed text.
    pub fn text_len(&self) -> usize {
        let mut c = Counter::default();
        self.render(&mut c);
        c.0
    }

    /// Check every issuer's signature over the unsigned text, streamed (no buffer).
    pub fn verify(&self) -> Result<(), VerifyError> {
        for (key, sig) in self.issuers().zip(self.signatures()) {
            let mut v = Ed25519Verifier::new(key, sig)?;
            render::unsigned(self, &mut v);
            v.finish()?;
        }
        Ok(())
    }

    /// The full signed text.
    #[cfg(feature = "std")]
    pub fn render_to_string(&self) -> std::string::String {
        let mut v = std::vec::Vec::with_capacity(self.text_len());
        self.render(&mut v);
        std::string::String::from_utf8_lossy(&v).into_owned()
    }
}

/// Fuzz entry point: arbitrary bytes as a compact document. A document that parses must render
/// and verify without panicking, and (with `std`) its text must convert back to the same bytes.
pub fn fuzz(data: &[u8]) {
    let Ok(doc) = Document::parse(data) else {
        return;
    };
    let len = doc.text_len();
    let _ = doc.verify();
    let _ = (doc.issuers().count(), doc.signatures().count());
    if let Body::Transaction(t) = doc.body() {
        let _ = (t.inputs().count(), t.outputs().count());
        for u in t.unlocks() {
            let _ = u.params.count();
        }
    }
    let mut buf = [0u8; 4_096];
    let mut sink = crate::crypto::SliceSink::new(&mut buf);
    doc.render(&mut sink);
    let _ = sink.finish();
    #[cfg(feature = "std")]
    {
        let text = doc.render_to_string();
        assert_eq!(text.len(), len, "counted length differs from rendered text");
        match from_text(&text) {
            Ok(back) => assert_eq!(back, data, "text round trip is not canonical"),
            Err(e) => panic!("rendered text does not parse back: {e}\n{text}"),
        }
    }
    #[cfg(not(feature = "std"))]
    let _ = len;
}

#[cfg(feature = "std")]
impl std::error::Error for DubpError {}
