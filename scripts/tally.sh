#!/usr/bin/env bash
# scripts/tally.sh BUILD_DIR... — one closing line for `make test`:
# "tests: N passed, M failed", from meson's testlog.json of the last run in
# each build dir. A Criterion program counts its own cases (its
# "Synthesis:" line; crashed cases count as failed). A program that failed
# without such a verdict — a timeout, a crash before Criterion reported, a
# plain test such as the symbol check — counts as one case, passed or
# failed by meson's result. So a red run can never print "0 failed". It
# decides nothing: `make test`'s exit code does.
set -euo pipefail
python3 - "$@" <<'PY'
import json, os, re, sys
syn = re.compile(r"Synthesis: Tested: \d+ \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")
passed = failed = skipped = 0
for d in sys.argv[1:]:
    # the fuzz stage (scripts/fuzz.sh): one line per harness, "NAME ok|failed"
    fz = os.path.join(d, "fuzz-logs", "results.txt")
    if os.path.exists(fz):
        for line in open(fz):
            ok = line.split()[1:2] == ["ok"]
            passed += ok
            failed += not ok
    log = os.path.join(d, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        continue
    for line in open(log):
        t = json.loads(line)
        m = syn.search((t.get("stdout") or "") + (t.get("stderr") or ""))
        ok = t.get("result") in ("OK", "EXPECTEDFAIL")  # should_fail tests that failed
        if m:
            p, f, c = map(int, m.groups())
            passed += p
            failed += f + c
            if not ok and f + c == 0:
                failed += 1  # the program failed beyond its cases (e.g. a leak report)
        elif ok:
            passed += 1
        elif t.get("result") == "SKIP":
            skipped += 1  # exit 77: what it needs is absent here (e.g. CAF), not a failure
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
