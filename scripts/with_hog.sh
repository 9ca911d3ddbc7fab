#!/usr/bin/env bash
# scripts/with_hog.sh — run a command beside a CPU hog (issue 18: a busy
# machine), for troupe's benchmarks and the peers' alike.
#
#   BENCH_HOG=all scripts/with_hog.sh CMD [ARG...]   a spinning process per CPU
#   BENCH_HOG=one scripts/with_hog.sh CMD [ARG...]   one, on the first CPU
#   BENCH_HOG unset or "none": CMD alone
#
# Each hog is a busy shell loop pinned with taskset to its CPU, at the
# default priority (a compile or another service, not a niced job). The
# hogs start before CMD and are killed after it, by their own PIDs (a trap
# covers an interrupted run, and a hog whose script is gone stops by
# itself); CMD's exit status is returned. scripts/bench_all.py (make bench)
# wraps every benchmark in it when BENCH_HOG is set.
set -euo pipefail

mode=${BENCH_HOG:-none}
[ $# -gt 0 ] || { echo "usage: BENCH_HOG=all|one $0 CMD [ARG...]" >&2; exit 2; }

cpus=()
case "$mode" in
    none | "") exec "$@" ;;
    all) mapfile -t cpus < <(taskset -cp $$ | sed 's/.*: //' | tr ',' '\n' |
             awk -F- '{ if (NF == 2) for (i = $1; i <= $2; i++) print i; else print $1 }') ;;
    one) cpus=("$(taskset -cp $$ | sed 's/.*: //' | tr ',-' '\n\n' | head -1)") ;;
    *) echo "BENCH_HOG: all, one or none, not '$mode'" >&2; exit 2 ;;
esac

pids=()
cleanup() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
for c in "${cpus[@]}"; do
    # the hog ends with this script even if it is SIGKILLed (a timeout):
    # it checks every ~100 000 iterations that its parent still lives
    taskset -c "$c" bash -c 'while kill -0 '$$' 2>/dev/null; do for ((i = 0; i < 100000; i++)); do :; done; done' &
    pids+=($!)
done
echo "with_hog: ${#pids[@]} hog(s) on CPU ${cpus[*]}" >&2
sleep 0.2 # the hogs are running before the workload starts
status=0
"$@" || status=$?
exit $status
