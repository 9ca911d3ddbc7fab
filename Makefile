# troupe — a thin wrapper over meson so that `make demo` and `make test`
# work on a fresh Debian machine: every target first installs what it lacks
# of its own group of packages (scripts/deps.sh GROUP, groups at its top; a
# fraction of a second when nothing is missing): `make build` only the build
# dependencies, `make test` the test tools too, `make bench` the peers.
#
#   make demo [ARGS="--seconds 3"]   build release, run the migration showcase (examples/chain)
#   make demo-cluster                the chain and engine on three nodes (PostgreSQL, NATS, loopback); the owner killed
#   make test                        release + asan/ubsan suites, tsan concurrency suites,
#                                    and the build with every optional feature off
#   make test-minimal                that build alone (build/minimal)
#   make test-fuzz                   every libFuzzer harness 30 s on its corpus (build/fuzz, clang)
#   make fuzz [FUZZ_SECONDS=3600]    every harness that long (FUZZ_JOBS=2 two at once;
#                                    FUZZ="json frame" some only): docs/FUZZING.md
#   make bench [ARGS=0.1] [REPS=3]   troupe vs Erlang/OTP vs CAF, tables + charts in bench/results/
#   make bench-quick                 instruction-count gate + short core cases (< 2 min)
#   make build                       configure and build build/release only
#   make deps [DEPS_GROUP=test]      install a group's packages only (default: build)
#   make clean                       remove build/
#
# CI=true adds -Dwerror=true to every build.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

MESON ?= meson
ARGS ?=
B := build

ifneq ($(filter true 1 yes,$(CI)),)
WERROR := -Dwerror=true
else
WERROR := -Dwerror=false
endif

RELEASE_OPTS := --buildtype=release -Djemalloc=enabled $(WERROR)
# b_lundef=false: the shared library cannot resolve the sanitizer runtime
# at link time; the executables that load it provide it.
ASAN_OPTS_MESON := --buildtype=debugoptimized -Db_sanitize=address,undefined \
	-Db_lundef=false -Djemalloc=disabled -Dbench=false $(WERROR)
TSAN_OPTS_MESON := --buildtype=debugoptimized -Db_sanitize=thread \
	-Djemalloc=disabled -Dbench=false $(WERROR)
# The core library alone: every optional feature (meson_options.txt) off, so
# none of their libraries is looked up or linked. Release, no sanitizer: it
# proves the library builds and passes its own suites without them, cheaply.
MINIMAL_OPTS := --buildtype=release -Dhttp=disabled -Dpersistence-sqlite=disabled \
	-Dpersistence-postgres=disabled -Dmigrate=disabled -Dcluster=disabled -Dtrace=disabled -Djemalloc=disabled -Dhwloc=disabled \
	-Dbench=false $(WERROR)

# The libFuzzer harnesses (tests/fuzz/, docs/FUZZING.md): clang, ASan+UBSan,
# the library with coverage counters (-Dfuzz=true); only the harnesses are
# built (FUZZ_TARGETS), not the tools or the manual.
FUZZ_OPTS_MESON := --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
	-Djemalloc=disabled -Dbench=false -Dtests=false -Dexamples=false -Dfuzz=true $(WERROR)
FUZZ_SECONDS ?= 3600
FUZZ_JOBS ?= 1
FUZZ_TEST_SECONDS ?= 30

# Sanitizer runtime options: stop at the first report, with a stack.
# max_malloc_fill_size: ASan fills new blocks with 0xbe, by default only
# their first 4 KiB; filling up to 1 MiB makes a read of a field never
# written fail deterministically in big structs too (the journal's batch
# count sat 512 KiB in, zero on a fresh heap and garbage on a reused one).
export ASAN_OPTIONS := halt_on_error=1:print_stacktrace=1:detect_leaks=1:abort_on_error=0:max_malloc_fill_size=1048576
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS := halt_on_error=1:second_deadlock_stack=1

# Sanitized code is several times slower: give meson's per-test timeouts room.
ASAN_TIMEOUT_MULT ?= 3
TSAN_TIMEOUT_MULT ?= 5

# TSan of gcc 12 maps its shadow at fixed addresses and aborts with
# "unexpected memory mapping" when the kernel's mmap ASLR entropy is high
# (vm.mmap_rnd_bits > 28). Running without ASLR (inherited by every child
# process) avoids it; used only where setarch itself works.
TSAN_WRAP := $(shell setarch $$(uname -m) -R true >/dev/null 2>&1 && echo "setarch $$(uname -m) -R")

