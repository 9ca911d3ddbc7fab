#!/usr/bin/env bash
# tests/deploy/check.sh [SOURCE_ROOT] — the deploy/ files are valid and do
# what they say (meson test 'deploy-check', suite 'deploy'):
#
#   promtool check config  deploy/prometheus/prometheus.yml (and its rule file)
#   promtool check rules   deploy/prometheus/alerts.yml
#   promtool test rules    deploy/prometheus/alerts_test.yml
#   check_deploy.py        the Grafana dashboard (JSON, layout, queries parse
#                          as PromQL), metric and label names against
#                          docs/METRICS.md, every alert tested both ways
#
# Needs promtool (Debian's prometheus package) and python3-yaml:
# scripts/deps.sh test installs them. Exits non-zero at the first failure.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
prom="$root/deploy/prometheus"

for tool in promtool python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "check.sh: $tool not found (scripts/deps.sh test installs it)" >&2
        exit 1
    fi
done

step() { echo "== $*"; "$@"; }

step promtool check config "$prom/prometheus.yml"
step promtool check rules "$prom/alerts.yml"
step promtool test rules "$prom/alerts_test.yml"
step python3 "$root/tests/deploy/check_deploy.py" "$root"
echo "check.sh: deploy/ OK"
