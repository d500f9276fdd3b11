/*
 * prov_file.h: the benchmark's event files, written by provgen and read by
 * provpub and provbase.
 *
 * One file per portal and phase ("preload-2.evt", "month-2.evt"). A file is
 * a sequence of blocks, one per township the portal serves, each holding
 * that township's events in publish order (ascending occurred_at, ties in
 * generation order):
 *
 *   block  := "PRVB" u32 count u64 payload_bytes record{count}
 *   record := i64 occurred_at_ms u32 length byte{length}   (an encoded Envelope)
 *
 * integers little-endian. A reader merges the blocks of a file by
 * occurred_at (ties: the earlier block first), so every township's events
 * keep their order while the portal's stream as a whole moves forward in
 * time, as a portal feeding a whole region would.
 *
 * provgen then rewrites each file as one block in that merged order
 * (prov_file_merge): the publisher shares the machine with the daemons it
 * measures, and reading one block front to back costs it far less than
 * merging some 400 blocks spread over a gigabyte, event by event.
 */
#ifndef PROV_FILE_H
#define PROV_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- writing ------------------------------------------------------------ */

/* One township's events, collected in any order, written sorted. */
typedef struct prov_block prov_block;

prov_block *prov_block_new(void);
void prov_block_destroy(prov_block **block);
/* Copies len bytes of one encoded event that occurs at t. */
void prov_block_add(prov_block *block, int64_t t, const uint8_t *data, size_t len);
size_t prov_block_count(const prov_block *block);
/* Sorts by (t, order added), appends the block to f and empties it.
 * Returns 0 or -errno. */
int prov_block_flush(prov_block *block, FILE *f);

/* Rewrites the file at path as a single block holding its events in the
 * reader's merged order (through path.merging, renamed over it). A file
 * already of one block, or of more events than a block can count, is left
 * as it is. Returns 0 or -errno (-EINVAL: not in this format; *error_text,
 * malloc'ed, then says where). */
int prov_file_merge(const char *path, char **error_text);

/* ---- reading ------------------------------------------------------------ */

typedef struct prov_reader prov_reader;

/* Maps path and indexes its blocks. Returns 0, -errno, or -EINVAL for a
 * file that is not in this format (*error_text, malloc'ed, says where). */
int prov_reader_open(const char *path, prov_reader **out, char **error_text);
void prov_reader_close(prov_reader **reader);
/* Events in the file. */
uint64_t prov_reader_events(const prov_reader *reader);
/* The next event in merged order: *data points into the mapping, valid
 * until prov_reader_close. Returns false at the end. */
bool prov_reader_next(prov_reader *reader, const uint8_t **data, size_t *len, int64_t *t);
/* Back to the first event. */
void prov_reader_rewind(prov_reader *reader);
/*
 * Gives the pages of the events already read back to the system, a few
 * megabytes at a time (a hint: read again after a rewind, they come back
 * from the file). The publisher shares the machine with the daemons it
 * measures, and a province-month's files are gigabytes of page cache they
 * need more. Pointers into the part given back stay valid (the pages are
 * read again when touched).
 */
void prov_reader_release_read(prov_reader *reader);

#endif
