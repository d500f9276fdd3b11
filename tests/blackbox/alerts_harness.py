"""What the black-box tests of doudi-alerts share, on top of harness.py.

  - Alerts (a harness Daemon): writes its INI file, starts `doudi-alerts -c
    FILE` consuming a given upstream's log (an Eligibility's, which carries
    the same alert and acknowledgement records as the scheduler's), says
    when it has caught up, and talks to its request endpoint (replay, list,
    get, silence, rate: alerts.proto);
  - start_alerts(env, upstream, ...): an Alerts that the test runner stops
    at the end of the test and whose stderr it checks for sanitizer reports;
  - Subscriber: the Clone pattern on the client side: a SUB on the live
    stream for one region prefix plus replay requests; an entry whose
    previous_in_area does not name the last entry held is a gap, filled
    from the replay before anything newer is taken, so what it holds is the
    prefix's stream, in order, once;
  - run as `alerts_harness.py subscriber ...` a Subscriber is a process of
    its own that appends every entry it takes to a file (one line each:
    sequence, change, alert id, level) and resumes after the file's last
    complete line when started again: the file is what it holds;
  - signals(): events that make doudi-eligibility raise alerts, and
    acknowledgement envelopes, with chosen event times.

Every wait is a poll of a condition with a deadline.
"""

import argparse
import json
import os
import signal
import sys
import time

import zmq

import harness as h
from doudi import alerts_pb2, event_pb2

PREFIX_INDEX = {2: 0, 4: 1, 6: 2, 9: 3, 12: 4}
HEARTBEAT_TOPIC = b"."
CHANGE = alerts_pb2.AlertChange
STATE = alerts_pb2.AlertState
LEVEL = alerts_pb2.AlertLevel
ALERTS_HARNESS = os.path.abspath(__file__)


