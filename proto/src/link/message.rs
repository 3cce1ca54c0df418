//! Link packets ([`Packet`]) and the messages inside Noise transport messages ([`Envelope`],
//! [`Message`]).

use serde::{Deserialize, Serialize};

use crate::item::{ItemKind, ShortId};
use crate::radio::{Entries, EntriesBuilder, EntryIter};
use crate::{DecodeError, ErrorKind};

use super::LinkError;
use super::framing::MAX_MESSAGE;

/// The message protocol version a node and host announce in [`Hello`]. Bump it when a message
/// changes meaning; *adding* variants at the end of [`Message`] does not need a bump (the
/// receiver answers [`ErrorCode::UnknownMessage`]).
pub const PROTOCOL_VERSION: u16 = 1;

/// Longest node name, in bytes of UTF-8.
pub const MAX_NAME_LEN: usize = 32;

/// What a link packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// A Noise handshake message; the only packet accepted before the handshake completes.
    Handshake,
    /// A Noise transport message (ciphertext ‖ tag) carrying one postcard [`Envelope`].
    Transport,
    Unknown(u8),
}

impl PacketType {
    pub const fn from_u8(b: u8) -> Self {
        match b {
            1 => Self::Handshake,
            2 => Self::Transport,
            other => Self::Unknown(other),
        }
    }
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Handshake => 1,
            Self::Transport => 2,
            Self::Unknown(b) => b,
        }
    }
}

/// One link frame's payload: a type byte and a Noise message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub ty: PacketType,
    pub body: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parse a frame payload. Only an empty payload is refused; an unknown type is returned
    /// as [`PacketType::Unknown`] for the receiver to drop and count.
    pub fn parse(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let (&ty, body) = payload
            .split_first()
            .ok_or(DecodeError::new(0, ErrorKind::Truncated))?;
        Ok(Self {
            ty: PacketType::from_u8(ty),
            body,
        })
    }

    /// May a node accept this packet before the Noise handshake has completed?
    pub fn allowed_before_handshake(&self) -> bool {
        self.ty == PacketType::Handshake
    }

    pub fn buffer_len(&self) -> usize {
        1 + self.body.len()
    }

    /// Write the packet; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, DecodeError> {
        let len = self.buffer_len();
        let out = out
            .get_mut(..len)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        let (ty, body) = out
            .split_first_mut()
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        *ty = self.ty.to_u8();
        body.copy_from_slice(self.body);
        Ok(len)
    }
}

/// A message and its sequence number: the unit a Noise transport message carries.
///
/// Postcard layout: `seq` (varint u32), then the [`Message`] variant index (varint u32), then
/// the variant's fields in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<'a> {
    /// Per direction, incremented by the sender for every message; [`Message::Ack`] and
    /// [`PullRequest::after_seq`] name it to resume an interrupted sync.
    pub seq: u32,
    #[serde(borrow)]
    pub message: Message<'a>,
}

