#!/usr/bin/env bash
# scripts/fuzz.sh BUILD_DIR SECONDS [JOBS] — run every libFuzzer harness
# built in BUILD_DIR/tests/fuzz (docs/FUZZING.md) for SECONDS each, JOBS at
# once (default 1; at most the cores you may use), and print one summary
# line per harness: executions, coverage (cov: edges, ft: features),
# corpus size, crashes. Exit 1 if any harness crashed, leaked, timed out or
# did not run.
#
# Each harness starts from its committed seeds (tests/fuzz/corpus/NAME, never
# written to) and writes what it finds to BUILD_DIR/fuzz-corpus/NAME, kept
# between runs; a crashing input lands in BUILD_DIR/fuzz-crashes/NAME/.
# FUZZ="json frame" restricts the run to those harnesses.
set -euo pipefail
dir=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [JOBS]}
secs=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [JOBS]}
jobs=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=$root/tests/fuzz/corpus
logs=$dir/fuzz-logs
mkdir -p "$logs"

names=()
for exe in "$dir"/tests/fuzz/fuzz-*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    n=${exe##*/fuzz-}
    if [ -n "${FUZZ:-}" ] && [[ " $FUZZ " != *" $n "* ]]; then continue; fi
    names+=("$n")
done
[ ${#names[@]} -gt 0 ] || { echo "fuzz: no harness in $dir/tests/fuzz" >&2; exit 1; }

# One harness: -timeout catches a unit stuck past FUZZ_TIMEOUT s (25; a
# run niced beside other work needs more: a starved process's unit can
# pass 25 s of wall time without being stuck) (a hang is a bug
# too); -rss_limit_mb a runaway allocation. The exit code is kept apart.
run_one() {
    local n=$1 work=$dir/fuzz-corpus/$1 crash=$dir/fuzz-crashes/$1/
    mkdir -p "$work" "$crash"
    local rc=0
    "$dir/tests/fuzz/fuzz-$n" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-25}" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crash" "$work" "$seeds/$n" \
        >"$logs/$n.log" 2>&1 || rc=$?
    echo "$rc" >"$logs/$n.rc"
}

touch "$logs/start.stamp" # crashes counted: the ones this run wrote
pids=()
for n in "${names[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    echo "fuzz: $n for ${secs}s"
    run_one "$n" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done

failed=0
: >"$logs/results.txt" # per harness, for scripts/tally.sh
printf '%-10s %12s %8s %8s %7s %8s  %s\n' harness executions cov ft corpus crashes result
for n in "${names[@]}"; do
    log=$logs/$n.log
    rc=$(cat "$logs/$n.rc" 2>/dev/null || echo 99)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    # crash-, leak-, timeout-, oom- files; libFuzzer's slow-unit- files (an
    # input over 10 s, which a starved process reports) are not findings
    crashes=$(find "$dir/fuzz-crashes/$n" -type f -newer "$logs/start.stamp" \
        ! -name 'slow-unit-*' | wc -l)
    result=ok
    if [ "$rc" != 0 ] || [ -z "$execs" ]; then
        result="FAILED (exit $rc; $log)"
        failed=1
    fi
    echo "$n $([ "$result" = ok ] && echo ok || echo failed)" >>"$logs/results.txt"
    printf '%-10s %12s %8s %8s %7s %8s  %s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$crashes" "$result"
done
if [ "$failed" = 1 ]; then
    echo "fuzz: a harness failed; its input is in $dir/fuzz-crashes/NAME/ (the log says which)" >&2
    for n in "${names[@]}"; do
        [ "$(cat "$logs/$n.rc")" = 0 ] || grep -E -m3 'ERROR|SUMMARY|Test unit written' "$logs/$n.log" >&2 || true
    done
fi
exit "$failed"
