"""doudi-alerts on a real chain, intake -> eligibility -> alerts: the
lifecycle of alerts on the event clock.

test_escalation_acknowledgement_dedup: risk signals published to intake
become eligibility RISK alerts (handling window 1 h); events later in event
time move the clock. An alert nobody acknowledges climbs village ->
township -> county -> city -> province, one level per passed deadline, each
escalation a stream record stamped with the deadline that passed, and then
stays at the province; one acknowledged in time never escalates and counts
as handled in time; one acknowledged after its first escalation counts as
late. A repeat of an open alert is merged (count 2), not delivered again.
Acknowledgements naming an unknown alert or coming from an office off the
alert's ladder are refused and counted. The timeliness counters, the
stream (replay by prefix and a live subscriber) and the metrics agree.

test_silence_window: a silence of one township and kind holds back the
alerts raised inside its window (stored SILENCED, not delivered, never
escalated, a repeat merged into it), not those before it, after it or
elsewhere; a malformed silence is refused with a reason.
"""

import datetime

import alerts_harness as ah
import harness as h
from doudi import alerts_pb2, eligibility_pb2

T0 = int(datetime.datetime(2026, 6, 1, 8, 0, tzinfo=datetime.timezone(
    datetime.timedelta(hours=8))).timestamp() * 1000)
HOUR, MIN = ah.HOUR, 60_000
FAR = "441401101003"  # another city: the clock ticks come from there

INTAKE = {"intake": {"clock": "event"}, "log": {"retention": "3650d"}}
ELIG = {"alerts": {"risk_handle_within": "1h"}, "log": {"consumers": "alerts"}}


def chain(env, alerts_overrides=None):
    intake = env.intake(INTAKE)
    elig = env.eligibility(intake, ELIG)
    alerts = ah.start_alerts(env, elig, alerts_overrides)
    return intake, elig, alerts


def by_id(alerts):
    return {a.id: a for a in alerts}


def entries_of(entries, alert_id):
    return [e for e in entries if e.update.alert.id == alert_id]