class Alerts(h.Daemon):
    """One doudi-alerts consuming `upstream` (anything with log_endpoint and
    metrics(), e.g. an Eligibility), with its own directory and ports."""

    PROGRAM = "doudi-alerts"
    LABEL = "alerts"
    PORTS = ("live", "request", "log", "metrics")

    def __init__(self, workdir, upstream, overrides=None, name="alerts", consumer="alerts",
                 upstream_name="eligibility"):
        self.upstream = upstream
        self.consumer = consumer
        self.upstream_name = upstream_name
        super().__init__(workdir, overrides, name)

    @property
    def live_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['live']}"

    @property
    def request_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['request']}"

    @property
    def log_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['log']}"

    def base_config(self):
        return {
            "alerts": {
                "data_dir": self.data_dir,
                "live_endpoint": self.live_endpoint,
                "request_endpoint": self.request_endpoint,
                "log_endpoint": self.log_endpoint,
                "metrics_listen": f"127.0.0.1:{self.metrics_port}",
                "consumer_name": self.consumer,
            },
            "upstream": {"endpoint": self.upstream.log_endpoint, "name": self.upstream_name},
            "clock": {"source": "event"},
            "deadlines": {}, "escalation": {}, "live": {}, "replay": {}, "store": {}, "log": {},
        }

    def lag(self):
        return self.metrics().get("doudi_consumer_lag_records", upstream=self.upstream_name)

    def caught_up(self):
        """The upstream's head once this daemon has applied everything up to
        it (lag 0 and the upstream saw its cursor there), else None. A live
        upstream must have caught up with its own upstream first: events just
        published to intake are not yet in eligibility's head, and alerts is
        "caught up" with the head before them."""
        upstream_caught_up = getattr(self.upstream, "caught_up", None)
        if upstream_caught_up and self.upstream.alive() and upstream_caught_up() is None:
            return None
        head = self.upstream.log_head()
        if not head or not self.alive():
            return None
        cursor = self.upstream.metrics().get("doudi_log_consumer_cursor", consumer=self.consumer)
        return head if self.lag() == 0 and cursor == head else None

    def wait_caught_up(self, timeout, what=None):
        def ready():
            h.check(self.alive(), f"{self.LABEL} exited with status {self.proc.poll()}:\n"
                    + self.stderr_tail())
            return self.caught_up()
        return h.wait_for(ready, timeout * h.time_scale(), what or f"{self.dir} to catch up",
                          interval=0.05)

    # -- the request endpoint -------------------------------------------------

    def request(self, timeout=10.0, **fields):
        """One AlertsRequest (e.g. get=alerts_pb2.GetRequest(...)); returns
        the AlertsReply."""
        req = alerts_pb2.AlertsRequest(request_id=_ids[0], **fields)
        _ids[0] += 1
        s = h.dealer(self.request_endpoint, **(self.client_sockopts or {}))
        try:
            s.send(req.SerializeToString())
            deadline = time.monotonic() + timeout * h.time_scale()
            while True:
                h.check(self.alive(), f"alerts exited with status {self.proc.poll()}:\n"
                        + self.stderr_tail())
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no AlertsReply from {self.request_endpoint}")
                frames = h.recv_frames(s, min(left, 0.2))
                if frames is None:
                    continue
                rep = alerts_pb2.AlertsReply.FromString(frames[-1])
                if rep.request_id == req.request_id:
                    return rep
        finally:
            s.close(0)

    def replay_all(self, prefix="", after=0):
        """Every stream entry of prefix after `after`, following pages."""
        out = []
        while True:
            rep = self.request(replay=alerts_pb2.ReplayRequest(region_prefix=prefix,
                                                               after_sequence=after))
            h.check(not rep.error_text, f"replay refused: {rep.error_text}")
            out.extend(rep.replay.entries)
            if rep.replay.scanned_through_sequence <= after or \
                    rep.replay.scanned_through_sequence >= rep.replay.head_sequence:
                return out
            after = rep.replay.scanned_through_sequence

    def get(self, alert_id):
        rep = self.request(get=alerts_pb2.GetRequest(alert_id=alert_id))
        h.check(not rep.error_text, f"get {alert_id} refused: {rep.error_text}")
        return rep.get.alert

    def list(self, prefix="", states=(), unresolved_only=False):
        out, after = [], 0
        while True:
            rep = self.request(list=alerts_pb2.ListRequest(
                region_prefix=prefix, states=list(states), unresolved_only=unresolved_only,
                after_number=after, limit=1000))
            h.check(not rep.error_text, f"list refused: {rep.error_text}")
            out.extend(rep.list.alerts)
            if not rep.list.next_after_number:
                return out
            after = rep.list.next_after_number

    def rate(self, prefix, month=0):
        rep = self.request(rate=alerts_pb2.RateRequest(region_prefix=prefix, month_yyyymm=month))
        h.check(not rep.error_text, f"rate refused: {rep.error_text}")
        return rep.rate.handled_in_time, rep.rate.due

    def silence(self, prefix, kind, starts_ms, ends_ms, by="operator-1", comment=""):
        rep = self.request(silence=alerts_pb2.SilenceRequest(silence=alerts_pb2.Silence(
            region_prefix=prefix, kind=kind, starts_at_ms=starts_ms, ends_at_ms=ends_ms,
            created_by=by, comment=comment)))
        return rep


_ids = [1]


def start_alerts(env, upstream, overrides=None, name=None, consumer="alerts", start=True):
    """An Alerts that the runner stops when the test ends (downstream first)
    and whose stderr it checks for sanitizer reports, like its own daemons."""
    a = Alerts(env.dir, upstream, overrides, name or f"alerts{len(env.eligibilities)}", consumer)
    # The runner stops and checks env.daemons (intakes, then these), in
    # reverse order: a downstream daemon appended here is stopped first.
    env.eligibilities.append(a)
    if start:
        a.start()
    return a


# ---------------------------------------------------------------------------
# The subscriber: live stream + replay (the Clone pattern)
# ---------------------------------------------------------------------------


