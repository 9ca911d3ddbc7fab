#!/usr/bin/env bash
# scripts/deps.sh [GROUP] — install the Debian packages troupe needs that are
# missing. Idempotent: when everything is present it only asks dpkg-query
# (about a second), so every Makefile target can call it unconditionally.
#
# GROUP selects extra packages: "bench" adds the peers troupe is measured
# against (Erlang/OTP, CAF 0.17 and a C++ compiler for it) and gnuplot for
# the charts; "test" (and "all") add valgrind for the instruction-count
# regression gate (make bench-quick), and Debian's prometheus server and
# promtool (with python3-yaml) for the 'deploy' suite (tests/deploy/), and
# Chromium, Node.js and npm for the dashboard's browser test (tests/browser/;
# libmicrohttpd, for the HTTP API, is a base package), and Debian's
# PostgreSQL server, which the persistence suite starts on its own
# (tests/persistence/run_pg.sh; libsqlite3 and libpq are base packages). The
# sanitizer runtimes (libasan, libubsan, libtsan) come with gcc 12 through
# build-essential.
set -euo pipefail

group="${1:-all}"

base=(build-essential meson ninja-build pkg-config
      liburcu-dev libjemalloc-dev libcriterion-dev libhwloc-dev libmicrohttpd-dev
      libsqlite3-dev libpq-dev)
extra=()
case "$group" in
    build|demo) ;;
    all|test) extra=(valgrind prometheus python3-yaml chromium fonts-dejavu-core nodejs
                     postgresql) ;;
    bench) extra=(valgrind erlang-nox libcaf-dev g++ gnuplot-nox) ;;
    *) echo "deps.sh: unknown group '$group' (all, build, test, demo, bench)" >&2
       exit 2 ;;
esac

# The browser test runs npm; NodeSource's nodejs ships it, Debian's does not.
if [[ " ${extra[*]} " == *" nodejs "* ]] && ! command -v npm >/dev/null; then
    extra+=(npm)
fi

# A package counts as present only when dpkg says "install ok installed";
# a half-configured or removed-but-config-kept package must be reinstalled.
missing=()
for p in "${base[@]}" "${extra[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists are refreshed only when something is missing: an update
# costs tens of seconds and needs the network.
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
