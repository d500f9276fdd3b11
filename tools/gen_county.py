#!/usr/bin/python3
"""gen_county.py: a deterministic county-month of doudi events for the demo province.

Generates, from a seed, one month of what the portals and department feeds of
one county (default 440106, a district of the capital 4401 whose 低保 standard
rises from 1,368 to 1,400 yuan on 1 July 2026) send to doudi-intake:
households with their members (valid identity numbers, realistic ages from
babies to 100-year-olds, disabilities, daily-living abilities, living
arrangements, a few old 15-digit numbers), incomes and assets spread around
the 低保 line, the case system's enrolments, two monthly batches of department
comparison records (most repeat what is known; about 5 % of households
change), risk signals (emergencies, some in another city), applications,
enrolment changes (the 1 July amount changes among them), care visit reports
(some finding a danger), roster changes, alert acknowledgements, deaths,
people moving between households, household splits and merges, dangling
references (a person naming a household never reported, a household listing a
member never reported, an enrolment of somebody never registered) and
contradictory data (events intake must dead-letter, and events it accepts that
contradict what is known). Events come out in occurred_at order, from
2026-06-15 00:00 to 2026-07-15 00:00 Asia/Shanghai by default.

Output: JSON Lines of canonical proto3 JSON (doudi.Envelope; what `doudictl
publish` reads), to stdout or --out FILE; or --publish tcp://HOST:PORT sends
them to intake's publish endpoint as a portal does (requests of --batch
events, a window of outstanding requests, unanswered requests resent on a
fresh socket) and prints what intake answered. --facts FILE writes what a test
needs to know about the month (the dangling references, the events that must
be rejected, the emergencies in other cities, ...) as JSON.

As a module: generate(seed, households, ...) returns a County whose .events are
(occurred_at_ms, encoded Envelope) pairs in order and whose .facts is that dict.
Needs only the standard library and Debian's python3-protobuf (python3-zmq for
--publish); the doudi *_pb2 modules come from the build: run with
PYTHONPATH=<build>/proto/python /usr/bin/python3 tools/gen_county.py ...

The same seed and options give the same bytes, in the same order, on every run
and machine (no wall clock, no hash-order iteration).
"""

import argparse
import datetime
import json
import os
import random
import sys
import time

from google.protobuf import json_format

from doudi import event_pb2

# ---------------------------------------------------------------------------
# The demo province and the county's standards (deploy/standards-demo.csv)
# ---------------------------------------------------------------------------

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MONTH_DAYS = 30  # the length of the generated month
MIN_MS = 60_000
TOWNSHIPS = (1, 2, 3, 4, 101, 102, 103, 104)
VILLAGES_PER_TOWNSHIP = 26

# 低保 standards of 4401 (fen per person per month, urban = rural), before
# and from 1 July 2026; its longevity allowance starts at 70.
STANDARD_BEFORE = 136_800
STANDARD_AFTER = 140_000
RAISE_DATE = datetime.date(2026, 7, 1)
AGE_BANDS = ((100, 30_000), (90, 20_000), (80, 10_000), (70, 3_000))
DIBAO_MIN_FEN = 1000
ASSET_MONTHS = 24

# Other cities' villages where people of the county work or travel (their
# own standards: 4403 1,350 yuan; 4414 1,000 urban / 820 rural; 4406 1,200).
ELSEWHERE = ("440304001005", "440305102011", "441401101003", "441402003017",
             "440604101008", "440606002021")

# Birthplaces (6-digit address codes in identity numbers): mostly the county.
BIRTHPLACES = (("440106", 60), ("440103", 5), ("440104", 4), ("440111", 3), ("440512", 5),
               ("440923", 5), ("441481", 3), ("430102", 4), ("450103", 3), ("360102", 3),
               ("510104", 2), ("420106", 3))

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

E = event_pb2


