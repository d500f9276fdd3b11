"""Fan-out without loss: a subscriber killed and restarted in the middle of
a burst of 100,000 alerts, with a live high-water mark low enough that PUB
drops, ends up holding every alert of its prefix exactly once, in order.

The burst is real: 100,000 risk signals (distinct people, three cities)
published to doudi-intake become 100,000 RISK alerts of doudi-eligibility,
which doudi-alerts consumes and streams. Two subscriber processes
(alerts_harness.py subscriber: SUB with RCVHWM 100 plus replay by prefix,
the Clone pattern) follow the prefixes 440106 (a county) and 4401 (its
city); the daemon's PUB has send_hwm 100. The county's subscriber is killed
with SIGKILL once it holds 20,000 entries and started again at once; it
resumes after the last complete line of its file. At the end each file
must equal the replay of its prefix (sequence by sequence: nothing missing,
nothing twice, nothing out of order), and the subscribers must have seen
gaps in the live stream (PUB dropped) and filled them. Three alerts raised
before anyone subscribes are not handed to the live socket at all
(doudi_alerts_deliveries_total stays 0 until the subscribers come).

DOUDI_ALERTS_BURST (default 100000) changes the size.
"""

import json
import os
import threading
import time

import alerts_harness as ah
import harness as h

BURST = int(os.environ.get("DOUDI_ALERTS_BURST", "100000"))
UNHEARD = 3  # alerts raised before anyone subscribes
T0 = 1_780_000_000_000  # 2026-05-28, event time
REGIONS = [f"440106{t:03d}{v:03d}" for t in (1, 2, 101) for v in (1, 2, 3)] + \
          [f"440103{t:03d}{v:03d}" for t in (1, 102) for v in (4, 5)] + \
          ["440304001005", "441401101003"]


