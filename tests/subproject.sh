#!/bin/sh
# tests/subproject.sh SRC SCRATCH — troupe as a meson subproject, as an
# embedder uses it (README.md, "Install and use"): a scratch project whose
# subprojects/troupe is this tree (a symbolic link: no network, no copy) and
# whose subprojects/troupe.wrap is the README's, finds it with
# dependency('troupe') (the wrap's [provide] and troupe's
# meson.override_dependency), builds a program with it and runs it; and
# troupe, as a subproject, configured none of its tests, benchmarks or
# examples (their options are 'auto': off in a subproject), so it builds the
# library alone and does not need Criterion.
set -eu
src=$1 scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch/proj/subprojects"
trap 'rm -rf "$scratch"' EXIT INT TERM
proj=$scratch/proj
ln -s "$(cd "$src" && pwd)" "$proj/subprojects/troupe"
# The README's wrap: with subprojects/troupe present, nothing is fetched.
cat > "$proj/subprojects/troupe.wrap" <<'WRAP'
[wrap-git]
url = https://example.invalid/troupe.git
revision = head
depth = 1

[provide]
dependency_names = troupe
WRAP
cat > "$proj/meson.build" <<'MESON'
project('embedder', 'c', default_options : ['c_std=c11'])
troupe = dependency('troupe')
executable('embedded', 'main.c', dependencies : troupe)
MESON
cp "$src/examples/hello.c" "$proj/main.c"
# --force-fallback-for: the subproject even where a troupe is installed.
meson setup "$scratch/build" "$proj" --force-fallback-for=troupe --buildtype=release \
    > "$scratch/setup.log" 2>&1 || { cat "$scratch/setup.log"; exit 1; }
grep -q "Subproject troupe finished" "$scratch/setup.log" || {
    cat "$scratch/setup.log"; echo "FAIL: troupe was not configured as a subproject"; exit 1; }
ninja -C "$scratch/build" > "$scratch/ninja.log" 2>&1 || { cat "$scratch/ninja.log"; exit 1; }
"$scratch/build/embedded"
echo "subproject build and run: ok"
if grep -qi criterion "$scratch/setup.log"; then
    echo "FAIL: the subproject looked Criterion up"; exit 1
fi
# Nothing of troupe's suites, benchmarks or examples was configured.
tests=$(meson introspect --tests "$scratch/build")
benches=$(meson introspect --benchmarks "$scratch/build")
[ "$tests" = "[]" ] || { echo "FAIL: tests configured: $tests"; exit 1; }
[ "$benches" = "[]" ] || { echo "FAIL: benchmarks configured: $benches"; exit 1; }
targets=$(meson introspect --targets "$scratch/build" | python3 -c '
import json, sys
print(" ".join(sorted(t["name"] for t in json.load(sys.stdin))))')
echo "targets: $targets"
for t in $targets; do
    case $t in
    embedded | troupe | http-page) ;;
    *) echo "FAIL: the subproject configured the target $t"; exit 1 ;;
    esac
done
echo "no tests, benchmarks or examples of troupe configured: ok"
