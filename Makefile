# The front door. Every target checks the dependencies first (and installs them, as root).
#   make                 build everything (build/bin/)
#   make test            build and run every test
#   make test SANITIZE=address   the same under ASan+UBSan (build-address/)
#   make test SANITIZE=thread    the TSan-labelled tests under ThreadSanitizer (build-thread/)
#   make bench [FULL=1]  run every benchmark; results, charts, report in results/<machine>/
#   make charts RESULTS=results/<machine>   redraw charts and report from a results folder
#   make docs           refresh the code quoted in docs/ from the source markers
#   make clean
SANITIZE ?=
FULL ?= 0
WERROR ?= ON
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD := build$(if $(SANITIZE),-$(SANITIZE))
# TSan only understands pure-thread programs (it stops checking after fork()), so a TSan
# pass runs only the tests labelled tsan.
CTEST_LABELS := $(if $(filter thread,$(SANITIZE)),-L tsan)

.PHONY: all build deps test bench charts docs clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DSANITIZE=$(SANITIZE) -DWERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) $(CTEST_LABELS)

bench:
	@scripts/deps.sh bench
	@cmake -S . -B build -DSANITIZE= -DWERROR=$(WERROR) >/dev/null
	@cmake --build build -j $(JOBS)
	@FULL=$(FULL) scripts/bench.sh build

charts:
	@test -n "$(RESULTS)" || { echo "make charts: give RESULTS=results/<machine>" >&2; exit 2; }
	@scripts/deps.sh build
	@scripts/charts.sh $(RESULTS) && python3 scripts/report.py $(RESULTS)

docs:
	@python3 scripts/snippets.py

clean:
	rm -rf build build-address build-thread