class Subscriber:
    """Holds the stream of one region prefix from `after` on, in order, each
    entry once, whatever the live socket drops."""

    # No message at all (heartbeats included) for this long: the live
    # connection is taken for dead and made again.
    SILENCE_S = 3.0

    def __init__(self, live_endpoint, request_endpoint, prefix, after=0, rcvhwm=1000):
        self.prefix = prefix
        self.index = PREFIX_INDEX.get(len(prefix))
        self.last = after
        self.covered = after
        self.live_endpoint = live_endpoint
        self.rcvhwm = rcvhwm
        self.sub = None
        self._connect()
        self.request_endpoint = request_endpoint
        self.req = h.dealer(request_endpoint)
        self.next_id = 1
        self.stats = dict(live=0, replayed=0, gaps=0, stale=0, replays=0, heartbeats=0,
                          reconnects=0)

    def _connect(self):
        if self.sub is not None:
            self.sub.close(0)
            self.stats["reconnects"] += 1
        self.sub = h.zctx().socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, self.rcvhwm)
        self.sub.setsockopt(zmq.SUBSCRIBE, self.prefix.encode())
        if self.prefix:
            self.sub.setsockopt(zmq.SUBSCRIBE, HEARTBEAT_TOPIC)
        self.sub.connect(self.live_endpoint)
        self.heard = time.monotonic()

    def close(self):
        self.sub.close(0)
        self.req.close(0)

    def _previous(self, entry):
        if self.index is None:
            return entry.sequence - 1
        return entry.update.previous_in_area[self.index]

    def _replay(self, timeout=2.0):
        req = alerts_pb2.AlertsRequest(request_id=self.next_id, replay=alerts_pb2.ReplayRequest(
            region_prefix=self.prefix, after_sequence=self.last))
        self.next_id += 1
        self.stats["replays"] += 1
        for attempt in range(5):
            self.req.send(req.SerializeToString())
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                frames = h.recv_frames(self.req, deadline - time.monotonic())
                if frames is None:
                    break
                rep = alerts_pb2.AlertsReply.FromString(frames[-1])
                if rep.request_id == req.request_id:
                    if rep.error_text:
                        raise h.CheckFailed(f"replay refused: {rep.error_text}")
                    return rep.replay
            # No answer: a fresh socket (the daemon may have restarted).
            self.req.close(0)
            self.req = h.dealer(self.request_endpoint)
        raise TimeoutError(f"no replay reply from {self.request_endpoint}")

    def fill(self, until):
        """Takes the replay's entries after the last one held until the
        prefix is covered up to `until` (a sequence). Returns them."""
        got = []
        while self.covered < until:
            r = self._replay()
            for e in r.entries:
                if e.sequence > self.last:
                    got.append(e)
                    self.last = e.sequence
                    self.stats["replayed"] += 1
            scanned = max(r.scanned_through_sequence, self.last)
            if scanned <= self.covered:
                break  # the daemon has nothing newer yet
            self.covered = scanned
        return got

    def poll(self, timeout):
        """Entries newly held, in order, from what arrives within timeout s."""
        got = []
        if not self.sub.poll(int(timeout * 1000), zmq.POLLIN):
            if time.monotonic() - self.heard > self.SILENCE_S:
                self._connect()
                got.extend(self.fill(1 << 62))
            return got
        self.heard = time.monotonic()
        for _ in range(10000):
            try:
                topic, data = self.sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            entry = alerts_pb2.StreamEntry.FromString(data)
            if topic == HEARTBEAT_TOPIC:
                self.stats["heartbeats"] += 1
                if entry.sequence > self.covered:
                    got.extend(self.fill(entry.sequence))
                continue
            if entry.sequence <= self.last:
                self.stats["stale"] += 1
                continue
            if self._previous(entry) == self.last:
                got.append(entry)
                self.last = self.covered = entry.sequence
                self.stats["live"] += 1
            else:
                self.stats["gaps"] += 1
                got.extend(self.fill(entry.sequence))
        return got


def subscriber_command(live, request, prefix, out, rcvhwm=1000):
    return [h.PYTHON, ALERTS_HARNESS, "subscriber", "--live", live, "--request", request,
            "--prefix", prefix, "--out", out, "--rcvhwm", str(rcvhwm)]


