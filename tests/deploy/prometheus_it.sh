#!/usr/bin/env bash
# tests/deploy/prometheus_it.sh DEMO [SOURCE_ROOT] — Debian's Prometheus
# server against the running demo (meson test 'deploy-prometheus', suite
# 'deploy'). Real processes only:
#
#   1. examples/demo --forever --http-port 0: the demo serves GET /metrics on
#      an ephemeral port of 127.0.0.1 and prints "dashboard: http://127.0.0.1:PORT/";
#   2. /usr/bin/prometheus with deploy/prometheus/prometheus.yml, rewritten
#      to scrape that port every second (and with deploy's alert rules), its
#      storage in a temporary directory, listening on a free port;
#   3. waits — polling, under a hang guard, never a fixed sleep — until a
#      scrape succeeded, then asserts through Prometheus' HTTP API:
#        - up{job="troupe"} == 1;
#        - troupe_restarts_total (the demo's "flaky" actor panics once, 2 s
#          in, and its supervisor restarts it) is > 0, equals what the
#          demo's own /metrics says, and counts the restart by reason "panic";
#        - every alert rule of deploy/ evaluated without error on the real
#          series;
#   4. stops the demo (SIGTERM: it drains and prints its summary) and
#      asserts its exit status is 0 and that the restart count it prints
#      for flaky ("restarted N time(s)") is the panic restarts Prometheus
#      read back.
#
# The traps stop both processes and remove the temporary directory, on
# success and on failure alike. Each wait has its own deadline (HANG_GUARD
# seconds, default 60); the meson timeout backs them up.
set -euo pipefail

demo="${1:?usage: prometheus_it.sh DEMO [SOURCE_ROOT]}"
root="${2:-$(dirname "${BASH_SOURCE[0]}")/../..}"
root=$(cd "$root" && pwd) # absolute: the generated config is elsewhere
guard="${HANG_GUARD:-60}"
prometheus="${PROMETHEUS:-/usr/bin/prometheus}"

fail() { echo "prometheus_it: FAIL: $*" >&2; exit 1; }
note() { echo "prometheus_it: $*"; }

[ -x "$demo" ] || fail "demo binary $demo not found (build it: ninja -C <builddir>)"
[ -x "$prometheus" ] || fail "$prometheus not found (scripts/deps.sh test installs Debian's prometheus)"
command -v python3 >/dev/null || fail "python3 not found"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/troupe-prom-it.XXXXXX")
demo_pid=""
prom_pid=""

# alive PID: the child runs (an exited child stays a zombie until waited
# for, and kill -0 still succeeds on a zombie).
alive() {
    local st
    st=$(sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "${st:0:1}" != "Z" ]
}

# stop PID: SIGTERM, then SIGKILL if it is still there after 10 s.
stop() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop "$prom_pid"
    stop "$demo_pid"
    if [ "$rc" -ne 0 ]; then
        for f in demo.out prometheus.log; do
            if [ -s "$tmp/$f" ]; then
                echo "---- $f (last 40 lines)" >&2
                tail -n 40 "$tmp/$f" >&2
            fi
        done
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# http_get URL: the body, or nothing (exit 1) when the request fails.
http_get() {
    python3 - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        sys.stdout.write(r.read().decode())
except Exception as e:
    sys.stderr.write(f"{sys.argv[1]}: {e}\n")
    sys.exit(1)
PY
}

# promql QUERY: the value of an instant query that returns one sample, or
# nothing when it returns none (no scrape yet, or a stale series). Exits 1
# when the API answers with an error or with more than one sample.
promql() {
    python3 - "http://127.0.0.1:$prom_port/api/v1/query" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
url, q = sys.argv[1], sys.argv[2]
try:
    with urllib.request.urlopen(url + "?" + urllib.parse.urlencode({"query": q}), timeout=5) as r:
        doc = json.load(r)
except Exception as e:
    sys.stderr.write(f"query {q!r}: {e}\n")
    sys.exit(1)
if doc.get("status") != "success":
    sys.stderr.write(f"query {q!r}: {doc}\n")
    sys.exit(1)
res = doc["data"]["result"]
if len(res) > 1:
    sys.stderr.write(f"query {q!r}: {len(res)} samples, expected one: {res}\n")
    sys.exit(1)
if res:
    print(res[0]["value"][1])
PY
}

