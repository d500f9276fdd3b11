/* zauth.c: CURVE servers, the ZAP handler and key files (see zauth.h). */
#include "zauth.h"

#include "alloc.h"
#include "config.h"
#include "diag.h"
#include "error.h"
#include "evzmq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_MAX_FRAMES 8
#define MAX_MONITORS 8
#define NAME_MAX_LEN 64

/* ---- errors ------------------------------------------------------------- */

static int say(char **error, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char **error, int rc, const char *fmt, ...)
{
    if (error) {
        va_list ap;
        va_start(ap, fmt);
        char *text = NULL;
        if (vasprintf(&text, fmt, ap) < 0)
            text = NULL;
        va_end(ap);
        *error = text;
    }
    return rc;
}

/* ---- lines of a text file ----------------------------------------------- */

typedef struct line_reader {
    FILE *f;
    const char *path;
    char *buf;
    size_t cap;
    unsigned lineno;
} line_reader;

/* The next line that is neither blank nor a comment, trimmed; NULL at the end. */
static char *next_line(line_reader *r)
{
    ssize_t n;
    while ((n = getline(&r->buf, &r->cap, r->f)) >= 0) {
        r->lineno++;
        char *s = r->buf;
        while (n > 0 && strchr("\n\r \t", s[n - 1]))
            s[--n] = '\0';
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != '#')
            return s;
    }
    return NULL;
}

/* Splits off the next blank-separated word of *s. */
static char *next_word(char **s)
{
    char *p = *s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return NULL;
    char *w = p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return w;
}

static bool is_z85_key(const char *text)
{
    uint8_t bin[32];
    return strlen(text) == DD_ZAUTH_Z85_LEN && zmq_z85_decode(bin, text) != NULL;
}

static bool printable_word(const char *s, size_t max, char also_refused)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f || s[n] == also_refused)
            return false;
    return n >= 1 && n <= max;
}

/* ---- key files ---------------------------------------------------------- */

int dd_zauth_read_keys(const char *path, bool need_secret, dd_zauth_keys *out, char **error)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return say(error, -errno, "%s: %s", path, strerror(errno));
    line_reader r = {.f = f, .path = path};
    dd_zauth_keys k = {{0}, {0}};
    int rc = 0;
    char *line;
    while (rc == 0 && (line = next_line(&r)) != NULL) {
        char *name = next_word(&line), *eq = next_word(&line), *value = next_word(&line);
        char *extra = next_word(&line);
        char *slot = NULL;
        if (strcmp(name, "public-key") == 0)
            slot = k.public_z85;
        else if (strcmp(name, "secret-key") == 0)
            slot = k.secret_z85;
        if (!slot || !eq || strcmp(eq, "=") != 0 || !value || extra)
            rc = say(error, DD_ECONFIG, "%s:%u: not 'public-key = KEY' nor 'secret-key = KEY'",
                     path, r.lineno);
        else if (!is_z85_key(value))
            rc = say(error, DD_ECONFIG, "%s:%u: %s is not 40 characters of Z85", path, r.lineno,
                     name);
        else if (slot[0])
            rc = say(error, DD_ECONFIG, "%s:%u: %s given twice", path, r.lineno, name);
        else
            memcpy(slot, value, DD_ZAUTH_Z85_LEN + 1);
    }
    free(r.buf);
    fclose(f);
    if (rc)
        return rc;
    if (need_secret && !k.secret_z85[0])
        return say(error, DD_ECONFIG, "%s: no secret-key line: this is a public key file, and a "
                   "key pair (doudictl keygen) is needed here", path);
    if (!k.public_z85[0] && !k.secret_z85[0])
        return say(error, DD_ECONFIG, "%s: holds no key", path);
    if (k.secret_z85[0]) {
        char derived[DD_ZAUTH_Z85_LEN + 1];
        if (zmq_curve_public(derived, k.secret_z85) != 0)
            return say(error, -ENOTSUP, "%s: cannot derive the public key: %s", path,
                       zmq_strerror(zmq_errno()));
        if (k.public_z85[0] && strcmp(derived, k.public_z85) != 0)
            return say(error, DD_ECONFIG, "%s: the public key does not belong to the secret key",
                       path);
        memcpy(k.public_z85, derived, sizeof(derived));
    }
    *out = k;
    return 0;
}

