#!/bin/sh
# The main job with the embedded defaults, from a fresh Debian 12 machine:
# installs what is missing, builds, starts the whole chain (doudi-intake,
# doudi-eligibility, doudi-scheduler, doudi-alerts) with no configuration
# file, publishes a generated county-month as it would arrive, with the
# offices on duty answering alerts in between (tools/duty_desk.py), then
# deploy/sample-events.jsonl through doudictl, waits until every daemon has
# consumed everything, and prints what a civil-affairs office reads: what was
# accepted and refused, the county's caseload by program and what changed in
# the month, the month's visit rate per township, the alerts by kind and
# level, how many were handled in time, and where everything is. The
# daemons keep running afterwards so they can be explored; the next run of
# this script stops them (or: kill $(cat doudi-data/*.pid)).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/setup.sh"
echo "== building in build/"
"$here/deploy/build.sh" "$here/build"
bin="$here/build/bin"
daemons="intake eligibility scheduler alerts"

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
for d in alerts scheduler eligibility intake; do stop_earlier $d; done
# Every run starts from empty stores, so the report below is the same each time.
rm -rf doudi-data/intake doudi-data/eligibility doudi-data/scheduler doudi-data/alerts

metrics_port() {
    case $1 in intake) echo 9101 ;; eligibility) echo 9102 ;; scheduler) echo 9103 ;; alerts) echo 9104 ;; esac
}

# Waits (at most 10 s) until a daemon's metrics endpoint answers.
wait_ready() {
    i=0
    until "$bin/doudictl" stats --raw -u "http://127.0.0.1:$(metrics_port "$1")/metrics" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$(cat doudi-data/$1.pid)" 2>/dev/null; then
            echo "doudi-$1 did not come up; its log:" >&2
            cat "doudi-data/$1.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

# Waits (at most 120 s) until a daemon has consumed all of its upstream's
# log: its lag behind the upstream reads 0.
wait_caught_up() {
    i=0
    until "$bin/doudictl" stats -u "http://127.0.0.1:$(metrics_port "$1")/metrics" --raw 2>/dev/null |
            grep -q "^doudi_consumer_lag_records{upstream=\"$2\"} 0\$"; do
        i=$((i + 1))
        if [ $i -gt 1200 ]; then
            echo "doudi-$1 has not caught up with $2 after 120 s; see doudi-data/$1.log" >&2
            return 1
        fi
        sleep 0.1
    done
}

echo "== starting the chain with embedded defaults (data in doudi-data/): $daemons"
for d in $daemons; do
    "$bin/doudi-$d" </dev/null >"doudi-data/$d.log" 2>&1 &
    echo $! >"doudi-data/$d.pid"
    wait_ready "$d"
done

# A month of one county (tools/gen_county.py, seeded): people and households,
# department comparison records, enrolments, applications, risk signals, the
# community workers' roster, their visit reports. It is published twelve
# hours of event time at a time, and between the steps the offices on duty
# acknowledge or resolve a share of the alerts that reached them
# (tools/duty_desk.py), as a month of work would. Then the hand-written
# sample, whose later events move the event clock past the end of October,
# so the month closes: every visit still owed becomes overdue.
echo "== a county-month as it happens (county 440106, October 2026): twelve hours at a time, the offices on duty answering alerts in between"
PYTHONPATH="$here/build/proto/python" /usr/bin/python3 tools/duty_desk.py \
    --households 2000 --start 2026-10-01 --out doudi-data/county-month.jsonl \
    --doudictl "$bin/doudictl"

echo
echo "== publishing deploy/sample-events.jsonl"
# The sample holds deliberate mistakes, so doudictl exits 1: that is the point.
"$bin/doudictl" publish deploy/sample-events.jsonl || true

echo
echo "== dead letters (refused events, kept with their reason)"
"$bin/doudictl" deadletter list || true

echo
echo "== waiting for every daemon to consume everything"
wait_caught_up eligibility intake
wait_caught_up scheduler eligibility
wait_caught_up alerts scheduler
echo "all caught up"

echo
echo "== what eligibility decided: the county's caseload by program (doudictl caseload 440106)"
"$bin/doudictl" caseload 440106 || true
echo
echo "== the month's changes: decisions by program, and eligibility's alerts (discovery, review, ...)"
"$bin/doudictl" stats -u http://127.0.0.1:9102/metrics --prefix doudi_eligibility_decisions_changed_total || true
"$bin/doudictl" stats -u http://127.0.0.1:9102/metrics --prefix doudi_eligibility_alerts_total || true
echo
echo "== a person, and why (doudictl person / explain)"
"$bin/doudictl" person 440101193803120223 || true
"$bin/doudictl" explain 440101193803120223 tekun || true

echo
echo "== the month's care-visit rate per township (doudictl visits rate --townships 440106 202610)"
"$bin/doudictl" visits rate --townships 440106 202610 || true

echo
echo "== alerts by kind and by level (doudi-alerts)"
"$bin/doudictl" stats -u http://127.0.0.1:9104/metrics --prefix doudi_alerts_raised_total || true
"$bin/doudictl" stats -u http://127.0.0.1:9104/metrics --prefix doudi_alerts_active_by_level || true
echo
echo "== the newest entries of township 440106001's alert stream (doudictl alerts tail, cut to 240 characters)"
"$bin/doudictl" alerts tail --region 440106001 --from 0 --no-follow 2>/dev/null | tail -n 3 | cut -c1-240 || true
echo
echo "== handling timeliness of the county (doudictl alerts rate 440106 --month 202610)"
"$bin/doudictl" alerts rate 440106 --month 202610 || true

echo
echo "Metrics:      http://127.0.0.1:9101/metrics (intake), :9102 (eligibility), :9103 (scheduler), :9104 (alerts)"
echo "Live alerts:  doudictl alerts tail --region 440106      (Ctrl-C to stop; --from 0 replays everything)"
echo "Logs:         doudictl log tail (intake); -e tcp://127.0.0.1:7202 (eligibility), :7302 (scheduler), :7403 (alerts)"
echo "Diagnostics:  doudi-data/*.log"
echo "The daemons are still running; stop them with: kill \$(cat doudi-data/*.pid)"
