#!/bin/sh
# Installs every Debian package that doudi's build, tests and benchmarks need.
# Idempotent: when everything is present it prints nothing and touches nothing.
set -eu

PACKAGES="
build-essential cmake pkg-config
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
liblmdb-dev lmdb-utils libev-dev libinih-dev libjansson-dev libmicrohttpd-dev
libcmocka-dev libxxhash-dev libcurl4-openssl-dev
python3 python3-zmq python3-protobuf
prometheus curl
redis-server redis-tools gnuplot-nox linux-perf
"

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $pkg" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages:$missing" >&2
    echo "setup: run this script as root (it uses apt-get)" >&2
    exit 1
fi

echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
