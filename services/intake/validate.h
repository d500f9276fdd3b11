/*
 * validate.h: intake's judgement of one published event.
 *
 * Every event is decoded on its own (so one bad event never spoils its
 * request) and checked field by field against event.proto's documented
 * limits. A refusal names one RejectReason and a sentence a portal developer
 * can act on, e.g.
 *   "person_reported.person_id: check character is 3, expected X (110105********0023)"
 *   "region_code 440106001999 is not in the division table (26208 codes)"
 * Only the first problem found is reported.
 *
 * protobuf-c does not check enum values, required fields or list lengths
 * (known pitfall 11 in the README), so this module does, for every field of every body.
 *
 * The rules (reason in brackets):
 *   every message   ids are 1-64 bytes of printable ASCII (0x20-0x7e)
 *                   [MISSING_FIELD when required and empty, FIELD_TOO_LONG,
 *                   BAD_CHARACTERS]; free text (description, reason, note)
 *                   is at most 512 bytes of UTF-8; no string holds a NUL byte
 *                   [BAD_CHARACTERS, found by intake_decode]; *person_id(s)
 *                   are identity numbers checked by idnum [ID_*]; enums hold
 *                   a defined value [UNKNOWN_ENUM_VALUE] and, where the body
 *                   needs one, not 0 [MISSING_FIELD]; *_fen is 0 to 10^15
 *                   [NEGATIVE_MONEY, VALUE_OUT_OF_RANGE]; *_ms is 0 to the
 *                   end of year 9999 [VALUE_OUT_OF_RANGE], and instants of
 *                   observed facts (died, admitted, discharged, visited) are
 *                   not after now plus max_future_skew_ms.
 *   envelope        event_id, source (1-64 bytes of [a-z0-9._-]),
 *                   occurred_at_ms (within [now - max_age_ms, now +
 *                   max_future_skew_ms]: TIME_TOO_OLD, TIME_IN_FUTURE),
 *                   region_code (12 digits: REGION_BAD_FORMAT; in the table:
 *                   REGION_UNKNOWN; for an alert_acknowledgement also the
 *                   code of an area above listed codes, see
 *                   dd_divisions_contains_area) and a known body
 *                   (UNKNOWN_BODY) are required.
 *   person_reported     person_id, household_id required; disability_grade
 *                       0-4; daily_living and the other enums optional.
 *   household_reported  household_id required; member_person_ids at most
 *                       64, each an identity number; incomes at most 32;
 *                       vehicle_values_fen at most 32; dwellings 0-100;
 *                       merged_into_household_id optional.
 *   comparison_record   subject_person_id, department, period_yyyymm
 *                       required; the period is a month from 1900 that has
 *                       begun; every finding optional and checked when
 *                       present (vehicles at most 32, dwellings 0-100, grade
 *                       0-4, discharged not before admitted).
 *   risk_signal         subject_person_id, kind required.
 *   application         application_id, applicant_person_id, program
 *                       required; household_id too unless the program is
 *                       PROGRAM_TEMP.
 *   enrolment_change    person_id, program, action, decided_by_worker_id
 *                       required; effective_at_ms may lie ahead.
 *   visit_report        visit_id, subject_person_id, worker_id,
 *                       visited_at_ms, outcome required; findings at most 32,
 *                       each with area and severity.
 *   roster_change       worker_id, action, role required;
 *                       monthly_visit_capacity 0-10000.
 *   alert_acknowledgement  alert_id, action required.
 * Unknown fields inside a known message are accepted (event.proto grows by
 * adding fields) and stored with the event, unless their field number is
 * one the wire format forbids (0, or above 2^29 - 1): protobuf-c reads those
 * but writes them back unreadably, so they are UNDECODABLE.
 *
 * Texts quote offending values as printable ASCII (other bytes as \xNN),
 * at most 32 bytes of them, and never a whole identity number: a value of a
 * person_id field shows its first 6 and last 4 characters only, e.g.
 *   "household_reported.member_person_ids[3]: check character is 3, expected X (110105********0023)"
 * and any other 15- or 18-character number in a text is masked the same way.
 */
#ifndef INTAKE_VALIDATE_H
#define INTAKE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "divisions.h"
#include "doudi/event.pb-c.h"
#include "doudi/publish.pb-c.h"

typedef enum {
    INTAKE_ID15_UPGRADE, /* rewrite to 18 characters, then accept */
    INTAKE_ID15_REJECT,  /* refuse with REJECT_REASON_ID_FIFTEEN_DIGITS */
} intake_id15_policy;

typedef struct intake_rules {
    size_t max_event_bytes;         /* an encoded event larger is refused (0: no limit) */
    int64_t max_future_skew_ms;     /* occurred_at may be this far ahead */
    int64_t max_age_ms;             /* and at most this far behind now (0: no limit) */
    intake_id15_policy id15;
    const dd_divisions *divisions;  /* borrowed; must outlive the call; NULL
                                       checks the format of region codes only */
} intake_rules;

typedef struct intake_verdict {
    Doudi__RejectReason reason;     /* UNSPECIFIED when the event is fine */
    char text[256];
} intake_verdict;

/*
 * Decodes bytes[0..len-1] into *out, allocating from arena (the message
 * lives until dd_arena_reset; never pass it to __free_unpacked). Refuses
 * EVENT_TOO_LARGE, UNDECODABLE, and BAD_CHARACTERS for a string field that
 * holds a NUL byte (protobuf-c would silently cut the string there, so the
 * checks would judge another value than the one stored). Returns true when
 * *out is set; otherwise *out is NULL and verdict is filled. A decoded event
 * still needs intake_validate.
 */
bool intake_decode(const uint8_t *bytes, size_t len, const intake_rules *rules,
                   dd_arena *arena, Doudi__Envelope **out, intake_verdict *verdict);

/*
 * Checks a decoded event at time now_ms (Unix ms). Returns true when it is
 * acceptable (verdict->reason is then UNSPECIFIED). When the policy is
 * INTAKE_ID15_UPGRADE and a 15-digit identity number was upgraded, the
 * message's string is replaced by an 18-character one from arena and
 * *rewritten is set: the caller must re-encode the event before storing it.
 * The message must therefore come from intake_decode (or own no strings
 * the caller frees); with a NULL arena 15-digit numbers are refused.
 * rewritten may be NULL. Otherwise fills verdict and returns false; the
 * message may then be partly rewritten and is only good for the dead-letter
 * record (store the raw bytes). Allocates nothing else and is thread-safe
 * for distinct messages.
 */
bool intake_validate(Doudi__Envelope *env, const intake_rules *rules, int64_t now_ms,
                     dd_arena *arena, bool *rewritten, intake_verdict *verdict);

/* The metric label of a reason: lower-case name without the prefix
 * ("undecodable", "region_unknown"); "unspecified" for 0 or unknown. */
const char *intake_reason_label(Doudi__RejectReason reason);

#endif