static int write_key_file(const char *path, mode_t mode, const char *text, char **error)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return say(error, -errno, "%s: %s", path,
                   errno == EEXIST ? "exists; a key is never overwritten" : strerror(errno));
    size_t len = strlen(text), done = 0;
    int rc = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        done += (size_t)n;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc) {
        unlink(path);
        return say(error, rc, "%s: %s", path, strerror(-rc));
    }
    return 0;
}

int dd_zauth_write_new_keys(const char *path, const char *public_path, char **error)
{
    char pub[DD_ZAUTH_Z85_LEN + 1], sec[DD_ZAUTH_Z85_LEN + 1];
    if (!zmq_has("curve") || zmq_curve_keypair(pub, sec) != 0)
        return say(error, -ENOTSUP, "this libzmq has no CURVE support");
    char text[256];
    snprintf(text, sizeof(text),
             "# A doudi CURVE key pair. Keep this file secret: whoever holds it is this party.\n"
             "public-key = %s\nsecret-key = %s\n", pub, sec);
    int rc = write_key_file(path, 0600, text, error);
    if (rc)
        return rc;
    snprintf(text, sizeof(text), "# A doudi CURVE public key; it may be shown to anyone.\n"
             "public-key = %s\n", pub);
    rc = write_key_file(public_path, 0644, text, error);
    if (rc)
        unlink(path);
    return rc;
}

int dd_zauth_keys_from_env(bool *curve, dd_zauth_keys *client, dd_zauth_keys *server,
                           char **error)
{
    *curve = false;
    const char *own = getenv("DOUDI_CURVE_KEY"), *theirs = getenv("DOUDI_CURVE_SERVER_KEY");
    bool has_own = own && own[0], has_theirs = theirs && theirs[0];
    if (!has_own && !has_theirs)
        return 0;
    if (has_own != has_theirs)
        return say(error, DD_ECONFIG, "CURVE needs both DOUDI_CURVE_KEY (this client's key "
                   "pair) and DOUDI_CURVE_SERVER_KEY (the daemon's public key); only %s is set",
                   has_own ? "DOUDI_CURVE_KEY" : "DOUDI_CURVE_SERVER_KEY");
    int rc = dd_zauth_read_keys(own, true, client, error);
    if (rc == 0)
        rc = dd_zauth_read_keys(theirs, false, server, error);
    if (rc == 0)
        *curve = true;
    return rc;
}

int dd_zauth_secure_client(void *socket, const dd_zauth_keys *client, const char *server_public_z85)
{
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, server_public_z85, DD_ZAUTH_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, client->public_z85, DD_ZAUTH_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, client->secret_z85, DD_ZAUTH_Z85_LEN) != 0)
        return -zmq_errno();
    return 0;
}

/* ---- the clients file --------------------------------------------------- */

struct dd_zauth_clients {
    dd_zauth_client *clients; /* sorted by public key */
    size_t n;
};

