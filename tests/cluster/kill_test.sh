#!/usr/bin/env bash
# tests/cluster/kill_test.sh NODE_EXE [KILLS] [LEASE_MS] [RENEW_MS] [MODE]
#
# MODE kill (default): each round SIGKILLs the owner. MODE stop: each round
# SIGSTOPs the owner for twice the lease, then SIGCONTs it: it resumes
# fenced, whatever it had in flight meets the journal's epoch check, and it
# is then stopped with SIGTERM (it logs its refused writes) and restarted.
# MODE pgrestart: each round stops the PostgreSQL server (fast: sessions
# cut) for twice the lease and starts it again on the same port: both
# nodes fence (they cannot renew), rejoin under new incarnations when it
# answers, and the cluster actor is claimed again (a new epoch); the nodes
# are not restarted, and the checker wants a rejoin of each node per round.
#
# kill -9 of the owning node, KILLS times (default 3), on loopback with a
# PostgreSQL server of its own (tests/persistence/pg_server.sh). Two node
# processes (tests/cluster/kill_node.c) share the cluster actor (ctr, "0");
# the one that owns it sends it operations and logs each acknowledged one.
# Each round kills the owner with SIGKILL, waits (bounded) until the other
# node acknowledges an operation, and starts a fresh process under the
# victim's name. Then kill_check.py compares the log with the journal:
# every acknowledged operation stored exactly once at the seq it was
# acknowledged with, seqs contiguous, epochs never decreasing, one node per
# epoch — and prints the failover gaps (the last acknowledgement by the old
# owner to the first by the new one) as SUMMARY lines.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
exe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
kills=${2:-3}
lease=${3:-3000}
renew=${4:-500}
mode=${5:-kill}
dir=$(mktemp -d /tmp/troupe-kill.XXXXXX)
chmod 755 "$dir"
pgdir="$dir/pg"
declare -A pid
nats_pid=
cleanup() {
    for n in "${!pid[@]}"; do kill -9 "${pid[$n]}" 2>/dev/null || true; done
    [ -n "$nats_pid" ] && kill "$nats_pid" 2>/dev/null || true
    "$here/../persistence/pg_server.sh" stop "$pgdir" || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

mkdir -p "$pgdir"
conninfo=$("$here/../persistence/pg_server.sh" start "$pgdir")
# A NATS server of its own (joining connects to NATS), on a free loopback port.
nats_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nats-server -a 127.0.0.1 -p "$nats_port" >"$dir/nats.log" 2>&1 &
nats_pid=$!
for _ in $(seq 100); do # bounded: 10 s
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $nats_port), 0.2)" 2>/dev/null && break
    sleep 0.1
done
export TROUPE_NATS_URL="nats://127.0.0.1:$nats_port"
log="$dir/acks.log"
: > "$log"
instance=0

start_node() { # NAME
    instance=$((instance + 1))
    "$exe" kill "$1" "$conninfo" "$log" $((instance * 1000000000)) "$lease" "$renew" \
        2>>"$dir/$1.err" &
    pid[$1]=$!
}

acks_by() { grep -c "^ack $1 " "$log" || true; }

# Wait (bounded: 60 s) until node NAME has more than N acknowledgements.
wait_acks() { # NAME N
    for _ in $(seq 600); do
        [ "$(acks_by "$1")" -gt "$2" ] && return 0
        sleep 0.1
    done
    echo "kill_test: $1 never passed $2 acknowledgements" >&2
    cat "$dir"/*.err >&2 || true
    return 1
}

# Wait (bounded: 60 s) until the log holds more than N acknowledgements.
wait_total() { # N
    for _ in $(seq 600); do
        [ "$(grep -c '^ack ' "$log" || true)" -gt "$1" ] && return 0
        sleep 0.1
    done
    echo "kill_test: no acknowledgement after round $k" >&2
    cat "$dir"/*.err >&2 || true
    return 1
}

psql_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
[ -x "$psql_bin" ] || psql_bin=psql

# Wait (bounded: 60 s) until both nodes run as incarnation N or later: the
# owner's acknowledgements say nothing of the other node, whose rejoin may
# come a renewal later (a round that halted PostgreSQL again before it would
# fence it once for two rounds).
wait_incarnations() { # N
    for _ in $(seq 600); do
        [ "$("$psql_bin" "$conninfo" -At -c "SELECT count(*) FROM troupe_nodes
            WHERE cluster = 'kill' AND node IN ('a', 'b') AND state = 'up' AND incarnation >= $1" 2>/dev/null)" = 2 ] &&
            return 0
        sleep 0.1
    done
    echo "kill_test: the nodes did not both rejoin as incarnation $1" >&2
    cat "$dir"/*.err >&2 || true
    return 1
}

start_node a
wait_acks a 20
start_node b
for k in $(seq "$kills"); do
    owner=$(grep '^ack' "$log" | tail -n 1 | awk '{print $2}')
    other=$([ "$owner" = a ] && echo b || echo a)
    wait_acks "$owner" $(( $(acks_by "$owner") + 50 ))
    before=$(acks_by "$other")
    if [ "$mode" = pgrestart ]; then
        "$here/../persistence/pg_server.sh" halt "$pgdir"
        sleep "$(python3 -c "print(2 * $lease / 1000)")"
        total=$(grep -c '^ack ' "$log" || true) # none can be made while it is down
        "$here/../persistence/pg_server.sh" resume "$pgdir"
        echo "kill_test: round $k: PostgreSQL stopped for twice the lease, started again"
        wait_total "$total"
        wait_incarnations $((k + 1)) # both rejoined: the next round fences each again
        continue
    elif [ "$mode" = stop ]; then
        kill -STOP "${pid[$owner]}"
        sleep "$(python3 -c "print(2 * $lease / 1000)")"
        wait_acks "$other" "$before"
        kill -CONT "${pid[$owner]}"
        sleep 1 # resumed: its in-flight writes meet the epoch check
        kill -TERM "${pid[$owner]}"
        wait "${pid[$owner]}" 2>/dev/null || true
        echo "kill_test: round $k: stopped $owner for twice the lease"
    else
        kill -9 "${pid[$owner]}"
        wait "${pid[$owner]}" 2>/dev/null || true
        echo "kill_test: round $k: killed $owner"
        wait_acks "$other" "$before"
    fi
    start_node "$owner"
done
owner=$(grep '^ack' "$log" | tail -n 1 | awk '{print $2}')
wait_acks "$owner" $(( $(acks_by "$owner") + 20 ))
for n in a b; do kill -TERM "${pid[$n]}"; done
for n in a b; do wait "${pid[$n]}" || true; unset "pid[$n]"; done

"$psql_bin" "$conninfo" -At -F ' ' -c \
    "SELECT seq, encode(data, 'hex') FROM troupe_events WHERE pid = 'kill/ctr/0' ORDER BY seq" \
    > "$dir/events.txt"
if [ "$mode" = pgrestart ]; then # each node rejoins each round; the owner need not change
    python3 "$here/kill_check.py" "$log" "$dir/events.txt" 0 --min-rejoins $((2 * kills)) \
        --min-epochs $((kills + 1))
else
    python3 "$here/kill_check.py" "$log" "$dir/events.txt" "$kills"
fi