def id_check_char(first17):
    """ISO 7064 MOD 11-2 check character of GB 11643-1999."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def identity_number(area6, birth, seq3):
    first17 = f"{area6}{birth:%Y%m%d}{seq3:03d}"
    return first17 + id_check_char(first17)


def ms_of(dt):
    return int(dt.timestamp() * 1000)


def age_on(birth, day):
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def standard_on(day):
    return STANDARD_AFTER if day >= RAISE_DATE else STANDARD_BEFORE


def age_allowance(age):
    for start, fen in AGE_BANDS:
        if age >= start:
            return fen
    return 0


# ---------------------------------------------------------------------------
# The population
# ---------------------------------------------------------------------------


class Person:
    __slots__ = ("pid", "birth", "male", "age", "role", "grade", "dtype", "adl", "living",
                 "fps", "work", "supporter", "income", "pension", "main_earner", "difficulty",
                 "ltc", "died_ms", "hh", "reported", "old15")

    def __init__(self):
        self.grade = 0
        self.dtype = 0
        self.adl = None  # tuple of six AdlAbility values, or None (not assessed)
        self.living = 0
        self.fps = 0
        self.work = 0
        self.supporter = 0
        self.income = 0
        self.pension = False
        self.main_earner = False
        self.difficulty = False
        self.ltc = False
        self.died_ms = 0
        self.reported = False
        self.old15 = None


class Household:
    __slots__ = ("hid", "region", "urban", "kind", "members", "incomes", "assets",
                 "dwellings", "vehicles", "medical", "education", "rehab", "enrolled",
                 "busy", "extra_members")

    def __init__(self, hid, region, kind):
        self.hid = hid
        self.region = region
        self.urban = int(region[6:9]) < 100
        self.kind = kind
        self.members = []
        self.incomes = []
        self.assets = 0
        self.dwellings = 1
        self.vehicles = []
        self.medical = self.education = self.rehab = 0
        self.enrolled = {}  # person id -> {program: amount}
        self.busy = False   # takes part in a membership change already
        self.extra_members = []  # listed, never reported (dangling)

    def living(self):
        return [p for p in self.members if not p.died_ms]

    def income(self):
        return sum(f for _, f in self.incomes)

    def per_capita(self):
        n = len(self.living())
        return self.income() // n if n else 0

    def dibao_eligible(self, std):
        n = len(self.living())
        if not n:
            return False
        return (self.per_capita() < std and self.assets // n <= ASSET_MONTHS * std
                and self.dwellings <= 1 and not self.vehicles)

    def dibao_amount(self, std):
        n = len(self.living())
        return max((std - self.per_capita()) * n, DIBAO_MIN_FEN * n)

    def head(self):
        return self.members[0]


HOUSEHOLD_KINDS = (("elderly_alone", 12), ("elderly_couple", 11), ("family", 38),
                   ("three_generations", 9), ("left_behind", 9), ("single_adult", 9),
                   ("disabled_family", 6), ("tekun_candidate", 6))

ADL_OK = (1, 1, 1, 1, 1, 1)


def weighted(rng, table):
    total = sum(w for _, w in table)
    x = rng.random() * total
    for value, w in table:
        x -= w
        if x < 0:
            return value
    return table[-1][0]


class County:
    """One generated county-month: .events (occurred_at_ms, bytes) in order,
    .facts (a JSON-able dict), .stats (counts by body kind)."""

    def __init__(self, seed=1, households=2000, county="440106", start=datetime.date(2026, 6, 15)):
        if len(county) != 6 or not county.isdigit():
            raise ValueError("county must be 6 digits, e.g. 440106")
        if households < 1:
            raise ValueError("a county needs at least one household")
        days = MONTH_DAYS
        self.rng = random.Random(f"doudi-county/{seed}/{county}/{households}")
        self.seed = seed
        self.county = county
        self.start = start
        self.days = days
        self.t0 = ms_of(datetime.datetime(start.year, start.month, start.day, tzinfo=SHANGHAI))
        self.t_end = self.t0 + days * DAY_MS
        self.villages = [f"{county}{t:03d}{v:03d}" for t in TOWNSHIPS
                         for v in range(1, VILLAGES_PER_TOWNSHIP + 1)]
        self._events = []    # (t, n, bytes)
        self._n = 0
        self._ids = {}       # source -> next number
        self._used_ids = {}  # first17 -> True
        self.households = []
        self.by_id = {}
        self.facts = dict(seed=seed, county=county, households_requested=households,
                          start=start.isoformat(), days=days,
                          dangling_persons=[], dangling_households=[], invalid_events=[],
                          contradictions=[], emergencies_elsewhere=[], emergencies_here=[],
                          splits=[], merges=[], moves=[], deaths=[], danger_visits=[],
                          expected_review=[], missing_information=[], old_15_digit=[],
                          near_line=[])
        self.stats = {}
        self._build(households)
        self._month()
        self._events.sort(key=lambda e: (e[0], e[1]))
        self.events = [(t, b) for t, _, b in self._events]
        del self._events
        self.facts["events"] = len(self.events)
        self.facts["by_kind"] = dict(sorted(self.stats.items()))
        self.facts["first_ms"] = self.events[0][0] if self.events else 0
        self.facts["last_ms"] = self.events[-1][0] if self.events else 0

    # ---- small helpers ----------------------------------------------------

    def ri(self, lo, hi):
        return lo + int(self.rng.random() * (hi - lo + 1))

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return seq[int(self.rng.random() * len(seq))]

    def day(self, d, hour=0, minute=0):
        return self.t0 + d * DAY_MS + hour * HOUR_MS + minute * MIN_MS

    def date_of(self, t):
        return datetime.datetime.fromtimestamp(t / 1000, SHANGHAI).date()

    def in_month(self, t):
        return min(max(t, self.t0), self.t_end - 1)

    def new_pid(self, age, male, area=None, birth=None):
        day0 = self.start
        while True:
            if birth is None:
                # Born on a day that makes the person `age` on the first day.
                b = day0 - datetime.timedelta(days=age * 365 + self.ri(1, 364) + age // 4)
                while age_on(b, day0) != age:
                    b = b + datetime.timedelta(days=1 if age_on(b, day0) > age else -1)
                if b >= day0 - datetime.timedelta(days=20):
                    b = day0 - datetime.timedelta(days=20)
            else:
                b = birth
            a = area or weighted(self.rng, BIRTHPLACES)
            seq = self.ri(0, 499) * 2 + (1 if male else 0)
            first17 = f"{a}{b:%Y%m%d}{seq:03d}"
            if first17 in self._used_ids:
                continue
            self._used_ids[first17] = True
            return first17 + id_check_char(first17), b

    def person(self, age, male, role):
        p = Person()
        p.pid, p.birth = self.new_pid(age, male)
        p.male = male
        p.age = age
        p.role = role
        return p

    # The envelope of one event; fill(body) sets the body's fields.
    def emit(self, t, source, region, body, fill=None):
        env = E.Envelope()
        n = self._ids.get(source, 0) + 1
        self._ids[source] = n
        env.event_id = f"{source}-{self.seed}-{n:07d}"
        env.source = source
        env.occurred_at_ms = int(t)
        env.region_code = region
        msg = getattr(env, body)
        msg.SetInParent()
        if fill:
            fill(msg)
        self._push(t, env)
        return env

    def _push(self, t, env):
        if not self.t0 <= t < self.t_end:
            raise AssertionError(f"{env.event_id} occurs at {t}, outside the month "
                                 f"[{self.t0}, {self.t_end})")
        self._n += 1
        self._events.append((int(t), self._n, env.SerializeToString()))
        kind = env.WhichOneof("body") or "none"
        self.stats[kind] = self.stats.get(kind, 0) + 1

    # ---- building the county ------------------------------------------------

    def _build(self, n):
        counters = {}
        for _ in range(n):
            region = self.pick(self.villages)
            counters[region] = counters.get(region, 0) + 1
            hid = f"hh-{region}-{counters[region]:04d}"
            h = Household(hid, region, weighted(self.rng, HOUSEHOLD_KINDS))
            self._populate(h)
            self._finances(h)
            self.households.append(h)
            self.by_id[hid] = h

    def _elder(self, h, lo, hi, living, male=None, role="elder"):
        age = min(100, self.ri(lo, hi) if self.chance(0.7) else self.ri(lo, min(hi + 8, 100)))
        p = self.person(age, self.chance(0.45) if male is None else male, role)
        p.living = living
        p.work = 3 if age >= 70 else weighted(self.rng, ((2, 50), (3, 35), (1, 15)))
        p.fps = 2 if self.chance(0.015) else (3 if self.chance(0.01) else 1)
        p.supporter = weighted(self.rng, ((1, 88), (2, 8), (3, 4)))
        # Daily living: most manage alone; impairment grows with age.
        r = self.rng.random() + max(0, age - 75) * 0.012
        if r < 0.78:
            p.adl = ADL_OK
        elif r < 0.97:
            p.adl = tuple(weighted(self.rng, ((1, 60), (2, 40))) for _ in range(6))
        else:
            p.adl = tuple(weighted(self.rng, ((1, 15), (2, 30), (3, 55))) for _ in range(6))
        if self.chance(0.06):
            p.grade = weighted(self.rng, ((1, 10), (2, 25), (3, 30), (4, 35)))
            p.dtype = weighted(self.rng, ((1, 45), (2, 20), (3, 20), (5, 5), (6, 5), (7, 5)))
        p.ltc = self.chance(0.012)
        p.pension = self.chance(0.75)
        p.income = self.ri(30_000, 180_000) if p.pension else 0
        # Information collection is not perfect: a few elderly lack data.
        if self.chance(0.012):
            p.living = 0
        elif self.chance(0.008):
            p.adl = p.adl[:3] + (0,) + p.adl[4:]
        if age >= 70 and self.chance(0.004) and 1900 <= p.birth.year <= 1999:
            # An old 15-digit number (born 19YY): intake upgrades it.
            p.old15 = f"{p.pid[:6]}{p.birth:%y%m%d}{p.pid[14:17]}"
        return p

    def _adult(self, lo, hi, male, role="adult"):
        p = self.person(self.ri(lo, hi), male, role)
        p.living = 1
        p.work = 1 if self.chance(0.9) else 2
        p.supporter = 1
        p.fps = 1 if p.age >= 40 else 0
        if self.chance(0.05):
            p.grade = weighted(self.rng, ((1, 8), (2, 20), (3, 30), (4, 42)))
            p.dtype = weighted(self.rng, ((1, 50), (2, 10), (3, 15), (4, 5), (5, 10), (6, 10)))
            if p.grade <= 2:
                p.work = 3
                p.adl = tuple(weighted(self.rng, ((1, 40), (2, 35), (3, 25))) for _ in range(6))
        return p

    def _child(self, lo, hi, living=1):
        p = self.person(self.ri(lo, hi), self.chance(0.52), "child")
        p.living = living
        p.supporter = 1
        p.difficulty = self.chance(0.06)
        if self.chance(0.02):
            p.grade = weighted(self.rng, ((1, 15), (2, 30), (3, 30), (4, 25)))
            p.dtype = weighted(self.rng, ((1, 30), (3, 20), (5, 35), (6, 15)))
            p.difficulty = True
        return p

    def _populate(self, h):
        k = h.kind
        m = h.members
        if k == "elderly_alone":
            m.append(self._elder(h, 62, 95, 2))
        elif k == "tekun_candidate":
            p = self._elder(h, 65, 98, 2)
            p.supporter = weighted(self.rng, ((3, 70), (2, 30)))
            p.pension = self.chance(0.3)
            p.income = self.ri(0, 60_000) if p.pension else 0
            p.work = 3
            m.append(p)
        elif k == "elderly_couple":
            a = self._elder(h, 60, 92, 3, male=True)
            b = self._elder(h, 60, 90, 3, male=False)
            m.extend([a, b])
        elif k == "family":
            a = self._adult(24, 55, True)
            b = self._adult(max(22, a.age - 8), min(55, a.age + 3), False)
            m.extend([a, b])
            for _ in range(weighted(self.rng, ((0, 20), (1, 40), (2, 30), (3, 10)))):
                m.append(self._child(0, min(17, max(0, b.age - 20))))
        elif k == "three_generations":
            a = self._adult(30, 55, True)
            b = self._adult(28, 52, False)
            m.extend([a, b])
            for _ in range(self.ri(1, 2)):
                m.append(self._child(0, 17))
            m.append(self._elder(h, max(60, a.age + 20), 95, 1, male=self.chance(0.4)))
            if self.chance(0.5):
                m.append(self._elder(h, max(60, a.age + 20), 92, 1))
        elif k == "left_behind":
            g = self._elder(h, 60, 85, 4)
            m.append(g)
            if self.chance(0.5):
                g2 = self._elder(h, 60, 85, 4, male=not g.male)
                m.append(g2)
            for _ in range(self.ri(1, 3)):
                c = self._child(2, 15, living=4)
                c.difficulty = c.difficulty or self.chance(0.1)
                m.append(c)
        elif k == "single_adult":
            m.append(self._adult(18, 59, self.chance(0.55)))
        elif k == "disabled_family":
            d = self._adult(18, 50, self.chance(0.55), role="disabled")
            d.grade = weighted(self.rng, ((1, 30), (2, 40), (3, 30)))
            d.dtype = weighted(self.rng, ((1, 35), (2, 10), (5, 30), (6, 25)))
            d.work = 3
            d.adl = tuple(weighted(self.rng, ((1, 30), (2, 35), (3, 35))) for _ in range(6))
            parent = self._elder(h, max(60, d.age + 20), 92, 1)
            m.extend([d, parent])
            if self.chance(0.5):
                m.append(self._elder(h, max(60, d.age + 20), 90, 1, male=not parent.male))
        for p in m:
            p.hh = h.hid

    def _finances(self, h):
        std = STANDARD_BEFORE
        n = len(h.members)
        # Per-capita income as a multiple of the standard: a quarter below the
        # line, a band just around it (the 1 July raise crosses some), the
        # marginal band, and the rest well above.
        band = weighted(self.rng, (("below", 26), ("around", 12), ("marginal", 17),
                                   ("above", 45)))
        if h.kind == "tekun_candidate":
            band = "below" if self.chance(0.8) else band
        lo, hi = {"below": (0.15, 0.95), "around": (0.97, 1.03), "marginal": (1.03, 1.5),
                  "above": (1.5, 5.0)}[band]
        target = int(std * n * (lo + (hi - lo) * self.rng.random()))
        pensions = sum(p.income for p in h.members if p.role in ("elder",) and p.pension)
        earners = [p for p in h.members if p.role in ("adult", "disabled") and p.work != 3]
        if earners:
            rest = max(0, target - pensions)
            shares = [self.rng.random() + 0.2 for _ in earners]
            total = sum(shares)
            for p, s in zip(earners, shares):
                p.income = int(rest * s / total) // 100 * 100
            earners[0].main_earner = True
        elif h.members:
            # Nobody works: pensions are the income; scale them to the band.
            olds = [p for p in h.members if p.role == "elder"]
            if olds and pensions > target:
                for p in olds:
                    p.income = p.income * target // max(pensions, 1) // 100 * 100
                    p.pension = p.income > 0
            if olds:
                olds[0].main_earner = True
        wages = sum(p.income for p in h.members if p.role in ("adult", "disabled"))
        pens = sum(p.income for p in h.members if p.role == "elder")
        if wages:
            h.incomes.append((1 if self.chance(0.8) else 2, wages))
        if pens:
            h.incomes.append((5, pens))
        if self.chance(0.1) and band != "below":
            extra = self.ri(5_000, 60_000) // 100 * 100
            h.incomes.append((4, extra))
            # A transfer (e.g. from children away) no member reports as own income.
        # Assets, property, vehicles, rigid spending.
        if self.chance(0.1):
            h.assets = self.ri(30, 120) * std * n // 10 * 10
        else:
            h.assets = int(std * n * self.rng.random() * 8) // 100 * 100
        h.dwellings = weighted(self.rng, ((0, 10), (1, 78), (2, 12)))
        if self.chance(0.12 if band == "above" else 0.05):
            h.vehicles = [self.ri(20_000, 250_000) * 100]
        if self.chance(0.08):
            h.medical = self.ri(5_000, 80_000) * 100
        if any(p.role == "child" and p.age >= 6 for p in h.members) and self.chance(0.3):
            h.education = self.ri(2_000, 30_000) * 100
        if any(p.grade for p in h.members) and self.chance(0.4):
            h.rehab = self.ri(1_000, 20_000) * 100

    # ---- message builders ----------------------------------------------------

    def fill_person(self, p, household_id=None, at=None):
        """A snapshot as the portal knows it at `at`: a death that comes
        later is not in it."""
        def fill(b):
            b.person_id = p.old15 or p.pid
            b.household_id = household_id or p.hh
            b.disability_grade = p.grade
            b.disability_type = p.dtype if p.grade else 0
            if p.adl is not None:
                dl = b.daily_living
                dl.SetInParent()
                (dl.eating, dl.dressing, dl.getting_in_out_of_bed, dl.toileting,
                 dl.walking_indoors, dl.bathing) = p.adl
            b.living_arrangement = p.living
            b.family_planning_special = p.fps
            b.work_ability = p.work
            b.legal_supporter = p.supporter
            b.own_monthly_income_fen = p.income
            b.main_earner = p.main_earner
            b.child_in_difficulty = p.difficulty
            b.life_threatening_condition = p.ltc
            b.died_at_ms = p.died_ms if at is None or p.died_ms <= at else 0
        return fill

    def fill_household(self, h, members=None, merged_into="", dissolved=False):
        def fill(b):
            b.household_id = h.hid
            b.urban_rural = 1 if h.urban else 2
            ids = [p.old15 or p.pid for p in (h.members if members is None else members)]
            b.member_person_ids.extend(ids + (h.extra_members if members is None else []))
            for kind, fen in h.incomes:
                b.incomes.add(kind=kind, monthly_fen=fen)
            b.financial_assets_fen = h.assets
            b.dwellings = h.dwellings
            b.vehicle_values_fen.extend(h.vehicles)
            if h.medical or h.education or h.rehab:
                r = b.rigid_spending_12_months
                r.medical_fen = h.medical
                r.education_fen = h.education
                r.disability_rehabilitation_fen = h.rehab
            b.merged_into_household_id = merged_into
            b.dissolved = dissolved
        return fill

    def report_person(self, t, p, region=None, household_id=None):
        p.reported = True
        return self.emit(t, "assistance-portal", region or self.by_id[p.hh].region,
                         "person_reported", self.fill_person(p, household_id, at=t))

    def report_household(self, t, h, **kw):
        return self.emit(t, "assistance-portal", h.region, "household_reported",
                         self.fill_household(h, **kw))

    def enrol(self, t, p, h, program, action, amount, reason, worker=None):
        def fill(b):
            b.person_id = p.old15 or p.pid
            b.household_id = h.hid
            b.program = program
            b.action = action
            b.monthly_amount_fen = amount
            b.effective_at_ms = t
            b.decided_by_worker_id = worker or f"cw-{h.region[:9]}-{self.ri(1, 3)}"
            b.reason = reason
        return self.emit(t, "case-system", h.region, "enrolment_change", fill)

    def worker_of(self, region, role="va"):
        if role == "sw":
            return f"w-{region[:9]}-sw{1 + int(region[9:]) % 2}"
        return f"w-{region}-{role}"

    # ---- the month ---------------------------------------------------------

    def _month(self):
        self._roster()
        self._registration()
        self._dangling()
        self._departments(period=self._period(-1), first_day=6, changing=0.0)
        self._life_events()
        self._raise_amounts()
        self._departments(period=self._period(0), first_day=23, changing=0.05)
        self._refreshes()
        self._risks()
        self._applications()
        self._visits()
        self._acknowledgements()
        self._contradictions()
        self._invalid()
        self._person_facts()

    def _period(self, months_back):
        d = self.start
        y, m = d.year, d.month + months_back
        while m < 1:
            y, m = y - 1, m + 12
        return y * 100 + m

    def _roster(self):
        t = self.day(0, 7)
        roles = (("va", 2, 60), ("cd", 3, 30))
        self.workers = []
        for tw in TOWNSHIPS:
            first = f"{self.county}{tw:03d}001"
            for k in (1, 2):
                self.workers.append((f"w-{self.county}{tw:03d}-sw{k}", first, 1, 120))
        for v in self.villages:
            for role, code, cap in roles:
                self.workers.append((f"w-{v}-{role}", v, code, cap))
        for i, (wid, region, role, cap) in enumerate(self.workers):
            self._roster_event(t + i * 1000, wid, region, 1, role, cap)
        # During the month: capacity updates, departures and replacements.
        for _ in range(max(3, len(self.workers) // 50)):
            wid, region, role, cap = self.pick(self.workers)
            self._roster_event(self.day(self.ri(3, 28), self.ri(8, 17)), wid, region, 2, role,
                               max(10, cap + self.ri(-20, 20)))
        for k in range(max(2, len(self.workers) // 100)):
            wid, region, role, cap = self.pick(self.workers)
            t_left = self.day(self.ri(5, 20), self.ri(8, 17))
            self._roster_event(t_left, wid, region, 3, role, 0)
            self._roster_event(t_left + self.ri(1, 5) * DAY_MS, f"{wid}-n{k + 1}", region, 1,
                               role, cap)

    def _roster_event(self, t, wid, region, action, role, cap):
        def fill(b):
            b.worker_id = wid
            b.action = action
            b.role = role
            b.monthly_visit_capacity = cap
        self.emit(t, "roster-admin", region, "roster_change", fill)

    def _registration(self):
        """The registry sync of the first days: the case system's enrolments,
        then each household's members and the household itself (sometimes the
        household first, so members are referenced before they arrive)."""
        span = int(2.5 * DAY_MS)
        start = self.day(0, 8)
        order = list(range(len(self.households)))
        self.rng.shuffle(order)
        step = span // max(1, len(order))
        for slot, i in enumerate(order):
            h = self.households[i]
            t = start + slot * step
            self._enrolments(t, h)
            t += 1000
            persons_first = self.chance(0.8)
            if not persons_first:
                self.report_household(t, h)
                t += 1000
            for p in h.members:
                self.report_person(t, p)
                t += 1000
            if persons_first:
                self.report_household(t, h)

    def _enrolments(self, t, h):
        std = STANDARD_BEFORE
        today = self.start
        eligible = h.dibao_eligible(std)
        enrol_dibao = (eligible and self.chance(0.88)) or (not eligible and self.chance(0.03))
        for p in h.members:
            h.enrolled[p.pid] = {}
        for p in h.members:
            # 特困 takes precedence over 低保 for the person it supports.
            age = age_on(p.birth, today)
            own_ok = p.income < std
            no_work = age >= 60 or age < 16 or p.work == 3
            if (no_work and own_ok and p.supporter in (2, 3) and h.assets <= ASSET_MONTHS * std
                    and self.chance(0.75)):
                amount = std * 13 // 10 + 23_000
                h.enrolled[p.pid][2] = amount
                self.enrol(t, p, h, 2, 1, amount, "特困 support (registry sync)")
        if enrol_dibao:
            amount = h.dibao_amount(std) if eligible else self.ri(20_000, 80_000) * 10
            for p in h.members:
                if 2 in h.enrolled[p.pid]:
                    continue
                h.enrolled[p.pid][1] = amount
                self.enrol(t, p, h, 1, 1, amount, "低保 enrolment (registry sync)")
        for p in h.members:
            age = age_on(p.birth, today)
            band = age_allowance(age)
            if band and self.chance(0.93):
                h.enrolled[p.pid][6] = band
                self.enrol(t, p, h, 6, 1, band, "高龄津贴 (registry sync)")
            if p.grade in (1, 2) and p.adl and max(p.adl) >= 2 and self.chance(0.7):
                h.enrolled[p.pid][8] = 25_000
                self.enrol(t, p, h, 8, 1, 25_000, "重度残疾人护理补贴 (registry sync)")
            if p.grade and enrol_dibao and self.chance(0.7):
                h.enrolled[p.pid][7] = 21_000
                self.enrol(t, p, h, 7, 1, 21_000, "困难残疾人生活补贴 (registry sync)")

    def _free_households(self, kinds, k, min_members=1):
        cands = [h for h in self.households
                 if h.kind in kinds and not h.busy and len(h.members) >= min_members]
        self.rng.shuffle(cands)
        out = cands[:k]
        for h in out:
            h.busy = True
        return out

    def _dangling(self):
        n = max(1, len(self.households) // 2000)
        # A person naming a household that is never reported.
        for k in range(n):
            region = self.pick(self.villages)
            p = self._adult(20, 45, self.chance(0.5))
            p.hh = f"hh-{region}-d{k + 1:03d}"
            t = self.day(0, 9) + self.ri(0, 2 * DAY_MS)
            self.emit(t, "assistance-portal", region, "person_reported", self.fill_person(p))
            self.facts["dangling_households"].append(p.hh)
        # A household reports a newborn among its members; the newborn
        # itself is never reported.
        for h in self._free_households(("family", "three_generations"), n):
            baby, _ = self.new_pid(0, self.chance(0.5),
                                   area=self.county,
                                   birth=self.start - datetime.timedelta(days=self.ri(20, 60)))
            h.extra_members.append(baby)
            self.report_household(self.day(2, 20) + self.ri(0, 3 * HOUR_MS), h)
            self.facts["dangling_persons"].append(baby)
        # The case system enrols somebody the registry never heard of.
        for k in range(n):
            region = self.pick(self.villages)
            p = self._elder(None, 70, 90, 2)
            fake = Household(f"hh-{region}-e{k + 1:03d}", region, "elderly_alone")
            self.enrol(self.day(1, 10) + self.ri(0, 4 * HOUR_MS), p, fake, 6, 1,
                       age_allowance(p.age), "高龄津贴 transferred from another county")
            self.facts["dangling_persons"].append(p.pid)

    # Department feeds: who is monitored, and what each department knows.
    DEPARTMENTS = ((1, "tax-feed"), (2, "social-insurance-feed"), (6, "bank-feed"),
                   (4, "real-estate-feed"), (5, "vehicle-feed"), (7, "education-feed"),
                   (8, "disability-federation-feed"), (3, "medical-insurance-feed"))

    def _monitored(self):
        if not hasattr(self, "_monitored_cache"):
            self._monitored_cache = [
                h for h in self.households
                if h.per_capita() < 2 * STANDARD_BEFORE or any(h.enrolled.get(p.pid)
                                                               for p in h.members)]
        return self._monitored_cache

    def _departments(self, period, first_day, changing):
        """One monthly batch per department, each arriving within an hour of
        its day. With `changing`, that share of households has one finding
        that differs from what is known (income up, assets or a vehicle
        found, unemployment, a new severe disability, a death)."""
        hs = self._monitored()
        changes = {}
        if changing:
            for h in hs:
                if self.chance(changing) and h.living():
                    changes[h.hid] = self._pick_change(h)
        records = {dep: [] for dep, _ in self.DEPARTMENTS}
        for h in hs:
            ch = changes.get(h.hid)
            # This household's records; a change edits them before they join
            # the department's batch.
            mine = {dep: [] for dep, _ in self.DEPARTMENTS}
            for idx, p in enumerate(h.members):
                if p.died_ms:
                    continue
                age = p.age
                if 16 <= age < 60 and p.role != "child":
                    mine[1].append((p, h, ("income", p.income)))
                    mine[2].append((p, h, ("employment", False, False, 0)))
                elif age >= 60:
                    mine[1].append((p, h, ("income", 0)))
                    mine[2].append((p, h, ("employment", False, p.pension and p.income > 0,
                                              p.income if p.pension else 0)))
                if idx == 0:
                    mine[6].append((p, h, ("assets", h.assets)))
                    mine[4].append((p, h, ("property", h.dwellings)))
                    mine[5].append((p, h, ("vehicles", list(h.vehicles))))
                if p.role == "child" and 6 <= age <= 17:
                    mine[7].append((p, h, ("schooling", True, self.ri(0, 8) * 50_000)))
                if p.grade:
                    mine[8].append((p, h, ("disability", p.grade, p.dtype)))
                if self.chance(0.02):
                    mine[3].append((p, h, self._stay(first_day, 1_000, 90_000)))
            if ch:
                self._apply_change(h, ch, mine, first_day)
            for dep, rows in mine.items():
                records[dep].extend(rows)
        for k, (dep, source) in enumerate(self.DEPARTMENTS):
            t = self.day(first_day + k // 3, 9 + 2 * (k % 3))
            rows = records[dep]
            gap = max(1, HOUR_MS // max(1, len(rows)))
            for i, (p, h, finding) in enumerate(rows):
                self._comparison(t + i * gap, source, dep, period, p, h, finding)
        for h, when, what in getattr(self, "_after_changes", []):
            what(when)
        self._after_changes = []

    def _stay(self, first_day, lo_yuan, hi_yuan):
        """A hospital stay before the batch's first day (still in hospital at
        times); the department reports the self-payment."""
        adm = self.day(first_day - self.ri(6, 20), self.ri(0, 23))
        dis = 0 if self.chance(0.15) else adm + self.ri(2, 5) * DAY_MS
        return ("medical", self.ri(lo_yuan, hi_yuan) * 100, adm, dis)

    def _pick_change(self, h):
        kinds = [("income_up", 30), ("assets_found", 15), ("vehicle_found", 10),
                 ("medical", 10)]
        if any(16 <= p.age < 60 and p.main_earner for p in h.living()):
            kinds.append(("unemployed", 15))
        if any(p.age >= 45 and p.grade not in (1, 2) for p in h.living()):
            kinds.append(("severe_disability", 10))
        if any(p.age >= 80 for p in h.living()) and not h.busy:
            kinds.append(("death", 10))
        return weighted(self.rng, kinds)

    def _apply_change(self, h, change, records, first_day):
        living = h.living()
        if change == "income_up":
            earners = [p for p in living if 16 <= p.age < 60] or living
            p = self.pick(earners)
            bump = self.ri(50_000, 300_000) // 100 * 100
            rows = records[1]
            for i, (q, qh, f) in enumerate(rows):
                if q is p:
                    rows[i] = (q, qh, ("income", max(f[1], p.income) + bump))
                    break
            else:
                rows.append((p, h, ("income", p.income + bump)))
            self.facts.setdefault("changed", []).append([h.hid, change])
        elif change == "assets_found":
            n = max(1, len(living))
            rows = records[6]
            found = (ASSET_MONTHS + self.ri(6, 60)) * STANDARD_AFTER * n
            rows[:] = [r for r in rows if r[1] is not h] + [(h.head(), h, ("assets", found))]
            self.facts.setdefault("changed", []).append([h.hid, change])
        elif change == "vehicle_found":
            rows = records[5]
            rows[:] = [r for r in rows if r[1] is not h]
            rows.append((h.head(), h, ("vehicles", h.vehicles + [self.ri(30_000, 200_000) * 100])))
            self.facts.setdefault("changed", []).append([h.hid, change])
        elif change == "medical":
            p = self.pick(living)
            records[3].append((p, h, self._stay(first_day, 12_000, 300_000)))
            self.facts.setdefault("changed", []).append([h.hid, change])
        elif change == "unemployed":
            p = next(q for q in living if 16 <= q.age < 60 and q.main_earner)
            rows = records[2]
            rows[:] = [r for r in rows if r[0] is not p] + [(p, h, ("employment", True, False, 0))]
            # The village re-verifies the income a few days later.
            def later(t, h=h, p=p):
                lost = p.income
                p.income = 0
                h.incomes = [(k, f) for k, f in h.incomes if k != 1 and k != 2]
                rest = sum(q.income for q in h.members if q.role in ("adult", "disabled"))
                if rest:
                    h.incomes.insert(0, (1, rest))
                h.incomes.append((4, min(lost, 50_000)))
                self.report_person(t, p)
                self.report_household(t + 5000, h)
            self._after_changes = getattr(self, "_after_changes", [])
            self._after_changes.append((h, self.day(self.ri(26, 28), 10), later))
            h.busy = True
            self.facts.setdefault("changed", []).append([h.hid, change])
        elif change == "severe_disability":
            p = next(q for q in living if q.age >= 45 and q.grade not in (1, 2))
            p.grade, p.dtype = self.ri(1, 2), weighted(self.rng, ((1, 60), (2, 20), (6, 20)))
            rows = records[8]
            rows[:] = [r for r in rows if r[0] is not p]
            rows.append((p, h, ("disability", p.grade, p.dtype)))
            self.facts.setdefault("changed", []).append([h.hid, change])
        elif change == "death":
            p = next(q for q in living if q.age >= 80)
            died = self.day(self.ri(18, 22), self.ri(0, 23))
            p.died_ms = died
            self._civil_death(p, h, died)
            self.facts.setdefault("changed", []).append([h.hid, change])

    def _civil_death(self, p, h, died):
        def fill(b):
            b.subject_person_id = p.old15 or p.pid
            b.department = 9
            b.period_yyyymm = self._period(0)
            b.death.died_at_ms = died
        t = self.in_month(died + self.ri(1, 3) * DAY_MS)
        self.emit(t, "civil-registry-feed", h.region, "comparison_record", fill)
        self.facts["deaths"].append([p.pid, "civil-registry"])
        self._spouse_died(p, h, t)

    def _spouse_died(self, p, h, t):
        spouses = [q for q in h.living() if q is not p and q.age >= 55]
        if spouses:
            s = spouses[0]
            def fill(b):
                b.subject_person_id = s.old15 or s.pid
                b.household_id = h.hid
                b.kind = 12
                b.description = "配偶去世 / spouse died"
            self.emit(self.in_month(t + self.ri(2, 20) * HOUR_MS // 4), "risk-hotline",
                      h.region, "risk_signal", fill)

    def _comparison(self, t, source, dep, period, p, h, finding):
        def fill(b):
            b.subject_person_id = p.old15 or p.pid
            b.department = dep
            b.period_yyyymm = period
            kind = finding[0]
            if kind == "income":
                b.income.SetInParent()
                b.income.monthly_income_fen = finding[1]
            elif kind == "employment":
                e = b.employment
                e.SetInParent()
                e.registered_unemployed, e.receiving_pension, e.monthly_pension_fen = finding[1:]
            elif kind == "assets":
                b.assets.SetInParent()
                b.assets.financial_assets_fen = finding[1]
            elif kind == "property":
                b.property.SetInParent()
                b.property.dwellings = finding[1]
            elif kind == "vehicles":
                b.vehicles.SetInParent()
                b.vehicles.vehicle_values_fen.extend(finding[1])
            elif kind == "schooling":
                b.schooling.SetInParent()
                b.schooling.enrolled = finding[1]
                b.schooling.yearly_fees_fen = finding[2]
            elif kind == "disability":
                b.disability.SetInParent()
                b.disability.disability_grade = finding[1]
                b.disability.disability_type = finding[2]
            elif kind == "medical":
                m = b.medical_stay
                m.SetInParent()
                m.self_pay_fen, m.admitted_at_ms, m.discharged_at_ms = finding[1:]
        self.emit(t, source, h.region, "comparison_record", fill)

    def _life_events(self):
        """Deaths reported by the portal, moves, a split and a merge."""
        n = len(self.households)
        # Deaths of the very old, reported by the assistance portal.
        olds = [(h, p) for h in self.households if not h.busy for p in h.members if p.age >= 85]
        self.rng.shuffle(olds)
        for h, p in olds[:max(2, n // 250)]:
            if p.died_ms:
                continue
            died = self.day(self.ri(3, 27), self.ri(0, 23))
            p.died_ms = died
            self.report_person(self.in_month(died + self.ri(4, 48) * HOUR_MS), p)
            self.facts["deaths"].append([p.pid, "assistance-portal"])
            self._spouse_died(p, h, self.in_month(died + 50 * HOUR_MS))
        # Moves between households (marriage, moving in with relatives).
        movers = self._free_households(("family", "single_adult", "three_generations"),
                                       max(2, n // 250), min_members=2)
        targets = self._free_households(("family", "single_adult"), len(movers))
        for src, dst in zip(movers, targets):
            p = next((q for q in src.members if q.role == "adult" and not q.main_earner),
                     src.members[-1])
            t = self.day(self.ri(4, 26), self.ri(9, 17))
            src.members.remove(p)
            dst.members.append(p)
            p.hh = dst.hid
            self._move_income(src, dst, p)
            self.report_person(t, p, region=dst.region)
            t2 = t + self.ri(1, 48) * HOUR_MS
            self.report_household(t2, src)
            self.report_household(t2 + 60_000, dst)
            self.facts["moves"].append([p.pid, src.hid, dst.hid])
        # A household splits: the grandparents set up their own household.
        for h in self._free_households(("three_generations",), max(1, n // 5000)):
            olds = [p for p in h.members if p.role == "elder"]
            t = self.day(self.ri(8, 12), 10)
            new = Household(f"{h.hid}-s1", h.region, "elderly_couple" if len(olds) > 1
                            else "elderly_alone")
            new.busy = True
            for p in olds:
                h.members.remove(p)
                new.members.append(p)
                p.hh = new.hid
                p.living = 3 if len(olds) > 1 else 2
            self._move_income(h, new, *olds)
            new.assets = h.assets // 4
            h.assets -= new.assets
            new.dwellings = 1
            self.households.append(new)
            self.by_id[new.hid] = new
            self.report_household(t, h)
            self.report_household(t + 1000, new)
            for i, p in enumerate(olds):
                self.report_person(t + 2000 + i * 1000, p)
            self.facts["splits"].append([h.hid, new.hid, [p.pid for p in olds]])
        # Two old people living alone in one village merge their households.
        alone = [h for h in self.households if h.kind == "elderly_alone" and not h.busy
                 and not h.members[0].died_ms]
        by_village = {}
        for h in alone:
            by_village.setdefault(h.region, []).append(h)
        pairs = [v for v in by_village.values() if len(v) >= 2]
        for group in pairs[:max(1, n // 5000)]:
            keep, gone = group[0], group[1]
            keep.busy = gone.busy = True
            t = self.day(self.ri(12, 16), 15)
            p = gone.members[0]
            gone.members.remove(p)
            keep.members.append(p)
            p.hh = keep.hid
            for q in keep.members:
                q.living = 3
            self._move_income(gone, keep, p)
            keep.assets += gone.assets
            self.report_household(t, keep)
            self.report_household(t + 1000, gone, merged_into=keep.hid)
            for i, q in enumerate(keep.members):
                self.report_person(t + 2000 + i * 1000, q)
            self.facts["merges"].append([keep.hid, gone.hid, p.pid])

    def _move_income(self, src, dst, *persons):
        for p in persons:
            if not p.income:
                continue
            kind = 5 if p.role == "elder" else 1
            src.incomes = [(k, f - p.income if k == kind and f >= p.income else f)
                           for k, f in src.incomes]
            src.incomes = [(k, f) for k, f in src.incomes if f > 0]
            for i, (k, f) in enumerate(dst.incomes):
                if k == kind:
                    dst.incomes[i] = (k, f + p.income)
                    break
            else:
                dst.incomes.append((kind, p.income))

    def _raise_amounts(self):
        """1 July: the case system recalculates every 低保 amount under the
        new standard (each is an enrolment change the registry applies)."""
        raise_day = (RAISE_DATE - self.start).days
        if not 0 <= raise_day < self.days:
            return
        t = self.day(raise_day, 8)
        k = 0
        for h in self.households:
            for p in h.living():
                amt = h.enrolled.get(p.pid, {}).get(1)
                if amt is None or not h.dibao_eligible(STANDARD_BEFORE) or h.busy:
                    continue
                self.enrol(t + k * 2000, p, h, 1, 2, h.dibao_amount(STANDARD_AFTER),
                           "低保标准调整 (1 July)")
                k += 1

    def _refreshes(self):
        """Villages re-verify some households after 1 July (same members,
        updated figures), so households near the raised line are decided
        again; and some elderly get a new daily-living assessment."""
        near = [h for h in self.households if not h.busy and h.living()
                and STANDARD_BEFORE * 0.97 <= h.per_capita() < STANDARD_AFTER * 1.05]
        near_ids = {h.hid for h in near}
        others = [h for h in self.households if not h.busy and h.living()]
        self.rng.shuffle(others)
        chosen = near + [h for h in others[:len(others) // 25] if h.hid not in near_ids]
        raise_day = (RAISE_DATE - self.start).days
        base = self.day(raise_day + 1 if 0 <= raise_day < 16 else 16)
        for i, h in enumerate(chosen):
            t = base + self.ri(0, 10 * DAY_MS // HOUR_MS) * HOUR_MS + self.ri(0, 3599) * 1000
            if self.chance(0.5):
                h.medical += self.ri(100, 3000) * 100
            self.report_household(self.in_month(t), h)
            if h in near:
                self.facts["near_line"].append([h.hid, h.per_capita()])
        elders = [p for h in self.households if not h.busy for p in h.living()
                  if p.age >= 75 and p.adl is not None and 0 not in p.adl and p.living]
        self.rng.shuffle(elders)
        for p in elders[:max(2, len(elders) // 40)]:
            p.adl = tuple(min(3, a + (1 if self.chance(0.5) else 0)) for a in p.adl)
            self.report_person(self.day(self.ri(5, 28), self.ri(9, 17)), p)

    def _risks(self):
        people = [(h, p) for h in self.households for p in h.living()]
        n = len(people)
        emergencies = (7, 8, 9, 10)
        if not people:
            return
        workers = [(h, p) for h, p in people if 18 <= p.age < 60]
        picks = [(self.pick(people), False) for _ in range(max(6, n // 150))]
        # People of the county working in another city: emergencies there.
        if workers:
            picks += [(self.pick(workers), True) for _ in range(max(3, n // 800))]
        for (h, p), elsewhere in picks:
            if p.died_ms:
                continue
            kind = self.pick((7, 8)) if elsewhere else self.pick(emergencies)
            region = self.pick(ELSEWHERE) if elsewhere else h.region
            amount = self.ri(500, 60_000) * 100 if not (kind == 9 and self.chance(0.2)) else 0
            t = self.day(self.ri(2, 29), self.ri(0, 23), self.ri(0, 59))
            self._risk(t, region, p, h, kind, amount,
                       {7: "交通事故 / road accident", 8: "突发重病 / sudden serious illness",
                        9: "住房失火 / house fire", 10: "大额支出 / spending spike"}[kind],
                       household=not elsewhere or self.chance(0.5))
            (self.facts["emergencies_elsewhere"] if elsewhere
             else self.facts["emergencies_here"]).append([p.pid, region, kind, amount, t])
            self._quick_aid(t, region, p, h, amount)
        # A typhoon floods a rural village: every household there reports.
        rural = [v for v in self.villages if int(v[6:9]) >= 100]
        village = self.pick(rural)
        t = self.day(min(self.days - 2, 19), 6)
        for h in [h for h in self.households if h.region == village][:20]:
            p = h.living()[0] if h.living() else None
            if p:
                amount = self.ri(1_000, 20_000) * 100
                t1 = t + self.ri(0, 6 * 60) * MIN_MS
                self._risk(t1, village, p, h, 6, amount, "台风水浸 / typhoon flooding")
                self.facts["emergencies_here"].append([p.pid, village, 6, amount, t1])
                self._quick_aid(t1, village, p, h, amount)
        # Discharges and other monitoring risks of the elderly.
        olds = [(h, p) for h, p in people if p.age >= 70]
        for _ in range(max(3, len(olds) // 150) if olds else 0):
            h, p = self.pick(olds)
            self._risk(self.day(self.ri(1, 29), self.ri(9, 18)), h.region, p, h, 11, 0,
                       "出院 / discharged from hospital")

    def _quick_aid(self, t, region, p, h, amount):
        """Most quick aid is decided within the three days (by the office
        where the emergency happened); the rest raises an overdue alert."""
        if not self.chance(0.75):
            return
        when = t + self.ri(2, 60) * HOUR_MS
        if when >= self.t_end:
            return
        cap = {"4401": STANDARD_AFTER if self.date_of(when) >= RAISE_DATE else STANDARD_BEFORE,
               "4403": 135_000, "4414": 82_000, "4406": 120_000}.get(region[:4], 110_000)
        grant = min(amount, cap) if amount else cap
        here = Household(h.hid, region, h.kind)
        self.enrol(when, p, here, 5, 1, grant, "临时救助 小额快救 / quick aid granted",
                   worker=f"cw-{region[:9]}-1")

    def _risk(self, t, region, p, h, kind, amount, text, household=True):
        def fill(b):
            b.subject_person_id = p.old15 or p.pid
            if household:
                b.household_id = h.hid
            b.kind = kind
            b.amount_fen = amount
            b.description = text
        self.emit(t, "risk-hotline", region, "risk_signal", fill)

    def _applications(self):
        std = STANDARD_BEFORE
        cands = [h for h in self.households if h.living() and h.dibao_eligible(std)
                 and not any(h.enrolled.get(p.pid, {}).get(1) for p in h.members)]
        self.rng.shuffle(cands)
        k = 0
        for h in cands[:max(2, len(cands) // 6)]:
            p = h.head()
            if p.died_ms:
                continue
            k += 1
            t = self.day(self.ri(3, 24), self.ri(9, 17))
            app_id = f"app-{self.county}-{self.seed}-{k:05d}"
            self._application(t, p, h, app_id, 1, 0, "申请低保 / applies for 低保")
            # Some are decided within the month.
            if self.chance(0.5):
                t2 = t + self.ri(5, 12) * DAY_MS
                if t2 < self.t_end:
                    for q in h.living():
                        self.enrol(t2, q, h, 1, 1, h.dibao_amount(standard_on(self.date_of(t2))),
                                   "低保 approved after application")
        # Temporary assistance applications after emergencies at home.
        for pid, region, kind, amount, t in self.facts["emergencies_here"][:10]:
            h = next((h for h in self.households if any(p.pid == pid for p in h.members)), None)
            if not h:
                continue
            p = next(p for p in h.members if p.pid == pid)
            k += 1
            self._application(self.in_month(t + 6 * HOUR_MS), p, h,
                              f"app-{self.county}-{self.seed}-{k:05d}", 5, amount,
                              "申请临时救助 / applies for temporary assistance")
        # 特困 applications of old people with nobody to support them.
        for h in [h for h in self.households if h.kind == "tekun_candidate"][:max(1, len(
                self.households) // 400)]:
            p = h.head()
            if p.died_ms or h.enrolled.get(p.pid, {}).get(2):
                continue
            k += 1
            self._application(self.day(self.ri(3, 25), 10), p, h,
                              f"app-{self.county}-{self.seed}-{k:05d}", 2, 0, "申请特困供养")

    def _application(self, t, p, h, app_id, program, amount, text):
        def fill(b):
            b.application_id = app_id
            b.applicant_person_id = p.old15 or p.pid
            b.household_id = h.hid
            b.program = program
            b.requested_amount_fen = amount
            b.description = text
        self.emit(t, "assistance-portal", h.region, "application", fill)

    def _visits(self):
        """Care visits: weekly for the high-risk, monthly for key people,
        quarterly (a third this month) for other registered elderly; a few
        key people are missed; a danger is followed up within days."""
        n = 0
        for h in self.households:
            for p in h.members:
                age = p.age
                child = age < 16
                elderly = age >= 60
                impaired = p.adl is not None and max(p.adl) >= 2
                high = p.ltc or (age >= 80 and p.living in (2, 3, 4))
                key = ((elderly and (p.living in (2, 3, 4) or impaired or age >= 80
                                     or p.fps in (2, 3)))
                       or p.grade in (1, 2) or (child and (p.difficulty or p.living == 4)))
                if high:
                    times = [self.day(d, self.ri(9, 17), self.ri(0, 59)) for d in (3, 10, 17, 24)]
                elif key:
                    if self.chance(0.06):
                        continue
                    times = [self.day(self.ri(3, 28), self.ri(9, 17), self.ri(0, 59))]
                elif elderly and self.chance(0.33):
                    times = [self.day(self.ri(3, 28), self.ri(9, 17), self.ri(0, 59))]
                else:
                    continue
                role = "cd" if child else "va"
                for t in times:
                    if p.died_ms and t > p.died_ms:
                        break
                    n += 1
                    danger = self.chance(0.025)
                    self._visit(t, p, h, role, n, danger)
                    if danger:
                        self.facts["danger_visits"].append([p.pid, t])
                        t2 = t + self.ri(1, 3) * DAY_MS
                        if t2 < self.t_end and len(times) == 1:
                            n += 1
                            self._visit(t2, p, h, role, n, False)

    def _visit(self, t, p, h, role, n, danger):
        outcome = 4 if self.chance(0.1) else weighted(self.rng, ((1, 90), (2, 7), (3, 3)))
        if danger:
            outcome = 1

        def fill(b):
            b.visit_id = f"v-{self.county}-{self.seed}-{n:07d}"
            b.subject_person_id = p.old15 or p.pid
            b.worker_id = self.worker_of(h.region, role)
            b.visited_at_ms = t
            b.outcome = outcome
            if outcome in (1, 4):
                areas = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
                self.rng.shuffle(areas)
                for a in areas[:self.ri(2, 5)]:
                    sev = 2 if self.chance(0.1) else 1
                    b.findings.add(area=a, severity=sev,
                                   note="需关注 / needs attention" if sev == 2 else "正常 / fine")
                if danger:
                    b.findings.add(area=self.pick((3, 8, 9, 10)), severity=3,
                                   note="危险: 燃气泄漏或急病 / danger: gas leak or acute illness")
        self.emit(t, "visit-app", h.region, "visit_report", fill)

    def _acknowledgements(self):
        for k in range(max(5, len(self.households) // 10)):
            region = self.pick(self.villages)
            office = region if self.chance(0.8) else region[:9] + "000"

            def fill(b, k=k, region=region):
                b.alert_id = f"al-{self.county}-{self.seed}-{k + 1:06d}"
                b.action = 1 if self.chance(0.7) else 2
                b.by_worker_id = self.worker_of(region)
                b.note = "已上门核实 / checked at home"
            self.emit(self.day(self.ri(1, 29), self.ri(8, 20), self.ri(0, 59)), "alert-desk",
                      office, "alert_acknowledgement", fill)

    def _contradictions(self):
        """Accepted events that contradict what is known; none may stall or
        crash eligibility."""
        c = self.facts["contradictions"]
        pool = [h for h in self.households if not h.busy and h.living()]
        self.rng.shuffle(pool)
        if len(pool) < 6:
            return
        enrolled = [h for h in pool if any(h.enrolled.get(p.pid, {}).get(1) for p in h.members)
                    and len(h.living()) == len(h.members)]
        if enrolled:
            pool.remove(enrolled[0])
            pool.insert(0, enrolled[0])
        for h in pool[:6]:
            h.busy = True
        # 1. The tax office finds ten times the declared income of an enrolled
        #    household (and far more than the standard): a review is due.
        h = pool[0]
        if enrolled:
            p = h.head()
            self._comparison(self.day(14, 9), "tax-feed", 1, self._period(0), p, h,
                             ("income", max(1, h.income()) * 10 + 1_000_000))
            c.append(["income_ten_times", p.pid, h.hid])
            self.facts["expected_review"].append([p.pid, 1])
        # 2. A household lists somebody who belongs to another household; the
        #    right household reports again a day later.
        a, b = pool[1], pool[2]
        claimed = a.members[0]
        t = self.day(13, 11)
        self.emit(t, "assistance-portal", b.region, "household_reported",
                  self.fill_household(b, members=b.members + [claimed]))
        self.report_household(t + DAY_MS, a)
        self.report_household(t + DAY_MS + 1000, b)
        c.append(["double_membership", claimed.pid, a.hid, b.hid])
        # 3. A termination of a program the person was never enrolled in.
        h = pool[3]
        self.enrol(self.day(15, 10), h.head(), h, 4, 4, 0, "刚性支出 recognition ended")
        c.append(["terminate_unknown_enrolment", h.head().pid])
        # 4. A household reported with no members at all (not dissolved).
        h = pool[4]
        self.emit(self.day(16, 10), "assistance-portal", h.region, "household_reported",
                  self.fill_household(h, members=[]))
        c.append(["household_without_members", h.hid])
        # 5. Somebody reported dead, then reported alive again.
        h = pool[5]
        p = h.living()[0]
        p.died_ms = self.day(17, 3)
        self.report_person(self.day(17, 9), p)
        p.died_ms = 0
        self.report_person(self.day(18, 9), p)
        c.append(["resurrection", p.pid])
        # 6. A visit finds "visited" somebody who died.
        dead = [(h, p) for h in self.households for p in h.members if p.died_ms]
        if dead:
            h, p = dead[0]
            self._visit(self.in_month(p.died_ms + 3 * DAY_MS), p, h, "va", 9_000_000, False)
            c.append(["visit_after_death", p.pid])
        # 7. A department reports about somebody the registry never saw.
        ghost = Person()
        ghost.pid, _ = self.new_pid(40, True)
        gh = Household("hh-none", self.pick(self.villages), "single_adult")
        self._comparison(self.day(20, 9), "tax-feed", 1, self._period(0), ghost, gh,
                         ("income", 350_000))
        c.append(["comparison_for_unknown_person", ghost.pid])

    def _person_facts(self):
        """Who was reported with too little data to classify, and who was
        reported under an old 15-digit number."""
        for h in self.households:
            for p in h.members:
                if not p.reported:
                    continue
                if p.age >= 60 and (p.living == 0 or p.adl is None or 0 in p.adl):
                    self.facts["missing_information"].append(p.pid)
                if p.old15:
                    self.facts["old_15_digit"].append([p.old15, p.pid])

    def _invalid(self):
        """Events intake must refuse (each becomes a dead letter)."""
        bad = self.facts["invalid_events"]
        h = self.households[0]
        p = h.members[0]
        n = max(1, len(self.households) // 1000)

        def note(env, reason):
            bad.append([env.source, env.event_id, reason])

        for k in range(n):
            t = self.day(self.ri(2, 27), self.ri(8, 20))
            # A wrong check character.
            env = E.Envelope(event_id="", source="assistance-portal", occurred_at_ms=t,
                             region_code=h.region)
            wrong = p.pid[:17] + ("0" if p.pid[17] != "0" else "1")
            self._emit_env(env, "person_reported", person_id=wrong, household_id=h.hid)
            note(env, "REJECT_REASON_ID_BAD_CHECK")
            # A member born on 31 February.
            first17 = f"{self.county}19990231{self.ri(100, 998):03d}"
            env = E.Envelope(source="assistance-portal", occurred_at_ms=t + 1000,
                             region_code=h.region)
            b = env.household_reported
            b.household_id = h.hid
            b.urban_rural = 1
            b.member_person_ids.extend([p.pid, first17 + id_check_char(first17)])
            self._emit_env(env, None)
            note(env, "REJECT_REASON_ID_BAD_DATE")
            # Discharged before admitted.
            env = E.Envelope(source="medical-insurance-feed", occurred_at_ms=t + 2000,
                             region_code=h.region)
            c = env.comparison_record
            c.subject_person_id = p.pid
            c.department = 3
            c.period_yyyymm = self._period(-1)
            c.medical_stay.self_pay_fen = 500_000
            c.medical_stay.admitted_at_ms = t - 2 * DAY_MS
            c.medical_stay.discharged_at_ms = t - 5 * DAY_MS
            self._emit_env(env, None)
            note(env, "REJECT_REASON_VALUE_OUT_OF_RANGE")
            # Disability grade 6 (grades are 1-4).
            env = E.Envelope(source="assistance-portal", occurred_at_ms=t + 3000,
                             region_code=h.region)
            self._emit_env(env, "person_reported", person_id=p.pid, household_id=h.hid,
                           disability_grade=6)
            note(env, "REJECT_REASON_VALUE_OUT_OF_RANGE")
            # A township that does not exist in the division table.
            env = E.Envelope(source="assistance-portal", occurred_at_ms=t + 4000,
                             region_code=f"{self.county}105001")
            self._emit_env(env, "person_reported", person_id=p.pid, household_id=h.hid)
            note(env, "REJECT_REASON_REGION_UNKNOWN")
            # A negative income.
            env = E.Envelope(source="assistance-portal", occurred_at_ms=t + 5000,
                             region_code=h.region)
            b = env.household_reported
            b.household_id = h.hid
            b.member_person_ids.append(p.pid)
            b.incomes.add(kind=1, monthly_fen=-50_000)
            self._emit_env(env, None)
            note(env, "REJECT_REASON_NEGATIVE_MONEY")
            # A risk signal that does not say what happened.
            env = E.Envelope(source="risk-hotline", occurred_at_ms=t + 6000, region_code=h.region)
            self._emit_env(env, "risk_signal", subject_person_id=p.pid)
            note(env, "REJECT_REASON_MISSING_FIELD")

    def _emit_env(self, env, body, **fields):
        n = self._ids.get(env.source, 0) + 1
        self._ids[env.source] = n
        env.event_id = f"{env.source}-{self.seed}-{n:07d}"
        if body:
            msg = getattr(env, body)
            msg.SetInParent()
            for k, v in fields.items():
                setattr(msg, k, v)
        self._push(env.occurred_at_ms, env)

    # ---- output ------------------------------------------------------------

    def jsonl(self):
        """Canonical proto3 JSON (json_format's mapping: lowerCamelCase
        names, enum names, 64-bit integers as strings), one compact line an
        event."""
        env = E.Envelope()
        for _, data in self.events:
            env.ParseFromString(data)
            yield json.dumps(json_format.MessageToDict(env), ensure_ascii=False,
                             separators=(",", ":"))

    def encoded(self):
        return [data for _, data in self.events]


def generate(seed=1, households=2000, county="440106", start="2026-06-15"):
    if isinstance(start, str):
        start = datetime.date.fromisoformat(start)
    return County(seed, households, county, start)


# ---------------------------------------------------------------------------
# Publishing to intake, as a portal does
# ---------------------------------------------------------------------------


def publish(endpoint, events, batch=500, window=4, timeout=5.0, deadline=3600.0, log=None):
    """Sends encoded events to intake's publish endpoint in requests of
    `batch`, at most `window` unanswered; a request unanswered after
    `timeout` s is resent (with every other unanswered one) on a fresh
    socket. Returns one EventStatus per event once all are answered."""
    import zmq

    from doudi import publish_pb2

    ctx = zmq.Context.instance()
    reqs = []
    for i, start in enumerate(range(0, len(events), batch)):
        chunk = events[start:start + batch]
        reqs.append((i + 1, start, publish_pb2.PublishRequest(
            request_id=i + 1, events=chunk).SerializeToString(), len(chunk)))
    results = [None] * len(events)
    todo = list(range(len(reqs)))
    todo.reverse()
    outstanding = {}
    sock = None

    def fresh():
        nonlocal sock
        if sock is not None:
            sock.close(0)
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)

    fresh()
    give_up = time.monotonic() + deadline
    answered = 0
    shutting_down = publish_pb2.RejectReason.Value("REJECT_REASON_REQUEST_SHUTTING_DOWN")
    try:
        while answered < len(reqs):
            while todo and len(outstanding) < window:
                i = todo.pop()
                sock.send(reqs[i][2])
                outstanding[i] = time.monotonic()
            now = time.monotonic()
            if now > give_up:
                raise TimeoutError(f"{len(reqs) - answered} requests unanswered after "
                                   f"{deadline:.0f} s")
            wait = max(0.0, min(outstanding.values()) + timeout - now) if outstanding else 0
            if sock.poll(int(wait * 1000) + 1, zmq.POLLIN):
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    rep = publish_pb2.PublishReply.FromString(frames[-1])
                    i = rep.request_id - 1
                    if i not in outstanding:
                        continue
                    del outstanding[i]
                    if rep.request_error == shutting_down:
                        todo.append(i)
                        continue
                    if rep.request_error:
                        raise RuntimeError(f"request {rep.request_id} refused: "
                                           f"{rep.request_error_text}")
                    _, start, _, count = reqs[i]
                    results[start:start + count] = list(rep.statuses)
                    answered += 1
                    if log and answered % 50 == 0:
                        log(f"{answered}/{len(reqs)} requests answered")
            now = time.monotonic()
            if any(now - t >= timeout for t in outstanding.values()):
                todo.extend(sorted(outstanding, reverse=True))
                outstanding.clear()
                fresh()
    finally:
        sock.close(0)
    return results


def summarize(statuses):
    from doudi import publish_pb2
    counts = {}
    for s in statuses:
        name = publish_pb2.Outcome.Name(s.outcome)[len("OUTCOME_"):].lower()
        if s.outcome == publish_pb2.OUTCOME_REJECTED:
            name += ":" + publish_pb2.RejectReason.Name(s.reason)[len("REJECT_REASON_"):].lower()
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Generate a deterministic county-month of doudi events (JSON Lines of "
                    "doudi.Envelope in canonical proto3 JSON, or published to intake).")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--households", type=int, default=2000,
                    help="households in the county (default 2000; 100000+ works)")
    ap.add_argument("--county", default="440106", help="6-digit county code (default 440106)")
    ap.add_argument("--start", default="2026-06-15",
                    help="first day of the 30 days, YYYY-MM-DD (default 2026-06-15, so that "
                         "4401's raise of 1 July falls inside)")
    ap.add_argument("--out", help="write JSON Lines here (default: stdout)")
    ap.add_argument("--publish", metavar="ENDPOINT",
                    help="publish to intake's publish endpoint instead (tcp://HOST:PORT)")
    ap.add_argument("--batch", type=int, default=500, help="events per publish request")
    ap.add_argument("--window", type=int, default=4, help="unanswered requests at most")
    ap.add_argument("--facts", help="write the facts of the month (JSON) to this file")
    ap.add_argument("--quiet", action="store_true", help="no summary on stderr")
    a = ap.parse_args(argv)
    if a.households < 1:
        ap.error("--households must be at least 1")
    t0 = time.monotonic()
    county = generate(a.seed, a.households, a.county, a.start)
    say = (lambda *x: None) if a.quiet else (lambda *x: print(*x, file=sys.stderr, flush=True))
    say(f"gen_county: {len(county.events)} events for {len(county.households)} households of "
        f"{a.county} in {time.monotonic() - t0:.1f} s; by kind {county.facts['by_kind']}")
    if a.facts:
        with open(a.facts, "w") as f:
            json.dump(county.facts, f, indent=1, ensure_ascii=False)
    if a.publish:
        t1 = time.monotonic()
        statuses = publish(a.publish, county.encoded(), batch=a.batch, window=a.window, log=say)
        say(f"gen_county: published to {a.publish} in {time.monotonic() - t1:.1f} s: "
            f"{summarize(statuses)}")
        return 0
    out = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
    try:
        for line in county.jsonl():
            out.write(line)
            out.write("\n")
    finally:
        if a.out:
            out.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
