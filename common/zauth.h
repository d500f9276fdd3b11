/*
 * zauth.h: CURVE encryption and client authentication for a daemon's server
 * sockets, and the key files both ends read.
 *
 * CURVE alone encrypts but lets any key in; it authenticates only when a ZAP
 * handler answers for the socket's domain, and libzmq lets a connection
 * through when no handler is bound (known pitfall 6 in the README). The option that would
 * refuse it instead, ZMQ_ZAP_ENFORCE_DOMAIN, is draft API that Debian's
 * libzmq 4.3.4 is built without (it is set where the headers have it). So
 * dd_zauth binds the context's handler itself (inproc://zeromq.zap.01, a
 * REP socket watched by the daemon's own loop) before any secured socket
 * binds, a daemon that cannot bind it does not start, and the handler lives
 * until after the secured sockets are closed: no connection is ever
 * handshaken without it. Every secured socket gets a ZAP domain.
 *
 * The handler lets in the public keys of the clients file and answers with
 * the key itself (Z85) as the connection's User-Id: each message's
 * "User-Id" property (zmq_msg_gets; on a frame the peer sent, not on the
 * routing id a ROUTER prepends) names the key that sent it, and the
 * daemon looks the key up again in the current list (dd_zauth_client), so
 * a key removed by a reload is refused from its next message on, even on a
 * connection that was let in before.
 *
 * Files (both plain text; blank lines and lines whose first non-blank
 * character is '#' are ignored):
 *
 *   key file (doudictl keygen): a key pair or a public key alone
 *       public-key = <40 characters of Z85>
 *       secret-key = <40 characters of Z85>
 *     A server reads its pair; a client reads its own pair and the
 *     server's public key file. With both lines the public key must belong
 *     to the secret one.
 *
 *   clients file: one line per client
 *       <name> <public key, Z85> <grant>
 *     name: 1-64 printable ASCII characters without blanks; grant, what
 *     the client is (dd_zauth_role):
 *       a,b,c  a publisher: the event sources it may publish as,
 *              comma-separated (each 1-64 printable ASCII characters)
 *       -      a reader: fetches logs and asks queries (the next daemon of
 *              the chain, an office's doudictl), publishes nothing
 *       *      an operator: anything, any source, and the admin endpoint
 *     A name or a key listed twice is an error.
 *
 * Errors name the file and line: "clients.txt:3: 'x' is not a public key
 * (40 characters of Z85)".
 *
 * Metrics, in the daemon's registry:
 *   doudi_curve_handshakes_total{result}  accepted, unknown_key (the ZAP
 *       handler refused the key), not_allowed (a listed key at an endpoint
 *       its grant does not cover), protocol_error (the client spoke another
 *       mechanism), failed (the handshake broke off: a plain client that
 *       noticed the server wants CURVE and hung up first shows as this)
 *   doudi_curve_messages_refused_total{role}  messages of a connection whose
 *       key a reload removed or demoted (dd_zauth_admit)
 *   doudi_curve_clients                   keys in the current clients list
 *   doudi_curve_reloads_total{result}     ok, failed
 */
#ifndef DD_ZAUTH_H
#define DD_ZAUTH_H

#include "metrics.h"

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key in Z85: 40 characters and the terminating NUL. */
#define DD_ZAUTH_Z85_LEN 40
typedef struct dd_zauth_keys {
    char public_z85[DD_ZAUTH_Z85_LEN + 1];
    char secret_z85[DD_ZAUTH_Z85_LEN + 1]; /* "" when the file has no secret key */
} dd_zauth_keys;

/*
 * Reads a key file. need_secret: the file must hold a secret key (the
 * public key is derived when its line is missing). Returns 0, or DD_ECONFIG
 * (or -errno when the file cannot be read) with *error set to a malloc'ed
 * message naming the file and line.
 */
int dd_zauth_read_keys(const char *path, bool need_secret, dd_zauth_keys *out, char **error);

/*
 * Writes a new key pair to path (mode 0600, refused when the file exists)
 * and its public key alone to public_path (mode 0644). Returns 0 or -errno
 * (-EEXIST, or -ENOTSUP when this libzmq was built without CURVE) with
 * *error set.
 */
int dd_zauth_write_new_keys(const char *path, const char *public_path, char **error);

/*
 * The keys a client's environment names: DOUDI_CURVE_KEY (its key pair)
 * and DOUDI_CURVE_SERVER_KEY (the daemon's public key), as doudictl and
 * provpub read them. Returns 0 with *curve false when neither is set, 0
 * with the keys read, or DD_ECONFIG / -errno with *error set (one variable
 * without the other, a file that does not read).
 */
