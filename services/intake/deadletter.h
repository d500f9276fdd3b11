/*
 * deadletter.h: the events intake refused, kept with their reason and raw
 * bytes so an operator can list them and, after a fix, replay them.
 *
 * Database "deadletter" (MDB_INTEGERKEY): key = dead-letter id (increasing,
 * so every add is an append), value = an encoded doudi.DeadLetter. A bad
 * event never blocks the stream: it is answered, stored here and counted.
 *
 *   (refused) --add--> HELD --replay, accepted or duplicate--> removed
 *                        |
 *                        +--replay, refused again--> HELD (attempts + 1)
 */
#ifndef INTAKE_DEADLETTER_H
#define INTAKE_DEADLETTER_H

#include <lmdb.h>
#include <stdint.h>

#include "alloc.h"
#include "store.h"
#include "doudi/admin.pb-c.h"

typedef struct intake_deadletter intake_deadletter;

int intake_deadletter_open(dd_store *store, intake_deadletter **out);
void intake_deadletter_close(intake_deadletter **dl);

/* Stores a refused event in txn; *id (may be NULL) gets its id. */
int intake_deadletter_add(intake_deadletter *dl, MDB_txn *txn, int64_t now_ms,
                          Doudi__RejectReason reason, const char *reason_text,
                          const char *source, const char *event_id, const uint8_t *raw,
                          size_t raw_len, uint64_t *id);

/*
 * Reads dead letter id in txn, decoded into arena memory. Returns 0,
 * DD_NOTFOUND or an error.
 */
int intake_deadletter_get(intake_deadletter *dl, MDB_txn *txn, uint64_t id, dd_arena *arena,
                          Doudi__DeadLetter **out);
/* Removes id in txn (replayed successfully). */
int intake_deadletter_remove(intake_deadletter *dl, MDB_txn *txn, uint64_t id);
/* Rewrites a held dead letter (replay refused it again). */
int intake_deadletter_put(intake_deadletter *dl, MDB_txn *txn, const Doudi__DeadLetter *d);

/*
 * Lists up to limit dead letters after after_id (reason 0: any) into
 * arena-allocated reply fields. Runs its own read transaction.
 */
int intake_deadletter_list(intake_deadletter *dl, uint64_t after_id, uint32_t limit,
                           Doudi__RejectReason reason, dd_arena *arena,
                           Doudi__DeadLetterListReply *reply);

/* Dead letters held (committed). */
uint64_t intake_deadletter_count(const intake_deadletter *dl);

#endif
