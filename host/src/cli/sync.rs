//! `toile sync`: reconcile the bridge's store with a node (push the outbox, pull the rest).
//! Also the link options and data directory shared with `toile pair`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use toile_host::link::noise::{FilePinStore, NoiseLink, PinStore, require_pinned};
use toile_host::link::{AnyLink, Target, with_timeout};
use toile_host::sync::{FileSyncStore, Progress, SyncOptions, sync};

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

/// The bridge's data directory and the name of the paired node.
#[derive(clap::Args, Debug)]
pub struct DataArgs {
    /// Where the bridge keeps its keys and store [default: $XDG_DATA_HOME/toile].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Name under which the node's key is pinned (one bridge may pair with several nodes).
    #[arg(long, default_value = "node")]
    pub peer: String,
    /// Seconds to wait for the node's answers.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

impl DataArgs {
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        if let Some(d) = &self.data {
            return Ok(d.clone());
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
            return Ok(PathBuf::from(x).join("toile"));
        }
        let home =
            std::env::var_os("HOME").context("neither --data, $XDG_DATA_HOME nor $HOME is set")?;
        Ok(PathBuf::from(home).join(".local/share/toile"))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    #[command(flatten)]
    link: LinkArgs,
    #[command(flatten)]
    data: DataArgs,
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
    let dir = args.data.dir()?;
    let target = args.link.target()?;
    let pins = FilePinStore::new(&dir)?;
    let mut keys = pins.clone();
    let key = keys.load_or_create_static()?;
    let trust = require_pinned(&pins, &args.data.peer)?;
    let mut store = FileSyncStore::open(&dir)?;
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
    if args.json {
        let mut v = serde_json::to_value(&summary)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("bridge_item_records".into(), store.item_records.into());
            o.insert("outbox".into(), store.outbox_len().into());
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
        if store.outbox_len() > 0 {
            println!(
                "{} items stay in the outbox (refused or not delivered)",
                store.outbox_len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
