#!/usr/bin/env python3
"""scripts/bench_all.py — troupe and its peers, side by side, in one run.

    bench_all.py BUILD_DIR [--reps N] [--only CASE,...] [--out DIR]

Runs, for each repetition, troupe's benchmarks, then the Erlang/OTP ones,
then the CAF ones (A B C A B C ...: a slow patch of the machine hits every
implementation alike), collects their `SUMMARY` lines, and writes:

  DIR/latest.txt    a table per workload: median, min, max per implementation
                    and troupe's factor over each peer (> 1: troupe is better)
  DIR/latest.json   the raw SUMMARY lines of every run, and the table
  DIR/*.png         charts (gnuplot): troupe's factor per workload and peer,
                    and the scaling curves

troupe's programs and CAF's are meson benchmarks of BUILD_DIR (suites 'bench'
and 'peers-caf'); Erlang's are run by bench/peers/erlang/run.sh. A peer that
is missing (not installed, not built) is skipped with a note. TROUPE_BENCH_SCALE
scales every workload, as for the programs themselves. Wall-clock figures are
reported, never gated (the gate is scripts/bench_gate.py). BENCH_HOG=all|one
runs every program, troupe's and the peers', beside a CPU hog
(scripts/with_hog.sh).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

SUMMARY = re.compile(r"^SUMMARY bench=(\S+) impl=(\S+) metric=(\S+) value=(\S+) unit=(\S+)")
HIGHER_IS_BETTER = ("/s",)  # throughput units: msg/s, ops/s, actors/s, meetings/s
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def meson_benchmarks(build, suite):
    try:
        out = subprocess.run(["meson", "introspect", "--benchmarks", build], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [b for b in json.loads(out) if suite in b.get("suite", []) or
            any(s.endswith(":" + suite) for s in b.get("suite", []))]


def run(cmd, env, timeout, cwd=None):
    t0 = time.monotonic()
    if env.get("BENCH_HOG", "none") not in ("", "none"):  # beside a CPU hog (issue 18)
        cmd = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "with_hog.sh")] + cmd
    try:
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, cwd=cwd)
        ok = r.returncode == 0
        out = r.stdout
    except subprocess.TimeoutExpired as e:
        ok, out = False, (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    sys.stderr.write(f"  {'ok  ' if ok else 'FAIL'} {time.monotonic() - t0:6.1f} s  {' '.join(cmd)}\n")
    return ok, [m.groups() for m in map(SUMMARY.match, out.splitlines()) if m]


def run_meson_suite(build, suite, env, only):
    lines, failed = [], []
    for b in meson_benchmarks(build, suite):
        if b["name"] == "bench_gate" or (only and not any(o in b["name"] for o in only)):
            continue
        e = dict(env, **(b.get("env") or {}))
        # where `meson test --benchmark` runs them: the build directory, unless
        # a workdir is set (the cluster benchmarks name their program relative to it)
        ok, got = run(b["cmd"], e, 600, b.get("workdir") or build)
        lines += got
        if not ok:
            failed.append(b["name"])
    return lines, failed


def run_erlang(env, only, outdir):
    script = os.path.join(ROOT, "bench", "peers", "erlang", "run.sh")
    if not os.path.exists(script) or not shutil.which("erl"):
        return None, []
    ok, got = run(["bash", script, os.path.join(outdir, "erlang-beam")] + list(only or []), env, 1800)
    return got, [] if ok else ["erlang/run.sh"]


def better_factor(unit, troupe, peer):
    if troupe <= 0 or peer <= 0:
        return None
    return troupe / peer if unit.endswith(HIGHER_IS_BETTER) else peer / troupe


def table(records):
    by = {}
    for rep, bench, impl, metric, value, unit in records:
        by.setdefault((bench, metric, unit), {}).setdefault(impl, []).append(float(value))
    rows = []
    for (bench, metric, unit), impls in sorted(by.items()):
        row = {"bench": bench, "metric": metric, "unit": unit, "impls": {}}
        for impl, vals in impls.items():
            row["impls"][impl] = {"median": statistics.median(vals), "min": min(vals),
                                  "max": max(vals), "runs": len(vals)}
        t = row["impls"].get("troupe")
        if t:
            row["troupe_factor"] = {
                p: better_factor(unit, t["median"], v["median"])
                for p, v in row["impls"].items() if p != "troupe"}
        rows.append(row)
    return rows


def fmt(v):
    return f"{v:.4g}" if abs(v) < 1e6 else f"{v:.3e}"


def render_text(rows):
    out = []
    for r in rows:
        out.append(f"{r['bench']} — {r['metric']} ({r['unit']})")
        for impl, s in sorted(r["impls"].items()):
            f = r.get("troupe_factor", {}).get(impl)
            extra = f"   troupe {f:.2f}x better" if f and f >= 1 else (
                f"   troupe {1 / f:.2f}x worse" if f else "")
            out.append(f"  {impl:8} median {fmt(s['median']):>10}  min {fmt(s['min']):>10}  "
                       f"max {fmt(s['max']):>10}  ({s['runs']} runs){extra}")
    return "\n".join(out) + "\n"


def gnuplot(script):
    if not shutil.which("gnuplot"):
        return False
    r = subprocess.run(["gnuplot"], input=script, text=True, stderr=subprocess.PIPE)
    if r.returncode:
        sys.stderr.write(r.stderr)
    return r.returncode == 0


def chart_factors(rows, outdir):
    data = [(r["bench"] + ":" + r["metric"], r["troupe_factor"]) for r in rows
            if r.get("troupe_factor")]
    if not data:
        return
    peers = sorted({p for _, f in data for p in f})
    dat = os.path.join(outdir, "factors.dat")
    with open(dat, "w") as f:
        f.write("case " + " ".join(peers) + "\n")
        for name, fac in data:
            f.write(name.replace(" ", "_") + " " +
                    " ".join(f"{fac.get(p) or 'NaN'}" for p in peers) + "\n")
    plots = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title 'vs {p}'" for i, p in enumerate(peers))
    gnuplot(f"""set terminal pngcairo size 1400,700 noenhanced
