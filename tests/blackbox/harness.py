"""Shared helpers of the black-box tests: real doudi daemons on free loopback
ports, driven only over their wire contract (proto/doudi/*.proto), their
configuration file, their signals and their /metrics endpoint.

What is here:
  - free_port(): a loopback TCP port nobody listens on, below the kernel's
    ephemeral range so that no outgoing connection can take it later;
  - Intake, Eligibility (both Daemon): write an INI configuration, start
    `doudi-intake -c FILE` / `doudi-eligibility -c FILE` with stderr to a
    file, wait until /metrics answers, stop it by pid (SIGTERM with a
    deadline, or SIGKILL); Eligibility consumes a given Intake's log, answers
    registry queries (query()) and says when it has caught up with intake
    (lag 0 and its cursor at intake's head); mdb_dump() reads one database of
    a stopped daemon's LMDB environment;
  - Portal: a DEALER that publishes encoded events in requests of N with a
    window of outstanding requests, matches replies by request_id, resends on
    a fresh socket what is not answered in time, and keeps going until every
    event has an answer; run as `harness.py portal ...` it is a separate
    process (the kill test runs three);
  - LogReader (FetchRequest), admin(), raw socket helpers, scrape_metrics();
  - EventFactory: valid Envelopes of every body kind, deterministic by seed;
  - run_tests(): the runner every test_*.py ends with: each test function in
    its own temporary directory, every process it started killed by pid when
    it ends, pass or fail (also at interpreter exit and, through
    PR_SET_PDEATHSIG, when the runner itself is killed).

Every wait is a poll of a condition with a deadline; nothing sleeps for a
fixed time hoping something happened meanwhile.
"""

import argparse
import atexit
import ctypes
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque

import zmq

from doudi import admin_pb2, event_pb2, log_pb2, publish_pb2

# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------

PYTHON = sys.executable or "/usr/bin/python3"
HARNESS = os.path.abspath(__file__)


def bin_dir():
    d = os.environ.get("DOUDI_BIN_DIR")
    if not d:
        raise SystemExit("DOUDI_BIN_DIR is not set (ctest sets it to the build's bin/)")
    return d


def binary(name):
    return os.path.join(bin_dir(), name)


_sanitized = None


def sanitized_build():
    """Whether doudi-intake was built with AddressSanitizer (slower: every
    deadline is scaled by time_scale())."""
    global _sanitized
    if _sanitized is None:
        try:
            with open(binary("doudi-intake"), "rb") as f:
                _sanitized = b"__asan_init" in f.read()
        except OSError:
            _sanitized = False
    return _sanitized


def time_scale():
    env = os.environ.get("DOUDI_TIME_SCALE")
    if env:
        return float(env)
    return 2.0 if sanitized_build() else 1.0


def now_ms():
    return int(time.time() * 1000)


class CheckFailed(AssertionError):
    pass


def check(cond, message):
    """assert that survives python -O, with a message worth reading."""
    if not cond:
        raise CheckFailed(message)


def check_eq(got, want, what):
    if got != want:
        raise CheckFailed(f"{what}: got {got!r}, want {want!r}")


def wait_for(cond, timeout, what, interval=0.01):
    """Polls cond() until it returns something true; returns that value.
    Raises TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------
# Processes: every one started here is ended here, by pid
# ---------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
# Loaded here, not in the child: dlopen after fork in a process with threads
# (ZeroMQ's) could deadlock.
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """Runs in the child between fork and exec: SIGKILL it when the process
    that started it dies, however that happens."""
    try:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


_live = {}  # pid -> Popen


def spawn(argv, **kw):
    """Popen that registers the child for killing at the end of the test
    and at interpreter exit."""
    p = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
    _live[p.pid] = p
    return p


def reap(p, timeout):
    """Waits for p to exit; returns its status, or None on timeout."""
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    _live.pop(p.pid, None)
    return rc


def kill_hard(p):
    """SIGKILL p by its pid and reap it."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    p.wait()
    _live.pop(p.pid, None)
    return p.returncode


def kill_all():
    for p in list(_live.values()):
        kill_hard(p)


atexit.register(kill_all)


# ---------------------------------------------------------------------------
# Ports and directories
# ---------------------------------------------------------------------------

_handed_out = set()
# Ports handed out are also claimed by a file here, so that test processes
# running side by side (ctest -j) never pick the same one; a daemon killed
# and restarted finds its ports still free.
PORT_CLAIMS = os.path.join(tempfile.gettempdir(), "doudi-bb-ports")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(port):
    """Claims port for this process; False when another live process has."""
    os.makedirs(PORT_CLAIMS, exist_ok=True)
    path = os.path.join(PORT_CLAIMS, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read().strip() or 0)
            except (OSError, ValueError):
                return False
            if owner and _pid_alive(owner):
                return False
            try:
                os.unlink(path)  # left by a process that is gone
            except OSError:
                return False
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def _release_ports():
    for port in _handed_out:
        try:
            os.unlink(os.path.join(PORT_CLAIMS, str(port)))
        except OSError:
            pass


atexit.register(_release_ports)


def free_port():
    """A loopback TCP port that nothing listens on now. It is chosen below
    the ephemeral range, so the kernel never hands it to an outgoing
    connection (a daemon restarted on the same port finds it free), and
    claimed for this process until it exits."""
    hi = _ephemeral_low() - 1
    lo = max(10000, hi - 20000)
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(1000):
        port = rng.randint(lo, hi)
        if port in _handed_out:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        if not _claim(port):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port found")


