/*
 * mutate.h: deterministic mutations of an encoding, for the tests that
 * check a fast reader against protobuf-c (test_wiredecode.c,
 * test_facts.c; test_wireencode.c takes only its random numbers).
 * Included by one test file each: everything is static.
 */
#ifndef TEST_MUTATE_H
#define TEST_MUTATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One mutation in place; returns the new length (buf holds cap bytes). */
static inline size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
    size_t at = len ? rnd() % len : 0;
    switch (rnd() % 8) {
    case 0: /* flip a bit */
        if (len)
            buf[at] ^= (uint8_t)(1u << (rnd() % 8));
        return len;
    case 1: /* a random byte */
        if (len)
            buf[at] = (uint8_t)rnd();
        return len;
    case 2: /* cut */
        return at;
    case 3: /* delete a byte */
        if (len)
            memmove(buf + at, buf + at + 1, len - at - 1);
        return len ? len - 1 : 0;
    case 4: /* insert a byte */
        if (len + 1 > cap)
            return len;
        memmove(buf + at + 1, buf + at, len - at);
        buf[at] = (uint8_t)rnd();
        return len + 1;
    case 5: { /* repeat a stretch (a field written twice) */
        size_t n = 1 + rnd() % 16;
        if (at + n > len || len + n > cap)
            return len;
        memmove(buf + at + n, buf + at, len - at);
        return len + n;
    }
    case 6: /* small values where lengths and keys live */
        if (len)
            buf[at] = (uint8_t)(rnd() % 4 == 0 ? 0x80 | (rnd() & 0x7f) : rnd() % 0x20);
        return len;
    default: /* swap two bytes */
        if (len) {
            size_t b = rnd() % len;
            uint8_t t = buf[at];
            buf[at] = buf[b];
            buf[b] = t;
        }
        return len;
    }
}

#endif
