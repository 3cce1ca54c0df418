//! `toile sim`: run the mesh simulator on a scenario and print its metrics.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant as WallClock;

use anyhow::Context;
use clap::ValueEnum;
use serde::Serialize;
use toile_host::sim::bench;
use toile_host::sim::flood::FloodFactory;
use toile_host::sim::phy::{MediumModel, Preset, Region};
use toile_host::sim::scenario::{RelayPlan, Scenario, standard_side_m};
use toile_host::sim::toile::ToileFactory;
use toile_host::sim::topology::{Placement, Topology};
use toile_host::sim::trace::TraceTarget;
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
pub enum RelaysArg {
    Tree,
    Oracle,
}

impl From<RelaysArg> for RelayPlan {
    fn from(r: RelaysArg) -> Self {
        match r {
            RelaysArg::Tree => RelayPlan::Tree,
            RelaysArg::Oracle => RelayPlan::Oracle,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScenarioArg {
    Anchor,
    Shutdown,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PlacementArg {
    /// Uniform random in the square.
    Uniform,
    /// Uniform, each node within range of an earlier one (Meshtasticator).
    Connected,
    /// A square grid.
    Grid,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MediumArg {
    /// The physical model (real time on air, interference down to sensitivity - 6 dB).
    Physical,
    /// Meshtasticator's medium and MAC (the anchor's default).
    Meshtasticator,
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
    #[arg(long, conflicts_with = "density")]
    area: Option<f64>,
    /// Nodes per km² instead of --area (the side follows from --nodes).
    #[arg(long)]
    density: Option<f64>,
    /// How nodes are placed.
    #[arg(long, value_enum)]
    placement: Option<PlacementArg>,
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
    /// Router under test (default: toile for shutdown, flood for anchor).
    #[arg(long, value_enum)]
    router: Option<RouterArg>,
    /// Also run this router on the same scenario as a baseline.
    #[arg(long, value_enum)]
    compare: Option<RouterArg>,
    /// Node positions (JSON or CSV, metres) instead of generated ones.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Users per node.
    #[arg(long)]
    users_per_node: Option<f64>,
    /// Items per user per hour.
    #[arg(long)]
    item_rate: Option<f64>,
    /// Share of payments in the item mix (the rest are certifications), 0..=1.
    #[arg(long)]
    payment_share: Option<f64>,
    /// Cap the injection rate at this share of the capacity model (shutdown: 0.7; 0 = no cap).
    #[arg(long)]
    max_load: Option<f64>,
    /// Share of nodes crashing per hour (crashes lose RAM, keep the store).
    #[arg(long)]
    churn: Option<f64>,
    /// Seconds a crashed node stays down.
    #[arg(long)]
    churn_down: Option<f64>,
    /// Number of bridges (when the topology marks none).
    #[arg(long)]
    bridges: Option<usize>,
    /// Seconds until the bridges' uplink comes up (0 = from the start).
    #[arg(long)]
    uplink_after: Option<f64>,
    /// Delivery deadline in seconds (default: 1 h / 3 h / 6 h by size).
    #[arg(long)]
    deadline: Option<f64>,
    /// Medium and MAC model.
    #[arg(long, value_enum)]
    medium: Option<MediumArg>,
    /// Which nodes relay certifications and receipts (toile): its own rule (`tree`), or
    /// (`oracle`, a what-if) the greedy connected relay set from the bridges over the links
    /// that close both ways, computed from the true link graph, which no mesh knows: it
    /// measures what relay selection alone could save.
    #[arg(long, value_enum, default_value = "tree")]
    relays: RelaysArg,
    /// Toile nodes carry every key in full: no community key book (the book's baseline;
    /// with it, custody forwards carry the workload's keys as 2-byte indexes).
    #[arg(long)]
    no_key_book: bool,
    /// Compute receptions the reference O(N) way (same results, slower; for benchmarking).
    #[arg(long)]
    reference: bool,
    /// Print exactly one JSON object.
    #[arg(long)]
    json: bool,
    /// Follow one item (by index) through the run on stderr: holders, transmissions, acks,
    /// receptions, crashes, delivery. `lost` lists the payments never delivered.
    #[arg(long)]
    trace: Option<TraceTarget>,
    /// Draw the node map and delivery timeline to this SVG file.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Benchmark: 50 / 200 / 1000 nodes, flood and toile, link table vs the reference O(N)
    /// reception path, side by side (wall time, events/s, ratio). Uses --hours (default 6)
    /// and --seed; other flags are ignored.
    #[arg(long)]
    bench: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    router: &'a str,
    nodes: usize,
    seed: u64,
    hours: f64,
    preset: Preset,
    region: Region,
    scenario: &'a Scenario,
    metrics: &'a Metrics,
    baseline: Option<&'a Metrics>,
    wall_s: f64,
}

fn router_name(r: RouterArg) -> &'static str {
    match r {
        RouterArg::Toile => "toile",
        RouterArg::Flood => "flood",
    }
}

fn run_router(
    r: RouterArg,
    s: &Scenario,
    progress: bool,
    reference: bool,
    trace: Option<TraceTarget>,
) -> anyhow::Result<Outcome> {
    match r {
        RouterArg::Toile => {
            anyhow::ensure!(
                s.signed_items,
                "router 'toile' carries only real signed items; the {} scenario injects filler \
                 bytes (use --scenario shutdown, or --router flood)",
                s.name
            );
            run_with(
                Simulator::new(s.clone(), &ToileFactory)?,
                "toile",
                progress,
                reference,
                trace,
            )
        }
        RouterArg::Flood => run_with(
            Simulator::new(s.clone(), &FloodFactory::default())?,
            "flood",
            progress,
            reference,
            trace,
        ),
    }
}

fn run_with<F: RouterFactory>(
    sim: Simulator<F>,
    name: &'static str,
    progress: bool,
    reference: bool,
    trace: Option<TraceTarget>,
) -> anyhow::Result<Outcome> {
    let sim = if reference {
        sim.reference_reception()
    } else {
        sim
    };
    let sim = match trace {
        Some(t) => sim.trace(t),
        None => sim,
    };
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

fn bench(a: &SimArgs) -> anyhow::Result<ExitCode> {
    let hours = a.hours.unwrap_or(6.0);
    let rows = bench::run(&[50, 200, 1000], hours, a.seed)?;
    if a.json {
        println!("{}", serde_json::to_string(&rows)?);
    } else {
        println!(
            "shutdown scenario, LongFast, EU 10 %, {hours} h + 1 h drain, seed {}: link table vs reference O(N) reception",
            a.seed
        );
        println!(
            "{:>6} {:>6} {:>9} {:>7} {:>9} {:>12} {:>9} {:>12} {:>8} {:>9}",
            "nodes",
            "router",
            "events",
            "tx",
            "wall s",
            "events/s",
            "ref s",
            "ref ev/s",
            "ratio",
            "identical"
        );
        for r in &rows {
            println!(
                "{:>6} {:>6} {:>9} {:>7} {:>9.3} {:>12.0} {:>9.3} {:>12.0} {:>7.1}x {:>9}",
                r.nodes,
                r.router,
                r.events,
                r.transmissions,
                r.wall_s,
                r.events_per_s,
                r.reference_wall_s,
                r.reference_events_per_s,
                r.speedup,
                if r.identical { "yes" } else { "NO" }
            );
        }
    }
    anyhow::ensure!(
        rows.iter().all(|r| r.identical),
        "the reference reception path gave different metrics: the two paths disagree on the model"
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(a: SimArgs) -> anyhow::Result<ExitCode> {
    if a.bench {
        return bench(&a);
    }
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
    if let Some(d) = a.density {
        anyhow::ensure!(
            d.is_finite() && d > 0.0,
            "--density must be a positive number of nodes per km²"
        );
        s.side_m = (s.nodes as f64 / d).sqrt() * 1000.0;
    }
    if let Some(p) = a.placement {
        s.placement = match p {
            PlacementArg::Uniform => Placement::Uniform,
            PlacementArg::Connected => Placement::UniformConnected,
            PlacementArg::Grid => Placement::Grid,
        };
    }
    if let Some(p) = preset {
        s.radio.preset = p;
    }
    if let Some(r) = region {
        s.radio.region = r;
    }
    if let Some(m) = a.medium {
        s.radio.medium = match m {
            MediumArg::Physical => MediumModel::Physical,
            MediumArg::Meshtasticator => MediumModel::Meshtasticator,
        };
    }
    if let Some(h) = a.hours {
        s.hours = h;
    }
    if let Some(u) = a.users_per_node {
        s.users_per_node = u;
    }
    if let Some(r) = a.item_rate {
        s.items_per_user_per_hour = r;
    }
    if let Some(p) = a.payment_share {
        anyhow::ensure!((0.0..=1.0).contains(&p), "--payment-share must be in 0..=1");
        s.mix.payment_share = p;
    }
    if let Some(l) = a.max_load {
        anyhow::ensure!(l.is_finite() && l >= 0.0, "--max-load must be >= 0");
        s.max_load = (l > 0.0).then_some(l);
    }
    if let Some(c) = a.churn {
        anyhow::ensure!(
            c.is_finite() && c >= 0.0,
            "--churn must be >= 0 (share of nodes per hour)"
        );
        s.churn_per_hour = c;
    }
    if let Some(d) = a.churn_down {
        anyhow::ensure!(
            d.is_finite() && d >= 0.0,
            "--churn-down must be >= 0 seconds"
        );
        s.churn_down_s = d;
    }
    if let Some(b) = a.bridges {
        s.bridges = b;
    }
    s.relays = a.relays.into();
    if a.no_key_book {
        s.key_book = false;
    }
    if let Some(u) = a.uplink_after {
        anyhow::ensure!(
            u.is_finite() && u >= 0.0,
            "--uplink-after must be >= 0 seconds"
        );
        s.uplink_after_s = u;
    }
    if let Some(d) = a.deadline {
        anyhow::ensure!(d.is_finite() && d > 0.0, "--deadline must be > 0 seconds");
        s.deadline_s = d;
    }
    if let Some(path) = &a.topology {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read topology file {}", path.display()))?;
        let t = Topology::import(&text)
            .with_context(|| format!("in topology file {}", path.display()))?;
        s.nodes = t.positions.len();
        s.side_m = t.side_m;
        s.topology = Some(t);
    }
    s.apply_workload();
    let router = a.router.unwrap_or(match a.scenario {
        ScenarioArg::Anchor => RouterArg::Flood,
        ScenarioArg::Shutdown => RouterArg::Toile,
    });
    let progress = !a.json && std::io::stderr().is_terminal();
    let main = run_router(router, &s, progress, a.reference, a.trace)?;
    let baseline = match a.compare {
        Some(r) => Some((
            run_router(r, &s, progress, a.reference, None)?,
            router_name(r),
        )),
        None => None,
    };
    if let Some(path) = &a.svg {
        let title = format!(
            "{} / {} / {} nodes / seed {}",
            s.name,
            router_name(router),
            main.map.positions.len(),
            s.seed
        );
        let doc = svg::render(
            &main.map,
            router_name(router),
            baseline.as_ref().map(|(b, n)| (&b.map, *n)),
            &title,
        );
        std::fs::write(path, doc).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let report = Report {
        router: router_name(router),
        nodes: main.map.positions.len(),
        seed: s.seed,
        hours: s.hours,
        preset: s.radio.preset,
        region: s.radio.region,
        scenario: &s,
        metrics: &main.metrics,
        baseline: baseline.as_ref().map(|(b, _)| &b.metrics),
        wall_s: started.elapsed().as_secs_f64(),
    };
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let m = &main.metrics;
        println!(
            "scenario {} ({} nodes, seed {}, {} h, {:?}, {:?}), router {}",
            s.name, report.nodes, s.seed, s.hours, s.radio.preset, s.radio.region, report.router
        );
        println!(
            "load {:.0} items/h = {:.2} of capacity ({:.0} items/h, {})",
            s.items_per_hour, m.load_of_capacity, m.capacity.items_per_hour, m.capacity.source
        );
        println!("{}", serde_json::to_string_pretty(m)?);
        if let Some((b, name)) = &baseline {
            println!(
                "baseline {name}:\n{}",
                serde_json::to_string_pretty(&b.metrics)?
            );
            let ratio = |x: f64, y: f64| if y > 0.0 { x / y } else { f64::NAN };
            println!(
                "router / baseline: delivered within deadline {:.3} / {:.3}, tx per item {:.2} / {:.2} (x{:.2}), airtime per item {:.2} / {:.2} s (x{:.2})",
                m.delivered_within_deadline_ratio,
                b.metrics.delivered_within_deadline_ratio,
                m.tx_per_item,
                b.metrics.tx_per_item,
                ratio(m.tx_per_item, b.metrics.tx_per_item),
                m.airtime_per_item_s,
                b.metrics.airtime_per_item_s,
                ratio(m.airtime_per_item_s, b.metrics.airtime_per_item_s)
            );
        }
        println!("wall time {:.2} s", report.wall_s);
    }
    Ok(ExitCode::SUCCESS)
}
