#!/bin/sh
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds twice (optimised, and with AddressSanitizer +
# UndefinedBehaviorSanitizer), and runs every test in both builds. The last
# line is ctest's summary of the sanitizer run; the exit status is non-zero
# if any test failed in either build.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"

echo "== building (RelWithDebInfo) in build/"
"$here/deploy/build.sh" "$here/build"
echo "== building (ASan + UBSan) in build-asan/"
"$here/deploy/build.sh" "$here/build-asan" -DDOUDI_SANITIZE=ON

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Two tests at a time, one a core: every test takes its own free ports and
# temporary directory, and waits on conditions with deadlines, not on time.
status=0
echo "== tests, optimised build"
(cd "$here/build" && ctest --output-on-failure --timeout 600 -j2) || status=1
echo "== tests, sanitizer build"
(cd "$here/build-asan" && ctest --output-on-failure --timeout 900 -j2) || status=1
exit $status
