"""doudi-alerts refuses a data directory of an earlier database layout.

test_earlier_layout_refused: a data directory holding the `schedule`
database of the second layout (made with lmdb-utils' mdb_load, as such a
directory would hold it) is given to doudi-alerts. The daemon must exit at
start-up with a non-zero status and a message saying which layout it found
and what to do, and must not have created any of the book's or the replay
index's databases in that directory. The same configuration with an empty data directory
starts and answers a replay request, so the refusal is the layout's doing.
"""

import os
import subprocess

import alerts_harness as ah
import harness as h

# What the book and the stream make (the log's databases are the shared
# stage's, opened before them).
OWN_DATABASES = ("alerts", "repeats", "open", "classes", "gone", "rates", "silences", "meta",
                 "replay_closed", "replay_open")


def config_file(env, name, data_dir):
    ports = [h.free_port() for _ in range(4)]
    path = env.path(f"{name}.ini")
    with open(path, "w") as f:
        f.write("[alerts]\n"
                f"data_dir = {data_dir}\n"
                f"live_endpoint = tcp://127.0.0.1:{ports[0]}\n"
                f"request_endpoint = tcp://127.0.0.1:{ports[1]}\n"
                f"log_endpoint = tcp://127.0.0.1:{ports[2]}\n"
                f"metrics_listen = 127.0.0.1:{ports[3]}\n")
    return path, f"tcp://127.0.0.1:{ports[1]}"


def databases(data_dir):
    r = subprocess.run(["mdb_stat", "-a", data_dir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    h.check(r.returncode == 0, f"mdb_stat -a {data_dir}: {r.stderr.decode(errors='replace')}")
    return [line[len("Status of "):].strip() for line in r.stdout.decode().splitlines()
            if line.startswith("Status of ") and line != "Status of Main DB"]


def test_earlier_layout_refused(env):
    scale = h.time_scale()
    old = env.path("old", "data")
    os.makedirs(old)
    r = subprocess.run(["mdb_load", "-s", "schedule", "-T", old], input=b"k\nv\n",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    h.check(r.returncode == 0, f"mdb_load: {r.stderr.decode(errors='replace')}")
    h.check_eq(databases(old), ["schedule"], "databases of the old directory")

    ini, _ = config_file(env, "old", old)
    errors = env.path("old.stderr")
    with open(errors, "wb") as err:
        p = h.spawn([h.binary("doudi-alerts"), "-c", ini], stdout=subprocess.DEVNULL, stderr=err)
        rc = h.reap(p, 15 * scale)
    if rc is None:
        h.kill_hard(p)
    h.check(rc is not None, "doudi-alerts kept running on a directory of the second layout")
    h.check(rc != 0, "doudi-alerts exited with status 0 on a directory of the second layout")
    with open(errors, encoding="utf-8", errors="replace") as f:
        said = f.read()
    h.check("second database layout (database schedule)" in said and "empty data_dir" in said,
            f"no clear refusal on stderr:\n{said}")
    made = set(databases(old)) & set(OWN_DATABASES)
    h.check(not made, f"databases of the new layout made in the old directory: {sorted(made)}")

    fresh = env.path("fresh", "data")
    ini, request_endpoint = config_file(env, "fresh", fresh)
    p = h.spawn([h.binary("doudi-alerts"), "-c", ini], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    try:
        s = h.dealer(request_endpoint)
        req = ah.alerts_pb2.AlertsRequest(request_id=7, replay=ah.alerts_pb2.ReplayRequest(
            region_prefix="44", after_sequence=0))
        s.send(req.SerializeToString())
        frames = h.wait_for(lambda: h.recv_frames(s, 0.2) if p.poll() is None else
                            h.check(False, f"doudi-alerts exited with status {p.poll()}"),
                            15 * scale, "a reply from doudi-alerts on an empty directory")
        rep = ah.alerts_pb2.AlertsReply.FromString(frames[-1])
        h.check_eq(rep.request_id, 7, "request_id of the reply")
        h.check_eq(len(rep.replay.entries), 0, "entries replayed from an empty stream")
        s.close(0)
    finally:
        h.kill_hard(p)
    h.check("replay_open" in databases(fresh), "no replay_open in a fresh directory")


if __name__ == "__main__":
    h.run_tests(globals())
