"""Kill -9 of doudi-alerts changes nothing: a county-month replayed through
intake -> eligibility -> alerts gives the same alert store, the same stream
and the same subscriber files whether alerts runs uninterrupted or is
killed again and again.

tools/gen_county.py generates a month of county 440106 (its risks,
discoveries, reviews, missing information, dangling references, quick aid
overdue, acknowledgements of ids nobody gave...). It is published to one
doudi-intake, consumed by one doudi-eligibility, whose log two doudi-alerts
consume under two consumer names: A uninterrupted, B killed with SIGKILL at
spread-out marks of its cursor and started again on the same directory
and ports. B fetches 3 records at a time (A 2000), so batch boundaries
differ too. After the month, acknowledgements and resolutions of real
alert ids (taken from A) and clock ticks weeks later go through the chain
(B stopped with SIGTERM until they are all in eligibility's log, so that
its marks lie ahead of it), and B is killed during those as well. Each daemon has two subscriber
processes (prefixes 440106 and 440106001, alerts_harness.py subscriber),
which ride out B's deaths.

Once both have caught up: every database of both environments is equal
(mdb_dump after SIGTERM), both streams are equal record by record, and each
subscriber of B holds exactly what the same subscriber of A holds (which is
the replay of its prefix). And about the month: alerts of several kinds,
escalations to every level, acknowledgements applied, unknown ids counted.

DOUDI_ALERTS_HOUSEHOLDS (default 1500) and DOUDI_ALERTS_KILLS (default 6)
change the numbers; DOUDI_ALERTS_KILL_SEED fixes where the marks fall.
"""

import os
import random
import time

import alerts_harness as ah
import harness as h
from doudi import eligibility_pb2

HOUSEHOLDS = int(os.environ.get("DOUDI_ALERTS_HOUSEHOLDS", "1500"))
KILLS = int(os.environ.get("DOUDI_ALERTS_KILLS", "6"))
KILL_SEED = os.environ.get("DOUDI_ALERTS_KILL_SEED") or str(time.time_ns())
DATABASES = ("alerts", "repeats", "open", "classes", "gone", "rates", "silences", "meta",
             "replay_closed", "replay_open", "log", "cursors")
PREFIXES = ("440106", "440106001")


def first_difference(a_text, b_text):
    for i, (x, y) in enumerate(zip(a_text.splitlines(), b_text.splitlines())):
        if x != y:
            return f"line {i + 1}: {x[:100]!r} vs {y[:100]!r}"
    return f"{a_text.count(chr(10))} lines vs {b_text.count(chr(10))}"