# wait_for WHAT CMD...: run CMD every 0.2 s until it succeeds; fail after
# the hang guard. Not a timing assertion: the deadline only stops a hang.
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + guard))
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "no $what after ${guard}s"
        sleep 0.2
    done
}

# ---- 1. the demo, serving /metrics on an ephemeral port -------------------
# stdbuf: its stdout is a file here, which stdio would buffer whole.
stdbuf -oL -eL "$demo" --forever --http-port 0 >"$tmp/demo.out" 2>&1 &
demo_pid=$!

demo_url() {
    alive "$demo_pid" ||
        fail "the demo exited before serving (does it take --http-port?)"
    grep -qoE 'dashboard: http://127\.0\.0\.1:[0-9]+/' "$tmp/demo.out"
}
wait_for "'dashboard: http://127.0.0.1:PORT/' line from the demo" demo_url
demo_port=$(grep -oE 'dashboard: http://127\.0\.0\.1:[0-9]+/' "$tmp/demo.out" | head -n1 |
            sed -E 's|.*:([0-9]+)/$|\1|')
[ "$demo_port" -gt 0 ] || fail "the demo printed port $demo_port"
note "demo (pid $demo_pid) serves http://127.0.0.1:$demo_port/"
http_get "http://127.0.0.1:$demo_port/metrics" | grep -q '^troupe_' ||
    fail "the demo's /metrics has no troupe_ series"

# ---- 2. Prometheus, with deploy/'s config pointed at the demo -------------
# The shipped config, with the demo as its target, a 1 s scrape and rule
# interval, and the rules by absolute path.
python3 - "$root/deploy/prometheus/prometheus.yml" "$root/deploy/prometheus/alerts.yml" \
    "127.0.0.1:$demo_port" >"$tmp/prometheus.yml" <<'PY'
import sys, yaml
src, rules, target = sys.argv[1:]
cfg = yaml.safe_load(open(src))
cfg["global"].update(scrape_interval="1s", evaluation_interval="1s", scrape_timeout="1s")
cfg["rule_files"] = [rules]
jobs = [j for j in cfg["scrape_configs"] if j["job_name"] == "troupe"]
assert len(jobs) == 1, "deploy/prometheus/prometheus.yml: no job 'troupe'"
jobs[0]["static_configs"] = [{"targets": [target]}]
cfg["scrape_configs"] = jobs
yaml.safe_dump(cfg, sys.stdout)
PY

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

prom_ready() {
    if ! alive "$prom_pid"; then
        wait "$prom_pid" 2>/dev/null || true
        prom_pid=""
        return 2
    fi
    http_get "http://127.0.0.1:$prom_port/-/ready" >/dev/null 2>&1
}

# A port picked free may be taken before Prometheus binds it: then it exits
# at once with "address already in use", and we pick another.
for attempt in 1 2 3 4 5; do
    prom_port=$(free_port)
    "$prometheus" --config.file="$tmp/prometheus.yml" \
        --storage.tsdb.path="$tmp/data" \
        --web.listen-address="127.0.0.1:$prom_port" \
        --log.level=info >"$tmp/prometheus.log" 2>&1 &
    prom_pid=$!
    deadline=$((SECONDS + guard))
    while :; do
        st=0
        prom_ready || st=$?
        [ "$st" -eq 0 ] && break 2
        if [ "$st" -eq 2 ]; then
            grep -q 'address already in use' "$tmp/prometheus.log" ||
                fail "prometheus exited at start"
            note "port $prom_port was taken; trying another"
            rm -rf "$tmp/data"
            break
        fi
        [ "$SECONDS" -lt "$deadline" ] || fail "prometheus not ready after ${guard}s"
        sleep 0.2
    done
done
[ -n "$prom_pid" ] || fail "prometheus found no free port in 5 attempts"
note "prometheus (pid $prom_pid) on http://127.0.0.1:$prom_port/"

# ---- 3. what Prometheus read ---------------------------------------------
scraped() { [ "$(promql 'up{job="troupe"}')" = "1" ]; }
wait_for "successful scrape of the demo (up == 1)" scraped
note "scrape succeeded: up{job=\"troupe\"} == 1"

prom_restarts=""
restarted() {
    prom_restarts=$(promql 'sum(troupe_restarts_total{job="troupe"})')
    [ -n "$prom_restarts" ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) <= 0)' "$prom_restarts"
}
wait_for "restart in troupe_restarts_total (the demo's flaky actor panics 2 s in)" restarted
note "Prometheus: sum(troupe_restarts_total) = $prom_restarts"

