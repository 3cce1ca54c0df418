#!/usr/bin/env python3
"""Shutdown-scenario sweep of the relay engine against issue 3's targets: one row per seed.

Usage: tests/sweep.py [--nodes 50] [--seeds 1-5] [--compare] [--bin PATH]
Runs `toile sim --nodes N --area A --preset long-fast --region eu868-10 --hours 6 --seed S
--router toile --json` (the binary from $TOILE_BIN or --bin, default target/release/toile)
and prints within-deadline ratio, tx/item against the greedy oracle, losses, duty violations,
store high water and collisions, then certification coverage (pairs reached within the
deadline over pairs physics allows), reconciliation bytes per item and per
differing item (all, and sessions without digests), the idle check's bytes and
receipt frames per item. Exit status 1 when a row misses a target.
"""
import argparse, json, os, subprocess, sys

AREA = {50: 6, 200: 12, 1000: 27}

def fmt(v, w, d):
    return f"{'-':>{w}}" if v is None else f"{v:>{w}.{d}f}"

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nodes", type=int, default=50)
    p.add_argument("--seeds", default="1-5")
    p.add_argument("--hours", default="6")
    p.add_argument("--compare", action="store_true", help="also run the flood baseline")
    p.add_argument("--bin", default=os.environ.get("TOILE_BIN", "target/release/toile"))
    a = p.parse_args()
    lo, _, hi = a.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    area = AREA.get(a.nodes, 6)
    print(f"{'seed':>4} {'within':>7} {'deliv':>7} {'tx/item':>7} {'greedy':>6} {'ratio':>5} "
          f"{'lost':>4} {'cmiss':>5} {'duty':>4} {'store':>5} {'coll':>6} {'load':>4} {'flood':>6} "
          f"{'cover':>6} {'reconB':>6} {'B/diff':>6} {'sessB':>5} {'idleB':>5} {'rcpt':>5} {'rcover':>6}")
    ok = True
    for s in seeds:
        cmd = [a.bin, "sim", "--nodes", str(a.nodes), "--area", str(area), "--preset", "long-fast",
               "--region", "eu868-10", "--hours", a.hours, "--seed", str(s), "--router", "toile",
               "--json"]
        if a.compare:
            cmd += ["--compare", "flood"]
        out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        m = out["metrics"]
        b = out.get("baseline")
        ratio = m["tx_per_item"] / max(m["greedy_tx_per_item"], 1e-9)
        flood = f"{b['delivered_within_deadline_ratio']:.3f}" if b else "-"
        print(f"{s:>4} {m['delivered_within_deadline_ratio']:>7.4f} {m['delivered_ratio']:>7.4f} "
              f"{m['tx_per_item']:>7.2f} {m['greedy_tx_per_item']:>6.2f} {ratio:>5.2f} "
              f"{m['lost_items']:>4} {fmt(m.get('certifications_missed'), 5, 0)} {m['duty_violations']:>4} {m['store_high_water']:>5} "
              f"{m['collisions']:>6} {m['load_of_capacity']:>4.2f} {flood:>6} "
              f"{fmt(m.get('broadcast_coverage'), 6, 4)} {fmt(m.get('recon_bytes_per_item'), 6, 1)} "
              f"{fmt(m.get('recon_bytes_per_difference'), 6, 1)} "
              f"{fmt(m.get('session_bytes_per_difference'), 5, 1)} "
              f"{fmt(m.get('idle_check_bytes'), 5, 0)} {fmt(m.get('receipt_tx_per_item'), 5, 2)} "
              f"{fmt(m.get('receipt_coverage'), 6, 4)}")
        ok &= (m["delivered_within_deadline_ratio"] >= 0.999 and m["lost_items"] == 0
               and m["duty_violations"] == 0 and (a.nodes != 50 or ratio <= 1.25))
    sys.exit(0 if ok else 1)

main()
