//! `toile chain`: import and list chain snapshots (what offline pay and certify sign for).

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use toile_host::store::{ProfileKind, ProfileRow, Store, Timestamp};

use super::keys::DataArgs;

#[derive(clap::Args)]
pub struct ChainArgs {
    #[command(subcommand)]
    command: ChainCommand,
    #[command(flatten)]
    data: DataArgs,
    /// Print one JSON object.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum ChainCommand {
    /// Import a chain snapshot JSON file (profile, nonces, identities, v1 sources); the
    /// format is documented in ARCHITECTURE.md and `toile_host::chain`.
    Import { file: PathBuf },
    /// List the imported snapshots.
    List,
}

pub fn run(a: ChainArgs) -> anyhow::Result<ExitCode> {
    let mut store = a.data.open()?;
    match a.command {
        ChainCommand::Import { file } => {
            let rows = toile_host::chain::import(&mut store, &file, Timestamp::now())?;
            let v = describe(&store, &rows.profile)?;
            if a.json {
                println!("{v}");
            } else {
                println!("imported {}", line(&v));
            }
        }
        ChainCommand::List => {
            let all = store
                .profiles()?
                .iter()
                .map(|p| describe(&store, p))
                .collect::<Result<Vec<_>, _>>()?;
            if a.json {
                println!("{}", json!({ "snapshots": all }));
            } else if all.is_empty() {
                println!("no chain snapshot: run `toile chain import FILE.json`");
            } else {
                for v in &all {
                    println!("{}", line(v));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(store: &Store, p: &ProfileRow) -> anyhow::Result<serde_json::Value> {
    let counts = store.snapshot_counts(&p.name)?;
    let mut v = json!({
        "name": p.name,
        "taken_at": p.taken_at,
        "imported_at_ms": p.imported_at.0,
        "counts": counts,
    });
    match &p.kind {
        ProfileKind::V2s { chain, ss58_prefix } => {
            v["kind"] = "v2s".into();
            v["genesis_hash"] = format!("0x{}", hex::encode(chain.genesis_hash)).into();
            v["spec_version"] = chain.spec_version.into();
            v["tx_version"] = chain.tx_version.into();
            v["ss58_prefix"] = (*ss58_prefix).into();
        }
        ProfileKind::V1 {
            currency,
            blockstamp,
        } => {
            v["kind"] = "v1".into();
            v["currency"] = currency.as_str().into();
            v["blockstamp"] = blockstamp.as_str().into();
        }
    }
    Ok(v)
}

fn line(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_owned();
    let n = |k: &str| v["counts"][k].as_u64().unwrap_or(0);
    match s("kind").as_str() {
        "v2s" => format!(
            "{} (v2s, spec {} tx {}, genesis {}): {} accounts, {} identities",
            s("name"),
            v["spec_version"],
            v["tx_version"],
            s("genesis_hash"),
            n("accounts"),
            n("identities")
        ),
        _ => format!(
            "{} (v1 currency {}, block {}): {} identities, {} unspent sources ({} spent here)",
            s("name"),
            s("currency"),
            s("blockstamp"),
            n("identities"),
            n("unspent_sources"),
            n("spent_sources")
        ),
    }
}
