#!/usr/bin/env bash
# tests/tools/troupectl_e2e.sh DEMO TROUPECTL — troupectl end to end (meson
# test 'tools-troupectl', suite 'tools'): starts examples/demo on a free
# loopback port with a token, runs every command and checks its output and
# exit code, then drives `top` in a real terminal (tmux: new-session,
# send-keys, capture-pane) and asserts the screen. Every wait is a bounded
# loop; the trap stops only what this script started (the demo, a stand-in
# server, its own tmux server on a private socket).
set -euo pipefail

demo="${1:?usage: troupectl_e2e.sh DEMO TROUPECTL}"
ctl="${2:?usage: troupectl_e2e.sh DEMO TROUPECTL}"
TOKEN=e2e-token
tmp=$(mktemp -d "${TMPDIR:-/tmp}/troupectl-e2e.XXXXXX")
demo_pid=""
fake_pid=""
sock="troupectl-e2e-$$"

fail() {
    echo "troupectl e2e: $*" >&2
    exit 1
}

stop() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    command -v tmux >/dev/null && tmux -L "$sock" kill-server 2>/dev/null || true
    stop "$fake_pid"
    stop "$demo_pid"
    if [ "$rc" -ne 0 ] && [ -s "$tmp/demo.out" ]; then
        echo "---- demo.out (last 20 lines)" >&2
        tail -n 20 "$tmp/demo.out" >&2
    fi
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v tmux >/dev/null || fail "tmux not found (scripts/deps.sh test installs it)"
command -v python3 >/dev/null || fail "python3 not found"

"$demo" --forever --http-port 0 --token "$TOKEN" >"$tmp/demo.out" 2>&1 &
demo_pid=$!
port=""
for _ in $(seq 100); do
    port=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/demo.out" 2>/dev/null | head -1 | sed 's/.*://') || true
    [ -n "$port" ] && break
    kill -0 "$demo_pid" 2>/dev/null || fail "the demo exited"
    sleep 0.1
done
[ -n "$port" ] || fail "the demo printed no port"
export TROUPECTL_URL="http://127.0.0.1:$port"
unset TROUPECTL_TOKEN

# run WANT_RC NAME ARGS...: runs troupectl, output in $tmp/NAME, checks the code.
run() {
    local want=$1 name=$2
    shift 2
    local rc=0
    "$ctl" "$@" >"$tmp/$name" 2>&1 || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$tmp/$name" >&2; fail "$name: troupectl $* exited $rc, want $want"; }
}
has() { grep -q -- "$2" "$tmp/$1" || { cat "$tmp/$1" >&2; fail "$1: no \"$2\""; }; }
hasnt() { ! grep -q -- "$2" "$tmp/$1" || { cat "$tmp/$1" >&2; fail "$1: unexpected \"$2\""; }; }
is_json() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/$1" || fail "$1: not JSON"; }

# ---- usage and connection errors
run 1 usage
run 1 unknown frobnicate
run 1 badurl --url ftp://x tree
run 1 actor_noname actor
run 1 trace_zero trace aggregator --count 0
run 1 trace_big trace aggregator --count 1001
run 1 sort_bad actors --sort nothing
run 0 help --help
has help "exit: 0 ok"
run 2 noconnect --url http://127.0.0.1:1 tree
has noconnect "cannot connect"

# ---- reading
run 0 tree tree
has tree "supervisor root"
has tree "supervisor pipeline"
has tree "aggregator (aggregator)"
run 0 tree_json --json tree
is_json tree_json
run 0 actors actors
has actors "^NAME"
has actors "^aggregator"
has actors "producer-0"
run 0 actors_type actors --type producer
has actors_type "producer-1"
hasnt actors_type "aggregator"
run 0 actors_sorted actors --sort msgs
[ "$(sed -n 2p "$tmp/actors_sorted" | awk '{print $1}')" = aggregator ] ||
    { cat "$tmp/actors_sorted" >&2; fail "--sort msgs: the aggregator is not first"; }
run 0 actors_mailbox actors --sort mailbox
run 0 actors_restarts actors --sort restarts
run 0 actors_json --json actors
is_json actors_json
# the aggregator handles thousands of messages a second: one in 256 is timed
for _ in $(seq 100); do
    run 0 actor actor aggregator
    grep -q "^latency: *handling p50" "$tmp/actor" && break
    sleep 0.1
done
has actor "^name: *aggregator"
has actor "^type: *aggregator"
has actor "^latency: *handling p50 .* in mailbox p50"
has actor "^health:"
has actor "^restarts:"
run 0 actor_json --json actor aggregator
is_json actor_json
run 3 actor_missing actor nobody
has actor_missing "no actor named"
run 0 flags flags
has flags "^FLAG"
run 0 nodes nodes
has nodes "no cluster"
run 0 nodes_json --json nodes
is_json nodes_json

# ---- acting: the token rules, then the real thing
run 4 restart_notoken restart flaky
run 4 restart_badtoken --token wrong restart flaky
run 4 trace_notoken trace aggregator
run 3 restart_missing --token "$TOKEN" restart nobody
before=$("$ctl" --json actor flaky | python3 -c 'import json,sys; print(json.load(sys.stdin)["restarts"])')
run 0 restart --token "$TOKEN" restart flaky
has restart "flaky: restart requested"
after=$before
for _ in $(seq 100); do
    after=$("$ctl" --json actor flaky | python3 -c 'import json,sys; print(json.load(sys.stdin)["restarts"])')
    [ "$after" -gt "$before" ] && break
    sleep 0.1
