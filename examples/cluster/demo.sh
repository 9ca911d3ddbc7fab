#!/usr/bin/env bash
# examples/cluster/demo.sh NODE_EXE CHECK_EXE — the cluster showcase
# (`make demo-cluster`), run by tests/cluster/run_nats.sh, which started a
# PostgreSQL server and three routed nats-servers on loopback
# (TROUPE_PG_CONNINFO, TROUPE_NATS_URL_1..3) and stops them afterwards.
#
# Three nodes (examples/cluster/node.c), each on its own NATS server, run
# the chain and the engine of `make demo` as cluster actors (persistent, on
# the PostgreSQL journal, guarded by the ownership epoch) and load both from
# every node: blocks produced and imported, payloads executed. Once every
# node has been answered by both, the node that owns the chain is killed
# with SIGKILL; a survivor claims it (epoch compare-and-set in PostgreSQL),
# recovers it from the journal and goes on answering: the script prints who
# took over and the gap. The killed node is started again and rejoins. Then
# the load stops, every node reads both actors' whole state through its ref,
# every node leaves, and examples/cluster/check.c runs the checks of
# `make demo` on the copies, the journal and the acknowledgements. Each node
# serves the dashboard (URLs printed at the start); after the failover the
# API's nodes and actors views and the new owner's /metrics are printed
# (examples/cluster/views.py: the failover must be counted there).
# Every wait is bounded; only the node processes started here are killed.
# Exit status: 0 when every check held.
set -euo pipefail

node_exe=$1
check_exe=$2
dir=$(mktemp -d /tmp/troupe-demo-cluster.XXXXXX)
chmod 755 "$dir"
log="$dir/acks.log"
: >"$log"
declare -A pid url index
url[n1]=$TROUPE_NATS_URL_1 url[n2]=$TROUPE_NATS_URL_2 url[n3]=$TROUPE_NATS_URL_3
index[n1]=1 index[n2]=2 index[n3]=3
instance=0

