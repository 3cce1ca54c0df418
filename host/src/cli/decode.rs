//! `toile decode` (being written).
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DecodeArgs {
    /// Hex bytes to decode.
    pub hex: Option<String>,
}

pub fn run(_a: DecodeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
