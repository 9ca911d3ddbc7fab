#!/usr/bin/env bash
# tests/cluster/partition_test.sh NODE_EXE [LEASE_MS] [RENEW_MS]
#
# A network partition (issue 14, test 3), with a network namespace the
# test creates: node a (tests/cluster/kill_node.c) runs inside it, linked
# to the host by a veth pair on a private /30; node b runs on the host.
# PostgreSQL listens on 127.0.0.1 and on the host's end of the veth (and
# trusts that /30); NATS is two routed servers, one on 127.0.0.1 for b, one
# on the host's end of the veth for a. Nothing listens on an address that
# leaves the machine: the veth exists only inside it.
#
# a owns the cluster actor (ctr, "0") and sends it operations; then a's
# link is cut (the namespace's end of the veth set down: packets of a's
# established connections go nowhere, TCP retransmits in silence) for
# twice the lease. Meanwhile a fences itself (its renewals run against the
# lease's deadline, its journal's calls against theirs: none blocks for the
# partition), b claims the actor once a's lease expires in the server's
# time and acknowledges operations. The link is restored: a rejoins under
# a new incarnation (waited for, bounded, in troupe_nodes), b keeps the
# actor. kill_check.py then checks the journal against every
# acknowledgement (contiguous seqs, each acknowledged op stored once at its
# seq and epoch, epochs never decreasing, one writer per epoch), at least
# one change of owner and a's rejoin; whatever a wrote late was refused
# (fenced) or failed, never acknowledged.
#
# Needs root (ip netns). Where a namespace cannot be made the test is
# skipped (exit 77) and says so: it does not fall back to another fault.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
exe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
lease=${2:-3000}
renew=${3:-500}

ns=troupe-p$$
vh=tpv$$h
vn=tpv$$n
net=10.213.$(($$ % 250)).
host_ip=${net}1
ns_ip=${net}2
dir=$(mktemp -d /tmp/troupe-part.XXXXXX)
chmod 755 "$dir"
pgdir="$dir/pg"
declare -A pid
nats=()

cleanup() {
    for n in "${!pid[@]}"; do kill -9 "${pid[$n]}" 2>/dev/null || true; done
    for p in "${nats[@]}"; do kill "$p" 2>/dev/null || true; done
    "$here/../persistence/pg_server.sh" stop "$pgdir" || true
    ip link del "$vh" 2>/dev/null || true # its peer goes with it
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

if [ "$(id -u)" -ne 0 ] || ! ip netns add "$ns" 2>"$dir/netns.err"; then
    echo "partition_test: SKIPPED: no network namespace here (needs root and ip netns):" \
         "$(cat "$dir/netns.err" 2>/dev/null)" >&2
    exit 77
fi
ip link add "$vh" type veth peer name "$vn"
ip link set "$vn" netns "$ns"
ip addr add "$host_ip/30" dev "$vh"
ip link set "$vh" up
ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$vn"
ip netns exec "$ns" ip link set "$vn" up
ip netns exec "$ns" ip link set lo up
echo "partition_test: namespace $ns, veth $vh ($host_ip) <-> $vn ($ns_ip)"

mkdir -p "$pgdir"
conninfo=$(PG_LISTEN="127.0.0.1,$host_ip" PG_TRUST="${net}0/30" \
    "$here/../persistence/pg_server.sh" start "$pgdir")
conninfo_ns=${conninfo/host=127.0.0.1/host=$host_ip}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() { # ADDR PORT, bounded: 10 s
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('$1', $2), 0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "partition_test: nothing listens on $1:$2" >&2
    return 1
}
# Two routed NATS servers: one on loopback (b's), one on the veth (a's).
p1=$(free_port) r1=$(free_port) p2=$(free_port) r2=$(free_port)
nats-server -a 127.0.0.1 -p "$p1" --cluster "nats://127.0.0.1:$r1" \
    --routes "nats://127.0.0.1:$r2" >"$dir/nats1.log" 2>&1 &
nats+=($!)
nats-server -a "$host_ip" -p "$p2" --cluster "nats://127.0.0.1:$r2" \
    --routes "nats://127.0.0.1:$r1" >"$dir/nats2.log" 2>&1 &
nats+=($!)
wait_port 127.0.0.1 "$p1"
wait_port "$host_ip" "$p2"

log="$dir/acks.log"
: > "$log"
start_a() {
    TROUPE_NATS_URL="nats://$host_ip:$p2" ip netns exec "$ns" \
        "$exe" part a "$conninfo_ns" "$log" 1000000000 "$lease" "$renew" 2>>"$dir/a.err" &
    pid[a]=$!
}
start_b() {
    TROUPE_NATS_URL="nats://127.0.0.1:$p1" \
        "$exe" part b "$conninfo" "$log" 2000000000 "$lease" "$renew" 2>>"$dir/b.err" &
    pid[b]=$!
}
acks_by() { grep -c "^ack $1 " "$log" || true; }
wait_acks() { # NAME N, bounded: 60 s
    for _ in $(seq 600); do
        [ "$(acks_by "$1")" -gt "$2" ] && return 0
        sleep 0.1
    done
    echo "partition_test: $1 never passed $2 acknowledgements" >&2
    cat "$dir"/*.err >&2 || true
    return 1
}
psql_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
[ -x "$psql_bin" ] || psql_bin=psql
q() { "$psql_bin" "$conninfo" -At -F " " -c "$1"; }

start_a
wait_acks a 20
start_b
wait_acks a $(( $(acks_by a) + 50 ))
inc=$(q "SELECT incarnation FROM troupe_nodes WHERE cluster = 'part' AND node = 'a'")
before=$(acks_by b)

ip netns exec "$ns" ip link set "$vn" down
echo "partition_test: a's link cut for twice the lease"
sleep "$(python3 -c "print(2 * $lease / 1000)")"
acks_b_cut=$(acks_by b)
ip netns exec "$ns" ip link set "$vn" up
echo "partition_test: link restored; b acknowledged $((acks_b_cut - before)) operations meanwhile"
wait_acks b "$before"

# a rejoins: a newer incarnation of it up with a running lease (bounded: 30 s)
for i in $(seq 300); do
    up=$(q "SELECT count(*) FROM troupe_nodes WHERE cluster = 'part' AND node = 'a'
            AND incarnation > $inc AND state = 'up' AND lease_until > now()")
    [ "$up" = 1 ] && break
    [ "$i" = 300 ] && { echo "partition_test: a never rejoined" >&2; cat "$dir"/*.err >&2; exit 1; }
    sleep 0.1
done
echo "partition_test: a rejoined (incarnation $inc -> $(q "SELECT incarnation FROM troupe_nodes
    WHERE cluster = 'part' AND node = 'a'"))"
wait_acks b $(( $(acks_by b) + 20 ))
for n in a b; do kill -TERM "${pid[$n]}"; done
for n in a b; do wait "${pid[$n]}" || true; unset "pid[$n]"; done

q "SELECT seq, encode(data, 'hex') FROM troupe_events WHERE pid = 'part/ctr/0' ORDER BY seq" \
    > "$dir/events.txt"
grep '^stats' "$log" || true
python3 "$here/kill_check.py" "$log" "$dir/events.txt" 1 --min-rejoins 1
