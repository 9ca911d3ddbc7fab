# tests/trace/npm_setup.sh — sourced by run.sh and run_cluster.sh: checks the
# tools and installs the receiver's packages (package-lock.json: the
# OpenTelemetry project's otlp-transformer 0.57.2) into $work once, again
# when the lock changes. Needs $here (this folder) and $work.
for tool in node npm python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "trace test: $tool is missing (scripts/deps.sh test installs it)" >&2
        exit 1
    fi
done
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" ||
   [ ! -d "$work/node_modules/@opentelemetry/otlp-transformer" ]; then
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