done
[ "$after" -gt "$before" ] || fail "restart: flaky's restarts stayed at $before"
TROUPECTL_TOKEN="$TOKEN" run 0 trace trace aggregator --count 5 --wait 20
has trace "^#  *TYPE  *SENDER  *MAILBOX  *HANDLING  *OUTCOME"
has trace "5 messages traced, 0 still awaited"
[ "$(grep -c ' ok$' "$tmp/trace")" -eq 5 ] || { cat "$tmp/trace" >&2; fail "trace: 5 ok records wanted"; }
TROUPECTL_TOKEN="$TOKEN" run 0 trace_json --json trace producer-0 --count 2 --wait 20
is_json trace_json
run 0 stop --token "$TOKEN" stop reporter
has stop "reporter: stop requested"

# ---- a stand-in server: a reply that is not JSON (exit 6), and an event
# log (GET /api/events, which the demo's server may not have) for `actor`
python3 - "$tmp/fake.port" <<'PY' &
import json, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(60)
actor = {"ref": "0x1", "name": "x", "type": "t", "state": "idle", "restarts": 1,
         "mailbox": {"depth": 0, "capacity": 8, "handled": 5, "dropped": 0, "failed": 1},
         "health": {"status": "unchecked"}, "latency": None}
events = {"now_ns": 5000000000, "next": 4, "dropped": 0, "events": [
    {"seq": 1, "at_ns": 1000000000, "kind": "failure", "actor": "x", "detail": "panic: boom"},
    {"seq": 2, "at_ns": 2000000000, "kind": "restart", "actor": "x", "detail": "after panic"},
    {"seq": 3, "at_ns": 3000000000, "kind": "failure", "actor": "y", "detail": "other"}]}
for _ in range(8):
    try:
        c, _ = s.accept()
    except OSError:
        break
    req = c.recv(65536).decode(errors="replace")
    path = req.split(" ")[1] if " " in req else ""
    if path.startswith("/api/actors/x"):
        body, ctype = json.dumps(actor), "application/json"
    elif path.startswith("/api/events"):
        body, ctype = json.dumps(events), "application/json"
    else:
        body, ctype = "<html>no</html>", "text/html"
    c.sendall(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n%s"
               % (ctype, body)).encode())
    c.close()
PY
fake_pid=$!
for _ in $(seq 100); do [ -s "$tmp/fake.port" ] && break; sleep 0.1; done
[ -s "$tmp/fake.port" ] || fail "the stand-in server did not start"
fake="http://127.0.0.1:$(cat "$tmp/fake.port")"
run 6 badreply --url "$fake" tree
has badreply "not JSON"
run 0 events --url "$fake" actor x
has events "^events: *2 (1 failures)"
has events "failure .*panic: boom"
has events "restart .*3.00s ago *after panic"
hasnt events "other"
has events "^latency: *no sample yet"

# ---- top: once, then live in tmux
run 0 top_once top --once
has top_once "BUSIEST ACTORS"
has top_once "^aggregator"
has top_once "^WORKER"
run 1 top_badinterval top --interval 0

tmux -L "$sock" -f /dev/null new-session -d -s top -x 120 -y 40 \
    "TROUPECTL_URL=$TROUPECTL_URL '$ctl' top --interval 0.3; echo TOP-EXITED-\$?; sleep 30"
screen=""
for _ in $(seq 100); do
    screen=$(tmux -L "$sock" capture-pane -p -t top 2>/dev/null || true)
    # a second frame has a rate: the aggregator's messages per second > 0
    if grep -q "BUSIEST ACTORS" <<<"$screen" &&
        grep -qE '^aggregator +aggregator +[0-9]*[1-9][0-9]*\.[0-9]' <<<"$screen"; then
        break
    fi
    sleep 0.1
done
grep -q "troupectl top  http://127.0.0.1:$port/" <<<"$screen" || { echo "$screen" >&2; fail "top: no title"; }
grep -q "^WORKER" <<<"$screen" || { echo "$screen" >&2; fail "top: no workers"; }
grep -qE '^aggregator +aggregator +[0-9]*[1-9][0-9]*\.[0-9]' <<<"$screen" ||
    { echo "$screen" >&2; fail "top: the aggregator shows no rate"; }
[ "$(grep -c "BUSIEST ACTORS" <<<"$screen")" -eq 1 ] || { echo "$screen" >&2; fail "top: frames not cleared"; }
tmux -L "$sock" send-keys -t top q
for _ in $(seq 100); do
    screen=$(tmux -L "$sock" capture-pane -p -t top 2>/dev/null || true)
    grep -q "TOP-EXITED-" <<<"$screen" && break
    sleep 0.1
done
grep -q "TOP-EXITED-0" <<<"$screen" || { echo "$screen" >&2; fail "top: q did not quit with 0"; }
echo "troupectl e2e: ok (port $port)"
