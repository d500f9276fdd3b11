"""Decisions and alerts of doudi-eligibility, end to end through intake.

Each test starts a doudi-intake (event clock) and a doudi-eligibility on
free ports, publishes a few hand-made households to intake as a portal does,
waits until eligibility has caught up (lag 0, its cursor at intake's head),
and then reads what came out: the registry through the query endpoint
(QueryRequest/QueryReply of query.proto) and eligibility's output log
(Decision, CareChange, Alert of eligibility.proto). It proves, with the
demo standards table (deploy/standards-demo.csv):
  - the 1 July 2026 raise of 4401 (1,368 -> 1,400 yuan): a household of a
    4401 county decided in June uses row 4401@20250101, decided again in
    July row 4401@20260701, with the amount (standard - per capita) x
    members; a household of 440106, whose own row only tops up one
    allowance, is decided under 440106@20250101+4401@20260701 (every row
    a value came from) with the raised standard, and the raise makes it
    eligible (a discovery alert);
  - temporary assistance for an emergency in another city is decided by
    that city's standard (4414, rural: 820 yuan caps a 5,000-yuan loss) and
    belongs to that region; at home the loss itself is granted; a quick aid
    nobody decides within three days raises QUICK_AID_OVERDUE, one decided
    in time does not;
  - proactive discovery: eligible and not enrolled raises a DISCOVERY alert
    to the household's village; eligible with an application pending raises
    none (the application's assessment is a decision naming it); enrolled
    and no longer eligible raises a REVIEW alert, and the enrolment stays;
  - an elderly person with no living arrangement raises
    MISSING_INFORMATION (once); a child without one does not;
  - a death ends every visit plan: a care change marked deceased, tier NONE;
    the deceased is decided eligible for nothing (<program>.not_eligible.
    deceased), and an enrolment of theirs raises a REVIEW alert;
  - a placeholder for somebody never reported raises DANGLING_REFERENCE to
    the village of the event that referenced them;
  - (known bug) an application's assessment carries the parameters of the
    day it was assessed.
"""

import datetime

import harness as h
from doudi import eligibility_pb2 as el
from doudi import event_pb2 as ev
from doudi import publish_pb2

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
JUNE_STD, JULY_STD = 136_800, 140_000


def at(text):
    """Unix ms of 'YYYY-MM-DD HH:MM' in Asia/Shanghai."""
    d = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    return int(d.timestamp() * 1000)


def pid(area, birth, seq):
    """An identity number born on birth (YYYYMMDD), odd seq male."""
    first17 = f"{area}{birth}{seq:03d}"
    return first17 + h.id_check_char(first17)


ADL_OK = dict(eating=1, dressing=1, getting_in_out_of_bed=1, toileting=1, walking_indoors=1,
              bathing=1)


class Chain:
    """An intake and an eligibility consuming it; events go in through the
    publish endpoint, results come out of the query endpoint and
    eligibility's log."""

    def __init__(self, env, elig_overrides=None):
        self.intake = env.intake({"intake": {"clock": "event"}})
        overrides = {"eligibility": {"dangling_wait": "1d"}}
        for section, keys in (elig_overrides or {}).items():
            overrides.setdefault(section, {}).update(keys)
        self.elig = env.eligibility(self.intake, overrides)
        self.reader = h.LogReader(self.elig.log_endpoint)
        self.after = 0
        self.n = 0

    def event(self, t, region, body, **fields):
        """An Envelope with body `body` (a field name of its oneof) set from
        fields; nested messages as dicts, repeated fields as lists."""
        self.n += 1
        env = ev.Envelope(event_id=f"rules-{self.n:05d}", source="rules-portal",
                          occurred_at_ms=t, region_code=region)
        msg = getattr(env, body)
        msg.SetInParent()
        for k, v in fields.items():
            field = getattr(msg, k)
            if isinstance(v, dict):
                field.SetInParent()
                for kk, vv in v.items():
                    setattr(field, kk, vv)
            elif isinstance(v, list):
                for item in v:
                    field.add(**item) if isinstance(item, dict) else field.append(item)
            else:
                setattr(msg, k, v)
        return env

    def person(self, t, region, person_id, household_id, **fields):
        return self.event(t, region, "person_reported", person_id=person_id,
                          household_id=household_id, **fields)

    def household(self, t, region, household_id, members, income_fen, urban=True, **fields):
        incomes = [dict(kind=ev.INCOME_KIND_WAGES, monthly_fen=income_fen)] if income_fen else []
        return self.event(t, region, "household_reported", household_id=household_id,
                          urban_rural=ev.URBAN_RURAL_URBAN if urban else ev.URBAN_RURAL_RURAL,
                          member_person_ids=members, incomes=incomes, dwellings=1, **fields)

    def send(self, *events):
        """Publishes events in order; every one must be accepted; returns
        once eligibility has applied them all."""
        results = h.publish(self.intake.publish_endpoint, [e.SerializeToString() for e in events])
        for e, r in zip(events, results):
            h.check(not isinstance(r, h.RequestRefused), f"request refused: {r}")
            h.check_eq(publish_pb2.Outcome.Name(r.outcome), "OUTCOME_ACCEPTED",
                       f"outcome of {e.event_id} ({r.reason_text})")
        self.elig.wait_caught_up(20 * h.time_scale())

    def output(self):
        """The decoded records appended to eligibility's log since the last
        call: (kind name, message)."""
        head = self.reader.head()
        out = []
        if head > self.after:
            for r in self.reader.read_all(after=self.after):
                if r.kind == el.ELIGIBILITY_RECORD_KIND_DECISION:
                    out.append(("decision", el.Decision.FromString(r.payload)))
                elif r.kind == el.ELIGIBILITY_RECORD_KIND_CARE_CHANGE:
                    out.append(("care", el.CareChange.FromString(r.payload)))
                elif r.kind == el.ELIGIBILITY_RECORD_KIND_ALERT:
                    out.append(("alert", el.Alert.FromString(r.payload)))
                else:
                    out.append(("passed", ev.Envelope.FromString(r.payload)))
            self.after = head
        return out

    def decision(self, person_id, program):
        """The person's latest stored decision of program (query.proto)."""
        rep = self.elig.query(person_id=person_id, program=program)
        h.check(not rep.error_text, f"query of {person_id}: {rep.error_text}")
        mine = [d for d in rep.decisions if d.program == program]
        h.check_eq(len(mine), 1, f"{ev.Program.Name(program)} decisions of {person_id[:6]}...")
        return mine[0]


