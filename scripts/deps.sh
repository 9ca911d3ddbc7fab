#!/usr/bin/env bash
# scripts/deps.sh [GROUP] — install the Debian packages of GROUP that are
# missing. Idempotent: when everything is present it only asks dpkg-query
# (one call), so every Makefile target calls it with its own group.
#
#   scripts/deps.sh GROUP              install what GROUP lacks (sudo when not root)
#   scripts/deps.sh --list GROUP       print GROUP's packages, one a line
#   scripts/deps.sh --dry-run GROUP    print what would be installed; install nothing
#   scripts/deps.sh --fingerprint      name, status and version of every package of
#                                      every group (the Makefile reconfigures a build
#                                      dir when this changed since it was configured)
#
# Groups (a group lists the ones it includes first):
#   build  `make build`, `make build-asan`, `make build-tsan`: the compiler
#          (build-essential: gcc 12 with its sanitizer runtimes, g++, make),
#          meson, ninja-build, pkg-config, and the -dev packages the library
#          links: liburcu, jemalloc, hwloc, libmicrohttpd (the HTTP API),
#          SQLite and libpq (the journals). Also libcriterion-dev: a build
#          dir compiles the Criterion suites too (-Dtests=auto, the default: on unless
#          troupe is a meson subproject).
#   demo   `make demo`: build. The showcase needs nothing more at run time
#          (its journal is SQLite, its dashboard is compiled in).
#   cluster `make demo-cluster`: build + postgresql, nats-server and
#          libnats-dev (the cluster layer is built when libnats is found;
#          the showcase starts its own servers).
#   gate   `make bench-quick`: build + valgrind (callgrind counts the gate's
#          instructions, scripts/bench_gate.py).
#   test   `make test`: build + demo + gate (the release build's 'gate'
#          suite) + what the suites start: postgresql, the server the
#          persistence suite runs on its own (tests/persistence/run_pg.sh);
#          prometheus (with promtool) and python3-yaml for the 'deploy' suite
#          (tests/deploy/); chromium, fonts-dejavu-core, nodejs and npm for the
#          dashboard's browser test (tests/browser/) and the OTLP receiver of
#          the tracing test (tests/trace/run.sh; npm only when nodejs does
#          not bring it: NodeSource's does, Debian's does not); groff-base for
#          the 'docs' suite, which lints the manual pages (tests/docs/);
#          iproute2 (`ip netns`) for the cluster's partition test
#          (tests/cluster/partition_test.sh); clang and libclang-rt-dev
#          (libFuzzer) for the fuzz stage and `make fuzz` (tests/fuzz/); gdb,
#          with which a hung test prints its threads' stacks
#          (tests/hang_report.c).
#   bench  `make bench`: build + the peers troupe is measured against,
#          erlang-nox (Erlang/OTP) and libcaf-dev (CAF 0.17, built with g++),
#          gnuplot-nox for the charts (scripts/bench_all.py), and postgresql
#          for PostgreSQL's persistence figures (bench/persist_pg.sh).
#   all    every group (the default when no GROUP is given).
# The build group holds no test or bench tool (tests/scripts/test_deps.sh
# checks it): `make build` on a fresh machine installs no browser, database
# server or Prometheus.
set -euo pipefail

build=(build-essential meson ninja-build pkg-config
       liburcu-dev libjemalloc-dev libhwloc-dev libmicrohttpd-dev
       libsqlite3-dev libpq-dev libcriterion-dev libcurl4-openssl-dev)
demo=()
gate=(valgrind)
test_tools=(postgresql nats-server libnats-dev iproute2 prometheus python3-yaml chromium fonts-dejavu-core nodejs npm
            groff-base tmux clang libclang-rt-dev gdb)
bench=(erlang-nox libcaf-dev gnuplot-nox postgresql)
cluster=(postgresql nats-server libnats-dev)
groups="build, demo, cluster, gate, test, bench, all"

# packages_of GROUP: the group's packages, one a line, in install order.
packages_of() {
    local p
    case "$1" in
        build) p=("${build[@]}") ;;
        demo)  p=("${build[@]}" "${demo[@]}") ;;
        cluster) p=("${build[@]}" "${cluster[@]}") ;;
        gate)  p=("${build[@]}" "${gate[@]}") ;;
        test)  p=("${build[@]}" "${demo[@]}" "${gate[@]}" "${test_tools[@]}") ;;
        bench) p=("${build[@]}" "${bench[@]}") ;;
        all)   p=("${build[@]}" "${demo[@]}" "${cluster[@]}" "${gate[@]}" "${test_tools[@]}"
                  "${bench[@]}") ;;
        *) echo "deps.sh: unknown group '$1' ($groups)" >&2
           return 2 ;;
    esac
    printf '%s\n' "${p[@]}" | awk '!seen[$0]++' | needed_npm
}

# The browser test runs npm; drop it when nodejs (NodeSource's) brought it.
needed_npm() {
    if command -v npm >/dev/null; then grep -vx npm || true; else cat; fi
}

# missing_of GROUP: the group's packages dpkg does not call "install ok
# installed" (a half-configured or removed-but-config-kept package is
# reinstalled).
missing_of() {
    local pkgs p s1 s2 s3
    pkgs=$(packages_of "$1") || return
    local -A ok=()
    while read -r p s1 s2 s3; do
        if [ "$s1 $s2 $s3" = "install ok installed" ]; then ok[$p]=1; fi
    done < <(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2>/dev/null || true)
    for p in $pkgs; do
        [ -n "${ok[$p]:-}" ] || echo "$p"
    done
}

case "${1:-}" in
    --list)        packages_of "${2:-all}"; exit ;;
    --dry-run)     missing=$(missing_of "${2:-all}")
                   [ -z "$missing" ] || echo "deps.sh: would install" $missing
                   exit 0 ;;
    --fingerprint) # shellcheck disable=SC2046
                   dpkg-query -W -f='${Package} ${Status} ${Version}\n' \
                       $(packages_of all; echo npm) 2>/dev/null | LC_ALL=C sort || true
                   exit 0 ;;
    -*)            echo "deps.sh: unknown option '$1'" >&2; exit 2 ;;
esac

missing=$(missing_of "${1:-all}")
if [ -z "$missing" ]; then
    exit 0
fi

# sudo resets the environment: the frontend setting goes through env.
sudo=(env DEBIAN_FRONTEND=noninteractive)
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
fi
# A fresh machine's first minutes: unattended-upgrades (or another apt) may
# hold the dpkg and list locks; wait for them (up to 10 min) instead of
# failing the build.
lock=(-o DPkg::Lock::Timeout=600)

echo "deps.sh: installing" $missing
# The package lists are refreshed only when something is missing: an update
# costs tens of seconds and needs the network.
"${sudo[@]}" apt-get "${lock[@]}" update -qq
# shellcheck disable=SC2086
"${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends $missing
