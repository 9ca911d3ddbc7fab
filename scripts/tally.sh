#!/usr/bin/env bash
# scripts/tally.sh BUILD_DIR... — sum the Criterion verdicts of the last
# `meson test` run in each build dir and print one closing line,
# "tests: N passed, M failed" (crashed cases count as failed). It reads the
# runners' own "Synthesis:" lines from meson's logs; it decides nothing.
set -euo pipefail
pass=0; fail=0
for d in "$@"; do
    log="$d/meson-logs/testlog.txt"
    [ -f "$log" ] || continue
    while read -r p f c; do
        pass=$((pass + p)); fail=$((fail + f + c))
    done < <(sed -n 's/.*Synthesis: Tested: [0-9]* | Passing: \([0-9]*\) | Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1 \2 \3/p' "$log")
done
echo "tests: $pass passed, $fail failed"