int dd_zauth_keys_from_env(bool *curve, dd_zauth_keys *client, dd_zauth_keys *server,
                           char **error);

/* Sets the client side of CURVE on a socket before it connects: the
 * client's pair and the server's public key. Returns 0 or -errno. */
int dd_zauth_secure_client(void *socket, const dd_zauth_keys *client,
                           const char *server_public_z85);

/* What an endpoint serves, and so which clients it lets in. */
typedef enum dd_zauth_role {
    DD_ZAUTH_PUBLISH, /* publishers and operators (intake's publish endpoint) */
    DD_ZAUTH_READ,    /* readers and operators (logs, queries, live alerts) */
    DD_ZAUTH_OPERATE, /* operators only (intake's admin endpoint) */
} dd_zauth_role;

/* One client of the clients file. */
typedef struct dd_zauth_client {
    char name[65];
    char public_z85[DD_ZAUTH_Z85_LEN + 1];
    bool any_source; /* "*": an operator */
    bool reader;     /* "-" */
    char **sources;  /* a publisher's, sorted; nsources entries */
    size_t nsources;
} dd_zauth_client;

/* The clients of one file, as read. */
typedef struct dd_zauth_clients dd_zauth_clients;

/* Reads a clients file. Returns 0 or DD_ECONFIG / -errno with *error set. */
int dd_zauth_clients_read(const char *path, dd_zauth_clients **out, char **error);
void dd_zauth_clients_free(dd_zauth_clients **clients);
size_t dd_zauth_clients_count(const dd_zauth_clients *clients);
/* The client with this public key (Z85), or NULL. */
const dd_zauth_client *dd_zauth_clients_find(const dd_zauth_clients *clients,
                                             const char *public_z85);
/* Whether the client may publish events whose source is source. */
bool dd_zauth_client_may_publish_as(const dd_zauth_client *client, const char *source);
/* Whether the client may use an endpoint of this role. */
bool dd_zauth_client_may(const dd_zauth_client *client, dd_zauth_role role);
/* "publish", "read", "operate". */
const char *dd_zauth_role_name(dd_zauth_role role);

/*
 * For `-t`: reads the files the [auth] section of config names (key_file
 * as a key pair, upstream_key_file as a public key, clients_file), as
 * start-up would, and checks that clients_file is set with key_file and
 * key_file with upstream_key_file. keys[0..n-1] is the daemon's table.
 * Returns 0, or DD_ECONFIG / -errno with *error set (malloc'ed).
 */
struct dd_config;
struct dd_conf_key;
int dd_zauth_check_config(const struct dd_config *config, const struct dd_conf_key *keys,
                          size_t n, char **error);

typedef struct dd_zauth dd_zauth;

/*
 * Starts authentication for the ZeroMQ context zctx: reads the server's key
 * pair and the clients file, binds the ZAP handler and watches it on loop,
 * and registers the metrics above in metrics. Call before any socket of
 * zctx binds. Returns 0, or DD_ECONFIG / -errno with the reason logged.
 */
int dd_zauth_new(struct ev_loop *loop, void *zctx, const char *key_file, const char *clients_file,
                 dd_metrics *metrics, dd_zauth **out);

/*
 * Makes socket a CURVE server authenticated by this handler for an endpoint
 * of this role (its ZAP domain names the role, so the handler lets in only
 * the clients the role allows), and watches its handshakes for the
 * metrics. Call before binding. Returns 0 or -errno.
 */
int dd_zauth_secure_server(dd_zauth *auth, void *socket, dd_zauth_role role);

/*
 * Reads the clients file again (clients_file; NULL: the same path; "" is
 * refused, as with key_file set nobody could connect). The new list takes
 * effect at once, for new connections and for the next message of every
 * open one; a file that does not read is refused with its reason logged and
 * the old list kept. Returns 0 or the error.
 */
int dd_zauth_reload(dd_zauth *auth, const char *clients_file);

/*
 * The client that sent a message received on a secured socket, by the
 * message's User-Id, in the current list; NULL when its key is no longer
 * listed (or the message did not come through CURVE).
 */
const dd_zauth_client *dd_zauth_sender(const dd_zauth *auth, void *zmq_msg);

/*
 * The sender of a message when the current list still allows it this role;
 * otherwise NULL, counted in doudi_curve_messages_refused_total{role}. For
 * endpoints that answer a refused message with silence (logs, queries).
 */
const dd_zauth_client *dd_zauth_admit(dd_zauth *auth, void *zmq_msg, dd_zauth_role role);

/* Stops the handler and closes its sockets; call before zmq_ctx_term.
 * Accepts NULL; nulls *auth. */
void dd_zauth_destroy(dd_zauth **auth);

#endif
