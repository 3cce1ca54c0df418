//! `toile demo` (being written).
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DemoArgs {}

pub fn run(_a: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
