/* alerts_queue.c: a class's scheduled alerts in an array (see alerts_queue.h). */
#include "alerts_queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

typedef struct item {
    uint64_t number;
    alerts_schedule_entry entry;
    bool live;
} item;

struct alerts_queue {
    item *items;     /* [first, end) in use, numbers ascending */
    size_t first, end, cap;
    size_t dead;     /* removed items still in [first, end) */
    uint64_t last;   /* the highest number appended since the last clear */
};

alerts_queue *alerts_queue_new(void) { return dd_calloc(1, sizeof(alerts_queue)); }

void alerts_queue_destroy(alerts_queue **q)
{
    if (!q || !*q)
        return;
    free((*q)->items);
    free(*q);
    *q = NULL;
}

void alerts_queue_clear(alerts_queue *q)
{
    q->first = q->end = q->dead = 0;
    q->last = 0;
}

/* Moves the live items to the front of the array. */
static void compact(alerts_queue *q)
{
    size_t w = 0;
    for (size_t r = q->first; r < q->end; r++)
        if (q->items[r].live)
            q->items[w++] = q->items[r];
    q->first = 0;
    q->end = w;
    q->dead = 0;
}

bool alerts_queue_append(alerts_queue *q, uint64_t number, const alerts_schedule_entry *entry)
{
    if (number <= q->last)
        return false;
    if (q->end == q->cap) {
        if (q->first > 0 || q->dead > 0)
            compact(q);
        if (q->end * 4 > q->cap * 3 || q->cap == 0) {
            q->cap = q->cap ? q->cap * 2 : 1024;
            q->items = dd_realloc(q->items, q->cap * sizeof(item));
        }
    }
    item *it = &q->items[q->end++];
    it->number = number;
    it->entry = *entry;
    it->live = true;
    q->last = number;
    return true;
}

/* The first index of [lo, hi) whose number is above `after` (hi if none). */
static size_t search(const alerts_queue *q, uint64_t after, size_t lo, size_t hi)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (q->items[mid].number <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first position in [first, end) whose number is above `after`. */
static size_t first_above(const alerts_queue *q, uint64_t after)
{
    return search(q, after, q->first, q->end);
}

void alerts_queue_remove(alerts_queue *q, uint64_t number)
{
    if (number == 0)
        return; /* never a number: alerts count from 1 */
    size_t i = first_above(q, number - 1);
    if (i == q->end || q->items[i].number != number || !q->items[i].live)
        return;
    q->items[i].live = false;
    q->dead++;
    /* The sweep skips removed items one by one: never let them be most. */
    if (q->dead > 64 && q->dead * 2 > q->end - q->first)
        compact(q);
}

/* first_above, from an index whose number is known to be at most `after`:
 * gallops forward, then searches the last stride. */
static size_t first_above_from(const alerts_queue *q, uint64_t after, size_t at)
{
    size_t lo = at + 1, stride = 1;
    while (lo < q->end && q->items[lo].number <= after) {
        at = lo;
        lo += stride;
        stride *= 2;
    }
    return search(q, after, at + 1, lo < q->end ? lo : q->end);
}

bool alerts_queue_next_from(const alerts_queue *q, uint64_t after, size_t *hint,
                            uint64_t *number, alerts_schedule_entry *entry)
{
    size_t h = *hint;
    size_t i = h >= q->first && h < q->end && q->items[h].number <= after
                   ? first_above_from(q, after, h)
                   : first_above(q, after);
    for (; i < q->end; i++) {
        if (!q->items[i].live)
            continue;
        *number = q->items[i].number;
        *entry = q->items[i].entry;
        *hint = i;
        return true;
    }
    return false;
}

bool alerts_queue_next(const alerts_queue *q, uint64_t after, uint64_t *number,
                       alerts_schedule_entry *entry)
{
    size_t hint = SIZE_MAX;
    return alerts_queue_next_from(q, after, &hint, number, entry);
}

void alerts_queue_drop_through(alerts_queue *q, uint64_t through)
{
    size_t i = first_above(q, through);
    for (size_t k = q->first; k < i; k++)
        q->dead -= !q->items[k].live;
    q->first = i;
    if (q->first == q->end)
        q->first = q->end = 0;
}

size_t alerts_queue_count(const alerts_queue *q) { return q->end - q->first - q->dead; }

size_t alerts_queue_bytes(const alerts_queue *q) { return sizeof(*q) + q->cap * sizeof(item); }
