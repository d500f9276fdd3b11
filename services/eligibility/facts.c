/*
 * facts.c: the values of a comparison record's findings, from the decoded
 * record, a stored person, or the encoded bytes (see facts.h).
 */
#include "facts.h"

#include "wire.h"

#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

static uint64_t income_fact(int64_t monthly_income_fen)
{
    return XXH3_64bits(&monthly_income_fen, sizeof(int64_t)) | 1;
}

static uint64_t employment_fact(bool registered_unemployed, bool receiving_pension,
                                int64_t monthly_pension_fen)
{
    int64_t v[3] = {registered_unemployed, receiving_pension, monthly_pension_fen};
    return XXH3_64bits(v, sizeof(v)) | 1;
}

static uint64_t property_fact(int32_t dwellings)
{
    return XXH3_64bits(&dwellings, sizeof(int32_t)) | 1;
}

static uint64_t vehicles_fact(const int64_t *values_fen, size_t n)
{
    return XXH3_64bits_withSeed(n ? values_fen : NULL, n * sizeof(int64_t), n) | 1;
}

static uint64_t assets_fact(int64_t financial_assets_fen)
{
    return XXH3_64bits(&financial_assets_fen, sizeof(int64_t)) | 1;
}

/* Only the grade decides whether a disability finding changes anything. */
static uint64_t disability_fact(int32_t grade)
{
    return XXH3_64bits_withSeed(&grade, sizeof(int32_t), ELIG_FACT_DISABILITY) | 1;
}

/* Whether the last visit found a danger: most visits repeat the last one's. */
uint64_t elig_fact_visit_danger(bool danger)
{
    return XXH3_64bits_withSeed(&danger, sizeof(danger), ELIG_FACT_VISIT_DANGER) | 1;
}

bool elig_facts_of_record(const Doudi__ComparisonRecord *c, uint64_t value[ELIG_FACT_KINDS])
{
    memset(value, 0, sizeof(uint64_t) * ELIG_FACT_KINDS);
    if (c->medical_stay || c->death)
        return false;
    if (c->income)
        value[ELIG_FACT_INCOME] = income_fact(c->income->monthly_income_fen);
    if (c->employment)
        value[ELIG_FACT_EMPLOYMENT] = employment_fact(c->employment->registered_unemployed,
                                                      c->employment->receiving_pension,
                                                      c->employment->monthly_pension_fen);
    if (c->property)
        value[ELIG_FACT_PROPERTY] = property_fact(c->property->dwellings);
    if (c->vehicles)
        value[ELIG_FACT_VEHICLES] = vehicles_fact(c->vehicles->vehicle_values_fen,
                                                  c->vehicles->n_vehicle_values_fen);
    if (c->assets)
        value[ELIG_FACT_ASSETS] = assets_fact(c->assets->financial_assets_fen);
    if (c->disability)
        value[ELIG_FACT_DISABILITY] = disability_fact(c->disability->disability_grade);
    return true;
}

void elig_facts_of_person(const Doudi__StoredPerson *sp, uint64_t value[ELIG_FACT_KINDS])
{
    memset(value, 0, sizeof(uint64_t) * ELIG_FACT_KINDS);
    if (sp->income_known)
        value[ELIG_FACT_INCOME] = income_fact(sp->verified_income_fen);
    /* Compared field by field, known or not (apply_comparison). */
    value[ELIG_FACT_EMPLOYMENT] = employment_fact(sp->registered_unemployed,
                                                  sp->receiving_pension, sp->monthly_pension_fen);
    if (sp->dwellings_known)
        value[ELIG_FACT_PROPERTY] = property_fact(sp->verified_dwellings);
    if (sp->vehicles_known)
        value[ELIG_FACT_VEHICLES] = vehicles_fact(sp->verified_vehicle_values_fen,
                                                  sp->n_verified_vehicle_values_fen);
    if (sp->assets_known)
        value[ELIG_FACT_ASSETS] = assets_fact(sp->verified_assets_fen);
    if (sp->report)
        value[ELIG_FACT_DISABILITY] = disability_fact(sp->report->disability_grade);
    value[ELIG_FACT_VISIT_DANGER] = elig_fact_visit_danger(sp->danger_found_last_visit);
}

bool elig_facts_none(bool cacheable, const uint64_t value[ELIG_FACT_KINDS])
{
    if (!cacheable)
        return false;
    for (unsigned k = 1; k < ELIG_FACT_KINDS; k++)
        if (value[k])
            return false;
    return true;
}

/* ---- reading the bytes --------------------------------------------------- */