static int by_key(const void *a, const void *b)
{
    const dd_zauth_client *x = a, *y = b;
    return strcmp(x->public_z85, y->public_z85);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void client_free(dd_zauth_client *c)
{
    for (size_t i = 0; i < c->nsources; i++)
        free(c->sources[i]);
    free(c->sources);
}

/* Reads "a,b,c" or "*" into c. */
static int parse_sources(dd_zauth_client *c, char *text, const char *path, unsigned lineno,
                         char **error)
{
    if (strcmp(text, "*") == 0) {
        c->any_source = true;
        return 0;
    }
    if (strcmp(text, "-") == 0) {
        c->reader = true;
        return 0;
    }
    for (char *save = NULL, *s = strtok_r(text, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        if (!printable_word(s, NAME_MAX_LEN, ',') || strcmp(s, "*") == 0 || strcmp(s, "-") == 0)
            return say(error, DD_ECONFIG, "%s:%u: source '%s' is not 1-64 printable characters "
                       "(* alone grants any source, - alone none)", path, lineno, s);
        c->sources = dd_realloc(c->sources, (c->nsources + 1) * sizeof(char *));
        c->sources[c->nsources++] = dd_strdup(s);
    }
    if (c->nsources == 0)
        return say(error, DD_ECONFIG, "%s:%u: no source listed", path, lineno);
    if (c->nsources > 1)
        qsort(c->sources, c->nsources, sizeof(char *), by_string);
    return 0;
}

int dd_zauth_clients_read(const char *path, dd_zauth_clients **out, char **error)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return say(error, -errno, "%s: %s", path, strerror(errno));
    line_reader r = {.f = f, .path = path};
    dd_zauth_clients *cs = dd_calloc(1, sizeof(*cs));
    int rc = 0;
    char *line;
    while (rc == 0 && (line = next_line(&r)) != NULL) {
        char *name = next_word(&line), *key = next_word(&line), *sources = next_word(&line);
        char *extra = next_word(&line);
        if (!key || !sources || extra) {
            rc = say(error, DD_ECONFIG, "%s:%u: a client line is NAME PUBLIC-KEY GRANT "
                     "(three words; GRANT: sources a,b,c, - for a reader, * for an operator)",
                     path, r.lineno);
            break;
        }
        if (!printable_word(name, NAME_MAX_LEN, 0)) {
            rc = say(error, DD_ECONFIG, "%s:%u: name '%s' is not 1-64 printable characters",
                     path, r.lineno, name);
            break;
        }
        if (!is_z85_key(key)) {
            rc = say(error, DD_ECONFIG, "%s:%u: '%s' is not a public key (40 characters of Z85)",
                     path, r.lineno, key);
            break;
        }
        for (size_t i = 0; i < cs->n && rc == 0; i++) {
            if (strcmp(cs->clients[i].name, name) == 0)
                rc = say(error, DD_ECONFIG, "%s:%u: client '%s' is listed twice", path, r.lineno,
                         name);
            else if (strcmp(cs->clients[i].public_z85, key) == 0)
                rc = say(error, DD_ECONFIG, "%s:%u: the key of '%s' is already the key of '%s'",
                         path, r.lineno, name, cs->clients[i].name);
        }
        if (rc)
            break;
        cs->clients = dd_realloc(cs->clients, (cs->n + 1) * sizeof(*cs->clients));
        dd_zauth_client *c = &cs->clients[cs->n++];
        memset(c, 0, sizeof(*c));
        snprintf(c->name, sizeof(c->name), "%s", name);
        memcpy(c->public_z85, key, DD_ZAUTH_Z85_LEN + 1);
        rc = parse_sources(c, sources, path, r.lineno, error);
    }
    if (rc == 0 && ferror(f))
        rc = say(error, -EIO, "%s: read error", path);
    free(r.buf);
    fclose(f);
    if (rc) {
        dd_zauth_clients_free(&cs);
        return rc;
    }
    if (cs->n > 1)
        qsort(cs->clients, cs->n, sizeof(*cs->clients), by_key);
    *out = cs;
    return 0;
}

void dd_zauth_clients_free(dd_zauth_clients **clients)
{
    if (!clients || !*clients)
        return;
    for (size_t i = 0; i < (*clients)->n; i++)
        client_free(&(*clients)->clients[i]);
    free((*clients)->clients);
    free(*clients);
    *clients = NULL;
}

size_t dd_zauth_clients_count(const dd_zauth_clients *clients)
{
    return clients ? clients->n : 0;
}

const dd_zauth_client *dd_zauth_clients_find(const dd_zauth_clients *clients,
                                             const char *public_z85)
{
    if (!clients || clients->n == 0 || !public_z85 || strlen(public_z85) != DD_ZAUTH_Z85_LEN)
        return NULL;
    dd_zauth_client probe;
    memcpy(probe.public_z85, public_z85, DD_ZAUTH_Z85_LEN + 1);
    return bsearch(&probe, clients->clients, clients->n, sizeof(probe), by_key);
}

bool dd_zauth_client_may_publish_as(const dd_zauth_client *client, const char *source)
{
    if (client->any_source)
        return true;
    return client->nsources > 0 &&
           bsearch(&source, client->sources, client->nsources, sizeof(char *), by_string) != NULL;
}

bool dd_zauth_client_may(const dd_zauth_client *client, dd_zauth_role role)
{
    if (client->any_source)
        return true;
    switch (role) {
    case DD_ZAUTH_PUBLISH: return client->nsources > 0;
    case DD_ZAUTH_READ: return client->reader;
    case DD_ZAUTH_OPERATE: return false;
    }
    return false;
}

static const char *const role_names[] = {"publish", "read", "operate"};

const char *dd_zauth_role_name(dd_zauth_role role)
{
    return (unsigned)role < 3 ? role_names[role] : "unknown";
}

/* The role a ZAP domain names ("doudi.read"), or -1. */
static int role_of_domain(zmq_msg_t *domain)
{
    for (int r = 0; r < 3; r++) {
        char name[32];
        int n = snprintf(name, sizeof(name), "doudi.%s", role_names[r]);
        if (zmq_msg_size(domain) == (size_t)n && memcmp(zmq_msg_data(domain), name, (size_t)n) == 0)
            return r;
    }
    return -1;
}

int dd_zauth_check_config(const dd_config *config, const dd_conf_key *keys, size_t n,
                          char **error)
{
    const char *key_file = "", *clients_file = "", *upstream_key_file = "";
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].section, "auth") != 0 || keys[i].type != DD_CONF_STRING)
            continue;
        if (strcmp(keys[i].name, "key_file") == 0)
            key_file = dd_config_string(config, i);
        else if (strcmp(keys[i].name, "clients_file") == 0)
            clients_file = dd_config_string(config, i);
        else if (strcmp(keys[i].name, "upstream_key_file") == 0)
            upstream_key_file = dd_config_string(config, i);
    }
    if (key_file[0] && !clients_file[0])
        return say(error, DD_ECONFIG, "[auth] key_file is set but clients_file is not");
    if (upstream_key_file[0] && !key_file[0])
        return say(error, DD_ECONFIG, "[auth] upstream_key_file is set but key_file is not");
    dd_zauth_keys k;
    int rc = 0;
    if (key_file[0] && (rc = dd_zauth_read_keys(key_file, true, &k, error)) != 0)
        return rc;
    if (upstream_key_file[0] && (rc = dd_zauth_read_keys(upstream_key_file, false, &k, error)) != 0)
        return rc;
    if (key_file[0]) {
        dd_zauth_clients *cs = NULL;
        if ((rc = dd_zauth_clients_read(clients_file, &cs, error)) != 0)
            return rc;
        dd_zauth_clients_free(&cs);
    }
    return 0;
}

