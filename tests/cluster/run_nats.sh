#!/usr/bin/env bash
# tests/cluster/run_nats.sh TEST_EXE [ARGS...] — run a cluster suite against
# servers of its own, on loopback: a PostgreSQL server (pg_server.sh) and
# three nats-server processes routed into one mesh (each --cluster on a free
# port, --routes to the other two). The suite gets TROUPE_PG_CONNINFO and
# TROUPE_NATS_URL_1..3 (and TROUPE_NATS_PID_1..3). Whatever happens, the trap
# stops the NATS servers this script started (by their PIDs) and the
# PostgreSQL server, and removes the directory. Every wait is bounded.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
pg="$here/../persistence/pg_server.sh"
dir=$(mktemp -d /tmp/troupe-nats.XXXXXX)
# Under /tmp, a directory of its own: as root the server runs as postgres,
# which must be able to reach it (pg_server.sh chowns it).
pgdir=$(mktemp -d /tmp/troupe-pg.XXXXXX)
pids=()

cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    "$pg" stop "$pgdir" || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

free_ports() {
    python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'
}

# Bounded: a server that does not listen within 10 s fails the run.
wait_port() {
    for _ in $(seq 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "run_nats.sh: nats-server on port $1 did not start" >&2
    cat "$dir"/nats*.log >&2 || true
    return 1
}

conninfo=$("$pg" start "$pgdir")

read -r c1 c2 c3 r1 r2 r3 <<<"$(free_ports)"
clients=("$c1" "$c2" "$c3")
routes=("$r1" "$r2" "$r3")
for i in 0 1 2; do
    peers=()
    for j in 0 1 2; do
        [ "$i" = "$j" ] || peers+=("nats://127.0.0.1:${routes[$j]}")
    done
    nats-server -a 127.0.0.1 -p "${clients[$i]}" --cluster_name troupe \
        --cluster "nats://127.0.0.1:${routes[$i]}" \
        --routes "$(IFS=,; echo "${peers[*]}")" >"$dir/nats$i.log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do wait_port "${clients[$i]}"; done
# The mesh: each server routed to the two others (bounded wait; a message
# published before a route is up would not cross it).
for i in 0 1 2; do
    for _ in $(seq 100); do
        [ "$(grep -c 'Route connection created' "$dir/nats$i.log" || true)" -ge 2 ] && break
        sleep 0.1
    done
done

export TROUPE_PG_CONNINFO="$conninfo"
export TROUPE_NATS_URL_1="nats://127.0.0.1:$c1" TROUPE_NATS_URL_2="nats://127.0.0.1:$c2"
export TROUPE_NATS_URL_3="nats://127.0.0.1:$c3"
export TROUPE_NATS_PID_1="${pids[0]}" TROUPE_NATS_PID_2="${pids[1]}" TROUPE_NATS_PID_3="${pids[2]}"
"$@"
