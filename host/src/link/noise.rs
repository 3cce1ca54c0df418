//! Noise on every link: `Noise_XX_25519_ChaChaPoly_BLAKE2s` with pinned static keys.
//!
//! - [`Handshake`] and [`Transport`] are sans-IO wrappers over `snow`: the node's
//!   [`crate::node::NodeService`] drives them from bytes, the host's [`NoiseLink`] from a
//!   [`Link`]. Both sides apply the same **rekey rule**: after every [`REKEY_INTERVAL`]-th
//!   message in a direction, the sender calls `rekey_outgoing` and the receiver
//!   `rekey_incoming` (Noise spec §11.3), so long sessions never run one key forever.
//! - **Pinning**: XX reveals each side's static key to the other. The host pins the node's
//!   key at `toile pair` (and prints its [`fingerprint`], which the node prints on its
//!   console); the node pins the host's key in pairing mode. Afterwards an unknown key is
//!   refused with [`NoiseError::UnknownKey`] on the side that sees it, and the other side gets
//!   an [`ErrorCode::NotPaired`] message inside the session.
//! - [`PinStore`] keeps the own static keypair and pinned peers: the bridge's SQLite
//!   [`crate::store::Store`] implements it, the emulated node's state directory uses
//!   [`FilePinStore`] (a board keeps two small records in flash, not a database).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use toile_proto::crypto::blake2_256;
use toile_proto::link::{
    Envelope, ErrorCode, MAX_MESSAGE, MAX_PAYLOAD, Message, NOISE_TAG_LEN, Packet, PacketType,
};
use zeroize::Zeroizing;

use super::{Link, LinkError, LinkStats};

/// The one Noise protocol of every Toile link.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Bound into the handshake hash: a peer of another protocol fails the handshake.
pub const PROLOGUE: &[u8] = b"toile link v1";
/// Messages per direction between two rekeys (2^16): both sides rekey after message
/// `REKEY_INTERVAL`, `2 * REKEY_INTERVAL`, ….
pub const REKEY_INTERVAL: u64 = 1 << 16;
/// Longest Noise handshake message of XX with empty payloads (message 2: 32 + 48 + 16).
pub const MAX_HANDSHAKE: usize = 96;

/// Why a Noise session failed.
#[derive(Debug, thiserror::Error)]
pub enum NoiseError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(
        "Noise handshake failed ({0}): is the other side a Toile node speaking this protocol version?"
    )]
    Handshake(snow::Error),
    #[error(
        "could not decrypt a message ({0}): the session is broken (line noise or a second writer on the port); run the command again"
    )]
    Decrypt(snow::Error),
    #[error(
        "peer {peer:?} presented key {presented}, but {pinned} is pinned: refusing it. If the device was replaced on purpose, pair again (`toile pair`)"
    )]
    UnknownKey {
        peer: String,
        presented: String,
        pinned: String,
    },
    #[error(
        "no key is pinned for {peer:?}: pair first with `toile pair` and compare the fingerprint with the node's console"
    )]
    NotPaired { peer: String },
    #[error("the node refused this host: {0}")]
    Refused(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("key store: {0}")]
    Store(#[from] PinError),
}

/// A static X25519 keypair.
#[derive(Clone)]
pub struct StaticKey {
    pub private: Zeroizing<[u8; 32]>,
    pub public: [u8; 32],
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticKey({})", fingerprint(&self.public))
    }
}

impl StaticKey {
    /// A fresh keypair from the OS RNG.
    pub fn generate() -> Result<Self, NoiseError> {
        let kp = snow::Builder::new(params())
            .generate_keypair()
            .map_err(NoiseError::Handshake)?;
        Self::from_parts(&kp.private, &kp.public)
            .ok_or_else(|| NoiseError::Protocol("snow returned a malformed keypair".into()))
    }

    /// A keypair from its two 32-byte halves (as saved by a [`PinStore`]).
    pub fn from_parts(private: &[u8], public: &[u8]) -> Option<Self> {
        Some(Self {
            private: Zeroizing::new(private.try_into().ok()?),
            public: public.try_into().ok()?,
        })
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public)
    }
}

/// Short, human-comparable fingerprint of a static key: the first 6 bytes of its
/// BLAKE2b-256, as `xxxx-xxxx-xxxx`.
pub fn fingerprint(public: &[u8; 32]) -> String {
    let h = blake2_256(public);
    let hex = hex::encode(h.get(..6).unwrap_or_default());
    format!(
        "{}-{}-{}",
        hex.get(0..4).unwrap_or(""),
        hex.get(4..8).unwrap_or(""),
        hex.get(8..12).unwrap_or("")
    )
}

