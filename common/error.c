/* error.c: text for doudi's return codes (see error.h). */
#include "error.h"

#include <lmdb.h>
#include <string.h>

const char *dd_strerror(int rc)
{
    switch (rc) {
    case DD_OK: return "success";
    case DD_AGAIN: return "would block; try again later";
    case DD_NOTFOUND: return "not found";
    case DD_EPROTO: return "malformed input";
    case DD_ECONFIG: return "invalid configuration";
    case DD_ECORRUPT: return "stored data is corrupt or from another version";
    case DD_ETRIMMED: return "records already trimmed from the log";
    case DD_ETOOBIG: return "value too large";
    case DD_ESTOPPING: return "stopping";
    default: break;
    }
    if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE)
        return mdb_strerror(rc);
    if (rc < 0 && rc > -4096)
        return strerror(-rc);
    return "unknown error";
}