def test_kill_minus_nine_during_a_month(env):
    t_start = time.monotonic()
    scale = h.time_scale()
    gen = h.gen_county()
    county = gen.generate(seed=7, households=HOUSEHOLDS)
    intake = env.intake({"intake": {"clock": "event"}, "log": {"retention": "3650d"}})
    gen.publish(intake.publish_endpoint, county.encoded(), timeout=5.0 * scale,
                deadline=120 * scale)
    elig = env.eligibility(intake, {"eligibility": {"dangling_wait": "1d"},
                                    "log": {"consumers": "alerts-a,alerts-b"}})
    elig.wait_caught_up(120 * scale)
    t_month = time.monotonic() - t_start

    # The streams are compared whole at the end: the ticks weeks after the
    # month must not let a trim pass take the month's records first.
    kept = {"retention": "3650d"}
    a = ah.start_alerts(env, elig, {"upstream": {"fetch_max_records": "2000"}, "log": kept},
                        name="alerts-a", consumer="alerts-a")
    b = ah.start_alerts(env, elig, {"upstream": {"fetch_max_records": "3"},
                                    "store": {"map_size": "1M"}, "log": kept},
                        name="alerts-b", consumer="alerts-b")
    subs = []
    for d in (a, b):
        for prefix in PREFIXES:
            out = env.path(f"{d.consumer}-{prefix}.txt")
            subs.append(dict(daemon=d, prefix=prefix, out=out, proc=h.spawn(
                ah.subscriber_command(d.live_endpoint, d.request_endpoint, prefix, out))))

    rng = random.Random(KILL_SEED)
    print(f"DOUDI_ALERTS_KILL_SEED={KILL_SEED}", flush=True)
    kills = []

    def b_cursor():
        """B's committed cursor: as eligibility last saw it (every fetch
        reports it) once B committed a batch since its start, or, when B had
        already applied all of eligibility's log before it was killed (no
        batch comes), the cursor it read from its store at start-up if that
        is eligibility's head; else None."""
        h.check(b.alive(), f"B exited with status {b.proc.poll()}:\n{b.stderr_tail()}")
        m = b.metrics()
        if m.get("doudi_consumer_batches_total", 0.0, upstream="eligibility") >= 1:
            cursor = elig.metrics().get("doudi_log_consumer_cursor", consumer="alerts-b")
            return None if cursor is None else int(cursor)
        own = m.get("doudi_consumer_cursor_sequence", None, upstream="eligibility")
        if own is None or own < 1:
            return None
        return int(own) if int(own) == elig.log_head() else None

    def kill_at(marks):
        for mark in marks:
            seen = h.wait_for(lambda: (lambda c: c if c is not None and c >= mark else None)(
                b_cursor()), 60 * scale, f"B's cursor to pass {mark}", interval=0.002)
            moment = h.COMMIT_MOMENTS[len(kills) % len(h.COMMIT_MOMENTS)]
            hit = h.aim_at_commit(b.pid, moment, 2 * scale)
            h.check_eq(b.kill(), -9, "status of B after SIGKILL")
            b.start()
            resumed = h.wait_for(b_cursor, 20 * scale, "B's first batch after a restart",
                                 interval=0.002)
            h.check(resumed >= seen, f"B's cursor went back from {seen} to {resumed}")
            kills.append((seen, moment, hit))
            print(f"kill {len(kills)} ({moment}{'' if hit else ', not caught'}): B at {seen} "
                  f"of {elig_head}", flush=True)

    # The month.
    elig_head = elig.log_head()
    step = elig_head / (KILLS // 2 + 2)
    kill_at([int(step * (k + 1) + rng.uniform(-step / 4, step / 4)) for k in range(KILLS // 2)])
    a.wait_caught_up(120)
    b.wait_caught_up(120)

    # Acknowledgements and resolutions of real ids, then ticks weeks later.
    # B waits, stopped, until they are all in eligibility's log: following
    # it live, B could pass every mark before the marks are known.
    h.check_eq(b.stop(), 0, "status of B after SIGTERM")
    month_end = max(t for t, _ in county.events)
    open_alerts = a.list(unresolved_only=True)
    h.check(len(open_alerts) >= 20, f"only {len(open_alerts)} unresolved alerts after the month")
    events = []
    for i, al in enumerate(open_alerts[:600]):
        office = al.office_code if i % 3 else al.region_code
        events.append(ah.acknowledgement(f"ack-{i}", al.id, office, month_end + i * 60_000,
                                         action=1 + (i % 4 == 0), by=f"w-{i % 17}"))
    for k in range(40):
        events.append(ah.risk_signal(f"tick-{k}", ah.person(500_000 + k), "441401101003",
                                     month_end + 600 * 60_000 + k * ah.DAY // 2))
    ah.publish_all(intake, events)
    elig.wait_caught_up(120 * scale)
    first_phase_head = elig_head
    elig_head = elig.log_head()
    step = (elig_head - first_phase_head) / (KILLS - KILLS // 2 + 1)
    b.start()
    kill_at([int(first_phase_head + step * (k + 1)) for k in range(KILLS - KILLS // 2)])
    h.check(len(kills) >= 5, f"only {len(kills)} kills")
    for d in (a, b):
        h.check_eq(d.wait_caught_up(120), elig_head, f"head {d.dir} caught up with")
    t_consumed = time.monotonic() - t_start

    # The streams, record by record.
    streams = {}
    for d in (a, b):
        reader = h.LogReader(d.log_endpoint)
        streams[d] = reader.read_all()
        reader.close()
    sa, sb = streams[a], streams[b]
    h.check(len(sa) > 100, f"A's stream has only {len(sa)} records")
    h.check_eq(len(sb), len(sa), "records in B's stream")
    for ra, rb in zip(sa, sb):
        if (ra.sequence, ra.kind, ra.appended_at_ms, ra.payload) != \
                (rb.sequence, rb.kind, rb.appended_at_ms, rb.payload):
            raise h.CheckFailed(f"stream records differ at sequence {ra.sequence}")

    # Every subscriber holds its prefix's stream; B's the same as A's.
    held = {}
    for s in subs:
        want = [e.sequence for e in s["daemon"].replay_all(s["prefix"])]
        h.check(want, f"nothing streamed for {s['prefix']}")
        h.wait_for(lambda: ah.read_held(s["out"])[0][-1:] == want[-1:], 60 * scale,
                   f"{s['out']} to reach {want[-1]}")
        seqs, lines = ah.read_held(s["out"])
        h.check_eq(seqs, want, f"sequences held by {s['out']}")
        held[(s["daemon"].consumer, s["prefix"])] = lines
        s["proc"].terminate()
        h.reap(s["proc"], 10)
    for prefix in PREFIXES:
        if held[("alerts-a", prefix)] != held[("alerts-b", prefix)]:
            raise h.CheckFailed(f"subscribers of {prefix} differ: "
                                + first_difference("\n".join(held[("alerts-a", prefix)]),
                                                   "\n".join(held[("alerts-b", prefix)])))

    # What the month made (the same for both).
    m = a.metrics()
    kinds = {k: v for (n, k), v in m.samples.items() if n == "doudi_alerts_raised_total"}
    h.check(len(kinds) >= 4, f"alerts of only {kinds}")
    for level in ("township", "county", "city", "province"):
        h.check(m.value("doudi_alerts_escalations_total", level=level) > 0,
                f"no escalation to the {level}")
    h.check(m.value("doudi_alerts_handled_total", action="acknowledged") > 0, "no ack applied")
    h.check(m.value("doudi_alerts_handled_total", action="resolved") > 0, "no resolution")
    h.check(m.value("doudi_alerts_rejected_total", reason="ack_unknown_alert") > 0,
            "the month's acknowledgements of unknown ids were not counted")
    for d in (a, b):
        h.check_eq(d.metrics().value("doudi_consumer_stalls_total", upstream="eligibility"), 0.0,
                   f"stalls of {d.dir}")

    for d in (a, b):
        h.check_eq(d.stop(), 0, f"exit status of {d.dir} after SIGTERM")
    sizes = {}
    for db in DATABASES:
        da, dbb = (h.mdb_dump(d.data_dir, db).split("HEADER=END\n", 1)[1] for d in (a, b))
        sizes[db] = da.count("\n") // 2
        if da != dbb:
            raise h.CheckFailed(f"database {db} differs between A and B: "
                                f"{first_difference(da, dbb)}")
    grows = b.stderr_text().count("map grown")
    print(f"alerts kill test: {len(county.events)} events of {HOUSEHOLDS} households, "
          f"{elig_head} records in eligibility's log, {len(sa)} stream records; {len(kills)} "
          f"SIGKILLs of B ({sum(k[2] for k in kills)} aimed as meant), B's map grew {grows} "
          f"times; subscriber files {[len(v) for v in held.values()]}; equal databases "
          f"(entries) {sizes}; month in {t_month:.1f} s, caught up by {t_consumed:.1f} s, "
          f"done in {time.monotonic() - t_start:.1f} s", flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
