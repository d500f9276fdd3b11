"""The whole chain on loopback: portal -> doudi-intake -> doudi-eligibility
-> doudi-scheduler -> doudi-alerts, each on its default upstream (alerts
consumes the scheduler's log), with real data all the way.

tools/gen_county.py generates a county-month of 440106 (15 June to 15 July
2026: a month end is crossed, so every key plan nobody visited in June is
overdue on 1 July), and two people are added to it whose fate is known: two
key elderly people (75, living alone) in villages of two townships, never
visited. Everything is published once through intake, as a portal does.

test_county_month_through_the_chain proves:
  - every stage caught up with the one before it (cursor at the head), and
    doudi-alerts applied every alert the scheduler appended;
  - the scheduler's VISIT_OVERDUE alerts are in doudi-alerts, one stored
    alert per person (repeats merged, count equal to the raises) in the
    township office of the person's village (the plan's region, from the
    scheduler's PlanChange and VisitAssignment records), and the replay of
    each township's prefix delivers exactly the overdue alerts of that
    township;
  - a death (the civil registry's finding -> eligibility's CareChange
    deceased -> the scheduler's PlanChange end=DECEASED) inhibits that
    person's VISIT_OVERDUE alert in doudi-alerts: state INHIBITED, an
    INHIBITED stream entry stamped with the plan change; this holds for the
    added person and for every person of the generated month who died after
    an overdue alert;
  - `doudictl alerts ack` publishes an acknowledgement to intake; it passes
    eligibility and the scheduler (passed on unchanged, once) and makes the
    other person's overdue alert ACKNOWLEDGED in doudi-alerts, with an
    ACKNOWLEDGED stream entry.
"""

import collections
import json
import os
import time

import alerts_harness as ah
import harness as h
import sched_harness as sh
from doudi import alerts_pb2, eligibility_pb2, event_pb2, scheduler_pb2

HOUSEHOLDS = int(os.environ.get("DOUDI_CHAIN_HOUSEHOLDS", "1500"))
SEED = int(os.environ.get("DOUDI_CHAIN_SEED", "11"))

OVERDUE = eligibility_pb2.ALERT_KIND_VISIT_OVERDUE
STATE = alerts_pb2.AlertState
CHANGE = alerts_pb2.AlertChange

# The two added people: never visited, so overdue on 1 July; one dies on 3 July.
DYING_VILLAGE = "440106101007"
ACKED_VILLAGE = "440106002004"
DYING = h.person_id("440106", "19510707", 997)
ACKED = h.person_id("440106", "19510707", 998)
REGISTERED_AT = sh.shanghai_ms(2026, 6, 16, 10, 0)
DIED_AT = sh.shanghai_ms(2026, 7, 2, 22, 0)
DEATH_RECORDED_AT = sh.shanghai_ms(2026, 7, 3, 9, 30)


def added_people():
    """(occurred_at_ms, encoded Envelope) of the two added people and the death."""
    out = []

    def env(event_id, t, region):
        return event_pb2.Envelope(event_id=event_id, source="chain-test", occurred_at_ms=t,
                                  region_code=region)

    for n, (pid, village) in enumerate(((DYING, DYING_VILLAGE), (ACKED, ACKED_VILLAGE))):
        t = REGISTERED_AT + n * sh.MIN_MS
        hid = f"chain-h-{n}"
        e = env(f"chain-household-{n}", t, village)
        b = e.household_reported
        b.household_id = hid
        b.urban_rural = event_pb2.URBAN_RURAL_URBAN
        b.member_person_ids.append(pid)
        b.incomes.add(kind=event_pb2.INCOME_KIND_PENSION, monthly_fen=300_000)
        b.dwellings = 1
        out.append((t, e.SerializeToString()))
        e = env(f"chain-person-{n}", t + 1000, village)
        b = e.person_reported
        b.person_id = pid
        b.household_id = hid
        b.living_arrangement = event_pb2.LIVING_ARRANGEMENT_ALONE
        for f in ("eating", "dressing", "getting_in_out_of_bed", "toileting", "walking_indoors",
                  "bathing"):
            setattr(b.daily_living, f, event_pb2.ADL_ABILITY_INDEPENDENT)
        b.work_ability = event_pb2.WORK_ABILITY_UNABLE
        b.legal_supporter = event_pb2.LEGAL_SUPPORTER_PRESENT
        b.own_monthly_income_fen = 300_000
        out.append((t + 1000, e.SerializeToString()))
    e = env("chain-death", DEATH_RECORDED_AT, DYING_VILLAGE)
    b = e.comparison_record
    b.subject_person_id = DYING
    b.department = event_pb2.DEPARTMENT_CIVIL_REGISTRY
    b.period_yyyymm = 202607
    b.death.died_at_ms = DIED_AT
    out.append((DEATH_RECORDED_AT, e.SerializeToString()))
    return out


