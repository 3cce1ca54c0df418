//! A hand-written SVG of a run: the node map (links shaded by use, bridges marked) above a
//! delivery timeline per router (cumulative delivered, pending and undeliverable targets). Plain strings keep the
//! dependency list short; the output is deterministic.

use std::fmt::Write;

use super::metrics::MapData;

/// Render `map` (of the router named `router`) as a standalone SVG document, with `baseline`
/// (its data and name) drawn as a second timeline under the router's.
pub fn render(
    map: &MapData,
    router: &str,
    baseline: Option<(&MapData, &str)>,
    title: &str,
) -> String {
    let w = 800.0;
    let map_h = 800.0;
    let tl_h = 200.0;
    let panels = if baseline.is_some() { 2.0 } else { 1.0 };
    let pad = 20.0;
    let scale = (w - 2.0 * pad) / map.side_m.max(1.0);
    let px = |x: f64| pad + x * scale;
    let py = |y: f64| pad + (map.side_m - y) * scale;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" font-family="sans-serif" font-size="12">"#,
        map_h + panels * (tl_h + pad) + pad
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{pad}" y="14">{}</text>"#, escape(title));
    let max_use = map.links.iter().map(|l| l.2).max().unwrap_or(1).max(1) as f64;
    for &(a, b, u) in &map.links {
        let (Some(pa), Some(pb)) = (map.positions.get(a as usize), map.positions.get(b as usize))
        else {
            continue;
        };
        let o = 0.05 + 0.9 * (f64::from(u) / max_use);
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="steelblue" stroke-opacity="{o:.3}"/>"#,
            px(pa.x),
            py(pa.y),
            px(pb.x),
            py(pb.y)
        );
    }
    for (i, p) in map.positions.iter().enumerate() {
        if map.bridges.get(i).copied().unwrap_or(false) {
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="crimson"><title>bridge {i}</title></rect>"#,
                px(p.x) - 5.0,
                py(p.y) - 5.0
            );
        } else {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="black"><title>node {i}</title></circle>"#,
                px(p.x),
                py(p.y)
            );
        }
    }
    let mut top = map_h + pad;
    timeline(&mut s, map, router, top, w, pad, tl_h);
    if let Some((b, name)) = baseline {
        top += tl_h + pad;
        timeline(&mut s, b, name, top, w, pad, tl_h);
    }
    s.push_str("</svg>\n");
    s
}

/// Cumulative delivered / pending / undeliverable targets over time, as three polylines.
fn timeline(s: &mut String, map: &MapData, label: &str, top: f64, w: f64, pad: f64, h: f64) {
    let buckets = 120usize;
    let end = map.end_s.max(1.0);
    let idx = |t: f64| ((t / end * buckets as f64).max(0.0) as usize).min(buckets - 1);
    let (mut ok, mut bad, mut done) = (
        vec![0u64; buckets],
        vec![0u64; buckets],
        vec![0u64; buckets],
    );
    for &(t, d, u) in &map.targets {
        ok[idx(t)] += u64::from(d);
        bad[idx(t)] += u64::from(u);
    }
    for &t in &map.deliveries_s {
        done[idx(t)] += 1;
    }
    let cumulate = |v: &mut Vec<u64>| {
        for i in 1..v.len() {
            v[i] += v[i - 1];
        }
    };
    cumulate(&mut ok);
    cumulate(&mut bad);
    cumulate(&mut done);
    let pending: Vec<u64> = ok
        .iter()
        .zip(&done)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    let max = ok
        .iter()
        .zip(&bad)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let plot_h = h - 30.0;
    let bw = (w - 2.0 * pad) / buckets as f64;
    let _ = writeln!(
        s,
        r#"<text x="{pad}" y="{:.1}">{}: cumulative targets over {:.0} s - delivered (green), pending (orange), undeliverable (grey); max {max}</text>"#,
        top + 12.0,
        escape(label),
        end
    );
    let _ = writeln!(
        s,
        r#"<rect x="{pad}" y="{:.1}" width="{:.1}" height="{plot_h:.1}" fill="none" stroke="silver"/>"#,
        top + 20.0,
        w - 2.0 * pad
    );
    for (vals, color) in [
        (&done, "seagreen"),
        (&pending, "darkorange"),
        (&bad, "grey"),
    ] {
        let mut pts = String::new();
        for (i, v) in vals.iter().enumerate() {
            let x = pad + (i as f64 + 1.0) * bw;
            let y = top + 20.0 + plot_h - *v as f64 / max * plot_h;
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
            pts.trim_end()
        );
    }
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
