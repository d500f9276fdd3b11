/*
 * test_zauth.c: the key files and the clients file of CURVE authentication,
 * and a CURVE server with its ZAP handler on a real libev loop: a listed key
 * is answered with its User-Id, an unlisted one is not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <zmq.h>

#include "error.h"
#include "metrics.h"
#include "zauth.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_zauth.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Writes text to a file of the fixture's directory; returns its path. */
static const char *file_with(fixture *f, const char *name, const char *text)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    FILE *out = fopen(f->path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
    return f->path;
}

/* The error of reading a key file holding text, or NULL when it reads. */
static char *keys_error(fixture *f, const char *text, bool need_secret)
{
    dd_zauth_keys k;
    char *error = NULL;
    int rc = dd_zauth_read_keys(file_with(f, "k", text), need_secret, &k, &error);
    if (rc == 0) {
        assert_null(error);
        return NULL;
    }
    assert_non_null(error);
    return error;
}

static void assert_error_has(char *error, const char *part)
{
    assert_non_null(error);
    if (!strstr(error, part))
        fail_msg("'%s' does not say '%s'", error, part);
    free(error);
}

static void test_new_keys_read_back(void **state)
{
    fixture *f = *state;
    char pair[128], pub[128];
    snprintf(pair, sizeof(pair), "%s/pair", f->dir);
    snprintf(pub, sizeof(pub), "%s/pair.pub", f->dir);
    char *error = NULL;
    assert_int_equal(dd_zauth_write_new_keys(pair, pub, &error), 0);
    struct stat st;
    assert_int_equal(stat(pair, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dd_zauth_keys k, p;
    assert_int_equal(dd_zauth_read_keys(pair, true, &k, &error), 0);
    assert_int_equal(dd_zauth_read_keys(pub, false, &p, &error), 0);
    assert_string_equal(k.public_z85, p.public_z85);
    assert_string_equal(p.secret_z85, "");
    assert_int_equal(strlen(k.secret_z85), DD_ZAUTH_Z85_LEN);
    /* never overwritten */
    assert_int_equal(dd_zauth_write_new_keys(pair, pub, &error), -EEXIST);
    assert_error_has(error, "never overwritten");
    dd_zauth_keys again;
    assert_int_equal(dd_zauth_read_keys(pair, true, &again, &error), 0);
    assert_string_equal(again.secret_z85, k.secret_z85);
    /* a public key file where a pair is needed */
    assert_int_equal(dd_zauth_read_keys(pub, true, &again, &error), DD_ECONFIG);
    assert_error_has(error, "no secret-key line");
}

static void test_key_file_errors(void **state)
{
    fixture *f = *state;
    char pub[41], sec[41], other_pub[41], other_sec[41], text[512];
    assert_int_equal(zmq_curve_keypair(pub, sec), 0);
    assert_int_equal(zmq_curve_keypair(other_pub, other_sec), 0);

    snprintf(text, sizeof(text), "# comment\n\n  secret-key = %s  \n", sec);
    assert_null(keys_error(f, text, true)); /* public key derived */
    snprintf(text, sizeof(text), "public-key = %s\nsecret-key = %s\n", other_pub, sec);
    assert_error_has(keys_error(f, text, true), "does not belong to the secret key");
    snprintf(text, sizeof(text), "public-key = %s\npublic-key = %s\n", pub, pub);
    assert_error_has(keys_error(f, text, false), "k:2: public-key given twice");
    assert_error_has(keys_error(f, "public-key = short\n", false), "k:1: public-key is not 40");
    snprintf(text, sizeof(text), "public-key %s\n", pub);
    assert_error_has(keys_error(f, text, false), "k:1: not 'public-key = KEY'");
    snprintf(text, sizeof(text), "private-key = %s\n", sec);
    assert_error_has(keys_error(f, text, false), "k:1: not 'public-key = KEY'");
    snprintf(text, sizeof(text), "public-key = %s extra\n", pub);
    assert_error_has(keys_error(f, text, false), "k:1:");
    assert_error_has(keys_error(f, "# nothing\n", false), "holds no key");
    /* 40 characters, but not Z85 (a space is not in its alphabet; '~' neither) */
    assert_error_has(keys_error(f, "public-key = ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n",
                                false), "is not 40 characters of Z85");
    dd_zauth_keys k;
    char *error = NULL;
    snprintf(f->path, sizeof(f->path), "%s/missing", f->dir);
    assert_int_equal(dd_zauth_read_keys(f->path, false, &k, &error), -ENOENT);
    assert_error_has(error, "missing: No such file");
}

static char *clients_error(fixture *f, const char *text)
{
    dd_zauth_clients *cs = NULL;
    char *error = NULL;
    int rc = dd_zauth_clients_read(file_with(f, "clients", text), &cs, &error);
    if (rc == 0) {
        dd_zauth_clients_free(&cs);
        return NULL;
    }
    assert_null(cs);
    return error;
}

static void test_clients_file(void **state)
{
    fixture *f = *state;
    char a[41], b[41], c[41], d[41], sec[41], text[1024];
    assert_int_equal(zmq_curve_keypair(d, sec), 0);
    assert_int_equal(zmq_curve_keypair(a, sec), 0);
    assert_int_equal(zmq_curve_keypair(b, sec), 0);
    assert_int_equal(zmq_curve_keypair(c, sec), 0);
    snprintf(text, sizeof(text),
             "# name key sources\n"
             "tax-feed   %s tax-feed\n"
             "\t assistance %s assistance-portal,elderly-registry,a \n"
             "ops %s *\n"
             "county-office %s -\n", a, b, c, d);
    dd_zauth_clients *cs = NULL;
    char *error = NULL;
    assert_int_equal(dd_zauth_clients_read(file_with(f, "clients", text), &cs, &error), 0);
    assert_int_equal(dd_zauth_clients_count(cs), 4);
    const dd_zauth_client *tax = dd_zauth_clients_find(cs, a);
    const dd_zauth_client *asst = dd_zauth_clients_find(cs, b);
    const dd_zauth_client *ops = dd_zauth_clients_find(cs, c);
    assert_non_null(tax);
    assert_non_null(asst);
    assert_non_null(ops);
    assert_string_equal(tax->name, "tax-feed");
    assert_string_equal(asst->name, "assistance");
    assert_true(dd_zauth_client_may_publish_as(tax, "tax-feed"));
    assert_false(dd_zauth_client_may_publish_as(tax, "tax-fee"));
    assert_false(dd_zauth_client_may_publish_as(tax, "assistance-portal"));
    assert_true(dd_zauth_client_may_publish_as(asst, "elderly-registry"));
    assert_true(dd_zauth_client_may_publish_as(asst, "a"));
    assert_true(dd_zauth_client_may_publish_as(asst, "assistance-portal"));
    assert_false(dd_zauth_client_may_publish_as(asst, "tax-feed"));
    assert_false(tax->any_source);
    assert_true(ops->any_source);
    assert_true(dd_zauth_client_may_publish_as(ops, "anything"));
    const dd_zauth_client *office = dd_zauth_clients_find(cs, d);
    assert_non_null(office);
    assert_true(office->reader);
    assert_false(dd_zauth_client_may_publish_as(office, "county-office"));
    /* Who may use an endpoint of each role. */
    assert_true(dd_zauth_client_may(tax, DD_ZAUTH_PUBLISH));
    assert_false(dd_zauth_client_may(tax, DD_ZAUTH_READ));
    assert_false(dd_zauth_client_may(tax, DD_ZAUTH_OPERATE));
    assert_false(dd_zauth_client_may(office, DD_ZAUTH_PUBLISH));
    assert_true(dd_zauth_client_may(office, DD_ZAUTH_READ));
    assert_false(dd_zauth_client_may(office, DD_ZAUTH_OPERATE));
    assert_true(dd_zauth_client_may(ops, DD_ZAUTH_PUBLISH));
    assert_true(dd_zauth_client_may(ops, DD_ZAUTH_READ));
    assert_true(dd_zauth_client_may(ops, DD_ZAUTH_OPERATE));
    assert_string_equal(dd_zauth_role_name(DD_ZAUTH_READ), "read");
    assert_null(dd_zauth_clients_find(cs, sec));
    assert_null(dd_zauth_clients_find(cs, "short"));
    assert_null(dd_zauth_clients_find(cs, NULL));
    dd_zauth_clients_free(&cs);
    assert_null(cs);

    snprintf(text, sizeof(text), "x %s\n", a);
    assert_error_has(clients_error(f, text), "clients:1: a client line is NAME PUBLIC-KEY GRANT");
    snprintf(text, sizeof(text), "x %s s extra\n", a);
    assert_error_has(clients_error(f, text), "clients:1: a client line");
    assert_error_has(clients_error(f, "\n\nx notakey s\n"), "clients:3: 'notakey' is not a public key");
    snprintf(text, sizeof(text), "x %s s\nx %s t\n", a, b);
    assert_error_has(clients_error(f, text), "clients:2: client 'x' is listed twice");
    snprintf(text, sizeof(text), "x %s s\ny %s t\n", a, a);
    assert_error_has(clients_error(f, text), "clients:2: the key of 'y' is already the key of 'x'");
    snprintf(text, sizeof(text), "x %s s,*\n", a);
    assert_error_has(clients_error(f, text), "source '*'");
    snprintf(text, sizeof(text), "x %s s,-\n", a);
    assert_error_has(clients_error(f, text), "source '-'");
    snprintf(text, sizeof(text), "x %s ,,\n", a);
    assert_error_has(clients_error(f, text), "clients:1: no source listed");
    snprintf(text, sizeof(text),
             "x %s aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", a);
    assert_error_has(clients_error(f, text), "is not 1-64 printable");
    snprintf(text, sizeof(text),
             "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn %s s\n", a);
    assert_error_has(clients_error(f, text), "name 'nnnn");
    assert_null(clients_error(f, "# nobody yet\n"));
}

/* ---- a CURVE server on a loop ------------------------------------------- */

typedef struct server {
    struct ev_loop *loop;
    void *zctx, *router;
    dd_metrics *metrics;
    dd_zauth *auth;
    char endpoint[64];
    char last_user[64];
    const dd_zauth_client *last_client;
} server;

static void router_ready(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    server *s = w->data;
    for (;;) {
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, s->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            zmq_msg_close(&body);
            return;
        }
        assert_true(zmq_msg_recv(&body, s->router, 0) >= 0);
        const char *user = zmq_msg_gets(&body, "User-Id");
        snprintf(s->last_user, sizeof(s->last_user), "%s", user ? user : "");
        s->last_client = dd_zauth_admit(s->auth, &body, DD_ZAUTH_PUBLISH);
        zmq_send(s->router, zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
        zmq_send(s->router, "ok", 2, 0);
        zmq_msg_close(&id);
        zmq_msg_close(&body);
    }
}

/*
 * Sends a message from client and runs the server's loop (the ZAP handler
 * is watched by it, as in a daemon) until the answer comes or tries rounds
 * of 10 ms passed. Returns whether the client got its answer.
 */
static bool exchange(server *s, ev_io *io, void *client, int tries)
{
    zmq_send(client, "hi", 2, 0);
    for (int i = 0; i < tries; i++) {
        ev_run(s->loop, EVRUN_NOWAIT);
        router_ready(s->loop, io, EV_READ); /* ZMQ_FD is edge-triggered: drain anyway */
        zmq_pollitem_t item = {.socket = client, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 10) > 0) {
            char buf[8];
            return zmq_recv(client, buf, sizeof(buf), 0) == 2;
        }
    }
    return false;
}

static void *curve_client(server *s, const dd_zauth_keys *own, const dd_zauth_keys *srv)
{
    void *c = zmq_socket(s->zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(dd_zauth_secure_client(c, own, srv->public_z85), 0);
    assert_int_equal(zmq_connect(c, s->endpoint), 0);
    return c;
}

static double handshakes(server *s, const char *result)
{
    return dd_series_value(
        dd_metric_series(dd_metrics_find(s->metrics, "doudi_curve_handshakes_total"), result));
}

static void test_server_lets_listed_keys_in(void **state)
{
    fixture *f = *state;
    char server_key[128], server_pub[128], a_key[128], a_pub[128], b_key[128], b_pub[128];
    snprintf(server_key, sizeof(server_key), "%s/server", f->dir);
    snprintf(server_pub, sizeof(server_pub), "%s/server.pub", f->dir);
    snprintf(a_key, sizeof(a_key), "%s/a", f->dir);
    snprintf(a_pub, sizeof(a_pub), "%s/a.pub", f->dir);
    snprintf(b_key, sizeof(b_key), "%s/b", f->dir);
    snprintf(b_pub, sizeof(b_pub), "%s/b.pub", f->dir);
    char *error = NULL;
    assert_int_equal(dd_zauth_write_new_keys(server_key, server_pub, &error), 0);
    assert_int_equal(dd_zauth_write_new_keys(a_key, a_pub, &error), 0);
    assert_int_equal(dd_zauth_write_new_keys(b_key, b_pub, &error), 0);
    dd_zauth_keys srv, a, b;
    assert_int_equal(dd_zauth_read_keys(server_pub, false, &srv, &error), 0);
    assert_int_equal(dd_zauth_read_keys(a_key, true, &a, &error), 0);
    assert_int_equal(dd_zauth_read_keys(b_key, true, &b, &error), 0);
    char text[256];
    snprintf(text, sizeof(text), "a %s portal-a\n", a.public_z85);
    char clients[128];
    snprintf(clients, sizeof(clients), "%s", file_with(f, "clients", text));

    server s = {0};
    s.loop = ev_loop_new(EVFLAG_AUTO);
    s.zctx = zmq_ctx_new();
    s.metrics = dd_metrics_new();
    assert_int_equal(dd_zauth_new(s.loop, s.zctx, server_key, clients, s.metrics, &s.auth), 0);
    s.router = zmq_socket(s.zctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(s.router, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(dd_zauth_secure_server(s.auth, s.router, DD_ZAUTH_PUBLISH), 0);
    assert_int_equal(zmq_bind(s.router, "tcp://127.0.0.1:*"), 0);
    size_t len = sizeof(s.endpoint);
    zmq_getsockopt(s.router, ZMQ_LAST_ENDPOINT, s.endpoint, &len);
    int fd;
    size_t fdlen = sizeof(fd);
    zmq_getsockopt(s.router, ZMQ_FD, &fd, &fdlen);
    /* A plain ev_io is enough here: answered() runs the loop every 10 ms. */
    ev_io io;
    ev_io_init(&io, router_ready, fd, EV_READ);
    io.data = &s;
    ev_io_start(s.loop, &io);

    void *ca = curve_client(&s, &a, &srv);
    assert_true(exchange(&s, &io, ca, 500));
    assert_string_equal(s.last_user, a.public_z85);
    assert_non_null(s.last_client);
    assert_string_equal(s.last_client->name, "a");
    assert_true(dd_zauth_client_may_publish_as(s.last_client, "portal-a"));
    assert_true(handshakes(&s, "accepted") == 1);

    void *cb = curve_client(&s, &b, &srv);
    assert_false(exchange(&s, &io, cb, 50));
    assert_true(handshakes(&s, "unknown_key") >= 1);

    /* b listed as a reader: still refused at a publish endpoint. */
    snprintf(text, sizeof(text), "a %s portal-a\nb %s -\n", a.public_z85, b.public_z85);
    file_with(f, "clients", text);
    assert_int_equal(dd_zauth_reload(s.auth, NULL), 0);
    zmq_close(cb);
    cb = curve_client(&s, &b, &srv);
    assert_false(exchange(&s, &io, cb, 50));
    assert_true(handshakes(&s, "not_allowed") >= 1);

    /* b listed by a reload: its next connection gets in; a's connection,
     * let in before, is still up but its key no longer names a client. */
    snprintf(text, sizeof(text), "b %s *\n", b.public_z85);
    file_with(f, "clients", text);
    assert_int_equal(dd_zauth_reload(s.auth, NULL), 0);
    zmq_close(cb);
    cb = curve_client(&s, &b, &srv);
    assert_true(exchange(&s, &io, cb, 500));
    assert_non_null(s.last_client);
    assert_true(s.last_client->any_source);
    assert_true(exchange(&s, &io, ca, 500));
    assert_null(s.last_client);
    assert_string_equal(s.last_user, a.public_z85);
    assert_true(dd_series_value(dd_metric_series(
                    dd_metrics_find(s.metrics, "doudi_curve_messages_refused_total"), "publish")) == 1);

    /* A broken file is refused and the list kept. */
    file_with(f, "clients", "b notakey *\n");
    assert_int_equal(dd_zauth_reload(s.auth, NULL), DD_ECONFIG);
    assert_true(exchange(&s, &io, cb, 500));
    assert_non_null(s.last_client);
    assert_string_equal(s.last_client->name, "b");
    assert_true(dd_series_value(dd_metric_series(
                    dd_metrics_find(s.metrics, "doudi_curve_reloads_total"), "failed")) == 1);

    ev_io_stop(s.loop, &io);
    zmq_close(ca);
    zmq_close(cb);
    zmq_close(s.router);
    dd_zauth_destroy(&s.auth);
    assert_null(s.auth);
    zmq_ctx_term(s.zctx);
    dd_metrics_destroy(&s.metrics);
    ev_loop_destroy(s.loop);
}

/* Without its own handler a CURVE server would let every key in (zauth.h):
 * when the handler's endpoint cannot be bound, the daemon does not start. */
static void test_no_handler_no_start(void **state)
{
    fixture *f = *state;
    char key[128], pub[128];
    snprintf(key, sizeof(key), "%s/server", f->dir);
    snprintf(pub, sizeof(pub), "%s/server.pub", f->dir);
    char *error = NULL;
    assert_int_equal(dd_zauth_write_new_keys(key, pub, &error), 0);
    char clients[128];
    snprintf(clients, sizeof(clients), "%s", file_with(f, "clients", "# nobody\n"));
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    void *zctx = zmq_ctx_new();
    dd_metrics *metrics = dd_metrics_new();
    void *squatter = zmq_socket(zctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(squatter, ZMQ_LINGER, &zero, sizeof(zero));
    assert_int_equal(zmq_bind(squatter, "inproc://zeromq.zap.01"), 0);
    dd_zauth *auth = NULL;
    assert_int_not_equal(dd_zauth_new(loop, zctx, key, clients, metrics, &auth), 0);
    assert_null(auth);
    assert_int_equal(zmq_unbind(squatter, "inproc://zeromq.zap.01"), 0);
    zmq_close(squatter);
    /* and with the endpoint free it starts */
    dd_metrics *fresh = dd_metrics_new(); /* the failed start registered its families */
    assert_int_equal(dd_zauth_new(loop, zctx, key, clients, fresh, &auth), 0);
    dd_zauth_destroy(&auth);
    zmq_ctx_term(zctx);
    dd_metrics_destroy(&fresh);
    dd_metrics_destroy(&metrics);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_keys_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clients_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_lets_listed_keys_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_handler_no_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
