//! A hand-written SVG of a run: the node map (links shaded by use, bridges marked) above a
//! delivery timeline (injections and deliveries per bucket). Plain strings keep the
//! dependency list short; the output is deterministic.

use std::fmt::Write;

use super::metrics::MapData;

/// Render `map` as a standalone SVG document.
pub fn render(map: &MapData, title: &str) -> String {
    let w = 800.0;
    let map_h = 800.0;
    let tl_h = 200.0;
    let pad = 20.0;
    let scale = (w - 2.0 * pad) / map.side_m.max(1.0);
    let px = |x: f64| pad + x * scale;
    let py = |y: f64| pad + (map.side_m - y) * scale;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{}" font-family="sans-serif" font-size="12">"#,
        map_h + tl_h + 2.0 * pad
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
    // Timeline.
    let top = map_h + pad;
    let buckets = 60usize;
    let end = map.end_s.max(1.0);
    let mut inj = vec![0u32; buckets];
    let mut del = vec![0u32; buckets];
    for &t in &map.injections_s {
        inj[((t / end * buckets as f64) as usize).min(buckets - 1)] += 1;
    }
    for &t in &map.deliveries_s {
        del[((t / end * buckets as f64) as usize).min(buckets - 1)] += 1;
    }
    let max = inj
        .iter()
        .chain(del.iter())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bw = (w - 2.0 * pad) / buckets as f64;
    let _ = writeln!(
        s,
        r#"<text x="{pad}" y="{:.1}">timeline over {:.0} s: injected (grey), delivered (green), max {max}</text>"#,
        top + 12.0,
        end
    );
    for i in 0..buckets {
        let x = pad + i as f64 * bw;
        for (vals, color, off) in [(&inj, "grey", 0.0), (&del, "seagreen", bw / 2.0)] {
            let h = f64::from(vals[i]) / max * (tl_h - 30.0);
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{color}"/>"#,
                x + off,
                top + tl_h - h,
                bw / 2.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