# The demo's own figure, straight from its /metrics, summed over reasons.
demo_restarts() {
    http_get "http://127.0.0.1:$demo_port/metrics" | python3 -c '
import re, sys
total = 0.0
for line in sys.stdin:
    m = re.match(r"troupe_restarts_total(\{[^}]*\})?\s+(\S+)", line)
    if m:
        total += float(m.group(2))
print(total)'
}
# Both must agree once Prometheus' latest scrape is of the same count (the
# demo restarts flaky once, so the count stops moving).
same() {
    local d p
    d=$(demo_restarts) || return 1
    p=$(promql 'sum(troupe_restarts_total{job="troupe"})') || return 1
    [ -n "$p" ] || return 1
    prom_restarts=$p
    python3 -c 'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' "$d" "$p"
}
wait_for "agreement between the demo's /metrics and Prometheus on troupe_restarts_total" same
note "the demo's /metrics agrees: $prom_restarts"

# The demo's one fault is a panic: the restarts it caused are by reason.
panic_restarts=$(promql 'sum(troupe_restarts_total{job="troupe",reason="panic"})')
[ -n "$panic_restarts" ] && python3 -c 'import sys; sys.exit(float(sys.argv[1]) <= 0)' "$panic_restarts" ||
    fail "no restart with reason=\"panic\" (all reasons: $prom_restarts)"
note "Prometheus: troupe_restarts_total{reason=\"panic\"} = $panic_restarts"
if [ "$panic_restarts" != "$prom_restarts" ]; then
    note "restarts of other reasons too (the demo's /metrics now):"
    http_get "http://127.0.0.1:$demo_port/metrics" | grep -E '^troupe_restarts_total' | grep -v ' 0$' || true
fi

[ "$(promql 'up{job="troupe"}')" = "1" ] || fail "up{job=\"troupe\"} is no longer 1"

# deploy/'s rules, evaluated by the server on the demo's series: once every
# rule has been evaluated, none may have failed.
rules_state() {
    python3 - "http://127.0.0.1:$prom_port/api/v1/rules" "$root/deploy/prometheus/alerts.yml" <<'PY'
import json, sys, urllib.request, yaml
want = sorted(r["alert"] for g in yaml.safe_load(open(sys.argv[2]))["groups"] for r in g["rules"]
              if "alert" in r)
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        groups = json.load(r)["data"]["groups"]
except Exception as e:
    sys.stderr.write(f"{sys.argv[1]}: {e}\n")
    sys.exit(1)
rules = [r for g in groups for r in g["rules"]]
got = sorted(r["name"] for r in rules)
bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") == "err"]
if got != want:
    print(f"ERR the server loaded {got}, alerts.yml has {want}")
elif bad:
    print("ERR " + "; ".join(bad))
elif all(r.get("health") == "ok" for r in rules):
    print(f"OK {len(rules)}")
else:
    print("WAIT")
PY
}
rules_evaluated() {
    local s
    s=$(rules_state) || return 1
    case "$s" in
        ERR*) fail "alert rules: ${s#ERR }" ;;
        OK*) note "${s#OK } alert rules of deploy/ evaluated without error"; return 0 ;;
        *) return 1 ;;
    esac
}
wait_for "evaluation of every alert rule" rules_evaluated

# ---- 4. the demo's own account -------------------------------------------
kill -TERM "$demo_pid"
deadline=$((SECONDS + guard))
while alive "$demo_pid"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the demo did not stop within ${guard}s of SIGTERM"
    sleep 0.2
done
demo_rc=0
wait "$demo_pid" || demo_rc=$?
demo_pid=""
[ "$demo_rc" -eq 0 ] || fail "the demo exited with status $demo_rc"
summary_restarts=$(sed -nE 's/.*restarted ([0-9]+) time\(s\).*/\1/p' "$tmp/demo.out" | head -n1)
[ -n "$summary_restarts" ] || fail "no 'restarted N time(s)' in the demo's summary"
python3 -c 'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' \
    "$summary_restarts" "$panic_restarts" ||
    fail "the demo says flaky was restarted $summary_restarts time(s) (its panic); Prometheus read $panic_restarts panic restart(s)"
note "the demo's summary agrees: flaky restarted $summary_restarts time(s)"
note "OK"
