/*
 * alerts_stream.h: the alert stream: alerts' own log (common/log.h, record kind
 * 300, an encoded AlertUpdate) with an index by region prefix, so a
 * subscriber can replay its area after a sequence, and the hand-over of
 * committed records to the live publisher.
 *
 *   alerts_stream_append (in the batch's write txn)
 *       -> dd_log_append: the next sequence
 *       -> previous_in_area: the last sequence of each of the five areas
 *          (province, city, county, township, village) before this one
 *       -> the replay index: the sequence joins each area's open block,
 *          in memory; a block it does not fit in is closed (written) first
 *       -> pending publication
 *   alerts_stream_flush (before the commit): a checkpoint when one is due
 *   commit: pending entries go to the publisher, in sequence order
 *   abort:  pending entries and the in-memory blocks are dropped (rebuilt
 *           from the last checkpoint and the stream before next used)
 *
 * The replay index holds, per area, blocks of its sequences: a first
 * sequence and the following ones as varint deltas, at most
 * ALERTS_BLOCK_BYTES of them. A block is full when its deltas are, so the
 * blocks depend on the sequences only, never on how the upstream log was
 * cut into batches.
 *
 *   replay_open    digits(1) . prefix -> BE first(8) . deltas: each area's
 *                  open block as of the last checkpoint, all together
 *                  (about 30 bytes of key and value per area plus the
 *                  deltas); key 0x00 -> BE sequence(8): the checkpoint,
 *                  the stream's head when the blocks were written
 *   replay_closed  BE closing(8) . digits(1) -> BE first(8) . prefix .
 *                  deltas: full blocks, keyed by the sequence that did not
 *                  fit, which rises, so closing a block is an append (a
 *                  sequence belongs to one area of each level, so the key
 *                  is unique). A block's first sequence is the closing
 *                  sequence of the area's block before it: an area's
 *                  blocks are walked back from its open block once, when a
 *                  replay first needs them, and listed in memory after that.
 *
 * Open blocks are checkpointed, not written at every commit: a batch of a
 * province-month touched most of the 28,000 areas, and rewriting their open
 * blocks was about a sixth of doudi-alerts' CPU (the puts 9.6 % of its
 * samples, and a quarter of the pages each commit wrote). A checkpoint
 * writes every open block changed since the one before, once
 * ALERTS_CHECKPOINT_RECORDS records have been appended since it, before
 * each trim of the log (so the records a rebuild reads are never trimmed),
 * and when the daemon stops. Opening the stream, and the first use after an
 * aborted write, rebuilds the open blocks from the checkpoint and the
 * stream's records after it: each record names its alert's region, and a
 * block is filled by the sequences alone, so the rebuild gives back what
 * the appends had built (the full blocks it passes are already stored). A
 * store without the checkpoint key was written by an earlier version, which
 * wrote every open block at every commit: its blocks are complete.
 *
 * Keyed by area, the full blocks went in at some 27,000 places of the tree
 * (one area's blocks after the other's) and a batch of a province-month
 * rewrote about 3,200 pages of the index; keyed by their closing, they are
 * appended, and a batch writes the open blocks' pages and the new full
 * blocks. The open block of an area gives previous_in_area; trimming
 * deletes full blocks only, oldest first.
 *
 * Whoever trims the stream's log checkpoints first (the daemon's
 * before_trim hook, common/stage.h): a rebuild reads the records after the
 * checkpoint, and a trim past it would leave the open blocks of those
 * records' areas short.
 *
 * A stream record is published live only after its commit, so nobody ever
 * sees a record that a crash could take back.
 */
#ifndef ALERTS_STREAM_H
#define ALERTS_STREAM_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "store.h"
#include "alerts_wire.h"

#include "doudi/alerts.pb-c.h"

