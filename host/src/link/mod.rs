//! # Links: how the bridge and a node exchange frames
//!
//! Layers, outside in (the wire format is proto's, [`toile_proto::link`]):
//!
//! 1. **Transport**: a reliable, ordered byte stream. Serial (USB CDC / UART through
//!    `tokio-serial`, also a pty), TCP, or BLE ([`ble`]: one write and one notify GATT
//!    characteristic, the stream cut into MTU-sized chunks).
//! 2. **[`Link`]**: whole frame payloads over that stream, framed with proto's
//!    `COBS(payload ‖ CRC-32) ‖ 00` ([`encode_frame`], [`LinkDecoder`]); bad frames are counted
//!    and skipped, never fatal. [`StreamLink`] does it for any byte stream, [`ble::BleLink`]
//!    for GATT.
//! 3. **[`noise::NoiseLink`]**: a decorator over any [`Link`] that runs the Noise XX handshake
//!    (pinning the peer's static key) and then carries postcard
//!    [`Envelope`](toile_proto::link::Envelope)s inside `Transport` packets.
//!
//! Every buffer is bounded: a frame never exceeds [`MAX_ENCODED_FRAME`] on the wire and the
//! decoder holds at most [`toile_proto::link::DECODER_LEN`] bytes.

pub mod ble;
pub mod noise;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use toile_proto::link::{LinkDecoder, MAX_ENCODED_FRAME, encode_frame, encoded_len};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a link failed. Messages say what to do next.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error(
        "the link was closed by the other side (unplugged, or the node stopped): run the command again to resume"
    )]
    Closed,
    #[error("link I/O error: {0} (check the cable and the port)")]
    Io(#[from] std::io::Error),
    #[error(
        "cannot open serial port {path}: {source} (check the path, e.g. /dev/ttyUSB0, and that you may use it: group dialout)"
    )]
    Serial {
        path: String,
        source: tokio_serial::Error,
    },
    #[error("cannot connect to {addr}: {source} (is `toile node --emulate --tcp {addr}` running?)")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("frame payload of {0} bytes is longer than the link maximum")]
    TooLong(usize),
    #[error("no answer within {0:?}: is a Toile node on the other end, and is it powered?")]
    Timeout(Duration),
    #[error("BLE: {0}")]
    Ble(String),
}

/// Byte counts of a link, for throughput and overhead measurements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames sent and their payload bytes.
    pub frames_tx: u64,
    pub payload_tx: u64,
    /// Bytes written to the transport (framing included).
    pub wire_tx: u64,
    pub frames_rx: u64,
    pub payload_rx: u64,
    pub wire_rx: u64,
    /// Frames refused by the decoder (CRC, COBS, too long).
    pub bad_frames: u64,
}

/// A reliable, ordered exchange of frame payloads (proto `Packet`s) with one peer.
///
/// Implementations MUST guarantee:
/// - **Order and integrity**: payloads arrive in the order sent, each exactly as sent, or not
///   at all (a bad frame is counted in [`LinkStats::bad_frames`] and skipped, never
///   delivered).
/// - **Bounded memory**: a payload longer than [`toile_proto::link::MAX_PAYLOAD`] is refused
///   on send and skipped on receive.
/// - **Cancel safety of `recv`**: dropping a `recv` future loses no byte; the next call
///   continues where it stopped. `send` is not cancel-safe (a frame may be half written; the
///   receiver's decoder drops it and resynchronises at the next delimiter).
pub trait Link: Send {
    /// Send one payload as one frame.
    fn send(&mut self, payload: &[u8]) -> impl Future<Output = Result<(), LinkError>> + Send;
    /// The next verified payload. [`LinkError::Closed`] at end of stream.
    fn recv(&mut self) -> impl Future<Output = Result<Vec<u8>, LinkError>> + Send;
    fn stats(&self) -> LinkStats;
}

/// Frame decoding state shared by every transport: the bounded decoder, bytes received but
/// not yet decoded, and counters. Transports feed it chunks as they arrive.
#[derive(Debug)]
pub struct FramePump {
    decoder: Box<LinkDecoder>,
    pending: Vec<u8>,
    at: usize,
    stats: LinkStats,
}

impl Default for FramePump {
    fn default() -> Self {
        Self::new()
    }
}

impl FramePump {
    pub fn new() -> Self {
        Self {
            decoder: Box::new(LinkDecoder::new()),
            pending: Vec::new(),
            at: 0,
            stats: LinkStats::default(),
        }
    }

    /// Take a chunk from the transport; call only when [`FramePump::next_frame`] returned
    /// `None` (all earlier bytes consumed).
    pub fn feed(&mut self, chunk: &[u8]) {
        self.stats.wire_rx += chunk.len() as u64;
        self.pending.clear();
        self.pending.extend_from_slice(chunk);
        self.at = 0;
    }

    /// The next verified payload in the bytes fed so far; `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Vec<u8>> {
        while let Some(rest) = self.pending.get(self.at..).filter(|r| !r.is_empty()) {
            let (used, frame) = self.decoder.push(rest);
            self.at += used;
            match frame {
                Some(Ok(p)) => {
                    self.stats.frames_rx += 1;
                    self.stats.payload_rx += p.len() as u64;
                    return Some(p.to_vec());
                }
                Some(Err(_)) => self.stats.bad_frames += 1,
                None => {}
            }
        }
        None
    }

    /// Frame `payload` for the wire (a leading `0x00` if `first`, see proto's framing doc).
    pub fn encode(&mut self, payload: &[u8], first: bool) -> Result<Vec<u8>, LinkError> {
        let mut out = vec![0u8; encoded_len(payload.len()).min(MAX_ENCODED_FRAME) + 1];
        let start = usize::from(first);
        let n = encode_frame(payload, out.get_mut(start..).unwrap_or_default())
            .map_err(|_| LinkError::TooLong(payload.len()))?;
        out.truncate(start + n);
        self.stats.frames_tx += 1;
        self.stats.payload_tx += payload.len() as u64;
        self.stats.wire_tx += out.len() as u64;
        Ok(out)
    }

    pub const fn stats(&self) -> LinkStats {
        self.stats
    }
}

