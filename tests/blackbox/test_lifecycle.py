"""doudi-intake's life cycle: stop, restart, check, reload, replay, trim.

The dedup memory survives a clean stop: SIGTERM ends intake with status 0,
and after a restart the same event ids are answered DUPLICATE with their
original sequences while new ones continue the sequence. SIGTERM in the
middle of a heavy publish also exits 0 and loses nothing: the portal
finishes against the restarted intake and every event is in the log once.
Dedup is per (source, event id), also inside one request and across the
requests of one group commit; a refused event does not take its id.
`doudi-intake -t` exits 0 on a good configuration and 1 on a bad one with a
message naming file:line, also when the division table it names does not
read (doudi-eligibility's standards table likewise); a usage error exits 2
and a port in use 3.
SIGHUP reloads the division table: an event refused as region_unknown is
accepted once its code is added to divisions_file, a broken file is refused
with the old table kept, and `deadletter replay` through the admin endpoint
then accepts the old dead letter into the log (byte for byte) and removes
it; a dead letter refused again stays, counting its attempts. The LMDB map
grows under load from 64K; capped by max_map_size, a full map acknowledges
nothing it did not store and intake stays up. A consumer named in [log]
consumers holds back trimming even before it first connects: records past
the retention stay until a FetchRequest from "eligibility" reports a
cursor, then exactly the records up to that cursor go, an anonymous reader
asking for them gets FETCH_STATUS_TRIMMED, and the cursor survives a
restart; a retention changed by SIGHUP applies at once, and retention 0
trims whatever every consumer has passed. The event clock accepts events
of any date. A key that needs a restart is kept, with a warning, when
SIGHUP brings a new value.
"""

import json
import signal
import socket
import subprocess

import harness as h
from doudi import admin_pb2, event_pb2, log_pb2

ACCEPTED, DUPLICATE, REJECTED = "OUTCOME_ACCEPTED", "OUTCOME_DUPLICATE", "OUTCOME_REJECTED"


def outcomes(results):
    return [h.OUTCOME.Name(r.outcome) for r in results]


def test_dedup_survives_restart(env):
    intake = env.intake()
    f = h.EventFactory("bb-restart")
    first = f.batch(1500)
    res = h.publish(intake.publish_endpoint, first)
    h.check(all(o == ACCEPTED for o in outcomes(res)), "first publish accepted")
    seqs = [r.sequence for r in res]
    h.check_eq(sorted(seqs), list(range(1, 1501)), "sequences of the first publish")
    h.check_eq(intake.stop(), 0, "exit status after SIGTERM")
    h.check("stopped" in intake.stderr_text(), "intake did not say it stopped")

    intake.start()
    again = h.publish(intake.publish_endpoint, first[::-1] + f.batch(10, 1500), batch=400)
    h.check(all(o == DUPLICATE for o in outcomes(again[:1500])), "repeats are duplicates")
    h.check_eq([r.sequence for r in again[:1500]], seqs[::-1], "duplicates name the originals")
    h.check_eq([r.event_id for r in again[:3]], [f"bb-restart-{i:07d}" for i in (1499, 1498, 1497)],
               "event ids echoed")
    h.check_eq(outcomes(again[1500:]), [ACCEPTED] * 10, "new events accepted")
    h.check_eq([r.sequence for r in again[1500:]], list(range(1501, 1511)),
               "sequences continue after the restart")
    m = intake.metrics()
    h.check_eq(m.value("doudi_intake_events_duplicate_total"), 1500.0, "duplicates counted")
    h.wait_for(lambda: intake.metrics().value("doudi_intake_dedup_ids") == 1510, 5 * h.time_scale(),
               "doudi_intake_dedup_ids (a gauge refreshed every second) to reach 1510")
    h.check_eq(intake.stop(), 0, "exit status after the second SIGTERM")


