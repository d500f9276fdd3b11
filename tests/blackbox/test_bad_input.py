"""Hostile and broken input never brings doudi-intake down, and every refusal
is specific, kept and counted.

Garbage frames, truncated PublishRequests, oversized messages (above
max_request_bytes, which ZeroMQ drops), wrong multipart shapes and requests
with too many events are answered with the right request_error (or, for the
oversized ones, dropped) while intake stays up and keeps serving; the
REQ-style delimiter framing works from a DEALER and from a REQ socket.
Inside a good request, every event is judged alone: undecodable events and
events breaking each rule of event.proto get their own RejectReason, the
good events beside them are accepted, the refused ones are listed by the
admin endpoint as dead letters holding the exact bytes sent (also page by
page), the reason filter of the listing works, and
doudi_intake_events_rejected_total counts each reason. Replies stay
decodable by Google's protobuf runtime even when an event's id is not
UTF-8, and neither refusal texts nor intake's stderr (at the debug level)
carry a whole identity number. A 15-digit identity number is refused
under the reject policy and, with the default upgrade policy, accepted and
stored in its 18-character form. The log and admin endpoints survive
garbage too.
"""

import re

import zmq

import harness as h
from doudi import admin_pb2, event_pb2, log_pb2, publish_pb2

R = publish_pb2.RejectReason
OVERRIDES = {"intake": {"fifteen_digit_ids": "reject", "max_events_per_request": "50",
                        "max_request_bytes": "256K"}}
DAY_MS = 86_400_000


def reason(name):
    return R.Value("REJECT_REASON_" + name.upper())


def alive_and_serving(intake, factory, i):
    """intake is running and a good event goes in."""
    h.check(intake.alive(), f"intake exited: status {intake.proc.returncode}\n"
            + intake.stderr_tail())
    st = h.publish_one(intake.publish_endpoint, factory.encoded(i))
    h.check_eq(h.OUTCOME.Name(st.outcome), "OUTCOME_ACCEPTED", "a good event after bad input")


def reply_of(frames):
    h.check(frames is not None, "no reply")
    return publish_pb2.PublishReply.FromString(frames[-1])


# ---------------------------------------------------------------------------
# Whole requests
# ---------------------------------------------------------------------------


def test_garbage_and_truncated_requests(env):
    intake = env.intake(OVERRIDES)
    f = h.EventFactory("bb-garbage")
    c = h.RawClient(intake.publish_endpoint)
    garbage = [b"\xff" * 16, b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
               b"\x12\x05ab", b"\x0f", b"\x08", bytes(range(256))]
    for g in garbage:
        c.send(g)
        rep = reply_of(c.recv())
        h.check_eq(R.Name(rep.request_error), "REJECT_REASON_REQUEST_UNDECODABLE",
                   f"request_error for garbage {g[:12]!r}")
        h.check(rep.request_error_text, "request_error_text is empty")
        h.check_eq(len(rep.statuses), 0, "statuses of a refused request")

    # Cut a good request at every byte: intake must answer exactly as
    # Google's parser judges the prefix (undecodable, or a shorter request).
    good = publish_pb2.PublishRequest(request_id=99, events=f.batch(2, 100)).SerializeToString()
    for cut in range(1, len(good)):
        prefix = good[:cut]
        try:
            parsed = publish_pb2.PublishRequest.FromString(prefix)
        except Exception:
            parsed = None
        c.send(prefix)
        rep = reply_of(c.recv())
        if parsed is None:
            h.check_eq(R.Name(rep.request_error), "REJECT_REASON_REQUEST_UNDECODABLE",
                       f"request cut at {cut} of {len(good)} bytes")
        else:
            h.check_eq(rep.request_error, 0, f"request cut at {cut} (decodable prefix)")
            h.check_eq(len(rep.statuses), len(parsed.events), f"statuses of cut {cut}")
    c.close()
    alive_and_serving(intake, f, 1)
    m = intake.metrics()
    h.check(m.value("doudi_intake_publish_requests_refused_total", reason="request_undecodable")
            >= len(garbage), "refused requests are counted")