def param(decision, name):
    values = [p.value for p in decision.parameters if p.name == name]
    h.check_eq(len(values), 1, f"parameter {name} of {decision.rule}")
    return values[0]


def alerts(records, kind, **match):
    out = [m for k, m in records if k == "alert" and m.kind == kind]
    return [a for a in out if all(getattr(a, f) == v for f, v in match.items())]


def decisions(records, **match):
    return [m for k, m in records if k == "decision"
            and all(getattr(m, f) == v for f, v in match.items())]


# ---------------------------------------------------------------------------


def test_standard_raise_on_1_july(env):
    c = Chain(env)
    # A household of 440103 (a 4401 county without a row of its own): two
    # adults with 2,500 yuan a month, 1,250 per capita.
    r1 = "440103001001"
    a1, a2 = pid("440103", "19800305", 11), pid("440103", "19820711", 22)
    # A household of 440106 just above June's line: 1,380 yuan per capita.
    r2 = "440106002004"
    b1 = pid("440106", "19750101", 31)
    june, july = at("2026-06-20 10:00"), at("2026-07-03 10:00")
    c.send(c.person(june, r1, a1, "hh-raise-1", work_ability=1, own_monthly_income_fen=150_000),
           c.person(june + 1000, r1, a2, "hh-raise-1", work_ability=1,
                    own_monthly_income_fen=100_000),
           c.household(june + 2000, r1, "hh-raise-1", [a1, a2], 250_000),
           c.person(june, r2, b1, "hh-raise-2", work_ability=1, own_monthly_income_fen=138_000),
           c.household(june + 2000, r2, "hh-raise-2", [b1], 138_000))
    out = c.output()
    d = c.decision(a1, ev.PROGRAM_DIBAO)
    h.check(d.eligible, f"June: {d.rule}")
    h.check_eq(d.rule, "dibao.income_below_standard", "June rule")
    h.check_eq(d.amount_fen, (JUNE_STD - 125_000) * 2, "June amount")
    h.check_eq(d.standard_version.split("+")[0], "4401@20250101", "June standard version")
    h.check_eq(param(d, "standard_fen"), JUNE_STD, "June standard_fen")
    h.check_eq(param(d, "per_capita_income_fen"), 125_000, "per capita")
    h.check_eq(d.region_code, r1, "region of the decision")
    d = c.decision(b1, ev.PROGRAM_DIBAO)
    h.check(not d.eligible, f"440106 above June's line eligible: {d.rule}")
    h.check_eq(d.rule, "dibao.not_eligible.income", "June rule in 440106")
    h.check(c.decision(b1, ev.PROGRAM_DIBIAN).eligible, "not 低保边缘 in June")
    h.check(not alerts(out, el.ALERT_KIND_DISCOVERY, subject_person_id=b1,
                       program=ev.PROGRAM_DIBAO), "a DIBAO discovery in June")

    # In July each household reports again (a new rigid spending figure).
    c.send(c.household(july, r1, "hh-raise-1", [a1, a2], 250_000,
                       rigid_spending_12_months=dict(medical_fen=10_000)),
           c.household(july, r2, "hh-raise-2", [b1], 138_000,
                       rigid_spending_12_months=dict(medical_fen=10_000)))
    out = c.output()
    d = c.decision(a1, ev.PROGRAM_DIBAO)
    h.check_eq(d.amount_fen, (JULY_STD - 125_000) * 2, "July amount")
    h.check_eq(d.standard_version.split("+")[0], "4401@20260701", "July standard version")
    h.check_eq(param(d, "standard_fen"), JULY_STD, "July standard_fen")
    h.check_eq(d.decided_at_ms, july, "decided_at_ms of the July decision")
    emitted = decisions(out, person_id=a1, program=ev.PROGRAM_DIBAO)
    h.check_eq(len(emitted), 1, "DIBAO decisions emitted for a1 in July")
    h.check_eq((emitted[0].previous_eligible, emitted[0].previous_amount_fen),
               (True, (JUNE_STD - 125_000) * 2), "the previous outcome in the July decision")
    h.check_eq(emitted[0].amount_fen, (JULY_STD - 125_000) * 2, "emitted July amount")
    rep = c.elig.query(household_id="hh-raise-1")
    h.check(not rep.error_text, f"household query: {rep.error_text}")
    h.check_eq(sorted(p.report.person_id for p in rep.persons), sorted([a1, a2]),
               "members answered for hh-raise-1")
    h.check_eq(sorted(d.person_id for d in rep.decisions if d.program == ev.PROGRAM_DIBAO),
               sorted([a1, a2]), "DIBAO decisions answered for hh-raise-1")
    h.check(all(d.amount_fen == (JULY_STD - 125_000) * 2 for d in rep.decisions
                if d.program == ev.PROGRAM_DIBAO), "a member's DIBAO amount differs")
    d = c.decision(b1, ev.PROGRAM_DIBAO)
    h.check(d.eligible, f"the raise did not make 440106's household eligible: {d.rule}")
    h.check_eq(d.amount_fen, (JULY_STD - 138_000), "July amount in 440106")
    h.check_eq(param(d, "standard_fen"), JULY_STD, "July standard_fen in 440106")
    # standards.h: the version names the most specific row in force.
    h.check_eq(d.standard_version, "440106@20250101+4401@20260701",
               "July standard version in 440106 (names the 4401 row it raised)")
    found = alerts(out, el.ALERT_KIND_DISCOVERY, subject_person_id=b1, program=ev.PROGRAM_DIBAO)
    h.check_eq(len(found), 1, "DIBAO discovery alerts after the raise")
    h.check_eq(found[0].region_code, r2, "region of the discovery alert")


