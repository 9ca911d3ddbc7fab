#!/usr/bin/env bash
# examples/cluster/demo.sh NODE_EXE — the cluster showcase (`make demo-cluster`),
# run by tests/cluster/run_nats.sh, which started a PostgreSQL server and three
# routed nats-servers on loopback (TROUPE_PG_CONNINFO, TROUPE_NATS_URL_1..3)
# and stops them afterwards.
#
# Three nodes (examples/cluster/node.c), each on its own NATS server, send
# operations to one persistent cluster actor, the ledger, wherever it lives.
# Once every node has been answered, the node that owns the ledger is killed
# with SIGKILL; a survivor claims it (epoch compare-and-set in PostgreSQL),
# recovers it from the journal and goes on answering. The killed node is
# started again and rejoins. Then every node leaves, and the journal is
# checked against the acknowledgements (tests/cluster/kill_check.py): every
# acknowledged operation stored exactly once at the seq it was acknowledged
# with, seqs contiguous, epochs never decreasing, one owner per epoch.
# Every wait is bounded; only the node processes started here are killed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
exe=$1
dir=$(mktemp -d /tmp/troupe-demo-cluster.XXXXXX)
chmod 755 "$dir"
log="$dir/acks.log"
: >"$log"
declare -A pid url
url[n1]=$TROUPE_NATS_URL_1 url[n2]=$TROUPE_NATS_URL_2 url[n3]=$TROUPE_NATS_URL_3
instance=0

cleanup() {
    for n in "${!pid[@]}"; do kill -9 "${pid[$n]}" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

start_node() { # NAME
    instance=$((instance + 1))
    "$exe" "$1" "$TROUPE_PG_CONNINFO" "${url[$1]}" "$log" $((instance * 1000000000)) \
        2>>"$dir/$1.err" &
    pid[$1]=$!
}

sent_by() { awk -v n="$1" '$1 == "ack" && $7 == n' "$log" | wc -l; }
owned_by_not() { awk -v n="$1" -v t="$2" '$1 == "ack" && $2 != n && $6 > t' "$log" | wc -l; }

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() {
    local limit=$1 what=$2
    shift 2
    for _ in $(seq $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    echo "demo-cluster: $what did not happen within ${limit} s" >&2
    cat "$dir"/*.err >&2 || true
    return 1
}
all_sent() { for n in n1 n2 n3; do [ "$(sent_by $n)" -ge "$1" ] || return 1; done; }
taken_over() { [ "$(owned_by_not "$1" "$2")" -gt 0 ]; }
sent_more() { [ "$(sent_by "$1")" -ge "$2" ]; }

echo "demo-cluster: PostgreSQL and three routed NATS servers on loopback; starting nodes n1 n2 n3"
for n in n1 n2 n3; do start_node $n; done
wait_for 60 "an answer to every node" all_sent 50
owner=$(awk '$1 == "ack"' "$log" | tail -n 1 | awk '{print $2}')
epoch=$(awk '$1 == "ack"' "$log" | tail -n 1 | awk '{print $3}')
echo "demo-cluster: the ledger lives on $owner (epoch $epoch); n1 n2 n3 each answered:" \
    "$(sent_by n1) $(sent_by n2) $(sent_by n3) operations"
t_kill=$(date +%s%N)
kill -9 "${pid[$owner]}"
wait "${pid[$owner]}" 2>/dev/null || true
unset "pid[$owner]"
echo "demo-cluster: kill -9 $owner (the owner), mid-run"
wait_for 60 "a failover" taken_over "$owner" "$t_kill"
first=$(awk -v n="$owner" -v t="$t_kill" '$1 == "ack" && $2 != n && $6 > t' "$log" | sort -k6,6n | head -n 1)
new_owner=$(echo "$first" | awk '{print $2}')
last_old=$(awk -v n="$owner" '$1 == "ack" && $2 == n' "$log" | sort -k6,6n | tail -n 1 | awk '{print $6}')
gap_ms=$(( ($(echo "$first" | awk '{print $6}') - last_old) / 1000000 ))
echo "demo-cluster: $new_owner took the ledger over (epoch $(echo "$first" | awk '{print $3}'))," \
    "recovered from the journal; gap from the last answer by $owner to the first by $new_owner:" \
    "$gap_ms ms"
before=$(sent_by "$owner")
start_node "$owner"
echo "demo-cluster: $owner started again: it rejoins once its old lease has expired"
wait_for 60 "the restarted $owner being answered" sent_more "$owner" $((before + 20))
for n in n1 n2 n3; do kill -TERM "${pid[$n]}"; done
for n in n1 n2 n3; do wait "${pid[$n]}" || true; unset "pid[$n]"; done
echo "demo-cluster: every node left; answered per sending node: n1 $(sent_by n1)," \
    "n2 $(sent_by n2), n3 $(sent_by n3)"

psql_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
[ -x "$psql_bin" ] || psql_bin=psql
"$psql_bin" "$TROUPE_PG_CONNINFO" -At -F ' ' -c \
    "SELECT seq, encode(data, 'hex') FROM troupe_events WHERE pid = 'demo/ledger/bank' ORDER BY seq" \
    >"$dir/events.txt"
python3 "$here/../../tests/cluster/kill_check.py" "$log" "$dir/events.txt" 1 | grep -v '^SUMMARY'
echo "demo-cluster: checks passed: every acknowledged operation stored once, in order, one owner per epoch"