# ---------------------------------------------------------------------------
# ZeroMQ helpers
# ---------------------------------------------------------------------------


def zctx():
    return zmq.Context.instance()


def dealer(endpoint, **opts):
    s = zctx().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    for k, v in opts.items():
        s.setsockopt(getattr(zmq, k), v)
    s.connect(endpoint)
    return s


def recv_frames(sock, timeout):
    """One multipart message, or None when nothing comes within timeout s."""
    if sock.poll(int(timeout * 1000), zmq.POLLIN):
        return sock.recv_multipart()
    return None


class RawClient:
    """A DEALER for hand-made messages (wrong frame shapes, garbage)."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.sock = dealer(endpoint)

    def send(self, *frames):
        self.sock.send_multipart(list(frames))

    def recv(self, timeout=5.0):
        return recv_frames(self.sock, timeout * time_scale())

    def close(self):
        self.sock.close(0)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """A parsed scrape: samples by (name, labels), and the TYPE of families."""

    def __init__(self, text):
        self.text = text
        self.samples = {}
        self.types = {}
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                parts = line.split()
                self.types[parts[2]] = parts[3]
                continue
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise CheckFailed(f"unparsable metrics line: {line!r}")
            labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
            self.samples[(m.group(1), labels)] = float(m.group(3))

    def get(self, name, default=None, **labels):
        return self.samples.get((name, tuple(sorted(labels.items()))), default)

    def value(self, name, **labels):
        v = self.get(name, **labels)
        if v is None:
            raise CheckFailed(f"metric {name}{labels or ''} is not in the scrape")
        return v

    def series(self, name):
        """{labels-dict-as-tuple: value} of every sample of name."""
        return {lab: v for (n, lab), v in self.samples.items() if n == name}


def http_get(host, port, path, timeout=2.0):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def scrape_metrics(port, host="127.0.0.1"):
    status, body = http_get(host, port, "/metrics", timeout=5.0 * time_scale())
    check_eq(status, 200, "GET /metrics status")
    return Metrics(body.decode("utf-8"))


# ---------------------------------------------------------------------------
# The daemon under test
# ---------------------------------------------------------------------------


class Daemon:
    """One doudi daemon with its own directory, configuration and ports.
    Subclasses name the program, the INI section, the ports it binds and
    the configuration keys that point at them."""

    PROGRAM = None   # binary name in bin_dir()
    LABEL = None     # how messages name it
    PORTS = ()       # names of the ports it binds

    def __init__(self, workdir, overrides=None, name=None):
        self.dir = os.path.join(workdir, name or self.LABEL)
        os.makedirs(self.dir, exist_ok=True)
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, f"{self.LABEL}.ini")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.overrides = overrides or {}
        self.client_sockopts = None  # the harness's own requests (log_head), e.g. CURVE keys
        self.proc = None
        self.starts = 0
        self._new_ports()

    def _new_ports(self):
        self.ports = {k: free_port() for k in self.PORTS}

    @property
    def metrics_port(self):
        return self.ports["metrics"]

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def base_config(self):
        """{section: {key: value}} before the overrides."""
        raise NotImplementedError

    def config(self):
        """The configuration as {section: {key: value}}."""
        cfg = self.base_config()
        for section, keys in self.overrides.items():
            cfg.setdefault(section, {}).update(keys)
        return cfg

    def write_config(self):
        lines = ["# written by the black-box harness"]
        for section, keys in self.config().items():
            if not keys:
                continue
            lines.append(f"[{section}]")
            for k, v in keys.items():
                lines.append(f"{k} = {v}")
            lines.append("")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    def start(self, timeout=None):
        """Starts the daemon and waits until /metrics answers (it is bound
        last, so every endpoint is up by then)."""
        check(self.proc is None or self.proc.poll() is not None, f"{self.LABEL} already running")
        timeout = (timeout or 20.0) * time_scale()
        first = self.starts == 0
        for attempt in range(3):
            self.write_config()
            err = open(self.stderr_path, "ab")
            err.write(f"---- start {self.starts + 1} ----\n".encode())
            err.flush()
            self.proc = spawn([binary(self.PROGRAM), "-c", self.config_path],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
            err.close()
            try:
                self.wait_ready(timeout)
                self.starts += 1
                return self
            except StartFailed as e:
                # Exit status 3 at a first start: another test took one of
                # the ports between the check and the bind. Only a first
                # start may move to new ones (a restart keeps its ports).
                if first and e.returncode == 3 and attempt < 2:
                    self._new_ports()
                    continue
                raise
        raise AssertionError("unreachable")

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                _live.pop(self.proc.pid, None)
                raise StartFailed(rc, self.stderr_tail(), self.LABEL)
            try:
                status, _ = http_get("127.0.0.1", self.metrics_port, "/metrics", timeout=1.0)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.LABEL} not ready within {timeout:.0f} s:\n"
                                   + self.stderr_tail())
            time.sleep(0.01)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Sends sig and waits for the exit; SIGKILL if it does not come.
        Returns the exit status (negative: killed by that signal)."""
        if self.proc is None:
            return None
        timeout = (timeout or 20.0) * time_scale()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        rc = reap(self.proc, timeout)
        if rc is None:
            kill_hard(self.proc)
            raise TimeoutError(f"{self.LABEL} did not exit within {timeout:.0f} s of signal "
                               f"{sig}:\n" + self.stderr_tail())
        return rc

    def kill(self):
        """SIGKILL, as a crash would."""
        return kill_hard(self.proc) if self.proc else None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, lines=30):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    def metrics(self):
        return scrape_metrics(self.metrics_port)

    def log_head(self):
        reader = LogReader(self.log_endpoint, sockopts=self.client_sockopts)
        try:
            return reader.head()
        finally:
            reader.close()


