"""doudi-scheduler over a month whose visits are known: intake -> eligibility
-> scheduler, real daemons on the wire.

test_skipped_visits_give_exact_rates publishes sched_harness.VisitMonth (key
elderly people in six villages of two townships, a village assistant each,
one high-risk person; village k skips k visits, some of them reported as
"not at home", "refused" or made at 00:30 on the first of the next month)
and checks that:
  - the rate of every region of the ladder (each village, both townships,
    the county, the city, the province) is the expected fraction exactly;
  - each skipped visit produced exactly one VISIT_OVERDUE alert, addressed
    to the person's township (9 digits + 000), and nobody else got one;
  - a visit at 23:30 on the last day counts for that month, one at 00:30 on
    the first of the next does not (Asia/Shanghai calendar months);
  - every plan got its village's assistant (VisitAssignment), and the
    worker's list holds the village's plans in due order;
  - `doudictl visits rate` prints the same numbers, and `doudictl plan`,
    `worker` and `visits due` answer.
"""

import collections

import harness as h
import sched_harness as sh
from doudi import eligibility_pb2


def start_chain(env, month, sched_overrides=None):
    intake = env.intake(sh.INTAKE_CONFIG)
    statuses = h.publish(intake.publish_endpoint, month.encoded())
    for st in statuses:
        h.check_eq(h.OUTCOME.Name(st.outcome), "OUTCOME_ACCEPTED", f"outcome ({st.reason_text})")
    elig = env.eligibility(intake)
    sched = sh.scheduler(env, elig, sched_overrides)
    elig.wait_caught_up(60 * h.time_scale())
    sched.wait_caught_up(60 * h.time_scale())
    return intake, elig, sched


def test_skipped_visits_give_exact_rates(env):
    month = sh.VisitMonth()
    intake, elig, sched = start_chain(env, month)

    # Rates of every level, from the query endpoint.
    got = {}
    for region in ("44", "4401", "440106", "440106001", "440106101"):
        got.update(sched.rates(region, month.yyyymm))
    for region, (due, visited) in sorted(month.expected.items()):
        h.check(region in got, f"no rate for {region} in {sorted(got)}")
        h.check_eq(got[region][:2], (due, visited), f"(due, visited) of {region} in {month.yyyymm}")
    h.check(any(d != v for d, v in month.expected.values()), "the month skips nothing")

    records = sched.read_log()
    overdue = [sh.decode(r) for r in records if r.kind == sh.ALERT]
    overdue = [a for a in overdue if a.kind == eligibility_pb2.ALERT_KIND_VISIT_OVERDUE]
    per_person = collections.Counter(a.subject_person_id for a in overdue)
    h.check_eq(sum(per_person.values()), month.expected_overdue(), "VISIT_OVERDUE alerts")
    for pid in month.skipped:
        h.check_eq(per_person[pid], 1, f"overdue alerts for the skipped {pid[:6]}...")
    h.check_eq(per_person[month.high_risk], 1, "overdue alerts of the high-risk person")
    for a in overdue:
        h.check(a.region_code.endswith("000") and a.region_code[:6] == "440106",
                f"overdue alert not to a township: {a.region_code}")
        h.check(a.assigned_worker_id.startswith("w-"), f"overdue alert without worker: {a}")
        h.check(a.origin_sequence > 0, "overdue alert without origin_sequence")
    h.check_eq(sum(g[2] for r, g in got.items() if len(r) == 12),
               sum(1 for a in overdue if sh.shanghai_ms(month.y, month.m, 1) <= a.raised_at_ms),
               "overdue counts of the villages")

    # Assignments: every plan to its own village's assistant.
    assignments = [sh.decode(r) for r in records if r.kind == sh.ASSIGNMENT]
    h.check_eq(len(assignments), len(month.villages) * month.people + 1, "VisitAssignments")
    for a in assignments:
        h.check_eq(a.worker_id, f"w-{a.region_code}", f"worker of {a.person_id[:6]}...")
        h.check_eq(a.reason, "new plan", "assignment reason")

    # The worker's list: the village's plans, earliest due first.
    v0 = month.villages[0]
    rep = sched.query(worker_id=f"w-{v0}")
    h.check(not rep.error_text, rep.error_text)
    h.check_eq(len(rep.plans), month.people + 1, "plans of the first village's assistant")
    dues = [p.next_due_ms for p in rep.plans]
    h.check_eq(dues, sorted(dues), "the worker's list is in due order")
    h.check_eq(rep.worker.plans, month.people + 1, "plans counted on the worker")

    # doudictl speaks the same numbers.
    rc, out, err = sh.doudictl("visits", "rate", "440106", str(month.yyyymm), "-e",
                               sched.query_endpoint)
    h.check_eq(rc, 0, f"doudictl visits rate status ({err})")
    for t in ("440106001", "440106101"):
        due, visited = month.expected[t]
        line = [ln for ln in out.splitlines() if ln.split()[:1] == [t]]
        h.check(line, f"no row for {t} in:\n{out}")
        h.check(line[0].split()[1:3] == [str(due), str(visited)],
                f"row of {t}: {line[0]!r}, want due {due} visited {visited}")
    rc, out, err = sh.doudictl("plan", month.high_risk, "-e", sched.query_endpoint)
    h.check_eq(rc, 0, f"doudictl plan status ({err})")
    h.check("high" in out.lower() and f"w-{v0}" in out, f"doudictl plan output:\n{out}")
    rc, out, err = sh.doudictl("worker", f"w-{v0}", "-e", sched.query_endpoint)
    h.check_eq(rc, 0, f"doudictl worker status ({err})")
    rc, out, err = sh.doudictl("visits", "due", "440106", "-e", sched.query_endpoint)
    h.check_eq(rc, 0, f"doudictl visits due status ({err})")
    h.check(month.high_risk[:6] in out, f"doudictl visits due lists nobody:\n{out}")
    # The due lists of a county (read from the due index) and of its
    # townships and villages (read from the plans by township) agree.
    county = sched.query(due_region_code="440106", limit=100000)
    h.check(not county.error_text and county.total > 0, f"due in 440106: {county}")
    h.check_eq(county.total, len(county.plans), "due in 440106: plans listed")
    for region in (v0, v0[:9], month.villages[-1], month.villages[-1][:9] + "000"):
        prefix = region[:9] if region.endswith("000") else region
        want = [p.person_id for p in county.plans if p.region_code.startswith(prefix)]
        listed = sched.query(due_region_code=region, limit=100000)
        h.check(not listed.error_text, f"due in {region}: {listed.error_text}")
        h.check_eq([p.person_id for p in listed.plans], want, f"due in {region}")
        dues = [p.next_due_ms for p in listed.plans]
        h.check_eq(dues, sorted(dues), f"due in {region}: in due order")
    h.check(any(p.region_code == v0 for p in county.plans), "nobody due in the first village")
    print(f"month {month.yyyymm}: {len(month.events)} events, rates {got['440106']}, "
          f"{len(overdue)} overdue alerts, {len(records)} records in the scheduler's log",
          flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