def test_sigterm_during_publishing(env):
    scale = h.time_scale()
    intake = env.intake()
    n = 30000
    out = env.path("portal.json")
    portal = h.spawn(h.portal_command(intake.publish_endpoint, "bb-term", n, out, batch=250,
                                      window=8, timeout=1.0 * scale, base_ms=h.now_ms(),
                                      deadline_s=120 * scale))
    h.wait_for(lambda: intake.log_head() >= 5000, 60 * scale, "the log to grow")
    rc = intake.stop()
    h.check_eq(rc, 0, "exit status of SIGTERM during publishing")
    h.check(portal.poll() is None, "the portal finished before the stop")
    intake.start()
    h.check_eq(h.reap(portal, 120 * scale), 0, "portal exit status")
    with open(out) as fp:
        res = json.load(fp)
    records = h.LogReader(intake.log_endpoint).read_all()
    h.check_eq([r.sequence for r in records], list(range(1, n + 1)), "log sequences")
    ids = [event_pb2.Envelope.FromString(r.payload).event_id for r in records]
    h.check_eq(len(set(ids)), n, "distinct events in the log")
    for i, (outcome, seq, _) in enumerate(res["statuses"]):
        h.check(outcome in (h.ACCEPTED, h.DUPLICATE), f"event {i}: outcome {outcome}")
        h.check_eq(ids[seq - 1], f"bb-term-{i:07d}", f"event at the sequence told for {i}")
    print(f"portal stats: {res['stats']}")


def test_config_check(env):
    exe = h.binary("doudi-intake")
    good = env.path("good.ini")
    with open(good, "w") as f:
        f.write("# a good one\n[intake]\nmax_events_per_request = 200\n"
                "dedup_retention = 40d ; comment\n\n[log]\nretention = 1h\n")
    p = subprocess.run([exe, "-t", "-c", good], capture_output=True, text=True, timeout=30)
    h.check_eq(p.returncode, 0, f"-t on a good file ({p.stderr})")
    h.check("max_events_per_request = 200" in p.stdout, "-t prints the effective values")
    h.check("dedup_retention = 40d" in p.stdout, "-t prints the duration as set")
    p = subprocess.run([exe, "-t"], capture_output=True, text=True, timeout=30)
    h.check_eq(p.returncode, 0, "-t with the embedded defaults")

    bad = {
        "unknown key": ("[intake]\nmax_events_per_request = 5\nno_such_key = 1\n", 3),
        "out of range": ("[intake]\n\nmax_events_per_request = 0\n", 3),
        "bad duration": ("[log]\nretention = 7 days\n", 2),
        "unknown section": ("[intake]\n[nope]\n", 2),
        "bad enum": ("[intake]\nfifteen_digit_ids = upgrad\n", 2),
        "set twice": ("[intake]\nclock = wall\nclock = event\n", 3),
        "before any section": ("clock = wall\n", 1),
        "bad size": ("[store]\nmap_size = lots\n", 2),
    }
    for name, (text, line) in bad.items():
        path = env.path(name.replace(" ", "_") + ".ini")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([exe, "-t", "-c", path], capture_output=True, text=True, timeout=30)
        h.check_eq(p.returncode, 1, f"-t exit status for '{name}'")
        h.check(f"{path}:{line}:" in p.stderr, f"'{name}': message does not name "
                f"{path}:{line}: {p.stderr!r}")
        # Starting with it fails the same way, before touching anything.
        p = subprocess.run([exe, "-c", path], capture_output=True, text=True, timeout=30)
        h.check_eq(p.returncode, 1, f"start exit status for '{name}'")
    p = subprocess.run([exe, "-t", "-c", env.path("missing.ini")], capture_output=True,
                       text=True, timeout=30)
    h.check_eq(p.returncode, 1, "-t on a missing file")
    # -t reads the division table the file names, as start-up would.
    divisions = env.path("divisions.txt")
    with open(divisions, "w") as f:
        f.write("440101001001\n4401010010\n")
    table = env.path("table.ini")
    with open(table, "w") as f:
        f.write(f"[intake]\ndivisions_file = {divisions}\n")
    p = subprocess.run([exe, "-t", "-c", table], capture_output=True, text=True, timeout=30)
    h.check(p.returncode == 1 and f"{divisions}:2:" in p.stderr,
            f"-t with a broken division table: {p.returncode} {p.stderr!r}")
    with open(env.path("standards.ini"), "w") as f:
        f.write(f"[eligibility]\nstandards_file = {env.path('no-such.csv')}\n")
    elig = subprocess.run([h.binary("doudi-eligibility"), "-t", "-c", env.path("standards.ini")],
                          capture_output=True, text=True, timeout=30)
    h.check(elig.returncode == 1 and "no-such.csv" in elig.stderr,
            f"doudi-eligibility -t with a missing standards table: {elig.stderr!r}")
    p = subprocess.run([exe, "--no-such-option"], capture_output=True, text=True, timeout=30)
    h.check_eq(p.returncode, 2, "usage error")
    p = subprocess.run([exe, "-c", good, "extra"], capture_output=True, text=True, timeout=30)
    h.check_eq(p.returncode, 2, "unexpected argument")