def test_escalation_acknowledgement_dedup(env):
    intake, elig, alerts = chain(env)
    v1, v2, v3 = "440106001005", "440106001006", "440106101003"
    p = [ah.person(i) for i in range(20)]
    sub = ah.Subscriber(alerts.live_endpoint, alerts.request_endpoint, "440106001")
    held = []

    ah.publish_all(intake, [
        ah.risk_signal("r1", p[1], v1, T0),
        ah.risk_signal("r2", p[2], v2, T0 + 1 * MIN),
        ah.risk_signal("r3", p[3], v3, T0 + 2 * MIN),
        ah.risk_signal("r1-again", p[1], v1, T0 + 5 * MIN),
    ])
    alerts.wait_caught_up(30)
    got = by_id(alerts.list())
    h.check_eq(sorted(got), ["A1", "A2", "A3"], "alert ids after the first batch")
    h.check_eq((got["A1"].region_code, got["A1"].count, got["A1"].last_seen_at_ms),
               (v1, 2, T0 + 5 * MIN), "A1 after its repeat (region, count, last seen)")
    h.check_eq((got["A2"].region_code, got["A3"].region_code), (v2, v3), "regions of A2, A3")
    for a in got.values():
        h.check_eq(a.state, ah.STATE.Value("ALERT_STATE_OPEN"), f"state of {a.id}")
        h.check_eq(a.deadline_ms, a.raised_at_ms + HOUR, f"deadline of {a.id}")
        h.check_eq(a.kind, eligibility_pb2.ALERT_KIND_RISK, f"kind of {a.id}")

    ah.publish_all(intake, [
        ah.acknowledgement("k2", "A2", v2, T0 + 30 * MIN),
        ah.risk_signal("tick1", p[10], FAR, T0 + HOUR + 10 * MIN),
        ah.acknowledgement("k3", "A3", "440106101000", T0 + HOUR + 20 * MIN),
        ah.acknowledgement("k-unknown", "A999", v1, T0 + HOUR + 21 * MIN),
        ah.acknowledgement("k-foreign", "A1", "440105001001", T0 + HOUR + 22 * MIN),
        ah.risk_signal("tick2", p[11], FAR, T0 + 2 * HOUR + 10 * MIN),
        ah.risk_signal("tick3", p[12], FAR, T0 + 3 * HOUR + 10 * MIN),
        ah.risk_signal("tick4", p[13], FAR, T0 + 4 * HOUR + 10 * MIN),
        ah.risk_signal("tick5", p[14], FAR, T0 + 5 * HOUR + 10 * MIN),
        ah.acknowledgement("k2-resolve", "A2", v2, T0 + 5 * HOUR + 20 * MIN, action=2),
    ])
    alerts.wait_caught_up(30)
    got = by_id(alerts.list(states=range(1, 7)))
    a1, a2, a3 = got["A1"], got["A2"], got["A3"]
    h.check_eq((a1.state, a1.level, a1.escalations, a1.office_code),
               (ah.STATE.Value("ALERT_STATE_ESCALATED"), ah.LEVEL.Value("ALERT_LEVEL_PROVINCE"), 4,
                "440000000000"), "A1 unacknowledged: state, level, escalations, office")
    h.check_eq(a1.deadline_ms, 0, "A1's deadline at the top of the ladder (overdue)")
    h.check_eq((a2.state, a2.level, a2.handled_in_time, a2.acknowledged_at_ms,
                a2.resolved_at_ms),
               (ah.STATE.Value("ALERT_STATE_RESOLVED"), ah.LEVEL.Value("ALERT_LEVEL_VILLAGE"), True,
                T0 + 30 * MIN, T0 + 5 * HOUR + 20 * MIN), "A2 acknowledged in time, resolved")
    h.check_eq((a3.state, a3.level, a3.handled_in_time, a3.escalations),
               (ah.STATE.Value("ALERT_STATE_ACKNOWLEDGED"), ah.LEVEL.Value("ALERT_LEVEL_TOWNSHIP"),
                False, 1), "A3 acknowledged by its township after one escalation")

    entries = alerts.replay_all()
    h.check_eq([e.sequence for e in entries], list(range(1, len(entries) + 1)),
               "stream sequences")
    e1 = entries_of(entries, "A1")
    h.check_eq([(CH(e), e.update.alert.level, e.update.at_ms) for e in e1],
               [("RAISED", 1, T0)] + [("ESCALATED", lvl, T0 + (lvl - 1) * HOUR)
                                      for lvl in (2, 3, 4, 5)],
               "A1's stream records (change, level, at)")
    h.check_eq([CH(e) for e in entries_of(entries, "A2")], ["RAISED", "ACKNOWLEDGED", "RESOLVED"],
               "A2's stream records")
    h.check_eq([(CH(e), e.update.alert.level) for e in entries_of(entries, "A3")],
               [("RAISED", 1), ("ESCALATED", 2), ("ACKNOWLEDGED", 2)], "A3's stream records")
    h.check_eq(sum(1 for e in entries if CH(e) == "RAISED"), 3 + 5,
               "alerts raised (the repeat merged)")
    # Replay by prefix is the whole stream filtered, in order.
    for prefix in ("44", "4401", "440106", "440106001", v1, "4414"):
        want = [e.sequence for e in entries if e.update.alert.region_code.startswith(prefix)]
        h.check_eq([e.sequence for e in alerts.replay_all(prefix)], want, f"replay of {prefix}")

    # The live subscriber (started before anything was raised) holds the
    # same, in order, once.
    want = [e.sequence for e in entries if e.update.alert.region_code.startswith("440106001")]
    h.wait_for(lambda: (held.extend(sub.poll(0.1)) or True) and
               [e.sequence for e in held] == want, 10 * h.time_scale(),
               f"the live subscriber of 440106001 to hold {want} (has "
               f"{[e.sequence for e in held]})")
    sub.close()

    h.check_eq(alerts.rate("440106", 202606), (1, 3), "timeliness of 440106 in June (in time, due)")
    h.check_eq(alerts.rate("440106001"), (1, 2), "timeliness of 440106001, every month")
    h.check_eq(alerts.rate(v3), (0, 1), f"timeliness of {v3}")
    m = alerts.metrics()
    h.check_eq(m.value("doudi_alerts_rejected_total", reason="ack_unknown_alert"), 1.0,
               "acknowledgements of an unknown alert")
    h.check_eq(m.value("doudi_alerts_rejected_total", reason="ack_foreign_office"), 1.0,
               "acknowledgements from an office off the ladder")
    h.check_eq(m.value("doudi_alerts_merged_total"), 1.0, "merged repeats")
    h.check_eq(m.value("doudi_alerts_raised_total", kind="risk"), 8.0, "raised risk alerts")
    h.check(m.value("doudi_alerts_escalations_total", level="province") >= 1,
            "no escalation to the province counted")
    h.check_eq(m.value("doudi_alerts_held", state="resolved"), 1.0, "resolved alerts held")
    h.wait_for(lambda: alerts.metrics().get("doudi_alerts_timeliness_ratio", city="4401") == 1 / 3,
               5 * h.time_scale(), "doudi_alerts_timeliness_ratio{city=4401} to be 1/3")
    h.check(m.value("doudi_consumer_lag_records", upstream="eligibility") == 0, "lag")
    unknown = alerts.request(get=alerts_pb2.GetRequest(alert_id="A999"))
    h.check("not held" in unknown.error_text, f"get A999: {unknown.error_text!r}")
    h.check("A999" in alerts.stderr_text() and "ack_unknown_alert" in alerts.stderr_text(),
            "the unknown acknowledgement was not logged")
    h.check_eq(alerts.stop(), 0, "exit status after SIGTERM")


def CH(entry):
    return ah.CHANGE.Name(entry.update.change)[len("ALERT_CHANGE_"):]


