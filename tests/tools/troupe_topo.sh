#!/bin/sh
# tests/tools/troupe_topo.sh TROUPE_TOPO HAVE_HWLOC — the troupe-topo tool:
# a simulated machine (2 packages x 2 NUMA nodes x 16 cores) printed as
# hwloc sees it, a deployment's pools placed on it (a pool on NUMA node 1
# on CPUs 16-31, steal order within the node), a bad file's line-numbered
# error and exit code 1, a usage error's exit code 2. Nothing is bound: the
# machine is simulated. Without hwloc, simulation is refused (exit 1).
set -eu
topo=$1 have_hwloc=$2
dir=$(mktemp -d /tmp/troupe-topo-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$dir/out" "$dir/err" 2>/dev/null; exit 1; }
unset TROUPE_DEPLOY TROUPE_DEPLOY_FILE || true
synth="package:2 numa:2 core:16 pu:1"

# this machine, no deployment: the default pool
"$topo" > "$dir/out" 2> "$dir/err" || fail "this machine: exit $?"
grep -q '^machine: this machine' "$dir/out" || fail "no machine line"
grep -q '^deployment: none, the defaults (1 pools)' "$dir/out" || fail "no defaults"
grep -q '^pool default: ' "$dir/out" || fail "no default pool"

# a usage error
rc=0; "$topo" --nope > "$dir/out" 2> "$dir/err" || rc=$?
[ "$rc" = 2 ] || fail "usage error: exit $rc, want 2"

if [ "$have_hwloc" != true ]; then
    rc=0; "$topo" --synthetic "$synth" > "$dir/out" 2> "$dir/err" || rc=$?
    [ "$rc" = 1 ] || fail "simulation without hwloc: exit $rc, want 1"
    grep -q 'TROUPE_ENOTSUP' "$dir/err" || fail "no ENOTSUP"
    echo "troupe-topo: ok (without hwloc)"; exit 0
fi

# the simulated machine
printf '# the shards\npool default workers=2 cpus=0-1\npool shard1 numa=1 workers=4 spin_us=20\n' > "$dir/good"
"$topo" --synthetic "$synth" --file "$dir/good" > "$dir/out" 2> "$dir/err" || fail "good file: exit $?"
for want in 'machine: simulated, 2 packages, 4 NUMA nodes, 64 cores, 64 PUs' \
            'numa 1: package 0, cpus 16-31 (16 cores, 16 PUs)' \
            'numa 3: package 1, cpus 48-63 (16 cores, 16 PUs)' \
            "deployment: $dir/good (2 pools)" \
            'binding: none (a simulated machine is never bound to)' \
            'pool shard1: 4 workers on cpus 16-31, pin yes, blocking no' \
            '  worker 0: cpu 16, numa 1, steals from 1 2 3' \
            '  worker 3: cpu 19, numa 1, steals from 0 1 2'; do
    grep -qxF "$want" "$dir/out" || fail "missing line: $want"
done
# the default pool over the whole machine: worker 0 steals its node first
"$topo" --synthetic "$synth" > "$dir/out" 2> "$dir/err" || fail "defaults: exit $?"
grep -qxF '  worker 0: cpu 0, numa 0, steals from 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 ...' "$dir/out" \
    || fail "steal order of worker 0"

# the environment, with ';' between lines
TROUPE_DEPLOY='pool io blocking=yes workers=1 max=8;pool x cpus=40' \
    "$topo" --synthetic "$synth" > "$dir/out" 2> "$dir/err" || fail "TROUPE_DEPLOY: exit $?"
grep -qxF 'pool io: 1 workers on cpus 0-63 (the default), pin yes, blocking yes (max 8)' "$dir/out" || fail "io pool"
grep -qxF '  worker 0: cpu 40, numa 2, steals from none' "$dir/out" || fail "pool x"

# a bad file: the line and the key, exit 1
printf 'pool a\n\npool b wrokers=2\n' > "$dir/bad"
rc=0; "$topo" --synthetic "$synth" --file "$dir/bad" > "$dir/out" 2> "$dir/err" || rc=$?
[ "$rc" = 1 ] || fail "bad file: exit $rc, want 1"
grep -qxF "troupe-topo: $dir/bad: line 3: unknown key 'wrokers' (TROUPE_EINVAL)" "$dir/err" || fail "bad file's error"
# a CPU the simulated machine lacks
rc=0; TROUPE_DEPLOY_FILE=$dir/cpu "$topo" --synthetic "$synth" > "$dir/out" 2> "$dir/err" || rc=$?
[ "$rc" = 1 ] || fail "missing file: exit $rc"
printf 'pool a cpus=64\n' > "$dir/cpu"
rc=0; TROUPE_DEPLOY_FILE=$dir/cpu "$topo" --synthetic "$synth" > "$dir/out" 2> "$dir/err" || rc=$?
[ "$rc" = 1 ] || fail "cpu 64: exit $rc"
grep -qF 'line 1: cpus: the machine has no CPU 64 (TROUPE_ENOTFOUND)' "$dir/err" || fail "cpu 64's error"
echo "troupe-topo: ok"