def test_port_in_use_exits_3(env):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = h.free_port()
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    try:
        intake = env.intake(start=False)
        intake.ports["publish"] = port
        intake.write_config()
        p = subprocess.run([h.binary("doudi-intake"), "-c", intake.config_path],
                           capture_output=True, text=True, timeout=60 * h.time_scale())
        h.check_eq(p.returncode, 3, f"exit status with the publish port taken ({p.stderr})")
    finally:
        blocker.close()


def _region_event(f, i, region):
    e = f.envelope(i, "risk_signal")
    e.region_code = region
    return e.SerializeToString()


def _reloads(intake, result):
    return intake.metrics().get("doudi_intake_config_reloads_total", 0.0, result=result)


def test_sighup_reloads_divisions_and_replay(env):
    scale = h.time_scale()
    known = [h.region_code(1, 1, 1, v) for v in range(1, 4)]
    new_code = h.region_code(1, 1, 1, 9)
    divisions = env.path("divisions.txt")
    with open(divisions, "w") as f:
        f.write("# test table\n" + "".join(f"{c}\tvillage {k}\n" for k, c in enumerate(known)))
    intake = env.intake({"intake": {"divisions_file": divisions}})
    f = h.EventFactory("bb-reload")
    refused_raw = _region_event(f, 1, new_code)
    res = h.publish(intake.publish_endpoint, [_region_event(f, 0, known[0]), refused_raw])
    h.check_eq(outcomes(res), [ACCEPTED, REJECTED], "before the reload")
    h.check_eq(h.reason_label(res[1].reason), "region_unknown", "reason before the reload")
    dead_id = res[1].dead_letter_id

    # A broken table is refused; the old one stays.
    with open(divisions, "a") as fp:
        fp.write("44010100100X\n")
    intake.signal(signal.SIGHUP)
    h.wait_for(lambda: _reloads(intake, "failed") == 1, 10 * scale, "the failed reload")
    h.check("divisions.txt:5:" in intake.stderr_text(), "the failed reload names file:line")
    st = h.publish_one(intake.publish_endpoint, _region_event(f, 2, known[1]))
    h.check_eq(h.OUTCOME.Name(st.outcome), ACCEPTED, "old table kept after a failed reload")

    with open(divisions, "w") as fp:
        fp.write("".join(f"{c}\n" for c in known + [new_code]))
    intake.signal(signal.SIGHUP)
    h.wait_for(lambda: _reloads(intake, "ok") == 1, 10 * scale, "the reload")
    h.check(intake.alive(), "intake survived SIGHUP")
    st = h.publish_one(intake.publish_endpoint, _region_event(f, 3, new_code))
    h.check_eq(h.OUTCOME.Name(st.outcome), ACCEPTED, f"after the reload ({st.reason_text})")

    # Replay the old dead letter.
    held, total = h.dead_letters(intake.admin_endpoint)
    h.check_eq([d.id for d in held], [dead_id], "dead letters before the replay")
    rep = h.admin(intake.admin_endpoint, dead_letter_replay=admin_pb2.DeadLetterReplayRequest(
        ids=[dead_id]))
    h.check(not rep.error_text, f"replay refused: {rep.error_text}")
    st = rep.dead_letter_replay.statuses[0]
    h.check_eq(h.OUTCOME.Name(st.outcome), ACCEPTED, f"replayed dead letter ({st.reason_text})")
    h.check_eq(st.dead_letter_id, dead_id, "dead_letter_id of the replay status")
    h.check_eq(st.event_id, "bb-reload-0000001", "event_id of the replay status")
    records = h.LogReader(intake.log_endpoint).read_all()
    h.check_eq(len(records), 4, "records after the replay")
    h.check_eq(records[-1].sequence, st.sequence, "replayed event's sequence")
    h.check(records[-1].payload == refused_raw, "the log holds the dead letter's bytes")
    held, total = h.dead_letters(intake.admin_endpoint)
    h.check_eq((len(held), total), (0, 0), "dead letters after the replay")
    # Again: not held any more; and the event itself is now a duplicate.
    rep = h.admin(intake.admin_endpoint, dead_letter_replay=admin_pb2.DeadLetterReplayRequest(
        ids=[dead_id]))
    st2 = rep.dead_letter_replay.statuses[0]
    h.check_eq((h.OUTCOME.Name(st2.outcome), st2.reason), (REJECTED, 0), "second replay")
    st3 = h.publish_one(intake.publish_endpoint, refused_raw)
    h.check_eq((h.OUTCOME.Name(st3.outcome), st3.sequence), (DUPLICATE, st.sequence),
               "the replayed event published again")
    h.wait_for(lambda: intake.metrics().value("doudi_intake_dead_letters") == 0, 5 * scale,
               "doudi_intake_dead_letters to drop to 0")
    h.check_eq(intake.stop(), 0, "exit status")