def test_oversized_messages_are_dropped(env):
    intake = env.intake(OVERRIDES)
    f = h.EventFactory("bb-oversize")
    before = intake.metrics().value("doudi_intake_publish_requests_total")
    big = publish_pb2.PublishRequest(request_id=5, events=[b"\x00" * (300 * 1024)])
    c = h.RawClient(intake.publish_endpoint)
    c.send(big.SerializeToString())
    # ZeroMQ drops the message and closes the connection: no answer comes.
    h.check(c.recv(timeout=0.5 / h.time_scale()) is None, "an oversized request was answered")
    c.close()
    alive_and_serving(intake, f, 1)
    after = intake.metrics().value("doudi_intake_publish_requests_total")
    h.check_eq(after - before, 1, "requests counted (only the good one)")
    # Just below the limit is taken: an event too large for max_event_bytes
    # (64K) inside a request under max_request_bytes (256K).
    e = f.envelope(2, "risk_signal")
    raw = e.SerializeToString() + b"\xc2\x3e" + _varint(70 * 1024) + b"x" * (70 * 1024)
    st = h.publish_one(intake.publish_endpoint, raw)
    h.check_eq(R.Name(st.reason), "REJECT_REASON_EVENT_TOO_LARGE", "reason of a 70K event")
    # Oversized messages to the log and admin endpoints (1 MiB cap) too.
    for endpoint in (intake.log_endpoint, intake.admin_endpoint):
        c = h.RawClient(endpoint)
        c.send(b"\x08" * (2 << 20))
        h.check(c.recv(timeout=0.5 / h.time_scale()) is None,
                f"an oversized message to {endpoint} was answered")
        c.close()
    alive_and_serving(intake, f, 3)
    h.check(h.LogReader(intake.log_endpoint).head() >= 2, "log endpoint serves after abuse")


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def test_multipart_shapes(env):
    intake = env.intake(OVERRIDES)
    f = h.EventFactory("bb-frames")
    req = publish_pb2.PublishRequest(request_id=11, events=[f.encoded(1)]).SerializeToString()
    c = h.RawClient(intake.publish_endpoint)

    for frames in ([b"x", req], [req, req], [b"a", b"b", b"c"], [b"", req, req],
                   [b"", b"", req], [b""] * 5):
        c.send(*frames)
        got = c.recv()
        rep = reply_of(got)
        h.check_eq(R.Name(rep.request_error), "REJECT_REASON_REQUEST_BAD_FRAMES",
                   f"request_error for {len(frames)} frames")
        h.check_eq(len(got), 1, "frames of the reply to a DEALER")

    # One empty frame is an empty PublishRequest: answered, with no status.
    c.send(b"")
    rep = reply_of(c.recv())
    h.check_eq(rep.request_error, 0, "request_error of an empty request")
    h.check_eq(len(rep.statuses), 0, "statuses of an empty request")

    # REQ-style framing from a DEALER: answered with the delimiter.
    c.send(b"", req)
    got = c.recv()
    h.check(got is not None and len(got) == 2 and got[0] == b"",
            f"reply to a delimited request: {got!r}")
    rep = publish_pb2.PublishReply.FromString(got[1])
    h.check_eq(rep.request_id, 11, "request_id echoed")
    h.check_eq(h.OUTCOME.Name(rep.statuses[0].outcome), "OUTCOME_ACCEPTED", "delimited request")
    c.close()

    # A real REQ socket.
    s = h.zctx().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(intake.publish_endpoint)
    req2 = publish_pb2.PublishRequest(request_id=12, events=[f.encoded(1), f.encoded(2)])
    s.send(req2.SerializeToString())
    h.check(s.poll(int(10000 * h.time_scale())), "no reply to a REQ socket")
    rep = publish_pb2.PublishReply.FromString(s.recv())
    h.check_eq([h.OUTCOME.Name(x.outcome) for x in rep.statuses],
               ["OUTCOME_DUPLICATE", "OUTCOME_ACCEPTED"], "outcomes via REQ")
    s.close(0)
    alive_and_serving(intake, f, 3)
    m = intake.metrics()
    h.check_eq(m.value("doudi_intake_publish_requests_refused_total", reason="request_bad_frames"),
               6.0, "requests refused for their frames")


