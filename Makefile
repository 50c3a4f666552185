# The front door. `make` only checks the dependencies: it names the missing packages and
# the command that installs them, and stops (exit 2). `make deps` installs them (as root;
# otherwise it prints the command). `make test` and `make bench` do all the set-up a fresh
# Debian 12 machine needs: they install what is missing (as root), then build.
#   make                 build everything (build/bin/)
#   make deps            install the packages the build and the lessons need (as root)
#   make test            install what is missing, build and run every test
#   make test SANITIZE=address   the same under ASan+UBSan (build-address/)
#   make test SANITIZE=thread    the TSan-labelled tests under ThreadSanitizer (build-thread/)
#   make bench [FULL=1]  install what is missing (benchmark peers too), build, run every
#                        benchmark; results, charts, report in results/<machine>/
#   make charts RESULTS=results/<machine>   redraw charts and report from a results folder
#   make docs            refresh the code quoted in docs/ from the source markers, then
#                        render the course as a site in build/docs/ (open build/docs/index.html;
#                        offline); installs its Debian packages first (as root)
#   make clean
SANITIZE ?=
FULL ?= 0
WERROR ?= ON
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD = build$(if $(SANITIZE),-$(SANITIZE))
# TSan only understands pure-thread programs (it stops checking after fork()), so a TSan
# pass runs only the tests labelled tsan.
CTEST_LABELS := $(if $(filter thread,$(SANITIZE)),-L tsan)

# Which packages the build looks for, and whether it only checks (plain `make`) or installs
# (when `make test` or `make bench` asks for the build: target-specific values reach the
# prerequisites). The benches run the plain build, whatever SANITIZE says.
DEPS_SET := build
DEPS_CHECK := --check
test: DEPS_CHECK :=
bench: DEPS_CHECK :=
bench: DEPS_SET := bench
bench: override SANITIZE :=

.PHONY: all build deps test bench charts docs clean

all: build

deps:
	@scripts/deps.sh build

build:
	@scripts/deps.sh $(DEPS_CHECK) $(DEPS_SET)
	@cmake -S . -B $(BUILD) -DSANITIZE=$(SANITIZE) -DWERROR=$(WERROR) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) $(CTEST_LABELS)

bench: build
	@FULL=$(FULL) scripts/bench.sh $(BUILD)

charts:
	@test -n "$(RESULTS)" || { echo "make charts: give RESULTS=results/<machine>" >&2; exit 2; }
	@scripts/deps.sh --check build
	@scripts/charts.sh $(RESULTS) && python3 scripts/report.py $(RESULTS)

# The site is rendered by Debian's interpreter: python3 on PATH may be another one, which
# cannot import Debian's python3-markdown-it, python3-mdit-py-plugins and python3-pygments.
docs:
	@scripts/deps.sh docs
	@python3 scripts/snippets.py
	@/usr/bin/python3 scripts/site.py --out build/docs

clean:
	rm -rf build build-address build-thread
