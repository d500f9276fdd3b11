#!/bin/sh
# The main job with the embedded defaults, from a fresh Debian 12 machine:
# installs what is missing, builds, starts doudi-intake and
# doudi-eligibility with no configuration file, publishes
# deploy/sample-events.jsonl through doudictl, prints what was accepted,
# duplicated and rejected, what eligibility decided, and where the metrics
# are. The daemons keep running afterwards so they can be explored; the next
# run of this script stops them (or: kill $(cat doudi-data/*.pid)).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"
echo "== building in build/"
"$here/deploy/build.sh" "$here/build"
bin="$here/build/bin"

cd "$here"
mkdir -p doudi-data
stop_earlier() {
    pidfile=doudi-data/$1.pid
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "== stopping the $1 of an earlier demo (pid $(cat "$pidfile"))"
        kill -TERM "$(cat "$pidfile")"
        i=0
        while kill -0 "$(cat "$pidfile")" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    fi
}
stop_earlier eligibility
stop_earlier intake

# Waits (at most 10 s) until a daemon's metrics endpoint answers.
wait_ready() {
    i=0
    until "$bin/doudictl" stats --raw -u "http://$2/metrics" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$(cat doudi-data/$1.pid)" 2>/dev/null; then
            echo "doudi-$1 did not come up; its log:" >&2
            cat "doudi-data/$1.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

echo "== starting doudi-intake and doudi-eligibility with their embedded defaults (data in doudi-data/)"
"$bin/doudi-intake" </dev/null >doudi-data/intake.log 2>&1 &
echo $! >doudi-data/intake.pid
wait_ready intake 127.0.0.1:9101
"$bin/doudi-eligibility" </dev/null >doudi-data/eligibility.log 2>&1 &
echo $! >doudi-data/eligibility.pid
wait_ready eligibility 127.0.0.1:9102

echo "== publishing deploy/sample-events.jsonl"
# The sample holds deliberate mistakes, so doudictl exits 1: that is the point.
"$bin/doudictl" publish deploy/sample-events.jsonl || true

echo
echo "== dead letters (refused events, kept with their reason)"
"$bin/doudictl" deadletter list || true

# eligibility has caught up when its lag behind intake's log is 0 (at most 10 s).
i=0
until "$bin/doudictl" stats -u http://127.0.0.1:9102/metrics --raw 2>/dev/null |
        grep -q '^doudi_consumer_lag_records{upstream="intake"} 0$'; do
    i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
echo
echo "== what eligibility decided"
"$bin/doudictl" stats -u http://127.0.0.1:9102/metrics --prefix doudi_eligibility_ || true
if "$bin/doudictl" person --help >/dev/null 2>&1; then
    echo
    echo "== a person, and why (doudictl person / explain)"
    "$bin/doudictl" person 440101193803120223 || true
    "$bin/doudictl" explain 440101193803120223 tekun || true
fi
echo
echo "Metrics:      http://127.0.0.1:9101/metrics (intake), http://127.0.0.1:9102/metrics (eligibility)"
echo "Logs:         doudictl log tail (intake), doudictl log tail -e tcp://127.0.0.1:7202 (eligibility)"
echo "Diagnostics:  doudi-data/intake.log, doudi-data/eligibility.log"
echo "The daemons are still running; stop them with: kill \$(cat doudi-data/*.pid)"