def test_too_many_events(env):
    intake = env.intake(OVERRIDES)
    f = h.EventFactory("bb-many")
    c = h.RawClient(intake.publish_endpoint)
    c.send(publish_pb2.PublishRequest(request_id=77, events=f.batch(51)).SerializeToString())
    rep = reply_of(c.recv())
    h.check_eq(R.Name(rep.request_error), "REJECT_REASON_REQUEST_TOO_MANY_EVENTS",
               "request_error for 51 events (max 50)")
    h.check_eq(rep.request_id, 77, "request_id of a refused request")
    h.check_eq(len(rep.statuses), 0, "statuses of a refused request")
    h.check_eq(h.LogReader(intake.log_endpoint).head(), 0, "log head after the refusal")
    c.send(publish_pb2.PublishRequest(request_id=78, events=f.batch(50)).SerializeToString())
    rep = reply_of(c.recv())
    h.check_eq(rep.request_error, 0, "request_error for 50 events")
    h.check(all(s.outcome == h.ACCEPTED for s in rep.statuses), "50 events accepted")
    c.close()


# ---------------------------------------------------------------------------
# Events, one reason each
# ---------------------------------------------------------------------------


def bad_events(f, base_ms):
    """(name, expected reason, encoded event, ids readable) for every reason
    an event can be refused for."""
    cases = []
    n = [1000]

    def make(kind="person_reported"):
        n[0] += 1
        return f.envelope(n[0], kind)

    def add(name, why, env_or_bytes, readable=True):
        raw = env_or_bytes if isinstance(env_or_bytes, bytes) else env_or_bytes.SerializeToString()
        cases.append((name, reason(why), raw, readable))

    def mutated(kind, fn):
        e = make(kind)
        fn(e)
        return e

    def with_bytes(kind, fn, marker, replacement):
        """An event whose string field holds bytes Python will not set."""
        e = make(kind)
        fn(e)
        raw = e.SerializeToString()
        h.check(raw.count(marker) == 1, "marker is unique")
        return raw.replace(marker, replacement)

    good_pid = "440101198001011234"
    good_pid = good_pid[:17] + h.id_check_char(good_pid[:17])

    add("garbage bytes", "undecodable", b"\xff\xff\xff\xff", False)
    add("truncated envelope", "undecodable", make().SerializeToString()[:-3], False)
    add("wire type 7", "undecodable", b"\x0f\x01", False)
    # Unknown fields with numbers the wire format forbids: 0 (a padded
    # varint key) and 2^29, which protobuf-c reads but cannot write back.
    add("field number 0", "undecodable", make().SerializeToString() + b"\x80\x00\x01", False)
    add("field number 2^29", "undecodable",
        make().SerializeToString() + _varint(1 << 32) + b"\x01", False)
    add("NUL inside event_id", "bad_characters",
        with_bytes("person_reported", lambda e: setattr(e, "event_id", "NULMARK1"),
                   b"NULMARK1", b"NUL\x00MAR1"), False)
    add("no event_id", "missing_field", mutated("risk_signal", lambda e: e.ClearField("event_id")))
    add("no source", "missing_field", mutated("risk_signal", lambda e: e.ClearField("source")),
        False)
    add("no occurred_at", "missing_field",
        mutated("risk_signal", lambda e: e.ClearField("occurred_at_ms")))
    add("no region", "missing_field", mutated("risk_signal", lambda e: e.ClearField("region_code")))
    add("no household_id", "missing_field",
        mutated("person_reported", lambda e: e.person_reported.ClearField("household_id")))
    add("no risk kind", "missing_field",
        mutated("risk_signal", lambda e: e.risk_signal.ClearField("kind")))
    add("no visit outcome", "missing_field",
        mutated("visit_report", lambda e: e.visit_report.ClearField("outcome")))
    add("event_id of 65 bytes", "field_too_long",
        mutated("risk_signal", lambda e: setattr(e, "event_id", "e" * 65)), True)
    add("description of 513 bytes", "field_too_long",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "description", "d" * 513)))
    add("65 household members", "field_too_long",
        mutated("household_reported", lambda e: e.household_reported.member_person_ids.extend(
            [good_pid] * 65)))
    add("upper-case source", "bad_characters",
        mutated("risk_signal", lambda e: setattr(e, "source", "Portal-A")))
    add("control character in event_id", "bad_characters",
        mutated("risk_signal", lambda e: setattr(e, "event_id", "id\x07bell")))
    add("event_id not UTF-8", "bad_characters",
        with_bytes("risk_signal", lambda e: setattr(e, "event_id", "UTFMARK1"),
                   b"UTFMARK1", b"\xff\xfeAB\xc3(12"), False)
    add("description not UTF-8", "bad_characters",
        with_bytes("risk_signal", lambda e: setattr(e.risk_signal, "description", "DESCMARK"),
                   b"DESCMARK", b"ab\xc3\x28\xa0\xa1cd"), False)
    add("no body", "unknown_body",
        mutated("risk_signal", lambda e: e.ClearField("risk_signal")))
    # Field 50 (a body kind a newer event.proto might add) holding {1: 1}.
    add("body kind 50", "unknown_body",
        mutated("risk_signal", lambda e: e.ClearField("risk_signal")).SerializeToString()
        + b"\x92\x03\x02\x08\x01")
    add("risk kind 99", "unknown_enum_value",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "kind", 99)))
    add("disability type 42", "unknown_enum_value",
        mutated("person_reported", lambda e: setattr(e.person_reported, "disability_type", 42)))
    add("negative ADL value", "unknown_enum_value",
        mutated("person_reported",
                lambda e: setattr(e.person_reported.daily_living, "bathing", -3)))
    add("id of 17 characters", "id_bad_length",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "subject_person_id",
                                                 good_pid[:17])))
    add("id of 19 characters", "id_bad_length",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "subject_person_id",
                                                 good_pid + "1")))
    add("letter inside the id", "id_bad_character",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "subject_person_id",
                                                 good_pid[:8] + "A" + good_pid[9:])))
    add("lower-case x check", "id_bad_character",
        mutated("application", lambda e: setattr(
            e.application, "applicant_person_id",
            _with_check("44010119800101123", "x"))))
    add("30 February", "id_bad_date",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "subject_person_id",
                                                 h.person_id("440101", "19800230", 12))))
    add("born in 2099", "id_bad_date",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "subject_person_id",
                                                 h.person_id("440101", "20991231", 12))))
    add("wrong check character", "id_bad_check",
        mutated("person_reported", lambda e: setattr(
            e.person_reported, "person_id", _wrong_check(good_pid))))
    add("wrong check in a member", "id_bad_check",
        mutated("household_reported", lambda e: e.household_reported.member_person_ids.append(
            _wrong_check(good_pid))))
    add("15 digits (reject policy)", "id_fifteen_digits",
        mutated("risk_signal", lambda e: setattr(e.risk_signal, "subject_person_id",
                                                 "440101800101123")))
    add("region of 11 digits", "region_bad_format",
        mutated("risk_signal", lambda e: setattr(e, "region_code", "44010100100")))
    add("region with a letter", "region_bad_format",
        mutated("risk_signal", lambda e: setattr(e, "region_code", "4401010010a1")))
    add("region of 13 digits", "region_bad_format",
        mutated("risk_signal", lambda e: setattr(e, "region_code", "4401010010011")))
    add("prefecture 22", "region_unknown",
        mutated("risk_signal", lambda e: setattr(e, "region_code", h.region_code(22, 1, 1, 1))))
    add("township 005", "region_unknown",
        mutated("risk_signal", lambda e: setattr(e, "region_code", h.region_code(1, 1, 5, 1))))
    add("village 027", "region_unknown",
        mutated("person_reported",
                lambda e: setattr(e, "region_code", h.region_code(21, 6, 104, 27))))
    add("an hour ahead", "time_in_future",
        mutated("risk_signal", lambda e: setattr(e, "occurred_at_ms", base_ms + 3600_000)))
    add("3651 days old", "time_too_old",
        mutated("risk_signal", lambda e: setattr(e, "occurred_at_ms", base_ms - 3651 * DAY_MS)))
    add("negative income", "negative_money",
        mutated("person_reported",
                lambda e: setattr(e.person_reported, "own_monthly_income_fen", -1)))
    add("negative vehicle", "negative_money",
        mutated("household_reported",
                lambda e: e.household_reported.vehicle_values_fen.append(-100)))
    add("disability grade 7", "value_out_of_range",
        mutated("person_reported", lambda e: setattr(e.person_reported, "disability_grade", 7)))
    add("capacity 10001", "value_out_of_range",
        mutated("roster_change",
                lambda e: setattr(e.roster_change, "monthly_visit_capacity", 10001)))
    add("event of 70K", "event_too_large",
        make("risk_signal").SerializeToString() + b"\xc2\x3e" + _varint(70 * 1024)
        + b"z" * (70 * 1024), False)
    return cases