/*
 * The most bytes of deltas a block of the replay index is filled with.
 * Every batch rewrites the open block of each area it touched, and in a
 * province-month that is nearly every page of replay_open, so its entries
 * are kept short: with 128 bytes its 28,000 areas took 1,269 leaf pages.
 * Blocks written with 128 bytes are still read; an open one is closed at
 * its next sequence.
 */
#define ALERTS_BLOCK_BYTES 32
#define ALERTS_BLOCK_BYTES_READ 128

typedef struct alerts_stream alerts_stream;

/*
 * Called after a commit for each new record, in order: topic is the
 * alert's village code (NUL-terminated), entry an encoded StreamEntry.
 */
typedef void (*alerts_publish_fn)(void *arg, const char *topic, const uint8_t *entry,
                                  size_t len);

/* Opens the replay index in store, rebuilds its open blocks (see above),
 * and registers as a participant (after the log, so the log's head is
 * current when the publisher runs). */
int alerts_stream_open(dd_store *store, dd_log *log, alerts_stream **out);
void alerts_stream_close(alerts_stream **stream);
/*
 * Whether anyone would receive what the publisher is handed; asked once
 * after each commit, before the batch's entries. With nobody listening the
 * entries are not handed over (XPUB would drop each one after copying it).
 */
typedef bool (*alerts_listening_fn)(void *arg);
/* listening may be NULL: always publish. */
void alerts_stream_set_publisher(alerts_stream *s, alerts_publish_fn fn,
                                 alerts_listening_fn listening, void *arg);

/*
 * Appends u (its previous_in_area is filled in here; u->alert->region_code
 * must be 12 digits) in txn. *seq (may be NULL) gets its sequence. Returns
 * 0 or an LMDB code (MDB_MAP_FULL included).
 */
int alerts_stream_append(alerts_stream *s, MDB_txn *txn, Doudi__AlertUpdate *u, uint64_t *seq);

/* Records appended between two checkpoints, by default. */
#define ALERTS_CHECKPOINT_RECORDS (1u << 20)
/* Sets that number (0: the default); tests checkpoint often. */
void alerts_stream_set_checkpoint_every(alerts_stream *s, uint64_t records);

/*
 * Writes a checkpoint in txn when one is due (ALERTS_CHECKPOINT_RECORDS
 * appended since the last, or none stored yet); call it once before the
 * commit of every write transaction that appended. Returns 0 or an LMDB
 * code.
 */
int alerts_stream_flush(alerts_stream *s, MDB_txn *txn);

/*
 * Writes a checkpoint in txn now: every open block changed since the last
 * one, and the stream's head as the checkpoint. Returns 0 or an LMDB code.
 */
int alerts_stream_checkpoint(alerts_stream *s, MDB_txn *txn);

/* The checkpoint as last committed (0: none yet). */
uint64_t alerts_stream_checkpointed(const alerts_stream *s);

typedef struct alerts_replay_result {
    uint64_t scanned_through;
    uint64_t head;
    uint64_t first;
    bool trimmed;
    size_t entries;
} alerts_replay_result;

/*
 * Appends to out, as repeated field 1 of a ReplayReply, the entries of the
 * prefix ("" or 2/4/6/9/12 digits, already validated) after `after`, at
 * most max_entries and about max_bytes, and fills r. Reads in its own read
 * transaction, with the open blocks in memory: call it between write
 * transactions (the daemon's one thread does). Returns 0 or an LMDB code.
 */
int alerts_stream_replay(alerts_stream *s, const char *prefix, uint64_t after,
                         uint32_t max_entries, size_t max_bytes, alerts_buf *out,
                         alerts_replay_result *r);

/*
 * Deletes up to `limit` full blocks whose every sequence is below the
 * log's first (after a trim; open blocks stay), oldest first, in its own
 * write transaction; the in-memory lists of full blocks forget them.
 * *deleted may be NULL.
 */
int alerts_stream_trim_index(alerts_stream *s, size_t limit, size_t *deleted);

#endif
