//! `toile`: the host side of Toile — field tool and (later) bridge daemon.
//!
//! Subcommands live in `cli/`, one file each; they parse arguments, call into the library
//! crates and print. Every command that prints data takes `--json`.

mod cli;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "toile",
    version,
    about = "Offline-first LoRa mesh for Ğ1: field tool and bridge"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a radio frame, an item or a host-link capture (hex or file) and print it readably.
    Decode(cli::decode::DecodeArgs),
    /// Show the v1 public key and Ğ1 v2 address of credentials, a mnemonic or a keystore.
    Id(cli::id::IdArgs),
    /// Walk through the protocol offline: sign items, frame them for the radio, decode and
    /// verify them again. Needs no hardware and no network.
    Demo(cli::demo::DemoArgs),
    /// Run the deterministic LoRa mesh simulator (Meshtastic-style flooding baseline).
    Sim(cli::sim::SimArgs),
    /// Sign a payment offline (from the chain snapshot) and queue it for the next sync.
    Pay(cli::pay::PayArgs),
    /// Sign a certification offline (from the chain snapshot) and queue it for the next sync.
    Certify(cli::pay::CertifyArgs),
    /// Import and list chain snapshots: what offline pay and certify sign for.
    Chain(cli::chain::ChainArgs),
    /// The bridge's store, outbox outcomes and last sync.
    Status(cli::status::StatusArgs),
    /// Run a node: `--emulate` runs the relay engine on this host behind a pty or TCP port.
    Node(cli::node::NodeArgs),
    /// Pair with a node: pin its key (compare the fingerprint with the node's console).
    Pair(cli::pair::PairArgs),
    /// Sync with a paired node: push the outbox, pull what the bridge lacks.
    Sync(cli::sync::SyncArgs),
    /// Benchmarks (`toile bench link`) and test data (`toile bench gen-items`).
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Decode(a) => cli::decode::run(a),
        Command::Demo(a) => cli::demo::run(a),
        Command::Id(a) => cli::id::run(a),
        Command::Sim(a) => cli::sim::run(a),
        Command::Pay(a) => cli::pay::run_pay(a),
        Command::Certify(a) => cli::pay::run_certify(a),
        Command::Chain(a) => cli::chain::run(a),
        Command::Status(a) => cli::status::run(a),
        Command::Node(a) => cli::node::run(a),
        Command::Pair(a) => cli::pair::run(a),
        Command::Sync(a) => cli::sync::run(a),
        Command::Bench(c) => cli::bench::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
