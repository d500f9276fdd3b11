"""CURVE: only listed keys get in, each only where its grant allows.

Keys are made with `doudictl keygen` (the pair 0600, the public key beside
it). A clients file line is NAME KEY GRANT: a publisher's sources, - for a
reader, * for an operator. With [auth] key_file and clients_file set,
doudi-intake's endpoints are CURVE servers: a publisher's events are
accepted under its own sources and REJECTED source_not_allowed under any
other (kept as a dead letter, counted, never answered DUPLICATE); a key
that is not listed, a client that does not speak CURVE, and a listed key at
an endpoint its grant does not cover (a publisher at the log or admin
endpoint) get no answer, reach nothing, and are counted in
doudi_curve_handshakes_total by result. SIGHUP reads the clients file
again: a key removed is refused from its next request on, on the connection
it already had; a key added gets in; a broken file is refused with its line
named and the old list kept. Along the chain, doudi-eligibility fetches
intake's log over CURVE with its own key (listed at intake as a reader) and
serves its log and queries to its own readers; removing its key at intake
stalls it without losing anything, and listing it again lets it catch up.
doudictl speaks CURVE when DOUDI_CURVE_KEY and DOUDI_CURVE_SERVER_KEY name
the files, and says which daemon refused its key. A key file or a clients
file that does not read stops a daemon at start-up with the file and line
named, and `-t` checks the files as start-up would.
"""

import os
import signal
import stat
import subprocess

import zmq

import alerts_harness as ah
import harness as h
from doudi import admin_pb2, alerts_pb2, log_pb2, publish_pb2

R = publish_pb2.RejectReason
ACCEPTED = {"OUTCOME_ACCEPTED"}


def keygen(env, name, label=None):
    path = env.path(f"{name}.key")
    argv = [h.binary("doudictl"), "keygen", path] + (["--name", label] if label else [])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    h.check_eq(out.returncode, 0, f"doudictl keygen {name} ({out.stderr})")
    return path, out.stdout.strip()


def keys(env, *names):
    """Key pairs by name: "server" (intake's) and the clients named."""
    k = {"server": keygen(env, "server")[0]}
    for name in names:
        k[name] = keygen(env, name, name)[0]
    return k


def line(k, name, grant):
    return f"{name} {h.read_key_file(k[name])['public-key'].decode()} {grant}\n"


def write_clients(env, text, name="clients"):
    path = env.path(name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def opts(k, name, server="server"):
    return h.curve_client_opts(k[name], k[server] + ".pub")


def curve_intake(env, k, clients_text):
    """An intake with CURVE on; the harness reads its log as "ops", whom
    every clients file of these tests lists as an operator."""
    clients = write_clients(env, clients_text)
    intake = env.intake({"auth": {"key_file": k["server"], "clients_file": clients},
                         "intake": {"log_level": "debug"}}, start=False)
    intake.client_sockopts = opts(k, "ops")
    return intake.start()


def silent(endpoint, request_bytes, sockopts, timeout=1.0):
    """Whether a request sent with these options goes unanswered."""
    s = h.dealer(endpoint, **sockopts)
    try:
        s.send(request_bytes)
        return h.recv_frames(s, timeout) is None
    finally:
        s.close(0)


def curve_metric(daemon, result):
    return daemon.metrics().get("doudi_curve_handshakes_total", 0.0, result=result)


def wait_metric(daemon, what, cond):
    h.wait_for(lambda: cond(daemon.metrics()), 10 * h.time_scale(), what)


def outcomes(results):
    return {h.OUTCOME.Name(r.outcome) for r in results}


def fetch_request():
    return log_pb2.FetchRequest(request_id=1, after_sequence=0, max_records=1).SerializeToString()


def test_keygen_files(env):
    path, pub = keygen(env, "k")
    h.check_eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "mode of the key pair")
    h.check_eq(stat.S_IMODE(os.stat(path + ".pub").st_mode), 0o644, "mode of the public key")
    pair = h.read_key_file(path)
    h.check_eq(set(pair), {"public-key", "secret-key"}, "lines of the pair")
    h.check_eq(h.read_key_file(path + ".pub"), {"public-key": pair["public-key"]},
               "the .pub file")
    h.check_eq(pub, pair["public-key"].decode(), "keygen prints the public key")
    h.check_eq(zmq.curve_public(pair["secret-key"]).decode(), pub, "public key of the secret")
    again = subprocess.run([h.binary("doudictl"), "keygen", path], capture_output=True,
                           text=True, timeout=30)
    h.check_eq(again.returncode, 2, "keygen over an existing file")
    h.check("never overwritten" in again.stderr, f"keygen's refusal: {again.stderr}")
    h.check_eq(h.read_key_file(path), pair, "the existing key is untouched")
    named = subprocess.run([h.binary("doudictl"), "keygen", "--name", "tax-feed",
                            env.path("t.key")], capture_output=True, text=True, timeout=30)
    h.check_eq(named.stdout.split(),
               ["tax-feed", h.read_key_file(env.path("t.key"))["public-key"].decode(),
                "tax-feed"], "--name prints a clients-file line")


