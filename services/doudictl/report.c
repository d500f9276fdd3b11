/* report.c: counting, recording and summing up publish outcomes (see report.h). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ctl.h"
#include "names.h"

/* Reason numbers are small; anything beyond shares the last slot. */
#define REASON_SLOTS 256

struct ctl_report {
    FILE *results;
    int write_error; /* first errno from writing results */
    unsigned max_shown;
    uint64_t shown, not_shown;
    uint64_t accepted, duplicate, rejected, invalid, unanswered;
    uint64_t requests, resends;
    uint64_t by_reason[REASON_SLOTS];
};

int ctl_report_new(const char *results_path, unsigned max_rejections_shown, ctl_report **out)
{
    FILE *f = NULL;
    if (results_path && strcmp(results_path, "-") == 0) {
        f = stdout;
    } else if (results_path) {
        f = fopen(results_path, "we");
        if (!f)
            return -errno;
    }
    ctl_report *r = dd_calloc(1, sizeof(*r));
    r->results = f;
    r->max_shown = max_rejections_shown;
    *out = r;
    return 0;
}

int ctl_report_destroy(ctl_report **rp)
{
    if (!rp || !*rp)
        return 0;
    ctl_report *r = *rp;
    int rc = r->write_error ? -r->write_error : 0;
    if (r->results == stdout) {
        if (fflush(stdout) != 0 && rc == 0)
            rc = -errno;
    } else if (r->results && fclose(r->results) != 0 && rc == 0) {
        rc = -errno;
    }
    free(r);
    *rp = NULL;
    return rc;
}

static void write_result(ctl_report *r, json_t *obj)
{
    if (r->results && !r->write_error) {
        if (json_dumpf(obj, r->results, JSON_COMPACT) != 0 || fputc('\n', r->results) == EOF)
            r->write_error = errno ? errno : EIO;
    }
    json_decref(obj);
}

static json_t *result_object(const ctl_event_ref *ev, const char *outcome)
{
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(ev->file));
    json_object_set_new(o, "line", json_integer((json_int_t)ev->line));
    /* An event id that is not UTF-8 is refused by jansson; it is still an event. */
    json_t *id = json_string(ev->event_id ? ev->event_id : "");
    json_object_set_new(o, "eventId", id ? id : json_string(""));
    json_object_set_new(o, "outcome", json_string(outcome));
    return o;
}

static void set_u64_string(json_t *o, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    json_object_set_new(o, key, json_string(buf));
}

static void count_rejection(ctl_report *r, const ctl_event_ref *ev, int reason,
                            const char *text, uint64_t dead_letter_id, bool show)
{
    char label[CTL_NAME_MAX];
    ctl_reject_reason_label(reason, label);
    r->rejected++;
    r->by_reason[reason >= 0 && reason < REASON_SLOTS ? reason : REASON_SLOTS - 1]++;
    if (show) {
        if (r->shown < r->max_shown) {
            r->shown++;
            fflush(stdout);
            fprintf(stderr, "%s:%" PRIu64 ": event '%s' rejected: %s: %s\n", ev->file, ev->line,
                    ev->event_id ? ev->event_id : "", label, text);
        } else {
            r->not_shown++;
        }
    }
    json_t *o = result_object(ev, "REJECTED");
    json_object_set_new(o, "reason", json_string(label));
    json_t *t = json_string(text);
    json_object_set_new(o, "reasonText", t ? t : json_string("(not UTF-8)"));
    if (dead_letter_id)
        set_u64_string(o, "deadLetterId", dead_letter_id);
    write_result(r, o);
}

void ctl_report_invalid(ctl_report *r, const char *file, uint64_t line, const char *why)
{
    r->invalid++;
    fflush(stdout);
    fprintf(stderr, "%s:%" PRIu64 ": %s\n", file, line, why);
}

