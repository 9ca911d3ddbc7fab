#!/bin/sh
# tests/pkgconfig.sh BUILD_DIR HELLO_C CC — the installed troupe.pc as a
# user meets it: `meson install --destdir` into a scratch root, then
# --cflags names no include path of a private dependency (PostgreSQL's,
# p11-kit's), and examples/hello.c builds with
# `cc -std=c11 $(pkg-config --cflags --libs troupe)` against the shared
# library and, with `--static --libs`, against libtroupe.a; both run.
# The optional features the build left out (`pkg-config --variable=features
# troupe` lists those built in, comma-separated) are named nowhere: not in --static --libs,
# and neither binary loads their library (ldd): a build without http,
# SQLite and PostgreSQL links no libmicrohttpd, libsqlite3 or libpq.
set -eu
build=$1 hello=$2 cc=$3
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM
meson install -C "$build" --no-rebuild --quiet --destdir "$root" >/dev/null
pc=$(find "$root" -name troupe.pc | head -n 1)
[ -n "$pc" ] || { echo "no troupe.pc installed"; exit 1; }
prefix=$(pkg-config --variable=prefix "$pc")
# The installed prefix, moved under the scratch root.
pc_run() { PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$root$prefix" "$@" troupe; }
cflags=$(pc_run --cflags)
echo "cflags: $cflags"
case $cflags in
*postgresql* | *p11-kit*) echo "FAIL: --cflags leaks a private dependency's include path"; exit 1 ;;
esac
libdir=$(pc_run --variable=libdir)
# shellcheck disable=SC2086,SC2046 # word splitting of pkg-config output is intended
"$cc" -std=c11 -o "$root/hello-shared" "$hello" $cflags $(pc_run --libs) -Wl,-rpath,"$libdir"
"$root/hello-shared"
echo "shared link: ok"
# libtroupe.a by file name (-l:), the private libraries as the system has them.
static_libs=$(pc_run --static --libs | sed 's/-ltroupe\b/-l:libtroupe.a/')
# shellcheck disable=SC2086,SC2046
"$cc" -std=c11 -o "$root/hello-static" "$hello" $cflags $static_libs
if ldd "$root/hello-static" | grep -q libtroupe; then
    echo "FAIL: the static link used libtroupe.so"; exit 1
fi
"$root/hello-static"
echo "static link: ok"
# Each optional feature and the library it brings: absent from the link
# when the feature is not built in, present in --static --libs when it is.
features=$(pc_run --variable=features)
echo "features: $features"
static_all=$(pc_run --static --libs)
for pair in http:microhttpd persistence-sqlite:sqlite3 persistence-postgres:pq hwloc:hwloc \
    jemalloc:jemalloc; do
    f=${pair%%:*} lib=${pair#*:}
    case ",$features," in
    *",$f,"*)
        case " $static_all " in
        *" -l$lib "*) ;;
        *) echo "FAIL: $f is built in but --static --libs lacks -l$lib"; exit 1 ;;
        esac ;;
    *)
        case " $static_all " in
        *" -l$lib "*) echo "FAIL: $f is not built in but --static --libs names -l$lib"; exit 1 ;;
        esac
        for bin in hello-shared hello-static; do
            if ldd "$root/$bin" | grep -q "lib$lib\.so"; then
                echo "FAIL: $f is not built in but $bin loads lib$lib"; exit 1
            fi
        done ;;
    esac
done
echo "features: only what was built in is linked"
