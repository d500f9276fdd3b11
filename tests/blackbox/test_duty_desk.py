"""tools/duty_desk.py against the whole chain: a county-month published twelve
hours of event time at a time, with the offices on duty answering alerts in
between (what the demo runs).

test_duty_desk_answers_alerts_in_time proves:
  - every event of the month is answered by intake and the chain catches up
    after every step (the tool's exit status 0);
  - every acknowledgement the desks sent is applied by doudi-alerts: none is
    refused (unknown alert, an office off the ladder, already closed), and
    doudi_alerts_handled_total by action equals the tool's count;
  - the alerts the villages answered are exactly those doudi-alerts counts as
    handled in time (before the village's deadline), and some alerts
    climbed past their village before being answered;
  - the same seed gives the same answers: a second chain fed by the tool
    holds the same alerts in the same states.
"""

import json
import os
import subprocess
import sys

import alerts_harness as ah
import harness as h
import sched_harness as sh
from doudi import alerts_pb2

HOUSEHOLDS = 300
SEED = 7
COUNTY = "440106"
TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                    "duty_desk.py")


def start_chain(env, tag):
    intake = env.intake(sh.INTAKE_CONFIG, name=f"intake-{tag}")
    elig = env.eligibility(intake, {"log": {"consumers": "scheduler", "retention": "3650d"}},
                           name=f"eligibility-{tag}")
    sched = sh.scheduler(env, elig, {"log": {"retention": "3650d"}}, name=f"scheduler-{tag}")
    alerts = ah.Alerts(env.dir, sched, name=f"alerts-{tag}", upstream_name="scheduler")
    env.eligibilities.append(alerts)
    alerts.start()
    return intake, elig, sched, alerts


def run_desk(env, chain, tag):
    intake, elig, sched, alerts = chain
    summary = env.path(f"desk-{tag}.json")
    url = "http://127.0.0.1:{}/metrics".format
    argv = [sys.executable, TOOL, "--seed", str(SEED), "--households", str(HOUSEHOLDS),
            "--county", COUNTY, "--start", "2026-10-01",
            "--publish", intake.publish_endpoint,
            "--alerts-requests", alerts.request_endpoint,
            "--intake-metrics", url(intake.metrics_port),
            "--eligibility-metrics", url(elig.metrics_port),
            "--scheduler-metrics", url(sched.metrics_port),
            "--alerts-metrics", url(alerts.metrics_port),
            "--doudictl", h.binary("doudictl"),
            "--timeout", str(120 * h.time_scale()), "--json", summary]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600 * h.time_scale())
    h.check_eq(r.returncode, 0, f"duty_desk's exit status (stderr: {r.stderr[-2000:]})")
    with open(summary) as f:
        return json.load(f), r.stdout


def states_of(alerts):
    out, after = {}, 0
    while True:
        rep = alerts.request(list=alerts_pb2.ListRequest(
            states=[v for v in alerts_pb2.AlertState.values() if v], after_number=after,
            limit=1000))
        h.check(not rep.error_text, f"list refused: {rep.error_text}")
        for a in rep.list.alerts:
            out[a.id] = (a.state, a.level, a.handled_in_time, a.acknowledged_by)
        if not rep.list.next_after_number:
            return out
        after = rep.list.next_after_number


def test_duty_desk_answers_alerts_in_time(env):
    chain = start_chain(env, "a")
    alerts = chain[3]
    desk, stdout = run_desk(env, chain, "a")

    rejected = sum(desk["rejected"].values())
    h.check_eq(desk["accepted"] + desk["duplicate"] + rejected, desk["events"],
               "events answered by intake")
    h.check(rejected > 0, "the generated month's deliberate mistakes were refused")
    h.check_eq(desk["acknowledgements_refused"], 0, "acknowledgements intake refused")

    m = alerts.metrics()
    for reason in ("ack_unknown_alert", "ack_foreign_office", "ack_already_closed",
                   "ack_bad_action"):
        h.check_eq(m.get("doudi_alerts_rejected_total", 0, reason=reason), 0,
                   f"acknowledgements doudi-alerts refused as {reason}")
    for action in ("acknowledged", "resolved"):
        sent = sum(level[action] for level in desk["handled"].values())
        h.check(sent > 0, f"the desks {action} some alerts")
        h.check_eq(m.get("doudi_alerts_handled_total", 0, action=action), sent,
                   f"alerts {action} in doudi-alerts")

    village = desk["handled"]["village"]["acknowledged"] + desk["handled"]["village"]["resolved"]
    in_time, due = alerts.rate(COUNTY)
    h.check_eq(in_time, village, "alerts handled in time = alerts the villages answered")
    h.check(due > in_time, f"some alerts were not answered in time ({in_time} of {due})")
    above = sum(desk["handled"][lv]["acknowledged"] + desk["handled"][lv]["resolved"]
                for lv in ("township", "county", "city"))
    h.check(above > 0, "some alerts were answered only after they climbed")

    again = start_chain(env, "b")
    run_desk(env, again, "b")
    h.check_eq(states_of(again[3]), states_of(alerts), "alerts of a second run of the same month")
    print(stdout.strip(), flush=True)
    print(f"duty desk: {village} of {due} alerts handled in time, {above} after climbing; "
          f"a second run held the same alerts", flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
