#!/bin/bash
# bench-nodeps.sh - `make bench` for a machine without apt, libuv or gnuplot (a borrowed
# many-core box, say): build against libuv unpacked from Debian's .deb files, run every
# bench, and leave the results folder to be drawn elsewhere with
# `make charts RESULTS=results/<machine>`.
#
# Usage: scripts/bench-nodeps.sh DEB_DIR [FULL]
#   DEB_DIR  a folder holding libuv1_*.deb and libuv1-dev_*.deb
#            (made beforehand where apt works: cd DEB_DIR && apt-get download libuv1 libuv1-dev)
#   FULL     1 for full mode (the default), 0 for quick
# Needs: cc, cmake, pkg-config, python3, dpkg-deb or ar+tar. Peers that are missing (perf,
# wrk, nginx) make their benches say "skipped".
set -euo pipefail
debs=${1:?usage: scripts/bench-nodeps.sh DEB_DIR [FULL]}
full=${2:-1}
# DEB_DIR is named from where the script was started: make it absolute before moving.
debs=$(cd "$debs" && pwd) || { echo "bench-nodeps: no folder $1" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
for deb in "$debs"/libuv1_*.deb "$debs"/libuv1-dev_*.deb; do
    [ -f "$deb" ] || { echo "bench-nodeps: no $deb" >&2; exit 2; }
    if command -v dpkg-deb >/dev/null; then
        dpkg-deb -x "$deb" "$root"
    else                                  # a .deb is an ar archive holding data.tar.*
        (cd "$root" && ar x "$deb" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary)
    fi
done
# The multiarch folder names the machine (x86_64-linux-gnu, aarch64-linux-gnu, ...).
pcdirs=$(printf '%s:' "$root"/usr/lib/*/pkgconfig "$root"/usr/lib/pkgconfig)
export PKG_CONFIG_PATH=${pcdirs%:} PKG_CONFIG_SYSROOT_DIR=$root
# Link libuv statically: the unpacked shared library would not be found at run time.
cmake -S . -B build-nodeps -DWERROR=OFF -DUV_STATIC=ON >/dev/null
cmake --build build-nodeps -j "$(nproc)" >/dev/null
FULL=$full scripts/bench.sh build-nodeps
