"""doudi-intake's /metrics is valid Prometheus text and has what operators need.

After intake has accepted, deduplicated and refused events (several
reasons), refused whole requests, served fetches to a named consumer and
answered admin commands, `promtool check metrics` accepts a scrape (exit
0, no lint problem). The families the issue requires are there with the
right types and values that agree with what the test did: events accepted,
duplicate and rejected by reason; publish requests; batch-size and
commit-latency histograms; log length and head; lag per consumer
(doudi_log_consumer_lag_records); LMDB map used and size. Histograms are
consistent (cumulative buckets, +Inf equal to _count) also in scrapes taken
while a portal publishes flat out, and promtool accepts those too. The
endpoint answers HEAD, and 404 / 405 elsewhere.
"""

import http.client
import os
import subprocess

import harness as h

PROMTOOL = "/usr/bin/promtool"

REQUIRED = {
    "doudi_intake_events_accepted_total": "counter",
    "doudi_intake_events_duplicate_total": "counter",
    "doudi_intake_events_rejected_total": "counter",
    "doudi_intake_publish_requests_total": "counter",
    "doudi_intake_commit_events": "histogram",
    "doudi_intake_commit_requests": "histogram",
    "doudi_intake_commit_seconds": "histogram",
    "doudi_log_records": "gauge",
    "doudi_log_head_sequence": "gauge",
    "doudi_log_consumer_lag_records": "gauge",
    "doudi_lmdb_map_used_bytes": "gauge",
    "doudi_lmdb_map_size_bytes": "gauge",
}


def promtool(text):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    h.check_eq(p.returncode, 0, f"promtool check metrics exit status\n{p.stdout}{p.stderr}")


def histograms_consistent(m):
    for name, kind in m.types.items():
        if kind != "histogram":
            continue
        buckets = sorted(((float(dict(lab)["le"]), v)
                          for lab, v in m.series(name + "_bucket").items()), key=lambda b: b[0])
        h.check(buckets and buckets[-1][0] == float("inf"), f"{name} has no +Inf bucket")
        counts = [v for _, v in buckets]
        h.check(counts == sorted(counts), f"{name} buckets are not cumulative: {counts}")
        h.check_eq(buckets[-1][1], m.value(name + "_count"), f"{name} +Inf bucket vs _count")