def test_subscriber_killed_during_burst(env):
    t_start = time.monotonic()
    scale = h.time_scale()
    intake = env.intake({"intake": {"clock": "event"}, "log": {"retention": "3650d"}})
    elig = env.eligibility(intake, {"log": {"consumers": "alerts"}})
    # Small fetches spread the burst over many commits, so the subscriber's
    # death falls inside it (alerts streams a whole burst in a second or two
    # when it takes 10,000 records at a time).
    alerts = ah.start_alerts(env, elig, {"live": {"send_hwm": "100"},
                                         "upstream": {"fetch_max_records": "1000"}})

    # Nobody subscribes yet: what alerts streams is not handed to the live
    # socket, which would only drop it.
    ah.publish_all(intake, [ah.risk_signal(f"unheard-{i}", ah.person(BURST + 1000 + i),
                                           REGIONS[i], T0 - 1000 + i) for i in range(UNHEARD)])
    alerts.wait_caught_up(60)
    m = alerts.metrics()
    h.check(m.value("doudi_alerts_stream_records_total") >= UNHEARD,
            "the alerts raised before anyone subscribed are in the stream")
    h.check_eq(m.value("doudi_alerts_deliveries_total"), 0,
               "live messages handed over while nobody subscribed")

    subs = {}
    for prefix in ("440106", "4401"):
        out = env.path(f"sub-{prefix}.txt")
        argv = ah.subscriber_command(alerts.live_endpoint, alerts.request_endpoint, prefix, out,
                                     rcvhwm=100)
        subs[prefix] = dict(out=out, argv=argv, proc=h.spawn(argv))
    # Both are subscribed (XPUB counts them) before the burst starts.
    h.wait_for(lambda: alerts.metrics().get("doudi_alerts_subscriptions", level="city") == 1
               and alerts.metrics().get("doudi_alerts_subscriptions", level="county") == 1,
               20 * scale, "both subscribers to subscribe")

    events = [ah.risk_signal(f"burst-{i}", ah.person(i), REGIONS[i % len(REGIONS)], T0 + i * 10)
              for i in range(BURST)]
    t_encoded = time.monotonic() - t_start
    published = {}

    def publish():
        published["statuses"] = ah.publish_all(intake, events)

    publisher = threading.Thread(target=publish)
    publisher.start()

    county = subs["440106"]
    mark = BURST * 2 // 10 * 9 // 14  # about 20 % of the county's share (9 of 14 regions)
    h.wait_for(lambda: len(ah.read_held(county["out"])[0]) >= mark, 120 * scale,
               f"the county's subscriber to hold {mark} entries", interval=0.01)
    held_at_kill = len(ah.read_held(county["out"])[0])
    rc = h.kill_hard(county["proc"])
    h.check_eq(rc, -9, "status of the subscriber killed with SIGKILL")
    stream_head = alerts.request(replay=ah.alerts_pb2.ReplayRequest(
        region_prefix="", after_sequence=1 << 40)).replay.head_sequence
    county["proc"] = h.spawn(county["argv"])
    print(f"killed the county's subscriber holding {held_at_kill} entries; the stream's head "
          f"was {stream_head} of {BURST}", flush=True)
    h.check(stream_head < BURST, f"the burst was over ({stream_head}) before the kill")

    publisher.join(300 * scale)
    h.check("statuses" in published, "publishing the burst failed")
    t_published = time.monotonic() - t_start
    elig.wait_caught_up(120 * scale)
    alerts.wait_caught_up(120)
    t_consumed = time.monotonic() - t_start

    # A tail after the burst: the restarted subscriber, caught up by
    # replay, follows the live stream again.
    def live_of(prefix):
        try:
            with open(subs[prefix]["out"] + ".stats") as f:
                return json.load(f)["live"]
        except (OSError, ValueError):
            return 0
    # Once the restarted subscriber has caught up by replay, it follows the
    # live stream again: a tail published in small steps comes live.
    want = [e.sequence for e in alerts.replay_all("440106")]
    h.wait_for(lambda: ah.read_held(county["out"])[0][-1:] == want[-1:], 120 * scale,
               "the restarted subscriber to catch up with the burst")
    live_before = live_of("440106")
    for step in range(5):
        ah.publish_all(intake, [ah.risk_signal(f"tail-{step}-{i}", ah.person(BURST + step * 10 + i),
                                               REGIONS[i % 9], T0 + BURST * 10 + step * 100 + i)
                                for i in range(10)])
        alerts.wait_caught_up(60)
    h.wait_for(lambda: live_of("440106") > live_before, 20 * scale,
               "the restarted subscriber to take entries live")
    print(f"subscriptions: {alerts.metrics().series('doudi_alerts_subscriptions')}", flush=True)
    h.check(alerts.metrics().value("doudi_alerts_deliveries_total") > 0,
            "live messages handed over while subscribers listen")

    for prefix, s in subs.items():
        want = [e.sequence for e in alerts.replay_all(prefix)]
        h.wait_for(lambda: ah.read_held(s["out"])[0][-1:] == want[-1:], 120 * scale,
                   f"the {prefix} subscriber to reach sequence {want[-1]}")
        got = ah.read_held(s["out"])[0]
        if got != want:
            dup = len(got) - len(set(got))
            missing = sorted(set(want) - set(got))[:5]
            order = next((i for i in range(1, len(got)) if got[i] <= got[i - 1]), None)
            raise h.CheckFailed(f"{prefix}: holds {len(got)} entries, the stream has "
                                f"{len(want)}; {dup} twice, missing e.g. {missing}, first "
                                f"out of order at line {order}")
        s["count"] = len(got)
        with open(s["out"] + ".stats") as f:
            s["stats"] = f.read()
    h.check_eq(alerts.metrics().value("doudi_alerts_raised_total", kind="risk"),
               float(BURST + 50 + UNHEARD), "alerts raised")
    stats = {p: json.loads(s["stats"]) for p, s in subs.items()}
    h.check(any(st["gaps"] > 0 for st in stats.values()),
            f"no subscriber saw a gap: PUB never dropped ({stats})")
    for s in subs.values():
        s["proc"].terminate()
        h.reap(s["proc"], 10)
    print(f"fan-out burst: {BURST} alerts; county subscriber {subs['440106']['count']} entries, "
          f"city {subs['4401']['count']}; subscriber stats {stats} (the county's are those of "
          f"its second life); encoded in {t_encoded:.1f} s, published by {t_published:.1f} s, "
          f"consumed by {t_consumed:.1f} s, checked by {time.monotonic() - t_start:.1f} s",
          flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
