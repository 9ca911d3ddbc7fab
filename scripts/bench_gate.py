#!/usr/bin/env python3
"""scripts/bench_gate.py — the instruction-count regression gate.

    bench_gate.py GATE_EXE BASELINE            compare, exit 1 on a regression
    bench_gate.py GATE_EXE BASELINE --update   write the measured figures

Runs bench/gate.c under valgrind --tool=callgrind, collecting only inside one
function per case (--collect-atstart=no --toggle-collect=FN), and divides the
instructions by the messages: instructions per message of the hot paths.
Instruction counts repeat on a noisy machine where times do not, as long as
the workload does not depend on timing: bench/gate.c queues each workload's
messages while its one worker is held, so that how the threads interleave
(which the load decides) changes nothing. The machine still matters a
little: the CPUs the process may use change jemalloc's one-off costs (about
1 instruction per message on 1 CPU against 2). A case more
than 10 % above its baseline fails the gate; updating the baseline is an
explicit commit that says why. Prints one SUMMARY line per case.
"""
import os
import re
import subprocess
import sys
import tempfile

N = 20000
THRESHOLD = 1.10
# case: (workload, function collected, what it is)
CASES = {
    "send": ("send", "troupe_tell", "a plain thread's tell: copy, claim, publish, wake"),
    "dispatch": ("send", "troupei_run_actor", "a worker's run: take, dispatch, count"),
    "hop": ("hop", "troupei_run_actor", "actor to actor: dispatch + send + schedule"),
    "schedule": ("hop", "troupei_sched_actor", "making the receiver runnable (LIFO slot)"),
    "call": ("call", "troupe_call", "a plain thread's call run on its own thread: request, run, reply"),
}


def measure(exe, workload, fn):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
               "--collect-atstart=no", "--toggle-collect=" + fn,
               exe, workload, str(N)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"bench_gate: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
        text = open(out).read()
    m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
    if not m:
        sys.exit("bench_gate: no instruction total in callgrind's output")
    return int(m.group(1)) / N


def read_baseline(path):
    base = {}
    if os.path.exists(path):
        for line in open(path):
            f = line.split("#")[0].split()
            if len(f) == 2:
                base[f[0]] = float(f[1])
    return base


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    exe, path, update = sys.argv[1], sys.argv[2], "--update" in sys.argv[3:]
    base = read_baseline(path)
    got, bad = {}, []
    for name, (workload, fn, _) in CASES.items():
        got[name] = measure(exe, workload, fn)
        print(f"SUMMARY bench=gate_{name} impl=troupe metric=instructions "
              f"value={got[name]:.1f} unit=instr/msg")
        b = base.get(name)
        if b is None:
            print(f"gate {name}: {got[name]:.1f} instr/msg (no baseline)")
            if not update:
                bad.append(name)
            continue
        ratio = got[name] / b
        verdict = "REGRESSION" if ratio > THRESHOLD else "ok"
        print(f"gate {name}: {got[name]:.1f} instr/msg, baseline {b:.1f} ({ratio:.3f}x) {verdict}")
        if ratio > THRESHOLD:
            bad.append(name)
    if update:
        with open(path, "w") as f:
            f.write("# instructions per message (scripts/bench_gate.py); update only in a\n"
                    "# commit that says why the hot path got dearer or cheaper\n")
            for name, (_, fn, what) in CASES.items():
                f.write(f"{name} {got[name]:.1f}  # {fn}: {what}\n")
        print(f"bench_gate: wrote {path}")
        return 0
    if bad:
        print(f"bench_gate: FAILED: {', '.join(bad)} more than {THRESHOLD - 1:.0%} "
              "above the baseline (or no baseline)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