def test_replay_refused_again_counts_attempts(env):
    intake = env.intake()
    f = h.EventFactory("bb-again")
    e = f.envelope(1, "risk_signal")
    e.region_code = h.region_code(22, 1, 1, 1)
    st = h.publish_one(intake.publish_endpoint, e.SerializeToString())
    h.check_eq(h.reason_label(st.reason), "region_unknown", "reason")
    for attempt in (1, 2):
        rep = h.admin(intake.admin_endpoint, dead_letter_replay=admin_pb2.DeadLetterReplayRequest(
            ids=[st.dead_letter_id]))
        s = rep.dead_letter_replay.statuses[0]
        h.check_eq((h.OUTCOME.Name(s.outcome), h.reason_label(s.reason)),
                   (REJECTED, "region_unknown"), f"replay {attempt}")
        held, _ = h.dead_letters(intake.admin_endpoint)
        h.check_eq([(d.id, d.replay_attempts) for d in held], [(st.dead_letter_id, attempt)],
                   f"dead letter after replay {attempt}")


def _first_sequence(intake):
    return h.LogReader(intake.log_endpoint).fetch(after=0, max_records=1).first_sequence


def _retention_passed_and_trim_ran(intake, f, records, retention_ms, k):
    """Waits until every record is older than the retention, then until a
    maintenance pass (which trims) has run after that: seen as the dead
    letter gauge picking up an event refused after that moment."""
    scale = h.time_scale()
    newest = max(r.appended_at_ms for r in records)
    h.wait_for(lambda: h.now_ms() > newest + retention_ms + 50, 30, "the retention to pass")
    e = f.envelope(10**6 + k, "risk_signal")
    e.region_code = "bad"
    h.publish_one(intake.publish_endpoint, e.SerializeToString())
    h.wait_for(lambda: intake.metrics().value("doudi_intake_dead_letters") == k, 10 * scale,
               "a maintenance pass")


def test_consumer_holds_back_trimming(env):
    scale = h.time_scale()
    intake = env.intake({"log": {"retention": "1s", "trim_interval": "100ms",
                                 "consumers": "eligibility"}})
    f = h.EventFactory("bb-trim")
    h.publish(intake.publish_endpoint, f.batch(100))
    records = h.LogReader(intake.log_endpoint).read_all()
    h.check_eq(len(records), 100, "records")
    m = intake.metrics()
    h.check_eq(m.value("doudi_log_consumer_lag_records", consumer="eligibility"), 100.0,
               "lag of a consumer that never connected")

    _retention_passed_and_trim_ran(intake, f, records, 1000, 1)
    h.check_eq(_first_sequence(intake), 1, "first sequence while eligibility is at 0")
    h.check_eq(len(h.LogReader(intake.log_endpoint).read_all()), 100, "records kept")

    # eligibility reports its cursor: 60.
    elig = h.LogReader(intake.log_endpoint, consumer="eligibility")
    rep = elig.fetch(after=60, max_records=10)
    h.check_eq([r.sequence for r in rep.records], list(range(61, 71)), "eligibility's fetch")
    h.wait_for(lambda: _first_sequence(intake) == 61, 10 * scale,
               "trimming up to eligibility's cursor")
    m = intake.metrics()
    h.check_eq(m.value("doudi_log_consumer_lag_records", consumer="eligibility"), 40.0,
               "lag after the cursor report")
    h.check_eq(m.value("doudi_log_records"), 40.0, "doudi_log_records after trimming")
    h.check_eq(m.value("doudi_log_trimmed_total"), 60.0, "doudi_log_trimmed_total")
    anon = h.LogReader(intake.log_endpoint).fetch(after=10)
    h.check_eq(log_pb2.FetchStatus.Name(anon.status), "FETCH_STATUS_TRIMMED",
               "fetch of trimmed records")
    h.check_eq(anon.first_sequence, 61, "first_sequence in a TRIMMED reply")
    rep = elig.fetch(after=60, max_records=1000)
    h.check_eq([r.sequence for r in rep.records], list(range(61, 101)), "eligibility goes on")
    elig.close()

    # The cursor and the trimmed front survive a restart.
    h.check_eq(intake.stop(), 0, "exit status")
    intake.start()
    h.check_eq(_first_sequence(intake), 61, "first sequence after a restart")
    m = intake.metrics()
    h.check_eq(m.value("doudi_log_consumer_cursor", consumer="eligibility"), 60.0,
               "eligibility's cursor after a restart")


