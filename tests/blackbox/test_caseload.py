"""The caseload doudi-eligibility keeps (persons eligible and enrolled, and
the monthly amounts, by county and program), against the households it
holds, read one by one.

test_caseload_is_the_sum_of_the_households proves, after a generated
county-month (households moving, splitting and merging among its events):
  - the caseload of every county (QueryRequest.caseload_region "") equals
    the sum of the decision summaries of every household the registry holds
    (persons eligible, households with anybody eligible, persons enrolled,
    amounts)
    (each household asked for by id: every household id any event names),
    a household's 低保 amount counted once for the household;
  - a county's prefix gives exactly its rows; a region of more than six
    digits, or not digits, is refused with a reason;
  - counted again from the registry at start-up ([store] caseload_recount),
    the caseload is the same;
  - `doudictl caseload` prints those sums, program by program, and their
    total; the gauges doudi_eligibility_caseload_* give the whole
    registry's, by program.
"""

import collections
import subprocess

import harness as h
import sched_harness as sh

HOUSEHOLDS = 400
SEED = 3


def household_ids(envelopes):
    """Every household id any field of the events names."""
    found = set()

    def walk(msg):
        for field, value in msg.ListFields():
            if field.type == field.TYPE_MESSAGE:
                for m in (value if field.label == field.LABEL_REPEATED else [value]):
                    walk(m)
            elif "household_id" in field.name:
                for v in (value if field.label == field.LABEL_REPEATED else [value]):
                    if v:
                        found.add(v)

    for env in envelopes:
        walk(env)
    return found


def county_of(region):
    return region[:6] if len(region) >= 6 and region[:6].isdigit() else "000000"


def caseload(elig, prefix):
    rep = elig.query(caseload_region=prefix)
    h.check(not rep.error_text, f"caseload of '{prefix}' refused: {rep.error_text}")
    return {(r.county_code, r.program): (r.eligible_persons, r.enrolled_persons,
                                         r.monthly_amount_fen, r.eligible_households)
            for r in rep.caseload}


def test_caseload_is_the_sum_of_the_households(env):
    from doudi import event_pb2
    gen = h.gen_county()
    county = gen.generate(seed=SEED, households=HOUSEHOLDS)
    intake = env.intake(sh.INTAKE_CONFIG)
    elig = env.eligibility(intake, {"log": {"consumers": "", "retention": "3650d"}})
    statuses = gen.publish(intake.publish_endpoint, county.encoded())
    h.check(sum(1 for s in statuses if s.outcome == h.ACCEPTED) > 0.9 * len(statuses),
            "most events accepted")
    elig.wait_caught_up(120)

    ids = household_ids(event_pb2.Envelope.FromString(b) for b in county.encoded())
    sums = collections.defaultdict(lambda: [0, 0, 0, 0])
    households_paid_once = collections.Counter()
    held = 0
    for hid in sorted(ids):
        rep = elig.query(household_id=hid)
        if rep.error_text:
            h.check("not in the registry" in rep.error_text, f"{hid}: {rep.error_text}")
            continue
        held += 1
        c = county_of(rep.household.region_code)
        once = set()  # programs whose household amount this household counted
        eligible_here = set()  # programs anybody of this household is eligible for
        for m in rep.household.members:
            for d in m.decisions:
                s = sums[(c, d.program)]
                s[0] += 1 if d.eligible else 0
                s[1] += 1 if d.enrolled else 0
                if d.eligible and not (d.amount_per_household and d.program in once):
                    s[2] += d.amount_fen
                if d.eligible and d.amount_per_household:
                    once.add(d.program)
                    households_paid_once[d.program] += 1
                if d.eligible:
                    eligible_here.add(d.program)
        for p in eligible_here:
            sums[(c, p)][3] += 1
    want = {k: tuple(v) for k, v in sums.items() if any(v)}
    got = caseload(elig, "")
    h.check(held > HOUSEHOLDS, f"the registry holds the households ({held})")
    h.check(any(v[0] for v in want.values()) and any(v[1] for v in want.values()),
            "somebody is eligible and somebody enrolled")
    h.check(households_paid_once, "some household is paid a household amount (DIBAO)")
    h.check_eq(got, want, "caseload of every county against the households read one by one")

    h.check_eq(caseload(elig, "440106"), {k: v for k, v in want.items() if k[0] == "440106"},
               "caseload of county 440106")
    h.check_eq(caseload(elig, "4401"), {k: v for k, v in want.items() if k[0].startswith("4401")},
               "caseload of city 4401")
    for bad in ("4401061", "44a"):
        rep = elig.query(caseload_region=bad)
        h.check("0 to 6 digits" in rep.error_text, f"caseload of '{bad}': {rep.error_text!r}")

    r = subprocess.run([h.binary("doudictl"), "caseload", "-e", elig.query_endpoint, "440106"],
                       capture_output=True, text=True, timeout=30)
    h.check_eq(r.returncode, 0, f"doudictl caseload's exit status ({r.stderr})")
    total = [line.split() for line in r.stdout.splitlines() if line.strip().startswith("TOTAL")]
    mine = [v for k, v in want.items() if k[0] == "440106"]
    h.check_eq([int(x) for x in total[0][1:4]] if total else None,
               [sum(v[0] for v in mine), sum(v[3] for v in mine), sum(v[1] for v in mine)],
               "doudictl caseload's total of eligible persons, their households and enrolled "
               "persons")

    by_program = collections.defaultdict(lambda: [0, 0, 0, 0])
    for (c, p), v in want.items():
        for i in range(4):
            by_program[event_pb2.Program.Name(p)[len("PROGRAM_"):].lower()][i] += v[i]

    def gauges():
        m = elig.metrics()
        return {p: [m.get(f"doudi_eligibility_caseload_{name}", None, program=p)
                    for name in ("eligible_persons", "enrolled_persons", "monthly_amount_fen",
                                 "eligible_households")]
                for p in by_program}
    h.wait_for(lambda: gauges() == {p: [float(x) for x in v] for p, v in by_program.items()},
               10, "the caseload gauges to show the registry's sums")

    h.check_eq(elig.stop(), 0, "eligibility's exit status")
    elig.overrides.setdefault("store", {})["caseload_recount"] = "true"
    elig.start()
    h.check_eq(caseload(elig, ""), want, "caseload counted again at start-up")
    print(f"caseload: {held} households, {len(want)} county-program rows, "
          f"{sum(v[0] for v in want.values())} eligible, {sum(v[1] for v in want.values())} "
          f"enrolled; doudictl:\n{r.stdout}", flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