/* ---- the handler -------------------------------------------------------- */

typedef struct monitor {
    void *pair;
    dd_evzmq w;
    struct dd_zauth *auth;
} monitor;

struct dd_zauth {
    struct ev_loop *loop;
    void *zctx;
    char *clients_path;
    dd_zauth_keys server;
    dd_zauth_clients *clients;
    void *zap;
    dd_evzmq zap_w;
    bool zap_watched;
    monitor monitors[MAX_MONITORS];
    size_t nmonitors;
    dd_metric *m_handshakes, *m_clients, *m_reloads, *m_refused;
    dd_series *accepted, *unknown_key, *not_allowed, *protocol_error, *failed, *clients_gauge;
    dd_series *refused[3]; /* messages refused, by role */
};

static const dd_metric_def zauth_metric_defs[] = {
    {"doudi_curve_handshakes_total", DD_METRIC_COUNTER,
     "CURVE handshakes on the secured endpoints, by result (accepted; unknown_key: not in "
     "the clients file; not_allowed: its grant does not cover the endpoint; protocol_error: "
     "another mechanism; failed: broken off).", "result", NULL, 0},
    {"doudi_curve_clients", DD_METRIC_GAUGE, "Public keys in the current clients file.", NULL,
     NULL, 0},
    {"doudi_curve_reloads_total", DD_METRIC_COUNTER,
     "Readings of the clients file on SIGHUP, by result (ok, failed).", "result", NULL, 0},
    {"doudi_curve_messages_refused_total", DD_METRIC_COUNTER,
     "Messages refused because a reload removed or demoted their sender's key, by the "
     "endpoint's role.", "role", NULL, 0},
};
enum { ZAUTH_METRIC_COUNT = sizeof(zauth_metric_defs) / sizeof(zauth_metric_defs[0]) };

