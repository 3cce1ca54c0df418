//! `toile pair`: pin a node's static key (and let the node pin this bridge's).

use std::process::ExitCode;

use toile_host::link::noise::{NoiseLink, PinStore, fingerprint};
use toile_host::link::{AnyLink, with_timeout};
use toile_host::sync::host_hello;

use super::sync::{LinkArgs, PeerArgs, runtime};

#[derive(clap::Args)]
pub struct PairArgs {
    #[command(flatten)]
    link: LinkArgs,
    #[command(flatten)]
    data: PeerArgs,
    /// Replace a different node key already pinned under this peer name (a reflashed or
    /// replaced node). Without it, pairing refuses to overwrite a pin.
    #[arg(long)]
    replace: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: PairArgs) -> anyhow::Result<ExitCode> {
    let target = args.link.target()?;
    let mut pins = args.data.store.open()?;
    let key = pins.load_or_create_static()?;
    let timeout = args.data.timeout();
    let node_key = runtime()?.block_on(async {
        let link = with_timeout(timeout, AnyLink::open(&target)).await?;
        // Pairing trusts whatever key the node presents: the user compares fingerprints.
        let mut s = with_timeout(timeout, NoiseLink::connect(link, &key, |_| Ok(()))).await?;
        s.send(host_hello()).await?;
        // The node answers Hello only if it accepted (pinned) this host.
        with_timeout(timeout, s.recv()).await?;
        anyhow::Ok(*s.remote())
    })?;
    if let Some(old) = pins.pinned(&args.data.peer)?
        && old != node_key
        && !args.replace
    {
        anyhow::bail!(
            "a different node key is already pinned as {:?} ({}), but this node presents {}; \
             nothing was changed. If you reflashed or replaced the node, compare the fingerprint \
             with its console and run `toile pair --replace`; otherwise do not trust this device",
            args.data.peer,
            fingerprint(&old),
            fingerprint(&node_key)
        );
    }
    pins.pin(&args.data.peer, &node_key)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "peer": args.data.peer,
                "node_fingerprint": fingerprint(&node_key),
                "node_key": hex::encode(node_key),
                "host_fingerprint": key.fingerprint(),
            })
        );
    } else {
        println!(
            "paired with node {} as {:?}: check that the node's console shows the same fingerprint",
            fingerprint(&node_key),
            args.data.peer
        );
        println!("this bridge: {}", key.fingerprint());
    }
    Ok(ExitCode::SUCCESS)
}