def test_temporary_assistance_where_the_emergency_happened(env):
    c = Chain(env)
    home = "440106003007"
    p1 = pid("440106", "19880412", 13)   # works in a 4414 town: accident there
    p2 = pid("440106", "19900818", 24)   # fire at home
    p3 = pid("440106", "19910101", 35)   # accident at home, aid decided in time
    far = "441401101003"                 # 4414, town 101: rural standard 820 yuan
    t = at("2026-06-22 09:00")
    events = []
    for k, p in enumerate((p1, p2, p3)):
        events += [c.person(t + k, home, p, f"hh-temp-{k}", work_ability=1,
                            own_monthly_income_fen=400_000),
                   c.household(t + 10 + k, home, f"hh-temp-{k}", [p], 400_000)]
    t1 = at("2026-06-23 18:30")
    events += [c.event(t1, far, "risk_signal", subject_person_id=p1, kind=ev.RISK_KIND_ACCIDENT,
                       amount_fen=500_000, description="工地事故 / site accident"),
               c.event(t1 + 60_000, home, "risk_signal", subject_person_id=p2,
                       household_id="hh-temp-1", kind=ev.RISK_KIND_FIRE, amount_fen=50_000,
                       description="厨房失火 / kitchen fire"),
               c.event(t1 + 120_000, home, "risk_signal", subject_person_id=p3,
                       kind=ev.RISK_KIND_ACCIDENT, amount_fen=20_000),
               c.event(t1 + 3_600_000, home, "enrolment_change", person_id=p3,
                       household_id="hh-temp-2", program=ev.PROGRAM_TEMP,
                       action=ev.ENROLMENT_ACTION_ENROLLED, monthly_amount_fen=20_000,
                       decided_by_worker_id="cw-440106003-1", reason="小额快救")]
    c.send(*events)
    out = c.output()
    temp = decisions(out, program=ev.PROGRAM_TEMP)
    h.check_eq(sorted(d.person_id for d in temp), sorted([p1, p2, p3]), "TEMP decisions")
    d = next(d for d in temp if d.person_id == p1)
    h.check(d.eligible, f"quick aid refused: {d.rule}")
    h.check_eq(d.rule, "temp.quick_aid", "TEMP rule")
    h.check_eq(d.region_code, far, "TEMP region (where it happened)")
    h.check_eq(d.standard_version.split("+")[0], "4414@20250101", "TEMP standard version")
    h.check_eq(param(d, "standard_fen"), 82_000, "the standard of the emergency's region")
    h.check_eq(d.amount_fen, 82_000, "quick aid capped at 1 x the standard there")
    h.check_eq(d.decided_at_ms, t1, "decided at the emergency's time")
    d = next(d for d in temp if d.person_id == p2)
    h.check_eq((d.region_code, d.amount_fen, d.standard_version.split("+")[0]), (home, 50_000, "440106@20250101"),
               "quick aid for the fire at home")
    risk = alerts(out, el.ALERT_KIND_RISK, subject_person_id=p1)
    h.check_eq(len(risk), 1, "risk alerts for the accident in 4414")
    h.check_eq((risk[0].region_code, risk[0].severity, risk[0].risk_kind),
               (far, el.ALERT_SEVERITY_URGENT, ev.RISK_KIND_ACCIDENT), "the accident's alert")
    rep = c.elig.query(person_id=p1)
    apps = [a for a in rep.persons[0].applications if a.program == ev.PROGRAM_TEMP]
    h.check_eq(len(apps), 1, "quick-aid clocks of p1")
    h.check_eq((apps[0].region_code, apps[0].decide_by_ms), (far, t1 + 3 * 86_400_000),
               "p1's quick-aid clock")

    # Four days later nobody decided p1's and p2's aid; p3's was decided.
    c.send(c.event(at("2026-06-27 19:00"), home, "roster_change", worker_id="w-440106003007-va",
                   action=ev.ROSTER_ACTION_JOINED, role=ev.WORKER_ROLE_VILLAGE_ASSISTANT,
                   monthly_visit_capacity=60))
    out = c.output()
    overdue = alerts(out, el.ALERT_KIND_QUICK_AID_OVERDUE)
    h.check_eq(sorted(a.subject_person_id for a in overdue), sorted([p1, p2]),
               "QUICK_AID_OVERDUE alerts")
    h.check_eq(next(a for a in overdue if a.subject_person_id == p1).region_code, far,
               "region of p1's overdue alert")
    h.check_eq(sum(1 for k, _ in out if k == "passed"), 1, "roster change passed on")


