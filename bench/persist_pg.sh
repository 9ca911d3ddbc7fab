#!/usr/bin/env bash
# bench/persist_pg.sh BENCH_PERSIST [ARGS...] — the persist benchmark with
# PostgreSQL's figures beside SQLite's (issue 18): on a server of its own
# (tests/persistence/run_pg.sh starts one on loopback, on a free port, and
# removes it whatever happens) when Debian's postgresql package is
# installed (scripts/deps.sh bench); without it, SQLite and the memory
# journal alone, and a note on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exec "$here/../tests/persistence/run_pg.sh" "$@"
fi
echo "persist_pg.sh: no PostgreSQL server installed: SQLite and memory only" >&2
exec "$@"
