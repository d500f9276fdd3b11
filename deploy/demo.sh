#!/bin/sh
# The main job with the embedded defaults, from a fresh Debian 12 machine:
# installs what is missing, builds, starts doudi-intake with no
# configuration file, publishes deploy/sample-events.jsonl through doudictl,
# and prints what was accepted, duplicated and rejected and where the
# metrics are. intake keeps running afterwards so it can be explored; the
# next run of this script (or `kill $(cat doudi-data/intake.pid)`) stops it.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"
echo "== building in build/"
"$here/deploy/build.sh" "$here/build"
bin="$here/build/bin"

cd "$here"
mkdir -p doudi-data
pidfile=doudi-data/intake.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "== stopping the intake of an earlier demo (pid $(cat "$pidfile"))"
    kill -TERM "$(cat "$pidfile")"
    i=0
    while kill -0 "$(cat "$pidfile")" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi

echo "== starting doudi-intake with its embedded defaults (data in doudi-data/intake)"
"$bin/doudi-intake" </dev/null >doudi-data/intake.log 2>&1 &
echo $! >"$pidfile"

# Ready when its metrics endpoint answers (at most 10 s).
i=0
until "$bin/doudictl" stats --raw >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "doudi-intake did not come up; its log:" >&2
        cat doudi-data/intake.log >&2
        exit 1
    fi
    sleep 0.1
done

echo "== publishing deploy/sample-events.jsonl"
# The sample holds deliberate mistakes, so doudictl exits 1: that is the point.
"$bin/doudictl" publish deploy/sample-events.jsonl || true

echo
echo "== dead letters (refused events, kept with their reason)"
"$bin/doudictl" deadletter list || true
echo
echo "== intake's own counters"
"$bin/doudictl" stats --prefix doudi_intake_events || true
echo
echo "Metrics:      http://127.0.0.1:9101/metrics   (doudictl stats)"
echo "The log:      doudictl log tail"
echo "Diagnostics:  doudi-data/intake.log"
echo "doudi-intake is still running (pid $(cat "$pidfile")); stop it with: kill \$(cat doudi-data/intake.pid)"