class Intake(Daemon):
    """One doudi-intake with its own directory, configuration and ports."""

    PROGRAM = "doudi-intake"
    LABEL = "intake"
    PORTS = ("publish", "log", "admin", "metrics")

    def __init__(self, workdir, overrides=None, name="intake"):
        super().__init__(workdir, overrides, name)

    @property
    def publish_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['publish']}"

    @property
    def log_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['log']}"

    @property
    def admin_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['admin']}"

    def base_config(self):
        return {
            "intake": {
                "data_dir": self.data_dir,
                "publish_endpoint": self.publish_endpoint,
                "log_endpoint": self.log_endpoint,
                "admin_endpoint": self.admin_endpoint,
                "metrics_listen": f"127.0.0.1:{self.metrics_port}",
            },
            "store": {},
            "log": {},
        }


class Eligibility(Daemon):
    """One doudi-eligibility consuming an intake's log, with its own
    directory, configuration and ports. `consumer` is its cursor's name at
    intake ([eligibility] consumer_name); two eligibilities on one intake
    need different names."""

    PROGRAM = "doudi-eligibility"
    LABEL = "eligibility"
    PORTS = ("log", "query", "metrics")

    def __init__(self, workdir, intake, overrides=None, name="eligibility",
                 consumer="eligibility"):
        self.intake = intake
        self.consumer = consumer
        super().__init__(workdir, overrides, name)

    @property
    def log_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['log']}"

    @property
    def query_endpoint(self):
        return f"tcp://127.0.0.1:{self.ports['query']}"

    def base_config(self):
        return {
            "eligibility": {
                "data_dir": self.data_dir,
                "upstream_endpoint": self.intake.log_endpoint,
                "consumer_name": self.consumer,
                "log_endpoint": self.log_endpoint,
                "query_endpoint": self.query_endpoint,
                "metrics_listen": f"127.0.0.1:{self.metrics_port}",
            },
            "rules": {},
            "alerts": {},
            "store": {},
            "log": {},
        }

    def lag(self):
        """doudi_consumer_lag_records{upstream="intake"}. Beware: the daemon
        shows 0 from its start until its first fetch is answered, so 0
        alone does not mean caught up (see caught_up())."""
        return self.metrics().get("doudi_consumer_lag_records", upstream="intake")

    def batches(self):
        """Batches committed since this process started."""
        return self.metrics().get("doudi_consumer_batches_total", 0.0, upstream="intake")

    def cursor_at_intake(self):
        """The cursor intake last saw from this consumer (its
        doudi_log_consumer_cursor), or None before the first fetch."""
        return self.intake.metrics().get("doudi_log_consumer_cursor", consumer=self.consumer)

    def caught_up(self):
        """Intake's head when this eligibility has applied everything up to
        it (its lag is 0 and intake saw its cursor at the head), else None."""
        head = self.intake.log_head()
        if not head or not self.alive():
            return None
        lag = self.lag()
        return head if lag == 0 and self.cursor_at_intake() == head else None

    def wait_caught_up(self, timeout, what=None):
        """Waits until caught_up(); checks the process stays alive."""
        def ready():
            check(self.alive(), f"{self.LABEL} exited with status {self.proc.poll()}:\n"
                  + self.stderr_tail())
            return self.caught_up()
        return wait_for(ready, timeout, what or f"{self.dir} to catch up with intake",
                        interval=0.05)

    def query(self, timeout=10.0, **fields):
        """One QueryRequest (query.proto), e.g. person_id=..., program=...;
        returns the QueryReply."""
        from doudi import query_pb2
        req = query_pb2.QueryRequest(request_id=_query_ids[0], **fields)
        _query_ids[0] += 1
        s = dealer(self.query_endpoint)
        try:
            s.send(req.SerializeToString())
            deadline = time.monotonic() + timeout * time_scale()
            while True:
                check(self.alive(), f"{self.LABEL} exited with status {self.proc.poll()} "
                      f"before answering a query:\n{self.stderr_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no QueryReply from {self.query_endpoint}")
                frames = recv_frames(s, min(left, 0.2))
                if frames is None:
                    continue
                rep = query_pb2.QueryReply.FromString(frames[-1])
                if rep.request_id == req.request_id:
                    return rep
        finally:
            s.close(0)


_query_ids = [1]


