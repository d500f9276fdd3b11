"""Kill -9 loses nothing and duplicates nothing.

Three portals, each its own process, publish 200,000 valid events in all
(unique event ids per source, requests of 500, resending on a fresh socket
what is not answered in time) while doudi-intake is killed with SIGKILL five
times, each time once its log has grown past the next of five spread-out
marks, and started again on the same data directory and ports. The kills
aim in turn at three phases of the group commit (judging a batch; inside
the fdatasync of its pages; just after it, when the batch is durable but
its replies are not yet sent), found through /proc/PID/syscall. At the end
every event is in the log exactly once, byte for byte as sent; the log's
sequences are exactly 1..N; each portal has an answer for every event it
sent, only ACCEPTED or DUPLICATE; every sequence a portal was told holds
that very event; nothing committed before a kill was missing after the
restart; and a final SIGTERM ends intake with status 0.

DOUDI_KILL_EVENTS (default 200000) and DOUDI_KILL_ROUNDS (default 5) change
the numbers; DOUDI_KILL_SEED fixes where the marks fall.
"""

import json
import os
import random
import time

import harness as h
from doudi import event_pb2

EVENTS = int(os.environ.get("DOUDI_KILL_EVENTS", "200000"))
ROUNDS = int(os.environ.get("DOUDI_KILL_ROUNDS", "5"))
SOURCES = ("portal-a", "portal-b", "portal-c")
BATCH = 500
WINDOW = 4


class HeadWatch:
    """Polls the log head over the log endpoint; a fresh socket after each
    restart, so no request waits on a connection to a dead process."""

    def __init__(self, intake):
        self.intake = intake
        self.reader = None

    def reset(self):
        if self.reader:
            self.reader.close()
        self.reader = h.LogReader(self.intake.log_endpoint)

    def head(self):
        if self.reader is None:
            self.reset()
        try:
            return self.reader.fetch(after=0, max_records=1, timeout=1.0).head_sequence
        except TimeoutError:
            self.reset()
            return None