fn params() -> snow::params::NoiseParams {
    // The constant parses; a failure would be a build bug caught by every test.
    NOISE_PARAMS
        .parse()
        .unwrap_or_else(|_| unreachable!("NOISE_PARAMS is a valid pattern"))
}

/// A handshake in progress (sans-IO).
pub struct Handshake {
    state: snow::HandshakeState,
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake").finish_non_exhaustive()
    }
}

impl Handshake {
    pub fn initiator(key: &StaticKey) -> Result<Self, NoiseError> {
        Self::build(key, true)
    }

    pub fn responder(key: &StaticKey) -> Result<Self, NoiseError> {
        Self::build(key, false)
    }

    fn build(key: &StaticKey, initiator: bool) -> Result<Self, NoiseError> {
        let b = snow::Builder::new(params())
            .prologue(PROLOGUE)
            .and_then(|b| b.local_private_key(&key.private[..]));
        let state = b
            .and_then(|b| {
                if initiator {
                    b.build_initiator()
                } else {
                    b.build_responder()
                }
            })
            .map_err(NoiseError::Handshake)?;
        Ok(Self { state })
    }

    /// Write the next handshake message as a `Handshake` packet.
    pub fn write_packet(&mut self) -> Result<Vec<u8>, NoiseError> {
        let mut out = vec![0u8; 1 + MAX_HANDSHAKE];
        let n = self
            .state
            .write_message(&[], out.get_mut(1..).unwrap_or_default())
            .map_err(NoiseError::Handshake)?;
        if let Some(t) = out.first_mut() {
            *t = PacketType::Handshake.to_u8();
        }
        out.truncate(1 + n);
        Ok(out)
    }

    /// Read a handshake message (the body of a `Handshake` packet).
    pub fn read(&mut self, msg: &[u8]) -> Result<(), NoiseError> {
        let mut payload = [0u8; MAX_HANDSHAKE];
        self.state
            .read_message(msg, &mut payload)
            .map(|_| ())
            .map_err(NoiseError::Handshake)
    }

    /// The peer's static key, once the handshake revealed it.
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        self.state
            .get_remote_static()
            .and_then(|k| k.try_into().ok())
    }

    pub fn is_finished(&self) -> bool {
        self.state.is_handshake_finished()
    }

    pub fn into_transport(self) -> Result<Transport, NoiseError> {
        Ok(Transport {
            state: self
                .state
                .into_transport_mode()
                .map_err(NoiseError::Handshake)?,
            sent: 0,
            received: 0,
            rekey_interval: REKEY_INTERVAL,
            rekeys: 0,
        })
    }
}

/// An established session (sans-IO): encrypts and decrypts messages, applying the rekey rule.
pub struct Transport {
    state: snow::TransportState,
    sent: u64,
    received: u64,
    rekey_interval: u64,
    rekeys: u64,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("sent", &self.sent)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Change the rekey interval (both sides must use the same; tests use a small one).
    pub fn set_rekey_interval(&mut self, messages: u64) {
        self.rekey_interval = messages.max(1);
    }

    /// Rekeys done so far (both directions).
    pub const fn rekeys(&self) -> u64 {
        self.rekeys
    }

    /// Encrypt `plaintext` (≤ [`MAX_MESSAGE`]) into a `Transport` packet.
    pub fn seal_packet(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if plaintext.len() > MAX_MESSAGE {
            return Err(LinkError::TooLong(plaintext.len()).into());
        }
        let mut out = vec![0u8; 1 + plaintext.len() + NOISE_TAG_LEN];
        let n = self
            .state
            .write_message(plaintext, out.get_mut(1..).unwrap_or_default())
            .map_err(NoiseError::Decrypt)?;
        if let Some(t) = out.first_mut() {
            *t = PacketType::Transport.to_u8();
        }
        out.truncate(1 + n);
        self.sent += 1;
        if self.sent.is_multiple_of(self.rekey_interval) {
            self.state.rekey_outgoing();
            self.rekeys += 1;
        }
        Ok(out)
    }