def _with_check(first17, ch):
    return first17 + ch


def _wrong_check(pid):
    right = pid[17]
    return pid[:17] + ("1" if right != "1" else "2")


def test_every_reject_reason(env):
    overrides = {"intake": dict(OVERRIDES["intake"], log_level="debug")}
    intake = env.intake(overrides)
    base_ms = h.now_ms()
    f = h.EventFactory("bb-reasons", base_ms=base_ms)
    cases = bad_events(f, base_ms)
    wanted = {reason(x) for x in (
        "undecodable", "missing_field", "field_too_long", "bad_characters", "unknown_body",
        "unknown_enum_value", "id_bad_length", "id_bad_character", "id_bad_date", "id_bad_check",
        "id_fifteen_digits", "region_bad_format", "region_unknown", "time_in_future",
        "time_too_old", "negative_money", "value_out_of_range", "event_too_large")}
    h.check_eq({c[1] for c in cases}, wanted, "reasons covered")

    # Each bad event between two good ones, all in requests of 3.
    events, expect = [], []
    for k, (name, why, raw, _) in enumerate(cases):
        events += [f.encoded(2 * k), raw, f.encoded(2 * k + 1)]
        expect += [None, (name, why, raw), None]
    results = h.publish(intake.publish_endpoint, events, batch=3)
    rejected = []
    for st, exp, raw in zip(results, expect, events):
        h.check(not isinstance(st, h.RequestRefused), f"a request was refused: {st}")
        if exp is None:
            h.check_eq(h.OUTCOME.Name(st.outcome), "OUTCOME_ACCEPTED", "a good event's outcome")
            continue
        name, why, _ = exp
        h.check_eq(h.OUTCOME.Name(st.outcome), "OUTCOME_REJECTED", f"outcome of '{name}'")
        h.check_eq(R.Name(st.reason), R.Name(why), f"reason of '{name}' ({st.reason_text})")
        h.check(st.reason_text, f"'{name}' has no reason_text")
        h.check(st.dead_letter_id > 0, f"'{name}' has no dead_letter_id")
        rejected.append((name, why, raw, st))
    alive_and_serving(intake, f, 10**6)

    # No whole identity number in any text.
    texts = " ".join(st.reason_text for *_, st in rejected)
    for pid in ("440101198001011234"[:17], _wrong_check("440101198001011234")):
        h.check(pid not in texts, f"a refusal text shows the identity number {pid}")

    # Nor in intake's own diagnostics, at the debug level.
    h.check(not re.search(r"\d{15}", intake.stderr_text()),
            "intake's stderr shows an identity number")

    # Dead letters: one per refusal, holding the exact bytes.
    held, total = h.dead_letters(intake.admin_endpoint)
    h.check_eq(total, len(rejected), "dead letters held (total)")
    by_id = {d.id: d for d in held}
    h.check_eq(len(by_id), len(rejected), "dead letters listed")
    readable = {c[0]: c[3] for c in cases}
    for name, why, raw, st in rejected:
        d = by_id.get(st.dead_letter_id)
        h.check(d is not None, f"dead letter {st.dead_letter_id} of '{name}' is not listed")
        h.check(d.raw_event == raw, f"dead letter of '{name}' does not hold the bytes sent")
        h.check_eq(d.reason, why, f"dead letter reason of '{name}'")
        h.check_eq(d.reason_text, st.reason_text, f"dead letter text of '{name}'")
        h.check(d.rejected_at_ms > 0, f"dead letter of '{name}' has no time")
        if readable[name]:
            e = event_pb2.Envelope.FromString(raw)
            h.check_eq((d.source, d.event_id), (e.source, e.event_id), f"ids of '{name}'")
    # Pages of 10 list the same.
    paged, after = [], 0
    while True:
        rep = h.admin(intake.admin_endpoint, dead_letter_list=admin_pb2.DeadLetterListRequest(
            after_id=after, limit=10))
        page = list(rep.dead_letter_list.dead_letters)
        h.check(len(page) <= 10, "a page is longer than its limit")
        h.check_eq(rep.dead_letter_list.total, len(rejected), "total on every page")
        if not page:
            break
        paged += page
        after = page[-1].id
    h.check_eq([d.id for d in paged], [d.id for d in held], "dead letters listed in pages of 10")
    # Listing by reason.
    only, total = h.dead_letters(intake.admin_endpoint, reason=reason("region_unknown"))
    h.check_eq(sorted(d.id for d in only),
               sorted(st.dead_letter_id for _, why, _, st in rejected
                      if why == reason("region_unknown")), "dead letters listed by reason")

    # Counted by reason.
    m = intake.metrics()
    for why in sorted(wanted):
        n = sum(1 for _, w, _, _ in rejected if w == why)
        label = h.reason_label(why)
        h.check_eq(m.value("doudi_intake_events_rejected_total", reason=label), float(n),
                   f'doudi_intake_events_rejected_total{{reason="{label}"}}')
    # A gauge refreshed by the maintenance timer (every second).
    h.wait_for(lambda: intake.metrics().value("doudi_intake_dead_letters") == len(rejected),
               5 * h.time_scale(), f"doudi_intake_dead_letters to reach {len(rejected)}")
    # Nothing refused reached the log.
    records = h.LogReader(intake.log_endpoint).read_all()
    h.check_eq(len(records), 2 * len(cases) + 1, "records in the log")
    for r in records:
        h.check(r.payload != b"" and all(r.payload != raw for _, _, raw, _ in rejected),
                f"a refused event is in the log at {r.sequence}")


