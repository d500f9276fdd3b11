/*
 * error.h: the one return convention of doudi.
 *
 * Every function that can fail returns an int: 0 for success, -errno for a
 * system error, an LMDB code (its reserved range -30800..-30700) passed
 * through unchanged, or one of the project codes below (range -31000..-30901).
 * dd_strerror() turns any of them into text. Callers compare against 0 or a
 * named code, never against "-1".
 */
#ifndef DD_ERROR_H
#define DD_ERROR_H

enum dd_error {
    DD_OK = 0,
    /* Nothing to do now: try again when the socket or the log has more. */
    DD_AGAIN = -30901,
    /* The thing asked for does not exist (a key, a dead letter, a file). */
    DD_NOTFOUND = -30902,
    /* Input from the network or a file is malformed. */
    DD_EPROTO = -30903,
    /* A configuration value is invalid; the message was already logged. */
    DD_ECONFIG = -30904,
    /* Stored data does not have the shape this build writes. */
    DD_ECORRUPT = -30905,
    /* A fetch asked for records the producer already trimmed. */
    DD_ETRIMMED = -30906,
    /* A value is larger than the limit the caller set. */
    DD_ETOOBIG = -30907,
    /* The operation was refused because the daemon is stopping. */
    DD_ESTOPPING = -30908,
};

/* Text for any return code of the convention above; never NULL, static. */
const char *dd_strerror(int rc);

#endif