    /// Decrypt the body of a `Transport` packet.
    pub fn open(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if ciphertext.len() > MAX_PAYLOAD {
            return Err(LinkError::TooLong(ciphertext.len()).into());
        }
        let mut out = vec![0u8; ciphertext.len()];
        let n = self
            .state
            .read_message(ciphertext, &mut out)
            .map_err(NoiseError::Decrypt)?;
        out.truncate(n);
        self.received += 1;
        if self.received.is_multiple_of(self.rekey_interval) {
            self.state.rekey_incoming();
            self.rekeys += 1;
        }
        Ok(out)
    }
}

/// The host side of a Noise session over any [`Link`]: the initiator of XX.
pub struct NoiseLink<L> {
    link: L,
    transport: Transport,
    remote: [u8; 32],
    seq: u32,
}

impl<L> std::fmt::Debug for NoiseLink<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoiseLink")
            .field("remote", &fingerprint(&self.remote))
            .finish_non_exhaustive()
    }
}

impl<L: Link> NoiseLink<L> {
    /// Run the handshake as initiator. `trust` sees the node's static key as soon as the
    /// handshake reveals it; if it refuses, the session is completed only to tell the node
    /// ([`ErrorCode::NotPaired`]) and the refusal is returned.
    pub async fn connect(
        mut link: L,
        key: &StaticKey,
        trust: impl FnOnce(&[u8; 32]) -> Result<(), NoiseError>,
    ) -> Result<Self, NoiseError> {
        let mut hs = Handshake::initiator(key)?;
        link.send(&hs.write_packet()?).await?;
        // Message 2; anything else (stale bytes of an earlier session) is skipped.
        loop {
            let payload = link.recv().await?;
            let Ok(p) = Packet::parse(&payload) else {
                continue;
            };
            if p.ty == PacketType::Handshake {
                hs.read(p.body)?;
                break;
            }
        }
        let remote = hs
            .remote_static()
            .ok_or_else(|| NoiseError::Protocol("the node sent no static key".into()))?;
        let verdict = trust(&remote);
        link.send(&hs.write_packet()?).await?;
        let transport = hs.into_transport()?;
        let mut me = Self {
            link,
            transport,
            remote,
            seq: 0,
        };
        if let Err(e) = verdict {
            let _ = me
                .send(Message::Error {
                    code: ErrorCode::NotPaired,
                    seq: 0,
                    message: "the host does not trust this node's key (not the node it paired with)",
                })
                .await;
            return Err(e);
        }
        Ok(me)
    }

    /// The node's static key.
    pub const fn remote(&self) -> &[u8; 32] {
        &self.remote
    }

    pub fn transport_mut(&mut self) -> &mut Transport {
        &mut self.transport
    }

    pub fn stats(&self) -> LinkStats {
        self.link.stats()
    }

    /// Send a message; returns the `seq` it got.
    pub async fn send(&mut self, message: Message<'_>) -> Result<u32, NoiseError> {
        self.seq = self.seq.wrapping_add(1);
        let env = Envelope {
            seq: self.seq,
            message,
        };
        let mut buf = vec![0u8; MAX_MESSAGE];
        let n = env
            .encode(&mut buf)
            .map_err(|e| NoiseError::Protocol(format!("cannot encode a message: {e:?}")))?;
        let packet = self
            .transport
            .seal_packet(buf.get(..n).unwrap_or_default())?;
        self.link.send(&packet).await?;
        Ok(self.seq)
    }

    /// The plaintext of the next transport message (decode it with [`Envelope::decode`]).
    /// An [`ErrorCode::NotPaired`] error from the node becomes [`NoiseError::Refused`].
    pub async fn recv(&mut self) -> Result<Vec<u8>, NoiseError> {
        loop {
            let payload = self.link.recv().await?;
            let Ok(p) = Packet::parse(&payload) else {
                continue;
            };
            if p.ty != PacketType::Transport {
                continue;
            }
            let plain = self.transport.open(p.body)?;
            if let Ok(Envelope {
                message:
                    Message::Error {
                        code: ErrorCode::NotPaired,
                        message,
                        ..
                    },
                ..
            }) = Envelope::decode(&plain)
            {
                return Err(NoiseError::Refused(message.to_owned()));
            }
            return Ok(plain);
        }
    }
}

/// Why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(
        "cannot read or write keys in {path}: {source} (check the --data/--state directory and its permissions)"
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("corrupt key file {0}: remove it and pair again")]
    Corrupt(PathBuf),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Where a device keeps its static keypair and the keys of the peers it paired with.
