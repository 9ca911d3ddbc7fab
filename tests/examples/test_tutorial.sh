#!/bin/sh
# tests/examples/test_tutorial.sh ASK SUPERVISE [SERVICE] — the programs of
# docs/TUTORIAL.md print what the tutorial says they print.
#   ask        withdraw 120 done, 1000 refused, balance 30
#   supervise  the panic reported, a restart, the same ref and name, balance 0
#   service    (when built) run twice on one data directory: the balance
#              survives the restart and the rerun (100, then 200); while the
#              first run serves, /api/actors/account and /metrics answer;
#              SIGTERM ends it with exit 0
set -eu
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect PROGRAM OUTPUT_FILE LINE...: the program's output is exactly the lines
expect() {
    prog=$1; out=$2; shift 2
    printf '%s\n' "$@" > "$tmp/want"
    diff -u "$tmp/want" "$out" || fail "$prog printed something else"
}

"$1" > "$tmp/ask" || fail "ask exited $?"
expect ask "$tmp/ask" "withdraw 120: done" "withdraw 1000: refused" "balance: 30"
"$2" > "$tmp/sup" || fail "supervise exited $?"
expect supervise "$tmp/sup" "failure: account (panic: audit: a bug)" \
    "balance after the restart: 0" "same actor: yes, restarts: 1"
[ $# -ge 3 ] || { echo "tutorial: ask and supervise as told (service not built)"; exit 0; }

# fetch PATH: GET from the running service (python3, which meson needs:
# no curl dependency)
fetch() {
    python3 -c 'import sys, urllib.request as u
sys.stdout.write(u.urlopen(sys.argv[1], timeout=10).read().decode())' "http://127.0.0.1:$port$1"
}
"$3" "$tmp/data" --http-port 0 > "$tmp/run1" &
pid=$!
port=
for _ in $(seq 1 600); do # up to 60 s for its dashboard line, on a loaded machine
    port=$(sed -n 's|^dashboard: http://127.0.0.1:\([0-9]*\)/$|\1|p' "$tmp/run1")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "service exited before serving: $(cat "$tmp/run1")"
    sleep 0.1
done
[ -n "$port" ] || fail "service printed no dashboard line"
fetch /api/actors/account | grep -q '"name":"account"' || fail "/api/actors/account"
fetch /metrics | grep -q '^troupe_messages_handled_total{type="account"} ' || fail "/metrics"
kill -TERM "$pid"
wait "$pid" || fail "service exited $? after SIGTERM"
pid=
sed -i '$d' "$tmp/run1" # the dashboard line: its port varies
expect service "$tmp/run1" "failure: account (panic: audit: a bug)" \
    "deposited 100: balance 100" "balance after the restart: 100"
"$3" "$tmp/data" --http-port 0 --seconds 1 > "$tmp/run2" || fail "service's rerun exited $?"
sed -i '$d' "$tmp/run2"
expect service "$tmp/run2" "failure: account (panic: audit: a bug)" \
    "deposited 100: balance 200" "balance after the restart: 200"
echo "tutorial: ask, supervise and service (twice, and served) as told"
