"""Kill -9 of doudi-scheduler changes nothing: a county-month replayed
through intake and eligibility gives the same plans, assignments, alerts and
rates whether the scheduler runs uninterrupted or is killed again and again.

tools/gen_county.py generates a month of county 440106 (15 June to 15 July
2026, so a month end is crossed: the sweep, the new month's people due and
the day checks all run on the event clock) with its roster, care changes
from eligibility (tiers, major changes needing a visit within 24 hours,
deaths), visit reports (some finding a danger, some by unknown workers or
for people without a plan), roster changes (departures re-assign plans) and
acknowledgements. It is published once to doudi-intake, consumed by one
doudi-eligibility, and then two doudi-schedulers with fresh data
directories consume eligibility's log under two consumer names: A runs
uninterrupted with large fetches; B fetches 5 records at a time (other
batch boundaries: the sweep must not depend on them; and small enough that
B, which finds the whole log there, is still consuming at every mark, even
in a fast build on a fast machine), starts with a 1 MiB
map (so it also grows its map and retries batches) and is killed with
SIGKILL DOUDI_SCHED_KILLS times (default 6) while it consumes, each time
once its cursor passed the next mark and it committed a batch since its
start, aiming in turn at the phases of its commit.

Once both have caught up, test_kill_minus_nine_during_the_month proves:
  - B's cursor never went back across a kill;
  - both logs hold the same records (sequence, kind, stamp, payload bytes);
  - after a SIGTERM, `mdb_dump` of every database (plans, the due indexes,
    plans by township, workers and their index, rates, tiers, townships,
    unmatched reports, meta, cursors, the log) is identical;
  - the month produced what it should: plans of three tiers, assignments,
    overdue, danger and unmatched-report alerts, eligibility's alerts passed
    on with the worker, acknowledgements passed on one for one, and rates
    for June and July.
"""

import collections
import os
import random
import re
import time

import harness as h
import sched_harness as sh
from doudi import eligibility_pb2, log_pb2, scheduler_pb2

HOUSEHOLDS = int(os.environ.get("DOUDI_SCHED_HOUSEHOLDS", "1500"))
KILLS = int(os.environ.get("DOUDI_SCHED_KILLS", "6"))
SEED = int(os.environ.get("DOUDI_SCHED_SEED", "7"))
KILL_SEED = os.environ.get("DOUDI_SCHED_KILL_SEED") or str(time.time_ns())
JOURNAL_MAX = int(os.environ.get("DOUDI_SCHED_JOURNAL_MAX", "700"))
DATABASES = ("plans", "plan_journal", "due", "sparse_due", "township_plans", "workers", "worker_regions",
             "unassigned", "rates", "tiers", "townships", "unmatched", "meta",
             "cursors", "log", "log_consumers")


def first_difference(a_text, b_text):
    a_lines, b_lines = a_text.splitlines(), b_text.splitlines()
    for i, (x, y) in enumerate(zip(a_lines, b_lines)):
        if x != y:
            return f"line {i + 1}: {x[:120]!r} vs {y[:120]!r}"
    return f"{len(a_lines)} lines vs {len(b_lines)}"