/* Field numbers (proto/doudi/event.proto; protobuf-c names none). */
enum { ENVELOPE_EVENT_ID = 1, ENVELOPE_SOURCE, ENVELOPE_OCCURRED_AT_MS, ENVELOPE_REGION_CODE };
enum { RECORD_SUBJECT = 1, RECORD_DEPARTMENT, RECORD_PERIOD };
enum { RECORD_INCOME = 10, RECORD_EMPLOYMENT, RECORD_PROPERTY, RECORD_VEHICLES, RECORD_ASSETS,
       RECORD_MEDICAL_STAY, RECORD_SCHOOLING, RECORD_DISABILITY, RECORD_DEATH };

/* The most vehicle values a scanned record may list (more: decoded). */
#define SCAN_MAX_VEHICLES 64

/*
 * The next field of a message: its number, its wire type, and for a varint
 * its value, for a length-delimited field its payload. Fails on anything
 * cut off, a group, a fixed-width field (no scanned field is one), and a
 * number listed in `seen` already (a second occurrence: protobuf-c would
 * merge or overwrite, which the scanner leaves to it); `repeatable` lists
 * the numbers that may come again. Numbers from 1 to 63 only.
 */
typedef struct scan_field {
    uint32_t number;
    unsigned wire;
    uint64_t varint;
    bool any_bits;
    const uint8_t *payload;
    size_t len;
} scan_field;

static inline bool next_field(const uint8_t **pp, const uint8_t *end, uint64_t *seen,
                              uint64_t repeatable, scan_field *f)
{
    if (!dd_wire_key(pp, end, &f->number, &f->wire) || f->number > 63)
        return false;
    uint64_t bit = UINT64_C(1) << f->number;
    if ((*seen & bit) && !(repeatable & bit))
        return false;
    *seen |= bit;
    if (f->wire == DD_WIRE_VARINT)
        return dd_wire_varint(pp, end, &f->varint, &f->any_bits);
    if (f->wire == DD_WIRE_LENGTH && dd_wire_length(pp, end, &f->len)) {
        f->payload = *pp;
        *pp += f->len;
        return true;
    }
    return false;
}

/*
 * A finding message of the record: its scalar fields (numbers 1..nfields,
 * types given) into v[], all 0 when absent. Vehicles, the one list, is
 * read by scan_vehicles.
 */
static bool scan_finding(const uint8_t *p, const uint8_t *end, const ProtobufCType *types,
                         unsigned nfields, uint64_t *v)
{
    uint64_t seen = 0;
    memset(v, 0, sizeof(uint64_t) * nfields);
    while (p < end) {
        scan_field f;
        if (!next_field(&p, end, &seen, 0, &f) || f.number == 0 || f.number > nfields ||
            f.wire != DD_WIRE_VARINT)
            return false;
        v[f.number - 1] = dd_wire_scalar(types[f.number - 1], f.varint, f.any_bits);
    }
    return true;
}

/* VehicleFinding: field 1, repeated int64, packed or not, in any pieces. */
static bool scan_vehicles(const uint8_t *p, const uint8_t *end, int64_t *values, size_t *n)
{
    uint64_t seen = 0;
    *n = 0;
    while (p < end) {
        scan_field f;
        if (!next_field(&p, end, &seen, UINT64_C(1) << 1, &f) || f.number != 1)
            return false;
        if (f.wire == DD_WIRE_VARINT) {
            if (*n == SCAN_MAX_VEHICLES)
                return false;
            values[(*n)++] = (int64_t)f.varint;
            continue;
        }
        const uint8_t *q = f.payload, *stop = f.payload + f.len;
        while (q < stop) {
            uint64_t v;
            bool any;
            if (*n == SCAN_MAX_VEHICLES || !dd_wire_varint(&q, stop, &v, &any))
                return false;
            values[(*n)++] = (int64_t)v;
        }
    }
    return true;
}

static const ProtobufCType INCOME_TYPES[] = {PROTOBUF_C_TYPE_INT64};
static const ProtobufCType EMPLOYMENT_TYPES[] = {PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_TYPE_BOOL,
                                                 PROTOBUF_C_TYPE_INT64};
static const ProtobufCType PROPERTY_TYPES[] = {PROTOBUF_C_TYPE_INT32};
static const ProtobufCType ASSETS_TYPES[] = {PROTOBUF_C_TYPE_INT64};
static const ProtobufCType SCHOOLING_TYPES[] = {PROTOBUF_C_TYPE_BOOL, PROTOBUF_C_TYPE_INT64};
static const ProtobufCType DISABILITY_TYPES[] = {PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_ENUM};

#define NFIELDS(types) (unsigned)(sizeof(types) / sizeof((types)[0]))

