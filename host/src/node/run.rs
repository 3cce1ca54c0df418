//! `toile node --emulate`: the tokio driver of a [`NodeService`] over a pty or TCP.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use toile_proto::engine::{self, DEFAULT_HOP_LIMIT, DEFAULT_ITEM_TTL_US, DutyRule};
use toile_proto::item::v2s::ChainProfile;
use toile_proto::radio::NodeAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{FileStore, NODE_ITEMS, NodeConfig, NodeEvent, NodeService, NodeStore, items};
use crate::link::noise::{FilePinStore, NoiseError, PinStore, REKEY_INTERVAL, fingerprint};
use crate::store::ProfileKind;

/// The emulated node: the engine tracks as many items as the store holds.
pub type EmulatedNode = NodeService<FileStore, NODE_ITEMS>;

/// Pin-store name of the paired host on a node.
pub const HOST_PEER: &str = "host";

/// Why the emulated node stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Noise(#[from] NoiseError),
    #[error("node state in {path}: {source} (check --state DIR)")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open a pty: {0}")]
    Pty(tokio_serial::Error),
    #[error("cannot listen on {addr}: {source} (is the port in use?)")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("link: {0}")]
    Io(#[from] std::io::Error),
    #[error("chain snapshot: {0}")]
    Chain(#[from] crate::chain::ChainError),
    #[error(
        "{0} is a v1 currency snapshot: the emulated node verifies v2s extrinsics, pass a v2s snapshot"
    )]
    V1Chain(String),
    #[error("{0} is corrupt: start the node once with --chain SNAPSHOT.json to rewrite it")]
    CorruptChain(PathBuf),
}

/// Microseconds since the Unix epoch: the engine's `now` (persisted expiries survive restarts;
/// the engine counts its timers from its own start, so any epoch works).
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The engine configuration of an emulated node (a LongFast EU868 node at 10 % duty)
/// verifying items for `profile`.
pub fn engine_config(addr: u16, profile: ChainProfile) -> engine::Config {
    engine::Config {
        addr: NodeAddr(addr),
        bridge: false,
        profile,
        modulation: crate::sim::phy::Preset::LongFast.modulation(),
        duty: DutyRule::PerHour {
            budget_us: 360_000_000,
        },
        seed: u64::from(addr),
        hop_limit: DEFAULT_HOP_LIMIT,
        item_ttl_us: DEFAULT_ITEM_TTL_US,
    }
}

/// The chain a node verifies items against, and the name it is shown under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeChain {
    pub name: String,
    pub profile: ChainProfile,
}

impl NodeChain {
    /// The development profile, used when no snapshot was ever given.
    pub fn dev() -> Self {
        Self {
            name: "dev".into(),
            profile: items::dev_profile(),
        }
    }

    /// One line for the console.
    pub fn describe(&self) -> String {
        format!(
            "{} (genesis 0x{}…, spec {}, tx {})",
            self.name,
            hex::encode(self.profile.genesis_hash.get(..8).unwrap_or_default()),
            self.profile.spec_version,
            self.profile.tx_version
        )
    }
}

/// File of the node's chain profile inside its state directory.
pub const CHAIN_FILE: &str = "chain.json";

