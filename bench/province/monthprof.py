#!/usr/bin/python3
"""monthprof: where the daemons' CPU goes during exactly one month, per event.

provbench --profile uses MonthProfile: perf (Debian's linux-perf) is
attached to the running daemons before the month with its events disabled,
enabled just before the first event is sent and disabled once the chain has
caught up, its samples stamped with the wall clock (CLOCK_REALTIME) so the
report keeps only those between the month's start and end as provbench
times them. Attaching perf takes long enough to miss a county-month (0.3 s)
entirely when it is started only once the month runs; enabling a perf that
is already attached costs one round trip on its control FIFO.

The result is CPU time per month event, by process name and by symbol
(samples / frequency / events): the figures of two runs at different
scales compare directly. The CLI compares them:

    monthprof.py diff COUNTY.json[,MORE.json...] PROVINCE.json[,...] [--top N]

reads the runs' "profile" sections (several runs of one side are pooled:
samples and events add up) and prints ns per event for each process and
each symbol, the symbols sorted by how much more they cost on the second
side. perf names a thread by its first 15 bytes (doudi-eligibili), and a
library without symbols by its offset (liblmdb.so.0.0.0 0x69d6).
"""
import argparse
import collections
import json
import os
import select
import signal
import subprocess
import sys
import time


class ProfileError(RuntimeError):
    pass