/// Everything a host and a node say to each other. **Append new variants at the end only**:
/// the variant index is the wire tag. An unknown tag decodes to
/// [`LinkError::UnknownMessage`]; answer it with [`Message::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message<'a> {
    /// 0. First message each way after the handshake.
    Hello(Hello),
    /// 1. Items for the receiver to store (host → node: to carry; node → host: pulled).
    PushItems {
        #[serde(borrow)]
        batch: Batch<'a>,
    },
    /// 2. Ask the node for the items it holds.
    PullRequest(#[serde(borrow)] PullRequest<'a>),
    /// 3. A reconciliation round: engine-defined sketch or range summary.
    ReconcileRequest { body: &'a [u8] },
    /// 4. Answer: ids the responder lacks, plus an engine-defined body.
    ReconcileResponse {
        #[serde(borrow)]
        missing: IdList<'a>,
        body: &'a [u8],
    },
    /// 5. Ask for a [`Message::Status`].
    StatusRequest,
    /// 6. The node's health.
    Status(Status),
    /// 7. Ask for a [`Message::Config`].
    ConfigGet,
    /// 8. Change some settings; answered by [`Message::Config`] with the result.
    ConfigSet(#[serde(borrow)] ConfigPatch<'a>),
    /// 9. The node's settings.
    Config(#[serde(borrow)] Config<'a>),
    /// 10. Signed receipts ("included in block N" / "rejected") to spread in the mesh.
    Receipts {
        #[serde(borrow)]
        batch: Batch<'a>,
    },
    /// 11. Everything up to and including `seq` was received and committed.
    Ack { seq: u32 },
    /// 12. A message was refused. `seq` names it.
    Error {
        code: ErrorCode,
        seq: u32,
        message: &'a str,
    },
    /// 13. Node → host: the outcome of a push.
    ///
    /// What became of each item of the [`Message::PushItems`] numbered `seq`: one
    /// [`ItemOutcome`] byte per item, in batch order.
    PushOutcome { seq: u32, outcomes: &'a [u8] },
    /// 14. Host → node: list held item ids.
    ///
    /// `max` of them starting at position `from` (oldest first). Answered by
    /// [`Message::Ids`].
    ListIds { from: u32, max: u32 },
    /// 15. Node → host: a chunk of held item ids.
    ///
    /// `ids` are the items at positions `from..from + ids.len()` of `total`. A sync walks the
    /// list in chunks; positions are a snapshot hint only (items may come and go between
    /// chunks; the next sync catches up).
    Ids {
        from: u32,
        total: u32,
        #[serde(borrow)]
        ids: IdList<'a>,
    },
}

impl Message<'_> {
    /// Number of variants this build knows (tags `0..VARIANTS`).
    pub const VARIANTS: u32 = 16;
}

/// What a node did with one pushed item ([`Message::PushOutcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemOutcome {
    /// Verified and stored now.
    Stored,
    /// Already held (idempotent success).
    Duplicate,
    /// Not a well-formed item of its kind.
    Malformed,
    /// The signature does not verify for the node's chain.
    BadSignature,
    /// Longer than the relay engine carries ([`crate::engine::MAX_ITEM_LEN`]).
    TooLarge,
    /// The node's store is full; push again later.
    StoreFull,
    /// The signer is not in the node's member filter.
    NotMember,
    /// The signer used up its airtime quota on this node; push again later.
    Quota,
    Unknown(u8),
}

impl ItemOutcome {
    pub const fn from_u8(b: u8) -> Self {
        match b {
            0 => Self::Stored,
            1 => Self::Duplicate,
            2 => Self::Malformed,
            3 => Self::BadSignature,
            4 => Self::TooLarge,
            5 => Self::StoreFull,
            6 => Self::NotMember,
            7 => Self::Quota,
            other => Self::Unknown(other),
        }
    }

    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Stored => 0,
            Self::Duplicate => 1,
            Self::Malformed => 2,
            Self::BadSignature => 3,
            Self::TooLarge => 4,
            Self::StoreFull => 5,
            Self::NotMember => 6,
            Self::Quota => 7,
            Self::Unknown(b) => b,
        }
    }

    /// The node holds the item afterwards: the host may mark it delivered.
    pub const fn delivered(self) -> bool {
        matches!(self, Self::Stored | Self::Duplicate)
    }

    /// Retrying later may succeed.
    pub const fn retryable(self) -> bool {
        matches!(self, Self::StoreFull | Self::Quota | Self::Unknown(_))
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Stored => "stored",
            Self::Duplicate => "duplicate",
            Self::Malformed => "malformed",
            Self::BadSignature => "bad-signature",
            Self::TooLarge => "too-large",
            Self::StoreFull => "store-full",
            Self::NotMember => "not-member",
            Self::Quota => "quota",
            Self::Unknown(_) => "unknown",
        }
    }
}

/// Handshake-level greeting inside the encrypted session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u16,
    pub role: Role,
    /// The node's radio address (0 for a host).
    pub node_addr: u16,
    /// Largest encoded envelope the sender accepts (≤ [`MAX_MESSAGE`]).
    pub max_message: u32,
}

/// Who is speaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u8", into = "u8")]
pub enum Role {
    /// A radio node.
    Node,
    /// A host bridge or field tool.
    Host,
    Unknown(u8),
}

impl From<u8> for Role {
    fn from(b: u8) -> Self {
        match b {
            1 => Self::Node,
            2 => Self::Host,
            other => Self::Unknown(other),
        }
    }
}

impl From<Role> for u8 {
    fn from(r: Role) -> Self {
        match r {
            Role::Node => 1,
            Role::Host => 2,
            Role::Unknown(b) => b,
        }
    }
}

/// Ask for items, resuming after a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest<'a> {
    /// The last `seq` of a [`Message::PushItems`] from this node that the host committed; the
    /// node resumes after it (0: from the start).
    pub after_seq: u32,
    /// At most this many items per reply.
    pub max_items: u32,
    /// Only these items (empty: any).
    #[serde(borrow)]
    pub want: IdList<'a>,
}