def test_discovery_review_and_applications(env):
    c = Chain(env)
    region = "440106101011"   # a town: rural, same standard in 4401
    t = at("2026-06-18 09:00")
    # C: eligible, not enrolled. D: enrolled and eligible. E: eligible with
    # an application pending.
    c1, c2 = pid("440106", "19700203", 41), pid("440106", "20150610", 52)
    d1 = pid("440106", "19650909", 63)
    e1 = pid("440106", "19720707", 75)
    enrol = c.event(t, region, "enrolment_change", person_id=d1, household_id="hh-d",
                    program=ev.PROGRAM_DIBAO, action=ev.ENROLMENT_ACTION_ENROLLED,
                    monthly_amount_fen=56_800, decided_by_worker_id="cw-440106101-1",
                    reason="低保")
    c.send(enrol,
           c.person(t + 1, region, c1, "hh-c", work_ability=1, own_monthly_income_fen=100_000,
                    main_earner=True),
           c.person(t + 2, region, c2, "hh-c",
                    living_arrangement=ev.LIVING_ARRANGEMENT_WITH_FAMILY),
           c.household(t + 3, region, "hh-c", [c1, c2], 100_000, urban=False),
           c.person(t + 4, region, d1, "hh-d", work_ability=1, own_monthly_income_fen=80_000),
           c.household(t + 5, region, "hh-d", [d1], 80_000, urban=False),
           c.event(t + 6, region, "application", application_id="app-e-1",
                   applicant_person_id=e1, household_id="hh-e", program=ev.PROGRAM_DIBAO,
                   description="申请低保"),
           c.person(t + 7, region, e1, "hh-e", work_ability=1, own_monthly_income_fen=90_000),
           c.household(t + 8, region, "hh-e", [e1], 90_000, urban=False))
    out = c.output()
    disc = alerts(out, el.ALERT_KIND_DISCOVERY, program=ev.PROGRAM_DIBAO)
    h.check_eq(sorted(a.subject_person_id for a in disc), sorted([c1, c2]),
               "DIBAO discovery alerts (only the household neither enrolled nor applying)")
    for a in disc:
        h.check_eq((a.region_code, a.household_id, a.severity),
                   (region, "hh-c", el.ALERT_SEVERITY_INFO), "discovery alert")
        h.check(a.handle_within_ms > 0, "a discovery alert without a deadline")
    d = c.decision(d1, ev.PROGRAM_DIBAO)
    h.check(d.eligible and d.enrolled, f"D: eligible {d.eligible}, enrolled {d.enrolled}")
    h.check_eq(d.amount_fen, JUNE_STD - 80_000, "D's amount")
    h.check(not alerts(out, el.ALERT_KIND_REVIEW), "a review alert while everyone qualifies")

    # E's application is assessed once E's household is known.
    c.send(c.event(t + 3_600_000, region, "application", application_id="app-e-2",
                   applicant_person_id=e1, household_id="hh-e", program=ev.PROGRAM_DIBAO))
    out = c.output()
    assessed = decisions(out, person_id=e1, program=ev.PROGRAM_DIBAO, application_id="app-e-2")
    h.check_eq(len(assessed), 1, "assessments of app-e-2")
    h.check(assessed[0].eligible, f"app-e-2 assessed {assessed[0].rule}")
    h.check_eq(assessed[0].amount_fen, JUNE_STD - 90_000, "assessed amount")

    # The tax office finds D earns 3,000 yuan a month: D no longer
    # qualifies, but stays enrolled until a caseworker decides.
    t2 = at("2026-06-25 10:00")
    c.send(c.event(t2, region, "comparison_record", subject_person_id=d1,
                   department=ev.DEPARTMENT_TAX, period_yyyymm=202605,
                   income=dict(monthly_income_fen=300_000)))
    out = c.output()
    review = alerts(out, el.ALERT_KIND_REVIEW, subject_person_id=d1)
    h.check_eq(len(review), 1, "REVIEW alerts for D")
    h.check_eq((review[0].program, review[0].region_code, review[0].severity),
               (ev.PROGRAM_DIBAO, region, el.ALERT_SEVERITY_WARNING), "D's review alert")
    changed = decisions(out, person_id=d1, program=ev.PROGRAM_DIBAO)
    h.check_eq(len(changed), 1, "DIBAO decisions emitted for D")
    h.check_eq((changed[0].eligible, changed[0].previous_eligible, changed[0].enrolled),
               (False, True, True), "D's new decision: not eligible, was, still enrolled")
    h.check_eq(changed[0].rule, "dibao.not_eligible.income", "D's rule")
    rep = c.elig.query(person_id=d1)
    en = [x for x in rep.persons[0].enrolments if x.program == ev.PROGRAM_DIBAO]
    h.check(en and en[0].enrolled, "D's enrolment was cut by the machine")