def test_fifteen_digit_ids_upgraded_by_default(env):
    intake = env.intake()
    f = h.EventFactory("bb-fifteen")
    id15 = "440101650815123"
    e = f.envelope(1, "risk_signal")
    e.risk_signal.subject_person_id = id15
    m = f.envelope(2, "household_reported")
    del m.household_reported.member_person_ids[:]
    m.household_reported.member_person_ids.extend([id15, "440101700203456"])
    results = h.publish(intake.publish_endpoint, [e.SerializeToString(), m.SerializeToString()])
    for st in results:
        h.check_eq(h.OUTCOME.Name(st.outcome), "OUTCOME_ACCEPTED",
                   f"outcome of a 15-digit id ({st.reason_text})")
    records = h.LogReader(intake.log_endpoint).read_all()
    h.check_eq(len(records), 2, "records")
    stored = event_pb2.Envelope.FromString(records[0].payload)
    h.check_eq(stored.risk_signal.subject_person_id, h.upgrade15(id15), "stored id")
    h.check_eq(len(stored.risk_signal.subject_person_id), 18, "stored id length")
    stored = event_pb2.Envelope.FromString(records[1].payload)
    h.check_eq(list(stored.household_reported.member_person_ids),
               [h.upgrade15(id15), h.upgrade15("440101700203456")], "stored member ids")
    # Everything else of the event is as sent.
    e.risk_signal.subject_person_id = h.upgrade15(id15)
    h.check_eq(event_pb2.Envelope.FromString(records[0].payload), e, "the rest of the event")
    # The same event again is a duplicate of the stored one.
    e.risk_signal.subject_person_id = id15
    st = h.publish_one(intake.publish_endpoint, e.SerializeToString())
    h.check_eq((h.OUTCOME.Name(st.outcome), st.sequence), ("OUTCOME_DUPLICATE", 1),
               "the 15-digit event sent again")