/* Receives one whole ZAP request; frames beyond ZAP_MAX_FRAMES are dropped. */
static int zap_recv(void *sock, zmq_msg_t *frames, size_t *n)
{
    *n = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, *n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int err = zmq_errno();
            zmq_msg_close(&m);
            return err == EAGAIN ? DD_AGAIN : -err;
        }
        bool more = zmq_msg_more(&m);
        if (*n < ZAP_MAX_FRAMES)
            frames[(*n)++] = m;
        else
            zmq_msg_close(&m);
        if (!more)
            return 0;
    }
}

static bool frame_is(zmq_msg_t *m, const char *text)
{
    size_t len = strlen(text);
    return zmq_msg_size(m) == len && memcmp(zmq_msg_data(m), text, len) == 0;
}

static void zap_reply(void *sock, zmq_msg_t *request_id, const char *status, const char *text,
                      const char *user_id)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

/*
 * A request (RFC 27): version, request id, domain, address, routing id,
 * mechanism, credentials. Only CURVE reaches here (the secured sockets
 * speak nothing else); its credential is the client's 32-byte key.
 */
static void zap_answer(dd_zauth *a, zmq_msg_t *f, size_t n)
{
    if (n < 6 || !frame_is(&f[0], "1.0")) {
        dd_series_inc(a->failed, 1);
        dd_warn("ZAP: a malformed request (%zu frames) refused", n);
        /* A REP socket must answer before it can receive again. */
        zmq_msg_t no_id;
        zmq_msg_init(&no_id);
        zap_reply(a->zap, n >= 2 ? &f[1] : &no_id, "500", "malformed ZAP request", "");
        zmq_msg_close(&no_id);
        return;
    }
    if (!frame_is(&f[5], "CURVE") || n != 7 || zmq_msg_size(&f[6]) != 32) {
        dd_series_inc(a->protocol_error, 1);
        zap_reply(a->zap, &f[1], "400", "only CURVE clients are let in", "");
        return;
    }
    char key[DD_ZAUTH_Z85_LEN + 1];
    zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
    char address[64];
    size_t address_len = zmq_msg_size(&f[3]) < 63 ? zmq_msg_size(&f[3]) : 63;
    snprintf(address, sizeof(address), "%.*s", (int)address_len, (const char *)zmq_msg_data(&f[3]));
    const dd_zauth_client *c = dd_zauth_clients_find(a->clients, key);
    if (!c) {
        dd_series_inc(a->unknown_key, 1);
        dd_warn("CURVE: a client from %s with key %s is not in %s: refused", address, key,
                a->clients_path);
        zap_reply(a->zap, &f[1], "400", "unknown key", "");
        return;
    }
    int role = role_of_domain(&f[2]);
    if (role < 0 || !dd_zauth_client_may(c, (dd_zauth_role)role)) {
        dd_series_inc(a->not_allowed, 1);
        dd_warn("CURVE: client '%s' from %s is not granted the %s endpoints: refused", c->name,
                address, role < 0 ? "unknown" : role_names[role]);
        zap_reply(a->zap, &f[1], "400", "not allowed at this endpoint", "");
        return;
    }
    dd_series_inc(a->accepted, 1);
    dd_debug("CURVE: client '%s' connected from %s (%s)", c->name, address, role_names[role]);
    zap_reply(a->zap, &f[1], "200", "OK", c->public_z85);
}