def test_missing_information_of_the_elderly(env):
    c = Chain(env)
    region = "440106004019"
    t = at("2026-06-19 09:00")
    old = pid("440106", "19480520", 81)       # 78, no living arrangement
    complete = pid("440106", "19500101", 92)  # 76, everything reported
    child = pid("440106", "20180303", 14)     # 8, no living arrangement
    c.send(c.person(t, region, old, "hh-m1", daily_living=ADL_OK, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT),
           c.household(t + 1, region, "hh-m1", [old], 120_000),
           c.person(t + 2, region, complete, "hh-m2", daily_living=ADL_OK,
                    living_arrangement=ev.LIVING_ARRANGEMENT_WITH_FAMILY,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT),
           c.person(t + 3, region, child, "hh-m2"),
           c.household(t + 4, region, "hh-m2", [complete, child], 500_000))
    out = c.output()
    missing = alerts(out, el.ALERT_KIND_MISSING_INFORMATION)
    h.check_eq([a.subject_person_id for a in missing], [old], "MISSING_INFORMATION alerts")
    h.check("living arrangement" in missing[0].reason,
            f"the alert does not say what is missing: {missing[0].reason}")
    h.check_eq((missing[0].region_code, missing[0].household_id), (region, "hh-m1"),
               "where the missing-information alert goes")
    # The same gap reported again: no second alert; filled in: none either.
    c.send(c.person(t + 3_600_000, region, old, "hh-m1", daily_living=ADL_OK, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT, own_monthly_income_fen=1),
           c.person(t + 7_200_000, region, old, "hh-m1", daily_living=ADL_OK, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT,
                    living_arrangement=ev.LIVING_ARRANGEMENT_ALONE))
    out = c.output()
    h.check(not alerts(out, el.ALERT_KIND_MISSING_INFORMATION), "a repeated missing alert")
    cares = [m for k, m in out if k == "care" and m.person_id == old]
    h.check(cares and el.CARE_CATEGORY_ELDERLY_LIVING_ALONE in cares[-1].categories,
            f"living alone not classified: {cares}")


def test_death_ends_visit_plans(env):
    c = Chain(env)
    region = "440106102021"
    t = at("2026-06-21 09:00")
    old = pid("440106", "19400606", 17)   # 86, living alone: high risk
    c.send(c.person(t, region, old, "hh-death", daily_living=ADL_OK,
                    living_arrangement=ev.LIVING_ARRANGEMENT_ALONE, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT, own_monthly_income_fen=200_000),
           c.household(t + 1, region, "hh-death", [old], 200_000))
    out = c.output()
    cares = [m for k, m in out if k == "care" and m.person_id == old]
    h.check(cares and cares[-1].tier == el.VISIT_TIER_HIGH_RISK,
            f"an 86-year-old living alone is not high risk: {cares}")
    died = at("2026-06-28 03:00")
    c.send(c.person(died + 8 * 3_600_000, region, old, "hh-death", daily_living=ADL_OK,
                    living_arrangement=ev.LIVING_ARRANGEMENT_ALONE, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT, own_monthly_income_fen=200_000,
                    died_at_ms=died))
    out = c.output()
    h.check_eq(len(alerts(out, el.ALERT_KIND_RISK, subject_person_id=old,
                          risk_kind=ev.RISK_KIND_HOUSEHOLD_MEMBER_DIED)), 1, "death risk alerts")
    cares = [m for k, m in out if k == "care" and m.person_id == old]
    h.check_eq(len(cares), 1, "care changes after the death")
    h.check(cares[0].deceased, "the care change is not marked deceased")
    h.check_eq((cares[0].tier, list(cares[0].categories), cares[0].previous_tier),
               (el.VISIT_TIER_NONE, [], el.VISIT_TIER_HIGH_RISK), "care after the death")