def township_office(village):
    return village[:9] + "000"


def wait_chain(intake, elig, sched, alerts, timeout):
    """Each stage caught up with the one before it; returns the heads."""
    t0 = time.monotonic()
    heads = {"intake": elig.wait_caught_up(timeout)}
    heads["eligibility"] = sched.wait_caught_up(timeout - (time.monotonic() - t0))
    heads["scheduler"] = alerts.wait_caught_up(
        (timeout - (time.monotonic() - t0)) / h.time_scale())
    h.check_eq(intake.log_head(), heads["intake"], "intake's head after the chain caught up")
    return heads


def test_county_month_through_the_chain(env):
    t_start = time.monotonic()
    scale = h.time_scale()
    gen = h.gen_county()
    county = gen.generate(seed=SEED, households=HOUSEHOLDS)
    events = sorted(county.events + added_people(), key=lambda e: e[0])

    intake = env.intake(sh.INTAKE_CONFIG)
    elig = env.eligibility(intake, {"log": {"consumers": "scheduler", "retention": "3650d"}})
    sched = sh.scheduler(env, elig, {"log": {"retention": "3650d"}}, name="scheduler")
    # doudi-alerts consumes the scheduler's log, its default upstream (here
    # on the test's port); the scheduler's [log] consumers is "alerts" by
    # default.
    alerts = ah.Alerts(env.dir, sched, name="alerts", upstream_name="scheduler")
    env.eligibilities.append(alerts)
    alerts.start()

    published_from = time.time()
    statuses = gen.publish(intake.publish_endpoint, [data for _, data in events],
                           timeout=5.0 * scale, deadline=120 * scale)
    accepted = sum(1 for s in statuses if s.outcome == h.ACCEPTED)
    h.check(accepted > 0.9 * len(events), f"only {accepted} of {len(events)} events accepted")
    heads = wait_chain(intake, elig, sched, alerts, 120 * scale)
    t_caught_up = time.monotonic() - t_start

    # -- what the scheduler appended, and what doudi-alerts made of it --------
    records = sched.read_log()
    h.check_eq(len(records), heads["scheduler"], "records in the scheduler's log")
    village_of = {}
    deaths = {}  # person -> changed_at_ms of the PlanChange DECEASED
    raised = []  # the scheduler's VISIT_OVERDUE alerts, in order
    passed_acks = 0
    alert_records = 0
    for r in records:
        m = sh.decode(r)
        if r.kind in (sh.PLAN_CHANGE, sh.ASSIGNMENT):
            if m.region_code:
                village_of.setdefault(m.person_id, []).append((r.sequence, m.region_code))
            if r.kind == sh.PLAN_CHANGE and m.end == scheduler_pb2.PLAN_END_DECEASED:
                deaths[m.person_id] = m.changed_at_ms
        elif r.kind == sh.ALERT:
            alert_records += 1
            if m.kind == OVERDUE:
                raised.append((r.sequence, m))
        elif r.kind == sh.ACK:
            passed_acks += 1
    h.check(len(raised) > 50, f"only {len(raised)} overdue alerts in the scheduler's log")
    m_alerts = alerts.metrics()
    h.check_eq(m_alerts.value("doudi_consumer_lag_records", upstream="scheduler"), 0.0,
               "doudi-alerts' lag behind the scheduler")
    # The consumer's own cursor is the committed one, at once: the upstream
    # learns it only with the next fetch.
    h.check_eq(m_alerts.value("doudi_consumer_cursor_sequence", upstream="scheduler"),
               float(heads["scheduler"]), "doudi-alerts' own cursor at the scheduler's head")
    # When the commit that brought each cursor to its head happened: after
    # the publishing began, and in the past.
    for daemon, upstream in ((elig, "intake"), (sched, "eligibility"), (alerts, "scheduler")):
        last = daemon.metrics().value("doudi_consumer_last_commit_timestamp_seconds",
                                      upstream=upstream)
        h.check(published_from - 0.002 <= last <= time.time() + 0.002,
                f"last commit after {upstream} at {last}, publishing began at {published_from}")
    kinds = collections.Counter(r.kind for r in records)
    h.check_eq(m_alerts.value("doudi_alerts_upstream_records_total"),
               float(kinds[sh.ALERT] + kinds[sh.ACK] + kinds[sh.PLAN_CHANGE]),
               "records doudi-alerts applied (alerts, acknowledgements, plan changes)")

    held = alerts.list(unresolved_only=True)
    held_all = alerts_all(alerts)
    by_person = collections.defaultdict(list)
    for a in held_all:
        if a.kind == OVERDUE:
            by_person[a.subject_person_id].append(a)
    raises = collections.Counter(a.subject_person_id for _, a in raised)
    for person, n in raises.items():
        got = by_person.get(person, [])
        h.check_eq(len(got), 1, f"stored overdue alerts of {person[:6]}... ({n} raised)")
        a = got[0]
        h.check_eq(a.count, n, f"raises merged into {a.id}")
        # The township office of the village the plan was in when raised.
        first_seq = min(s for s, x in raised if x.subject_person_id == person)
        places = [v for s, v in village_of.get(person, []) if s < first_seq]
        h.check(places, f"no plan region for {person[:6]}... before its overdue alert")
        h.check_eq(a.region_code, township_office(places[-1]),
                   f"region of {a.id} (person in village {places[-1]})")
    h.check_eq(set(by_person), set(raises), "people with overdue alerts: alerts vs scheduler")
    refused = sum(v for labels, v in m_alerts.series("doudi_alerts_rejected_total").items()
                  if not dict(labels).get("reason", "").startswith("ack_"))
    h.check_eq(sum(a.count for a in held_all) + refused, float(alert_records),
               "alerts of the scheduler's log held (with their repeats) or refused")

    # The stream: each township's replay delivers its own overdue alerts.
    overdue_ids = {a.id: a for v in by_person.values() for a in v}
    townships = sorted({a.region_code[:9] for a in overdue_ids.values()})
    h.check(len(townships) >= 4, f"overdue alerts in only {townships}")
    delivered = {}
    for t in townships:
        for e in alerts.replay_all(t):
            a = e.update.alert
            h.check(a.region_code.startswith(t), f"replay of {t} delivered {a.region_code}")
            if a.kind == OVERDUE and e.update.change == CHANGE.Value("ALERT_CHANGE_RAISED"):
                h.check(a.id not in delivered, f"{a.id} raised twice in the stream")
                delivered[a.id] = t
    h.check_eq(set(delivered), {i for i, a in overdue_ids.items()
                                if a.state != STATE.Value("ALERT_STATE_SILENCED")
                                and not (a.state == STATE.Value("ALERT_STATE_INHIBITED")
                                         and a.closed_reason.startswith("the person died or"))},
               "overdue alerts raised in the township streams")

    # -- a death inhibits the person's overdue alert ---------------------------
    h.check(DYING in raises, "the added person was never overdue")
    h.check(DYING in deaths, "no PlanChange DECEASED for the added person who died")
    inhibited = 0
    for person, died in deaths.items():
        got = by_person.get(person)
        if not got:
            continue
        a = got[0]
        when = [x.raised_at_ms for _, x in raised if x.subject_person_id == person]
        if min(when) > died:
            continue
        h.check_eq((STATE.Name(a.state), a.closed_reason),
                   ("ALERT_STATE_INHIBITED", "the person died"),
                   f"overdue alert {a.id} of {person[:6]}..., who died")
        stream = [e for e in alerts.replay_all(a.region_code[:9]) if e.update.alert.id == a.id]
        h.check_eq([CHANGE.Name(e.update.change) for e in stream][-1], "ALERT_CHANGE_INHIBITED",
                   f"last stream entry of {a.id}")
        h.check_eq(stream[-1].update.at_ms, died, f"time of the inhibition of {a.id}")
        inhibited += 1
    h.check(m_alerts.value("doudi_alerts_inhibited_total") >= inhibited,
            "doudi_alerts_inhibited_total below the inhibitions seen")
    dying_alert = by_person[DYING][0]
    h.check_eq(dying_alert.region_code, township_office(DYING_VILLAGE), "the added death's office")

    # -- an acknowledgement through intake, eligibility and the scheduler ----
    target = by_person[ACKED][0]
    h.check(target.state in (STATE.Value("ALERT_STATE_OPEN"), STATE.Value("ALERT_STATE_ESCALATED")),
            f"{target.id} is {STATE.Name(target.state)} before the acknowledgement")
    worker = target.assigned_worker_id or "w-chain"
    rc, out, err = sh.doudictl("alerts", "ack", target.id, "--by", worker, "--note", "visited",
                               "-p", intake.publish_endpoint, "-r", alerts.request_endpoint)
    h.check_eq(rc, 0, f"doudictl alerts ack status ({err})")
    ack = json.loads(out)
    h.check_eq(ack["office"], target.office_code, "the office doudictl acknowledged for")
    after = wait_chain(intake, elig, sched, alerts, 60 * scale)
    h.check(after["intake"] > heads["intake"], "intake's log did not grow by the acknowledgement")
    now = alerts.get(target.id)
    h.check_eq((STATE.Name(now.state), now.acknowledged_by),
               ("ALERT_STATE_ACKNOWLEDGED", worker), f"{target.id} after the acknowledgement")
    acks_in_scheduler = [r for r in sched.read_log() if r.kind == sh.ACK]
    h.check_eq(len(acks_in_scheduler), passed_acks + 1, "acknowledgements the scheduler passed on")
    mine = event_pb2.Envelope.FromString(acks_in_scheduler[-1].payload)
    h.check_eq((mine.event_id, mine.alert_acknowledgement.alert_id),
               (ack["eventId"], target.id), "the acknowledgement passed on last")
    stream = [e for e in alerts.replay_all(target.region_code[:9])
              if e.update.alert.id == target.id]
    h.check_eq(CHANGE.Name(stream[-1].update.change), "ALERT_CHANGE_ACKNOWLEDGED",
               f"last stream entry of {target.id}")

    for d in (alerts, sched, elig, intake):
        h.check_eq(d.stop(), 0, f"exit status of {d.dir} after SIGTERM")
    print(f"chain: {len(events)} events ({accepted} accepted), heads {heads} then {after}; "
          f"{alert_records} alerts in the scheduler's log, {len(raised)} overdue for "
          f"{len(raises)} people in {len(townships)} townships, {len(held)} unresolved in "
          f"doudi-alerts; {len(deaths)} deaths, {inhibited} overdue alerts inhibited by them; "
          f"{target.id} acknowledged; caught up by {t_caught_up:.1f} s, done in "
          f"{time.monotonic() - t_start:.1f} s", flush=True)


def alerts_all(alerts):
    """Every alert doudi-alerts holds, whatever its state."""
    out, after = [], 0
    while True:
        rep = alerts.request(list=alerts_pb2.ListRequest(
            states=[v for v in STATE.values() if v], after_number=after, limit=1000))
        h.check(not rep.error_text, f"list refused: {rep.error_text}")
        out.extend(rep.list.alerts)
        if not rep.list.next_after_number:
            return out
        after = rep.list.next_after_number


if __name__ == "__main__":
    h.run_tests(globals())
