#!/bin/sh
# Configures and builds doudi into build/ (or the directory given), quietly.
# Usage: deploy/build.sh [BUILD_DIR] [extra cmake arguments...]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-"$here/build"}
[ $# -gt 0 ] && shift
cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory >/dev/null