/// A node's health report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Status {
    pub uptime_s: u32,
    pub store_items: u32,
    pub store_used_bytes: u32,
    pub store_capacity_bytes: u32,
    /// Airtime spent in the current duty-cycle window.
    pub airtime_used_ms: u32,
    /// Airtime the region allows per window.
    pub airtime_budget_ms: u32,
    /// Duty-cycle window length.
    pub duty_window_s: u32,
    pub neighbours: u16,
    pub tx_queue: u16,
    /// Battery voltage, 0 if unknown.
    pub battery_mv: u16,
}

/// A node's settings. `region` and `preset` are the codes of the regional plans and radio
/// presets in `hardware/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config<'a> {
    pub region: u8,
    pub preset: u8,
    /// At most [`MAX_NAME_LEN`] bytes.
    pub name: &'a str,
}

/// The settings to change; `None` keeps the current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfigPatch<'a> {
    pub region: Option<u8>,
    pub preset: Option<u8>,
    #[serde(borrow)]
    pub name: Option<&'a str>,
}

/// Why a message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u16", into = "u16")]
pub enum ErrorCode {
    /// The message variant is unknown ([`LinkError::UnknownMessage`]).
    UnknownMessage,
    /// The message did not decode.
    Malformed,
    /// The peer's [`PROTOCOL_VERSION`] is not supported.
    UnsupportedVersion,
    /// The node is busy; retry later.
    Busy,
    /// The node's store is full; pull or wait for receipts.
    StoreFull,
    /// A setting was refused (unknown region or preset, name too long).
    BadConfig,
    /// An item failed its signature check.
    BadItem,
    /// The node is paired with another host (or the host does not trust the node's key): the
    /// session is closed. Pair again to replace the pinned key.
    NotPaired,
    Unknown(u16),
}

impl From<u16> for ErrorCode {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::UnknownMessage,
            2 => Self::Malformed,
            3 => Self::UnsupportedVersion,
            4 => Self::Busy,
            5 => Self::StoreFull,
            6 => Self::BadConfig,
            7 => Self::BadItem,
            8 => Self::NotPaired,
            other => Self::Unknown(other),
        }
    }
}

impl From<ErrorCode> for u16 {
    fn from(c: ErrorCode) -> Self {
        match c {
            ErrorCode::UnknownMessage => 1,
            ErrorCode::Malformed => 2,
            ErrorCode::UnsupportedVersion => 3,
            ErrorCode::Busy => 4,
            ErrorCode::StoreFull => 5,
            ErrorCode::BadConfig => 6,
            ErrorCode::BadItem => 7,
            ErrorCode::NotPaired => 8,
            ErrorCode::Unknown(v) => v,
        }
    }
}

impl From<LinkError> for ErrorCode {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::UnknownMessage(_) => Self::UnknownMessage,
            LinkError::NameTooLong => Self::BadConfig,
            _ => Self::Malformed,
        }
    }
}

/// Several items: the radio items body ([`Entries`]) behind a postcard length prefix. Empty
/// means no items. Checked by [`Envelope::decode`] and [`Batch::new_checked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Batch<'a> {
    bytes: &'a [u8],
}

impl<'a> Batch<'a> {
    pub const EMPTY: Batch<'static> = Batch { bytes: &[] };

