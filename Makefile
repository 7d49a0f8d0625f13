# The README's commands. `make` builds everything, `make test` runs every test,
# `make run` starts the voiding demo. Missing Debian packages are installed
# when we are root with apt-get; otherwise the missing ones are named.

PRESET ?= dev
BUILD  := build/$(PRESET)
DEPS   := cmake make gcc pkg-config libsqlite3-dev libjansson-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev libinih-dev libpq-dev postgresql sqlite3 curl
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
DB     ?= steward-voiding.db

.PHONY: all build deps test test-asan valgrind fuzz fuzz-quick run bench bench-quick format format-check clean

all: build

deps:
	@./scripts/deps.sh $(DEPS)

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The suite under AddressSanitizer + UndefinedBehaviorSanitizer. The browser
# test (ui/) is left to `make test`: it checks the page, not memory, and the
# server under the sanitizers is exercised by the API and CLI suites here.
test-asan: deps
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build build/asan-ubsan -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build/asan-ubsan --output-on-failure -j $(JOBS) -LE '^ui$$'

# Unit and scenario tests under valgrind's leak checker.
valgrind: build
	@./scripts/deps.sh valgrind
	@./scripts/pg-cluster.sh run ./scripts/valgrind.sh $(BUILD)

# The fuzz targets (tests/fuzz/) under libFuzzer: clang builds them with the fuzz
# preset (build/fuzz), then each runs FUZZ_SECONDS on a copy of its seed corpus
# in build/fuzz/fuzz/ (scripts/fuzz.sh), two at a time; any crash, leak,
# undefined behaviour or failed check fails the run. `make fuzz-quick` gives
# each target 60 s; `make fuzz FUZZ_SECONDS=1800` is the long run.
FUZZ_DEPS    := clang libclang-rt-14-dev
FUZZ_TARGETS := request events commands auth config escaper instance
FUZZ_SECONDS ?= 1800

fuzz: deps
	@./scripts/deps.sh $(FUZZ_DEPS)
	@cmake --preset fuzz >/dev/null
	@cmake --build build/fuzz -j $(JOBS) --target fuzzers
	@FUZZ_JOBS=$(JOBS) ./scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-quick:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=60

# Benchmarks on an optimised build; each prints `bench <name> <value> <unit>` lines.
# scripts/bench-all.sh holds the list. The figures are also written as JSON to
# bench/results/latest.json and drawn against their targets in bench/results/latest.svg
# (gnuplot, installed here only: the tests do not need it).
BENCH_DEPS := gnuplot-nox

bench: deps
	@./scripts/deps.sh $(BENCH_DEPS)
	@cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)
	@mkdir -p bench/results
	@rm -f build/release/bench.txt
	@OUT=build/release/bench.txt ./scripts/bench-all.sh build/release
	@./scripts/bench-json.sh < build/release/bench.txt > bench/results/latest.json
	@./scripts/bench-plot.sh < build/release/bench.txt > bench/results/latest.svg
	@echo "wrote bench/results/latest.json and bench/results/latest.svg"

# The same code on small sizes, in seconds (also part of make test).
bench-quick: build
	@./scripts/bench-all.sh $(BUILD) quick

run: build
	@$(BUILD)/steward demo voiding --db $(DB)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	@rm -rf build