def test_metrics_pass_promtool(env):
    intake = env.intake()
    f = h.EventFactory("bb-metrics")
    ep = intake.publish_endpoint
    good = f.batch(700)
    res = h.publish(ep, good, batch=100)
    h.check(all(r.outcome == h.ACCEPTED for r in res), "accepted")
    res = h.publish(ep, good[:250], batch=100)
    h.check(all(r.outcome == h.DUPLICATE for r in res), "duplicates")
    bad = []
    for k, region in enumerate(("440199001001", "44019900100", "abc")):
        e = f.envelope(5000 + k, "risk_signal")
        e.region_code = region
        bad.append(e.SerializeToString())
    e = f.envelope(6000, "risk_signal")
    e.risk_signal.kind = 77
    bad += [e.SerializeToString(), b"\xff\xff"]
    res = h.publish(ep, bad)
    h.check(all(r.outcome == h.REJECTED for r in res), "rejected")
    # Whole requests refused.
    c = h.RawClient(ep)
    c.send(b"\xff")
    h.check(c.recv() is not None, "reply to garbage")
    c.send(b"a", b"b")
    h.check(c.recv() is not None, "reply to bad frames")
    c.close()
    # A named consumer and an anonymous one.
    h.LogReader(intake.log_endpoint, consumer="eligibility").fetch(after=300, max_records=50)
    h.LogReader(intake.log_endpoint, consumer="audit").fetch(after=700)
    h.LogReader(intake.log_endpoint).read_all()
    h.dead_letters(intake.admin_endpoint)
    # Gauges refresh every second; wait for one that depends on the above.
    h.wait_for(lambda: intake.metrics().get("doudi_intake_dead_letters") == 5,
               5 * h.time_scale(), "the gauges to refresh")

    m = intake.metrics()
    promtool(m.text)
    for name, kind in REQUIRED.items():
        h.check_eq(m.types.get(name), kind, f"TYPE of {name}")
    histograms_consistent(m)
    h.check_eq(m.value("doudi_intake_events_accepted_total"), 700.0, "accepted")
    h.check_eq(m.value("doudi_intake_events_duplicate_total"), 250.0, "duplicate")
    rejected = {dict(lab)["reason"]: v
                for lab, v in m.series("doudi_intake_events_rejected_total").items()}
    want = {"region_unknown": 1, "region_bad_format": 2, "unknown_enum_value": 1,
            "undecodable": 1}
    for label in (h.reason_label(r) for r in range(1, 19)):
        h.check_eq(rejected.get(label), float(want.get(label, 0)),
                   f'doudi_intake_events_rejected_total{{reason="{label}"}}')
    h.check_eq(m.value("doudi_intake_publish_requests_total"), 7.0 + 3.0 + 1.0 + 2.0,
               "publish requests")
    h.check_eq(m.value("doudi_intake_publish_requests_refused_total",
                       reason="request_undecodable"), 1.0, "refused: undecodable")
    h.check_eq(m.value("doudi_intake_publish_requests_refused_total",
                       reason="request_bad_frames"), 1.0, "refused: bad frames")
    h.check_eq(m.value("doudi_intake_commit_events_sum"), 700.0 + 250.0 + 5.0,
               "events judged in commits")
    h.check_eq(m.value("doudi_intake_commit_events_count"),
               m.value("doudi_intake_commit_requests_count"), "one observation per commit")
    h.check_eq(m.value("doudi_intake_commit_requests_sum"), 11.0, "requests in commits")
    h.check_eq(m.value("doudi_intake_commit_seconds_count"),
               m.value("doudi_intake_commit_events_count"), "latency observed per commit")
    h.check(m.value("doudi_intake_commit_seconds_sum") > 0, "commit latency is not zero")
    h.check_eq(m.value("doudi_log_head_sequence"), 700.0, "log head")
    h.check_eq(m.value("doudi_log_records"), 700.0, "log length")
    h.check_eq(m.value("doudi_log_consumer_lag_records", consumer="eligibility"), 400.0,
               "lag of eligibility")
    h.check_eq(m.value("doudi_log_consumer_lag_records", consumer="audit"), 0.0, "lag of audit")
    h.check_eq(m.value("doudi_log_consumer_cursor", consumer="eligibility"), 300.0, "cursor")
    h.check("consumer=\"\"" not in m.text, "the anonymous reader is tracked as a consumer")
    used, size = m.value("doudi_lmdb_map_used_bytes"), m.value("doudi_lmdb_map_size_bytes")
    h.check(0 < used <= size, f"map used {used} of {size}")
    h.check_eq(size, float(1 << 30), "map size (default 1G)")
    h.check_eq(m.value("doudi_intake_dead_letters"), 5.0, "dead letters")
    h.check(m.value("doudi_lmdb_commits_total") >= 3, "commits counted")

    # The HTTP side.
    status, body = h.http_get("127.0.0.1", intake.metrics_port, "/nope")
    h.check_eq(status, 404, "status of another path")
    conn = http.client.HTTPConnection("127.0.0.1", intake.metrics_port, timeout=5)
    conn.request("HEAD", "/metrics")
    r = conn.getresponse()
    h.check_eq(r.status, 200, "HEAD /metrics")
    h.check(r.getheader("Content-Type", "").startswith("text/plain; version=0.0.4"),
            f"Content-Type {r.getheader('Content-Type')}")
    r.read()
    conn.request("POST", "/metrics", body=b"x=1")
    r = conn.getresponse()
    h.check_eq(r.status, 405, "POST /metrics")
    r.read()
    conn.close()


def test_scrapes_while_publishing(env):
    scale = h.time_scale()
    intake = env.intake()
    out = env.path("portal.json")
    n = 40000
    go = env.path("go")
    portal = h.spawn(h.portal_command(intake.publish_endpoint, "bb-scrape", n, out, batch=200,
                                      window=8, timeout=2.0 * scale, base_ms=h.now_ms(),
                                      deadline_s=120 * scale, go_file=go))
    h.wait_for(lambda: os.path.exists(out + ".ready") or portal.poll() is not None,
               60 * scale, "the portal to encode its events")
    with open(go, "w"):
        pass
    scrapes = 0
    checked = None
    while portal.poll() is None or scrapes == 0:
        m = intake.metrics()
        histograms_consistent(m)
        scrapes += 1
        accepted = m.value("doudi_intake_events_accepted_total")
        if checked is None and 0 < accepted < n:
            promtool(m.text)
            checked = accepted
    h.check_eq(h.reap(portal, 60 * scale), 0, "portal exit status")
    m = intake.metrics()
    histograms_consistent(m)
    h.check_eq(m.value("doudi_intake_events_accepted_total"), float(n), "accepted in the end")
    print(f"{scrapes} scrapes during the publish; promtool run on one at {checked} accepted")


if __name__ == "__main__":
    h.run_tests(globals())