void ctl_report_status(ctl_report *r, const ctl_event_ref *ev, const Doudi__EventStatus *st)
{
    switch (st->outcome) {
    case DOUDI__OUTCOME__OUTCOME_ACCEPTED:
    case DOUDI__OUTCOME__OUTCOME_DUPLICATE: {
        bool accepted = st->outcome == DOUDI__OUTCOME__OUTCOME_ACCEPTED;
        if (accepted)
            r->accepted++;
        else
            r->duplicate++;
        json_t *o = result_object(ev, accepted ? "ACCEPTED" : "DUPLICATE");
        set_u64_string(o, "sequence", st->sequence);
        write_result(r, o);
        break;
    }
    case DOUDI__OUTCOME__OUTCOME_REJECTED:
        count_rejection(r, ev, st->reason, st->reason_text, st->dead_letter_id, true);
        break;
    default: {
        /* Not an answer this build understands: the event did not get in as
         * far as we can tell, so count it against the run. */
        char text[96];
        snprintf(text, sizeof(text), "intake answered with outcome %d, unknown to doudictl",
                 (int)st->outcome);
        count_rejection(r, ev, st->reason, text, st->dead_letter_id, true);
        break;
    }
    }
}

void ctl_report_request_refused(ctl_report *r, uint64_t request_id, const ctl_event_ref *evs,
                                size_t n, int reason, const char *text)
{
    char label[CTL_NAME_MAX];
    if (n > 0)
        ctl_warn("request %" PRIu64 " (%s:%" PRIu64 "-%" PRIu64 ", %zu events) refused: %s: %s",
                 request_id, evs[0].file, evs[0].line, evs[n - 1].line, n,
                 ctl_reject_reason_label(reason, label), text);
    for (size_t i = 0; i < n; i++)
        count_rejection(r, &evs[i], reason, text, 0, false);
}

void ctl_report_unanswered(ctl_report *r, const ctl_event_ref *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->unanswered++;
        write_result(r, result_object(&evs[i], "UNANSWERED"));
    }
}

void ctl_report_flush(ctl_report *r)
{
    if (r->results && !r->write_error && fflush(r->results) != 0)
        r->write_error = errno ? errno : EIO;
}

void ctl_report_count_request(ctl_report *r)
{
    r->requests++;
}

void ctl_report_count_resends(ctl_report *r, uint64_t n)
{
    r->resends += n;
}

void ctl_report_summary(ctl_report *r, FILE *out, double elapsed_s)
{
    if (r->not_shown) {
        fflush(stdout);
        fprintf(stderr, "%s: %" PRIu64 " more rejections not shown%s\n", ctl_command(),
                r->not_shown, r->results ? " (all are in the results file)" : "");
    }
    uint64_t answered = r->accepted + r->duplicate + r->rejected;
    fprintf(out, "accepted:   %" PRIu64 "\n", r->accepted);
    fprintf(out, "duplicate:  %" PRIu64 "\n", r->duplicate);
    fprintf(out, "rejected:   %" PRIu64 "\n", r->rejected);
    for (int i = 0; i < REASON_SLOTS; i++) {
        if (!r->by_reason[i])
            continue;
        char label[CTL_NAME_MAX];
        if (i == REASON_SLOTS - 1)
            snprintf(label, sizeof(label), "reason_%d_and_above", i);
        else
            ctl_reject_reason_label(i, label);
        fprintf(out, "  %-26s %" PRIu64 "\n", label, r->by_reason[i]);
    }
    fprintf(out, "invalid:    %" PRIu64 " lines\n", r->invalid);
    if (r->unanswered)
        fprintf(out, "unanswered: %" PRIu64 " (fate unknown; publishing them again is harmless)\n",
                r->unanswered);
    fprintf(out, "requests:   %" PRIu64 "\n", r->requests);
    fprintf(out, "resends:    %" PRIu64 "%s\n", r->resends,
            r->resends && r->duplicate ? " (a resent event that got in the first time is"
                                         " answered as a duplicate)"
                                       : "");
    fprintf(out, "elapsed:    %.3f s\n", elapsed_s);
    if (answered > 0 && elapsed_s > 0)
        fprintf(out, "rate:       %.0f events/s\n", (double)answered / elapsed_s);
    else
        fprintf(out, "rate:       - events/s\n");
    fflush(out);
}

int ctl_report_exit_status(const ctl_report *r)
{
    return (r->rejected || r->invalid) ? CTL_EXIT_FAILED : CTL_EXIT_OK;
}
