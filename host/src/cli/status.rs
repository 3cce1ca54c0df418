//! `toile status`: what the bridge holds and what became of what it sent (offline part:
//! the store, the outbox, the last sync and the node status that sync recorded).

use std::process::ExitCode;

use serde_json::json;
use toile_host::store::Timestamp;
use toile_proto::link::Status;

use super::keys::DataArgs;

#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    data: DataArgs,
    /// List every outbox entry, not only the last 20.
    #[arg(long)]
    all: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

const RECENT: usize = 20;

pub fn run(a: StatusArgs) -> anyhow::Result<ExitCode> {
    let store = a.data.open()?;
    let usage = store.usage()?;
    let counts = store.outbox_counts()?;
    let mut outbox = store.outbox(None)?;
    if !a.all && outbox.len() > RECENT {
        outbox.drain(..outbox.len() - RECENT);
    }
    let last_sync = store.last_sync()?;
    if a.json {
        let counts: serde_json::Map<_, _> = counts
            .iter()
            .map(|(s, n)| (s.as_str().to_owned(), json!(n)))
            .collect();
        let v = json!({
            "store": { "path": store.path().display().to_string(), "usage": usage },
            "outbox": { "counts": counts, "entries": outbox },
            "last_sync": last_sync,
        });
        println!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("store     {}", store.path().display());
    println!(
        "          {} B on disk, {} items ({} B), {} pinned peers, {} chain snapshots, schema v{}",
        usage.file_bytes,
        usage.items,
        usage.item_bytes,
        usage.pinned_peers,
        usage.chain_profiles,
        usage.schema_version
    );
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    println!("outbox    {}", counts.join(", "));
    for e in &outbox {
        let field = |k: &str| e.intent.get(k).and_then(|v| v.as_str()).unwrap_or("");
        let what = match e.what.as_str() {
            "pay" => format!("pay {} Ğ1 to {}", field("amount"), field("to")),
            "certify" => format!("certify {}", field("identity")),
            other => other.to_owned(),
        };
        println!(
            "  #{:<4} {:<9} {} {}{}",
            e.seq,
            e.state.as_str(),
            &hex::encode(e.item_id.0)[..16],
            what,
            e.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    match &last_sync {
        None => println!("last sync never (run `toile sync` with a paired node)"),
        Some(s) => {
            let ago = (Timestamp::now().0 - s.at.0).max(0) / 1_000;
            println!(
                "last sync {ago} s ago with {}: pushed {}, pulled {}, already had {}{}",
                s.peer,
                s.pushed,
                s.pulled,
                s.already,
                if s.complete { "" } else { " (interrupted)" }
            );
            match s
                .node_status
                .clone()
                .and_then(|v| serde_json::from_value::<Status>(v).ok())
            {
                Some(n) => {
                    println!(
                        "node      {} items, store {}/{} B, airtime {}/{} ms per {} s window, {} neighbours, up {} s",
                        n.store_items,
                        n.store_used_bytes,
                        n.store_capacity_bytes,
                        n.airtime_used_ms,
                        n.airtime_budget_ms,
                        n.duty_window_s,
                        n.neighbours,
                        n.uptime_s
                    );
                }
                None => println!("node      no status reported"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
