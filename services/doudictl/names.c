/* names.c: short names of the wire enums, from the generated descriptors (see names.h). */
#include "names.h"

#include "doudi/eligibility.pb-c.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "error.h"
#include "doudi/log.pb-c.h"
#include "doudi/publish.pb-c.h"

/* The value's name without prefix, in lower case if asked; NULL if unknown. */
static const char *short_name(const ProtobufCEnumDescriptor *desc, const char *prefix,
                              int value, bool lower, char buf[CTL_NAME_MAX])
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (!v)
        return NULL;
    const char *name = v->name;
    size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) == 0)
        name += plen;
    size_t i = 0;
    for (; name[i] && i < CTL_NAME_MAX - 1; i++)
        buf[i] = lower ? (char)tolower((unsigned char)name[i]) : name[i];
    buf[i] = '\0';
    return buf;
}

/*
 * Finds text among the values' names, ignoring case and an optional prefix,
 * or as a number. Returns 0 with *out set, DD_NOTFOUND otherwise; *numeric
 * says the text was a number (which may not be a defined value).
 */
static int parse_name(const ProtobufCEnumDescriptor *desc, const char *prefix,
                      const char *text, int *out, bool *numeric)
{
    uint64_t n;
    *numeric = false;
    if (ctl_parse_u64(text, 0, INT32_MAX, &n) == 0) {
        *numeric = true;
        *out = (int)n;
        return 0;
    }
    size_t plen = strlen(prefix);
    for (unsigned i = 0; i < desc->n_values; i++) {
        const char *name = desc->values[i].name;
        if (strcasecmp(text, name) == 0 ||
            (strncmp(name, prefix, plen) == 0 && strcasecmp(text, name + plen) == 0)) {
            *out = desc->values[i].value;
            return 0;
        }
    }
    return DD_NOTFOUND;
}

const char *ctl_reject_reason_label(int reason, char buf[CTL_NAME_MAX])
{
    if (!short_name(&doudi__reject_reason__descriptor, "REJECT_REASON_", reason, true, buf))
        snprintf(buf, CTL_NAME_MAX, "reason_%d", reason);
    return buf;
}

const char *ctl_outcome_name(int outcome, char buf[CTL_NAME_MAX])
{
    if (!short_name(&doudi__outcome__descriptor, "OUTCOME_", outcome, false, buf))
        snprintf(buf, CTL_NAME_MAX, "%d", outcome);
    return buf;
}

const char *ctl_record_kind_name(uint32_t kind, char buf[CTL_NAME_MAX])
{
    /* Intake's Envelope kinds, then the kinds eligibility adds from 100 on. */
    if (kind > INT32_MAX ||
        (!short_name(&doudi__record_kind__descriptor, "RECORD_KIND_", (int)kind, false, buf) &&
         !short_name(&doudi__eligibility_record_kind__descriptor, "ELIGIBILITY_RECORD_KIND_",
                     (int)kind, false, buf)))
        snprintf(buf, CTL_NAME_MAX, "%u", kind);
    return buf;
}

const char *ctl_fetch_status_name(int status, char buf[CTL_NAME_MAX])
{
    if (!short_name(&doudi__fetch_status__descriptor, "FETCH_STATUS_", status, false, buf))
        snprintf(buf, CTL_NAME_MAX, "%d", status);
    return buf;
}

int ctl_reject_reason_parse(const char *text, int *out)
{
    bool numeric;
    int v;
    int rc = parse_name(&doudi__reject_reason__descriptor, "REJECT_REASON_", text, &v, &numeric);
    if (rc != 0)
        return rc;
    if (numeric && !protobuf_c_enum_descriptor_get_value(&doudi__reject_reason__descriptor, v))
        return DD_NOTFOUND;
    *out = v;
    return 0;
}

int ctl_record_kind_parse(const char *text, uint32_t *out)
{
    bool numeric;
    int v;
    int rc = parse_name(&doudi__record_kind__descriptor, "RECORD_KIND_", text, &v, &numeric);
    if (rc != 0)
        rc = parse_name(&doudi__eligibility_record_kind__descriptor, "ELIGIBILITY_RECORD_KIND_",
                        text, &v, &numeric);
    if (rc != 0)
        return rc;
    *out = (uint32_t)v;
    return 0;
}

const char *ctl_enum_words(const ProtobufCEnumDescriptor *desc, const char *prefix, int value,
                           char buf[CTL_NAME_MAX])
{
    if (!short_name(desc, prefix, value, true, buf)) {
        snprintf(buf, CTL_NAME_MAX, "value %d", value);
        return buf;
    }
    for (char *c = buf; *c; c++)
        if (*c == '_')
            *c = ' ';
    return buf;
}