def test_listed_keys_and_their_grants(env):
    k = keys(env, "portal-a", "ops", "stranger")
    intake = curve_intake(env, k, "# portals\n" + line(k, "portal-a", "portal-a,a-bis")
                          + line(k, "ops", "*"))
    h.check_eq(intake.metrics().get("doudi_curve_clients"), 2.0, "clients loaded")

    mine = h.EventFactory("portal-a").batch(40) + h.EventFactory("a-bis").batch(10)
    res = h.publish(intake.publish_endpoint, mine, sockopts=opts(k, "portal-a"))
    h.check_eq(outcomes(res), ACCEPTED, "portal-a's events under its two sources")

    # Another portal's source: refused, kept, counted; and the ids that
    # source used are not reported as duplicates.
    tax = h.EventFactory("tax-feed")
    res = h.publish(intake.publish_endpoint, tax.batch(5), sockopts=opts(k, "portal-a"))
    h.check_eq([R.Name(r.reason) for r in res], ["REJECT_REASON_SOURCE_NOT_ALLOWED"] * 5,
               "events under a source portal-a may not use")
    h.check("'tax-feed'" in res[0].reason_text and "'portal-a'" in res[0].reason_text,
            f"the refusal names the source and the client: {res[0].reason_text}")
    h.check(all(r.dead_letter_id for r in res), "refused events are kept as dead letters")
    res = h.publish(intake.publish_endpoint, tax.batch(5), sockopts=opts(k, "ops"))
    h.check_eq(outcomes(res), ACCEPTED, "an operator (*) publishes under any source")
    res = h.publish(intake.publish_endpoint, tax.batch(5), sockopts=opts(k, "portal-a"))
    h.check_eq([R.Name(r.reason) for r in res], ["REJECT_REASON_SOURCE_NOT_ALLOWED"] * 5,
               "ids another source used are refused, not answered DUPLICATE")
    h.check_eq(intake.metrics().get("doudi_intake_events_rejected_total", 0.0,
                                    reason="source_not_allowed"), 10.0,
               "doudi_intake_events_rejected_total{reason=source_not_allowed}")

    # Neither an unlisted key nor a plain client gets anything in.
    head = intake.log_head()
    h.check_eq(head, 55, "log head after the accepted events")
    request = publish_pb2.PublishRequest(
        request_id=7, events=h.EventFactory("stranger").batch(3)).SerializeToString()
    h.check(silent(intake.publish_endpoint, request, opts(k, "stranger")),
            "an unlisted key is answered")
    wait_metric(intake, "the unlisted key counted as unknown_key",
                lambda m: m.get("doudi_curve_handshakes_total", 0, result="unknown_key") >= 1)

    # The server sees a plain client as a protocol error, or as a handshake
    # broken off when the client noticed the mismatch first and hung up.
    def plain_failures():
        return curve_metric(intake, "protocol_error") + curve_metric(intake, "failed")
    before = plain_failures()
    h.check(silent(intake.publish_endpoint, request, {}), "a plain client is answered")
    h.wait_for(lambda: plain_failures() > before, 10 * h.time_scale(),
               "the plain client counted as protocol_error or failed")
    h.check("is not in" in intake.stderr_text(), "intake names the refused key on stderr")
    h.check_eq(intake.log_head(), head, "log head after the refused clients")

    # A publisher at the log and admin endpoints: refused at the handshake.
    h.check(silent(intake.log_endpoint, fetch_request(), opts(k, "portal-a")),
            "portal-a fetching intake's log is answered")
    listing = dict(dead_letter_list=admin_pb2.DeadLetterListRequest(limit=100))
    admin_request = admin_pb2.AdminRequest(request_id=1, **listing).SerializeToString()
    h.check(silent(intake.admin_endpoint, admin_request, opts(k, "portal-a")),
            "portal-a at the admin endpoint is answered")
    h.check(silent(intake.admin_endpoint, admin_request, {}),
            "a plain client at the admin endpoint is answered")
    wait_metric(intake, "portal-a counted as not_allowed twice",
                lambda m: m.get("doudi_curve_handshakes_total", 0, result="not_allowed") >= 2)
    h.check("is not granted the read endpoints" in intake.stderr_text(),
            "intake says why portal-a was refused at the log endpoint")
    rep = h.admin(intake.admin_endpoint, sockopts=opts(k, "ops"), **listing)
    h.check_eq(rep.error_text, "", "the operator's listing")
    h.check_eq(len(rep.dead_letter_list.dead_letters), 10, "dead letters the operator sees")
    h.check_eq({d.source for d in rep.dead_letter_list.dead_letters}, {"tax-feed"},
               "their sources")
    h.check(curve_metric(intake, "accepted") >= 4, "accepted handshakes counted")


