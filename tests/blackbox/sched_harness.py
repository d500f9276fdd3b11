"""Black-box helpers for doudi-scheduler: the daemon (Scheduler, a
harness.Daemon consuming an Eligibility's log), its queries, and a
deterministic care-visit month whose rates and overdue visits are known
exactly in advance (VisitMonth).

Import it next to harness: `import harness as h; import sched_harness as sh`.
"""

import datetime
import os
import subprocess

import harness as h
from doudi import eligibility_pb2, event_pb2, log_pb2, scheduler_pb2

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000

ASSIGNMENT = scheduler_pb2.SCHEDULER_RECORD_KIND_ASSIGNMENT
PLAN_CHANGE = scheduler_pb2.SCHEDULER_RECORD_KIND_PLAN_CHANGE
ALERT = eligibility_pb2.ELIGIBILITY_RECORD_KIND_ALERT
ACK = log_pb2.RECORD_KIND_ALERT_ACKNOWLEDGEMENT
OVERDUE = eligibility_pb2.ALERT_KIND_VISIT_OVERDUE

# Intake on the event clock, with a log nobody trims, as the kill tests use it.
INTAKE_CONFIG = {"intake": {"clock": "event"},
                 "log": {"consumers": "eligibility", "retention": "3650d"}}


def shanghai_ms(y, m, d, hh=0, mm=0):
    return int(datetime.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI).timestamp() * 1000)


class Scheduler(h.Daemon):
    """One doudi-scheduler consuming an Eligibility's log, with its own
    directory, configuration and ports. `consumer` is its cursor's name at
    eligibility ([scheduler] consumer_name); eligibility's [log] consumers
    should name it."""

    PROGRAM = "doudi-scheduler"
    LABEL = "scheduler"
    PORTS = ("log", "query", "metrics")

    def __init__(self, workdir, eligibility, overrides=None, name="scheduler",
                 consumer="scheduler"):
        self.eligibility = eligibility
        self.consumer = consumer
        super().__init__(workdir, overrides, name)

    @property
    def log_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['log']}"

    @property
    def query_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['query']}"

    def base_config(self):
        return {
            "scheduler": {
                "data_dir": self.data_dir,
                "upstream_endpoint": self.eligibility.log_endpoint,
                "consumer_name": self.consumer,
                "log_endpoint": self.log_endpoint,
                "query_endpoint": self.query_endpoint,
                "metrics_listen": f"127.0.0.1:{self.metrics_port}",
            },
            "visits": {},
            "alerts": {},
            "store": {},
            "log": {},
        }

    def lag(self):
        return self.metrics().get("doudi_consumer_lag_records", upstream="eligibility")

    def cursor_at_upstream(self):
        return self.eligibility.metrics().get("doudi_log_consumer_cursor",
                                              consumer=self.consumer)

    def caught_up(self):
        """Eligibility's head once this scheduler has applied everything up
        to it (lag 0 and eligibility saw its cursor at the head), else None."""
        head = self.eligibility.log_head()
        if not head or not self.alive():
            return None
        return head if self.lag() == 0 and self.cursor_at_upstream() == head else None

    def wait_caught_up(self, timeout, what=None):
        def ready():
            h.check(self.alive(), f"{self.LABEL} exited with status {self.proc.poll()}:\n"
                    + self.stderr_tail())
            return self.caught_up()
        return h.wait_for(ready, timeout, what or f"{self.dir} to catch up with eligibility",
                          interval=0.05)

    def query(self, timeout=10.0, **fields):
        """One SchedulerQueryRequest (e.g. rate_region_code="440106",
        month_yyyymm=202603); returns the SchedulerQueryReply."""
        req = scheduler_pb2.SchedulerQueryRequest(request_id=_ids[0], **fields)
        _ids[0] += 1
        s = h.dealer(self.query_endpoint)
        try:
            s.send(req.SerializeToString())
            frames = h.recv_frames(s, timeout * h.time_scale())
            if frames is None:
                raise TimeoutError(f"no SchedulerQueryReply from {self.query_endpoint}")
            rep = scheduler_pb2.SchedulerQueryReply.FromString(frames[-1])
            h.check_eq(rep.request_id, req.request_id, "SchedulerQueryReply.request_id")
            return rep
        finally:
            s.close(0)

    def rates(self, region, month=0):
        """{region: (due, visited, overdue)} for the region and its children."""
        rep = self.query(rate_region_code=region, month_yyyymm=month)
        h.check(not rep.error_text, f"rate query for {region} refused: {rep.error_text}")
        return {r.region_code: (r.due, r.visited, r.overdue) for r in rep.rates}

    def read_log(self):
        reader = h.LogReader(self.log_endpoint)
        try:
            return reader.read_all()
        finally:
            reader.close()


