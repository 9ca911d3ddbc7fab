#!/usr/bin/env bash
# tests/persistence/pg_server.sh start DIR | stop DIR | halt DIR | resume DIR
#
# A throwaway PostgreSQL server for the tests, from Debian's postgresql
# package (scripts/deps.sh test): `start` runs initdb into DIR/data (as the
# postgres user when run as root: the server refuses to run as root; as
# the current user otherwise), starts it on 127.0.0.1 on a free port with
# its socket in DIR/sock, creates the database troupe_test and prints a
# libpq conninfo for it on stdout. `stop` stops it (fast: sessions are cut)
# and removes DIR. `halt` stops the server and keeps its data; `resume`
# starts it again on the same port and addresses (a restart of the server
# under its clients: tests/cluster/kill_test.sh pgrestart). The
# environment variable PG_LISTEN (default 127.0.0.1) lists the addresses
# it listens on — a test that puts a client in a network namespace adds
# the host's end of its veth pair (tests/cluster/partition_test.sh), and
# PG_TRUST (a CIDR) lets clients of that subnet in (pg_hba.conf). The
# cluster trusts local connections: it lives only as long as one test
# run, on loopback (or a veth inside this machine).
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|halt|resume DIR" >&2
    exit 2
fi

# Debian installs the server under /usr/lib/postgresql/<major>/bin: the
# highest version present.
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

# The server and its tools run as the owner of the data directory.
if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    as_owner() { (cd / && runuser -u postgres -- "$@"); }
else
    owner=$(id -un)
    as_owner() { "$@"; }
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

listen=${PG_LISTEN:-127.0.0.1}

run_server() { # PORT
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=$listen -c port=$1 -c unix_socket_directories=$dir/sock" \
        start >/dev/null
}

start() {
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "pg_server.sh: no PostgreSQL server in /usr/lib/postgresql/*/bin" \
             "(scripts/deps.sh test installs the postgresql package)" >&2
        exit 1
    fi
    mkdir -p "$dir/sock"
    [ "$owner" = postgres ] && chown -R postgres: "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U "$owner" --auth=trust -E UTF8 \
        --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    if [ -n "${PG_TRUST:-}" ]; then
        echo "host all all $PG_TRUST trust" >> "$dir/data/pg_hba.conf"
    fi
    # The port is free when asked, not necessarily when the server binds
    # it: another process may take it in between, so try a few.
    local port tries=0
    while :; do
        port=$(free_port)
        if run_server "$port"; then
            break
        fi
        tries=$((tries + 1))
        if [ "$tries" -ge 5 ]; then
            cat "$dir/server.log" >&2
            exit 1
        fi
    done
    echo "$port $listen" > "$dir/port"
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$owner" troupe_test
    echo "host=127.0.0.1 port=$port dbname=troupe_test user=$owner sslmode=disable gssencmode=disable connect_timeout=10"
}

stop() {
    if [ -n "$bindir" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
    fi
    rm -rf "$dir"
}

# The server stopped (fast: sessions are cut), its data kept.
halt() {
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
}

# Started again where it was (the port and addresses of start).
resume() {
    local port
    read -r port listen < "$dir/port"
    run_server "$port" || { cat "$dir/server.log" >&2; exit 1; }
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    halt) halt ;;
    resume) resume ;;
    *) echo "usage: $0 start|stop|halt|resume DIR" >&2; exit 2 ;;
esac
