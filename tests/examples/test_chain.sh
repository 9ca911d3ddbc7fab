#!/usr/bin/env bash
# tests/examples/test_chain.sh — the migration showcase (examples/chain, what
# `make demo` runs), twice on one temporary data directory (meson test
# 'examples-chain', suite 'examples').
#
#   test_chain.sh CHAIN_BINARY
#
# Run 1 (a new chain) must exit 0 and show: no mismatch and no failed call
# (the SUMMARY lines it writes to --summary FILE, none on stdout), at least
# one restart (a panic is injected a tenth of
# the way in, whatever the machine's speed), the flags set to legacy, shadow
# and actor, and each adapter's copies switched legacy -> both -> actor.
# Run 2 on the same directory must print "resumed at height N" with N the
# final height of run 1 (what the chain actor's SQLite journal holds), and
# pass the same checks. Both must end with an honest summary of at most 24
# lines: the legacy and the actor paths each measured alone and both in
# memory (the regression figure), the durable actor apart and labelled as
# such, p50 <= p99 for each, as sorted samples give. Nothing here depends on
# how fast the machine is: only counts, texts and orders are compared.
set -euo pipefail

bin="${1:?usage: test_chain.sh CHAIN_BINARY}"
[ -x "$bin" ] || { echo "FAIL: $bin is not an executable (build it first)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/run*.out; do
        [ -f "$f" ] && { echo "---- $f" >&2; cat "$f" >&2; }
    done
    exit 1
}

# The value of one SUMMARY metric of a run's summary file ("" if absent).
metric() {
    sed -n "s/^SUMMARY bench=chain_demo impl=troupe metric=$2 value=\([0-9.e+-]*\) unit=.*/\1/p" \
        "${1%.out}.sum" | head -n1
}

# One run on the shared data directory; a hang guard of 120 s.
run() {
    local out="$tmp/run$1.out" rc=0
    timeout 120 "$bin" --seconds 3 --data "$tmp/data" --http-port 0 --summary "$tmp/run$1.sum" \
        >"$out" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || fail "run $1 exited with $rc"
}

# What both runs must show.
check_run() {
    local out="$tmp/run$1.out"
    grep -q '^chain demo: every check held$' "$out" || fail "run $1: a check failed"
    [ "$(metric "$out" mismatches)" = 0 ] || fail "run $1: mismatches $(metric "$out" mismatches)"
    [ "$(metric "$out" errors)" = 0 ] || fail "run $1: failed calls $(metric "$out" errors)"
    local restarts
    restarts=$(metric "$out" restarts)
    [ -n "$restarts" ] && [ "$restarts" -ge 1 ] || fail "run $1: restarts '$restarts', want >= 1"
    for mode in legacy shadow actor; do
        grep -q "^\[ *[0-9.]* s\] flags adapter.chain, adapter.engine -> $mode:" "$out" ||
            fail "run $1: the flags never went to $mode"
    done
    for ad in chain engine; do
        for step in 'legacy -> both' 'both -> actor'; do
            grep -q "\] $ad adapter switched its copies: $step " "$out" ||
                fail "run $1: the $ad adapter never switched $step"
        done
    done
    grep -q 'dashboard: http://127\.0\.0\.1:[0-9]*/' "$out" || fail "run $1: no dashboard line"
    check_summary "$1"
}

# The summary screen: one screen, each path alone with measured p50 <= p99,
# the regression figure in memory, durability apart; SUMMARY in the file only.
check_summary() {
    local out="$tmp/run$1.out" lines
    ! grep -q '^SUMMARY' "$out" || fail "run $1: SUMMARY lines on stdout"
    lines=$(sed -n '/^== summary ==$/,$p' "$out" | wc -l)
    [ "$lines" -ge 10 ] && [ "$lines" -le 24 ] || fail "run $1: a summary of $lines lines"
    for path in 'legacy: rwlock structs, in memory' 'actor: actors, state in memory' \
        'actor, durable: SQLite journal'; do
        grep -q "^    $path  *[0-9.]* k  *[0-9.]* µs  *[0-9.]* µs$" "$out" ||
            fail "run $1: no figures for '$path'"
    done
    grep -q '^  regression figure, both in memory: actor / legacy = [0-9.]*x calls/s$' "$out" ||
        fail "run $1: no regression figure"
    grep -q '^  durability, apart (each write in SQLite' "$out" || fail "run $1: durability unlabelled"
    for p in legacy_mem actor_mem actor_durable; do
        local p50 p99
        p50=$(metric "$out" "${p}_p50") p99=$(metric "$out" "${p}_p99")
        [ -n "$p50" ] && [ -n "$p99" ] && [ "$p50" -gt 0 ] && [ "$p50" -le "$p99" ] ||
            fail "run $1: $p p50 '$p50' p99 '$p99'"
    done
}

run 1
check_run 1
grep -q '^chain: a new chain at genesis (height 0)' "$tmp/run1.out" ||
    fail "run 1 did not start a new chain"
height1=$(metric "$tmp/run1.out" final_height)
[ -n "$height1" ] && [ "$height1" -gt 0 ] || fail "run 1: final height '$height1'"

run 2
check_run 2
grep -q "^chain: resumed at height $height1 " "$tmp/run2.out" ||
    fail "run 2 did not resume at height $height1: $(grep '^chain:' "$tmp/run2.out" || true)"
height2=$(metric "$tmp/run2.out" final_height)
[ "$height2" -gt "$height1" ] || fail "run 2 ended at $height2, not above $height1"

echo "ok: run 1 ended at height $height1 with $(metric "$tmp/run1.out" restarts) restarts; run 2 resumed there and reached $height2"