_ids = [1]


def scheduler(env, eligibility, overrides=None, name=None, consumer="scheduler", start=True):
    """A Scheduler in env's directory, stopped (and its stderr checked for
    sanitizer reports) with the test's other daemons: TestEnv walks the
    list it keeps of the daemons downstream of intake."""
    s = Scheduler(env.dir, eligibility, overrides, name or f"scheduler{len(env.eligibilities)}",
                  consumer)
    env.eligibilities.append(s)
    if start:
        s.start()
    return s


def decode(record):
    """The message of one record of the scheduler's log."""
    if record.kind == ASSIGNMENT:
        return scheduler_pb2.VisitAssignment.FromString(record.payload)
    if record.kind == PLAN_CHANGE:
        return scheduler_pb2.PlanChange.FromString(record.payload)
    if record.kind == ALERT:
        return eligibility_pb2.Alert.FromString(record.payload)
    if record.kind == ACK:
        return event_pb2.Envelope.FromString(record.payload)
    raise h.CheckFailed(f"record kind {record.kind} in the scheduler's log")


def doudictl(*args, timeout=30):
    """Runs build/bin/doudictl; returns (status, stdout, stderr)."""
    r = subprocess.run([h.binary("doudictl"), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout * h.time_scale())
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# A month with known visits
# ---------------------------------------------------------------------------


class VisitMonth:
    """Key elderly people (aged 75, living alone: one visit a month) in
    `villages` villages of county 440106, a village assistant each, and one
    high-risk person (86, living alone: weekly) in the first village; their
    plans start on the first of `month` and everyone is visited during the
    month except a known set. The expected rate of every region and the
    overdue alerts follow from that set alone:

      - village k (0-based) skips k of its `people` key visits; the skipped
        ones include a visit of one person made at 00:30 on the first of the
        next month (in UTC still the last day: it must not count), one "not
        at home" and one "refused" (attempts, not visits);
      - a visit at 23:30 on the month's last day (15:30 UTC) counts;
      - one visit by phone counts (key tier; phone_counts_up_to = key);
      - the high-risk person misses one weekly visit (one overdue alert) but
        is visited in the month;
      - an event on the second day of the next month moves the clock past
        the month's end, so every skipped key visit is overdue once.
    """

    def __init__(self, month=(2026, 3), villages=6, people=10):
        self.y, self.m = month
        self.villages = [f"440106{t:03d}{v:03d}" for t in (1, 101) for v in (1, 2, 3)][:villages]
        self.people = people
        self.events = []   # (t, Envelope)
        self.expected = {}  # region prefix -> [due, visited]
        self.skipped = set()
        self.high_risk_skips = 0
        self._n = 0
        self._build()

    @property
    def yyyymm(self):
        return self.y * 100 + self.m

    def _env(self, t, region, body, fill):
        self._n += 1
        env = event_pb2.Envelope(event_id=f"vm-{self._n:06d}", source="visit-month",
                                 occurred_at_ms=t, region_code=region)
        fill(getattr(env, body))
        self.events.append((t, env))

    def _person(self, t, pid, region, hid, birth_age):
        def household(b):
            b.household_id = hid
            b.urban_rural = event_pb2.URBAN_RURAL_URBAN
            b.member_person_ids.append(pid)
            b.incomes.add(kind=event_pb2.INCOME_KIND_PENSION, monthly_fen=300_000)
            b.dwellings = 1
        self._env(t, region, "household_reported", household)

        def person(b):
            b.person_id = pid
            b.household_id = hid
            b.living_arrangement = event_pb2.LIVING_ARRANGEMENT_ALONE
            dl = b.daily_living
            for f in ("eating", "dressing", "getting_in_out_of_bed", "toileting",
                      "walking_indoors", "bathing"):
                setattr(dl, f, event_pb2.ADL_ABILITY_INDEPENDENT)
            b.work_ability = event_pb2.WORK_ABILITY_UNABLE
            b.legal_supporter = event_pb2.LEGAL_SUPPORTER_PRESENT
            b.own_monthly_income_fen = 300_000
        self._env(t + 1000, region, "person_reported", person)

    def _visit(self, t, pid, region, worker, outcome=event_pb2.VISIT_OUTCOME_VISITED):
        def fill(b):
            b.visit_id = f"visit-{self._n + 1}"
            b.subject_person_id = pid
            b.worker_id = worker
            b.visited_at_ms = t
            b.outcome = outcome
            b.findings.add(area=event_pb2.FINDING_AREA_HOME_POWER,
                           severity=event_pb2.FINDING_SEVERITY_OK, note="ok")
        self._env(t, region, "visit_report", fill)

    def _add(self, region, due, visited):
        for n in (2, 4, 6, 9, 12):
            e = self.expected.setdefault(region[:n], [0, 0])
            e[0] += due
            e[1] += visited

    def _build(self):
        y, m = self.y, self.m
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        start = shanghai_ms(y, m, 1, 0, 5)
        last_day = (datetime.date(ny, nm, 1) - datetime.timedelta(days=1)).day
        for i, v in enumerate(self.villages):
            def roster(b, v=v):
                b.worker_id = f"w-{v}"
                b.action = event_pb2.ROSTER_ACTION_JOINED
                b.role = event_pb2.WORKER_ROLE_VILLAGE_ASSISTANT
                b.monthly_visit_capacity = 60
            self._env(start - HOUR_MS + i * 1000, v, "roster_change", roster)
        t = start
        for i, v in enumerate(self.villages):
            worker = f"w-{v}"
            for k in range(self.people):
                pid = h.person_id("440106", "19500505", 100 * i + k)
                self._person(t, pid, v, f"vm-h-{i}-{k}", 75)
                t += 10_000
                skip = k < i
                day = 2 + (k * 3) % (last_day - 2)
                visit_t = shanghai_ms(y, m, day, 10, 0) + i * MIN_MS
                if skip:
                    self.skipped.add(pid)
                    # Some skipped people were still reported on.
                    if k == 0:
                        self._visit(shanghai_ms(ny, nm, 1, 0, 30), pid, v, worker)
                    elif k == 1:
                        self._visit(visit_t, pid, v, worker, event_pb2.VISIT_OUTCOME_NOT_AT_HOME)
                    elif k == 2:
                        self._visit(visit_t, pid, v, worker, event_pb2.VISIT_OUTCOME_REFUSED)
                else:
                    if k == self.people - 1:
                        visit_t = shanghai_ms(y, m, last_day, 23, 30)
                    outcome = (event_pb2.VISIT_OUTCOME_BY_PHONE_OR_VIDEO if k == self.people - 2
                               else event_pb2.VISIT_OUTCOME_VISITED)
                    self._visit(visit_t, pid, v, worker, outcome)
                self._add(v, 1, 0 if skip else 1)
        # The high-risk person: weekly; first due 7 days after the start.
        v = self.villages[0]
        self.high_risk = h.person_id("440106", "19400101", 900)
        self._person(start + 5 * MIN_MS, self.high_risk, v, "vm-h-high", 86)
        for d in (3, 9, 20, 26):  # 16th skipped: due on the 16th, visited on the 20th
            self._visit(shanghai_ms(y, m, d, 15, 0), self.high_risk, v, f"w-{v}")
        self.high_risk_skips = 1
        self._add(v, 1, 1)

        def tick(b):
            b.worker_id = f"w-{v}"
            b.action = event_pb2.ROSTER_ACTION_UPDATED
            b.role = event_pb2.WORKER_ROLE_VILLAGE_ASSISTANT
            b.monthly_visit_capacity = 60
        self._env(shanghai_ms(ny, nm, 2, 9, 0), v, "roster_change", tick)
        self.events.sort(key=lambda e: e[0])

    def encoded(self):
        return [env.SerializeToString() for _, env in self.events]

    def expected_overdue(self):
        return len(self.skipped) + self.high_risk_skips