# configure DIR OPTIONS: set DIR up, or reconfigure it when OPTIONS changed
# since last time (a stamp keeps them), so that flipping CI or an option
# never leaves a stale build around; and when the packages scripts/deps.sh
# knows changed since DIR was configured (a second stamp keeps their
# versions): meson looks for optional tools and peers (valgrind, node, CAF)
# only when it configures, so a later target that installed them (`make
# test` after `make build`, `make bench` after `make test`) would not see
# them otherwise.
define configure
	@want='$(strip $(2))'; stamp='$(1)/.troupe-options'; \
	pkgs="$$(scripts/deps.sh --fingerprint)"; pstamp='$(1)/.troupe-packages'; \
	if [ ! -f '$(1)/build.ninja' ]; then \
		echo "meson setup $(1) $$want"; \
		$(MESON) setup '$(1)' $$want; \
	elif [ "$$(cat "$$stamp" 2>/dev/null)" != "$$want" ]; then \
		echo "meson setup --reconfigure $(1) $$want"; \
		$(MESON) setup --reconfigure '$(1)' $$want; \
	elif [ "$$(cat "$$pstamp" 2>/dev/null)" != "$$pkgs" ]; then \
		echo "meson setup --reconfigure $(1) $$want (installed packages changed)"; \
		$(MESON) setup --reconfigure '$(1)' $$want; \
	fi; \
	printf '%s' "$$want" > "$$stamp"; printf '%s' "$$pkgs" > "$$pstamp"
endef

# The package group each target installs (scripts/deps.sh GROUP). A
# target-specific value holds for the target's prerequisites too, so the
# `deps` that `build` runs for `make test` installs the test group.
DEPS_GROUP = build
demo: DEPS_GROUP = demo
demo-cluster soak-cluster: DEPS_GROUP = cluster
test test-release test-asan test-tsan test-minimal test-fuzz fuzz: DEPS_GROUP = test
bench-quick: DEPS_GROUP = gate
bench: DEPS_GROUP = bench

PHONY_SOAK = soak-cluster soak
.PHONY: deps build build-asan build-tsan build-minimal demo demo-cluster $(PHONY_SOAK) test test-release test-asan test-tsan \
	test-minimal bench bench-quick clean build-fuzz test-fuzz fuzz

deps:
	@scripts/deps.sh $(DEPS_GROUP)

build: deps
	$(call configure,$(B)/release,$(RELEASE_OPTS))
	ninja -C $(B)/release

build-asan: deps
	$(call configure,$(B)/asan,$(ASAN_OPTS_MESON))
	ninja -C $(B)/asan

build-tsan: deps
	$(call configure,$(B)/tsan,$(TSAN_OPTS_MESON))
	ninja -C $(B)/tsan

build-minimal: deps
	$(call configure,$(B)/minimal,$(MINIMAL_OPTS))
	ninja -C $(B)/minimal

# CC=clang for this build dir only (the others stay gcc's).
build-fuzz: export CC = clang
build-fuzz: deps
	$(call configure,$(B)/fuzz,$(FUZZ_OPTS_MESON))
	ninja -C $(B)/fuzz $$(ninja -C $(B)/fuzz -t targets all | sed -n 's/^\(tests\/fuzz\/fuzz-[a-z]*\):.*/\1/p')

# The chain showcase keeps its SQLite journal in ./demo-data (or
# $TROUPE_DEMO_DATA): a rerun resumes the chain. examples/demo is still built
# (the browser and deploy tests run it).
demo: build
	$(B)/release/examples/chain $(ARGS)

# Three nodes, a PostgreSQL server and three NATS servers on loopback, all
# started and stopped here (tests/cluster/run_nats.sh): the chain and engine
# of `make demo` as cluster actors under load from every node; the chain's
# owner is killed mid-run, a survivor takes it over, and make demo's checks
# end it (examples/cluster/demo.sh; exit 1 if one fails).
demo-cluster: build
	@test -x $(B)/release/examples/cluster-node || { echo "demo-cluster: the cluster layer was not built (libnats-dev, libpq-dev: scripts/deps.sh cluster; and -Dmigrate)" >&2; exit 1; }
	tests/cluster/run_nats.sh examples/cluster/demo.sh $(B)/release/examples/cluster-node \
		$(B)/release/examples/cluster-check

# The cluster's long fault runs (not CI, ~5 min): 20 kill -9 of the owner
# with the survivor taking over, 10 SIGSTOPs past the lease, 10 PostgreSQL
# restarts; each run starts and stops its own servers (tests/cluster/kill_test.sh)
# and ends with the Jepsen-style checker. KILLS=N changes the count.
KILLS ?= 20
soak-cluster: build
	@test -x $(B)/release/tests/cluster-kill-node || { echo "soak-cluster: the cluster layer was not built (scripts/deps.sh cluster)" >&2; exit 1; }
	tests/cluster/kill_test.sh $(B)/release/tests/cluster-kill-node $(KILLS) 3000 500 kill
	tests/cluster/kill_test.sh $(B)/release/tests/cluster-kill-node $$(( $(KILLS) / 2 )) 3000 500 stop
	tests/cluster/kill_test.sh $(B)/release/tests/cluster-kill-node $$(( $(KILLS) / 2 )) 3000 500 pgrestart