def test_dedup_scope(env):
    intake = env.intake()
    f = h.EventFactory("bb-scope")
    a, b = f.encoded(1), f.encoded(2)
    res = h.publish(intake.publish_endpoint, [a, b, a, a])
    h.check_eq([(h.OUTCOME.Name(r.outcome), r.sequence) for r in res],
               [(ACCEPTED, 1), (ACCEPTED, 2), (DUPLICATE, 1), (DUPLICATE, 1)],
               "one id twice in a request")
    # Requests sharing a group commit: the same id in both.
    c = f.encoded(3)
    p = h.Portal(intake.publish_endpoint, batch=1, window=16)
    res = p.publish([c] * 16)
    p.close()
    h.check_eq(sorted((h.OUTCOME.Name(r.outcome), r.sequence) for r in res),
               [(ACCEPTED, 3)] + [(DUPLICATE, 3)] * 15, "one id in 16 concurrent requests")
    # Ids are scoped by source.
    other = h.EventFactory("bb-scope-other").envelope(1)
    other.event_id = "bb-scope-0000001"
    st = h.publish_one(intake.publish_endpoint, other.SerializeToString())
    h.check_eq((h.OUTCOME.Name(st.outcome), st.sequence), (ACCEPTED, 4), "same id, other source")
    # A refused event does not take its id: the corrected one goes in; its
    # dead letter, replayed, is then a duplicate and leaves the store.
    bad = f.envelope(4, "risk_signal")
    bad.risk_signal.amount_fen = -1
    st = h.publish_one(intake.publish_endpoint, bad.SerializeToString())
    h.check_eq(h.OUTCOME.Name(st.outcome), REJECTED, "the bad version")
    bad.risk_signal.amount_fen = 1
    st2 = h.publish_one(intake.publish_endpoint, bad.SerializeToString())
    h.check_eq((h.OUTCOME.Name(st2.outcome), st2.sequence), (ACCEPTED, 5), "the corrected one")
    rep = h.admin(intake.admin_endpoint, dead_letter_replay=admin_pb2.DeadLetterReplayRequest(
        ids=[st.dead_letter_id]))
    s = rep.dead_letter_replay.statuses[0]
    h.check_eq((h.OUTCOME.Name(s.outcome), s.sequence), (DUPLICATE, 5), "replay of the bad one")
    h.check_eq(h.dead_letters(intake.admin_endpoint)[1], 0, "dead letters after the replay")
    h.check_eq(h.LogReader(intake.log_endpoint).head(), 5, "log head")


