/*
 * test_alerts_queue.c: a class's scheduled alerts in memory (alerts_queue.h)
 * against a model: a plain array of every number ever appended with a
 * removed flag, searched from the front. Random appends, removals (of
 * numbers present, gone and never there), drops and clears, with every
 * next() compared, including from positions between numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerts_queue.h"

typedef struct model_item {
    uint64_t number;
    int64_t deadline;
    bool live;
} model_item;

typedef struct model {
    model_item *items;
    size_t n, cap;
} model;

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static bool model_next(const model *m, uint64_t after, uint64_t *number, int64_t *deadline)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].live && m->items[i].number > after) {
            *number = m->items[i].number;
            *deadline = m->items[i].deadline;
            return true;
        }
    return false;
}

static void model_set_dead(model *m, uint64_t number)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->items[i].number == number)
            m->items[i].live = false;
}

/* Hints kept from one look to the next, as a sweep's steps keep theirs:
 * stale after removals, drops, compactions and clears. */
static size_t hints[3] = {SIZE_MAX, 0, SIZE_MAX};

/* next() and next_from() with each hint after `after`, against the model;
 * the number found (0: none). */
static uint64_t check_next(const alerts_queue *q, const model *m, uint64_t after)
{
    uint64_t want_n = 0;
    int64_t want_d = 0;
    bool want = model_next(m, after, &want_n, &want_d);
    for (int way = -1; way < 3; way++) {
        uint64_t got_n = 0;
        alerts_schedule_entry got;
        memset(&got, 0, sizeof(got));
        bool found = way < 0 ? alerts_queue_next(q, after, &got_n, &got)
                             : alerts_queue_next_from(q, after, &hints[way], &got_n, &got);
        if (want != found)
            fail_msg("next after %llu (hint %d): the model %s one, the queue %s",
                     (unsigned long long)after, way, want ? "has" : "has none",
                     found ? "has" : "none");
        if (want) {
            assert_int_equal(got_n, want_n);
            assert_int_equal(got.first_deadline_ms, want_d);
            assert_int_equal(got.region[0], (char)('0' + want_n % 10));
        }
    }
    return want ? want_n : 0;
}

static size_t model_live(const model *m)
{
    size_t live = 0;
    for (size_t i = 0; i < m->n; i++)
        live += m->items[i].live;
    return live;
}

static void test_against_model(void **state)
{
    (void)state;
    alerts_queue *q = alerts_queue_new();
    model m = {0};
    uint64_t last = 0, dropped = 0, walked = 0;
    for (int round = 0; round < 200000; round++) {
        uint64_t r = rnd() % 100;
        if (r < 45) {
            uint64_t number = last + 1 + rnd() % 3;
            alerts_schedule_entry e;
            memset(&e, 0, sizeof(e));
            e.first_deadline_ms = (int64_t)(rnd() % 1000000);
            e.region[0] = (char)('0' + number % 10);
            assert_true(alerts_queue_append(q, number, &e));
            /* Not above the last: refused, nothing added. */
            assert_false(alerts_queue_append(q, number, &e));
            if (m.n == m.cap) {
                m.cap = m.cap ? 2 * m.cap : 1024;
                m.items = realloc(m.items, m.cap * sizeof(*m.items));
                assert_non_null(m.items);
            }
            m.items[m.n++] = (model_item){number, e.first_deadline_ms, true};
            last = number;
        } else if (r < 85 && last) {
            /* Mostly numbers that were appended, some gaps, some repeats. */
            uint64_t number = dropped + 1 + rnd() % (last - dropped + 2);
            alerts_queue_remove(q, number);
            model_set_dead(&m, number);
        } else if (r < 97) {
            uint64_t after = last ? rnd() % (last + 2) : 0;
            check_next(q, &m, after);
            check_next(q, &m, dropped);
            /* a step passing the alerts one after the other */
            walked = check_next(q, &m, walked > dropped ? walked : dropped);
        } else if (r < 99 && last > dropped) {
            uint64_t through = dropped + rnd() % (last - dropped + 1);
            alerts_queue_drop_through(q, through);
            for (size_t i = 0; i < m.n; i++)
                if (m.items[i].number <= through)
                    m.items[i].live = false;
            dropped = through > dropped ? through : dropped;
        } else if (rnd() % 20 == 0) {
            alerts_queue_clear(q);
            m.n = 0;
            last = dropped = walked = 0;
        }
        assert_int_equal(alerts_queue_count(q), model_live(&m));
    }
    assert_true(alerts_queue_bytes(q) > 0);
    alerts_queue_destroy(&q);
    assert_null(q);
    alerts_queue_destroy(&q); /* NULL is accepted */
    free(m.items);
}

/* Removing nearly everything keeps next() exact and the memory bounded. */
static void test_mass_removal(void **state)
{
    (void)state;
    alerts_queue *q = alerts_queue_new();
    alerts_schedule_entry e;
    memset(&e, 0, sizeof(e));
    for (uint64_t n = 1; n <= 100000; n++) {
        e.first_deadline_ms = (int64_t)n;
        assert_true(alerts_queue_append(q, n, &e));
    }
    for (uint64_t n = 1; n <= 100000; n++)
        if (n % 1000 != 0)
            alerts_queue_remove(q, n);
    assert_int_equal(alerts_queue_count(q), 100);
    uint64_t got;
    assert_true(alerts_queue_next(q, 0, &got, &e));
    assert_int_equal(got, 1000);
    assert_true(alerts_queue_next(q, 1000, &got, &e));
    assert_int_equal(got, 2000);
    assert_int_equal(e.first_deadline_ms, 2000);
    assert_false(alerts_queue_next(q, 100000, &got, &e));
    alerts_queue_drop_through(q, 50500);
    assert_int_equal(alerts_queue_count(q), 50);
    assert_true(alerts_queue_next(q, 0, &got, &e));
    assert_int_equal(got, 51000);
    alerts_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_model),
        cmocka_unit_test(test_mass_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