static void zap_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    dd_zauth *a = w->data;
    for (int i = 0; i < 256; i++) {
        zmq_msg_t frames[ZAP_MAX_FRAMES];
        size_t n;
        int rc = zap_recv(a->zap, frames, &n);
        if (rc == DD_AGAIN)
            break;
        if (rc) {
            dd_warn("ZAP handler: %s", zmq_strerror(-rc));
            break;
        }
        zap_answer(a, frames, n);
        for (size_t k = 0; k < n; k++)
            zmq_msg_close(&frames[k]);
    }
}

/* A handshake event of a secured socket. */
static void monitor_cb(struct ev_loop *loop, dd_evzmq *w, int revents)
{
    (void)loop;
    (void)revents;
    monitor *m = w->data;
    uint16_t event;
    uint32_t value;
    for (int i = 0; i < 256 && dd_zsock_monitor_event(m->pair, &event, &value) == 0; i++) {
        /* An authentication failure was counted by the handler that
         * decided it; what reaches here are the clients that never got
         * that far. */
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            dd_series_inc(m->auth->protocol_error, 1);
        else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
            dd_series_inc(m->auth->failed, 1);
    }
}

int dd_zauth_new(struct ev_loop *loop, void *zctx, const char *key_file, const char *clients_file,
                 dd_metrics *metrics, dd_zauth **out)
{
    if (!zmq_has("curve")) {
        dd_error("[auth] key_file is set, but this libzmq has no CURVE support");
        return DD_ECONFIG;
    }
    if (!clients_file || !clients_file[0]) {
        dd_error("[auth] key_file is set but clients_file is not: with no client allowed, "
                 "nobody could connect");
        return DD_ECONFIG;
    }
    dd_zauth *a = dd_calloc(1, sizeof(*a));
    a->loop = loop;
    a->zctx = zctx;
    a->clients_path = dd_strdup(clients_file);
    char *error = NULL;
    int rc = dd_zauth_read_keys(key_file, true, &a->server, &error);
    if (rc == 0)
        rc = dd_zauth_clients_read(clients_file, &a->clients, &error);
    if (rc) {
        dd_error("%s", error ? error : dd_strerror(rc));
        free(error);
        dd_zauth_destroy(&a);
        return rc;
    }
    dd_metric *m[ZAUTH_METRIC_COUNT];
    if ((rc = dd_metrics_register(metrics, zauth_metric_defs, ZAUTH_METRIC_COUNT, m)) != 0) {
        dd_zauth_destroy(&a);
        return rc;
    }
    a->m_handshakes = m[0];
    a->m_clients = m[1];
    a->m_reloads = m[2];
    a->accepted = dd_metric_series(m[0], "accepted");
    a->unknown_key = dd_metric_series(m[0], "unknown_key");
    a->not_allowed = dd_metric_series(m[0], "not_allowed");
    a->protocol_error = dd_metric_series(m[0], "protocol_error");
    a->failed = dd_metric_series(m[0], "failed");
    a->clients_gauge = dd_metric_series(m[1], NULL);
    dd_series_set(a->clients_gauge, (double)dd_zauth_clients_count(a->clients));
    dd_metric_series(m[2], "ok");
    dd_metric_series(m[2], "failed");
    a->m_refused = m[3];
    for (int r = 0; r < 3; r++)
        a->refused[r] = dd_metric_series(m[3], role_names[r]);

    a->zap = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    if (!a->zap || zmq_setsockopt(a->zap, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(a->zap, ZAP_ENDPOINT) != 0) {
        rc = -zmq_errno();
        dd_error("cannot bind the ZAP handler %s: %s", ZAP_ENDPOINT, zmq_strerror(-rc));
        dd_zauth_destroy(&a);
        return rc;
    }
    dd_evzmq_init(&a->zap_w, a->zap, EV_READ, zap_cb, a);
    dd_evzmq_start(loop, &a->zap_w);
    a->zap_watched = true;
    dd_info("CURVE: server key %s; clients: %zu in %s", a->server.public_z85,
            dd_zauth_clients_count(a->clients), clients_file);
    *out = a;
    return 0;
}

int dd_zauth_secure_server(dd_zauth *a, void *socket, dd_zauth_role role)
{
    int on = 1;
    char domain[32];
    snprintf(domain, sizeof(domain), "doudi.%s", dd_zauth_role_name(role));
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &on, sizeof(on)) != 0 ||
        zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, a->server.secret_z85, DD_ZAUTH_Z85_LEN) != 0 ||
        zmq_setsockopt(socket, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0)
        return -zmq_errno();
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
    if (zmq_setsockopt(socket, ZMQ_ZAP_ENFORCE_DOMAIN, &on, sizeof(on)) != 0)
        return -zmq_errno();
