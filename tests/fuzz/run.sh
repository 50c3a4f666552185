#!/bin/sh
# run.sh - build one libFuzzer target with clang and run it for a bounded time on its corpus
#
# Usage: tests/fuzz/run.sh wire|journal [SECONDS]      (default 20 s of fuzzing)
# The target is built straight from the sources (lib/core.c, the distributed models and
# tests/fuzz/fuzz_TARGET.c) with -fsanitize=fuzzer,address,undefined into a temporary
# folder, whatever compiler the main build uses. libFuzzer first runs every input in
# tests/fuzz/corpus/TARGET/ (committed seeds: a regression test), then mutates them; new
# inputs go to the temporary folder, never into the source tree. A crashing input is kept
# as ./fuzz-TARGET-crash-* (reproduce: build the same way and run the binary on it).
# Exit 77 (CTest: skipped) with the reason when clang or its libFuzzer is missing.
set -eu

target=${1:?usage: run.sh wire|journal [SECONDS]}
seconds=${2:-20}
src=$(cd "$(dirname "$0")/../.." && pwd)
here=$PWD                        # crashing inputs are kept here (CTest: build/tests)
case $target in
    wire)    sources="demos/distributed/wire.c" ;;
    journal) sources="demos/distributed/wire.c demos/distributed/journal.c" ;;
    *)       echo "run.sh: no fuzz target '$target' (wire, journal)" >&2; exit 2 ;;
esac

if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: clang is not installed (scripts/deps.sh installs it; Debian package clang)"
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$target.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# libFuzzer ships in a separate package on some systems: try the smallest target first,
# so a missing runtime is a skip with its reason, not a failure.
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }' \
    >"$tmp/probe.c"
if ! clang -fsanitize=fuzzer "$tmp/probe.c" -o "$tmp/probe" 2>"$tmp/probe.err"; then
    echo "SKIP: clang cannot link libFuzzer (-fsanitize=fuzzer): $(head -n 1 "$tmp/probe.err")"
    exit 77
fi

cd "$src"
# shellcheck disable=SC2086 # $sources is a list of paths without spaces
clang -std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wpedantic -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -Ilib -Idemos/distributed lib/core.c $sources "tests/fuzz/fuzz_$target.c" \
    -lm -lpthread -o "$tmp/fuzz_$target"

mkdir "$tmp/new"
echo "fuzz_$target: the committed corpus, then ${seconds} s of mutations"
"$tmp/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
    -max_len=4096 -print_final_stats=1 -artifact_prefix="$here/fuzz-$target-" \
    "$tmp/new" "tests/fuzz/corpus/$target"
