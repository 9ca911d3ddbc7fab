#!/usr/bin/env bash
# tests/trace/run.sh TRACE_PROG WORK_DIR — tracing against a real OTLP/HTTP
# receiver (receiver.js: the OpenTelemetry project's own protobuf decoders
# from @opentelemetry/otlp-transformer 0.57.2, installed with `npm ci` into
# WORK_DIR once, again when the lock changes). One receiver per case, on a
# free loopback port; the trap kills only the receivers this script
# started. Cases: trace_prog.c's header.
set -euo pipefail
prog=$(realpath "$1")
work=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
. "$here/npm_setup.sh"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_receiver CASE FAIL_FIRST: sets $port, spans go to $work/CASE.jsonl
start_receiver() {
    rm -f "$work/$1.port" "$work/$1.jsonl"
    touch "$work/$1.jsonl"
    TROUPE_NPM_DIR="$work" node "$here/receiver.js" "$work/$1.port" "$work/$1.jsonl" "$2" &
    pids+=($!)
    for _ in $(seq 1 300); do
        [ -s "$work/$1.port" ] && break
        sleep 0.1
    done
    port=$(cat "$work/$1.port")
}

fail=0
for c in chain json retry sample restart call failover; do
    start_receiver "$c" "$([ "$c" = retry ] && echo 1 || echo 0)"
    if ! "$prog" "$c" "http://127.0.0.1:$port/v1/traces" > "$work/$c.out"; then
        echo "trace $c: trace_prog failed"; cat "$work/$c.out"; fail=1; continue
    fi
    python3 "$here/check.py" "$c" "$work/$c.jsonl" "$work/$c.out" || fail=1
done
# down: no receiver (a port we held and closed); the counts are trace_prog's
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if "$prog" down "http://127.0.0.1:$port/v1/traces" > "$work/down.out"; then
    echo "trace down: ok ($(cat "$work/down.out"))"
else
    echo "trace down: FAIL ($(cat "$work/down.out"))"; fail=1
fi
exit $fail