///
/// Implementations MUST guarantee that a successful `set_*`/`pin` survives a crash, and that
/// `pinned` returns exactly the last key pinned for that peer.
pub trait PinStore {
    /// The own static keypair, if one was saved.
    fn static_key(&self) -> Result<Option<StaticKey>, PinError>;
    fn set_static_key(&mut self, key: &StaticKey) -> Result<(), PinError>;
    /// The key pinned for `peer` (a name or address).
    fn pinned(&self, peer: &str) -> Result<Option<[u8; 32]>, PinError>;
    fn pin(&mut self, peer: &str, key: &[u8; 32]) -> Result<(), PinError>;

    /// The own static key, created and saved on first use.
    fn load_or_create_static(&mut self) -> Result<StaticKey, NoiseError> {
        if let Some(k) = self.static_key()? {
            return Ok(k);
        }
        let k = StaticKey::generate()?;
        self.set_static_key(&k)?;
        Ok(k)
    }
}

/// [`PinStore`] in two files of a directory: `noise_static.key` (hex private and public
/// key, mode 0600)
/// and `pins.txt` (one `peer hex-key` per line). Writes go to a temporary file that is synced
/// and renamed over the old one.
#[derive(Debug, Clone)]
pub struct FilePinStore {
    dir: PathBuf,
}

impl FilePinStore {
    pub fn new(dir: &Path) -> Result<Self, PinError> {
        fs::create_dir_all(dir).map_err(|source| PinError::Io {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    fn read(&self, name: &str) -> Result<Option<String>, PinError> {
        let path = self.dir.join(name);
        match fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PinError::Io { path, source }),
        }
    }

    fn write(&self, name: &str, text: &str) -> Result<(), PinError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let io = |source| PinError::Io {
            path: path.clone(),
            source,
        };
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, &path).map_err(io)?;
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn pins(&self) -> Result<BTreeMap<String, [u8; 32]>, PinError> {
        let corrupt = || PinError::Corrupt(self.dir.join("pins.txt"));
        let mut map = BTreeMap::new();
        for line in self.read("pins.txt")?.unwrap_or_default().lines() {
            let Some((peer, key)) = line.rsplit_once(' ') else {
                continue;
            };
            let key: [u8; 32] = hex::decode(key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(corrupt)?;
            map.insert(peer.to_owned(), key);
        }
        Ok(map)
    }
}

impl PinStore for FilePinStore {
    fn static_key(&self) -> Result<Option<StaticKey>, PinError> {
        let corrupt = || PinError::Corrupt(self.dir.join("noise_static.key"));
        let Some(text) = self.read("noise_static.key")? else {
            return Ok(None);
        };
        let mut parts = text.split_whitespace();
        let mut next = || {
            parts
                .next()
                .and_then(|h| hex::decode(h).ok())
                .map(Zeroizing::new)
                .ok_or_else(corrupt)
        };
        let (private, public) = (next()?, next()?);
        StaticKey::from_parts(&private, &public)
            .map(Some)
            .ok_or_else(corrupt)
    }

    fn set_static_key(&mut self, key: &StaticKey) -> Result<(), PinError> {
        let text = Zeroizing::new(format!(
            "{} {}\n",
            hex::encode(&key.private[..]),
            hex::encode(key.public)
        ));
        self.write("noise_static.key", &text)
    }

    fn pinned(&self, peer: &str) -> Result<Option<[u8; 32]>, PinError> {
        Ok(self.pins()?.get(peer).copied())
    }

    fn pin(&mut self, peer: &str, key: &[u8; 32]) -> Result<(), PinError> {
        let mut pins = self.pins()?;
        pins.insert(peer.replace('\n', " "), *key);
        let text: String = pins
            .iter()
            .map(|(p, k)| format!("{p} {}\n", hex::encode(k)))
            .collect();
        self.write("pins.txt", &text)
    }
}

/// The `trust` check of [`NoiseLink::connect`] for a peer that must already be pinned.
pub fn require_pinned(
    pins: &dyn PinStore,
    peer: &str,
) -> Result<impl FnOnce(&[u8; 32]) -> Result<(), NoiseError> + use<>, NoiseError> {
    let pinned = pins.pinned(peer)?.ok_or_else(|| NoiseError::NotPaired {
        peer: peer.to_owned(),
    })?;
    let peer = peer.to_owned();
    Ok(move |presented: &[u8; 32]| {
        if *presented == pinned {
            Ok(())
        } else {
            Err(NoiseError::UnknownKey {
                peer,
                presented: fingerprint(presented),
                pinned: fingerprint(&pinned),
            })
        }
    })
}