def test_map_grows_and_a_full_map_acknowledges_nothing(env):
    scale = h.time_scale()
    intake = env.intake({"store": {"map_size": "64K"}})
    f = h.EventFactory("bb-map")
    res = h.publish(intake.publish_endpoint, f.batch(20000), batch=1000)
    h.check(all(r.outcome == h.ACCEPTED for r in res), "all accepted while the map grows")
    h.wait_for(lambda: intake.metrics().value("doudi_lmdb_map_grows_total") > 0, 5 * scale,
               "doudi_lmdb_map_grows_total")
    m = intake.metrics()
    h.check(m.value("doudi_lmdb_map_size_bytes") > 64 * 1024, "the map grew")
    h.check_eq(intake.stop(), 0, "exit status")
    intake.start()
    h.check_eq(len(h.LogReader(intake.log_endpoint).read_all()), 20000, "records after restart")

    capped = env.intake({"store": {"map_size": "64K", "max_map_size": "1M"}}, name="capped")
    p = h.Portal(capped.publish_endpoint, batch=500, timeout=1.0 * scale)
    events = f.batch(20000, 100000)
    try:
        p.publish(events, deadline_s=3 * scale)
        raise h.CheckFailed("20000 events fit a 1 MiB map")
    except TimeoutError:
        pass
    finally:
        p.close()
    answered = [r for r in p.results if r is not None]
    h.check(answered and all(r.outcome == h.ACCEPTED for r in answered),
            "what was answered was accepted")
    h.check(capped.alive(), "intake with a full map exited")
    m = capped.metrics()
    h.check(m.value("doudi_intake_commit_failures_total") > 0, "commit failures counted")
    h.check_eq(m.value("doudi_lmdb_map_size_bytes"), float(1 << 20), "the map stopped at 1M")
    # Everything acknowledged is there, nothing else.
    records = h.LogReader(capped.log_endpoint).read_all()
    h.check_eq(len(records), len(answered), "records vs acknowledged events")
    h.check_eq(sorted(r.sequence for r in answered), [r.sequence for r in records],
               "acknowledged sequences")


def test_sighup_reloads_log_retention(env):
    scale = h.time_scale()
    intake = env.intake({"log": {"retention": "1h", "trim_interval": "100ms", "consumers": ""}})
    f = h.EventFactory("bb-retention")
    h.publish(intake.publish_endpoint, f.batch(10))
    records = h.LogReader(intake.log_endpoint).read_all()
    _retention_passed_and_trim_ran(intake, f, records, 1000, 1)
    h.check_eq(_first_sequence(intake), 1, "first sequence within the 1h retention")
    intake.overrides["log"]["retention"] = "1s"
    intake.write_config()
    intake.signal(signal.SIGHUP)
    h.wait_for(lambda: _reloads(intake, "ok") == 1, 10 * scale, "the reload")
    # No consumer is known: everything older than 1 s goes but the head
    # record, which keeps the sequence across restarts.
    h.wait_for(lambda: _first_sequence(intake) == 10, 10 * scale,
               "trimming with the reloaded retention")


def test_retention_zero_trims_what_is_consumed(env):
    intake = env.intake({"log": {"retention": "0", "trim_interval": "100ms",
                                 "consumers": "eligibility"}})
    f = h.EventFactory("bb-retention0")
    h.publish(intake.publish_endpoint, f.batch(10))
    records = h.LogReader(intake.log_endpoint).read_all()
    h.LogReader(intake.log_endpoint, consumer="eligibility").fetch(after=5)
    _retention_passed_and_trim_ran(intake, f, records, 0, 1)
    h.wait_for(lambda: _first_sequence(intake) == 6, 10 * h.time_scale(),
               "first sequence 6 with retention 0 and cursor 5")


def test_event_clock_accepts_events(env):
    intake = env.intake({"intake": {"clock": "event"}})
    res = h.publish(intake.publish_endpoint, h.EventFactory("bb-clock").batch(9))
    h.check_eq([(h.OUTCOME.Name(r.outcome), r.reason_text) for r in res],
               [(ACCEPTED, "")] * 9, "events under the event clock")


def test_sighup_keeps_restart_only_keys(env):
    intake = env.intake()
    intake.overrides = {"intake": {"max_events_per_request": "10"}}
    intake.write_config()
    intake.signal(signal.SIGHUP)
    h.wait_for(lambda: _reloads(intake, "ok") == 1, 10 * h.time_scale(), "the reload")
    res = h.publish(intake.publish_endpoint, h.EventFactory("bb-hup").batch(20), batch=20)
    h.check(not isinstance(res[0], h.RequestRefused),
            f"max_events_per_request changed without a restart: {res[0]}")
    h.check("max_events_per_request" in intake.stderr_text(),
            "no warning that max_events_per_request needs a restart")


if __name__ == "__main__":
    h.run_tests(globals())
