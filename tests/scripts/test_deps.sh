#!/usr/bin/env bash
# tests/scripts/test_deps.sh SOURCE_ROOT — the package groups of
# scripts/deps.sh and the Makefile targets that use them (meson test
# 'scripts-deps', suite 'scripts').
#
# Checks, without installing anything: the build group holds no test or
# bench tool; every group includes the build group (and `test` the demo's
# and the gate's); each Makefile target asks for its own group; an install
# (apt-get and sudo replaced by stand-ins on PATH, dpkg-query by one that
# answers from a fake state) asks for exactly the group's missing packages,
# --dry-run installs nothing, and --fingerprint changes when a package does.
set -euo pipefail

src=$1
deps="$src/scripts/deps.sh"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

list() { "$deps" --list "$1" | tr '\n' ' '; }
has() { [[ " $1 " == *" $2 "* ]]; }

# --- the groups -------------------------------------------------------------
declare -A members
for g in build demo gate test bench all; do
    members[$g]=$(list "$g")
done
build=${members[build]}
for p in build-essential meson ninja-build pkg-config libcriterion-dev; do
    has "$build" "$p" || fail "build group lacks $p"
done
test_only="valgrind postgresql prometheus python3-yaml chromium fonts-dejavu-core nodejs npm"
bench_only="erlang-nox libcaf-dev gnuplot-nox postgresql" # postgresql: persist_pg.sh
for p in $test_only $bench_only; do
    has "$build" "$p" && fail "build group installs $p (a test or bench tool)"
done
for g in demo gate test bench all; do
    for p in $build; do
        has "${members[$g]}" "$p" || fail "group $g lacks the build package $p"
    done
done
for p in ${members[demo]} ${members[gate]}; do
    has "${members[test]}" "$p" || fail "test group lacks $p (the suites run the demo and the gate)"
done
for p in valgrind postgresql prometheus python3-yaml chromium nodejs groff-base; do
    has "${members[test]}" "$p" || fail "test group lacks $p"
done
for p in $bench_only; do
    has "${members[bench]}" "$p" || fail "bench group lacks $p"
done
for p in prometheus chromium; do
    has "${members[bench]}" "$p" && fail "bench group installs $p (a test tool)"
done
for g in build demo gate test bench; do
    for p in ${members[$g]}; do
        has "${members[all]}" "$p" || fail "group all lacks $p (of $g)"
    done
done
if "$deps" --list nosuch >/dev/null 2>&1; then fail "an unknown group is accepted"; fi

# --- installs, with stand-ins for dpkg-query, apt-get and sudo --------------
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
cat > "$fake/dpkg-query" <<'EOF'
#!/usr/bin/env bash
# FAKE_DPKG=none: nothing installed; all: everything, at FAKE_VERSION.
fmt=""
for a in "$@"; do
    case "$a" in
        -f*) fmt=$a ;;
        -*) ;;
        *) if [ "$FAKE_DPKG" = all ]; then
               if [[ "$fmt" == *Version* ]]; then
                   echo "$a install ok installed ${FAKE_VERSION:-1}"
               else
                   echo "$a install ok installed"
               fi
           fi ;;
    esac
done
[ "$FAKE_DPKG" = all ]
EOF
printf '#!/bin/sh\necho "$*" >> "%s/apt.log"\n' "$fake" > "$fake/apt-get"
printf '#!/bin/sh\nexec "$@"\n' > "$fake/sudo"
chmod +x "$fake/dpkg-query" "$fake/apt-get" "$fake/sudo"
fakerun() { PATH="$fake:$PATH" FAKE_DPKG=$1 "${@:2}"; }

for g in build demo test bench; do
    want=$(fakerun none "$deps" --list "$g" | tr '\n' ' ')
    out=$(fakerun none "$deps" --dry-run "$g")
    [ "$out" = "deps.sh: would install ${want% }" ] || fail "--dry-run $g printed '$out'"
    [ ! -e "$fake/apt.log" ] || fail "--dry-run $g ran apt-get"
    rm -f "$fake/apt.log"
    fakerun none "$deps" "$g" >/dev/null
    lockopt='-o DPkg::Lock::Timeout=600'
    grep -q "^$lockopt update" "$fake/apt.log" || fail "deps.sh $g: apt-get update does not wait for the lock"
    installed=$(grep "^$lockopt install" "$fake/apt.log" |
        sed "s/^$lockopt install -y -qq --no-install-recommends //")
    [ "$installed" = "${want% }" ] || fail "deps.sh $g installed '$installed', wanted '${want% }'"
    rm -f "$fake/apt.log"
    fakerun all "$deps" "$g"
    [ ! -e "$fake/apt.log" ] || fail "deps.sh $g ran apt-get with everything installed"
    out=$(fakerun all "$deps" --dry-run "$g")
    [ -z "$out" ] || fail "--dry-run $g printed '$out' with everything installed"
done

f1=$(fakerun all "$deps" --fingerprint)
f2=$(FAKE_VERSION=2 fakerun all "$deps" --fingerprint)
f0=$(fakerun none "$deps" --fingerprint)
[ -n "$f1" ] && [ "$f1" != "$f2" ] && [ "$f1" != "$f0" ] ||
    fail "--fingerprint does not change with the installed packages"
has "$(echo $f1)" "libcaf-dev install ok installed 1" || fail "--fingerprint misses libcaf-dev"

# --- the Makefile: each target installs its own group -----------------------
unset MAKEFLAGS MFLAGS MAKELEVEL
groups_of() {
    make -n -C "$src" --no-print-directory "$1" 2>/dev/null |
        grep -o 'scripts/deps.sh [a-z][a-z]*' | sort -u | sed 's/scripts.deps.sh //' | tr '\n' ' '
}
for tg in build:build build-asan:build build-tsan:build demo:demo test-release:test \
          test-asan:test test-tsan:test test:test bench:bench bench-quick:gate; do
    got=$(groups_of "${tg%%:*}")
    [ "$got" = "${tg#*:} " ] || fail "make ${tg%%:*} installs group(s) '$got', wanted '${tg#*:}'"
done

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"; exit 1
fi
echo "deps groups: build, demo, gate, test, bench, all; Makefile targets use theirs"
