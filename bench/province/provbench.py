#!/usr/bin/python3
"""provbench: a synthetic county, city or province month through the whole
doudi chain, checked against what the generator knows, timed, and compared
with the transport, storage and Redis baselines measured in the same run.

    provbench.py [--scale county|city|province] [--households N] [--portals N]
                 [--baselines zmq,lmdb,redis|none] [--json FILE] [--png FILE] ...

Steps:
  1. provgen writes the division table, the preload and the month (one file
     per portal) and expected.json;
  2. the four daemons start, each in its own data directory under the work
     directory, serving their logs to one another on Unix sockets (ipc://)
     there and everything else on free loopback ports (the portals publish
     over TCP), with their embedded defaults (fsync
     on every commit) except: endpoints and data directories, intake on the
     event clock with the generated division table and its dedup index sized
     for the run's events (dedup_expected_ids: preload and month, as an
     operator sizes it for the province's 35 days), logs that keep what they
     hold (retention 3650d; each names its consumer);
  3. provpub publishes the preload (the registry, the roster, last month's
     findings) and the chain is left to consume it: the state the month
     starts from; once everything is consumed, eligibility folds its
     households journal (registry_idle_fold_entries), and the run waits for
     that fold, as a quiet day between monthly batches would allow;
  4. provpub reads and checks the month's files (a few seconds; reported as
     publisher_ready_s, not in the month's time), then publishes the month
     with N portals at full speed, and the run waits until every daemon has
     consumed its upstream's whole log. The month is timed from the moment
     provpub can send to the last consumer's commit that took it to its
     upstream's head, as the consumers time it (month_end()). While
     it runs, every daemon's /metrics is sampled (--sample-s): records
     consumed, log heads and consumer cursors. The fold eligibility makes
     once the month is consumed is timed and reported apart, not in the
     month's time;
  5. checks (each exact; any failure makes the exit status 1): intake
     accepted every valid event once and rejected exactly the invalid ones by
     reason, its log holds them all; eligibility applied every intake record,
     by kind, and found changed/unchanged exactly the records the generator
     says; the scheduler applied every record of eligibility's log it
     consumes (care changes and alerts as eligibility counted them, visit
     reports, roster changes and acknowledgements as generated); doudi-alerts
     applied every alert, acknowledgement and plan change of the scheduler's
     log; every consumer's cursor is at its upstream's head;
  6. reports: time of the month end to end, events/s per daemon, latency
     from publish to the last derived record (see latency()), CPU seconds and
     peak RSS per daemon, LMDB size per daemon, the baselines and the ratios,
     a JSON file and a throughput-over-time PNG (gnuplot). Where the guest
     hands freed memory back to its host (free page reporting), the JSON
     says so (machine.free_page_reporting) and how much it handed back
     during the month: a page the month takes from that memory is faulted in
     from the host on its first write, which costs runs on such guests.

Baselines (provbase, redis-benchmark): ZeroMQ PUSH/PULL of the month's own
bytes in the publisher's batches (the transport limit), fully synced LMDB
appends of the same bytes in the same batches (the storage limit), and Redis
Streams XADD with pipelining 64 (Debian's redis-server on loopback, AOF
everysec) with values of the month's mean event size; each carries as many
events as the month unless --baseline-events says fewer.

Needs Debian's python3-protobuf (doudi's *_pb2 modules from the build),
gnuplot for the PNG and redis-server/redis-tools for the Redis baseline
(deploy/setup.sh installs them).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from monthprof import MonthProfile, ProfileError

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
DAEMONS = ("intake", "eligibility", "scheduler", "alerts")
TOOLS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
UPSTREAM = {"eligibility": "intake", "scheduler": "eligibility", "alerts": "scheduler"}
# The daemons this run starts: the chain up to --until.
RUNNING = DAEMONS
KIND_NUMBERS = {"person_reported": 10, "household_reported": 11, "comparison_record": 12,
                "risk_signal": 13, "application": 14, "enrolment_change": 15,
                "visit_report": 16, "roster_change": 17, "alert_acknowledgement": 18}


def fail(msg):
    print(f"provbench: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------
# Processes, ports, metrics
# ---------------------------------------------------------------------------

_children = []


def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def spawn(argv, **kw):
    p = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
    _children.append(p)
    return p


def kill_children():
    for p in _children:
        if p.poll() is None:
            p.kill()
            p.wait()


_PORTS_HANDED_OUT = set()


def free_port():
    """A loopback port nobody listens on, outside the ephemeral range, and
    not handed out before in this run: the daemons bind theirs only when
    they start, so a port chosen twice would be free at both checks."""
    import random
    rnd = random.Random(os.getpid() ^ int(time.time() * 1e6))
    while True:
        port = rnd.randint(20000, 30999)
        if port in _PORTS_HANDED_OUT:
            continue
        _PORTS_HANDED_OUT.add(port)
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()


def scrape(port):
    """{(name, ((label, value), ...)): float} of a /metrics endpoint."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metric(snapshot, name, default=0.0, **labels):
    return snapshot.get((name, tuple(sorted(labels.items()))), default)


def consumer_cursor(m, name):
    """What `name` has applied and committed of its upstream's log, as the
    consumer itself says. The upstream's doudi_log_consumer_cursor learns it
    only with the next fetch, which waits up to fetch_wait (1 s) when nothing
    is new: it would put the end of a run up to a second late per stage."""
    up = UPSTREAM[name]
    own = metric(m[name], "doudi_consumer_cursor_sequence", None, upstream=up)
    if own is not None:
        return own
    return metric(m[up], "doudi_log_consumer_cursor", -1, consumer=name)


def labelled(snapshot, name, label):
    return {dict(k[1]).get(label): v for k, v in snapshot.items() if k[0] == name}


