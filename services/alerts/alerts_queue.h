/*
 * alerts_queue.h: the scheduled alerts of one escalation class, in memory.
 *
 * The sweep asks, for each step of each class, which alert after the step's
 * position comes next (alerts_engine.c). Asked of the alerts table, that
 * walked past every alert of every other class in between: each class's
 * steps passed every alert of the province once, about a fifth of the
 * daemon's time in a province-month. The queue holds what that walk would
 * find: the numbers of the class's scheduled alerts, ascending (a raise
 * appends, since alert numbers only rise), each with what the sweep needs
 * of it, and removals marked in place.
 *
 *   raise:       alerts_queue_append (number above every other)
 *   unschedule:  alerts_queue_remove (marked; compacted once half is gone)
 *   sweep:       alerts_queue_next (first live number after a position)
 *   positions:   alerts_queue_drop_through (every step has passed them)
 *
 * The queue mirrors the alerts table as the write transaction in progress
 * sees it; the engine empties and refills it from the table after an abort
 * and at start-up (alerts_book_schedule_each). Not thread-safe.
 */
#ifndef ALERTS_QUEUE_H
#define ALERTS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts_book.h"

typedef struct alerts_queue alerts_queue;

alerts_queue *alerts_queue_new(void);
/* Accepts NULL; nulls *q. */
void alerts_queue_destroy(alerts_queue **q);
/* Empties the queue (keeps its memory). */
void alerts_queue_clear(alerts_queue *q);

/* Adds number, which must be above every number the queue ever held since
 * it was last cleared (returns false and adds nothing otherwise). */
bool alerts_queue_append(alerts_queue *q, uint64_t number, const alerts_schedule_entry *entry);
/* Takes number out; nothing when it is not there. */
void alerts_queue_remove(alerts_queue *q, uint64_t number);
/* The first number above `after` still in the queue: true with *number and
 * *entry set, false when there is none. */
bool alerts_queue_next(const alerts_queue *q, uint64_t after, uint64_t *number,
                       alerts_schedule_entry *entry);
/*
 * The same, starting from *hint (an index this function set before, or
 * SIZE_MAX), which it sets to the found number's index. A sweep asks each
 * step for the alert after the one it passed, which is nearly always the
 * next item: found from the hint in a step or two, where a search from
 * scratch read some twenty items of a queue of millions. Any hint gives the
 * right answer (one made stale by a compaction or a clear only costs the
 * search).
 */
bool alerts_queue_next_from(const alerts_queue *q, uint64_t after, size_t *hint,
                            uint64_t *number, alerts_schedule_entry *entry);
/* Forgets every number up to and including `through`. */
void alerts_queue_drop_through(alerts_queue *q, uint64_t through);

/* Numbers in the queue. */
size_t alerts_queue_count(const alerts_queue *q);
/* Memory the queue holds. */
size_t alerts_queue_bytes(const alerts_queue *q);

#endif
