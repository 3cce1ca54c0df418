//! Stream framing: `COBS(payload ‖ CRC-32 LE) ‖ 0x00` (layout in the [module doc](super)).

use cobs::{CobsEncoder, DecodeResult, DecoderState};
use crc::{CRC_32_ISO_HDLC, Crc};

use crate::{DecodeError, ErrorKind};

use super::LinkError;

/// Bytes of CRC-32 after the payload, inside the COBS encoding.
pub const CRC_LEN: usize = 4;
/// The Noise AEAD tag every transport message carries.
pub const NOISE_TAG_LEN: usize = 16;
/// The packet type byte in front of every Noise message.
pub const PACKET_TYPE_LEN: usize = 1;
/// Largest postcard-encoded [`Envelope`](super::Envelope).
pub const MAX_MESSAGE: usize = 4_096;
/// Largest frame payload: a packet carrying a full message and its Noise tag.
pub const MAX_PAYLOAD: usize = PACKET_TYPE_LEN + MAX_MESSAGE + NOISE_TAG_LEN;
/// Largest frame on the wire, delimiter included.
pub const MAX_ENCODED_FRAME: usize = cobs::max_encoding_length(MAX_PAYLOAD + CRC_LEN) + 1;
/// Decoder buffer that holds any valid frame: payload and CRC.
pub const DECODER_LEN: usize = MAX_PAYLOAD + CRC_LEN;

/// The decoder a node or host uses: any valid link frame fits.
pub type LinkDecoder = FrameDecoder<DECODER_LEN>;

const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Encode one frame into `out`; returns its length, delimiter included. `Link(TooLong)` if the
/// payload exceeds [`MAX_PAYLOAD`], `BufferTooSmall` if `out` is shorter than
/// [`encoded_len`].
pub fn encode_frame(payload: &[u8], out: &mut [u8]) -> Result<usize, DecodeError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(DecodeError::new(MAX_PAYLOAD, LinkError::TooLong.into()));
    }
    let small = DecodeError::new(0, ErrorKind::BufferTooSmall);
    let crc = CRC32.checksum(payload).to_le_bytes();
    let mut enc = CobsEncoder::new(out);
    enc.push(payload).map_err(|_| small)?;
    enc.push(&crc).map_err(|_| small)?;
    let n = enc.finalize();
    *out.get_mut(n).ok_or(small)? = 0;
    Ok(n + 1)
}

/// Upper bound of the encoded length of a `payload_len`-byte payload (delimiter included).
pub const fn encoded_len(payload_len: usize) -> usize {
    cobs::max_encoding_length(payload_len + CRC_LEN) + 1
}

/// Streaming frame decoder with a fixed `N`-byte buffer (use [`LinkDecoder`]).
///
/// Feed it whatever the transport delivers. It yields each verified payload, or a typed error
/// for each bad frame, and resynchronises at the next `0x00`: a stream that starts mid-frame
/// gives one error, then clean frames. It never holds more than `N` bytes: a longer frame is
/// skipped up to its delimiter and reported as [`LinkError::TooLong`]. Empty frames (two
/// delimiters in a row) are ignored, so a sender may emit a `0x00` first to flush a line.
#[derive(Debug)]
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    state: DecoderState,
    /// Skipping to the next delimiter; report this error there.
    skipping: Option<LinkError>,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            state: DecoderState::Idle,
            skipping: None,
        }
    }

    /// Consume bytes from `input` up to the end of the first complete frame. Returns how many
    /// bytes were consumed and, if a frame ended, its payload or why it was refused. Call again
    /// with the rest of `input`; the payload borrows the decoder until then.
    ///
    /// ```
    /// # use toile_proto::link::{encode_frame, FrameDecoder};
    /// let mut wire = [0u8; 32];
    /// let n = encode_frame(b"hi", &mut wire).unwrap();
    /// let mut dec: FrameDecoder<64> = FrameDecoder::new();
    /// let mut input = &wire[..n];
    /// while !input.is_empty() {
    ///     let (used, frame) = dec.push(input);
    ///     if let Some(frame) = frame {
    ///         assert_eq!(frame, Ok(&b"hi"[..]));
    ///     }
    ///     input = &input[used..];
    /// }
    /// ```
    pub fn push(&mut self, input: &[u8]) -> (usize, Option<Result<&[u8], LinkError>>) {
        for (i, &b) in input.iter().enumerate() {
            if let Some(err) = self.skipping {
                if b == 0 {
                    self.reset();
                    return (i + 1, Some(Err(err)));
                }
                continue;
            }
            match self.state.feed(b) {
                Ok(DecodeResult::NoData) => {}
                Ok(DecodeResult::DataContinue(x)) => match self.buf.get_mut(self.len) {
                    Some(slot) => {
                        *slot = x;
                        self.len += 1;
                    }
                    None => self.skipping = Some(LinkError::TooLong),
                },
                Ok(DecodeResult::DataComplete) => {
                    let n = self.len;
                    self.reset();
                    return (i + 1, Some(self.verify(n)));
                }
                // Only a delimiter inside a COBS run fails: the frame ends here.
                Err(_) => {
                    self.reset();
                    return (i + 1, Some(Err(LinkError::Cobs)));
                }
            }
        }
        (input.len(), None)
    }

    /// Feed a whole chunk, calling `on_frame` for every frame that ends in it.
    pub fn feed<F: FnMut(Result<&[u8], LinkError>)>(&mut self, mut input: &[u8], mut on_frame: F) {
        while !input.is_empty() {
            let (used, frame) = self.push(input);
            if let Some(frame) = frame {
                on_frame(frame);
            }
            input = input.get(used..).unwrap_or(&[]);
        }
    }

    /// Bytes of the frame in progress held so far.
    pub const fn buffered(&self) -> usize {
        self.len
    }

    fn reset(&mut self) {
        self.len = 0;
        self.state = DecoderState::Idle;
        self.skipping = None;
    }

    fn verify(&self, n: usize) -> Result<&[u8], LinkError> {
        let frame = self.buf.get(..n).ok_or(LinkError::TooLong)?;
        let split = n.checked_sub(CRC_LEN).ok_or(LinkError::Runt)?;
        let (payload, crc) = frame.split_at(split);
        let crc: [u8; CRC_LEN] = crc.try_into().map_err(|_| LinkError::Runt)?;
        if CRC32.checksum(payload) != u32::from_le_bytes(crc) {
            return Err(LinkError::Crc);
        }
        Ok(payload)
    }
}