def test_reload_revokes_and_admits(env):
    k = keys(env, "portal-a", "portal-b", "ops")
    ops = line(k, "ops", "*")
    intake = curve_intake(env, k, line(k, "portal-a", "portal-a") + ops)
    portal = h.Portal(intake.publish_endpoint, batch=10, sockopts=opts(k, "portal-a"))
    try:
        f = h.EventFactory("portal-a")
        h.check_eq(outcomes(portal.publish(f.batch(10))), ACCEPTED, "before")
        request = publish_pb2.PublishRequest(
            request_id=9, events=h.EventFactory("portal-b").batch(2)).SerializeToString()
        h.check(silent(intake.publish_endpoint, request, opts(k, "portal-b")),
                "portal-b is answered before it is listed")

        write_clients(env, line(k, "portal-b", "portal-b") + ops)
        intake.signal(signal.SIGHUP)
        wait_metric(intake, "the clients file read again",
                    lambda m: m.get("doudi_curve_reloads_total", 0, result="ok") == 1)
        h.check_eq(intake.metrics().get("doudi_curve_clients"), 2.0, "clients after the reload")
        # The same connection, let in before: refused from now on.
        res = portal.publish(f.batch(5, 10))
        h.check(all(isinstance(r, h.RequestRefused) for r in res), f"portal-a after: {res[:1]}")
        h.check_eq(h.reason_label(res[0].reason), "request_client_unknown",
                   "why portal-a's request is refused")
        h.check("clients file" in res[0].text, f"the refusal's text: {res[0].text}")
        h.check_eq(intake.metrics().get("doudi_curve_messages_refused_total", 0.0,
                                        role="publish"), 1.0, "the refused request counted")
    finally:
        portal.close()
    res = h.publish(intake.publish_endpoint, h.EventFactory("portal-b").batch(4),
                    sockopts=opts(k, "portal-b"))
    h.check_eq(outcomes(res), ACCEPTED, "portal-b once listed")

    write_clients(env, line(k, "portal-b", "portal-b") + ops + "x not-a-key *\n")
    intake.signal(signal.SIGHUP)
    wait_metric(intake, "the broken clients file refused",
                lambda m: m.get("doudi_curve_reloads_total", 0, result="failed") == 1)
    h.check("clients:3: 'not-a-key' is not a public key" in intake.stderr_text(),
            "the refusal names the file and line")
    res = h.publish(intake.publish_endpoint, h.EventFactory("portal-b").batch(2, 4),
                    sockopts=opts(k, "portal-b"))
    h.check_eq(outcomes(res), ACCEPTED, "the old list is kept")

    # A configuration whose clients_file is emptied is refused the same way.
    intake.overrides["auth"]["clients_file"] = ""
    intake.write_config()
    intake.signal(signal.SIGHUP)
    wait_metric(intake, "the empty clients_file refused",
                lambda m: m.get("doudi_curve_reloads_total", 0, result="failed") == 2)
    h.check("clients_file is empty while key_file is set" in intake.stderr_text(),
            "intake says why")
    res = h.publish(intake.publish_endpoint, h.EventFactory("portal-b").batch(1, 6),
                    sockopts=opts(k, "portal-b"))
    h.check_eq(outcomes(res), ACCEPTED, "the old list is kept again")
    h.check_eq(intake.log_head(), 17, "log head: 10 + 4 + 2 + 1")


