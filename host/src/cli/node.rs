//! `toile node --emulate`: a node on this machine, behind a pty or a TCP port.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use toile_host::node::NodeStore as _;
use toile_host::node::items::signed_items;
use toile_host::node::run::{NodeChain, drain_events, node_chain, now_us, open_node, serve_stream};
use toile_proto::engine::Store as _;

use super::sync::runtime;

#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// Run the relay engine on this host (the only mode until boards ship).
    #[arg(long, required = true)]
    emulate: bool,
    /// Serve the link on a new pty and print its path (for `toile sync --port PATH`).
    #[arg(long, conflicts_with = "tcp", required_unless_present = "tcp")]
    pty: bool,
    /// Serve the link on a TCP address, e.g. 127.0.0.1:7000.
    #[arg(long)]
    tcp: Option<String>,
    /// Verify items for this chain: a `toile chain import` snapshot file (v2s), remembered in
    /// --state for later starts [default: the one remembered, else a development chain].
    #[arg(long, value_name = "SNAPSHOT.json")]
    chain: Option<PathBuf>,
    /// Directory of the node's state: static key, paired host, chain profile, items.
    #[arg(long)]
    state: PathBuf,
    /// Pairing mode: pin the next host that connects (also the case when none is paired).
    #[arg(long)]
    pair: bool,
    /// At first start, fill the store with this many generated signed items (tests, demos).
    #[arg(long, default_value_t = 0)]
    preload: usize,
    /// Seed of the generated items.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Node name (shown in `toile status`).
    #[arg(long, default_value = "emulated")]
    name: String,
    /// Print the start-up information as one JSON line.
    #[arg(long)]
    json: bool,
}

pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.state)
        .with_context(|| format!("creating {}", args.state.display()))?;
    let chain = node_chain(&args.state, args.chain.as_deref())?;
    let mut node = open_node(&args.state, args.pair, &args.name, &chain)?;
    if args.preload > 0 && node.engine().store().is_empty() {
        let now = now_us();
        for (kind, bytes) in signed_items(args.seed, args.preload, &chain.profile) {
            node.submit(now, kind, &bytes)
                .map_err(|e| anyhow::anyhow!("preloading: {e}"))?;
        }
        node.engine()
            .store()
            .commit()
            .context("saving preloaded items")?;
    }
    let rt = runtime()?;
    rt.block_on(async {
        let items = node.engine().store().len();
        if let Some(addr) = &args.tcp {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (in use?)"))?;
            let local = listener.local_addr()?;
            announce(
                &args,
                &chain,
                &node.fingerprint(),
                "tcp",
                &local.to_string(),
                items,
            );
            loop {
                let (mut sock, _) = listener.accept().await?;
                sock.set_nodelay(true)?;
                let r =
                    serve_stream(&mut node, &mut sock, &mut |n| drain_events(n, &args.state)).await;
                node.handle_disconnect();
                drain_events(&mut node, &args.state)?;
                if let Err(e) = r {
                    println!("connection ended: {e}");
                }
            }
        } else {
            let (mut master, mut slave) =
                tokio_serial::SerialStream::pair().context("opening a pty pair")?;
            // Let the host open the slave while we keep it open too (it keeps the pty alive
            // between host sessions).
            slave
                .set_exclusive(false)
                .context("pty: clearing exclusive mode")?;
            let path = tokio_serial::SerialPort::name(&slave).unwrap_or_default();
            announce(&args, &chain, &node.fingerprint(), "pty", &path, items);
            serve_stream(&mut node, &mut master, &mut |n| {
                drain_events(n, &args.state)
            })
            .await?;
            drop(slave);
            anyhow::Ok(())
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn announce(args: &NodeArgs, chain: &NodeChain, fp: &str, kind: &str, at: &str, items: usize) {
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                kind: at, "fingerprint": fp, "items": items, "chain": chain.name,
                "genesis_hash": hex::encode(chain.profile.genesis_hash),
            })
        );
    } else {
        println!("emulated node {:?}: fingerprint {fp}", args.name);
        println!("verifying items for chain {}", chain.describe());
        println!("{kind}: {at}");
        println!("{items} items in store; waiting for a host (Ctrl-C to stop)");
    }
}