def test_silence_window(env):
    intake, elig, alerts = chain(env)
    kind = eligibility_pb2.ALERT_KIND_RISK
    bad = alerts.silence("440106002", kind, T0 + 2 * HOUR, T0 + HOUR)
    h.check("after starts_at_ms" in bad.error_text, f"backwards silence: {bad.error_text!r}")
    bad = alerts.silence("4401060", kind, T0, T0 + HOUR)
    h.check("region_prefix" in bad.error_text, f"7-digit prefix: {bad.error_text!r}")
    rep = alerts.silence("440106002", kind, T0 + HOUR, T0 + 2 * HOUR, comment="known outage")
    h.check(not rep.error_text, f"silence refused: {rep.error_text}")
    h.check_eq(rep.silence.silence.id, 1, "the first silence's id")
    listed = alerts.request(silences=alerts_pb2.SilenceListRequest()).silences.silences
    h.check_eq([(s.id, s.region_prefix, s.comment) for s in listed],
               [(1, "440106002", "known outage")], "silences held")

    p = [ah.person(100 + i) for i in range(10)]
    ah.publish_all(intake, [
        ah.risk_signal("before", p[0], "440106002001", T0 + 30 * MIN),         # A1
        ah.risk_signal("inside", p[1], "440106002001", T0 + HOUR + 5 * MIN),    # A2 silenced
        ah.risk_signal("elsewhere", p[2], "440106003001", T0 + HOUR + 10 * MIN),  # A3
        ah.risk_signal("inside-again", p[1], "440106002001", T0 + HOUR + 20 * MIN),  # merged
        ah.risk_signal("after", p[3], "440106002002", T0 + 2 * HOUR + 5 * MIN),  # A4
        ah.risk_signal("tick", p[4], FAR, T0 + 6 * HOUR),                        # A5
    ])
    alerts.wait_caught_up(30)
    got = by_id(alerts.list(states=range(1, 7)))
    h.check_eq(sorted(got), ["A1", "A2", "A3", "A4", "A5"], "alerts held")
    a2 = got["A2"]
    h.check_eq((a2.state, a2.silence_id, a2.level, a2.count, a2.escalations),
               (ah.STATE.Value("ALERT_STATE_SILENCED"), 1, 1, 2, 0),
               "the alert raised inside the window (state, silence, level, count, escalations)")
    for i in ("A1", "A3", "A4"):
        h.check(got[i].escalations > 0 and got[i].silence_id == 0,
                f"{i} outside the silence was not escalated normally: {got[i]}")
    delivered = {e.update.alert.id for e in alerts.replay_all()}
    h.check_eq(sorted(delivered), ["A1", "A3", "A4", "A5"], "alerts in the stream")
    silenced = alerts.list("440106", states=[ah.STATE.Value("ALERT_STATE_SILENCED")],
                           unresolved_only=True)
    h.check_eq([a.id for a in silenced], ["A2"], "silenced alerts listed for 440106")
    m = alerts.metrics()
    h.check_eq(m.value("doudi_alerts_silenced_total"), 1.0, "silenced alerts counted")
    h.check_eq(alerts.rate("440106002"), (0, 2), "a silenced alert is never due")



def doudictl(*args):
    import subprocess
    r = subprocess.run([h.binary("doudictl"), *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30 * h.time_scale())
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_doudictl_alerts(env):
    """doudictl alerts: tail from the start, list, ack through intake, rate."""
    import json
    intake, elig, alerts = chain(env)
    ep = ["-r", alerts.request_endpoint, "-l", alerts.live_endpoint]
    ah.publish_all(intake, [ah.risk_signal(f"d{i}", ah.person(200 + i), "440106001005",
                                           T0 + i * MIN) for i in range(3)])
    alerts.wait_caught_up(30)
    rc, out, err = doudictl("alerts", "tail", "--region", "440106001", "--from", "0",
                            "--no-follow", *ep)
    h.check_eq(rc, 0, f"tail exit status ({err})")
    h.check_eq([json.loads(l)["update"]["alert"]["id"] for l in out.splitlines()],
               ["A1", "A2", "A3"], "tail --from 0")
    rc, out, err = doudictl("alerts", "ack", "A2", "--by", "w-7", "-p", intake.publish_endpoint,
                            *ep)
    h.check_eq(rc, 0, f"ack exit status ({err})")
    h.check_eq(json.loads(out)["office"], "440106001005", "the office ack used")
    h.wait_for(lambda: alerts.get("A2").state == ah.STATE.Value("ALERT_STATE_ACKNOWLEDGED"),
               20 * h.time_scale(), "A2 to be acknowledged through the chain")
    rc, out, err = doudictl("alerts", "list", "--region", "440106", *ep)
    h.check_eq(rc, 0, f"list exit status ({err})")
    h.check_eq(len(out.splitlines()), 3, "unresolved alerts listed")
    # doudictl stamps the acknowledgement with the wall clock, months after
    # these alerts' event times: every deadline passed first, so none was
    # handled in time.
    rc, out, err = doudictl("alerts", "rate", "440106", *ep)
    h.check_eq((rc, json.loads(out)["due"], json.loads(out)["handledInTime"]), (0, 3, 0),
               f"rate ({err})")
    rc, out, err = doudictl("alerts", "ack", "A99", "--by", "w-7", *ep)
    h.check_eq(rc, 1, f"ack of an unknown alert ({err})")


if __name__ == "__main__":
    h.run_tests(globals())
