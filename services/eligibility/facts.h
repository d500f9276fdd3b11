/*
 * facts.h: what a department comparison record finds, as the fact cache
 * (factcache.h) holds it, read from the decoded record, from a stored
 * person, or straight from the record's bytes.
 *
 * A finding's value is a 64-bit hash of what decides anything about it
 * (never 0: 0 means "not found"). A record whose every finding hashes to
 * what the cache holds for its person changes nothing (engine.c).
 *
 * Most of a month's records are such repeats (domain.md §7: ~32 million
 * comparison records, ~95 % changing nothing). Building a record's
 * protobuf-c structure (seven allocations, four strings copied) only to
 * hash two or three numbers of it was the biggest part of eligibility's
 * work on them; elig_facts_scan reads the same numbers from the bytes. It
 * accepts only encodings it reads completely and whose decoding would give
 * the same values (every field known, once, with its wire type; see
 * wiredecode.h for the rules it shares) and declines everything else, which
 * then takes the decoding path: a decline never changes a decision.
 */
#ifndef ELIG_FACTS_H
#define ELIG_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "factcache.h"

#include "doudi/event.pb-c.h"
#include "doudi/registry.pb-c.h"

/* The kinds of finding, index into a value[ELIG_FACT_KINDS] (0 unused). */
enum {
    ELIG_FACT_INCOME = 1,
    ELIG_FACT_EMPLOYMENT,
    ELIG_FACT_PROPERTY,
    ELIG_FACT_VEHICLES,
    ELIG_FACT_ASSETS,
    ELIG_FACT_DISABILITY,
    ELIG_FACT_VISIT_DANGER,
    ELIG_FACT_KINDS_USED
};
_Static_assert(ELIG_FACT_KINDS_USED == ELIG_FACT_KINDS, "the fact cache holds every kind");

/* The value of a visit's "a danger was found" (apply_visit). */
uint64_t elig_fact_visit_danger(bool danger);

/*
 * The value of each finding present in c (0 where absent). Returns false
 * when c carries a finding whose effect does not depend only on the stored
 * value (a hospital stay, a death): such a record must take the slow path.
 */
bool elig_facts_of_record(const Doudi__ComparisonRecord *c, uint64_t value[ELIG_FACT_KINDS]);

/*
 * Every finding the stored person holds, as a record repeating them would
 * carry them: once one department's record made the engine read the
 * person, the other departments' records of the month need no read.
 */
void elig_facts_of_person(const Doudi__StoredPerson *sp, uint64_t value[ELIG_FACT_KINDS]);

/* Whether a cacheable record finds nothing the registry keeps (a hospital
 * feed without a stay; schooling, recorded upstream but deciding nothing
 * here): there is nothing to compare or store, whoever the person is. */
bool elig_facts_none(bool cacheable, const uint64_t value[ELIG_FACT_KINDS]);

/* What elig_facts_scan read from an encoded Envelope. */
typedef struct elig_fact_scan {
    int64_t occurred_at_ms;         /* the envelope's event time */
    uint64_t person_key;            /* elig_factcache_key of the subject */
    uint64_t value[ELIG_FACT_KINDS]; /* as elig_facts_of_record gives them */
} elig_fact_scan;

/*
 * Reads bytes[0..len-1] as an Envelope carrying a comparison record.
 * Returns true, filling *out, only when decoding the bytes would give an
 * Envelope whose comparison record elig_facts_of_record calls cacheable,
 * with these very values, event time and subject (whose id holds no NUL).
 * Returns false for everything else, including every other kind of event
 * and every encoding it does not read completely: decode those.
 */
bool elig_facts_scan(const uint8_t *bytes, size_t len, elig_fact_scan *out);

#endif