/// The node's chain: from `snapshot` (a `toile chain import` file, v2s), which is then saved
/// in `state` for later starts; else the one saved in `state`; else [`NodeChain::dev`].
pub fn node_chain(state: &Path, snapshot: Option<&Path>) -> Result<NodeChain, NodeError> {
    let path = state.join(CHAIN_FILE);
    let io = |source| NodeError::State {
        path: path.clone(),
        source,
    };
    if let Some(snap) = snapshot {
        let rows = crate::chain::read(snap, crate::store::Timestamp::now())?;
        let ProfileKind::V2s { chain, .. } = rows.profile.kind else {
            return Err(NodeError::V1Chain(snap.display().to_string()));
        };
        let c = NodeChain {
            name: rows.profile.name,
            profile: chain,
        };
        let json = serde_json::json!({
            "name": c.name,
            "genesis_hash": hex::encode(c.profile.genesis_hash),
            "spec_version": c.profile.spec_version,
            "tx_version": c.profile.tx_version,
        });
        // Written whole then renamed: a crash leaves the old profile or the new one.
        let tmp = state.join(".chain.json.tmp");
        std::fs::write(&tmp, json.to_string()).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        return Ok(c);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(NodeChain::dev()),
        Err(e) => return Err(io(e)),
    };
    let corrupt = || NodeError::CorruptChain(path.clone());
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| corrupt())?;
    let num = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let genesis_hash = v
        .get("genesis_hash")
        .and_then(serde_json::Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok());
    match (
        v.get("name").and_then(serde_json::Value::as_str),
        genesis_hash,
        num("spec_version"),
        num("tx_version"),
    ) {
        (Some(name), Some(genesis_hash), Some(spec_version), Some(tx_version)) => Ok(NodeChain {
            name: name.to_owned(),
            profile: ChainProfile {
                genesis_hash,
                spec_version,
                tx_version,
            },
        }),
        _ => Err(corrupt()),
    }
}

/// Open the node's state: static key, pinned host and item log under `dir`; items are
/// verified for `chain`.
pub fn open_node(
    dir: &Path,
    pairing: bool,
    name: &str,
    chain: &NodeChain,
) -> Result<EmulatedNode, NodeError> {
    let mut pins = FilePinStore::new(dir).map_err(NoiseError::from)?;
    let static_key = pins.load_or_create_static()?;
    let pinned_host = pins.pinned(HOST_PEER).map_err(NoiseError::from)?;
    let path = dir.join("items.log");
    let store = FileStore::open(&path, NODE_ITEMS).map_err(|source| NodeError::State {
        path: path.clone(),
        source,
    })?;
    let config = NodeConfig {
        engine: engine_config(1, chain.profile),
        static_key,
        pinned_host,
        pairing,
        name: name.to_owned(),
        rekey_interval: REKEY_INTERVAL,
    };
    Ok(NodeService::new(config, store, now_us()))
}

/// Print console events; persist a new pairing.
pub fn drain_events(node: &mut EmulatedNode, state: &Path) -> Result<(), NodeError> {
    while let Some(ev) = node.poll_event() {
        match ev {
            NodeEvent::Paired { host_key } => {
                FilePinStore::new(state)
                    .and_then(|mut p| p.pin(HOST_PEER, &host_key))
                    .map_err(NoiseError::from)?;
                println!(
                    "paired with host {} (compare with the bridge)",
                    fingerprint(&host_key)
                );
            }
            NodeEvent::Session { host } => println!("session with host {host}"),
            NodeEvent::Refused { host } => {
                println!("refused host {host}: not the paired host (it was told)")
            }
            NodeEvent::RefusedByHost { message } => {
                println!("the host refused this node: {message}")
            }
            NodeEvent::Dropped { reason } => println!("dropped: {reason}"),
            NodeEvent::Stored { stored, refused } => {
                println!("push: {stored} stored, {refused} refused")
            }
            NodeEvent::StoreError { message } => println!("store error: {message}"),
        }
    }
    Ok(())
}

/// Serve one byte stream until it ends (EOF or error); `on_events` drains the console
/// events after every input ([`drain_events`] for the CLI).
pub async fn serve_stream<S: NodeStore, const N: usize, T: AsyncRead + AsyncWrite + Unpin>(
    node: &mut NodeService<S, N>,
    stream: &mut T,
    on_events: &mut dyn FnMut(&mut NodeService<S, N>) -> Result<(), NodeError>,
) -> Result<(), NodeError> {
    let mut buf = vec![0u8; 16_384];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(5) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        node.handle_bytes(now_us(), buf.get(..n).unwrap_or_default());
        while let Some(out) = node.poll_transmit() {
            stream.write_all(&out).await?;
        }
        stream.flush().await?;
        on_events(node)?;
    }
}
