//! `toile bench link`: item throughput with Noise over a real pty pair through the real node
//! service, against baselines measured in the same process. `toile bench gen-items`: queue
//! generated signed items in a bridge's outbox (tests, demos).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use toile_host::link::StreamLink;
use toile_host::link::noise::{NoiseLink, StaticKey};
use toile_host::node::items::{dev_profile, signed_items};
use toile_host::node::run::{EmulatedNode, engine_config, now_us, serve_stream};
use toile_host::node::{FileStore, NODE_ITEMS, NodeConfig, NodeService};
use toile_host::store::{NewOutbox, OutboxState, ProfileKind, Timestamp};
use toile_host::sync::{MemSyncStore, SyncOptions, sync};
use toile_proto::item::Item;
use toile_proto::link::NOISE_TAG_LEN;

use super::sync::runtime;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Push signed items with Noise over a pty pair through the node service; print items/s,
    /// KiB/s and framing overhead against baselines run side by side.
    Link(LinkBenchArgs),
    /// Queue N generated signed items in the bridge's outbox (`--data DIR`).
    GenItems(GenArgs),
}

#[derive(clap::Args, Debug)]
pub struct LinkBenchArgs {
    /// Items to push.
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct GenArgs {
    #[command(flatten)]
    data: super::keys::DataArgs,
    /// Chain snapshot to sign for [default: the last imported].
    #[arg(long)]
    chain: Option<String>,
    #[arg(long, default_value_t = 100)]
    count: usize,
    #[arg(long, default_value_t = 2)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Link(a) => link(a),
        BenchCommand::GenItems(a) => gen_items(a),
    }
}