set output '{os.path.join(outdir, "factors.png")}'
set title "troupe's factor over each peer (median of the runs; > 1: troupe better)"
set style data histograms
set style fill solid 0.8
set logscale y
set grid ytics
set xtics rotate by -40 font ',8'
set key top left
plot {plots}, 1 with lines dt 2 lc 'black' notitle
""")


def chart_scaling(rows, outdir):
    series = {}
    mult = {"": 1, "k": 1000, "m": 1000000}
    for r in rows:
        # scale_<name>_<n>, and registry_lookup_<n>[k|m] (bench/registry.c)
        m = re.match(r"(?:scale_(\w+?)|(registry_lookup))_(\d+)([km]?)$", r["bench"])
        t = r["impls"].get("troupe")
        if m and t:
            name = m.group(1) or m.group(2)
            series.setdefault((name, r["metric"], r["unit"]), []).append(
                (int(m.group(3)) * mult[m.group(4)], t["median"]))
    for (name, metric, unit), pts in series.items():
        dat = os.path.join(outdir, f"scale_{name}_{metric}.dat")
        with open(dat, "w") as f:
            for x, y in sorted(pts):
                f.write(f"{x} {y}\n")
        gnuplot(f"""set terminal pngcairo size 900,500 noenhanced
set output '{os.path.join(outdir, f"scale_{name}_{metric}.png")}'
set title 'troupe: {name} {metric} ({unit})'
set logscale x 2
set grid
plot '{dat}' using 1:2 with linespoints title '{metric}'
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    only = [o for o in a.only.split(",") if o]
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ)
    records, failed, notes = [], [], []
    for rep in range(1, a.reps + 1):
        sys.stderr.write(f"== repetition {rep}/{a.reps}: troupe\n")
        got, bad = run_meson_suite(a.build, "bench", env, only)
        records += [(rep,) + g for g in got]
        failed += bad
        sys.stderr.write(f"== repetition {rep}/{a.reps}: erlang\n")
        got, bad = run_erlang(env, only, a.out)
        if got is None:
            notes.append("erlang: not available (bench/peers/erlang/run.sh or erl missing)")
        else:
            records += [(rep,) + g for g in got]
            failed += bad
        sys.stderr.write(f"== repetition {rep}/{a.reps}: caf\n")
        got, bad = run_meson_suite(a.build, "peers-caf", env, only)
        if not got and not bad:
            notes.append("caf: no CAF benchmarks in this build")
        records += [(rep,) + g for g in got]
        failed += bad
    rows = table(records)
    text = render_text(rows)
    for n in sorted(set(notes)):
        text += f"note: {n}\n"
    if failed:
        text += f"FAILED programs (their cross-checks or a timeout): {', '.join(sorted(set(failed)))}\n"
    with open(os.path.join(a.out, "latest.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump({"scale": env.get("TROUPE_BENCH_SCALE", "1"), "reps": a.reps,
                   "summary_lines": [{"rep": r[0], "bench": r[1], "impl": r[2], "metric": r[3],
                                      "value": float(r[4]), "unit": r[5]} for r in records],
                   "table": rows, "failed": sorted(set(failed))}, f, indent=1)
    chart_factors(rows, a.out)
    chart_scaling(rows, a.out)
    for rep, bench, impl, metric, value, unit in records:
        print(f"SUMMARY bench={bench} impl={impl} metric={metric} value={value} unit={unit}")
    sys.stdout.write("\n" + text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