def test_kill_minus_nine_during_the_month(env):
    t_start = time.monotonic()
    scale = h.time_scale()
    gen = h.gen_county()
    county = gen.generate(seed=SEED, households=HOUSEHOLDS)
    intake = env.intake(sh.INTAKE_CONFIG)
    gen.publish(intake.publish_endpoint, county.encoded(), timeout=5.0 * scale,
                deadline=120 * scale)
    elig = env.eligibility(intake, {"log": {"consumers": "sched-a,sched-b",
                                            "retention": "3650d"}})
    elig.wait_caught_up(120 * scale)
    head = elig.log_head()
    t_upstream = time.monotonic() - t_start

    # A small plan journal: both fold it many times, a little after every
    # record (plan_fold_pace), at the same records.
    a = sh.scheduler(env, elig, {"scheduler": {"fetch_max_records": 5000},
                                 "store": {"plan_journal_max": JOURNAL_MAX, "plan_fold_pace": 1}},
                     name="sched-a", consumer="sched-a")
    b = sh.scheduler(env, elig, {"scheduler": {"fetch_max_records": 5},
                                 "store": {"map_size": "1M", "plan_journal_max": JOURNAL_MAX,
                                           "plan_fold_pace": 1}},
                     name="sched-b", consumer="sched-b")

    def b_cursor():
        """B's committed cursor once it committed a batch since its start. Read
        from the cursor gauge itself: the lag gauge is made at the first batch
        and a scrape in that moment read it as 0, which looked like a cursor at
        the head."""
        h.check(b.alive(), f"B exited with status {b.proc.poll()}:\n{b.stderr_tail()}")
        m = b.metrics()
        cursor = m.get("doudi_consumer_cursor_sequence", upstream="eligibility")
        if m.get("doudi_consumer_batches_total", 0.0, upstream="eligibility") < 1 or cursor is None:
            return None
        return int(cursor)

    rng = random.Random(KILL_SEED)
    step = head / (KILLS + 2)
    marks = [int(step * (k + 1) + rng.uniform(-step / 4, step / 4)) for k in range(KILLS)]
    print(f"eligibility head {head}; kill marks {marks} (DOUDI_SCHED_KILL_SEED={KILL_SEED})",
          flush=True)
    kills = []
    for k, mark in enumerate(marks):
        seen = h.wait_for(lambda: (lambda c: c if c is not None and c >= mark else None)(b_cursor()),
                          60 * scale, f"B's cursor to pass {mark} before kill {k + 1}",
                          interval=0.002)
        h.check(seen < head, f"B had consumed the whole log before kill {k + 1}")
        moment = h.COMMIT_MOMENTS[k % len(h.COMMIT_MOMENTS)]
        hit = h.aim_at_commit(b.pid, moment, 2 * scale)
        h.check_eq(b.kill(), -9, f"status of B killed in round {k + 1}")
        b.start()
        resumed = h.wait_for(b_cursor, 20 * scale, f"B's first batch after restart {k + 1}",
                             interval=0.002)
        h.check(resumed >= seen, f"kill {k + 1}: B's cursor was {seen} before the kill, "
                f"{resumed} after the restart")
        kills.append((seen, resumed, moment, hit))
        print(f"kill {k + 1} ({moment}{'' if hit else ', not caught'}): B at {seen} of {head}; "
              f"resumed at {resumed}", flush=True)
    h.check(len(kills) >= 5, f"only {len(kills)} kills")
    for s in (a, b):
        h.check_eq(s.wait_caught_up(120 * scale), head, f"head {s.dir} caught up with")
    grows = len(re.findall(r"map grown", b.stderr_text()))
    t_consumed = time.monotonic() - t_start

    la, lb = a.read_log(), b.read_log()
    h.check(len(la) > 0, "A's log is empty")
    h.check_eq([r.sequence for r in la], list(range(1, len(la) + 1)), "A's log sequences")
    h.check_eq(len(lb), len(la), "records in B's log")
    for ra, rb in zip(la, lb):
        if (ra.sequence, ra.kind, ra.appended_at_ms, ra.payload) != \
                (rb.sequence, rb.kind, rb.appended_at_ms, rb.payload):
            raise h.CheckFailed(f"logs differ at sequence {ra.sequence}: A {sh.decode(ra)} "
                                f"B {sh.decode(rb)}")
    rates = {m: a.rates("440106", m) for m in (202606, 202607)}
    for s in (a, b):
        m = s.metrics()
        h.check_eq(m.value("doudi_consumer_stalls_total", upstream="eligibility"), 0.0,
                   f"stalls of {s.dir}")
        h.check_eq(m.value("doudi_scheduler_records_undecodable_total"), 0.0,
                   f"undecodable records at {s.dir}")
    h.check_eq(b.rates("440106", 202607), rates[202607], "B's July rates")
    for s in (a, b):
        h.check_eq(s.stop(), 0, f"exit status of {s.dir} after SIGTERM")
    sizes = {}
    for db in DATABASES:
        da, dbb = (h.mdb_dump(s.data_dir, db).split("HEADER=END\n", 1)[1] for s in (a, b))
        sizes[db] = da.count("\n") // 2
        if da != dbb:
            raise h.CheckFailed(f"database {db} differs between A and B: "
                                f"{first_difference(da, dbb)}")
    check_month(la, rates, elig)
    print(f"scheduler kill test: {head} eligibility records, {len(kills)} SIGKILLs of B "
          f"({sum(k[3] for k in kills)} aimed as meant), B's map grew {grows} times; "
          f"{len(la)} records in both logs; equal databases (entries) {sizes}; rates of 440106 "
          f"{rates}; upstream ready by {t_upstream:.1f} s, both caught up by {t_consumed:.1f} s",
          flush=True)


def check_month(records, rates, elig):
    kinds = collections.Counter(r.kind for r in records)
    changes = [sh.decode(r) for r in records if r.kind == sh.PLAN_CHANGE]
    assignments = [sh.decode(r) for r in records if r.kind == sh.ASSIGNMENT]
    alerts = [sh.decode(r) for r in records if r.kind == sh.ALERT]
    tiers = {c.tier for c in changes}
    h.check(len(tiers & {2, 3, 4}) == 3, f"plans of tiers {tiers} only")
    h.check(any(c.end == scheduler_pb2.PLAN_END_DECEASED for c in changes), "no plan ended by death")
    h.check(any("24 hours" in c.reason for c in changes), "no visit within 24 hours")
    h.check(sum(1 for a in assignments if a.worker_id) > 0.9 * len(assignments),
            f"only {sum(1 for a in assignments if a.worker_id)} of {len(assignments)} assigned")
    h.check(any(a.reason == "worker left" for a in assignments), "no re-assignment after a departure")
    own = collections.Counter(eligibility_pb2.AlertKind.Name(a.kind) for a in alerts if a.kind >= 20)
    for kind in ("ALERT_KIND_VISIT_OVERDUE", "ALERT_KIND_DANGER_FOUND"):
        h.check(own[kind] > 0, f"no {kind} alert (own alerts: {dict(own)})")
    passed = [a for a in alerts if a.kind < 20]
    h.check(passed, "no alert of eligibility passed on")
    h.check(any(a.assigned_worker_id for a in passed), "no passed alert names a worker")
    upstream = h.LogReader(elig.log_endpoint).read_all()
    h.check_eq(len(passed), sum(1 for r in upstream if r.kind == sh.ALERT), "alerts passed on")
    h.check_eq(kinds[sh.ACK], sum(1 for r in upstream if r.kind == sh.ACK),
               "acknowledgements passed on")
    for m, r in rates.items():
        due, visited, _ = r["440106"]
        h.check(due > 0 and 0 < visited <= due, f"rate of 440106 in {m}: {r['440106']}")
    print(f"the month: {dict(kinds)}; own alerts {dict(own)}; {len(passed)} passed on; "
          f"{len(changes)} plan changes, {len(assignments)} assignments", flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
