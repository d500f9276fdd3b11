"""Reading the CURVE key files `doudictl keygen` writes, for Python clients.

A key file holds `public-key = KEY` and, for a key pair, `secret-key = KEY`
(40 characters of Z85 each; blank lines and lines starting with '#' are
ignored): common/zauth.h has the format. The tests and provbench use this to
give their ZeroMQ sockets the keys a portal or an operator would have.
"""


def read_key_file(path):
    """{"public-key": bytes, "secret-key": bytes} (the latter only for a pair)."""
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, value = (w.strip() for w in line.split(" = ", 1))
                keys[name] = value.encode()
    return keys


def curve_client_opts(client_key_file, server_public_file):
    """Socket options (pyzmq names) of a CURVE client with these files."""
    own = read_key_file(client_key_file)
    return dict(CURVE_SERVERKEY=read_key_file(server_public_file)["public-key"],
                CURVE_PUBLICKEY=own["public-key"], CURVE_SECRETKEY=own["secret-key"])