def mdb_dump(data_dir, db, printable=True):
    """The text of `mdb_dump -s db -p data_dir` (lmdb-utils): a header, then
    every key and value of one named database in key order. Meant for a
    stopped daemon's environment (on a running one it is the snapshot of one
    read transaction). printable=False: keys and values in hex (-p prints a
    backslash byte as one backslash, which cannot be told apart from an
    escape)."""
    r = subprocess.run(["mdb_dump", "-s", db] + (["-p"] if printable else []) + [data_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        raise CheckFailed(f"mdb_dump -s {db} {data_dir} failed ({r.returncode}): "
                          f"{r.stderr.decode(errors='replace')}")
    return r.stdout.decode("ascii", "replace")


class StartFailed(RuntimeError):
    def __init__(self, returncode, stderr_tail, label="intake"):
        super().__init__(f"{label} exited with status {returncode} while starting:\n{stderr_tail}")
        self.returncode = returncode
        self.stderr_tail = stderr_tail


# ---------------------------------------------------------------------------
# Where a daemon's main thread is: aiming a kill at a phase of its commit
# ---------------------------------------------------------------------------

# LMDB syncs a commit's data pages with fdatasync and then writes the meta
# page through an O_DSYNC descriptor. By what the main thread is doing
# (/proc/PID/syscall):
#   judging      no aim: the kill lands wherever the work is (for a consumer,
#                usually applying the next batch: nothing of it is durable);
#   data-sync    inside fdatasync of the data pages: the batch is not
#                committed;
#   after-sync   right after that fdatasync, i.e. during or just after the
#                meta page write: the batch is durable, but what follows it
#                (replies, the next fetch) has not happened.
COMMIT_MOMENTS = ("judging", "data-sync", "after-sync")
SYS_FSYNC = {74, 75} if os.uname().machine == "x86_64" else set()


def syscall_of(pid):
    """The system call number the main thread of pid is in (or a word such
    as "running"), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            word = f.read().split(maxsplit=1)
    except OSError:
        return None
    return int(word[0]) if word and word[0].lstrip("-").isdigit() else word[0] if word else None


def aim_at_commit(pid, moment, timeout):
    """Waits until pid's main thread is at `moment` (COMMIT_MOMENTS);
    returns whether it got there in time (else a kill lands where it
    lands)."""
    if moment == "judging" or not SYS_FSYNC or syscall_of(pid) is None:
        return moment == "judging"
    try:
        wait_for(lambda: syscall_of(pid) in SYS_FSYNC, timeout, "an fdatasync", interval=0)
        if moment == "after-sync":
            wait_for(lambda: syscall_of(pid) not in SYS_FSYNC, timeout, "its end", interval=0)
        return True
    except TimeoutError:
        return False


# ---------------------------------------------------------------------------
# The county generator (tools/gen_county.py)
# ---------------------------------------------------------------------------

TOOLS_DIR = os.path.normpath(os.path.join(os.path.dirname(HARNESS), "..", "..", "tools"))
if TOOLS_DIR not in sys.path:
    sys.path.insert(0, TOOLS_DIR)
from doudi_keys import curve_client_opts, read_key_file  # noqa: E402,F401 (the tests' API)


def gen_county():
    """The module tools/gen_county.py (generate(), publish(), ...)."""
    if TOOLS_DIR not in sys.path:
        sys.path.insert(0, TOOLS_DIR)
    import gen_county as module
    return module


# ---------------------------------------------------------------------------
# Reading the log
# ---------------------------------------------------------------------------


class LogReader:
    """Pulls a daemon's log with FetchRequests (log.proto)."""

    def __init__(self, endpoint, consumer="", sockopts=None):
        self.endpoint = endpoint
        self.consumer = consumer
        self.sock = dealer(endpoint, **(sockopts or {}))
        self.next_id = 1

    def close(self):
        self.sock.close(0)

    def __del__(self):
        try:
            self.sock.close(0)
        except Exception:
            pass

    def fetch(self, after=0, max_records=0, max_bytes=0, wait_ms=0, kinds=(), consumer=None,
              timeout=None):
        req = log_pb2.FetchRequest(request_id=self.next_id, after_sequence=after,
                                   max_records=max_records, max_bytes=max_bytes, wait_ms=wait_ms,
                                   kinds=list(kinds),
                                   consumer=self.consumer if consumer is None else consumer)
        self.next_id += 1
        self.sock.send(req.SerializeToString())
        timeout = (timeout or 10.0) * time_scale() + wait_ms / 1000.0
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            frames = recv_frames(self.sock, max(left, 0))
            if frames is None:
                raise TimeoutError(f"no FetchReply from {self.endpoint} within {timeout:.1f} s")
            check_eq(len(frames), 1, "frames of a FetchReply")
            rep = log_pb2.FetchReply.FromString(frames[0])
            if rep.request_id == req.request_id:
                return rep

    def head(self):
        rep = self.fetch(after=0, max_records=1)
        return rep.head_sequence

    def read_all(self, after=0, max_records=10000):
        """Every record after `after` up to the head seen by the first reply."""
        records = []
        head = None
        while True:
            rep = self.fetch(after=after, max_records=max_records)
            check_eq(log_pb2.FetchStatus.Name(rep.status), "FETCH_STATUS_OK", "fetch status")
            if head is None:
                head = rep.head_sequence
            records.extend(rep.records)
            if rep.scanned_through_sequence <= after and after < head:
                raise CheckFailed(f"fetch after {after} made no progress (head {head})")
            after = rep.scanned_through_sequence
            if after >= head:
                return records


# ---------------------------------------------------------------------------
# Admin
# ---------------------------------------------------------------------------

_admin_ids = [1]


def admin(endpoint, timeout=10.0, sockopts=None, **command):
    """Sends one AdminRequest (e.g. dead_letter_list=...) and returns the
    AdminReply."""
    req = admin_pb2.AdminRequest(request_id=_admin_ids[0], **command)
    _admin_ids[0] += 1
    s = dealer(endpoint, **(sockopts or {}))
    try:
        s.send(req.SerializeToString())
        frames = recv_frames(s, timeout * time_scale())
        if frames is None:
            raise TimeoutError(f"no AdminReply from {endpoint}")
        check_eq(len(frames), 1, "frames of an AdminReply")
        rep = admin_pb2.AdminReply.FromString(frames[0])
        check_eq(rep.request_id, req.request_id, "AdminReply.request_id")
        return rep
    finally:
        s.close(0)


def dead_letters(endpoint, reason=0):
    """Every dead letter held (following after_id pages)."""
    out, after = [], 0
    while True:
        rep = admin(endpoint, dead_letter_list=admin_pb2.DeadLetterListRequest(
            after_id=after, limit=1000, reason=reason))
        check(not rep.error_text, f"dead_letter_list refused: {rep.error_text}")
        page = list(rep.dead_letter_list.dead_letters)
        out.extend(page)
        if not page:
            return out, rep.dead_letter_list.total
        after = page[-1].id


# ---------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------

OUTCOME = publish_pb2.Outcome
REASON = publish_pb2.RejectReason
ACCEPTED = OUTCOME.Value("OUTCOME_ACCEPTED")
DUPLICATE = OUTCOME.Value("OUTCOME_DUPLICATE")
REJECTED = OUTCOME.Value("OUTCOME_REJECTED")
SHUTTING_DOWN = REASON.Value("REJECT_REASON_REQUEST_SHUTTING_DOWN")


def reason_label(code):
    """The metric label of a RejectReason: lower case, without the prefix."""
    return REASON.Name(code)[len("REJECT_REASON_"):].lower()


class RequestRefused:
    """Stands in for the statuses of a request refused whole."""

    def __init__(self, reply):
        self.reason = reply.request_error
        self.text = reply.request_error_text

    def __repr__(self):
        return f"RequestRefused({reason_label(self.reason)}: {self.text})"


class Portal:
    """A portal as the contract describes one: requests of up to `batch`
    events, at most `window` awaiting an answer, replies matched by
    request_id, and a request unanswered after `timeout` s sent again (with
    every other unanswered one) on a fresh DEALER, the old one closed with
    linger 0. publish() returns once every event has an answer."""

    def __init__(self, endpoint, batch=500, window=4, timeout=2.0, first_request_id=1,
                 sockopts=None):
        self.endpoint = endpoint
        self.sockopts = sockopts or {}  # e.g. curve_client_opts(...)
        self.batch = batch
        self.window = window
        self.timeout = timeout
        self.next_rid = first_request_id
        self.sock = None
        self.stats = dict(requests=0, sends=0, resends=0, reconnects=0, stale_replies=0,
                          shutting_down=0, refused=0)

    def _fresh_socket(self):
        if self.sock is not None:
            self.sock.close(0)
            self.stats["reconnects"] += 1
        self.sock = dealer(self.endpoint, **self.sockopts)

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def publish(self, events, deadline_s=300.0):
        """events: encoded Envelopes (bytes). Returns a list with one entry
        per event: its EventStatus, or a RequestRefused when its request was
        refused whole (other than for a shutdown, which is resent)."""
        reqs = []
        for start in range(0, len(events), self.batch):
            rid = self.next_rid
            self.next_rid += 1
            chunk = events[start:start + self.batch]
            payload = publish_pb2.PublishRequest(request_id=rid, events=chunk).SerializeToString()
            reqs.append((rid, start, start + len(chunk), payload))
        self.stats["requests"] += len(reqs)
        index = {r[0]: i for i, r in enumerate(reqs)}
        results = [None] * len(events)
        self.results = results  # what has been answered, also after a give-up
        todo = deque(range(len(reqs)))
        outstanding = {}  # request index -> time sent
        answered = 0
        if self.sock is None:
            self._fresh_socket()
        give_up = time.monotonic() + deadline_s
        while answered < len(reqs):
            while todo and len(outstanding) < self.window:
                i = todo.popleft()
                self.sock.send(reqs[i][3])
                self.stats["sends"] += 1
                outstanding[i] = time.monotonic()
            now = time.monotonic()
            if now >= give_up:
                raise TimeoutError(f"portal gave up: {len(reqs) - answered} requests unanswered "
                                   f"after {deadline_s:.0f} s; stats {self.stats}")
            oldest = min(outstanding.values()) if outstanding else now
            wait = max(0.0, min(oldest + self.timeout - now, give_up - now))
            if self.sock.poll(int(wait * 1000) + 1, zmq.POLLIN):
                while True:
                    try:
                        frames = self.sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if len(frames) != 1:
                        raise CheckFailed(f"a PublishReply came in {len(frames)} frames")
                    rep = publish_pb2.PublishReply.FromString(frames[0])
                    i = index.get(rep.request_id)
                    if i is None or i not in outstanding:
                        self.stats["stale_replies"] += 1
                        continue
                    del outstanding[i]
                    rid, start, end, _ = reqs[i]
                    if rep.request_error == SHUTTING_DOWN:
                        self.stats["shutting_down"] += 1
                        todo.appendleft(i)
                        continue
                    if rep.request_error:
                        self.stats["refused"] += 1
                        refused = RequestRefused(rep)
                        for k in range(start, end):
                            results[k] = refused
                    else:
                        if len(rep.statuses) != end - start:
                            raise CheckFailed(f"request {rid}: {len(rep.statuses)} statuses "
                                              f"for {end - start} events")
                        results[start:end] = list(rep.statuses)
                    answered += 1
            now = time.monotonic()
            late = sorted(i for i, t in outstanding.items() if now - t >= self.timeout)
            if late:
                # Whatever sits on this connection may be lost: a fresh
                # socket, and everything unanswered goes out again, in order.
                self.stats["resends"] += len(outstanding)
                for i in sorted(outstanding, reverse=True):
                    todo.appendleft(i)
                outstanding.clear()
                self._fresh_socket()
        return results


def publish(endpoint, events, batch=500, **kw):
    p = Portal(endpoint, batch=batch, **kw)
    try:
        return p.publish(events)
    finally:
        p.close()


def publish_one(endpoint, event_bytes):
    return publish(endpoint, [event_bytes])[0]


def send_request(endpoint, payload_frames, timeout=10.0):
    """Sends one hand-made message; returns the PublishReply (or None)."""
    c = RawClient(endpoint)
    try:
        c.send(*payload_frames)
        frames = c.recv(timeout)
        if frames is None:
            return None
        return [publish_pb2.PublishReply.FromString(frames[-1]), frames]
    finally:
        c.close()


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
TOWNSHIPS = (1, 2, 3, 4, 101, 102, 103, 104)


def id_check_char(first17):
    """ISO 7064 MOD 11-2 check character of GB 11643-1999."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11]


def person_id(area6, yyyymmdd, seq3):
    first17 = f"{area6}{yyyymmdd}{seq3:03d}"
    return first17 + id_check_char(first17)


def upgrade15(id15):
    """The 18-character form of a 15-digit number (born 19YY)."""
    return person_id(id15[:6], "19" + id15[6:12], int(id15[12:15]))


def region_code(pp, cc, ttt, vvv):
    return f"44{pp:02d}{cc:02d}{ttt:03d}{vvv:03d}"


BODY_KINDS = ("person_reported", "household_reported", "comparison_record", "risk_signal",
              "application", "enrolment_change", "visit_report", "roster_change",
              "alert_acknowledgement")
# The log's record kind of each body (event.proto field numbers).
BODY_RECORD_KIND = {k: event_pb2.Envelope.DESCRIPTOR.fields_by_name[k].number for k in BODY_KINDS}


def ri(rng, lo, hi):
    """A uniform integer in [lo, hi] (randint's quality is not needed here,
    its cost is)."""
    return lo + int(rng.random() * (hi - lo + 1))


class EventFactory:
    """Valid events of every body kind, the same bytes for the same (source,
    seed, base_ms, index)."""

    def __init__(self, source="bb-portal", seed=1, base_ms=None):
        self.source = source
        self.seed = seed
        self.base_ms = now_ms() if base_ms is None else base_ms
        digest = hashlib.blake2b(f"{source}/{seed}".encode(), digest_size=8).digest()
        self._seed_base = int.from_bytes(digest, "big") << 32

    def rng(self, i):
        return random.Random(self._seed_base + i)

    @staticmethod
    def random_person(rng):
        area = f"44{ri(rng, 1, 21):02d}{ri(rng, 1, 6):02d}"
        y = ri(rng, 1930, 2015)
        birth = f"{y:04d}{ri(rng, 1, 12):02d}{ri(rng, 1, 28):02d}"
        return person_id(area, birth, ri(rng, 0, 999))

    @staticmethod
    def random_region(rng):
        township = TOWNSHIPS[int(rng.random() * len(TOWNSHIPS))]
        return region_code(ri(rng, 1, 21), ri(rng, 1, 6), township,
                           ri(rng, 1, 26))

    def envelope(self, i, kind=None):
        rng = self.rng(i)
        kind = kind or BODY_KINDS[i % len(BODY_KINDS)]
        occurred = self.base_ms - ri(rng, 60_000, 86_000_000)
        env = event_pb2.Envelope(event_id=f"{self.source}-{i:07d}", source=self.source,
                                 occurred_at_ms=occurred, region_code=self.random_region(rng))
        pid = self.random_person(rng)
        hh = f"hh-{ri(rng, 1, 10**9)}"
        if kind == "person_reported":
            b = env.person_reported
            b.person_id = pid
            b.household_id = hh
            b.disability_grade = ri(rng, 0, 4)
            b.disability_type = ri(rng, 0, 7)
            dl = b.daily_living
            dl.eating = ri(rng, 1, 3)
            dl.dressing = ri(rng, 1, 3)
            dl.getting_in_out_of_bed = ri(rng, 1, 3)
            dl.toileting = ri(rng, 1, 3)
            dl.walking_indoors = ri(rng, 1, 3)
            dl.bathing = ri(rng, 1, 3)
            b.living_arrangement = ri(rng, 0, 5)
            b.family_planning_special = ri(rng, 0, 3)
            b.work_ability = ri(rng, 0, 3)
            b.legal_supporter = ri(rng, 0, 3)
            b.own_monthly_income_fen = ri(rng, 0, 500_000)
            b.main_earner = rng.random() < 0.3
            b.child_in_difficulty = rng.random() < 0.1
        elif kind == "household_reported":
            b = env.household_reported
            b.household_id = hh
            b.urban_rural = ri(rng, 1, 2)
            b.member_person_ids.extend(self.random_person(rng) for _ in range(ri(rng, 1, 5)))
            for _ in range(ri(rng, 0, 3)):
                b.incomes.add(kind=ri(rng, 1, 6), monthly_fen=ri(rng, 0, 900_000))
            b.financial_assets_fen = ri(rng, 0, 10**8)
            b.dwellings = ri(rng, 0, 3)
            b.vehicle_values_fen.extend(ri(rng, 0, 10**7) for _ in range(ri(rng, 0, 2)))
            b.rigid_spending_12_months.medical_fen = ri(rng, 0, 10**6)
        elif kind == "comparison_record":
            b = env.comparison_record
            b.subject_person_id = pid
            b.department = ri(rng, 1, 9)
            t = time.gmtime(self.base_ms / 1000 - 40 * 86400)
            b.period_yyyymm = t.tm_year * 100 + t.tm_mon
            b.income.monthly_income_fen = ri(rng, 0, 10**6)
            b.medical_stay.self_pay_fen = ri(rng, 0, 10**7)
            b.medical_stay.admitted_at_ms = occurred - 5 * 86_400_000
            b.medical_stay.discharged_at_ms = occurred
        elif kind == "risk_signal":
            b = env.risk_signal
            b.subject_person_id = pid
            b.household_id = hh
            b.kind = ri(rng, 1, 12)
            b.amount_fen = ri(rng, 0, 10**7)
            b.description = "突发火灾，住房受损 / house fire"
        elif kind == "application":
            b = env.application
            b.application_id = f"app-{i}-{ri(rng, 0, 10**6)}"
            b.applicant_person_id = pid
            b.household_id = hh
            b.program = ri(rng, 1, 8)
            b.requested_amount_fen = ri(rng, 0, 10**6)
            b.description = "申请低保"
        elif kind == "enrolment_change":
            b = env.enrolment_change
            b.person_id = pid
            b.household_id = hh
            b.program = ri(rng, 1, 8)
            b.action = ri(rng, 1, 5)
            b.monthly_amount_fen = ri(rng, 0, 200_000)
            b.effective_at_ms = occurred + 86_400_000
            b.decided_by_worker_id = f"w-{ri(rng, 1, 9999)}"
            b.reason = "审核通过"
        elif kind == "visit_report":
            b = env.visit_report
            b.visit_id = f"v-{i}-{ri(rng, 0, 10**6)}"
            b.subject_person_id = pid
            b.worker_id = f"w-{ri(rng, 1, 9999)}"
            b.visited_at_ms = occurred
            b.outcome = ri(rng, 1, 4)
            for _ in range(ri(rng, 0, 3)):
                b.findings.add(area=ri(rng, 1, 12), severity=ri(rng, 1, 3), note="ok")
        elif kind == "roster_change":
            b = env.roster_change
            b.worker_id = f"w-{ri(rng, 1, 9999)}"
            b.action = ri(rng, 1, 3)
            b.role = ri(rng, 1, 3)
            b.monthly_visit_capacity = ri(rng, 0, 300)
        elif kind == "alert_acknowledgement":
            b = env.alert_acknowledgement
            b.alert_id = f"alert-{ri(rng, 1, 10**9)}"
            b.action = ri(rng, 1, 2)
            b.by_worker_id = f"w-{ri(rng, 1, 9999)}"
            b.note = "已处理"
        else:
            raise ValueError(kind)
        return env

    def encoded(self, i, kind=None):
        return self.envelope(i, kind).SerializeToString()

    def batch(self, n, start=0):
        return [self.encoded(i) for i in range(start, start + n)]


# ---------------------------------------------------------------------------
# A portal as its own process (the kill test runs several)
# ---------------------------------------------------------------------------


def portal_command(endpoint, source, count, out, batch=500, window=4, timeout=2.0, seed=1,
                   base_ms=None, deadline_s=600, go_file=None):
    """argv of a portal process. With go_file, the portal encodes its events,
    writes OUT.ready, and starts publishing only once go_file exists."""
    argv = [PYTHON, HARNESS, "portal", "--endpoint", endpoint, "--source", source,
            "--count", str(count), "--out", out, "--batch", str(batch), "--window", str(window),
            "--timeout", str(timeout), "--seed", str(seed), "--base-ms", str(base_ms),
            "--deadline", str(deadline_s)]
    if go_file:
        argv += ["--go", go_file]
    return argv


def event_digest(data):
    """A short fingerprint of an encoded event, to compare stored bytes."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _portal_main(argv):
    ap = argparse.ArgumentParser(prog="harness.py portal")
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--base-ms", type=int, required=True)
    ap.add_argument("--deadline", type=float, default=600)
    ap.add_argument("--go")
    a = ap.parse_args(argv)
    t0 = time.monotonic()
    events = EventFactory(a.source, a.seed, a.base_ms).batch(a.count)
    if a.go:
        with open(a.out + ".ready", "w"):
            pass
        wait_for(lambda: os.path.exists(a.go), a.deadline, "the go file")
    t1 = time.monotonic()
    portal = Portal(a.endpoint, batch=a.batch, window=a.window, timeout=a.timeout)
    results = portal.publish(events, deadline_s=a.deadline)
    t2 = time.monotonic()
    portal.close()
    out = []
    digests = [event_digest(e) for e in events]
    for r in results:
        if isinstance(r, RequestRefused):
            out.append([-1, 0, r.reason])
        else:
            out.append([r.outcome, r.sequence, r.reason])
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"source": a.source, "statuses": out, "digests": digests, "stats": portal.stats,
                   "encode_s": t1 - t0, "publish_s": t2 - t1}, f)
    os.replace(tmp, a.out)
    return 0


