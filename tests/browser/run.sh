#!/usr/bin/env bash
# tests/browser/run.sh DEMO WORK_DIR [SCREENSHOT] — the dashboard in a real
# browser (meson test 'browser-dashboard', suite 'browser').
#
# Installs the pinned playwright-core (package-lock.json) into WORK_DIR with
# `npm ci` — once, again only when the lock changes — then runs
# dashboard.mjs, which starts DEMO, drives Debian's Chromium through it and
# saves a screenshot to SCREENSHOT (default WORK_DIR/dashboard.png; the
# README's docs/dashboard.png is made with
# `tests/browser/run.sh build/release/examples/demo build/browser docs/dashboard.png`).
# playwright-core downloads no browser: it drives /usr/bin/chromium.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
demo=$(realpath "$1")
work=$(mkdir -p "$2" && cd "$2" && pwd)
shot=${3:-$work/dashboard.png}

for tool in node npm /usr/bin/chromium; do
    if ! command -v "$tool" >/dev/null; then
        echo "browser test: $tool is missing (scripts/deps.sh test installs it)" >&2
        exit 1
    fi
done
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "browser test: playwright-core needs Node.js >= 20, this is $(node --version)" >&2
    exit 1
fi

if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" ||
   [ ! -d "$work/node_modules/playwright-core" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

TROUPE_NPM_DIR="$work" exec node "$here/dashboard.mjs" "$demo" "$(realpath -m "$shot")"
