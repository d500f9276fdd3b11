"""`doudictl alerts tail` keeps following the stream when the live connection
goes silent and when doudi-alerts restarts.

test_tail_silence_and_restart: a tail of one county (--silence-timeout
1500 ms) on a real chain, intake -> eligibility -> alerts, holds the
county's first alerts. Then doudi-alerts is frozen with SIGSTOP: its
connections stay up but nothing comes, not even the heartbeats. The tail
must say on stderr that it connects again (its silence timeout), and once
the daemon is let go (SIGCONT) take the alerts raised meanwhile. Then the
daemon is killed with SIGKILL and started again on the same data and ports,
and alerts raised while it was down and after its restart must reach the
tail too. At the end the tail's output is exactly the county's stream (the
replay), in order, each entry once, and it is still running.
"""

import json
import signal
import subprocess

import alerts_harness as ah
import harness as h

T0 = 1_780_000_000_000
MIN = 60_000
COUNTY = "440106"
VILLAGES = ["440106001005", "440106101003", "440103001004"]  # the last is not in the county


def held(path):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    return [int(json.loads(line)["sequence"]) for line in lines]


def test_tail_silence_and_restart(env):
    scale = h.time_scale()
    intake = env.intake({"intake": {"clock": "event"}, "log": {"retention": "3650d"}})
    elig = env.eligibility(intake, {"log": {"consumers": "alerts"}})
    alerts = ah.start_alerts(env, elig)
    n = [0]

    def raise_alerts(count):
        events = []
        for _ in range(count):
            i = n[0]
            n[0] += 1
            events.append(ah.risk_signal(f"tail-{i}", ah.person(i), VILLAGES[i % 3],
                                         T0 + i * MIN))
        ah.publish_all(intake, events)

    def county_stream():
        return [e.sequence for e in alerts.replay_all(COUNTY)]

    raise_alerts(6)
    alerts.wait_caught_up(30)
    out_path, err_path = env.path("tail.out"), env.path("tail.err")
    out, err = open(out_path, "wb"), open(err_path, "wb")
    tail = h.spawn([h.binary("doudictl"), "alerts", "tail", "--region", COUNTY, "--from", "0",
                    "--silence-timeout", "1500", "-t", "2000", "-l", alerts.live_endpoint,
                    "-r", alerts.request_endpoint], stdout=out, stderr=err,
                   stdin=subprocess.DEVNULL)
    out.close()
    err.close()
    try:
        want = county_stream()
        h.check_eq(len(want), 4, "county entries of the first six alerts")
        h.wait_for(lambda: held(out_path) == want, 20 * scale, "the tail to hold the first four")

        # Frozen: the connection stays up, nothing comes. The tail may be
        # inside the replay that follows its last print when the daemon
        # stops; that call gives up after its attempts (-t 2000: 2 + 2 + 2
        # + 2 s plus 0.7 s of pauses), and the silence timeout (1.5 s) runs
        # from there: up to 10.2 s before the tail says so.
        alerts.signal(signal.SIGSTOP)
        try:
            h.wait_for(lambda: "connecting again" in open(err_path).read(), 20 * scale,
                       "the tail to notice the silence")
            h.check(tail.poll() is None, f"the tail exited ({tail.poll()}) while the daemon "
                    "was frozen")
        finally:
            alerts.signal(signal.SIGCONT)
        raise_alerts(6)
        alerts.wait_caught_up(30)
        want = county_stream()
        h.check_eq(len(want), 8, "county entries after the freeze")
        h.wait_for(lambda: held(out_path) == want, 20 * scale,
                   "the tail to take what was raised after the freeze")

        # A crash and a restart: what is raised while it is down is
        # consumed after the restart and comes live or by replay.
        h.check_eq(alerts.kill(), -9, "status of doudi-alerts killed with SIGKILL")
        raise_alerts(3)
        alerts.start()
        alerts.wait_caught_up(30)
        raise_alerts(3)
        alerts.wait_caught_up(30)
        want = county_stream()
        h.check_eq(len(want), 12, "county entries after the restart")
        h.wait_for(lambda: held(out_path) == want, 30 * scale,
                   "the tail to take what was raised around the restart")
        got = held(out_path)
        h.check_eq(got, want, "the tail's output against the county's stream")
        h.check(tail.poll() is None, f"the tail exited with status {tail.poll()}")
    finally:
        h.kill_hard(tail)
        with open(err_path) as f:
            print(f"tail stderr: {f.read().strip()}", flush=True)


if __name__ == "__main__":
    h.run_tests(globals())
