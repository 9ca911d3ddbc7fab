#!/usr/bin/env bash
# tests/persistence/run_pg.sh TEST_EXE [ARGS...] — run the backend suite
# against a PostgreSQL server of its own: start one (pg_server.sh), run the
# suite with TROUPE_TEST_BACKEND=postgres and TROUPE_PG_CONNINFO, stop the
# server and remove its files whatever happened (the trap also runs when
# meson's timeout terminates the run). The suite's exit status is ours.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# Under /tmp, not $TMPDIR: as root the server runs as postgres, which must
# be able to reach the directory.
dir=$(mktemp -d /tmp/troupe-pg.XXXXXX)
trap '"$here/pg_server.sh" stop "$dir"' EXIT
trap 'exit 143' TERM INT

conninfo=$("$here/pg_server.sh" start "$dir")
TROUPE_TEST_BACKEND=postgres TROUPE_PG_CONNINFO="$conninfo" "$@"