def test_a_danger_found_on_a_visit_raises_the_tier(env):
    """A visit that finds a danger makes the person high-risk; visits that
    find the same again change nothing (and need no registry read); the
    next visit finding none lowers the tier again."""
    c = Chain(env)
    region = "440106102021"
    t = at("2026-06-22 09:00")
    old = pid("440106", "19560303", 27)   # 70, with family: registered elderly
    c.send(c.person(t, region, old, "hh-visit", daily_living=ADL_OK,
                    living_arrangement=ev.LIVING_ARRANGEMENT_WITH_FAMILY, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT, own_monthly_income_fen=300_000),
           c.household(t + 1, region, "hh-visit", [old], 300_000))
    c.output()
    n = [0]

    def visit(at_ms, severity, outcome=ev.VISIT_OUTCOME_VISITED):
        n[0] += 1
        return c.event(at_ms, region, "visit_report", visit_id=f"v-{n[0]}", subject_person_id=old,
                       worker_id="w-1", visited_at_ms=at_ms, outcome=outcome,
                       findings=[dict(area=ev.FINDING_AREA_HOME_GAS, severity=severity)])

    def tiers():
        return [m.tier for k, m in c.output() if k == "care" and m.person_id == old]

    c.send(visit(t + 3_600_000, ev.FINDING_SEVERITY_DANGER))
    h.check_eq(tiers(), [el.VISIT_TIER_HIGH_RISK], "tiers after a visit finding a danger")
    c.send(visit(t + 7_200_000, ev.FINDING_SEVERITY_DANGER),
           visit(t + 7_300_000, ev.FINDING_SEVERITY_OK, ev.VISIT_OUTCOME_NOT_AT_HOME))
    h.check_eq(tiers(), [], "tiers after the same danger again and a visit nobody was home for")
    c.send(visit(t + 10_800_000, ev.FINDING_SEVERITY_OK))
    h.check_eq(len(tiers()), 1, "care changes after a visit finding no danger")
    c.send(visit(t + 14_400_000, ev.FINDING_SEVERITY_CONCERN))
    h.check_eq(tiers(), [], "tiers after a visit finding a concern only")


def test_moving_village_moves_the_visit_plan(env):
    """Same categories and tier in another village: the scheduler must still
    hear of it (its plan and worker follow the person)."""
    c = Chain(env)
    before, after = "440106102021", "440106103001"
    t = at("2026-06-21 09:00")
    old = pid("440106", "19400707", 18)   # 85, living alone: high risk
    fields = dict(daily_living=ADL_OK, living_arrangement=ev.LIVING_ARRANGEMENT_ALONE,
                  work_ability=3, legal_supporter=ev.LEGAL_SUPPORTER_PRESENT,
                  own_monthly_income_fen=200_000)
    c.send(c.person(t, before, old, "hh-move", **fields),
           c.household(t + 1, before, "hh-move", [old], 200_000))
    cares = [m for k, m in c.output() if k == "care" and m.person_id == old]
    h.check(cares and cares[-1].region_code == before, f"first care change: {cares}")
    c.send(c.person(t + 3_600_000, after, old, "hh-move", **fields),
           c.household(t + 3_600_001, after, "hh-move", [old], 200_000))
    cares = [m for k, m in c.output() if k == "care" and m.person_id == old]
    h.check_eq(len(cares), 1, "care changes after the move")
    h.check_eq((cares[0].region_code, cares[0].tier, cares[0].previous_tier, cares[0].reason),
               (after, el.VISIT_TIER_HIGH_RISK, el.VISIT_TIER_HIGH_RISK,
                "moved to another village"), "the care change of the move")
    # Reported again where it lives now: nothing new for the scheduler.
    c.send(c.person(t + 7_200_000, after, old, "hh-move",
                    **dict(fields, own_monthly_income_fen=210_000)))
    cares = [m for k, m in c.output() if k == "care" and m.person_id == old]
    h.check_eq(len(cares), 0, "care changes without a move")


