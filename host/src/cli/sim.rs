//! `toile sim`: run the mesh simulator on a scenario and print its metrics.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant as WallClock;

use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use toile_host::sim::flood::FloodFactory;
use toile_host::sim::phy::{Preset, Region};
use toile_host::sim::scenario::{Scenario, standard_side_m};
use toile_host::sim::toile::ToileFactory;
use toile_host::sim::topology::Topology;
use toile_host::sim::{Metrics, Outcome, RouterFactory, Simulator, svg};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PresetArg {
    LongFast,
    MediumFast,
    Sf7,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Self {
        match p {
            PresetArg::LongFast => Preset::LongFast,
            PresetArg::MediumFast => Preset::MediumFast,
            PresetArg::Sf7 => Preset::Sf7,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RegionArg {
    #[value(name = "eu868-10")]
    Eu868_10,
    #[value(name = "eu868-1")]
    Eu868_1,
    Us915,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum RouterArg {
    Toile,
    Flood,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScenarioArg {
    Anchor,
    Shutdown,
}

#[derive(clap::Args)]
pub struct SimArgs {
    /// Named scenario; other flags override its values.
    #[arg(long, value_enum, default_value = "shutdown")]
    scenario: ScenarioArg,
    /// Number of nodes (default: 50).
    #[arg(long)]
    nodes: Option<usize>,
    /// Side of the square area in km (default: 6 / 12 / 27 km for 50 / 200 / 1000 nodes).
    #[arg(long)]
    area: Option<f64>,
    /// Modem preset.
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Region and duty rule.
    #[arg(long, value_enum)]
    region: Option<RegionArg>,
    /// Hours of item injection.
    #[arg(long)]
    hours: Option<f64>,
    /// Seed: same seed, same result.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Router under test.
    #[arg(long, value_enum, default_value = "flood")]
    router: RouterArg,
    /// Also run this router on the same scenario as a baseline.
    #[arg(long, value_enum)]
    compare: Option<RouterArg>,
    /// Node positions (JSON or CSV, metres) instead of generated ones.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Print exactly one JSON object.
    #[arg(long)]
    json: bool,
    /// Draw the node map and delivery timeline to this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report<'a> {
    router: &'a str,
    nodes: usize,
    seed: u64,
    hours: f64,
    preset: Preset,
    region: Region,
    metrics: &'a Metrics,
    baseline: Option<&'a Metrics>,
    wall_s: f64,
}

fn run_router(r: RouterArg, s: &Scenario, progress: bool) -> anyhow::Result<Outcome> {
    match r {
        RouterArg::Toile => {
            anyhow::ensure!(
                s.signed_items,
                "router 'toile' carries only real signed items; the {} scenario injects filler \
                 bytes (use --scenario shutdown)",
                s.name
            );
            run_with(Simulator::new(s.clone(), &ToileFactory)?, "toile", progress)
        }
        RouterArg::Flood => run_with(
            Simulator::new(s.clone(), &FloodFactory::default())?,
            "flood",
            progress,
        ),
    }
}

fn run_with<F: RouterFactory>(
    sim: Simulator<F>,
    name: &'static str,
    progress: bool,
) -> anyhow::Result<Outcome> {
    if progress {
        let bar = indicatif::ProgressBar::new(1000);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(name);
        let out = sim.run_with_progress(&mut |f| bar.set_position((f * 1000.0) as u64));
        bar.finish_and_clear();
        Ok(out)
    } else {
        Ok(sim.run())
    }
}

pub fn run(a: SimArgs) -> anyhow::Result<ExitCode> {
    let started = WallClock::now();
    let preset = a.preset.map(Preset::from);
    let region = a.region.map(|r| match r {
        RegionArg::Eu868_10 => Region::Eu868TenPercent,
        RegionArg::Eu868_1 => Region::Eu868OnePercent,
        RegionArg::Us915 => Region::Us915,
    });
    let mut s = match a.scenario {
        ScenarioArg::Anchor => Scenario::anchor(a.seed),
        ScenarioArg::Shutdown => Scenario::shutdown(
            a.nodes.unwrap_or(50),
            preset.unwrap_or(Preset::LongFast),
            region.unwrap_or(Region::Eu868TenPercent),
            a.seed,
        ),
    };
    if let Some(n) = a.nodes {
        if matches!(a.scenario, ScenarioArg::Anchor) {
            s.items_per_hour = n as f64 * 6.0;
            s.offered_items_per_hour = s.items_per_hour;
            s.side_m = standard_side_m(n);
        }
        s.nodes = n;
    }
    if let Some(km) = a.area {
        anyhow::ensure!(
            km.is_finite() && km > 0.0,
            "--area must be a positive number of km"
        );
        s.side_m = km * 1000.0;
    }
    if let Some(p) = preset {
        s.radio.preset = p;
    }
    if let Some(r) = region {
        s.radio.region = r;
    }
    if let Some(h) = a.hours {
        s.hours = h;
    }
    if let Some(path) = &a.topology {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read topology file {}", path.display()))?;
        let t = Topology::import(&text)?;
        s.nodes = t.positions.len();
        s.side_m = t.side_m;
        s.topology = Some(t);
    }
    let progress = !a.json && std::io::stderr().is_terminal();
    let main = run_router(a.router, &s, progress)?;
    let baseline = match a.compare {
        Some(r) => Some(run_router(r, &s, progress)?),
        None => None,
    };
    if let Some(path) = &a.svg {
        let title = format!(
            "{} / {:?} / {} nodes / seed {}",
            s.name, a.router, s.nodes, s.seed
        );
        std::fs::write(path, svg::render(&main.map, &title))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let report = Report {
        router: match a.router {
            RouterArg::Toile => "toile",
            RouterArg::Flood => "flood",
        },
        nodes: main.map.positions.len(),
        seed: s.seed,
        hours: s.hours,
        preset: s.radio.preset,
        region: s.radio.region,
        metrics: &main.metrics,
        baseline: baseline.as_ref().map(|b| &b.metrics),
        wall_s: started.elapsed().as_secs_f64(),
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let m = &main.metrics;
        println!(
            "scenario {} ({} nodes, seed {}, {} h, {:?}, {:?})",
            s.name, report.nodes, s.seed, s.hours, s.radio.preset, s.radio.region
        );
        println!("{}", serde_json::to_string_pretty(m)?);
        if let Some(b) = &baseline {
            println!("baseline:\n{}", serde_json::to_string_pretty(&b.metrics)?);
        }
        println!("wall time {:.2} s", report.wall_s);
    }
    Ok(ExitCode::SUCCESS)
}
