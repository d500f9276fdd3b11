/*
 * report.h: what `doudictl publish` learned about each event, counted,
 * written to the --results file, and summed up at the end.
 *
 * Every input line ends in exactly one of: invalid (never sent), accepted,
 * duplicate, rejected (by intake, alone or with its whole request), or
 * unanswered (doudictl gave up waiting; its fate is unknown, and publishing
 * it again is harmless because intake deduplicates by source and event id).
 *
 * People read stderr: each invalid line, and each rejection up to a cap
 * (then a count). Scripts read the --results file: one JSON object per event
 * sent, in the order the answers came, e.g.
 *   {"file":"a.jsonl","line":7,"eventId":"e-7","outcome":"REJECTED",
 *    "reason":"id_bad_check","reasonText":"...","deadLetterId":"12"}
 * with "sequence" (a decimal string, as proto3 JSON writes 64-bit numbers)
 * for ACCEPTED and DUPLICATE, and reason, reasonText and deadLetterId for
 * REJECTED (deadLetterId only when intake kept the event). Events counted as
 * unanswered are written with outcome "UNANSWERED".
 */
#ifndef CTL_REPORT_H
#define CTL_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "doudi/publish.pb-c.h"

/* Where an event came from. file is borrowed (it must outlive the report). */
typedef struct ctl_event_ref {
    const char *file;
    uint64_t line;
    char *event_id; /* owned by whoever holds the ref */
} ctl_event_ref;

typedef struct ctl_report ctl_report;

/*
 * A new report. results_path (NULL: none; "-": stdout) is created or
 * truncated now, so a path that cannot be written is found before anything
 * is sent. Returns 0 or -errno.
 */
int ctl_report_new(const char *results_path, unsigned max_rejections_shown, ctl_report **out);

/*
 * Flushes and closes the results file; returns 0 or -errno if writing it
 * failed at any point. Frees the report; accepts NULL, nulls *r.
 */
int ctl_report_destroy(ctl_report **r);

/* A line that could not be parsed or packed; printed as "FILE:LINE: why". */
void ctl_report_invalid(ctl_report *r, const char *file, uint64_t line, const char *why);

/* Intake's answer for one event. */
void ctl_report_status(ctl_report *r, const ctl_event_ref *ev, const Doudi__EventStatus *st);

/*
 * A whole request refused (request_error set): printed once, and each of
 * its n events counted as rejected with that reason.
 */
void ctl_report_request_refused(ctl_report *r, uint64_t request_id, const ctl_event_ref *evs,
                                size_t n, int reason, const char *text);

/* Events whose answer never came (gave up, or the reply was unusable). */
void ctl_report_unanswered(ctl_report *r, const ctl_event_ref *evs, size_t n);

/*
 * Pushes the results written so far out of stdio's buffer, so a reader of a
 * pipe sees each answer when it comes. Called once per reply.
 */
void ctl_report_flush(ctl_report *r);

/* Requests and resends, for the summary. */
void ctl_report_count_request(ctl_report *r);
void ctl_report_count_resends(ctl_report *r, uint64_t n);

/*
 * Prints the rejections that went over the cap as a count (stderr), and the
 * summary on out: accepted, duplicate, rejected with counts per reason,
 * invalid lines, unanswered, requests, resends, elapsed and events/s.
 */
void ctl_report_summary(ctl_report *r, FILE *out, double elapsed_s);

/* The exit status the outcomes call for (CTL_EXIT_OK or CTL_EXIT_FAILED). */
int ctl_report_exit_status(const ctl_report *r);

#endif
