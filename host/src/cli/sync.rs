//! `toile sync`: reconcile the bridge's store with a node (push the outbox, pull the rest).
//! Also the link options and data options shared with `toile pair`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use toile_host::link::noise::{NoiseLink, PinStore, require_pinned};
use toile_host::link::{AnyLink, Target, with_timeout};
use toile_host::sync::{PeerSync, Progress, SyncOptions, refusal, sync};
use toile_proto::link::ItemOutcome;

/// Which node to talk to, and where the bridge keeps its keys and items.
#[derive(clap::Args, Debug)]
#[group(id = "target", required = true, multiple = false)]
pub struct LinkArgs {
    /// Serial port of a node, or the pty an emulated node printed (e.g. /dev/pts/7).
    #[arg(long, group = "target")]
    pub port: Option<PathBuf>,
    /// HOST:PORT of `toile node --emulate --tcp`.
    #[arg(long, group = "target")]
    pub tcp: Option<String>,
    /// BLE name of a node (needs a build with `--features ble`).
    #[arg(long, group = "target")]
    pub ble: Option<String>,
}

impl LinkArgs {
    pub fn target(&self) -> anyhow::Result<Target> {
        if let Some(p) = &self.port {
            return Ok(Target::Serial(p.clone()));
        }
        if let Some(a) = &self.tcp {
            return Ok(Target::Tcp(a.clone()));
        }
        if let Some(n) = &self.ble {
            return Ok(Target::Ble(n.clone()));
        }
        anyhow::bail!("say which node: --port PATH, --tcp HOST:PORT or --ble NAME")
    }
}

/// The bridge's store and the name of the paired node.
#[derive(clap::Args)]
pub struct PeerArgs {
    #[command(flatten)]
    pub store: super::keys::DataArgs,
    /// Name under which the node's key is pinned (one bridge may pair with several nodes).
    #[arg(long, default_value = "node")]
    pub peer: String,
    /// Seconds to wait for the node's answers.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

impl PeerArgs {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    link: LinkArgs,
    #[command(flatten)]
    data: PeerArgs,
    /// Print one JSON object (the summary) instead of a progress bar and text.
    #[arg(long)]
    json: bool,
}

/// A runtime for one command (the link is one connection; one thread is plenty).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let target = args.link.target()?;
    let mut db = args.data.store.open()?;
    let key = db.load_or_create_static()?;
    let trust = require_pinned(&db, &args.data.peer)?;
    let mut store = PeerSync {
        store: &mut db,
        peer: &args.data.peer,
    };
    let timeout = args.data.timeout();
    let bar = ProgressBar::new(0);
    if args.json {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg:8} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = runtime()?.block_on(async {
        let link = with_timeout(timeout, AnyLink::open(&target)).await?;
        let mut session = with_timeout(timeout, NoiseLink::connect(link, &key, trust)).await?;
        let mut on_progress = |p: Progress| {
            let (msg, done, total) = match p {
                Progress::Pushing { done, total } => ("push", done, total),
                Progress::Listing { done, total } => ("list", done, total),
                Progress::Pulling { done, total } => ("pull", done, total),
            };
            bar.set_message(msg);
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        // Each answer must come within the timeout; the whole sync may take longer.
        let sync = sync(
            &mut session,
            &mut store,
            SyncOptions::default(),
            &mut on_progress,
        );
        anyhow::Ok(sync.await?)
    });
    bar.finish_and_clear();
    let summary = summary.with_context(|| format!("sync with {target} stopped (everything received so far is saved; run `toile sync` again to resume)"))?;
    let counts: serde_json::Map<String, serde_json::Value> = db
        .outbox_counts()?
        .iter()
        .map(|(s, n)| (s.as_str().to_owned(), (*n).into()))
        .collect();
    let queued = counts.get("queued").and_then(|v| v.as_u64()).unwrap_or(0);
    if args.json {
        let mut v = serde_json::to_value(&summary)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("outbox".into(), counts.into());
        }
        println!("{v}");
    } else {
        println!(
            "pushed {} ({}), pulled {} new of {} missing",
            summary.pushed,
            summary
                .outcomes
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
            summary.pulled,
            summary.missing
        );
        for o in REFUSALS {
            if let (Some(n), Some(why)) = (summary.outcomes.get(o.as_str()), refusal(o)) {
                println!("{n} items refused by the node, {why}");
            }
        }
        println!(
            "node holds {} items, bridge {} ({}); {} link bytes in {} ms",
            summary.node_items,
            summary.bridge_items,
            if summary.node_digest == summary.bridge_digest {
                "same set"
            } else {
                "sets differ: the bridge holds items the node does not"
            },
            summary.wire_bytes,
            summary.elapsed_ms
        );
        if queued > 0 {
            println!(
                "{queued} items stay queued for the next sync (the node was full or over quota)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Outcomes that refuse an item for good (see [`refusal`]).
const REFUSALS: [ItemOutcome; 4] = [
    ItemOutcome::BadSignature,
    ItemOutcome::Malformed,
    ItemOutcome::TooLarge,
    ItemOutcome::NotMember,
];
