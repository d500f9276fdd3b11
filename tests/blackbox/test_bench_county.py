"""The province-month benchmark at county scale, as CI runs it: a small
generated county-month (bench/province/provgen) through the whole chain —
intake, eligibility, scheduler, alerts, each in its own data directory with
fsync on — published by four concurrent portals (provpub), and every count
the daemons report checked against what the generator knows
(bench/province/provbench.py). It fails on any loss or mismatch, never on
speed.

test_generator_is_deterministic: the same seed and options give the same
bytes in every file; another seed gives another month.

test_county_month_through_the_chain: provbench.py on county 440106 at the
province's density (24,770 households, about 61,000 persons; 124,000
preload and 321,000 month events), with its baselines (ZeroMQ, LMDB, Redis Streams when installed);
every check holds, every daemon exits 0 on SIGTERM with nothing in its
stderr from a sanitizer, and the JSON result and the PNG plot are written.

test_county_month_profiled: the same month with --profile (perf attached
before the month, sampling only while it runs): the result says where the
CPU went by process and symbol, its sampled CPU agrees with what /proc
says the daemons used, and monthprof.py diff reads it back.
"""

import filecmp
import json
import os
import subprocess
import sys

import harness as h

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                      "province", "provbench.py")


def provgen(out, *args):
    r = subprocess.run([h.binary("provgen"), "--out", out, "--households", "3000", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    h.check(r.returncode == 0, f"provgen failed: {r.stderr.decode()}")
    return sorted(os.listdir(out))


def test_generator_is_deterministic(env):
    a = provgen(env.path("a"))
    b = provgen(env.path("b"))
    c = provgen(env.path("c"), "--seed", "2")
    h.check_eq(a, b, "files of two runs")
    for name in ("divisions.txt", "expected.json", "month-0.evt", "preload-0.evt"):
        h.check(name in a, f"provgen wrote no {name}: {a}")
    _, mismatch, errors = filecmp.cmpfiles(env.path("a"), env.path("b"), a, shallow=False)
    h.check(not mismatch and not errors, f"same seed, different bytes: {mismatch} {errors}")
    h.check(not filecmp.cmp(env.path("a", "month-0.evt"), env.path("c", "month-0.evt"), shallow=False),
            "seed 2 gave the month of seed 1")
    with open(env.path("a", "expected.json")) as f:
        ex = json.load(f)
    kinds = ex["month"]["by_kind"]
    for kind, n in kinds.items():
        if kind != "roster_change":
            h.check(n > 0, f"the month has no {kind}: {kinds}")
    h.check(ex["invalid_total"] >= 3, f"invalid events: {ex['invalid']}")
    h.check(0 < ex["month"]["eligibility_changed"] < ex["month"]["eligibility_unchanged"],
            f"changed/unchanged: {ex['month']}")


def test_county_month_through_the_chain(env):
    out_json, out_png = env.path("result.json"), env.path("throughput.png")
    work = env.path("run")
    argv = [sys.executable, RUNNER, "--bin", h.bin_dir(), "--scale", "county",
            "--baseline-events", "200000", "--work", work, "--keep", "--json", out_json,
            "--png", out_png, "--timeout", str(300 * h.time_scale())]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600 * h.time_scale(), preexec_fn=h._die_with_parent)
    text = r.stdout.decode("utf-8", "replace")
    print(text, flush=True)
    reports = []
    for name in ("intake", "eligibility", "scheduler", "alerts"):
        try:
            with open(os.path.join(work, name, "stderr.log"), "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if h.SANITIZER_REPORT.search(line):
                        reports.append(f"{name}: {line}")
        except OSError:
            pass
    h.check(not reports, "sanitizer reports:\n" + "\n".join(reports))
    h.check_eq(r.returncode, 0, "provbench exit status")
    with open(out_json) as f:
        res = json.load(f)
    failed = [c for c in res["checks"] if not c["ok"]]
    h.check(not failed, f"checks failed: {failed}")
    h.check(len(res["checks"]) >= 20, f"only {len(res['checks'])} checks ran")
    mo = res["month"]
    h.check_eq(mo["events"], res["expected"]["month"]["valid"] + res["expected"]["invalid_total"],
               "month events")
    for d in ("intake", "eligibility", "scheduler", "alerts"):
        h.check(mo["per_daemon"][d]["per_s"] > 0, f"{d}: no rate")
        h.check(mo["lmdb_bytes"][d] > 0, f"{d}: no LMDB size")
        h.check(mo["peak_rss_bytes"][d] > 0, f"{d}: no peak RSS")
    h.check(mo["latency_s"]["p50"] is not None, f"no latency: {mo['latency_s']}")
    for b in ("zmq", "lmdb"):
        h.check(res["baselines"][b]["events_per_s"] > 0, f"baseline {b}: {res['baselines'][b]}")
        h.check(b in res["ratios"], f"no ratio to {b}")
    h.check(os.path.getsize(out_png) > 1000, "the plot is missing or empty")
    with open(out_png, "rb") as f:
        h.check_eq(f.read(8), b"\x89PNG\r\n\x1a\n", "plot file signature")


def test_county_month_profiled(env):
    out_json = env.path("profiled.json")
    argv = [sys.executable, RUNNER, "--bin", h.bin_dir(), "--scale", "county", "--baselines", "none",
            "--profile", "--work", env.path("prof"), "--keep", "--json", out_json,
            "--timeout", str(300 * h.time_scale())]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600 * h.time_scale(), preexec_fn=h._die_with_parent)
    text = r.stdout.decode("utf-8", "replace")
    print(text, flush=True)
    h.check_eq(r.returncode, 0, "provbench --profile exit status")
    with open(out_json) as f:
        res = json.load(f)
    h.check(all(c["ok"] for c in res["checks"]), "checks failed with perf attached")
    mo = res["month"]
    prof = mo["profile"]
    h.check_eq(prof["events"], mo["events"], "events the profile is divided by")
    procs = {p["process"]: p for p in prof["processes"]}
    for name in ("doudi-intake", "doudi-eligibili", "doudi-scheduler", "doudi-alerts"):
        h.check(name in procs and procs[name]["samples"] > 0, f"no samples of {name}: {list(procs)}")
    # Sampling covers the month's window only, and /proc the month plus the
    # moment it took to notice the end, when the daemons were idle.
    used = sum(mo["cpu_s"].values())
    h.check(0.5 * used <= prof["cpu_s_sampled"] <= 1.5 * used,
            f"perf sampled {prof['cpu_s_sampled']:.2f} CPU s, /proc says {used:.2f}")
    h.check(prof["symbols"] and all(s["ns_per_event"] > 0 for s in prof["symbols"]),
            f"symbols: {prof['symbols'][:3]}")
    d = subprocess.run([sys.executable, os.path.join(os.path.dirname(RUNNER), "monthprof.py"), "diff",
                        out_json, out_json, "--top", "5"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = d.stdout.decode("utf-8", "replace")
    h.check_eq(d.returncode, 0, f"monthprof.py diff: {out}")
    h.check("doudi-intake" in out and "+0.0" in out, f"monthprof.py diff of a run with itself:\n{out}")


if __name__ == "__main__":
    h.run_tests(globals())
