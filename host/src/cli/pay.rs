//! `toile pay` and `toile certify`: sign an item offline from the chain snapshot and queue it
//! in the outbox for the next sync.

use std::process::ExitCode;

use toile_host::store::Timestamp;
use toile_host::wallet::Amount;
use toile_host::wallet::offline::{self, Made};

use super::keys::{DataArgs, KeyArgs};

#[derive(clap::Args)]
pub struct PayArgs {
    /// Destination: a Ğ1 address (`g1…`, SS58 with the snapshot's prefix) or a v1 base58 key.
    #[arg(long)]
    to: String,
    /// Amount in Ğ1 with at most two decimals, e.g. 12.50.
    #[arg(long, allow_hyphen_values = true)]
    amount: Amount,
    /// Comment (v1 transactions only).
    #[arg(long)]
    comment: Option<String>,
    #[command(flatten)]
    target: ChainArgs,
}

#[derive(clap::Args)]
pub struct CertifyArgs {
    /// The identity to certify: its name (v2s) / uid (v1), or its address or key.
    target: String,
    #[command(flatten)]
    common: ChainArgs,
}

/// Options shared by `pay` and `certify`.
#[derive(clap::Args)]
pub struct ChainArgs {
    /// Chain snapshot to sign for (`toile chain list`); default: the last imported.
    #[arg(long, visible_alias = "currency", value_name = "NAME")]
    chain: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
    #[command(flatten)]
    data: DataArgs,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run_pay(a: PayArgs) -> anyhow::Result<ExitCode> {
    let c = &a.target;
    let mut store = c.data.open()?;
    let key = c.key.load()?;
    let made = offline::pay(
        &mut store,
        &key,
        c.chain.as_deref(),
        &a.to,
        a.amount,
        a.comment.as_deref(),
        Timestamp::now(),
    )?;
    print(&made, c.json)
}

pub fn run_certify(a: CertifyArgs) -> anyhow::Result<ExitCode> {
    let c = &a.common;
    let mut store = c.data.open()?;
    let key = c.key.load()?;
    let made = offline::certify(
        &mut store,
        &key,
        c.chain.as_deref(),
        &a.target,
        Timestamp::now(),
    )?;
    print(&made, c.json)
}

fn print(m: &Made, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(m)?);
        return Ok(ExitCode::SUCCESS);
    }
    let field = |k: &str| m.intent.get(k).and_then(|v| v.as_str()).unwrap_or("");
    match m.what {
        "pay" => println!("queued   pay {} Ğ1 to {}", field("amount"), field("to")),
        _ => println!(
            "queued   certification of {} ({})",
            field("identity"),
            field("to")
        ),
    }
    println!("from     {}", m.from);
    match m.nonce {
        Some(n) => println!("chain    {} (v2s), nonce {n}", m.chain),
        None => println!("chain    {} (v1)", m.chain),
    }
    if let Some(n) = m.intent.get("inputs") {
        println!("sources  {n} spent, change {} Ğ1", field("change"));
    }
    println!(
        "item     {} ({}, {} B)",
        hex::encode(m.item_id.0),
        m.item_kind,
        m.item_bytes
    );
    println!(
        "outbox   #{}: pushed to a node at the next `toile sync`",
        m.outbox_seq
    );
    Ok(ExitCode::SUCCESS)
}