def test_log_and_admin_endpoints_survive_garbage(env):
    intake = env.intake(OVERRIDES)
    f = h.EventFactory("bb-endpoints")
    h.publish(intake.publish_endpoint, f.batch(3))
    # Log endpoint.
    c = h.RawClient(intake.log_endpoint)
    c.send(b"\xff\xff\xff")
    got = c.recv()
    h.check(got is not None, "no reply to a garbage fetch")
    rep = log_pb2.FetchReply.FromString(got[-1])
    h.check_eq(log_pb2.FetchStatus.Name(rep.status), "FETCH_STATUS_BAD_REQUEST", "garbage fetch")
    c.send(log_pb2.FetchRequest(request_id=3, consumer="Not A Name").SerializeToString())
    rep = log_pb2.FetchReply.FromString(c.recv()[-1])
    h.check_eq((rep.request_id, log_pb2.FetchStatus.Name(rep.status)),
               (3, "FETCH_STATUS_BAD_REQUEST"), "fetch with a bad consumer name")
    c.send(log_pb2.FetchRequest(request_id=4, after_sequence=1000).SerializeToString())
    rep = log_pb2.FetchReply.FromString(c.recv()[-1])
    h.check_eq((rep.request_id, log_pb2.FetchStatus.Name(rep.status), rep.head_sequence),
               (4, "FETCH_STATUS_AHEAD_OF_LOG", 3), "fetch beyond the head")
    c.send(b"a", b"b", b"c")  # dropped (counted), no reply expected
    c.send(b"", log_pb2.FetchRequest(request_id=5, after_sequence=1).SerializeToString())
    got = c.recv()
    h.check(got is not None and got[0] == b"", f"delimited fetch reply: {got!r}")
    rep = log_pb2.FetchReply.FromString(got[-1])
    h.check_eq((rep.request_id, [r.sequence for r in rep.records]), (5, [2, 3]),
               "delimited fetch")
    c.close()
    # Admin endpoint.
    c = h.RawClient(intake.admin_endpoint)
    c.send(b"\xff\xff\xff")
    rep = admin_pb2.AdminReply.FromString(c.recv()[-1])
    h.check(rep.error_text, "garbage admin request answered without error_text")
    c.send(admin_pb2.AdminRequest(request_id=8).SerializeToString())
    rep = admin_pb2.AdminReply.FromString(c.recv()[-1])
    h.check(rep.request_id == 8 and rep.error_text, "admin request without a command")
    rep = h.admin(intake.admin_endpoint, dead_letter_replay=admin_pb2.DeadLetterReplayRequest(
        ids=[424242]))
    h.check_eq(len(rep.dead_letter_replay.statuses), 1, "statuses of a replay of nothing")
    st = rep.dead_letter_replay.statuses[0]
    h.check_eq((h.OUTCOME.Name(st.outcome), st.reason), ("OUTCOME_REJECTED", 0),
               "replay of an unknown dead letter")
    c.close()
    alive_and_serving(intake, f, 10)


if __name__ == "__main__":
    h.run_tests(globals())