/// Generated transfers signed for the store's chain snapshot, queued like `toile pay` does
/// (one transaction for all).
fn gen_items(a: GenArgs) -> anyhow::Result<ExitCode> {
    let mut store = a.data.open()?;
    let profile = store.profile(a.chain.as_deref())?.with_context(
        || "no chain snapshot in the store: import one first (`toile chain import FILE.json`)",
    )?;
    let ProfileKind::V2s { chain, .. } = profile.kind else {
        anyhow::bail!(
            "snapshot {:?} is a v1 currency: generated items are v2s transfers",
            profile.name
        );
    };
    let mut queue = Vec::with_capacity(a.count);
    for (kind, bytes) in signed_items(a.seed, a.count, &chain) {
        let Ok(Item::Extrinsic(x)) = Item::parse(kind, &bytes) else {
            anyhow::bail!("the generator made an item that does not parse (a bug)");
        };
        let (account, nonce) = (*x.signer(), x.nonce());
        queue.push(NewOutbox {
            kind,
            bytes,
            chain: profile.name.clone(),
            account,
            nonce: Some(nonce),
            what: "generated".into(),
            intent: serde_json::json!({ "seed": a.seed }),
            spends: Vec::new(),
        });
    }
    let new = store.queue_signed(&queue, Timestamp::now())?;
    let queued = store
        .outbox_counts()?
        .into_iter()
        .find(|(s, _)| *s == OutboxState::Queued)
        .map_or(0, |(_, n)| n);
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "queued": new, "outbox": queued, "chain": profile.name })
        );
    } else {
        println!(
            "queued {new} items signed for {:?}; {queued} items wait in the outbox",
            profile.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The 115 200-baud serial link of a Meshtastic-style USB console: 10 bits per byte.
const SERIAL_MODEL_BAUD: f64 = 115_200.0;

fn link(a: LinkBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        a.items <= NODE_ITEMS,
        "at most {NODE_ITEMS} items (the emulated node's store)"
    );
    let items = signed_items(a.seed, a.items, &dev_profile());
    let item_bytes: usize = items.iter().map(|(_, b)| b.len()).sum();

    // Baseline 1: the same items submitted to the same engine in-process: no link, no Noise.
    let host_key = StaticKey::generate()?;
    let node_key = StaticKey::generate()?;
    let config = || NodeConfig {
        engine: engine_config(1, dev_profile()),
        static_key: node_key.clone(),
        pinned_host: Some(host_key.public),
        pairing: false,
        name: "bench".into(),
        rekey_interval: toile_host::link::noise::REKEY_INTERVAL,
    };
    let mut direct: EmulatedNode =
        NodeService::new(config(), FileStore::in_memory(NODE_ITEMS), now_us());
    let t = Instant::now();
    let now = now_us();
    for (k, b) in &items {
        direct
            .submit(now, *k, b)
            .map_err(|e| anyhow::anyhow!("baseline submit: {e}"))?;
    }
    let direct_s = t.elapsed().as_secs_f64();
    drop(direct);

    // The measured run: Noise over a real pty pair through the node service.
    let mut node: EmulatedNode =
        NodeService::new(config(), FileStore::in_memory(NODE_ITEMS), now_us());
    let mut bridge = MemSyncStore::default();
    for (k, b) in &items {
        bridge.enqueue(*k, b.clone());
    }
    let rt = runtime()?;
    let (mut master, slave) = {
        // The pty registers with the runtime's reactor.
        let _in_runtime = rt.enter();
        tokio_serial::SerialStream::pair().context("opening a pty pair")?
    };
    let (summary, stats, secs) = rt.block_on(async {
        let host = async {
            let link = StreamLink::new(slave);
            let mut s = NoiseLink::connect(link, &host_key, |_| Ok(())).await?;
            let before = s.stats();
            let t = Instant::now();
            let summary = sync(&mut s, &mut bridge, SyncOptions::default(), &mut |_| {}).await?;
            let secs = t.elapsed().as_secs_f64();
            let after = s.stats();
            let stats = toile_host::link::LinkStats {
                frames_tx: after.frames_tx - before.frames_tx,
                payload_tx: after.payload_tx - before.payload_tx,
                wire_tx: after.wire_tx - before.wire_tx,
                ..after
            };
            anyhow::Ok((summary, stats, secs))
        };
        let mut quiet = |n: &mut EmulatedNode| {
            while n.poll_event().is_some() {}
            Ok(())
        };
        let serve = serve_stream(&mut node, &mut master, &mut quiet);
        tokio::select! {
            r = host => r,
            r = serve => Err(anyhow::anyhow!("the node stopped: {r:?}")),
        }
    })?;
    anyhow::ensure!(
        summary.outcomes.get("stored") == Some(&a.items),
        "not every item was stored: {:?}",
        summary.outcomes
    );
    let items_s = a.items as f64 / secs;
    let kib_s = item_bytes as f64 / 1024.0 / secs;
    let message_bytes = stats.payload_tx - stats.frames_tx * (1 + NOISE_TAG_LEN as u64);
    let framing_pct = 100.0 * (stats.wire_tx - message_bytes) as f64 / message_bytes as f64;
    let total_pct = 100.0 * (stats.wire_tx as f64 - item_bytes as f64) / item_bytes as f64;
    let direct_items_s = a.items as f64 / direct_s;
    let serial_s = stats.wire_tx as f64 * 10.0 / SERIAL_MODEL_BAUD;
    let serial_items_s = a.items as f64 / serial_s;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "items": a.items,
                "item_bytes": item_bytes,
                "seconds": secs,
                "items_per_s": items_s,
                "kib_per_s": kib_s,
                "wire_bytes_host_to_node": stats.wire_tx,
                "framing_overhead_pct": framing_pct,
                "total_overhead_pct": total_pct,
                "baseline_engine_only_items_per_s": direct_items_s,
                "ratio_to_engine_only": items_s / direct_items_s,
                "baseline_serial_115200_items_per_s": serial_items_s,
                "ratio_to_serial_115200": items_s / serial_items_s,
                "goal_met": items_s >= 2_500.0 && kib_s >= 400.0 && framing_pct <= 2.0,
            })
        );
    } else {
        println!(
            "{} items ({} KiB) pushed with Noise over a pty through the node service in {:.3} s",
            a.items,
            item_bytes / 1024,
            secs
        );
        println!(
            "  {items_s:.0} items/s, {kib_s:.0} KiB/s (goal >= 2500 items/s and >= 400 KiB/s)"
        );
        println!(
            "  framing overhead (COBS, CRC, packet type, Noise tag): {framing_pct:.2} % of message bytes (goal <= 2 %); all protocol bytes over item bytes: {total_pct:.2} %"
        );
        println!(
            "  baseline engine only (verify + store, no link, same process): {direct_items_s:.0} items/s -> ratio {:.2}",
            items_s / direct_items_s
        );
        println!(
            "  baseline 115200-baud serial model (Meshtastic-style console) with these wire bytes: {serial_items_s:.0} items/s -> ratio {:.1}x",
            items_s / serial_items_s
        );
    }
    Ok(ExitCode::SUCCESS)
}
