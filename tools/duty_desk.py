#!/usr/bin/python3
"""duty_desk.py: a generated county-month published as it happens, with the
offices acknowledging the alerts that reach them.

A month published in one go gives nobody the chance to answer an alert: the
event clock runs to the month's end before the first acknowledgement could
be written, so every alert climbs the whole ladder. Here the month
(tools/gen_county.py, seeded) goes to doudi-intake STEP hours of event time
at a time; after each step the tool waits until the whole chain (intake ->
eligibility -> scheduler -> doudi-alerts) has consumed it, lists the county's
open alerts (`doudictl alerts list --open`), and acts as the offices on duty:
each alert not yet acknowledged is handled by the office now responsible for
it with that level's share (--shares: village, township, county, city;
the province's desk handles nothing), decided by a hash of the seed, the
alert and the level, so the same month gives the same answers. A handled
alert is acknowledged, or resolved (a third of them), by the alert's
assigned worker at the village and the office's duty worker above, stamped
just after the step's end and published before the next step's events. An
alert answered while still at its village counts as handled in time
(`doudictl alerts rate`); one whose deadline passes first climbs a level and
is looked at again by the next office.

The month's own acknowledgement events, which name alert ids no generator
can know, are left out: the acknowledgements are the desks'.

Prints what was published (accepted, rejected by reason) and what the desks
did; --json FILE writes the same as JSON. Exit status: 0 done; 1 intake did
not answer, the chain did not catch up or doudictl did not list the alerts
within --timeout seconds, or intake refused an acknowledgement; 2 usage.

    PYTHONPATH=build/proto/python /usr/bin/python3 tools/duty_desk.py \\
        --households 2000 --start 2026-10-01 [--step-hours 12] [--out FILE.jsonl]

Needs Debian's python3-protobuf and python3-zmq, the doudi *_pb2 modules of
the build (PYTHONPATH above) and doudictl (--doudictl, default the build's).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_county  # noqa: E402  (beside this file)

from doudi import event_pb2, publish_pb2  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVELS = ("ALERT_LEVEL_VILLAGE", "ALERT_LEVEL_TOWNSHIP", "ALERT_LEVEL_COUNTY",
          "ALERT_LEVEL_CITY")
LEVEL_NAMES = ("village", "township", "county", "city")
# Digits of a region code that name the office at each level.
OFFICE_DIGITS = (12, 9, 6, 4)
# Alerts an office can still answer (not acknowledged, closed or silenced).
ANSWERABLE_STATES = ("ALERT_STATE_OPEN", "ALERT_STATE_ESCALATED")


class DeskError(RuntimeError):
    pass


def metric_value(url, name, labels):
    """The value of one series of a Prometheus text page, or None (also
    while the page cannot be read: the caller waits with a deadline)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return None


def wait_at_least(url, name, labels, target, deadline):
    while True:
        v = metric_value(url, name, labels)
        if v is not None and v >= target:
            return
        if time.monotonic() > deadline:
            raise DeskError(f"{url}: {name}{labels} is {v}, not yet {target:.0f}")
        time.sleep(0.01)


def wait_chain(a, deadline):
    """Every consumer's cursor at its upstream's head, stage after stage."""
    head = metric_value(a.intake_metrics, "doudi_log_head_sequence", {}) or 0
    for url, upstream, own in ((a.eligibility_metrics, "intake", a.eligibility_metrics),
                               (a.scheduler_metrics, "eligibility", a.scheduler_metrics),
                               (a.alerts_metrics, "scheduler", None)):
        wait_at_least(url, "doudi_consumer_cursor_sequence", {"upstream": upstream}, head,
                      deadline)
        if own:
            head = metric_value(own, "doudi_log_head_sequence", {}) or 0