def test_dangling_references_go_to_a_village(env):
    c = Chain(env)
    region = "440106001017"
    t = at("2026-06-16 10:00")
    ghost = pid("440106", "19450404", 99)   # enrolled by the case system, never reported
    member = pid("440106", "20260501", 2)   # listed by a household, never reported
    head = pid("440106", "19850808", 13)
    c.send(c.event(t, region, "enrolment_change", person_id=ghost, household_id="hh-ghost",
                   program=ev.PROGRAM_AGE, action=ev.ENROLMENT_ACTION_ENROLLED,
                   monthly_amount_fen=3_000, decided_by_worker_id="cw-1", reason="transfer"),
           c.person(t + 1, region, head, "hh-new", work_ability=1, own_monthly_income_fen=300_000),
           c.household(t + 2, region, "hh-new", [head, member], 300_000),
           c.person(t + 3, "440106001018", pid("440106", "19900909", 27), "hh-never",
                    work_ability=1))
    h.check(not alerts(c.output(), el.ALERT_KIND_DANGLING_REFERENCE), "dangling too early")
    # A day and a minute later anything arriving moves the clock past it.
    c.send(c.event(t + 86_460_000, region, "roster_change", worker_id="w-1",
                   action=ev.ROSTER_ACTION_JOINED, role=ev.WORKER_ROLE_VILLAGE_ASSISTANT,
                   monthly_visit_capacity=50))
    out = alerts(c.output(), el.ALERT_KIND_DANGLING_REFERENCE)
    by_subject = {a.subject_person_id or a.household_id: a for a in out}
    h.check_eq(sorted(by_subject), sorted([ghost, member, "hh-never"]), "dangling alerts")
    h.check_eq(by_subject[ghost].region_code, region, "region of the enrolment's placeholder")
    h.check_eq(by_subject[member].region_code, region, "region of the listed member")
    h.check_eq(by_subject[member].household_id, "hh-new", "household of the listed member")
    h.check_eq(by_subject["hh-never"].region_code, "440106001018", "region of the household")


def test_dangling_checks_only_for_what_is_missing(env):
    """Records created by their own report schedule no dangling check, and a
    placeholder filled in time cancels its own: a province's registry must
    not leave millions of checks to come due at once."""
    c = Chain(env)
    region = "440106001017"
    t = at("2026-06-16 10:00")
    a, b, missing = (pid("440106", "19850808", 14), pid("440106", "19870707", 15),
                     pid("440106", "20200202", 16))
    c.send(c.person(t, region, a, "hh-due", work_ability=1, own_monthly_income_fen=300_000),
           c.household(t + 1, region, "hh-due", [a, b, missing], 300_000),
           c.person(t + 2, region, b, "hh-due", work_ability=1, own_monthly_income_fen=100_000))
    c.elig.stop()
    dump = h.mdb_dump(c.elig.data_dir, "due")
    # mdb_dump -p prints each key and value on a line of its own after the
    # header, which ends with HEADER=END.
    body = [line for line in dump.split("HEADER=END", 1)[1].splitlines()
            if line.strip() and line.strip() != "DATA=END"]
    keys = body[0::2]
    h.check_eq(len(keys), 1, f"due entries (only the missing member's check): {keys}")
    h.check(keys[0].endswith("P" + missing), f"the due entry is not the missing member's: {keys}")


def test_decisions_of_the_deceased(env):
    c = Chain(env)
    region = "440106103002"
    old = pid("440106", "19380909", 19)   # 87: longevity allowance, band 80
    t = at("2026-06-21 09:00")
    c.send(c.event(t, region, "enrolment_change", person_id=old, household_id="hh-aged",
                   program=ev.PROGRAM_AGE, action=ev.ENROLMENT_ACTION_ENROLLED,
                   monthly_amount_fen=10_000, decided_by_worker_id="cw-1", reason="高龄津贴"),
           c.person(t + 1, region, old, "hh-aged", daily_living=ADL_OK,
                    living_arrangement=ev.LIVING_ARRANGEMENT_WITH_FAMILY, work_ability=3,
                    legal_supporter=ev.LEGAL_SUPPORTER_PRESENT, own_monthly_income_fen=300_000),
           c.household(t + 2, region, "hh-aged", [old], 300_000))
    d = c.decision(old, ev.PROGRAM_AGE)
    h.check(d.eligible and d.enrolled, f"AGE before the death: {d.rule}")
    c.output()
    died = at("2026-06-29 05:00")
    c.send(c.event(died + 86_400_000, region, "comparison_record", subject_person_id=old,
                   department=ev.DEPARTMENT_CIVIL_REGISTRY, period_yyyymm=202606,
                   death=dict(died_at_ms=died)))
    out = c.output()
    d = c.decision(old, ev.PROGRAM_AGE)
    h.check(not d.eligible, f"the deceased is still decided eligible for AGE: {d.rule}")
    h.check(d.rule.endswith("not_eligible.deceased"), f"rule after the death: {d.rule}")
    h.check_eq(len(alerts(out, el.ALERT_KIND_REVIEW, subject_person_id=old,
                          program=ev.PROGRAM_AGE)), 1, "REVIEW alerts for the enrolment")


