#!/bin/sh
# deps.sh - check for what the suite needs and install what is missing (Debian packages).
#
# Usage: scripts/deps.sh [--check] [build|bench|docs]
#   --check  only check: name what is missing and the command that installs it (exit 2 if a
#            required package is missing), install nothing, as root or not (what plain
#            `make` does; `make deps`, `make test` and `make bench` install)
#   build  the compiler, cmake, pkg-config, libuv, gnuplot, python3, libsodium, hiredis and
#          redis-server, liburing (the default); and,
#          optional, the tools the lessons' commands use: curl, strace, nc
#          (netcat-openbsd), ss and ip (iproute2: the network-namespace tests), the HTTP
#          load generator wrk, clang and its libFuzzer (libclang-rt-14-dev: the fuzz tests)
#   bench  also the peers benchmarks compare against, where Debian has them: perf
#          (linux-perf), wrk and nginx (nginx-light). A peer that cannot be installed is
#          reported; its bench says so.
#   docs   only what `make docs` needs to render the site (scripts/site.py, run by Debian's
#          /usr/bin/python3): python3-markdown-it, python3-mdit-py-plugins, python3-pygments;
#          and, optional, chromium-headless-shell for the site's browser check. build and
#          bench take all four as optional, so `make test` (docs tests included) installs them.
# Without --check, as root, missing packages are installed with apt-get; otherwise the one
# command to run is printed and the script exits 2 (only a missing required package fails:
# a missing optional one is reported). Nothing is downloaded except Debian packages.
set -u
usage() { echo "usage: scripts/deps.sh [--check] [build|bench|docs]" >&2; exit 2; }
install=yes
if [ "${1:-}" = --check ]; then install=no; shift; fi
want=${1:-build}
case $want in build|bench|docs) ;; *) usage;; esac
[ $# -le 1 ] || usage

missing=""
need() {   # need PACKAGE TEST...: PACKAGE is missing unless the test command succeeds
    pkg=$1; shift
    "$@" >/dev/null 2>&1 || missing="$missing $pkg"
}
need gcc         command -v cc
need libc6-dev   test -e /usr/include/stdio.h
need cmake       command -v cmake
need make        command -v make
need pkg-config  command -v pkg-config
need libuv1-dev  pkg-config --exists libuv
need liburing-dev pkg-config --exists liburing   # server_uring, fileio (io_uring)
need gnuplot-nox command -v gnuplot
need python3     command -v python3
need procps      command -v ps
# The distributed chapter: the handshake's MACs (libsodium), the Redis backend (hiredis)
# and the Redis server its tests and benches start on a loopback port.
need libsodium-dev  pkg-config --exists libsodium
need libhiredis-dev pkg-config --exists hiredis
need redis-server   command -v redis-server

optional=""
may_want() {   # may_want PACKAGE TEST...: like need, for a package we can do without
    pkg=$1; shift
    "$@" >/dev/null 2>&1 || optional="$optional $pkg"
}
# The tools the lessons' commands use (docs/): a class needs them, the build does not.
may_want curl           command -v curl
may_want strace         command -v strace      # also the syscalls bench's counter
may_want netcat-openbsd command -v nc
may_want iproute2       command -v ss
may_want wrk            command -v wrk
# clang builds the broker's frame-parser fuzz target (libFuzzer); its test skips without it.
may_want clang          command -v clang
may_want libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a'
if [ "$want" = bench ]; then
    may_want linux-perf  command -v perf
    may_want nginx-light test -x /usr/sbin/nginx
fi
# The site's toolchain (docs/, scripts/site.py): Debian's python modules, importable from
# Debian's own interpreter (python3 on PATH may be another one), required for `make docs`;
# the browser the site's check drives, optional (its test skips without it). `docs` wants
# nothing else; for build and bench all four are optional, so that `make test` installs
# them for the docs tests.
docs_need() {
    need python3-markdown-it      /usr/bin/python3 -c 'import markdown_it'
    need python3-mdit-py-plugins  /usr/bin/python3 -c 'import mdit_py_plugins'
    need python3-pygments         /usr/bin/python3 -c 'import pygments'
    may_want chromium-headless-shell command -v chromium-headless-shell
}
if [ "$want" = docs ]; then
    missing="" optional=""
    need python3 test -x /usr/bin/python3
    docs_need
else
    required=$missing
    docs_need
    optional="$optional${missing#"$required"}" missing=$required
fi

[ -z "$missing$optional" ] && exit 0

# Checking only, or not root: name what is missing and the command that installs it.
if [ "$install" = no ] || [ "$(id -u)" != 0 ]; then
    if [ -n "$missing" ]; then
        echo "deps: missing:$missing" >&2
        echo "deps: run this once as root (or \`make deps\` as root), then try again:" >&2
        echo "    apt-get update && apt-get install -y --no-install-recommends$missing$optional" >&2
        exit 2
    fi
    echo "deps: optional tools not installed:$optional (lessons and benches that use" \
         "them will not run; as root: apt-get install$optional)" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: installing$missing$optional" >&2
if ! apt-get update -qq; then
    echo "deps: apt-get update failed" >&2
    [ -n "$missing" ] && exit 1
    echo "deps: optional tools not installed:$optional" >&2
    exit 0          # only optional tools were missing: the build can go on without them
fi
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { echo "deps: apt-get install$missing failed" >&2; exit 1; }
fi
for pkg in $optional; do
    apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null 2>&1 ||
        echo "deps: optional $pkg is not available here; what uses it will not run" >&2
done
exit 0