def doudictl(args, k, client, server="server", timeout=60):
    variables = dict(os.environ, DOUDI_CURVE_KEY=k[client],
                     DOUDI_CURVE_SERVER_KEY=k[server] + ".pub")
    return subprocess.run([h.binary("doudictl")] + args, capture_output=True, text=True,
                          timeout=timeout, env=variables)


def test_doudictl_over_curve(env):
    k = keys(env, "portal-a", "ops", "stranger")
    intake = curve_intake(env, k, line(k, "portal-a", "assistance-portal") + line(k, "ops", "*"))
    sample = os.path.join(os.path.dirname(h.HARNESS), "..", "..", "deploy",
                          "sample-events.jsonl")
    out = doudictl(["publish", "-e", intake.publish_endpoint, sample], k, "ops")
    h.check(out.returncode in (0, 1), f"doudictl publish over CURVE: {out.returncode} "
            f"{out.stderr[-400:]}")
    h.check(intake.log_head() > 0, "the sample events reached the log")
    out = doudictl(["log", "tail", "-e", intake.log_endpoint, "--from", "1"], k, "ops")
    h.check_eq(out.returncode, 0, f"log tail as the operator ({out.stderr})")
    h.check_eq(len(out.stdout.splitlines()), intake.log_head(), "records tailed")

    listing = ["deadletter", "list", "-e", intake.admin_endpoint, "--json"]
    out = doudictl(listing, k, "ops")
    h.check_eq(out.returncode, 0, f"deadletter list as the operator ({out.stderr})")
    for who in ("portal-a", "stranger"):
        out = doudictl(listing + ["-t", "500", "--max-wait-s", "2"], k, who)
        h.check_eq(out.returncode, 3, f"deadletter list as {who} ({out.stderr})")
        h.check("refused this client's CURVE key" in out.stderr,
                f"doudictl says {who}'s key was refused: {out.stderr}")
    half = dict(os.environ, DOUDI_CURVE_KEY=k["ops"])
    half.pop("DOUDI_CURVE_SERVER_KEY", None)
    out = subprocess.run([h.binary("doudictl")] + listing, capture_output=True, text=True,
                         timeout=30, env=half)
    h.check(out.returncode == 2 and "DOUDI_CURVE_SERVER_KEY" in out.stderr,
            f"one of the two variables: {out.returncode} {out.stderr}")