def open_alerts(a):
    try:
        r = subprocess.run([a.doudictl, "alerts", "list", "--open", "--region", a.county,
                            "-r", a.alerts_requests], capture_output=True, text=True,
                           timeout=a.timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DeskError(f"doudictl alerts list: {e}")
    if r.returncode != 0:
        raise DeskError(f"doudictl alerts list: {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def share_roll(seed, alert_id, level):
    """A number in [0, 1) fixed by the seed, the alert and the level."""
    d = hashlib.sha256(f"{seed}/{alert_id}/{level}".encode()).digest()
    return int.from_bytes(d[:8], "big") / 2.0**64


def handle(a, county, alerts, at_ms, n_sent):
    """The desks' acknowledgements of this step (encoded Envelopes) and what
    they are, by level."""
    out, done = [], []
    for al in alerts:
        if al.get("state", "") not in ANSWERABLE_STATES:
            continue
        level = al.get("level", "")
        if level not in LEVELS:
            continue
        i = LEVELS.index(level)
        if share_roll(a.seed, al["id"], level) >= a.shares[i]:
            continue
        t = at_ms + len(out) + 1
        if int(al.get("deadlineMs", "0")) <= t:
            continue  # its deadline passes first: the next office's
        resolve = share_roll(a.seed, al["id"], "resolve") < 1 / 3
        office = al.get("officeCode") or al["regionCode"]
        env = event_pb2.Envelope(event_id=f"duty-desk-{a.seed}-{n_sent + len(out) + 1:07d}",
                                 source="duty-desk", occurred_at_ms=t, region_code=office)
        b = env.alert_acknowledgement
        b.alert_id = al["id"]
        b.action = (event_pb2.ACKNOWLEDGEMENT_ACTION_RESOLVED if resolve
                    else event_pb2.ACKNOWLEDGEMENT_ACTION_ACKNOWLEDGED)
        if i == 0:
            b.by_worker_id = al.get("assignedWorkerId") or county.worker_of(al["regionCode"])
        else:
            b.by_worker_id = f"w-{office[:OFFICE_DIGITS[i]]}-duty"
        b.note = "已上门处理 / handled at home" if resolve else "已联系，安排上门 / in hand"
        out.append(env.SerializeToString())
        done.append((LEVEL_NAMES[i], resolve))
    return out, done


def count_statuses(statuses, tally):
    for s in statuses:
        if s.outcome == publish_pb2.OUTCOME_REJECTED:
            reason = publish_pb2.RejectReason.Name(s.reason)[len("REJECT_REASON_"):].lower()
            tally["rejected"][reason] = tally["rejected"].get(reason, 0) + 1
        elif s.outcome == publish_pb2.OUTCOME_DUPLICATE:
            tally["duplicate"] += 1
        else:
            tally["accepted"] += 1


def parse_shares(text):
    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if len(shares) != 4 or not all(0 <= s <= 1 for s in shares):
        raise argparse.ArgumentTypeError(f"{text!r}: four shares from 0 to 1, "
                                         "village,township,county,city")
    return shares


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="gen_county's seed (default 1)")
    ap.add_argument("--households", type=int, default=2000, help="households (default 2000)")
    ap.add_argument("--county", default="440106", help="6-digit county code (default 440106)")
    ap.add_argument("--start", default="2026-10-01",
                    help="first day of the generated 30 days (default 2026-10-01)")
    ap.add_argument("--step-hours", type=float, default=12.0,
                    help="event time published between two looks at the alerts (default 12; "
                         "at most the shortest handling window, 24 h, so an alert can be "
                         "answered at its village)")
    ap.add_argument("--shares", type=parse_shares, default=parse_shares("0.75,0.6,0.5,0.5"),
                    help="share of the alerts each level's office handles: village, township, "
                         "county, city (default 0.75,0.6,0.5,0.5)")
    ap.add_argument("--publish", default="tcp://127.0.0.1:7101",
                    help="intake's publish endpoint (default tcp://127.0.0.1:7101)")
    ap.add_argument("--alerts-requests", default="tcp://127.0.0.1:7402",
                    help="doudi-alerts' request endpoint (default tcp://127.0.0.1:7402)")
    for name, port in (("intake", 9101), ("eligibility", 9102), ("scheduler", 9103),
                       ("alerts", 9104)):
        ap.add_argument(f"--{name}-metrics", default=f"http://127.0.0.1:{port}/metrics",
                        help=f"doudi-{name}'s metrics (default http://127.0.0.1:{port}/metrics)")
    ap.add_argument("--doudictl", default=os.path.join(SOURCE, "build", "bin", "doudictl"),
                    help="the doudictl that lists the alerts (default: build/bin/doudictl "
                         "of this source tree)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="longest wait for the chain after a step, s (default 120)")
    ap.add_argument("--out", help="also write the generated month here (JSON Lines)")
    ap.add_argument("--json", help="write the summary here")
    a = ap.parse_args(argv)
    if a.households < 1:
        ap.error("--households must be at least 1")
    if not 0 < a.step_hours <= 24:
        ap.error("--step-hours must be more than 0 and at most 24")

    county = gen_county.generate(a.seed, a.households, a.county, a.start)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            for line in county.jsonl():
                f.write(line + "\n")
    month = []
    for t, data in county.events:
        if event_pb2.Envelope.FromString(data).WhichOneof("body") != "alert_acknowledgement":
            month.append((t, data))
    step_ms = int(a.step_hours * 3_600_000)
    tally = {"events": len(month), "accepted": 0, "duplicate": 0, "rejected": {},
             "steps": 0, "step_hours": a.step_hours,
             "handled": {n: {"acknowledged": 0, "resolved": 0} for n in LEVEL_NAMES},
             "acknowledgements_refused": 0}
    sent = 0
    i = 0
    t_step = county.t0
    started = time.monotonic()
    try:
        while i < len(month):
            t_step += step_ms
            batch = []
            while i < len(month) and month[i][0] < t_step:
                batch.append(month[i][1])
                i += 1
            tally["steps"] += 1
            if not batch:
                continue
            count_statuses(gen_county.publish(a.publish, batch, deadline=a.timeout), tally)
            wait_chain(a, time.monotonic() + a.timeout)
            acks, done = handle(a, county, open_alerts(a), t_step, sent)
            if not acks:
                continue
            statuses = gen_county.publish(a.publish, acks, deadline=a.timeout)
            refused = sum(1 for s in statuses if s.outcome == publish_pb2.OUTCOME_REJECTED)
            tally["acknowledgements_refused"] += refused
            sent += len(acks)
            for level, resolve in done:
                tally["handled"][level]["resolved" if resolve else "acknowledged"] += 1
        wait_chain(a, time.monotonic() + a.timeout)
    except DeskError as e:
        print(f"duty_desk: the chain did not catch up: {e}", file=sys.stderr)
        return 1
    except (TimeoutError, RuntimeError) as e:
        print(f"duty_desk: publishing to {a.publish}: {e}", file=sys.stderr)
        return 1
    tally["seconds"] = round(time.monotonic() - started, 3)

    rej = sum(tally["rejected"].values())
    print(f"published {tally['events']:,} events of the month in {tally['steps']} steps of "
          f"{a.step_hours:g} h ({tally['seconds']:.1f} s): accepted {tally['accepted']:,}, "
          f"duplicate {tally['duplicate']:,}, rejected {rej:,}")
    for reason, n in sorted(tally["rejected"].items()):
        print(f"  {reason:<26} {n}")
    print(f"the offices on duty answered {sent:,} alerts as they came:")
    for level in LEVEL_NAMES:
        hd = tally["handled"][level]
        if hd["acknowledged"] or hd["resolved"]:
            note = " (within the village's deadline: in time)" if level == "village" else ""
            print(f"  {level:<9} {hd['acknowledged']:>6} acknowledged {hd['resolved']:>6} "
                  f"resolved{note}")
    if tally["acknowledgements_refused"]:
        print(f"duty_desk: intake refused {tally['acknowledgements_refused']} acknowledgements",
              file=sys.stderr)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(tally, f, indent=1)
    return 1 if tally["acknowledgements_refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