cleanup() {
    for n in "${!pid[@]}"; do kill -9 "${pid[$n]}" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

start_node() { # NAME
    instance=$((instance + 1))
    "$node_exe" "$1" "${index[$1]}" "$TROUPE_PG_CONNINFO" "${url[$1]}" "$dir" \
        $((instance * 1000000000)) 2>>"$dir/$1.err" &
    pid[$1]=$!
}

say() { echo "demo-cluster: $*"; }
acks() { awk -v k="$1" -v n="$2" '$1 == "ack" && $2 == k && $7 == n' "$log" | wc -l; }
lines() { awk -v w="$1" '$1 == w' "$log" | wc -l; }
last_ack() { awk -v k="$1" '$1 == "ack" && $2 == k' "$log" | sort -k6,6n | tail -n 1; }

# wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() {
    local limit=$1 what=$2
    shift 2
    for _ in $(seq $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    say "$what did not happen within ${limit} s" >&2
    cat "$dir"/*.err >&2 || true
    return 1
}
all_answered() {
    for n in n1 n2 n3; do
        [ "$(acks chain $n)" -ge "$1" ] && [ "$(acks engine $n)" -ge "$1" ] || return 1
    done
}
chain_taken_over() { # VICTIM T_KILL
    awk -v n="$1" -v t="$2" '$1 == "ack" && $2 == "chain" && $3 != n && $6 > t' "$log" |
        grep -q .
}
answered_more() { [ "$(acks chain "$1")" -ge "$2" ] && [ "$(acks engine "$1")" -ge "$3" ]; }
all_said() { [ "$(lines "$1")" -ge 3 ]; }

say "PostgreSQL and three routed NATS servers on loopback; starting nodes n1 n2 n3"
for n in n1 n2 n3; do start_node $n; done
wait_for 60 "answers from the chain and the engine to every node" all_answered 100
say "dashboards:$(awk '$1 == "http" { printf " %s http://127.0.0.1:%s/", $2, $3 }' "$log")"
read -r _ _ owner epoch _ <<<"$(last_ack chain)"
read -r _ _ eowner eepoch _ <<<"$(last_ack engine)"
say "the chain lives on $owner (epoch $epoch), the engine on $eowner (epoch $eepoch);" \
    "acknowledged so far per node (chain/engine): n1 $(acks chain n1)/$(acks engine n1)," \
    "n2 $(acks chain n2)/$(acks engine n2), n3 $(acks chain n3)/$(acks engine n3)"

t_kill=$(date +%s%N)
kill -9 "${pid[$owner]}"
wait "${pid[$owner]}" 2>/dev/null || true
unset "pid[$owner]"
say "kill -9 $owner (the chain's owner), mid-run, under load from every node"
wait_for 60 "a failover of the chain" chain_taken_over "$owner" "$t_kill"
first=$(awk -v n="$owner" -v t="$t_kill" '$1 == "ack" && $2 == "chain" && $3 != n && $6 > t' \
    "$log" | sort -k6,6n | head -n 1)
read -r _ _ new_owner new_epoch _ t_first _ <<<"$first"
t_last=$(awk -v n="$owner" '$1 == "ack" && $2 == "chain" && $3 == n' "$log" | sort -k6,6n |
    tail -n 1 | awk '{print $6}')
gap_ms=$(((t_first - t_last) / 1000000))
say "$new_owner took the chain over (epoch $epoch -> $new_epoch), recovered it from the" \
    "journal; gap from the last block acknowledged by $owner to the first by $new_owner: $gap_ms ms"
echo "SUMMARY bench=demo_cluster impl=troupe metric=chain_failover_gap value=$gap_ms unit=ms"
if [ "$eowner" = "$owner" ]; then
    say "the engine lived on $owner too: it failed over with the chain"
fi

before_c=$(acks chain "$owner")
before_e=$(acks engine "$owner")
start_node "$owner"
say "$owner started again: it rejoins once its old lease has expired"
wait_for 60 "the restarted $owner being answered" answered_more "$owner" $((before_c + 20)) \
    $((before_e + 20))

# The HTTP API of a survivor, and the new owner's /metrics (the failover counted)
python3 "$(dirname "$0")/views.py" "$log" "$([ "$owner" = n1 ] && echo n2 || echo n1)" "$new_owner"

for n in n1 n2 n3; do kill -USR1 "${pid[$n]}"; done
wait_for 30 "every node stopping its load" all_said stopped
read -r _ _ cowner cepoch _ <<<"$(last_ack chain)"
read -r _ _ eowner eepoch _ <<<"$(last_ack engine)"
say "load stopped; the chain on $cowner (epoch $cepoch), the engine on $eowner (epoch $eepoch);" \
    "every node reads both whole states through its ref"
for n in n1 n2 n3; do kill -USR2 "${pid[$n]}"; done
wait_for 60 "every node reading the states" all_said dumped
for n in n1 n2 n3; do kill -TERM "${pid[$n]}"; done
for n in n1 n2 n3; do wait "${pid[$n]}" || true; unset "pid[$n]"; done
say "every node left; acknowledged per node (chain/engine): n1 $(acks chain n1)/$(acks engine n1)," \
    "n2 $(acks chain n2)/$(acks engine n2), n3 $(acks chain n3)/$(acks engine n3)"

awk '$1 == "stats" { p += $4; i += $6; s += $8; f += $10; y += $14; a += $16 }
     END { printf "demo-cluster: load of the last run of each node: %d blocks produced, %d imported,"\
           " %d imports stale (another won the height), %d forged refused; %d payloads; %d asks"\
           " failed and re-resolved\n", p, i, s, f, y, a }' "$log"

psql_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
[ -x "$psql_bin" ] || psql_bin=psql
for k in chain engine; do
    "$psql_bin" "$TROUPE_PG_CONNINFO" -At -F ' ' -c \
        "SELECT seq, encode(data, 'hex') FROM troupe_events WHERE pid = 'demo/$k/main' ORDER BY seq" \
        >"$dir/$k.events"
done
if ! "$check_exe" "$dir" n1 n2 n3; then
    say "FAILED"
    exit 1
fi
say "every check held"

# The checker must catch what it checks (the meson test sets
# TROUPE_DEMO_SELFTEST=1): a copy changed, a payload applied twice, a block
# missing from the journal — each must fail the checks.
must_fail() { # WHAT: the checker on the tampered $dir/t must exit 1
    if "$check_exe" "$dir/t" n1 n2 n3 >"$dir/t.out"; then
        say "self-test: the checks missed $1" >&2
        exit 1
    fi
    rm -rf "$dir/t"
}
tampered() { mkdir "$dir/t" && cp "$dir"/*.events "$dir"/n?.chain "$dir"/n?.engine "$log" "$dir/t/"; }
if [ "${TROUPE_DEMO_SELFTEST:-0}" = 1 ]; then
    tampered && printf '\x01' | dd of="$dir/t/n2.engine" bs=1 seek=8 conv=notrunc status=none
    must_fail "a changed copy"
    tampered && tail -n 1 "$dir/engine.events" |
        awk -v n="$(wc -l <"$dir/engine.events")" '{print n + 1, $2}' >>"$dir/t/engine.events"
    must_fail "a payload applied twice"
    tampered && sed -i '5d' "$dir/t/chain.events"
    must_fail "a block missing from the journal"
    say "self-test: the checks catch a changed copy, a doubled payload, a missing block"
fi