    /// Check untrusted entry bytes (empty is allowed).
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if !bytes.is_empty() {
            Entries::new_checked(bytes)?;
        }
        Ok(Self { bytes })
    }

    pub fn from_entries(entries: Entries<'a>) -> Self {
        Self {
            bytes: entries.as_bytes(),
        }
    }

    /// Start a batch in `buf` (same encoding as a radio Items body).
    pub fn builder(buf: &mut [u8]) -> EntriesBuilder<'_> {
        EntriesBuilder::new(buf)
    }

    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The items, without copying.
    pub fn iter(&self) -> EntryIter<'a> {
        // A checked batch always parses; an unchecked one (only via serde) yields nothing.
        Entries::new_checked(self.bytes).map_or(Entries::EMPTY.iter(), |e| e.iter())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<'a> IntoIterator for Batch<'a> {
    type Item = (ItemKind, &'a [u8]);
    type IntoIter = EntryIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A list of [`ShortId`]s: 8 bytes each, little-endian, behind a postcard length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdList<'a> {
    bytes: &'a [u8],
}

impl<'a> IdList<'a> {
    pub const EMPTY: IdList<'static> = IdList { bytes: &[] };
    const ID_LEN: usize = 8;

    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if !bytes.len().is_multiple_of(Self::ID_LEN) {
            return Err(DecodeError::new(
                bytes.len() - bytes.len() % Self::ID_LEN,
                LinkError::BadIdList.into(),
            ));
        }
        Ok(Self { bytes })
    }

    /// Write `ids` into `out` and view them as a list.
    pub fn encode(ids: &[ShortId], out: &'a mut [u8]) -> Result<Self, DecodeError> {
        let len = ids
            .len()
            .checked_mul(Self::ID_LEN)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        let out = out
            .get_mut(..len)
            .ok_or(DecodeError::new(0, ErrorKind::BufferTooSmall))?;
        for (dst, id) in out.chunks_exact_mut(Self::ID_LEN).zip(ids) {
            dst.copy_from_slice(&id.0.to_le_bytes());
        }
        Ok(Self { bytes: out })
    }

    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn iter(&self) -> impl Iterator<Item = ShortId> + 'a {
        self.bytes.chunks_exact(Self::ID_LEN).map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            ShortId(u64::from_le_bytes(b))
        })
    }

    pub const fn len(&self) -> usize {
        self.bytes.len() / Self::ID_LEN
    }

    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl<'a> Envelope<'a> {
    /// Decode a message (the plaintext of a Noise transport message). The whole buffer must
    /// be one envelope. Offsets of postcard errors are 0 (postcard does not report them);
    /// batch and id-list errors point into `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let malformed = DecodeError::new(0, LinkError::Malformed.into());
        if bytes.len() > MAX_MESSAGE {
            return Err(DecodeError::new(MAX_MESSAGE, LinkError::TooLong.into()));
        }
        let (_seq, rest) = postcard::take_from_bytes::<u32>(bytes).map_err(|_| malformed)?;
        let (tag, _) = postcard::take_from_bytes::<u32>(rest).map_err(|_| malformed)?;
        if tag >= Message::VARIANTS {
            let at = bytes.len() - rest.len();
            return Err(DecodeError::new(at, LinkError::UnknownMessage(tag).into()));
        }
        let (env, rest) = postcard::take_from_bytes::<Self>(bytes).map_err(|_| malformed)?;
        if !rest.is_empty() {
            return Err(DecodeError::new(
                bytes.len() - rest.len(),
                ErrorKind::TrailingBytes,
            ));
        }
        env.check(bytes)?;
        Ok(env)
    }

    /// The `seq` of an envelope that failed to decode, to name it in [`Message::Error`].
    pub fn peek_seq(bytes: &[u8]) -> Option<u32> {
        postcard::take_from_bytes::<u32>(bytes).ok().map(|(s, _)| s)
    }

    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        postcard::experimental::serialized_size(self).unwrap_or(usize::MAX)
    }

    /// Encode into `out`; returns the length. `Link(TooLong)` beyond [`MAX_MESSAGE`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, DecodeError> {
        let len = self.encoded_len();
        if len > MAX_MESSAGE {
            return Err(DecodeError::new(MAX_MESSAGE, LinkError::TooLong.into()));
        }
        postcard::to_slice(self, out)
            .map(|s| s.len())
            .map_err(|_| DecodeError::new(0, ErrorKind::BufferTooSmall))
    }

    /// Checks serde cannot express: batch and id-list structure, name length.
    fn check(&self, whole: &[u8]) -> Result<(), DecodeError> {
        // Offset of a borrowed field inside `whole` (pointer arithmetic, no unsafe).
        let at = |part: &[u8]| (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
        let batch = |b: &Batch<'_>| {
            Batch::new_checked(b.bytes)
                .map(|_| ())
                .map_err(|e| e.at(at(b.bytes)))
        };
        let ids = |l: &IdList<'_>| {
            IdList::new_checked(l.bytes)
                .map(|_| ())
                .map_err(|e| e.at(at(l.bytes)))
        };
        let name = |n: &str| {
            if n.len() > MAX_NAME_LEN {
                Err(DecodeError::new(
                    at(n.as_bytes()),
                    LinkError::NameTooLong.into(),
                ))
            } else {
                Ok(())
            }
        };
        match &self.message {
            Message::PushItems { batch: b } | Message::Receipts { batch: b } => batch(b),
            Message::PullRequest(p) => ids(&p.want),
            Message::ReconcileResponse { missing, .. } | Message::Ids { ids: missing, .. } => {
                ids(missing)
            }
            Message::ConfigSet(p) => p.name.map_or(Ok(()), name),
            Message::Config(c) => name(c.name),
            _ => Ok(()),
        }
    }
}
