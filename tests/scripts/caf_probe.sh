#!/usr/bin/env bash
# tests/scripts/caf_probe.sh SOURCE_ROOT SCRATCH_DIR — the CAF peer is found
# by a `meson setup --reconfigure` of a build dir configured before CAF was
# installed (meson test 'scripts-caf-probe', suite 'scripts').
#
# On a fresh clone `make test` configures build/release before `make bench`
# installs libcaf-dev. Meson keeps every compiler check's result in the build
# dir (coredata.dat), across --reconfigure, and meson 1.0's
# `configure --clearcache` clears only dependency() results: a header check
# that said "no" before the install would say "no" for good.
#
# CAF is not installed here (the test skips when it is): a fake CAF 0.17 (its
# config.hpp and an empty libcaf_core.so) under SCRATCH_DIR is hidden at the
# first configure and made visible through the compiler's own search paths
# (CPLUS_INCLUDE_PATH, LIBRARY_PATH) at the reconfigure, as an apt install
# would. Configure only: nothing is built.
set -euo pipefail

src=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch/caf/include/caf" "$scratch/caf/lib"
trap 'rm -rf "$scratch"' EXIT

if echo '#include <caf/config.hpp>' | c++ -E -x c++ - >/dev/null 2>&1; then
    echo "CAF is installed on this machine: cannot hide it, skipped"
    exit 77
fi

printf '#define CAF_VERSION 1706\n' > "$scratch/caf/include/caf/config.hpp"
echo 'int caf_probe_fake;' > "$scratch/caf/fake.cpp"
c++ -shared -fPIC -o "$scratch/caf/lib/libcaf_core.so" "$scratch/caf/fake.cpp"

# The caf_* benchmarks registered in the build dir (suite peers-caf).
caf_benchmarks() {
    meson introspect --benchmarks "$scratch/build" | grep -c '"caf_ping_pong"' || true
}

meson setup "$scratch/build" "$src" -Dtests=false -Dbench=true > "$scratch/setup.log" 2>&1 ||
    { cat "$scratch/setup.log"; exit 1; }
if [ "$(caf_benchmarks)" != 0 ]; then
    echo "CAF found before it was made visible: the test proves nothing"; exit 1
fi

CPLUS_INCLUDE_PATH="$scratch/caf/include" LIBRARY_PATH="$scratch/caf/lib" \
    meson setup --reconfigure "$scratch/build" "$src" > "$scratch/reconf.log" 2>&1 ||
    { cat "$scratch/reconf.log"; exit 1; }
grep -i 'caf' "$scratch/reconf.log" || true
if [ "$(caf_benchmarks)" = 0 ]; then
    echo "FAIL: CAF installed after the first configure is not found by a reconfigure"
    exit 1
fi
echo "caf probe: found after the reconfigure"