#endif
    if (a->nmonitors == MAX_MONITORS)
        return 0; /* secured all the same; only its protocol errors go uncounted */
    monitor *m = &a->monitors[a->nmonitors];
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "inproc://doudi-zauth-monitor-%p-%zu", (void *)a,
             a->nmonitors);
    m->pair = dd_zsock_monitor(a->zctx, socket,
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                               endpoint);
    if (!m->pair)
        return -zmq_errno();
    m->auth = a;
    dd_evzmq_init(&m->w, m->pair, EV_READ, monitor_cb, m);
    dd_evzmq_start(a->loop, &m->w);
    a->nmonitors++;
    return 0;
}

int dd_zauth_reload(dd_zauth *a, const char *clients_file)
{
    if (clients_file && !clients_file[0]) {
        dd_error("[auth] clients_file is empty while key_file is set; the %zu clients read "
                 "before are kept", dd_zauth_clients_count(a->clients));
        dd_series_inc(dd_metric_series(a->m_reloads, "failed"), 1);
        return DD_ECONFIG;
    }
    const char *path = clients_file ? clients_file : a->clients_path;
    dd_zauth_clients *fresh = NULL;
    char *error = NULL;
    int rc = dd_zauth_clients_read(path, &fresh, &error);
    if (rc) {
        dd_error("clients file not read again: %s; the %zu clients read before are kept",
                 error ? error : dd_strerror(rc), dd_zauth_clients_count(a->clients));
        free(error);
        dd_series_inc(dd_metric_series(a->m_reloads, "failed"), 1);
        return rc;
    }
    dd_zauth_clients_free(&a->clients);
    a->clients = fresh;
    if (path != a->clients_path) {
        free(a->clients_path);
        a->clients_path = dd_strdup(path);
    }
    dd_series_set(a->clients_gauge, (double)dd_zauth_clients_count(fresh));
    dd_series_inc(dd_metric_series(a->m_reloads, "ok"), 1);
    dd_info("CURVE: clients: %zu in %s", dd_zauth_clients_count(fresh), path);
    return 0;
}

const dd_zauth_client *dd_zauth_sender(const dd_zauth *a, void *msg)
{
    const char *key = zmq_msg_gets((zmq_msg_t *)msg, "User-Id");
    return key ? dd_zauth_clients_find(a->clients, key) : NULL;
}

const dd_zauth_client *dd_zauth_admit(dd_zauth *a, void *msg, dd_zauth_role role)
{
    const dd_zauth_client *c = dd_zauth_sender(a, msg);
    if (c && dd_zauth_client_may(c, role))
        return c;
    if ((unsigned)role < 3)
        dd_series_inc(a->refused[role], 1);
    return NULL;
}

void dd_zauth_destroy(dd_zauth **ap)
{
    if (!ap || !*ap)
        return;
    dd_zauth *a = *ap;
    for (size_t i = 0; i < a->nmonitors; i++) {
        dd_evzmq_stop(a->loop, &a->monitors[i].w);
        zmq_close(a->monitors[i].pair);
    }
    if (a->zap) {
        if (a->zap_watched)
            dd_evzmq_stop(a->loop, &a->zap_w);
        zmq_close(a->zap);
    }
    dd_zauth_clients_free(&a->clients);
    free(a->clients_path);
    free(a);
    *ap = NULL;
}