# The soak (not CI; tests/soak/soak.c): SOAK_SECONDS (default 600) of a
# churning supervision tree, persistent actors, threads, flag flips and
# /metrics scrapes under ASan+UBSan, then its checks and a summary (exit 1
# if one fails; LeakSanitizer at exit). A 16 MiB quarantine: RSS then
# shows the program's memory, not the freed blocks ASan holds back.
SOAK_SECONDS ?= 600
SOAK_SAMPLE_SECONDS ?= 60
soak: DEPS_GROUP = test
soak: build-asan
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_SAMPLE_SECONDS=$(SOAK_SAMPLE_SECONDS) \
		ASAN_OPTIONS=$(ASAN_OPTIONS):quarantine_size_mb=16 $(B)/asan/tests/soak

# All three runs happen even when one fails (a CI log then shows every
# failure at once); the exit code is non-zero if any failed.
test:
	@failed=""; \
	for t in test-release test-asan test-tsan test-minimal test-fuzz; do \
		$(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; fi; \
	scripts/tally.sh $(B)/release $(B)/asan $(B)/tsan $(B)/minimal $(B)/fuzz; \
	[ -z "$$failed" ]

test-release: build
	$(MESON) test -C $(B)/release --print-errorlogs

test-asan: build-asan
	$(MESON) test -C $(B)/asan --print-errorlogs --timeout-multiplier $(ASAN_TIMEOUT_MULT)

# The suites of the features built in (tests/meson.build skips the others;
# core-features runs the stubs' cases), the header checks, the README
# example, and tests/pkgconfig.sh: the installed troupe.pc names none of the
# disabled libraries, and hello links shared and static without them. The
# repository checks (suites scripts and deploy) and the subproject
# test run with the release build already.
test-minimal: build-minimal
	$(MESON) test -C $(B)/minimal --print-errorlogs --no-suite scripts --no-suite deploy \
		--no-suite subproject

test-tsan: build-tsan
	$(TSAN_WRAP) $(MESON) test -C $(B)/tsan --suite concurrency --print-errorlogs \
		--timeout-multiplier $(TSAN_TIMEOUT_MULT)

# The fuzz stage: each harness FUZZ_TEST_SECONDS on its committed corpus,
# two at once (2 cores): ~1.5 min plus the build; fails on any crash, leak
# or hang (scripts/fuzz.sh).
test-fuzz: build-fuzz
	rm -f $(B)/fuzz/fuzz-logs/results.txt
	scripts/fuzz.sh $(B)/fuzz $(FUZZ_TEST_SECONDS) 2

# As long as asked: FUZZ_SECONDS per harness (default one hour each),
# FUZZ_JOBS at once; what the harnesses find stays in build/fuzz/fuzz-corpus.
fuzz: build-fuzz
	scripts/fuzz.sh $(B)/fuzz $(FUZZ_SECONDS) $(FUZZ_JOBS)

# --verbose streams each benchmark's stdout, so every SUMMARY line shows.
# ARGS is handed to every benchmark as its scale (e.g. ARGS=0.1).
# The regression gate: instructions per message of the hot paths under
# callgrind against bench/baseline/gate.txt (fails above +10 %; `make test`
# runs it too, as the release build's 'gate' suite), then short runs of the
# core cases, whose wall-clock figures are reported, never gated.
bench-quick: build
	python3 scripts/bench_gate.py $(B)/release/bench/bench_gate bench/baseline/gate.txt
	@for b in ping_pong fan_in thread_ring spawn restart; do \
		TROUPE_BENCH_SCALE=0.1 $(B)/release/bench/bench_$$b | grep '^SUMMARY'; \
	done

# troupe and its peers (Erlang/OTP, CAF) side by side, A B A B over REPS
# repetitions: tables, JSON and charts in bench/results/ (scripts/bench_all.py).
# The peers' packages may come after build/release was configured: the
# configure step then reconfigures it (see configure above), and the CAF
# probe (bench/peers/caf/meson.build) records no "not found" that would
# outlive the install.
REPS ?= 3
bench: build
	$(if $(strip $(ARGS)),TROUPE_BENCH_SCALE='$(ARGS)') \
		python3 scripts/bench_all.py $(B)/release --reps $(REPS)

clean:
	rm -rf $(B)
