#!/usr/bin/env bash
# tests/trace/run_cluster.sh TRACE_CLUSTER_PROG WORK_DIR — a trace across two
# nodes against the real OTLP/HTTP receiver (receiver.js, as run.sh). Run
# inside tests/cluster/run_nats.sh, which starts PostgreSQL and NATS and
# exports their addresses; this script starts the receiver on a free
# loopback port and its trap kills only that receiver.
set -euo pipefail
prog=$(realpath "$1")
work=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
. "$here/npm_setup.sh"

rpid=
cleanup() { [ -z "$rpid" ] || kill "$rpid" 2>/dev/null || true; }
trap cleanup EXIT

rm -f "$work/cluster.port" "$work/cluster.jsonl"
touch "$work/cluster.jsonl"
TROUPE_NPM_DIR="$work" node "$here/receiver.js" "$work/cluster.port" "$work/cluster.jsonl" 0 &
rpid=$!
for _ in $(seq 1 300); do
    [ -s "$work/cluster.port" ] && break
    sleep 0.1
done
port=$(cat "$work/cluster.port")
if ! "$prog" "http://127.0.0.1:$port/v1/traces" > "$work/cluster.out"; then
    echo "trace cluster: trace_cluster failed"; cat "$work/cluster.out"; exit 1
fi
python3 "$here/check.py" cluster "$work/cluster.jsonl" "$work/cluster.out"
