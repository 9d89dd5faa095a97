# basalt — thin wrappers around CMake presets, ctest and the test runners.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
HTTP ?= 127.0.0.1:8090
DIR ?= basalt_data
FUZZ_SECONDS ?= 30

.PHONY: all deps build ui run test unit api e2e asan tsan fuzz fuzz-build bench bench-check format format-check tidy clean

all: build ui

deps:
	@scripts/install-deps

build: deps
	@[ -f build/build.ninja ] || cmake --preset release >/dev/null
	@cmake --build build -j$(JOBS)

# The admin dashboard (web/admin → web/admin/dist, served at /_/), rebuilt when its sources change.
UI_SOURCES := $(shell find web/admin/src -type f 2>/dev/null) web/admin/index.html web/admin/vite.config.js web/admin/package-lock.json
ui: web/admin/dist/index.html
web/admin/dist/index.html: $(UI_SOURCES) | deps
	cd web/admin && npm run --silent build

run: build ui
	./build/basalt serve --http $(HTTP) --dir $(DIR)

# Every suite: format, unit (release), API against the release binary, the same under
# ASan+UBSan, the threaded unit tests under TSan, and each fuzz target for FUZZ_SECONDS.
test: deps
	@scripts/run-tests

unit: build
	cd build && ctest -L unit --output-on-failure

api: build
	node --test --test-concurrency=1 tests/api/

e2e: build ui
	node --test --test-concurrency=1 tests/e2e/

asan: deps
	@[ -f build-debug/build.ninja ] || cmake --preset debug >/dev/null
	@cmake --build build-debug -j$(JOBS)
	cd build-debug && ctest -L unit --output-on-failure
	BASALT_BIN=$(CURDIR)/build-debug/basalt node --test --test-concurrency=1 tests/api/

# ThreadSanitizer over the unit tests whose units run threads (ctest label "threads").
tsan: deps
	@[ -f build-tsan/build.ninja ] || cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j$(JOBS)
	cd build-tsan && ctest -L threads --output-on-failure

fuzz-build: deps
	@[ -f build-fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
	@cmake --build build-fuzz -j$(JOBS)

fuzz: fuzz-build
	@scripts/run-fuzz $(FUZZ_SECONDS)

# The benchmarks: health vs nginx, the records workloads (W1, W2, mixed, W3) and 5 minutes of
# durable creates (WAL size, rate over time, idle CPU afterwards). Minutes of full load on every
# core: on a shared machine, run it under the shared lock (flock /tmp/basalt-build.lock make bench).
bench: build
	bench/health.sh
	bench/records.sh
	bench/files.sh
	bench/sustained.sh 300

# The regression guard: 5 s of W1, W2 and W3 beside nginx against bench/baseline.json. No build
# dependency: it measures the binary there is (`make test` builds it in an earlier step), so that
# running it never starts a build (BASALT_BIN to point it at another).
bench-check:
	bench/check.sh

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

format-check:
	clang-format --dry-run --Werror $$(git ls-files --cached --others --exclude-standard 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp')

tidy: build
	scripts/run-tidy

clean:
	rm -rf build build-debug build-tsan build-fuzz build-relassert web/admin/dist
