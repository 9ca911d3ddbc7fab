#!/bin/sh
# tests/docs/check_man_selftest.sh BUILD_ROOT LIBTROUPE.so INCLUDE_DIR — the
# manual check (check_man.py) fails when it should: run against a copy of
# the build's install list with one page left out and a page added for a
# function that does not exist (and is not valid man), it must exit 1 and
# name each of the three problems.
set -eu
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/meson-info"
python3 - "$1/meson-info/intro-installed.json" "$tmp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d = {k: v for k, v in d.items() if not k.endswith('/troupe_alive.3')}
d[sys.argv[2] + '/troupe_gone.3'] = '/usr/share/man/man3/troupe_gone.3'
json.dump(d, open(sys.argv[2] + '/meson-info/intro-installed.json', 'w'))
PY
printf '.TH TROUPE_GONE 3\n.SH NAME\n.BOGUS\n' > "$tmp/troupe_gone.3"
rc=0
python3 "$here/check_man.py" "$tmp" "$2" "$3" > "$tmp/out" || rc=$?
cat "$tmp/out"
[ "$rc" = 1 ] || { echo "selftest: check_man.py exited $rc, not 1"; exit 1; }
for want in 'FAIL troupe_alive: exported by' 'FAIL troupe_gone.3: a page for a function' \
            "FAIL troupe_gone.3: groff: .*BOGUS"; do
    grep -q "$want" "$tmp/out" || { echo "selftest: no line matching '$want'"; exit 1; }
done
echo "selftest: check_man.py names a missing page, a stale page and a bad one"