class Daemon:
    def __init__(self, name, work, bin_dir):
        self.name = name
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.bin = os.path.join(bin_dir, f"doudi-{name}")
        self.ports = {}
        self.proc = None
        self.settings = {}  # --set: {section: {key: value}} on top of provbench's

    def port(self, what):
        if what not in self.ports:
            self.ports[what] = free_port()
        return self.ports[what]

    def endpoint(self, what):
        # The daemons share this machine: the logs they fetch from one
        # another (most of the month's bytes cross intake's) go over Unix
        # sockets, which skip the TCP stack; a path too long for sun_path
        # (108 bytes) falls back to loopback TCP.
        path = os.path.join(self.dir, f"{what}.sock")
        if what == "log" and len(path) < 100:
            return f"ipc://{path}"
        return f"tcp://127.0.0.1:{self.port(what)}"

    def write_config(self, sections):
        for section, keys in self.settings.items():
            sections.setdefault(section, {}).update(keys)
        self.config = os.path.join(self.dir, f"{self.name}.ini")
        with open(self.config, "w") as f:
            for section, keys in sections.items():
                f.write(f"[{section}]\n")
                for k, v in keys.items():
                    f.write(f"{k} = {v}\n")
                f.write("\n")

    def start(self, timeout):
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        with open(self.stderr_path, "ab") as err:
            self.proc = spawn([self.bin, "-c", self.config], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"doudi-{self.name} exited with {self.proc.returncode}:\n"
                                   + self.tail())
            try:
                scrape(self.port("metrics"))
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"doudi-{self.name} not ready in {timeout} s:\n" + self.tail())
            time.sleep(0.05)

    def tail(self, n=20):
        try:
            with open(self.stderr_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""

    def metrics(self):
        return scrape(self.port("metrics"))

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def peak_rss_bytes(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def disk_bytes(self):
        total = 0
        for root, _, files in os.walk(self.data):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_blocks * 512
                except OSError:
                    pass
        return total

    def stop(self, timeout):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"doudi-{self.name} did not exit within {timeout} s of SIGTERM")


def parse_settings(items):
    """--set DAEMON.SECTION.KEY=VALUE items as {daemon: {section: {key: value}}}."""
    out = {}
    for item in items:
        lhs, eq, value = item.partition("=")
        parts = lhs.split(".", 2)
        if not eq or len(parts) != 3 or parts[0] not in DAEMONS or not all(parts):
            fail(f"--set {item}: expected DAEMON.SECTION.KEY=VALUE with DAEMON one of "
                 f"{', '.join(DAEMONS)}")
        out.setdefault(parts[0], {}).setdefault(parts[1], {})[parts[2]] = value
    return out


# ---------------------------------------------------------------------------
# --curve: every endpoint over CURVE
# ---------------------------------------------------------------------------

# Whose log each daemon reads, and so whom it lists as a reader.
UPSTREAM = {"eligibility": "intake", "scheduler": "eligibility", "alerts": "scheduler"}


def make_curve_keys(bin_dir, work):
    """Key pairs (doudictl keygen) for the four daemons, the portals and
    provbench itself, and each daemon's [auth] section: its pair, a clients
    file listing provbench as an operator, the daemon after it as a reader
    and, at intake, the portals, and its upstream's public key. The portals
    are operators (*): the generator's deliberately invalid events must be
    refused for their own reasons, not for their source."""
    kdir = os.path.join(work, "curve")
    os.makedirs(kdir, exist_ok=True)
    keys = {}
    for name in DAEMONS + ("portal", "provbench"):
        path = os.path.join(kdir, f"{name}.key")
        r = subprocess.run([os.path.join(bin_dir, "doudictl"), "keygen", path],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail(f"doudictl keygen {path}: {r.stderr.strip()}")
        keys[name] = (path, r.stdout.strip())
    sections = {}
    for n in DAEMONS:
        lines = [f"provbench {keys['provbench'][1]} *"]
        if n == "intake":
            lines.append(f"portal {keys['portal'][1]} *")
        lines += [f"{r} {keys[r][1]} -" for r, up in UPSTREAM.items() if up == n]
        clients = os.path.join(kdir, f"{n}-clients")
        with open(clients, "w") as f:
            f.write("\n".join(lines) + "\n")
        sections[n] = {"key_file": keys[n][0], "clients_file": clients}
        if n in UPSTREAM:
            sections[n]["upstream_key_file"] = keys[UPSTREAM[n]][0] + ".pub"
    return keys, sections


def configure(d, work, gen_dir, settings, expected_ids, curve=None):
    """Writes every daemon's configuration: provbench's keys, then settings.
    expected_ids: the events the run will accept (preload and month), all
    within intake's dedup retention, as an operator sizes a province's.
    curve: each daemon's [auth] section (make_curve_keys), or None."""
    for n in DAEMONS:
        d[n].settings = dict(settings.get(n, {}))
        if curve:
            d[n].settings["auth"] = {**curve[n], **d[n].settings.get("auth", {})}
    i, e, s, a = d["intake"], d["eligibility"], d["scheduler"], d["alerts"]
    keep = "3650d"
    i.write_config({
        "intake": {"data_dir": i.data, "publish_endpoint": i.endpoint("publish"),
                   "log_endpoint": i.endpoint("log"), "admin_endpoint": i.endpoint("admin"),
                   "metrics_listen": f"127.0.0.1:{i.port('metrics')}", "clock": "event",
                   "divisions_file": os.path.join(gen_dir, "divisions.txt"), "log_level": "warn",
                   "dedup_expected_ids": str(expected_ids)},
        "log": {"consumers": "eligibility", "retention": keep}})
    e.write_config({
        "eligibility": {"data_dir": e.data, "upstream_endpoint": i.endpoint("log"),
                        "consumer_name": "eligibility", "log_endpoint": e.endpoint("log"),
                        "query_endpoint": e.endpoint("query"),
                        "metrics_listen": f"127.0.0.1:{e.port('metrics')}", "log_level": "warn"},
        # Without the scheduler nobody reads eligibility's log: a consumer
        # that never comes would hold back its fold when caught up (settle).
        "log": {"consumers": "scheduler" if "scheduler" in RUNNING else "", "retention": keep}})
    s.write_config({
        "scheduler": {"data_dir": s.data, "upstream_endpoint": e.endpoint("log"),
                      "consumer_name": "scheduler", "log_endpoint": s.endpoint("log"),
                      "query_endpoint": s.endpoint("query"),
                      "metrics_listen": f"127.0.0.1:{s.port('metrics')}", "log_level": "warn"},
        "log": {"consumers": "alerts", "retention": keep}})
    a.write_config({
        "alerts": {"data_dir": a.data, "live_endpoint": a.endpoint("live"),
                   "request_endpoint": a.endpoint("request"), "log_endpoint": a.endpoint("log"),
                   "metrics_listen": f"127.0.0.1:{a.port('metrics')}", "consumer_name": "alerts",
                   "log_level": "warn"},
        "upstream": {"endpoint": s.endpoint("log")},
        "log": {"retention": keep}})


# ---------------------------------------------------------------------------
# Sampling: progress of every daemon over time
# ---------------------------------------------------------------------------

class Sampler(threading.Thread):
    """Scrapes every daemon every `interval` seconds into self.samples:
    dicts of t (CLOCK_REALTIME seconds), per-daemon records consumed,
    log heads and the cursors each upstream saw."""

    def __init__(self, daemons, interval):
        super().__init__(daemon=True)
        self.d = daemons
        self.interval = interval
        self.samples = []
        self.stopping = threading.Event()
        self.error = None
        self.fresh = threading.Condition()
        self.latest = None  # (sample, metrics) not yet taken by next()

    def sample(self):
        t = time.time()
        m = {n: self.d[n].metrics() if n in RUNNING else {} for n in DAEMONS}
        s = {"t": t,
             "intake_accepted": metric(m["intake"], "doudi_intake_events_accepted_total"),
             "head_intake": metric(m["intake"], "doudi_log_head_sequence"),
             "head_eligibility": metric(m["eligibility"], "doudi_log_head_sequence"),
             "head_scheduler": metric(m["scheduler"], "doudi_log_head_sequence"),
             "cursor_eligibility": consumer_cursor(m, "eligibility"),
             "cursor_scheduler": consumer_cursor(m, "scheduler"),
             "cursor_alerts": consumer_cursor(m, "alerts")}
        for n, up in UPSTREAM.items():
            s[f"records_{n}"] = metric(m[n], "doudi_consumer_records_total", upstream=up)
        return s, m

    def next(self, wait_s):
        """The next sample the thread takes, with its metrics, or None when
        none came within wait_s; before the thread runs, one taken now, an
        interval after the previous call."""
        if not self.is_alive():
            time.sleep(self.interval)
            return self.sample()
        with self.fresh:
            if self.latest is None:
                self.fresh.wait(wait_s)
            taken, self.latest = self.latest, None
            return taken

    def run(self):
        while not self.stopping.is_set():
            try:
                s, m = self.sample()
                self.samples.append(s)
                with self.fresh:
                    self.latest = (s, m)
                    self.fresh.notify_all()
            except (OSError, http.client.HTTPException) as e:
                self.error = str(e)
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join()


def caught_up(s):
    return (s["head_intake"] > 0 and s["cursor_eligibility"] == s["head_intake"]
            and ("scheduler" not in RUNNING or s["cursor_scheduler"] == s["head_eligibility"])
            and ("alerts" not in RUNNING or s["cursor_alerts"] == s["head_scheduler"]))


def last_commit_at(m, name):
    """Unix time of consumer `name`'s last cursor-moving commit, as it
    timed it (doudi_consumer_last_commit_timestamp_seconds); 0 when its
    binary has no such gauge."""
    return metric(m[name], "doudi_consumer_last_commit_timestamp_seconds", 0.0,
                  upstream=UPSTREAM[name])


def month_end(m, start):
    """(seconds from start to the month's end, seconds to its detection).
    The end is the last commit of the chain, when the last consumer reached
    its upstream's head, as the consumers time it
    (doudi_consumer_last_commit_timestamp_seconds); the run only notices it
    at its second caught-up scrape, 0.07-0.09 s later in county-months,
    a quarter of their time. Binaries without that gauge: the detection."""
    detected = time.time() - start
    ends = [last_commit_at(m, n) for n in RUNNING[1:]]
    if not ends or not all(ends):
        return detected, detected
    return max(ends) - start, detected


def wait_caught_up(sampler, daemons, head, timeout):
    """Waits until intake's head is `head` and every consumer's cursor sits
    at its upstream's head, twice in a row; returns the sample. It looks
    at the sampler's own samples (Sampler.next) rather than scraping the
    four /metrics pages again on the cores the daemons share: the month's
    end does not depend on when the run notices it (month_end())."""
    deadline = time.monotonic() + timeout
    stable = 0
    while True:
        for n in RUNNING:
            if daemons[n].proc.poll() is not None:
                raise RuntimeError(f"doudi-{n} exited with {daemons[n].proc.returncode}:\n"
                                   + daemons[n].tail())
        got = sampler.next(1.0)
        if got is None:  # scrapes failing: the daemons and the deadline decide
            if time.monotonic() > deadline:
                raise RuntimeError(f"not caught up after {timeout} s: {sampler.error}")
            continue
        s, m = got
        stable = stable + 1 if caught_up(s) and s["head_intake"] == head else 0
        if stable >= 2:
            return s, m
        if time.monotonic() > deadline:
            raise RuntimeError(f"not caught up after {timeout} s: {s}")


ELIG_IDLE_FOLD_DEFAULT = 500_000  # services/eligibility/settings.c


def settle(d, timeout):
    """Once the chain has caught up, eligibility folds its households journal
    when that holds at least registry_idle_fold_entries entries (a quiet
    moment, as between two monthly batches). Waits for that fold, so a
    month starts from a settled chain and the fold after a month is timed
    apart from it. Returns (seconds waited, journal entries before, folds
    made)."""
    e = d["eligibility"]
    threshold = int(e.settings.get("store", {}).get("registry_idle_fold_entries",
                                                     ELIG_IDLE_FOLD_DEFAULT))
    m = e.metrics()
    entries = metric(m, "doudi_eligibility_registry_journal_entries")
    folds0 = metric(m, "doudi_eligibility_registry_idle_folds_total")
    t0 = time.monotonic()
    if threshold == 0 or entries < threshold:
        return 0.0, entries, 0
    while True:
        if e.proc.poll() is not None:
            raise RuntimeError(f"doudi-eligibility exited with {e.proc.returncode}:\n" + e.tail())
        m = e.metrics()
        folds = metric(m, "doudi_eligibility_registry_idle_folds_total") - folds0
        if folds >= 1 and metric(m, "doudi_eligibility_registry_journal_entries") < threshold:
            return time.monotonic() - t0, entries, int(folds)
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"eligibility did not fold its journal of {entries:,.0f} entries "
                               f"within {timeout} s of catching up")
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# Latency: publish -> the last derived record consumed at the end of the chain
# ---------------------------------------------------------------------------

def latency(requests, samples):
    """For each request (sent at T, its events at intake sequences <= S):
    t1 = first sample with eligibility's cursor >= S, and E = eligibility's
    head then (every record derived from the request is at or below E);
    t2 = first sample from t1 with the scheduler's cursor >= E, S2 = its
    head then; t3 = first sample from t2 with doudi-alerts' cursor >= S2.
    The latency is t3 - T: an upper bound, at the sampling interval's
    resolution, of the time until the last daemon has consumed everything
    the request's events led to (t1 - T when the chain ends at eligibility,
    t2 - T when at the scheduler). Returns sorted latencies in seconds."""
    out = []
    n = len(samples)
    i1 = i2 = i3 = 0
    for sent, seq in sorted(((r["sent"], r["seq"]) for r in requests), key=lambda x: x[1]):
        if seq <= 0:
            continue
        while i1 < n and samples[i1]["cursor_eligibility"] < seq:
            i1 += 1
        if i1 >= n:
            break
        if "scheduler" not in RUNNING:
            out.append(max(0.0, samples[i1]["t"] - sent))
            continue
        e = samples[i1]["head_eligibility"]
        i2 = max(i2, i1)
        while i2 < n and samples[i2]["cursor_scheduler"] < e:
            i2 += 1
        if i2 >= n:
            break
        if "alerts" not in RUNNING:
            out.append(max(0.0, samples[i2]["t"] - sent))
            continue
        s2 = samples[i2]["head_scheduler"]
        i3 = max(i3, i2)
        while i3 < n and samples[i3]["cursor_alerts"] < s2:
            i3 += 1
        if i3 >= n:
            break
        out.append(max(0.0, samples[i3]["t"] - sent))
    out.sort()
    return out


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


# ---------------------------------------------------------------------------
# Reading a log: how many records of some kinds it holds
# ---------------------------------------------------------------------------

def count_log_kinds(endpoint, kinds, head, curve=None):
    """curve: (own key pair file, the daemon's .pub) with --curve."""
    import zmq
    from doudi import log_pb2
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if curve:
        sys.path.insert(0, TOOLS_DIR)
        from doudi_keys import curve_client_opts
        for name, value in curve_client_opts(*curve).items():
            sock.setsockopt(getattr(zmq, name), value)
    sock.connect(endpoint)
    after, total, rid = 0, 0, 0
    try:
        while after < head:
            rid += 1
            req = log_pb2.FetchRequest(request_id=rid, after_sequence=after, kinds=kinds,
                                       max_records=50000)
            sock.send(req.SerializeToString())
            if not sock.poll(30000):
                raise RuntimeError(f"no FetchReply from {endpoint}")
            rep = log_pb2.FetchReply.FromString(sock.recv_multipart()[-1])
            if rep.status != log_pb2.FETCH_STATUS_OK:
                raise RuntimeError(f"fetch from {endpoint}: status {rep.status} {rep.error_text}")
            total += len(rep.records)
            if rep.scanned_through_sequence <= after:
                break
            after = rep.scanned_through_sequence
    finally:
        sock.close(0)
    return total


# ---------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------

def run_json(argv, timeout):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       preexec_fn=_die_with_parent)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return json.loads(r.stdout)