class MonthProfile:
    """perf record over a set of processes, switched on and off by FIFO."""

    def __init__(self, work, pids, hz, spawn):
        """Starts perf on pids (its events off) through spawn(argv, **popen
        keywords); the caller has checked that perf is installed."""
        self.path = os.path.join(work, "month.perf")
        self.hz = hz
        ctl, ack = os.path.join(work, "perf-ctl.fifo"), os.path.join(work, "perf-ack.fifo")
        for fifo in (ctl, ack):
            if os.path.exists(fifo):
                os.unlink(fifo)
            os.mkfifo(fifo)
        # Read-write opens never block on a FIFO (Linux): perf opens its ends
        # when it starts, and until then our writes wait in the pipe.
        self.ctl = os.open(ctl, os.O_RDWR)
        self.ack = os.open(ack, os.O_RDWR)
        self.log = os.path.join(work, "perf.log")
        with open(self.log, "wb") as log:
            self.proc = spawn(["perf", "record", "-F", str(hz), "-k", "CLOCK_REALTIME", "-D", "-1",
                               "--control", f"fifo:{ctl},{ack}", "-p", ",".join(map(str, pids)),
                               "-o", self.path], stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def _command(self, word, timeout=30):
        os.write(self.ctl, (word + "\n").encode())
        deadline = time.monotonic() + timeout
        got = b""
        while b"\n" not in got:  # perf writes "ack\n" and its terminating NUL
            left = deadline - time.monotonic()
            if self.proc.poll() is not None:
                raise ProfileError(f"perf exited with {self.proc.returncode}: {self._log_tail()}")
            if left <= 0:
                raise ProfileError(f"perf did not acknowledge '{word}' within {timeout} s")
            ready, _, _ = select.select([self.ack], [], [], min(left, 0.5))
            if ready:
                got += os.read(self.ack, 64)
        got = got.lstrip(b"\0")  # the NUL of the last answer, when read apart
        if not got.startswith(b"ack"):
            raise ProfileError(f"perf answered '{got.decode(errors='replace').strip()}' to '{word}'")

    def _log_tail(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-500:].decode(errors="replace").strip()
        except OSError:
            return ""

    def enable(self):
        self._command("enable")

    def stop(self, timeout=60):
        """Disables the events and waits for perf to write its file."""
        try:
            self._command("disable")
        finally:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            os.close(self.ctl)
            os.close(self.ack)
        if self.proc.returncode not in (0, -signal.SIGINT):
            raise ProfileError(f"perf record exited with {self.proc.returncode}: {self._log_tail()}")

    def report(self, start_unix, end_unix, events, top=80):
        """The month's samples as CPU ns per event, by process and by symbol."""
        out = subprocess.run(
            ["perf", "report", "-i", self.path, "--stdio", "-n", "--percent-limit", "0",
             "--sort", "comm,dso,sym", "-t", "\x1f", "--time", f"{start_unix:.6f},{end_unix:.6f}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        if out.returncode != 0:
            raise ProfileError("perf report failed: " + out.stderr.decode(errors="replace")[-500:])
        rows = parse_report(out.stdout.decode(errors="replace"))
        samples = sum(n for _, _, _, n in rows)
        by_comm = collections.Counter()
        for comm, _, _, n in rows:
            by_comm[comm] += n
        scale = 1e9 / self.hz / max(1, events)
        return {
            "frequency_hz": self.hz, "samples": samples, "events": events,
            "window_unix": [start_unix, end_unix], "perf_data": self.path,
            "cpu_s_sampled": samples / self.hz,
            "processes": [{"process": c, "samples": n, "ns_per_event": n * scale}
                          for c, n in by_comm.most_common()],
            "symbols": [{"process": c, "object": o, "symbol": s, "samples": n, "ns_per_event": n * scale}
                        for c, o, s, n in rows[:top]],
        }


def parse_report(text):
    """(process, object, symbol, samples) of perf report's field-separated
    lines, most samples first."""
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split("\x1f")
        if len(f) < 5:
            continue
        try:
            n = int(f[1].strip())
        except ValueError:
            continue
        sym = f[4].strip()
        if sym.startswith("[") and "] " in sym:  # "[.] name", "[k] name"
            sym = sym.split("] ", 1)[1]
        rows.append((f[2].strip(), os.path.basename(f[3].strip()), sym, n))
    rows.sort(key=lambda r: -r[3])
    return rows


# ---------------------------------------------------------------------------
# monthprof.py diff
# ---------------------------------------------------------------------------

def pooled(paths):
    """CPU ns per event by process and by (process, object, symbol), the
    runs pooled (their sampled seconds and their events add up)."""
    procs, syms = collections.Counter(), collections.Counter()
    events = 0
    names = []
    for p in paths:
        with open(p) as f:
            r = json.load(f)
        prof = r.get("month", {}).get("profile")
        if not prof:
            raise SystemExit(f"monthprof: {p} has no month.profile (run provbench with --profile)")
        names.append(f"{r.get('scale')}@{str(r.get('commit', '?'))[:12]}")
        events += prof["events"]
        for row in prof["processes"]:
            procs[row["process"]] += row["samples"] / prof["frequency_hz"]
        for row in prof["symbols"]:
            syms[(row["process"], row["object"], row["symbol"])] += row["samples"] / prof["frequency_hz"]
    per_event = 1e9 / max(1, events)
    return ({k: v * per_event for k, v in procs.items()},
            {k: v * per_event for k, v in syms.items()}, events, names)


def diff(argv):
    ap = argparse.ArgumentParser(prog="monthprof.py diff",
                                 description="CPU ns per month event of two sets of provbench "
                                             "--profile runs, side by side")
    ap.add_argument("first", help="comma-separated provbench JSON files (pooled)")
    ap.add_argument("second", help="comma-separated provbench JSON files (pooled)")
    ap.add_argument("--top", type=int, default=40, help="symbols to show (default 40)")
    a = ap.parse_args(argv)
    p1, s1, e1, n1 = pooled(a.first.split(","))
    p2, s2, e2, n2 = pooled(a.second.split(","))
    print(f"first:  {', '.join(n1)}: {e1:,} events, {sum(p1.values()):,.0f} ns of CPU an event sampled")
    print(f"second: {', '.join(n2)}: {e2:,} events, {sum(p2.values()):,.0f} ns of CPU an event sampled")
    print(f"\n{'process':<18} {'first':>9} {'second':>9} {'more':>9}   (ns an event)")
    for c in sorted(set(p1) | set(p2), key=lambda c: -p2.get(c, 0)):
        print(f"{c:<18} {p1.get(c, 0):>9.1f} {p2.get(c, 0):>9.1f} {p2.get(c, 0) - p1.get(c, 0):>+9.1f}")
    rows = sorted(set(s1) | set(s2), key=lambda k: -(s2.get(k, 0) - s1.get(k, 0)))
    print(f"\n{'more':>8} {'first':>8} {'second':>8}   process / object / symbol "
          "(only the symbols each run kept)")
    for k in rows[:a.top]:
        print(f"{s2.get(k, 0) - s1.get(k, 0):>+8.1f} {s1.get(k, 0):>8.1f} {s2.get(k, 0):>8.1f}   "
              f"{k[0]} / {k[1]} / {k[2]}")
    return 0


def main():
    if len(sys.argv) < 2 or sys.argv[1] != "diff":
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return diff(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
