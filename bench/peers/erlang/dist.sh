#!/usr/bin/env bash
# bench/peers/erlang/dist.sh [N] — issue 14's messaging cases on Erlang
# distribution (bench_dist.erl), the peer of bench/cluster_remote.c: an epmd
# of its own on a free port, node b serving and node a measuring, both on
# 127.0.0.1 (-sname x@localhost, distribution bound to loopback), two
# schedulers each. N (default 1000000 x TROUPE_BENCH_SCALE) messages per
# sender; N/50 asks. The trap stops exactly the processes this script started.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v erl >/dev/null && command -v erlc >/dev/null && command -v epmd >/dev/null || {
    echo "erlang: erl/erlc/epmd not found (Debian: erlang-nox)" >&2
    exit 1
}
scale=${TROUPE_BENCH_SCALE:-1}
n=${1:-$(python3 -c "print(max(1000, int(1000000 * $scale)))")}
out=$(mktemp -d "${TMPDIR:-/tmp}/troupe-erlang-dist.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

erlc -o "$out" "$here/bench_dist.erl"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ERL_EPMD_PORT=$port
epmd -port "$port" -address 127.0.0.1 &
pids+=($!)
for _ in $(seq 100); do epmd -port "$port" -names >/dev/null 2>&1 && break; sleep 0.1; done

flags=(+S 2:2 -noshell -pa "$out" -setcookie troupe_bench
       -kernel inet_dist_use_interface '{127,0,0,1}')
b="b$$@localhost"
erl "${flags[@]}" -sname "$b" -eval 'bench_dist:serve()' -s init stop &
pids+=($!)
for _ in $(seq 100); do epmd -port "$port" -names 2>/dev/null | grep -q "b$$" && break; sleep 0.1; done
erl "${flags[@]}" -sname "a$$@localhost" -eval "bench_dist:main([\"$b\", \"$n\"])" -s init stop