def read_held(path):
    """(sequences, lines) of the complete lines of a subscriber's file."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], []
    lines = data.split(b"\n")[:-1]
    return [int(l.split()[0]) for l in lines], [l.decode() for l in lines]


def _subscriber_main(argv):
    ap = argparse.ArgumentParser(prog="alerts_harness.py subscriber")
    ap.add_argument("--live", required=True)
    ap.add_argument("--request", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--rcvhwm", type=int, default=1000)
    a = ap.parse_args(argv)
    # What a killed run left: complete lines are held, a torn last line is not.
    after = 0
    if os.path.exists(a.out):
        with open(a.out, "rb") as f:
            data = f.read()
        keep = data[:data.rfind(b"\n") + 1]
        if keep != data:
            with open(a.out, "r+b") as f:
                f.truncate(len(keep))
        if keep:
            after = int(keep[:-1].rsplit(b"\n", 1)[-1].split()[0])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sub = Subscriber(a.live, a.request, a.prefix, after=after, rcvhwm=a.rcvhwm)
    fd = os.open(a.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    # Catch up first, then follow live (a replay may already cover a lot).
    got = sub.fill(1 << 62)
    t_stats = 0.0
    while not stop:
        if got:
            os.write(fd, "".join(f"{e.sequence} {e.update.change} {e.update.alert.id} "
                                 f"{e.update.alert.level}\n" for e in got).encode())
        now = time.monotonic()
        if now - t_stats > 0.2:
            t_stats = now
            tmp = a.out + ".stats.tmp"
            with open(tmp, "w") as f:
                json.dump(sub.stats, f)
            os.replace(tmp, a.out + ".stats")
        got = sub.poll(0.1)
    os.close(fd)
    sub.close()
    return 0


# ---------------------------------------------------------------------------
# Events that make eligibility raise alerts, and acknowledgements
# ---------------------------------------------------------------------------

HOUR = 3_600_000
DAY = 24 * HOUR


def risk_signal(event_id, person, region, t_ms, kind=event_pb2.RISK_KIND_LARGE_MEDICAL_SELF_PAY,
                source="alerts-test"):
    """An Envelope with a RiskSignal: eligibility raises a RISK alert for
    person in region at t_ms (dedup key: kind, person, risk kind)."""
    env = event_pb2.Envelope(event_id=event_id, source=source, occurred_at_ms=t_ms,
                             region_code=region)
    b = env.risk_signal
    b.subject_person_id = person
    b.household_id = f"hh-{person[-6:]}"
    b.kind = kind
    b.amount_fen = 800_000
    b.description = "自付医疗费用高 / large self-payment"
    return env.SerializeToString()


def acknowledgement(event_id, alert_id, office, t_ms, action=1, by="w-001", source="alert-desk"):
    env = event_pb2.Envelope(event_id=event_id, source=source, occurred_at_ms=t_ms,
                             region_code=office)
    b = env.alert_acknowledgement
    b.alert_id = alert_id
    b.action = action
    b.by_worker_id = by
    b.note = "已处理 / handled"
    return env.SerializeToString()


def person(i, area="440106"):
    """A valid identity number, distinct for each i < 10**6."""
    y = 1940 + i % 60
    birth = f"{y:04d}{1 + i // 1000 % 12:02d}{1 + i // 12000 % 28:02d}"
    return h.person_id(area, birth, i % 1000)


def publish_all(intake, events):
    statuses = h.publish(intake.publish_endpoint, events, batch=1000,
                         timeout=5.0 * h.time_scale())
    for st in statuses:
        h.check(not isinstance(st, h.RequestRefused) and st.outcome == h.ACCEPTED,
                f"an event was not accepted: {st}")
    return statuses


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "subscriber":
        sys.exit(_subscriber_main(sys.argv[2:]))
    print("usage: alerts_harness.py subscriber --live E --request E --prefix P --out FILE",
          file=sys.stderr)
    sys.exit(2)