# ---------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------


class TestEnv:
    """What a test function gets: a temporary directory and a way to start
    daemons that are stopped when the test ends."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"doudi-bb-{name}-")
        self.intakes = []
        self.eligibilities = []
        self.unclean_stops = []  # daemons that did not exit 0 on the final SIGTERM

    @property
    def daemons(self):
        return self.intakes + self.eligibilities

    def intake(self, overrides=None, name=None, start=True):
        i = Intake(self.dir, overrides, name or f"intake{len(self.intakes)}")
        self.intakes.append(i)
        if start:
            i.start()
        return i

    def eligibility(self, intake, overrides=None, name=None, consumer="eligibility", start=True):
        e = Eligibility(self.dir, intake, overrides,
                        name or f"eligibility{len(self.eligibilities)}", consumer)
        self.eligibilities.append(e)
        if start:
            e.start()
        return e

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def close(self):
        # Downstream first, so no consumer logs its upstream vanishing. A
        # clean stop, not SIGKILL: LeakSanitizer reports only at a normal
        # exit, and a daemon that cannot stop cleanly is a finding too (it is
        # then killed, and its stderr says so).
        for d in reversed(self.daemons):
            if d.alive():
                try:
                    rc = d.stop(signal.SIGTERM, timeout=15.0)
                except TimeoutError as e:
                    self.unclean_stops.append(f"{d.dir}: {e}")
                    continue
                if rc != 0:
                    self.unclean_stops.append(f"{d.dir}: exit status {rc} after SIGTERM")
            elif d.proc is not None:
                kill_hard(d.proc)

    def sanitizer_reports(self):
        """Lines of sanitizer reports in any daemon's stderr."""
        found = []
        for d in self.daemons:
            for line in d.stderr_text().splitlines():
                if SANITIZER_REPORT.search(line):
                    found.append(f"{d.dir}: {line}")
        return found


SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                              r"SUMMARY: \w+Sanitizer")


def known_bug(description):
    """Marks a test that shows a daemon bug not fixed yet: its failure is
    reported (XFAIL) without failing the run; once it passes (XPASS) the run
    fails, so that the marker is removed with the bug."""
    def mark(fn):
        fn.known_bug = description
        return fn
    return mark


def _on_signal(signum, frame):
    raise SystemExit(f"terminated by signal {signum}")


def run_tests(namespace, argv=None):
    """Runs every test_* function of a test module in definition order (or
    those named on the command line); exits 0 when all pass."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    argv = sys.argv[1:] if argv is None else argv
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    if argv:
        tests = [t for t in tests if t[0] in argv]
    print(f"doudi-intake: {binary('doudi-intake')}"
          f"{' (sanitizers: deadlines x%g)' % time_scale() if time_scale() != 1 else ''}",
          flush=True)
    failed = []
    t_all = time.monotonic()
    for name, fn in tests:
        env = TestEnv(name)
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        ok = False
        sanitizer_failure = False
        try:
            fn(env)
            env.close()
            reports = env.sanitizer_reports()
            if reports:
                raise CheckFailed("sanitizer reports in a daemon's stderr:\n" + "\n".join(reports))
            if env.unclean_stops:
                raise CheckFailed("daemons that did not stop cleanly at the end:\n"
                                  + "\n".join(env.unclean_stops))
            ok = True
        except BaseException as e:  # noqa: BLE001 -- report and go on
            traceback.print_exc()
            for d in env.daemons:
                print(f"-- stderr of {d.dir} (pid {d.pid}):\n{d.stderr_tail(40)}", flush=True)
            failed.append(name)
            # A sanitizer report is a failure of its own, never a known bug.
            sanitizer_failure = bool(env.sanitizer_reports())
            if isinstance(e, (SystemExit, KeyboardInterrupt)):
                env.close()
                break
        finally:
            env.close()
            kill_all()
        dt = time.monotonic() - t0
        bug = getattr(fn, "known_bug", None)
        verdict = "PASS" if ok else "FAIL"
        if bug and not ok and name in failed and not sanitizer_failure:
            failed.remove(name)
            verdict = f"XFAIL (known bug: {bug})"
            ok = True
        elif bug and ok:
            failed.append(name)
            verdict = f"XPASS (known bug fixed? remove the known_bug marker: {bug})"
            ok = False
        print(f"{verdict} {name} ({dt:.1f} s)", flush=True)
        if ok and not os.environ.get("DOUDI_KEEP_TMP"):
            shutil.rmtree(env.dir, ignore_errors=True)
        elif not ok:
            print(f"   kept {env.dir}", flush=True)
    print(f"{len(tests) - len(failed)}/{len(tests)} passed in {time.monotonic() - t_all:.1f} s",
          flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "portal":
        sys.exit(_portal_main(sys.argv[2:]))
    print("usage: harness.py portal --endpoint E --source S --count N --out FILE --base-ms MS",
          file=sys.stderr)
    sys.exit(2)