/* One finding field of ComparisonRecord (its number and payload) into value[]. */
static bool scan_record_finding(const scan_field *f, uint64_t value[ELIG_FACT_KINDS])
{
    const uint8_t *p = f->payload, *end = f->payload + f->len;
    uint64_t v[3];
    switch (f->number) {
    case RECORD_INCOME:
        if (!scan_finding(p, end, INCOME_TYPES, NFIELDS(INCOME_TYPES), v))
            return false;
        value[ELIG_FACT_INCOME] = income_fact((int64_t)v[0]);
        return true;
    case RECORD_EMPLOYMENT:
        if (!scan_finding(p, end, EMPLOYMENT_TYPES, NFIELDS(EMPLOYMENT_TYPES), v))
            return false;
        value[ELIG_FACT_EMPLOYMENT] = employment_fact(v[0] != 0, v[1] != 0, (int64_t)v[2]);
        return true;
    case RECORD_PROPERTY:
        if (!scan_finding(p, end, PROPERTY_TYPES, NFIELDS(PROPERTY_TYPES), v))
            return false;
        value[ELIG_FACT_PROPERTY] = property_fact((int32_t)(uint32_t)v[0]);
        return true;
    case RECORD_VEHICLES: {
        int64_t values[SCAN_MAX_VEHICLES];
        size_t n;
        if (!scan_vehicles(p, end, values, &n))
            return false;
        value[ELIG_FACT_VEHICLES] = vehicles_fact(values, n);
        return true;
    }
    case RECORD_ASSETS:
        if (!scan_finding(p, end, ASSETS_TYPES, NFIELDS(ASSETS_TYPES), v))
            return false;
        value[ELIG_FACT_ASSETS] = assets_fact((int64_t)v[0]);
        return true;
    case RECORD_SCHOOLING:
        /* Read (so the bytes are known to decode) and ignored, as decided. */
        return scan_finding(p, end, SCHOOLING_TYPES, NFIELDS(SCHOOLING_TYPES), v);
    case RECORD_DISABILITY:
        if (!scan_finding(p, end, DISABILITY_TYPES, NFIELDS(DISABILITY_TYPES), v))
            return false;
        value[ELIG_FACT_DISABILITY] = disability_fact((int32_t)(uint32_t)v[0]);
        return true;
    default:
        /* RECORD_MEDICAL_STAY, RECORD_DEATH (never cacheable), or unknown. */
        return false;
    }
}

/* ComparisonRecord: the subject's key and the findings. */
static bool scan_record(const uint8_t *p, const uint8_t *end, elig_fact_scan *out)
{
    uint64_t seen = 0;
    const uint8_t *person = NULL;
    size_t person_len = 0;
    while (p < end) {
        scan_field f;
        if (!next_field(&p, end, &seen, 0, &f))
            return false;
        switch (f.number) {
        case RECORD_SUBJECT:
            if (f.wire != DD_WIRE_LENGTH)
                return false;
            person = f.payload;
            person_len = f.len;
            break;
        case RECORD_DEPARTMENT:
        case RECORD_PERIOD:
            if (f.wire != DD_WIRE_VARINT)
                return false;
            break;
        default:
            if (f.wire != DD_WIRE_LENGTH || !scan_record_finding(&f, out->value))
                return false;
        }
    }
    /* A NUL would end the decoded string early, and with it the key. */
    if (person_len && memchr(person, '\0', person_len))
        return false;
    out->person_key = elig_factcache_key_bytes(person ? (const char *)person : "", person_len);
    return true;
}

bool elig_facts_scan(const uint8_t *bytes, size_t len, elig_fact_scan *out)
{
    const uint8_t *p = bytes, *end = bytes + len;
    uint64_t seen = 0;
    bool has_record = false;
    out->occurred_at_ms = 0;
    memset(out->value, 0, sizeof(out->value));
    while (p < end) {
        scan_field f;
        if (!next_field(&p, end, &seen, 0, &f))
            return false;
        switch (f.number) {
        case ENVELOPE_EVENT_ID:
        case ENVELOPE_SOURCE:
        case ENVELOPE_REGION_CODE:
            if (f.wire != DD_WIRE_LENGTH)
                return false;
            break;
        case ENVELOPE_OCCURRED_AT_MS:
            if (f.wire != DD_WIRE_VARINT)
                return false;
            out->occurred_at_ms = (int64_t)f.varint;
            break;
        case DOUDI__ENVELOPE__BODY_COMPARISON_RECORD:
            if (f.wire != DD_WIRE_LENGTH || !scan_record(f.payload, f.payload + f.len, out))
                return false;
            has_record = true;
            break;
        default:
            /* Another body (a second member of the oneof, or not a
             * comparison at all) or a field this scanner does not know. */
            return false;
        }
    }
    return has_record;
}
