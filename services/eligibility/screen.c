/*
 * screen.c: the screening thread and its hand-off (one mutex, two condition
 * variables: a chunk every few milliseconds needs nothing finer).
 */
#include "screen.h"

#include "clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct elig_screener {
    elig_screen_fn fn;
    void *arg;
    size_t chunk;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t posted_cond, done_cond;
    /* Under lock: */
    bool posted;   /* a chunk waits for the thread or is being screened */
    bool done;     /* the posted chunk is screened */
    bool stopping;
    Doudi__LogRecord *const *records;
    size_t n;
    unsigned buffer; /* results and arena of the posted chunk */
    /* Alternating, so the chunk collected last stays readable: */
    elig_screened *results[2];
    dd_arena *arena[2];
    uint64_t wait_ns;
};

static void *screen_main(void *arg)
{
    elig_screener *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->stopping && !(s->posted && !s->done))
            pthread_cond_wait(&s->posted_cond, &s->lock);
        if (s->stopping)
            break;
        Doudi__LogRecord *const *records = s->records;
        size_t n = s->n;
        unsigned b = s->buffer;
        pthread_mutex_unlock(&s->lock);
        dd_arena_reset(s->arena[b]);
        s->fn(s->arg, records, n, s->arena[b], s->results[b]);
        pthread_mutex_lock(&s->lock);
        s->done = true;
        pthread_cond_signal(&s->done_cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

elig_screener *elig_screener_new(elig_screen_fn fn, void *arg, size_t chunk)
{
    elig_screener *s = dd_calloc(1, sizeof(*s));
    s->fn = fn;
    s->arg = arg;
    s->chunk = chunk ? chunk : 1;
    for (int b = 0; b < 2; b++) {
        s->results[b] = dd_calloc(s->chunk, sizeof(elig_screened));
        s->arena[b] = dd_arena_new(1 << 20);
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->posted_cond, NULL);
    pthread_cond_init(&s->done_cond, NULL);
    int rc = pthread_create(&s->thread, NULL, screen_main, s);
    if (rc) {
        fprintf(stderr, "doudi: cannot start the screening thread: %s; aborting\n", strerror(rc));
        abort();
    }
    return s;
}

void elig_screener_destroy(elig_screener **sp)
{
    if (!sp || !*sp)
        return;
    elig_screener *s = *sp;
    pthread_mutex_lock(&s->lock);
    while (s->posted && !s->done)
        pthread_cond_wait(&s->done_cond, &s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->posted_cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->posted_cond);
    pthread_cond_destroy(&s->done_cond);
    for (int b = 0; b < 2; b++) {
        free(s->results[b]);
        dd_arena_destroy(&s->arena[b]);
    }
    free(s);
    *sp = NULL;
}

size_t elig_screener_chunk(const elig_screener *s)
{
    return s->chunk;
}

void elig_screener_post(elig_screener *s, Doudi__LogRecord *const *records, size_t n)
{
    pthread_mutex_lock(&s->lock);
    if (s->posted || n > s->chunk) {
        pthread_mutex_unlock(&s->lock);
        fprintf(stderr, "doudi: screener misuse (a chunk posted twice or too long); aborting\n");
        abort();
    }
    s->records = records;
    s->n = n;
    s->buffer ^= 1;
    s->posted = true;
    s->done = false;
    pthread_cond_signal(&s->posted_cond);
    pthread_mutex_unlock(&s->lock);
}

bool elig_screener_pending(const elig_screener *s)
{
    /* Only the posting thread changes `posted`. */
    return s->posted;
}

/* Waits under lock for the posted chunk, counting the wait. */
static void wait_done(elig_screener *s)
{
    if (s->done)
        return;
    int64_t t0 = dd_monotonic_ns();
    while (!s->done)
        pthread_cond_wait(&s->done_cond, &s->lock);
    s->wait_ns += (uint64_t)(dd_monotonic_ns() - t0);
}

void elig_screener_quiesce(elig_screener *s)
{
    pthread_mutex_lock(&s->lock);
    if (s->posted)
        wait_done(s);
    pthread_mutex_unlock(&s->lock);
}

const elig_screened *elig_screener_collect(elig_screener *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->posted) {
        pthread_mutex_unlock(&s->lock);
        fprintf(stderr, "doudi: screener misuse (nothing posted to collect); aborting\n");
        abort();
    }
    wait_done(s);
    s->posted = false;
    const elig_screened *r = s->results[s->buffer];
    pthread_mutex_unlock(&s->lock);
    return r;
}

uint64_t elig_screener_wait_ns(const elig_screener *s)
{
    return s->wait_ns;
}