def test_assessment_uses_the_standard_of_its_day(env):
    c = Chain(env)
    region = "440106002011"
    p1 = pid("440106", "19790214", 57)
    june = at("2026-06-20 10:00")
    c.send(c.person(june, region, p1, "hh-app", work_ability=1, own_monthly_income_fen=250_000),
           c.household(june + 1, region, "hh-app", [p1], 250_000))
    july = at("2026-07-06 10:00")
    c.send(c.event(july, region, "application", application_id="app-july",
                   applicant_person_id=p1, household_id="hh-app", program=ev.PROGRAM_DIBAO))
    assessed = decisions(c.output(), person_id=p1, application_id="app-july")
    h.check_eq(len(assessed), 1, "assessments of app-july")
    d = assessed[0]
    h.check(not d.eligible, f"2,500 yuan a month assessed eligible: {d.rule}")
    h.check_eq(d.decided_at_ms, july, "decided_at_ms of the assessment")
    h.check_eq(param(d, "standard_fen"), JULY_STD, "standard_fen of a July assessment")



def test_repeated_findings_follow_person_reports(env):
    """A department record that repeats what the registry holds changes
    nothing (and is answered from memory); once a person report changed the
    disability grade, the same department record is a change again. A
    record whose only finding is schooling changes nothing."""
    c = Chain(env)
    region = "440106002011"
    p = pid("440106", "19600101", 31)
    t = at("2026-06-10 10:00")
    c.send(c.person(t, region, p, "hh-facts", disability_grade=0, work_ability=1,
                    own_monthly_income_fen=100_000),
           c.household(t + 1, region, "hh-facts", [p], 100_000))

    def changed():
        return c.elig.metrics().get("doudi_eligibility_records_changed_total", 0.0)

    def disability(at_ms, grade):
        return c.event(at_ms, region, "comparison_record", subject_person_id=p,
                       department=ev.DEPARTMENT_DISABILITY_FEDERATION, period_yyyymm=202606,
                       disability=dict(disability_grade=grade, disability_type=1))

    before = changed()
    c.send(disability(t + 10, 0), disability(t + 11, 0))
    h.check_eq(changed(), before, "records changed by a repeated grade 0")
    c.send(c.person(t + 20, region, p, "hh-facts", disability_grade=2, work_ability=1,
                    own_monthly_income_fen=100_000))
    before = changed()
    c.send(disability(t + 30, 0))
    h.check_eq(changed(), before + 1, "records changed by grade 0 after a report of grade 2")
    c.send(disability(t + 31, 0),
           c.event(t + 40, region, "comparison_record", subject_person_id=p,
                   department=ev.DEPARTMENT_EDUCATION, period_yyyymm=202606,
                   schooling=dict(enrolled=True, yearly_fees_fen=120_000)))
    h.check_eq(changed(), before + 1, "records changed by a repeat and a schooling finding")


def test_a_restart_fills_the_fact_cache_from_the_registry(env):
    """A restarted eligibility fills its fact cache from the registry before
    its first batch: a department record repeating what is stored is known
    without a registry read. Where the households journal holds a newer
    record of a person than the tree, the newer one is what the cache
    learns, so the older value coming back is a change."""
    c = Chain(env)
    region = "440106002011"
    p = pid("440106", "19700101", 41)
    t = at("2026-06-10 10:00")

    def income(at_ms, fen):
        return c.event(at_ms, region, "comparison_record", subject_person_id=p,
                       department=ev.DEPARTMENT_TAX, period_yyyymm=202606,
                       income=dict(monthly_income_fen=fen))

    def counts():
        m = c.elig.metrics()
        return (m.get("doudi_eligibility_records_changed_total", 0.0),
                m.get("doudi_eligibility_records_known_from_cache_total", 0.0))

    def restart(journal_max):
        c.elig.stop()
        store = c.elig.overrides.setdefault("store", {})
        store["registry_journal_max"] = journal_max
        store["registry_fold_pace"] = 0  # whole folds: the journal is empty after one
        c.elig.start()
        h.check("fact cache filled from" in c.elig.stderr_tail(5),
                f"no fill of the fact cache at start-up:\n{c.elig.stderr_tail(5)}")

    c.send(c.person(t, region, p, "hh-warm", work_ability=1, own_monthly_income_fen=100_000),
           c.household(t + 1, region, "hh-warm", [p], 100_000), income(t + 2, 100_000))
    # Folded into the tree (a journal of one entry folds after the next record) ...
    restart(1)
    c.send(income(t + 3, 100_000))
    h.check_eq(c.elig.metrics().value("doudi_eligibility_registry_journal_entries"), 0.0,
               "journal entries after a fold")
    # ... and a newer income in the journal only.
    restart(1_000_000)
    c.send(income(t + 4, 250_000))
    h.check(c.elig.metrics().value("doudi_eligibility_registry_journal_entries") > 0,
            "the newer income is in the journal")
    restart(1_000_000)
    changed, known = counts()
    c.send(income(t + 5, 250_000))
    h.check_eq(counts(), (changed, known + 1), "(changed, known from cache) after a repeat")
    c.send(income(t + 6, 100_000))
    h.check_eq(counts(), (changed + 1, known + 1), "(changed, known from cache) after the old income")


if __name__ == "__main__":
    h.run_tests(globals())
