//! # Host link: framing, packets and messages
//!
//! How a host (the `toile` bridge or a field laptop) and a node talk over a byte stream (USB
//! serial, BLE, TCP). Three layers, outside in:
//!
//! 1. **Framing** ([`encode_frame`], [`FrameDecoder`]): turns a byte stream into verified
//!    payloads.
//!
//!    | bytes | field |
//!    |---|---|
//!    | n + ⌈(n + 4) / 254⌉ at most | COBS(`payload` ‖ CRC-32/ISO-HDLC(`payload`) little-endian) |
//!    | 1 | `0x00` delimiter |
//!
//!    COBS (the `cobs` crate, postcard's) removes every `0x00` from the frame so the delimiter
//!    is unambiguous: a decoder that starts mid-stream, or sees garbage or a truncated frame,
//!    resynchronises at the next `0x00` and never loses the good frame after a bad one. The
//!    A sender that opens or reopens a stream writes one `0x00` first, which terminates
//!    whatever partial frame it may have left behind (an empty frame is ignored); otherwise the
//!    first good frame would be glued to that partial one and refused with it. The same holds
//!    if a line error eats a delimiter: the two frames it separated are lost together, and
//!    the `seq`/[`Message::Ack`] resume logic re-sends them. The
//!    CRC-32 catches line noise on a serial cable before the Noise layer sees it (a Noise
//!    decryption failure would otherwise kill the session).
//!
//! 2. **Packets** ([`Packet`]): the payload of a frame.
//!
//!    | bytes | field |
//!    |---|---|
//!    | 1 | [`PacketType`]: 1 `Handshake` (a Noise handshake message), 2 `Transport` (a Noise transport message: ciphertext ‖ 16-byte tag) |
//!    | n | the Noise message |
//!
//!    **The rule the node enforces:** until the Noise handshake has completed, the only packet
//!    it accepts is `Handshake`; every other packet (including `Unknown`) is dropped and counted
//!    without being parsed further. After the handshake, only `Transport` packets carry
//!    messages. There is no plaintext control of a node, ever: a [`Message`] only travels
//!    inside a `Transport` packet.
//!
//! 3. **Messages** ([`Envelope`], [`Message`]): what the Noise transport messages carry,
//!    serialised with postcard (borrowed fields, no allocation). Every message travels in an
//!    [`Envelope`] with a `seq` so a sync can be acknowledged ([`Message::Ack`]) and resumed
//!    ([`Message::PullRequest`]). Item batches reuse the radio items body ([`Batch`] over
//!    [`crate::radio::Entries`]): one entry encoding in the whole code base.
//!
//! ## Sizes
//! - [`MAX_MESSAGE`] = 4 096 bytes of postcard per message: a batch of ~27 Ğ1 transfers
//!   (~150 B each) or 4 large DUBP transactions, large enough that framing is ≤ 1 % and small
//!   enough that a node's decoder buffer ([`DECODER_LEN`] = 4 117 B) fits its RAM budget.
//! - [`MAX_PAYLOAD`] = packet type (1) + message + Noise tag (16) = 4 113 bytes: a full message
//!   always fits one link frame. Noise handshake messages are far smaller.
//! - Overhead of a full frame: type 1 + tag 16 + CRC 4 + COBS ≤ 17 + delimiter 1 = 39 bytes
//!   at most, 0.95 % of 4 096 (goal B12: ≤ 2 %).

mod framing;
mod message;

pub use framing::{
    CRC_LEN, DECODER_LEN, FrameDecoder, LinkDecoder, MAX_ENCODED_FRAME, MAX_MESSAGE, MAX_PAYLOAD,
    NOISE_TAG_LEN, PACKET_TYPE_LEN, encode_frame, encoded_len,
};
pub use message::{
    Batch, Config, ConfigPatch, Envelope, ErrorCode, Hello, IdList, ItemOutcome, MAX_NAME_LEN,
    Message, PROTOCOL_VERSION, Packet, PacketType, PullRequest, Role, Status,
};

use core::fmt;

/// Why link bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// The frame's CRC-32 does not match: line noise or a lost byte.
    Crc,
    /// The bytes between two delimiters are not valid COBS (for example a truncated frame).
    Cobs,
    /// The frame, payload or message is longer than the configured maximum.
    TooLong,
    /// The frame is too short to hold a CRC.
    Runt,
    /// The message is not valid postcard for its variant.
    Malformed,
    /// The message variant is newer than this build; answer with [`ErrorCode::UnknownMessage`].
    UnknownMessage(u32),
    /// An id list whose length is not a multiple of 8 bytes.
    BadIdList,
    /// A node name longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crc => f.write_str("frame checksum mismatch (noisy cable or wrong baud rate?)"),
            Self::Cobs => f.write_str("malformed or truncated frame"),
            Self::TooLong => write!(
                f,
                "frame or message longer than the maximum ({MAX_PAYLOAD} bytes)"
            ),
            Self::Runt => f.write_str("frame too short to carry a checksum"),
            Self::Malformed => f.write_str("malformed message"),
            Self::UnknownMessage(t) => write!(
                f,
                "unknown message type {t} (the peer runs a newer protocol; upgrade this side)"
            ),
            Self::BadIdList => f.write_str("id list length is not a multiple of 8 bytes"),
            Self::NameTooLong => write!(f, "node name longer than {MAX_NAME_LEN} bytes"),
        }
    }
}

impl From<LinkError> for crate::ErrorKind {
    fn from(e: LinkError) -> Self {
        Self::Link(e)
    }
}

/// Fuzz target: feed `data` to a [`FrameDecoder`] whole and in chunks whose sizes come from the
/// data, decode every payload as a packet and a message, re-encode what decodes and check the
/// round trip. Also treats `data` itself as a payload and as a message. Panics only on a bug.
pub fn fuzz(data: &[u8]) {
    let mut dec: FrameDecoder<512> = FrameDecoder::new();
    dec.feed(data, check_payload);
    // The same stream split into chunks of 1..=16 bytes chosen by the data.
    let mut dec: FrameDecoder<512> = FrameDecoder::new();
    let mut rest = data;
    let mut sizes = data.iter().cycle();
    while !rest.is_empty() {
        let n = (usize::from(*sizes.next().unwrap_or(&0)) % 16 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        dec.feed(chunk, check_payload);
        rest = tail;
    }
    check_payload(Ok(data));
    // Encoding any payload that fits must decode back to itself.
    let mut out = [0u8; 1_024];
    if let Ok(n) = encode_frame(data, &mut out) {
        let mut dec: FrameDecoder<1_024> = FrameDecoder::new();
        let mut got = 0;
        dec.feed(out.get(..n).unwrap_or(&[]), |r| {
            assert_eq!(r, Ok(data));
            got += 1;
        });
        assert_eq!(got, 1);
    }
}

fn check_payload(r: Result<&[u8], LinkError>) {
    let Ok(payload) = r else { return };
    if let Ok(packet) = Packet::parse(payload)
        && payload.len() <= 1_024
    {
        let mut out = [0u8; 1_024];
        let Ok(n) = packet.emit(&mut out) else {
            panic!("parsed packet did not re-emit");
        };
        assert_eq!(out.get(..n), Some(payload));
    }
    if let Ok(env) = Envelope::decode(payload) {
        let mut out = [0u8; MAX_MESSAGE];
        let Ok(n) = env.encode(&mut out) else {
            panic!("decoded message did not re-encode");
        };
        assert_eq!(n, env.encoded_len());
        assert_eq!(Envelope::decode(out.get(..n).unwrap_or(&[])), Ok(env));
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LinkError {}
