#!/bin/sh
# tests/readme_example.sh README.md INCLUDE_DIR CC [CXX] — the README's first
# example (the C block under "## A short example") compiles as a user
# compiles it: C11 -pedantic with no feature macro, and C++17 when a C++
# compiler is given. Syntax only: tests/meson.build builds and runs the full
# program (examples/hello.c) both ways.
set -eu
readme=$1 inc=$2 cc=$3 cxx=${4:-}
src=$(awk '/^## A short example/ { f = 1 } f && /^```c$/ { b = 1; next } b && /^```$/ { exit } b' "$readme")
if [ -z "$src" ]; then
    echo "no C block under '## A short example' in $readme"; exit 1
fi
printf '%s\n' "$src" | "$cc" -std=c11 -pedantic -Wall -Wextra -Werror -U_GNU_SOURCE \
    -fsyntax-only -I "$inc" -x c -
echo "README example: C11 -pedantic ok"
if [ -n "$cxx" ]; then
    printf '%s\n' "$src" | "$cxx" -std=c++17 -Wall -Werror -fsyntax-only -I "$inc" -x c++ -
    echo "README example: C++17 ok"
fi
