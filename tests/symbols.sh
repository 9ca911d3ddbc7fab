#!/bin/sh
# tests/symbols.sh LIBTROUPE.a LIBTROUPE.so — the libraries export nothing
# outside troupe's names: every global symbol of the static library starts
# with troupe_ or troupei_ (base/namespace.h), and the shared library's
# dynamic table holds troupe_ names only (-fvisibility=hidden). ASan adds an
# __odr_asan.<name> marker beside each global it instruments: not ours.
set -eu
bad=$(nm -g --defined-only "$1" | awk 'NF == 3 { print $3 }' | grep -v -E "^troupei?_" | grep -v "^__odr_asan\." || true)
if [ -n "$bad" ]; then
    echo "static library: symbols outside troupe_/troupei_:"; echo "$bad"; exit 1
fi
bad=$(nm -D --defined-only "$2" | awk 'NF == 3 { print $3 }' | grep -v -E '^troupe_' || true)
if [ -n "$bad" ]; then
    echo "shared library exports more than the API:"; echo "$bad"; exit 1
fi
echo "symbols: $(nm -D --defined-only "$2" | awk 'NF == 3' | wc -l) exported, all troupe_"
