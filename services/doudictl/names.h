/*
 * names.h: the names doudictl shows and accepts for the wire enums.
 *
 * The .proto enums carry a prefix on every value (REJECT_REASON_,
 * RECORD_KIND_, OUTCOME_) because proto3 enum values share their package's
 * scope. People should not have to type it, so doudictl shows and accepts
 * the short forms:
 *   - a reject reason as its metrics label: lower case without the prefix
 *     ("id_bad_check", as in doudi_intake_events_rejected_total{reason=...});
 *   - an outcome, a record kind and a fetch status in upper case without the
 *     prefix ("ACCEPTED", "PERSON_REPORTED", "TRIMMED").
 * When parsing, any case is accepted, with or without the prefix, and so is
 * the number. Names come from the generated descriptors, so a value added to
 * a .proto is known here after a rebuild.
 */
#ifndef CTL_NAMES_H
#define CTL_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Size of a buffer that holds any name these functions write. */
#define CTL_NAME_MAX 80

/*
 * Each writes the short name of value into buf and returns buf. A number
 * the build does not know is written as "reason_<n>" for reasons and as the
 * decimal number for the others, so newer daemons still produce output.
 */
const char *ctl_reject_reason_label(int reason, char buf[CTL_NAME_MAX]);
const char *ctl_outcome_name(int outcome, char buf[CTL_NAME_MAX]);
const char *ctl_record_kind_name(uint32_t kind, char buf[CTL_NAME_MAX]);
const char *ctl_fetch_status_name(int status, char buf[CTL_NAME_MAX]);

/*
 * Parses a reject reason or a record kind as described above. Returns 0,
 * or DD_NOTFOUND when text names no value (a number is accepted as is for
 * record kinds, which later daemons extend from 100 on, but must be a
 * defined value for reasons).
 */
int ctl_reject_reason_parse(const char *text, int *out);
int ctl_record_kind_parse(const char *text, uint32_t *out);

/*
 * A value of any wire enum as words for people: the name without prefix,
 * in lower case, underscores made spaces ("CARE_CATEGORY_ELDERLY_LIVING_ALONE"
 * as "elderly living alone"). A number desc does not define is written as
 * "value <n>". Returns buf.
 */
const char *ctl_enum_words(const ProtobufCEnumDescriptor *desc, const char *prefix, int value,
                           char buf[CTL_NAME_MAX]);

#endif