def test_chain_over_curve(env):
    """intake -> eligibility -> alerts, each with CURVE and its own clients."""
    k = keys(env, "portal", "ops", "office")
    k["elig"] = keygen(env, "elig", "eligibility")[0]
    k["alerts"] = keygen(env, "alerts", "alerts")[0]
    intake_clients = line(k, "portal", "portal") + line(k, "ops", "*")
    intake = curve_intake(env, k, intake_clients + line(k, "elig", "-"))
    elig_clients = write_clients(env, line(k, "office", "-") + line(k, "ops", "*")
                                 + line(k, "alerts", "-"), "elig-clients")
    elig = env.eligibility(intake, {"auth": {"key_file": k["elig"],
                                             "clients_file": elig_clients,
                                             "upstream_key_file": k["server"] + ".pub"}},
                           start=False)
    elig.client_sockopts = opts(k, "ops", "elig")
    elig.start()

    f = h.EventFactory("portal")
    res = h.publish(intake.publish_endpoint, f.batch(300), sockopts=opts(k, "portal"))
    h.check_eq(outcomes(res), ACCEPTED, "the portal's events")
    elig.wait_caught_up(30 * h.time_scale(), "eligibility fetching over CURVE")
    h.check_eq(intake.metrics().get("doudi_curve_handshakes_total", 0, result="accepted") >= 2,
               True, "eligibility's connection accepted at intake")

    # Eligibility's own endpoints: its readers get in, intake's clients do not.
    out = doudictl(["log", "tail", "-e", elig.log_endpoint, "--from", "1"], k, "office", "elig")
    h.check_eq(out.returncode, 0, f"eligibility's log tailed by the office ({out.stderr})")
    h.check(len(out.stdout.splitlines()) > 0, "eligibility's log has records")
    pid = f.envelope(0, "person_reported").person_reported.person_id
    args = ["person", "-e", elig.query_endpoint, pid]
    out = doudictl(args, k, "office", "elig")
    h.check(out.returncode in (0, 1) and pid[:6] in out.stdout + out.stderr,
            f"a query as the office: {out.returncode} {out.stdout[:200]} {out.stderr}")
    out = doudictl(args + ["-t", "500", "--max-wait-s", "2"], k, "portal", "elig")
    h.check_eq(out.returncode, 3, f"a query with a key eligibility does not list ({out.stderr})")
    h.check(silent(elig.log_endpoint, fetch_request(), opts(k, "portal", "elig")),
            "the portal fetching eligibility's log is answered")
    h.check(silent(elig.log_endpoint, fetch_request(), {}),
            "a plain client fetching eligibility's log is answered")

    # Alerts fetches eligibility's log over CURVE and lets in its own clients.
    alerts_clients = write_clients(env, line(k, "office", "-") + line(k, "ops", "*"),
                                   "alerts-clients")
    alerts = ah.start_alerts(env, elig, {"auth": {"key_file": k["alerts"],
                                                  "clients_file": alerts_clients,
                                                  "upstream_key_file": k["elig"] + ".pub"}},
                             start=False)
    alerts.client_sockopts = opts(k, "office", "alerts")
    alerts.start()
    alerts.wait_caught_up(30, "alerts fetching eligibility's log over CURVE")
    h.check(isinstance(alerts.list(), list), "the office lists alerts")
    now = h.now_ms()
    rep = alerts.silence("440106", 0, now, now + 3_600_000)
    h.check("only an operator" in rep.error_text, f"a reader's silence: {rep.error_text!r}")
    alerts.client_sockopts = opts(k, "ops", "alerts")
    rep = alerts.silence("440106", 0, now, now + 3_600_000)
    h.check_eq(rep.error_text, "", "the operator's silence")
    alerts.client_sockopts = opts(k, "office", "alerts")
    h.check(silent(alerts.request_endpoint, alerts_pb2.AlertsRequest(
        request_id=1, rate=alerts_pb2.RateRequest(region_prefix="44")).SerializeToString(),
        opts(k, "portal", "alerts")), "a key alerts does not list is answered")

    def live_subscriber(sockopts):
        sub = h.zctx().socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        for name, value in sockopts.items():
            sub.setsockopt(getattr(zmq, name), value)
        sub.setsockopt(zmq.SUBSCRIBE, b"4401")
        sub.connect(alerts.live_endpoint)
        return sub

    def subscriptions():
        return sum(v for (name, _), v in alerts.metrics().samples.items()
                   if name == "doudi_alerts_subscriptions")
    before = subscriptions()
    refused_before = curve_metric(alerts, "protocol_error") + curve_metric(alerts, "failed")
    plain = live_subscriber({})
    office = live_subscriber(opts(k, "office", "alerts"))
    try:
        h.wait_for(lambda: subscriptions() > before, 10 * h.time_scale(),
                   "the office's live subscription")
        h.wait_for(lambda: curve_metric(alerts, "protocol_error") + curve_metric(
            alerts, "failed") > refused_before, 10 * h.time_scale(),
            "the plain subscriber refused")
        h.check_eq(subscriptions(), before + 1, "live subscriptions: the office's alone")
    finally:
        plain.close(0)
        office.close(0)

    # Eligibility's key removed at intake: it stalls, losing nothing ...
    write_clients(env, intake_clients)
    intake.signal(signal.SIGHUP)
    wait_metric(intake, "intake's clients read again",
                lambda m: m.get("doudi_curve_reloads_total", 0, result="ok") == 1)
    wait_metric(intake, "eligibility's fetches refused",
                lambda m: m.get("doudi_curve_messages_refused_total", 0, role="read") >= 1)
    res = h.publish(intake.publish_endpoint, f.batch(200, 300), sockopts=opts(k, "portal"))
    h.check_eq(outcomes(res), ACCEPTED, "events published while eligibility is refused")
    h.check_eq(elig.cursor_at_intake(), 300, "eligibility's cursor while refused")
    # ... and listed again, it catches up.
    write_clients(env, intake_clients + line(k, "elig", "-"))
    intake.signal(signal.SIGHUP)
    elig.wait_caught_up(60 * h.time_scale(), "eligibility after its key is listed again")
    h.check_eq(elig.cursor_at_intake(), 500, "eligibility's cursor at the end")