def test_kill_minus_nine_during_publishing(env):
    t_start = time.monotonic()
    scale = h.time_scale()
    intake = env.intake()
    base_ms = h.now_ms()
    counts = [EVENTS // len(SOURCES) + (1 if k < EVENTS % len(SOURCES) else 0)
              for k in range(len(SOURCES))]
    # At least 40 requests per portal, so that a small load still spans the kills.
    batch = max(1, min(BATCH, min(counts) // 40))
    portals = []
    go = env.path("go")
    for source, count in zip(SOURCES, counts):
        out = env.path(f"{source}.json")
        cmd = h.portal_command(intake.publish_endpoint, source, count, out, batch=batch,
                               window=WINDOW, timeout=1.0 * scale, base_ms=base_ms,
                               deadline_s=150 * scale, go_file=go)
        portals.append((source, count, out, h.spawn(cmd)))
    # All three start publishing together, once their events are encoded.
    h.wait_for(lambda: all(os.path.exists(out + ".ready") or p.poll() is not None
                           for _, _, out, p in portals), 60 * scale, "the portals to be ready")
    for source, _, _, p in portals:
        h.check(p.poll() is None, f"portal {source} exited early with status {p.returncode}")
    with open(go, "w"):
        pass
    t_go = time.monotonic()

    # Kill marks spread over the run, each moved at random by up to a
    # quarter of the spacing; each round also aims at a phase of the group
    # commit (see harness.COMMIT_MOMENTS).
    rng = random.Random(os.environ.get("DOUDI_KILL_SEED") or time.time_ns())
    step = EVENTS / (ROUNDS + 1)
    marks = [int(step * (k + 1) + rng.uniform(-step / 4, step / 4)) for k in range(ROUNDS)]
    watch = HeadWatch(intake)
    kills = []
    last_head = 0
    for k, mark in enumerate(marks):
        h.check(last_head < EVENTS, f"the whole load was in before kill {k + 1}: {EVENTS} "
                f"events are too few for {ROUNDS} kills")
        target = max(mark, last_head + 1)
        what = f"the log to reach {target} before kill {k + 1}"
        head = h.wait_for(lambda: (lambda x: x if x is not None and x >= target else None)(
            watch.head()), 120 * scale, what, interval=0.002)
        h.check(head < EVENTS, f"the whole load was in before kill {k + 1}: {EVENTS} events "
                f"are too few for {ROUNDS} kills")
        moment = h.COMMIT_MOMENTS[k % len(h.COMMIT_MOMENTS)]
        hit = h.aim_at_commit(intake.pid, moment, 2 * scale)
        running = sum(p.poll() is None for _, _, _, p in portals)
        t_kill = time.monotonic() - t_go
        rc = intake.kill()
        h.check_eq(rc, -9, f"status of intake killed in round {k + 1}")
        t0 = time.monotonic()
        intake.start()
        restart_s = time.monotonic() - t0
        watch.reset()
        after = h.wait_for(watch.head, 10 * scale, "the head after a restart")
        # A head we saw was committed: it must survive the kill.
        h.check(after >= head, f"kill {k + 1}: head {head} seen before the kill, {after} after")
        kills.append(dict(round=k + 1, at_s=round(t_kill, 2), head_seen=head, head_after=after,
                          portals_running=running, restart_s=round(restart_s, 3),
                          moment=moment, hit=hit))
        last_head = after
        print(f"kill {k + 1} ({moment}{'' if hit else ', not caught: killed anyway'}): "
              f"{t_kill:.2f} s after the start, head {head} (after the restart {after}), "
              f"{running} portals publishing, restarted in {restart_s * 1000:.0f} ms", flush=True)

    for source, count, out, p in portals:
        rc = h.reap(p, 150 * scale)
        h.check(rc is not None, f"portal {source} did not finish")
        h.check_eq(rc, 0, f"exit status of portal {source}")
    t_published = time.monotonic() - t_go
    h.check(all(k["portals_running"] > 0 and k["head_seen"] < EVENTS for k in kills),
            f"a kill came after the whole load was in: {kills}")

    # The whole log, decoded.
    watch.reset()
    t0 = time.monotonic()
    records = h.LogReader(intake.log_endpoint).read_all()
    read_s = time.monotonic() - t0
    h.check_eq(len(records), EVENTS, "records in the log")
    seqs = [r.sequence for r in records]
    h.check(seqs == list(range(1, EVENTS + 1)),
            f"sequences are not 1..{EVENTS} (first {seqs[:3]}, last {seqs[-3:]})")
    where = {}
    for r in records:
        env_msg = event_pb2.Envelope.FromString(r.payload)
        key = (env_msg.source, env_msg.event_id)
        h.check(key not in where, f"{key} is in the log twice: {where.get(key)} and {r.sequence}")
        where[key] = r.sequence
        h.check_eq(r.kind, h.BODY_RECORD_KIND[env_msg.WhichOneof("body")],
                   f"record kind of sequence {r.sequence}")

    totals = dict(accepted=0, duplicate=0, resends=0)
    for source, count, out, _ in portals:
        with open(out) as f:
            res = json.load(f)
        statuses, digests = res["statuses"], res["digests"]
        h.check_eq(len(statuses), count, f"answers of {source}")
        totals["resends"] += res["stats"]["resends"]
        for i, (outcome, seq, reason) in enumerate(statuses):
            event_id = f"{source}-{i:07d}"
            h.check(outcome in (h.ACCEPTED, h.DUPLICATE),
                    f"{source} event {event_id}: outcome {outcome}, reason {reason}")
            totals["accepted" if outcome == h.ACCEPTED else "duplicate"] += 1
            h.check(where.get((source, event_id)) == seq,
                    f"{source} event {event_id} was told sequence {seq}; "
                    f"the log has it at {where.get((source, event_id))}")
            h.check_eq(h.event_digest(records[seq - 1].payload), digests[i],
                       f"stored bytes of {event_id}")
    h.check_eq(len(where), EVENTS, "distinct events in the log")

    m = intake.metrics()
    h.check_eq(m.value("doudi_log_records"), float(EVENTS), "doudi_log_records")
    h.wait_for(lambda: intake.metrics().value("doudi_intake_dedup_ids") == EVENTS,
               5 * scale, f"doudi_intake_dedup_ids to show {EVENTS}")
    rc = intake.stop()
    h.check_eq(rc, 0, "exit status after SIGTERM")
    total_s = time.monotonic() - t_start
    print(f"kill test: {EVENTS} events from {len(SOURCES)} portals, {len(kills)} SIGKILLs, "
          f"{intake.starts - 1} restarts; published in {t_published:.1f} s, log read in "
          f"{read_s:.1f} s, {total_s:.1f} s in all; portal answers: {totals['accepted']} "
          f"accepted, {totals['duplicate']} duplicate; {totals['resends']} requests resent",
          flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