/// A [`Link`] over any byte stream: serial port, pty, TCP socket.
#[derive(Debug)]
pub struct StreamLink<S> {
    stream: S,
    pump: FramePump,
    buf: Box<[u8; 16_384]>,
    opened: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> StreamLink<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            pump: FramePump::new(),
            buf: Box::new([0; 16_384]),
            opened: false,
        }
    }

    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Link for StreamLink<S> {
    async fn send(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        let wire = self.pump.encode(payload, !self.opened)?;
        self.opened = true;
        self.stream.write_all(&wire).await?;
        self.stream.flush().await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        loop {
            if let Some(p) = self.pump.next_frame() {
                return Ok(p);
            }
            let n = match self.stream.read(&mut self.buf[..]).await {
                Ok(0) => return Err(LinkError::Closed),
                Ok(n) => n,
                // A pty whose other side closed reads EIO: the cable was pulled.
                Err(e) if e.raw_os_error() == Some(5) => return Err(LinkError::Closed),
                Err(e) => return Err(e.into()),
            };
            self.pump.feed(self.buf.get(..n).unwrap_or_default());
        }
    }

    fn stats(&self) -> LinkStats {
        self.pump.stats()
    }
}

/// Serial line speed used for real USB CDC ports (a pty ignores it).
pub const SERIAL_BAUD: u32 = 921_600;

/// Open a serial port (or a pty slave such as `/dev/pts/7`) as a link. Bytes already waiting
/// in the port are discarded.
pub fn open_serial(path: &Path) -> Result<StreamLink<tokio_serial::SerialStream>, LinkError> {
    use tokio_serial::{SerialPort, SerialPortBuilderExt};
    let name = path.to_string_lossy().into_owned();
    let err = |source| LinkError::Serial {
        path: name.clone(),
        source,
    };
    // Exclusive when possible; an emulated node keeps its pty slave open with a shared lock,
    // so fall back to a shared open there.
    let port = tokio_serial::new(name.clone(), SERIAL_BAUD)
        .open_native_async()
        .or_else(|_| {
            tokio_serial::new(name.clone(), SERIAL_BAUD)
                .exclusive(false)
                .open_native_async()
        })
        .map_err(err)?;
    port.clear(tokio_serial::ClearBuffer::Input).map_err(err)?;
    Ok(StreamLink::new(port))
}

/// Connect to a TCP node (`toile node --emulate --tcp ADDR`).
pub async fn connect_tcp(addr: &str) -> Result<StreamLink<tokio::net::TcpStream>, LinkError> {
    let s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|source| LinkError::Connect {
            addr: addr.to_owned(),
            source,
        })?;
    s.set_nodelay(true)?;
    Ok(StreamLink::new(s))
}

/// Await `f`, failing with [`LinkError::Timeout`] after `d`.
pub async fn with_timeout<T, E: From<LinkError>>(
    d: Duration,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    tokio::time::timeout(d, f)
        .await
        .map_err(|_| E::from(LinkError::Timeout(d)))?
}

/// Where a link goes, as the CLI names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A serial port or pty slave path.
    Serial(std::path::PathBuf),
    /// `HOST:PORT` of an emulated node.
    Tcp(String),
    /// The BLE name a node advertises.
    Ble(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Serial(p) => write!(f, "serial {}", p.display()),
            Self::Tcp(a) => write!(f, "tcp {a}"),
            Self::Ble(n) => write!(f, "ble {n}"),
        }
    }
}

/// Any of the transports, chosen at run time.
#[derive(Debug)]
pub enum AnyLink {
    Serial(StreamLink<tokio_serial::SerialStream>),
    Tcp(StreamLink<tokio::net::TcpStream>),
    #[cfg(feature = "ble")]
    Ble(ble::BleLink<ble::BtleplugGatt>),
}

impl AnyLink {
    /// Open the link to `target`.
    pub async fn open(target: &Target) -> Result<Self, LinkError> {
        match target {
            Target::Serial(p) => Ok(Self::Serial(open_serial(p)?)),
            Target::Tcp(a) => Ok(Self::Tcp(connect_tcp(a).await?)),
            #[cfg(feature = "ble")]
            Target::Ble(n) => Ok(Self::Ble(ble::connect(n, Duration::from_secs(10)).await?)),
            #[cfg(not(feature = "ble"))]
            Target::Ble(_) => Err(LinkError::Ble(
                "this build has no BLE support: rebuild with `--features ble`".into(),
            )),
        }
    }
}

impl Link for AnyLink {
    async fn send(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        match self {
            Self::Serial(l) => l.send(payload).await,
            Self::Tcp(l) => l.send(payload).await,
            #[cfg(feature = "ble")]
            Self::Ble(l) => l.send(payload).await,
        }
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        match self {
            Self::Serial(l) => l.recv().await,
            Self::Tcp(l) => l.recv().await,
            #[cfg(feature = "ble")]
            Self::Ble(l) => l.recv().await,
        }
    }

    fn stats(&self) -> LinkStats {
        match self {
            Self::Serial(l) => l.stats(),
            Self::Tcp(l) => l.stats(),
            #[cfg(feature = "ble")]
            Self::Ble(l) => l.stats(),
        }
    }
}