def start_fails(env, overrides, expect, daemon="intake"):
    d = env.intake(overrides, start=False)
    try:
        d.start(timeout=10)
    except h.StartFailed:
        h.check(expect in d.stderr_text(),
                f"stderr names the problem ({expect!r}): {d.stderr_tail(5)}")
        return
    raise h.CheckFailed(f"{daemon} started with {overrides}")


def test_bad_key_files_stop_start_up(env):
    k = keys(env, "ops")
    clients = write_clients(env, line(k, "ops", "*"))
    start_fails(env, {"auth": {"key_file": k["server"]}}, "clients_file is not")
    start_fails(env, {"auth": {"key_file": k["server"] + ".pub", "clients_file": clients}},
                "no secret-key line")
    start_fails(env, {"auth": {"key_file": env.path("missing.key"), "clients_file": clients}},
                "missing.key: No such file")
    bad = write_clients(env, line(k, "ops", "*") + line(k, "ops", "x"), "clients-bad")
    start_fails(env, {"auth": {"key_file": k["server"], "clients_file": bad}},
                "clients-bad:2: client 'ops' is listed twice")

    # `-t` reads the files as start-up would.
    def check_config(text):
        path = env.path("check.ini")
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([h.binary("doudi-intake"), "-t", "-c", path], capture_output=True,
                              text=True, timeout=30)
    out = check_config(f"[auth]\nkey_file = {k['server']}\nclients_file = {bad}\n")
    h.check(out.returncode == 1 and "clients-bad:2: client 'ops' is listed twice" in out.stderr,
            f"-t with a broken clients file: {out.returncode} {out.stderr}")
    out = check_config(f"[auth]\nkey_file = {k['server']}\nclients_file = {clients}\n")
    h.check(out.returncode == 0 and "is valid" in out.stderr, f"-t with good files: {out.stderr}")
    intake = env.intake()
    elig = env.eligibility(intake, {"auth": {"upstream_key_file": k["server"] + ".pub"}},
                           start=False)
    try:
        elig.start(timeout=10)
        raise h.CheckFailed("eligibility started with upstream_key_file and no key_file")
    except h.StartFailed:
        h.check("upstream_key_file is set but key_file is not" in elig.stderr_text(),
                f"eligibility's reason: {elig.stderr_tail(5)}")


if __name__ == "__main__":
    h.run_tests(globals())
