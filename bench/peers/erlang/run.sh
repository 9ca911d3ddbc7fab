#!/usr/bin/env bash
# bench/peers/erlang/run.sh — the benchmark workloads on Erlang/OTP.
#
#   run.sh [OUTDIR] [CASE...]
#
# Compiles the modules here with erlc into OUTDIR (a temporary directory,
# removed afterwards, when OUTDIR is missing, empty or "-"), then runs each
# case in a VM of its own with two schedulers:
#   erl +S 2:2 -noshell -pa OUTDIR -eval 'bench_main:main(CASE)' -s init stop
# Each prints `SUMMARY bench=<case> impl=erlang metric=<m> value=<v> unit=<u>`
# lines on stdout once its own cross-checks pass; anything else goes to
# stderr. A CASE argument selects every case whose name contains it
# (`fan_in` runs fan_in_2, fan_in_16 and fan_in_256); `savina` selects
# Savina 1-7, `restart` and `latency` the cases of troupe's bench_restart
# and bench_latency. No argument: all cases.
#
# TROUPE_BENCH_SCALE (default 1) scales every case's size. Exit status 1 if
# any case failed (the others still run).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

out=${1:-}
[ $# -gt 0 ] && shift
if [ -z "$out" ] || [ "$out" = "-" ]; then
    out=$(mktemp -d "${TMPDIR:-/tmp}/troupe-erlang-bench.XXXXXX")
    trap 'rm -rf "$out"' EXIT
fi

command -v erl >/dev/null && command -v erlc >/dev/null || {
    echo "erlang: erl/erlc not found (Debian: erlang-nox)" >&2
    exit 1
}

all=(ping_pong counting fork_join_throughput fork_join_create thread_ring chameneos big
     fan_in_2 fan_in_16 fan_in_256 spawn restart_cycle one_for_all_1000 registry_lookup
     ask_latency idle_cpu group_publish_1000)
savina=(ping_pong counting fork_join_throughput fork_join_create thread_ring chameneos big)

selected=()
if [ $# -eq 0 ]; then
    selected=("${all[@]}")
else
    for c in "${all[@]}"; do
        for want in "$@"; do
            case "$want" in
                savina) [[ " ${savina[*]} " == *" $c "* ]] ;;
                restart) [[ $c == restart_cycle || $c == one_for_all_1000 ]] ;;
                latency) [[ $c == ask_latency ]] ;;
                *) [[ $c == *"$want"* ]] ;;
            esac && { selected+=("$c"); break; }
        done
    done
    if [ ${#selected[@]} -eq 0 ]; then
        echo "erlang: no case matches: $* (cases: ${all[*]})" >&2
        exit 0
    fi
fi

mkdir -p "$out"
erlc +warnings_as_errors -I "$here" -o "$out" "$here"/*.erl

# The spawn case keeps 1 M processes (x scale) alive: raise the process
# limit (default 262,144) to fit them with room to spare.
scale=${TROUPE_BENCH_SCALE:-1}
procs=$(awk -v s="$scale" 'BEGIN { n = int(1000000 * s * 1.25) + 65536;
                                   print (n < 262144 ? 262144 : n) }')

# The default logger handler writes to stderr: stdout carries SUMMARY only.
logger_cfg='[{handler,default,logger_std_h,#{config=>#{type=>standard_error}}}]'

status=0
for c in "${selected[@]}"; do
    echo "== erlang $c (scale $scale)" >&2
    t0=$(date +%s.%N)
    if ! timeout 900 erl +S 2:2 +P "$procs" -noshell -pa "$out" -kernel logger "$logger_cfg" \
            -eval "bench_main:main($c)" -s init stop; then
        echo "erlang $c: FAIL" >&2
        status=1
    fi
    echo "   $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }')" >&2
done
exit $status