def run_json_when_ready(argv, timeout):
    """Runs provpub with --start-on-stdin: waits until it has read and checked
    its files (its "ready" line on stderr), then lets it publish. Returns its
    JSON summary, when it was let go (time.time()) and how long it took to
    get ready: the month is timed from the moment it can send."""
    t0 = time.time()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    before = []
    for line in p.stderr:
        if line.strip() == b"provpub: ready":
            break
        before.append(line)
    started = time.time()
    try:
        p.stdin.write(b"go\n")
        p.stdin.flush()
    except BrokenPipeError:
        pass  # it ended before it was ready: its status says why
    out, err = p.communicate(timeout=timeout)  # closes stdin
    if p.returncode != 0:
        text = (b"".join(before) + err).decode(errors="replace")
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {text[-2000:]}")
    return json.loads(out), started, started - t0


def redis_baseline(work, n, value_bytes, timeout):
    server, bench = shutil.which("redis-server"), shutil.which("redis-benchmark")
    if not server or not bench:
        return {"error": "redis-server or redis-benchmark not installed (deploy/setup.sh)"}
    d = os.path.join(work, "redis")
    os.makedirs(d, exist_ok=True)
    port = free_port()
    p = spawn([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--appendonly", "yes",
               "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--logfile",
               os.path.join(d, "redis.log")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or p.poll() is not None:
                    return {"error": "redis-server did not start"}
                time.sleep(0.05)
        # redis-benchmark 7.0 has no built-in XADD test: the command itself,
        # one field holding a value of the month's mean event size
        r = subprocess.run([bench, "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "-P", "64", "-q",
                            "--csv", "XADD", "doudi-month", "*", "event", "x" * value_bytes],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        rate = None
        for line in r.stdout.decode().splitlines():
            cells = [c.strip('"') for c in line.split(",")]
            if cells and cells[0].upper().startswith("XADD") and len(cells) > 1:
                rate = float(cells[1])
        if rate is None:
            return {"error": f"no XADD line from redis-benchmark: {r.stdout.decode()[-500:]}"
                             f"{r.stderr.decode()[-500:]}"}
        return {"ops_per_s": rate, "ops": n, "pipeline": 64, "value_bytes": value_bytes,
                "appendfsync": "everysec"}
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---------------------------------------------------------------------------
# The plot
# ---------------------------------------------------------------------------

def plot(samples, t0, path, title):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return "gnuplot not installed (deploy/setup.sh)"
    data = path + ".dat"
    keys = ("intake_accepted", "records_eligibility", "records_scheduler", "records_alerts")
    # Counters move a whole batch at a time (eligibility fetches 50,000
    # records), so each point is the rate over the second before it.
    window = 1.0
    with open(data, "w") as f:
        f.write("# t_s " + " ".join(f"{k}_per_s" for k in keys) + "\n")
        j = 0
        for b in samples:
            if b["t"] < t0:
                continue
            while j < len(samples) and samples[j]["t"] < b["t"] - window:
                j += 1
            a = samples[max(0, j - 1)]
            dt = b["t"] - a["t"]
            if dt <= 0:
                continue
            f.write(f"{b['t'] - t0:.3f} " + " ".join(f"{(b[k] - a[k]) / dt:.1f}" for k in keys) + "\n")
    script = f"""set terminal pngcairo size 1200,600 noenhanced
set output '{path}'
set title '{title}'
set xlabel 'seconds since the month started'
set ylabel 'records per second (over the last second)'
set grid
set key inside right top
set format y '%.0f'
plot '{data}' using 1:2 with lines title 'intake: events accepted', \\
     '' using 1:3 with lines title 'eligibility: intake records applied', \\
     '' using 1:4 with lines title 'scheduler: records applied', \\
     '' using 1:5 with lines title 'alerts: records applied'
"""
    r = subprocess.run([gnuplot], input=script.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        # pngcairo may be missing from gnuplot-nox builds: the plain png terminal
        script = script.replace("pngcairo size 1200,600 noenhanced", "png size 1200,600")
        r = subprocess.run([gnuplot], input=script.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            return f"gnuplot failed: {r.stderr.decode()[-300:]}"
    return None


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.rows = []

    def eq(self, what, got, want):
        self.rows.append({"check": what, "got": got, "want": want, "ok": got == want})

    @property
    def ok(self):
        return all(r["ok"] for r in self.rows)


def read_requests(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            p, sent, reply, events, seq = line.split(",")
            rows.append({"sent": int(sent) / 1e9, "reply": int(reply) / 1e9, "events": int(events),
                         "seq": int(seq)})
    return rows


def git_commit():
    try:
        r = subprocess.run(["git", "-C", SOURCE, "rev-parse", "--short", "HEAD"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        dirty = subprocess.run(["git", "-C", SOURCE, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
        return r.stdout.decode().strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return ""


PAGE_REPORTING = "/sys/module/page_reporting/parameters"


def page_reporting():
    """The guest's free page reporting (virtio-balloon hands freed memory
    back to the host, which faults it in again on its next first write):
    {"order": blocks of 2^order pages, "reported_kib": since boot, if the
    kernel counts it}, or None where the kernel has no such module."""
    out = {}
    for key, name in (("order", "page_reporting_order"), ("reported_kib", "reported_kib")):
        try:
            with open(os.path.join(PAGE_REPORTING, name)) as f:
                out[key] = int(f.read().strip())
        except (OSError, ValueError):
            pass
    return out or None


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_bytes": mem, "kernel": os.uname().release,
            "load_average_at_start": os.getloadavg(), "free_page_reporting": page_reporting()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--bin", default=os.environ.get("DOUDI_BIN_DIR", os.path.join(SOURCE, "build", "bin")),
                    help="the build's bin/ (daemons, provgen, provpub, provbase); default "
                         "$DOUDI_BIN_DIR or build/bin")
    ap.add_argument("--scale", default="county", choices=("county", "city", "province"))
    ap.add_argument("--households", type=int, help="default: the province's density")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--month", type=int, default=202610)
    ap.add_argument("--miss-rate", type=float, default=0.05)
    ap.add_argument("--portals", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1000)
    # Requests in flight per portal. With 4, one group commit took every
    # request in flight, and intake found nothing on its socket after each
    # sync; with 8 the next requests are there while it syncs.
    ap.add_argument("--window", type=int, default=8,
                    help="requests awaiting a reply per portal (default 8)")
    ap.add_argument("--baselines", default="zmq,lmdb,redis",
                    help="comma-separated subset of zmq,lmdb,redis, or none")
    # The baselines carry as many events as the month: a short burst into an
    # empty Redis stream is its best case (2 million XADDs ran 6 % faster
    # than the month's 32.5 million, which grow the stream to 3.6 GB and
    # make Redis rewrite its AOF about twenty times), and doudi is timed
    # over the whole month.
    ap.add_argument("--baseline-events", type=int, default=0,
                    help="at most this many of the month's events per baseline (default 0: all "
                         "of them)")
    ap.add_argument("--work", help="work directory (default: a new one under $TMPDIR); it must be "
                                   "on the disk to measure")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    # Each round scrapes four /metrics pages (about 12 KB each) and parses
    # them in Python on the cores the daemons use: at 0.1 s that took about
    # 1.5 CPU s of a province-month.
    ap.add_argument("--sample-s", type=float, default=0.2,
                    help="metrics sampling interval, s (default 0.2)")
    ap.add_argument("--timeout", type=float, default=3600, help="longest wait for the chain, s")
    ap.add_argument("--until", default="alerts", choices=DAEMONS[1:],
                    help="the last daemon of the chain to start (default alerts: all four); "
                         "eligibility measures intake -> eligibility alone")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--png", help="write the throughput-over-time plot here")
    ap.add_argument("--preload-snapshot", metavar="DIR",
                    help="keep the generated files and the daemons' stores after the preload in "
                         "DIR, or start from them when DIR holds a snapshot of the same options: "
                         "the month then runs on daemons restarted from the snapshot (each fills "
                         "its in-memory indexes and caches again at start-up); see save_snapshot()")
    ap.add_argument("--profile", action="store_true",
                    help="sample the daemons with perf (linux-perf) during exactly the month and "
                         "report CPU ns per event by process and symbol (monthprof.py; its diff "
                         "compares two runs); perf's month.perf is in the work directory (--keep keeps it)")
    ap.add_argument("--profile-hz", type=int, default=999,
                    help="perf's sampling rate with --profile (default 999)")
    ap.add_argument("--curve", action="store_true",
                    help="every endpoint over CURVE: keys made with doudictl keygen in the work "
                         "directory, each daemon's [auth] set, the portals and provbench's own "
                         "reads as clients; measures what encryption and authentication cost")
    ap.add_argument("--set", action="append", default=[], metavar="DAEMON.SECTION.KEY=VALUE",
                    help="a configuration key for one daemon on top of provbench's (repeatable), "
                         "e.g. eligibility.eligibility.fetch_max_records=100000; the result "
                         "records them")
    args = ap.parse_args()
    global RUNNING
    RUNNING = DAEMONS[:DAEMONS.index(args.until) + 1]

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(args.bin)), "proto", "python"))
    baselines = [] if args.baselines == "none" else args.baselines.split(",")
    for b in baselines:
        if b not in ("zmq", "lmdb", "redis"):
            fail(f"--baselines: unknown baseline {b}")
    if not 1 <= args.profile_hz <= 100000:
        fail(f"--profile-hz {args.profile_hz}: give 1 to 100000 samples a second")
    if args.profile and not shutil.which("perf"):
        fail("--profile needs perf (Debian package linux-perf)")
    for tool in ("provgen", "provpub", "provbase") + tuple(f"doudi-{n}" for n in RUNNING):
        if not os.access(os.path.join(args.bin, tool), os.X_OK):
            fail(f"{args.bin}/{tool} not found: build first, or give --bin")

    work = args.work or tempfile.mkdtemp(prefix="provbench-")
    os.makedirs(work, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    result = {"commit": git_commit(), "machine": machine(), "scale": args.scale, "seed": args.seed,
              "daemons": list(RUNNING),
              "portals": args.portals, "batch": args.batch, "window": args.window, "work": work,
              "settings": args.set, "curve": args.curve}
    try:
        fs = subprocess.run(["stat", "-f", "-c", "%T", work], stdout=subprocess.PIPE).stdout.decode().strip()
        result["filesystem"] = fs
        if fs == "tmpfs":
            print("provbench: warning: the work directory is on tmpfs: fsync costs nothing there",
                  file=sys.stderr)
        rc = run(args, work, baselines, result)
    except ProfileError as e:
        print(f"provbench: --profile: {e}", file=sys.stderr)
        rc = 2
    finally:
        kill_children()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return rc


def say(msg):
    print(msg, flush=True)


def snapshot_options(args):
    """What a preload snapshot must have been made with to be reused."""
    return {"scale": args.scale, "households": args.households, "seed": args.seed,
            "month": args.month, "miss_rate": args.miss_rate, "portals": args.portals,
            "batch": args.batch, "window": args.window, "daemons": list(RUNNING)}


def load_snapshot(args):
    """The snapshot's description when --preload-snapshot holds one made
    with these options, else None."""
    if not args.preload_snapshot:
        return None
    try:
        with open(os.path.join(args.preload_snapshot, "snapshot.json")) as f:
            snap = json.load(f)
    except (OSError, ValueError):
        return None
    if snap.get("options") != snapshot_options(args):
        say(f"   the snapshot in {args.preload_snapshot} was made with other options; making a new one")
        return None
    if snap.get("commit") != git_commit():
        say(f"   note: the snapshot's stores were written by commit {snap.get('commit')}")
    return snap


def copy_tree(src, dst):
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    subprocess.run(["cp", "-a", src, dst], check=True)


def save_snapshot(args, d, gen_dir, pre, preload_s, m_pre):
    """Stops the running daemons (SIGTERM: each commits and exits 0), copies
    the generated files and every store to --preload-snapshot with the
    preload's publish result and counters, and starts the daemons again."""
    snap_dir = args.preload_snapshot
    for n in RUNNING:
        rc = d[n].stop(300)
        if rc != 0:
            raise RuntimeError(f"doudi-{n} exited with {rc} on SIGTERM before the snapshot")
    shutil.rmtree(snap_dir, ignore_errors=True)
    os.makedirs(snap_dir)
    copy_tree(gen_dir, os.path.join(snap_dir, "gen"))
    for n in RUNNING:
        copy_tree(d[n].data, os.path.join(snap_dir, n, "data"))
    counters = [[n, name, list(map(list, labels)), v] for n in RUNNING
                for (name, labels), v in m_pre[n].items() if name.endswith("_total")]
    with open(os.path.join(snap_dir, "snapshot.json"), "w") as f:
        json.dump({"options": snapshot_options(args), "commit": git_commit(), "publish": pre,
                   "preload_s": preload_s, "counters": counters}, f)
    for n in RUNNING:
        d[n].start(300)


def add_preload_counters(m, snap):
    """The month's metrics of daemons restarted after the preload, with the
    preload's counters added back, so the checks see the whole run."""
    out = {n: dict(v) for n, v in m.items()}
    for n, name, labels, v in snap["counters"]:
        key = (name, tuple(tuple(x) for x in labels))
        out[n][key] = out[n].get(key, 0.0) + v
    return out


def run(args, work, baselines, result):
    snap = load_snapshot(args)
    if snap:
        return run_from(args, work, baselines, result, snap, os.path.join(args.preload_snapshot, "gen"))
    return run_from(args, work, baselines, result, None, os.path.join(work, "gen"))


def generate(args, gen_dir):
    gen = [os.path.join(args.bin, "provgen"), "--out", gen_dir, "--scale", args.scale, "--seed",
           str(args.seed), "--month", str(args.month), "--portals", str(args.portals), "--miss-rate",
           str(args.miss_rate)]
    if args.households:
        gen += ["--households", str(args.households)]
    say(f"== generating: {' '.join(gen[1:])}")
    t = time.monotonic()
    subprocess.run(gen, check=True, preexec_fn=_die_with_parent)
    return time.monotonic() - t


def run_from(args, work, baselines, result, snap, gen_dir):
    gen_s = None if snap else generate(args, gen_dir)
    with open(os.path.join(gen_dir, "expected.json")) as f:
        ex = json.load(f)
    result["expected"] = ex
    if gen_s is not None:
        result["generation"] = {"seconds": gen_s, "events_per_s": ex["events_total"] / gen_s}
    pop = ex["population"]
    say(f"   {pop['households']:,} households, {pop['persons']:,} persons "
        f"({pop['share_60_plus']:.2%} aged 60+, {pop['share_80_plus_of_60_plus']:.1%} of them 80+), "
        f"{pop['workers']:,} workers; preload {ex['preload']['valid']:,} events, month "
        f"{ex['month']['valid'] + ex['invalid_total']:,} events "
        f"({ex['month']['by_kind']['comparison_record']:,} comparison records, "
        f"{pop['comparison_records_changing']:,} changing)"
        + (f", generated in {gen_s:.1f} s" if gen_s is not None else f", from {gen_dir}"))

    d = {n: Daemon(n, work, args.bin) for n in DAEMONS}
    curve_keys, curve_sections = (make_curve_keys(args.bin, work) if args.curve
                                  else (None, None))
    if curve_keys:
        # provpub reads these, as doudictl does.
        os.environ["DOUDI_CURVE_KEY"] = curve_keys["portal"][0]
        os.environ["DOUDI_CURVE_SERVER_KEY"] = curve_keys["intake"][0] + ".pub"
    configure(d, work, gen_dir, parse_settings(args.set),
              ex["preload"]["valid"] + ex["month"]["valid"], curve_sections)
    if curve_keys:
        # provbench reads the scheduler's log to check alerts' count
        d["scheduler"].curve_read = (curve_keys["provbench"][0],
                                     curve_keys["scheduler"][0] + ".pub")
    if snap:
        say(f"== restoring the preload snapshot of {args.preload_snapshot}")
        for n in RUNNING:
            copy_tree(os.path.join(args.preload_snapshot, n, "data"), d[n].data)
        # The copy leaves gigabytes of dirty page cache; written back now, not
        # during the month (a run from scratch wrote its preload long before).
        os.sync()
    for n in RUNNING:
        d[n].start(60)
    say(f"== started {', '.join(RUNNING)} in {work} (fsync on, data on {result['filesystem']}"
        + (", CURVE on every endpoint)" if args.curve else ")"))
    sampler = Sampler(d, args.sample_s)

    pub = [os.path.join(args.bin, "provpub"), "--dir", gen_dir, "-e", d["intake"].endpoint("publish"),
           "--portals", str(args.portals), "--batch", str(args.batch), "--window", str(args.window)]
    if snap:
        pre, preload_s = snap["publish"], snap["preload_s"]
        s_pre, m_pre = wait_caught_up(sampler, d, ex["preload"]["valid"], args.timeout)
    else:
        t = time.time()
        pre = run_json(pub + ["--phase", "preload"], args.timeout)
        s_pre, m_pre = wait_caught_up(sampler, d, ex["preload"]["valid"], args.timeout)
        preload_s = time.time() - t
    result["preload"] = {"publish": pre, "end_to_end_s": preload_s,
                         "events_per_s": ex["preload"]["valid"] / preload_s}
    say(f"== preload: {ex['preload']['valid']:,} events published in {pre['elapsed_s']:.1f} s, "
        f"consumed by the whole chain in {preload_s:.1f} s" + (" (restored)" if snap else ""))
    settle_s, entries, folds = settle(d, args.timeout)
    result["preload"]["settle"] = {"seconds": settle_s, "journal_entries": entries, "folds": folds}
    if folds:
        say(f"== settled: eligibility folded its households journal ({entries:,.0f} entries) "
            f"once caught up, {settle_s:.1f} s")
        s_pre, m_pre = wait_caught_up(sampler, d, ex["preload"]["valid"], args.timeout)
    if args.preload_snapshot:
        if not snap:
            say(f"== saving the preload snapshot in {args.preload_snapshot}")
            save_snapshot(args, d, gen_dir, pre, preload_s, m_pre)
            with open(os.path.join(args.preload_snapshot, "snapshot.json")) as f:
                snap = json.load(f)
            s_pre, m_pre = wait_caught_up(sampler, d, ex["preload"]["valid"], args.timeout)
        result["preload"]["snapshot"] = args.preload_snapshot

    prof = None
    if args.profile:
        prof = MonthProfile(work, [d[n].proc.pid for n in RUNNING], args.profile_hz, spawn)
        prof.enable()
    cpu0 = {n: d[n].cpu_seconds() for n in RUNNING}
    reported0 = page_reporting()
    requests_path = os.path.join(work, "requests.csv")
    sampler.samples.append(s_pre)
    sampler.start()
    month, month_start, ready_s = run_json_when_ready(
        pub + ["--phase", "month", "--requests", requests_path, "--start-on-stdin"], args.timeout)
    published_s = time.time() - month_start
    result["publisher_ready_s"] = ready_s
    say(f"== month: the publisher read and checked its files in {ready_s:.1f} s (not in the month's time)")
    want_head = ex["preload"]["valid"] + ex["month"]["valid"]
    s_end, m = wait_caught_up(sampler, d, want_head, args.timeout)
    month_s, detected_s = month_end(m, month_start)
    result["month_end_detected_s"] = detected_s
    if prof:
        prof.stop()
    sampler.stop()
    samples = sampler.samples if sampler.samples[-1] is s_end else sampler.samples + [s_end]
    cpu = {n: d[n].cpu_seconds() - cpu0[n] for n in RUNNING}
    reported1 = page_reporting()
    if reported0 and reported1 and "reported_kib" in reported0 and "reported_kib" in reported1:
        result["month_free_page_reporting"] = {
            "order": reported1.get("order"),
            "reported_kib": reported1["reported_kib"] - reported0["reported_kib"]}
    # Not in the month's time: the fold a quiet moment after it brings.
    cpu_settled = {n: d[n].cpu_seconds() for n in RUNNING}
    settle_s, entries, folds = settle(d, args.timeout)
    result["after_month"] = {"settle_s": settle_s, "journal_entries": entries, "folds": folds,
                             "cpu_s": {n: d[n].cpu_seconds() - cpu_settled[n] for n in RUNNING}}
    if folds:
        say(f"== after the month (not in its time): eligibility folded its households journal "
            f"({entries:,.0f} entries) once caught up, {settle_s:.1f} s")
    rss = {n: d[n].peak_rss_bytes() for n in RUNNING}
    month_events = ex["month"]["valid"] + ex["invalid_total"]
    profile = prof.report(month_start, month_start + month_s, month_events) if prof else None

    # ---- checks: exact, from what the generator knows ----------------------
    c = Checks()
    whole = add_preload_counters(m, snap) if snap else m
    mi, me = whole["intake"], whole["eligibility"]
    valid = ex["preload"]["valid"] + ex["month"]["valid"]
    c.eq("provpub: every event answered", pre["answered"] + month["answered"], valid + ex["invalid_total"])
    c.eq("provpub: accepted or duplicate (a resent request) = valid events",
         pre["accepted"] + pre["duplicate"] + month["accepted"] + month["duplicate"], valid)
    c.eq("provpub: rejected by reason", {**pre["rejected"], **month["rejected"]}, ex["invalid"])
    c.eq("intake: doudi_intake_events_accepted_total", metric(mi, "doudi_intake_events_accepted_total"), valid)
    c.eq("intake: duplicates = events of resent requests",
         metric(mi, "doudi_intake_events_duplicate_total"), pre["duplicate"] + month["duplicate"])
    rejected = {k: int(v) for k, v in labelled(mi, "doudi_intake_events_rejected_total", "reason").items() if v}
    c.eq("intake: doudi_intake_events_rejected_total by reason", rejected, ex["invalid"])
    c.eq("intake: log head", metric(mi, "doudi_log_head_sequence"), valid)
    by_kind = {k: ex["preload"]["by_kind"][k] + ex["month"]["by_kind"][k] for k in KIND_NUMBERS}
    got_kinds = {k: int(v) for k, v in labelled(me, "doudi_eligibility_records_total", "kind").items()}
    c.eq("eligibility: records applied by kind", {k: got_kinds.get(k, 0) for k in by_kind}, by_kind)
    c.eq("eligibility: records changed", metric(me, "doudi_eligibility_records_changed_total"),
         ex["preload"]["eligibility_changed"] + ex["month"]["eligibility_changed"])
    c.eq("eligibility: records unchanged", metric(me, "doudi_eligibility_records_unchanged_total"),
         ex["preload"]["eligibility_unchanged"] + ex["month"]["eligibility_unchanged"])
    c.eq("eligibility: undecodable records", metric(me, "doudi_eligibility_records_undecodable_total"), 0)
    c.eq("eligibility: persons in the registry", metric(me, "doudi_eligibility_registry_persons"),
         pop["persons"])
    c.eq("eligibility: households in the registry", metric(me, "doudi_eligibility_registry_households"),
         pop["households"])
    c.eq("eligibility: cursor at intake's head", s_end["cursor_eligibility"], valid)
    if "scheduler" in RUNNING:
        check_scheduler_and_alerts(c, d, whole, s_end, by_kind)
    result["checks"] = c.rows
    result["month_commits"] = commits_of_month(m_pre, m)
    finish(args, baselines, work, gen_dir, ex, d, pre, month, s_pre, s_end, m, samples, sampler.error, month_start, month_s,
           published_s, requests_path, cpu, rss, month_events, profile, result, c)
    return 0 if c.ok else 1


def commits_of_month(m_pre, m):
    """Each daemon's LMDB commits in the month: how many, their time and
    the bytes they wrote (doudi_lmdb_*), the preload's taken away."""
    out = {}
    for n in RUNNING:
        def delta(name):
            return metric(m[n], name) - metric(m_pre[n], name)
        commits = delta("doudi_lmdb_commits_total")
        out[n] = {"commits": commits,
                  "seconds": delta("doudi_lmdb_commit_seconds_sum"),
                  "written_bytes": delta("doudi_lmdb_commit_written_bytes_total")}
    return out


def check_scheduler_and_alerts(c, d, m, s_end, by_kind):
    me, ms, ma = m["eligibility"], m["scheduler"], m["alerts"]
    sk = {k: int(v) for k, v in labelled(ms, "doudi_scheduler_records_total", "kind").items()}
    elig_alerts = sum(labelled(me, "doudi_eligibility_alerts_total", "kind").values())
    c.eq("scheduler: care changes = eligibility's", sk.get("care_change", 0),
         int(metric(me, "doudi_eligibility_care_changes_total")))
    c.eq("scheduler: alerts = eligibility's", sk.get("alert", 0), int(elig_alerts))
    c.eq("scheduler: alerts passed on = eligibility's", metric(ms, "doudi_scheduler_alerts_passed_total"),
         elig_alerts)
    c.eq("scheduler: visit reports", sk.get("visit_report", 0), by_kind["visit_report"])
    c.eq("scheduler: roster changes", sk.get("roster_change", 0), by_kind["roster_change"])
    c.eq("scheduler: acknowledgements", sk.get("acknowledgement", 0), by_kind["alert_acknowledgement"])
    c.eq("scheduler: undecodable or refused records",
         metric(ms, "doudi_scheduler_records_undecodable_total") + metric(ms, "doudi_scheduler_records_rejected_total"),
         0)
    c.eq("scheduler: cursor at eligibility's head", s_end["cursor_scheduler"], s_end["head_eligibility"])
    if "alerts" not in RUNNING:
        return
    sched_for_alerts = count_log_kinds(d["scheduler"].endpoint("log"), [102, 18, 201],
                                       int(s_end["head_scheduler"]),
                                       getattr(d["scheduler"], "curve_read", None))
    c.eq("alerts: records applied = alerts, acknowledgements and plan changes in the scheduler's log",
         metric(ma, "doudi_alerts_upstream_records_total"), sched_for_alerts)
    c.eq("alerts: cursor at the scheduler's head", s_end["cursor_alerts"], s_end["head_scheduler"])


def finish(args, baselines, work, gen_dir, ex, d, pre, month, s_pre, s_end, m, samples, sampler_error, month_start, month_s,
           published_s, requests_path, cpu, rss, month_events, profile, result, c):
    ms, ma = m["scheduler"], m["alerts"]
    # ---- figures -------------------------------------------------------------
    def done_at(n, key, target):
        # The consumer's own time of its last commit (month_end()); else
        # the first sample that saw it there.
        own = last_commit_at(m, n)
        if own:
            return own
        for s in samples:
            if s[key] >= target:
                return s["t"]
        return s_end["t"]

    rates = {"intake": {"events": month_events, "seconds": month["elapsed_s"]}}
    finals = {"eligibility": ("cursor_eligibility", s_end["cursor_eligibility"]),
              "scheduler": ("cursor_scheduler", s_end["cursor_scheduler"]),
              "alerts": ("cursor_alerts", s_end["cursor_alerts"])}
    for n, (key, final) in finals.items():
        if n not in RUNNING:
            continue
        consumed = s_end[f"records_{n}"] - s_pre[f"records_{n}"]
        secs = max(1e-9, done_at(n, key, final) - month_start)
        rates[n] = {"records": consumed, "seconds": secs}
    for n in rates:
        r = rates[n]
        r["per_s"] = (r.get("events") or r.get("records")) / r["seconds"] if r["seconds"] else 0
    reqs = read_requests(requests_path)
    lat = latency(reqs, samples)
    lat_pct = {f"p{p}": percentile(lat, p) for p in (50, 90, 99, 100)}
    ack = [r["reply"] - r["sent"] for r in reqs]
    ack.sort()
    result["month"] = {
        "publish": month, "events": month_events, "end_to_end_s": month_s, "published_s": published_s,
        "wall_start_unix": month_start, "wall_end_unix": month_start + month_s,
        "events_per_s": month_events / month_s, "per_daemon": rates,
        "latency_s": {**lat_pct, "requests_measured": len(lat), "of_requests": len(reqs),
                      "sample_interval_s": args.sample_s},
        "publish_reply_s": {f"p{p}": percentile(ack, p) for p in (50, 99)},
        "cpu_s": cpu, "peak_rss_bytes": rss, "lmdb_bytes": {n: d[n].disk_bytes() for n in RUNNING},
        "comparison_records": ex["month"]["by_kind"]["comparison_record"],
        "scheduler_visit_reports": labelled(ms, "doudi_scheduler_visit_reports_total", "result"),
        "alerts_rejected": labelled(ma, "doudi_alerts_rejected_total", "reason"),
        "sampler_error": sampler_error,
    }
    if profile:
        result["month"]["profile"] = profile
    for n in RUNNING:
        rc = d[n].stop(120)
        if rc != 0:
            c.eq(f"doudi-{n}: exit status after SIGTERM", rc, 0)

    # ---- baselines, in the same run -------------------------------------------
    base = {}
    n_base = min(args.baseline_events, month_events) if args.baseline_events > 0 else month_events
    # the month's mean event size: its files less the 12-byte record headers
    month_bytes = sum(os.path.getsize(os.path.join(gen_dir, f)) for f in os.listdir(gen_dir)
                      if f.startswith("month-") and f.endswith(".evt"))
    mean_bytes = month_bytes / max(1, month_events) - 12
    for b in baselines:
        say(f"== baseline: {b}")
        if b in ("zmq", "lmdb"):
            base[b] = run_json([os.path.join(args.bin, "provbase"), "--dir", gen_dir, "--target", b,
                                "--events", str(n_base), "--batch", str(args.batch), "--portals",
                                str(args.portals), "--work", work], args.timeout)
        else:
            base[b] = redis_baseline(work, n_base, int(mean_bytes or 256), args.timeout)
    result["baselines"] = base
    doudi_rate = result["month"]["events_per_s"]
    ratios = {}
    for b, r in base.items():
        rate = r.get("events_per_s") or r.get("ops_per_s")
        if rate:
            ratios[b] = doudi_rate / rate
    result["ratios"] = ratios
    result["targets"] = {"province_month_s": 120, "events_per_s": 300000, "redis_ratio": 1.0,
                         "met_redis_ratio": ratios.get("redis", 0) >= 1.0 if "redis" in ratios else None,
                         "met_events_per_s": doudi_rate >= 300000}

    # ---- report ---------------------------------------------------------------
    if args.png:
        err = plot(samples, month_start, args.png,
                   f"doudi {args.scale}-month: {month_events:,} events, {args.portals} portals")
        if err:
            result["plot_error"] = err
            say(f"provbench: no plot: {err}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2, sort_keys=True)
    report(result)


def report(r):
    mo = r["month"]
    say("")
    say(f"== {r['scale']}-month: {mo['events']:,} events end to end in {mo['end_to_end_s']:.1f} s: "
        f"{mo['events_per_s']:,.0f} events/s (published in {mo['published_s']:.1f} s)")
    say(f"   {'daemon':<12} {'records':>12} {'s':>8} {'per s':>10} {'CPU s':>8} {'peak RSS':>10} {'LMDB':>10}")
    for n in r["daemons"]:
        pd = mo["per_daemon"][n]
        say(f"   {n:<12} {int(pd.get('events') or pd.get('records')):>12,} {pd['seconds']:>8.1f} "
            f"{pd['per_s']:>10,.0f} {mo['cpu_s'][n]:>8.1f} {mo['peak_rss_bytes'][n] / 2**20:>8.0f} MiB "
            f"{mo['lmdb_bytes'][n] / 2**20:>7.0f} MiB")
    pe = mo["per_daemon"]["eligibility"]
    say(f"   of eligibility's records {mo['comparison_records']:,} are department comparison records: "
        f"the month's records at {pe['per_s']:,.0f}/s through intake -> eligibility")
    for n, cm in r.get("month_commits", {}).items():
        if cm["commits"]:
            say(f"   {n}: {cm['commits']:,.0f} commits, {cm['seconds']:.1f} s committing, "
                f"{cm['written_bytes'] / 2**20:,.0f} MiB written "
                f"({cm['written_bytes'] / cm['commits'] / 4096:,.0f} pages a commit)")
    la = mo["latency_s"]
    if la["p50"] is not None:
        say(f"   latency publish -> last derived record consumed: p50 {la['p50']:.2f} s, p90 {la['p90']:.2f} s, "
            f"p99 {la['p99']:.2f} s, max {la['p100']:.2f} s ({la['requests_measured']} of "
            f"{la['of_requests']} requests, sampled every {la['sample_interval_s']} s)")
    fr = r.get("month_free_page_reporting")
    if fr:
        say(f"   the guest handed {fr['reported_kib'] / 1024:,.0f} MiB of freed memory back to its host "
            f"during the month (free page reporting, blocks of order {fr['order']}): a page of it "
            f"written again is faulted in from the host first")
    for b, v in r["baselines"].items():
        if "error" in v:
            say(f"   baseline {b}: {v['error']}")
            continue
        rate = v.get("events_per_s") or v.get("ops_per_s")
        say(f"   baseline {b}: {rate:,.0f}/s; doudi / {b} = {r['ratios'].get(b, 0):.3f}")
    pr = mo.get("profile")
    if pr:
        say(f"   where the CPU went (perf at {pr['frequency_hz']} Hz, {pr['samples']:,} samples in the month, "
            f"ns of CPU an event): " + ", ".join(f"{p['process']} {p['ns_per_event']:.0f}"
                                                  for p in pr["processes"][:6]))
        for row in pr["symbols"][:12]:
            say(f"     {row['ns_per_event']:>7.1f}  {row['process']} / {row['object']} / {row['symbol']}")
    bad = [c for c in r["checks"] if not c["ok"]]
    say(f"== checks: {len(r['checks']) - len(bad)} of {len(r['checks'])} hold")
    for c in r["checks"]:
        say(f"   {'ok  ' if c['ok'] else 'FAIL'} {c['check']}: {c['got']}" +
            ("" if c["ok"] else f" (want {c['want']})"))


if __name__ == "__main__":
    sys.exit(main())
