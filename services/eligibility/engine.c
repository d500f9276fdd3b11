/*
 * engine.c: applying intake's records to the registry, re-deciding, and
 * appending eligibility's output (see engine.h for the picture).
 */
#include "engine.h"
#include "factcache.h"
#include "facts.h"

#include "alloc.h"
#include "care.h"
#include "clock.h"
#include "diag.h"
#include "error.h"
#include "idnum.h"
#include "rules.h"
#include "screen.h"
#include "wiredecode.h"
#include "wireencode.h"

#include "doudi/eligibility.pb-c.h"
#include "doudi/event.pb-c.h"
#include "doudi/registry.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#define MAX_MEMBERS 64

/*
 * Records decoded together before any of them is applied: decoding a chunk
 * also starts fetching the fact-cache slots its comparison records will look
 * up, so those misses (a table of up to a gigabyte, read at random) overlap
 * instead of stalling one record after the other.
 */
#define APPLY_CHUNK 64

/*
 * The fact-cache keys the engine wrote while a screened chunk was screened
 * and applied, as bits of a hash: a verdict about a person whose bit is set
 * is asked again (a collision only costs that). One set for the chunk being
 * applied and one for the chunk before, because the thread screens chunk
 * c + 1 from the moment chunk c starts.
 */
#define WRITTEN_BITS 16
#define WRITTEN_WORDS ((1u << WRITTEN_BITS) / 64)

struct elig_engine {
    elig_registry *registry;
    dd_log *out;
    const elig_standards *standards;
    elig_engine_options opt;
    dd_arena *arena;
    dd_wire_writer packed; /* an output record or a copy being compared */
    dd_arena *due_arena;  /* in use while due entries are handled */
    dd_arena *chunk_arena; /* the decoded records of the chunk being applied */
    Doudi__Envelope *chunk[APPLY_CHUNK]; /* their envelopes (NULL: undecodable) */
    elig_batch_stats stats;
    elig_decision decisions[ELIG_PROGRAMS]; /* scratch: large, so not on the stack */
    struct household_ctx *ctxp;
    int64_t next_due_ms;  /* earliest due entry in the open transaction */
    elig_factcache *facts;
    /* The person the record being applied just stored (NULL: none); lives
     * in the arena until the record is done. */
    Doudi__StoredPerson *just_stored;
    uint64_t *facts_put;  /* keys put in the cache since the last commit */
    size_t nfacts_put, facts_put_cap;
    elig_screener *screener; /* NULL: no screening thread */
    bool screening;          /* a chunk may be in the thread's hands */
    unsigned written_now;    /* written[written_now]: the chunk being applied */
    uint64_t written[2][WRITTEN_WORDS];
    uint64_t screen_wait_seen;
    /* Per batch: */
    MDB_txn *txn;
    int64_t now_ms;       /* newest event time applied */
    uint64_t seq;         /* intake sequence of the record being applied */
    int64_t occurred_ms;  /* its event time */
};

static void screen_chunk(void *arg, Doudi__LogRecord *const *records, size_t n, dd_arena *arena,
                         elig_screened *out);

elig_engine *elig_engine_new(elig_registry *registry, dd_log *out,
                             const elig_standards *standards,
                             const elig_engine_options *options)
{
    elig_engine *e = dd_calloc(1, sizeof(*e));
    e->registry = registry;
    e->out = out;
    e->standards = standards;
    e->opt = *options;
    e->arena = dd_arena_new(1 << 20);
    e->due_arena = dd_arena_new(64 << 10);
    e->chunk_arena = dd_arena_new(256 << 10);
    e->facts = elig_factcache_new(options->fact_cache_bytes);
    if (options->screen_chunk)
        e->screener = elig_screener_new(screen_chunk, e, options->screen_chunk);
    return e;
}

void elig_engine_destroy(elig_engine **ep)
{
    if (!ep || !*ep)
        return;
    elig_screener_destroy(&(*ep)->screener);
    dd_arena_destroy(&(*ep)->arena);
    dd_wire_writer_free(&(*ep)->packed);
    dd_arena_destroy(&(*ep)->due_arena);
    dd_arena_destroy(&(*ep)->chunk_arena);
    elig_factcache_destroy(&(*ep)->facts);
    free((*ep)->facts_put);
    free((*ep)->ctxp);
    free(*ep);
    *ep = NULL;
}

void elig_engine_batch_committed(elig_engine *e)
{
    e->nfacts_put = 0;
}

void elig_engine_batch_aborted(elig_engine *e)
{
    /* What the aborted batch taught the cache may never have been stored. */
    for (size_t i = 0; i < e->nfacts_put; i++)
        elig_factcache_forget(e->facts, e->facts_put[i]);
    e->nfacts_put = 0;
    elig_registry_batch_aborted(e->registry);
}

void elig_engine_fact_cache_stats(const elig_engine *e, elig_factcache_stats *out)
{
    elig_factcache_stats_get(e->facts, out);
}

void elig_engine_set_standards(elig_engine *e, const elig_standards *standards)
{
    e->standards = standards;
}

const elig_batch_stats *elig_engine_last_batch(const elig_engine *e)
{
    return &e->stats;
}

/* ---- small helpers ------------------------------------------------------ */

/* memcpy for arrays that may be empty: protobuf-c leaves an empty list NULL,
 * and memcpy from NULL is undefined even for 0 bytes. */
static inline void copy_array(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        memcpy(dst, src, bytes);
}


static char *astrdup(elig_engine *e, const char *s)
{
    size_t len = strlen(s);
    char *p = dd_arena_alloc(e->arena, len + 1);
    memcpy(p, s, len + 1);
    return p;
}

static int append_msg(elig_engine *e, uint32_t kind, const ProtobufCMessage *msg)
{
    size_t len;
    const uint8_t *buf = dd_wire_encode(&e->packed, msg, &len);
    return dd_log_append(e->out, e->txn, kind, e->occurred_ms, buf, len, NULL);
}

/* Township part 001-099 is a subdistrict (urban); 100-399 a town or township. */
static Doudi__UrbanRural urban_rural_of_region(const char *region)
{
    if (strlen(region) < 9)
        return DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN;
    int township = (region[6] - '0') * 100 + (region[7] - '0') * 10 + (region[8] - '0');
    return township < 100 ? DOUDI__URBAN_RURAL__URBAN_RURAL_URBAN
                          : DOUDI__URBAN_RURAL__URBAN_RURAL_RURAL;
}

static int alert(elig_engine *e, Doudi__AlertKind kind, Doudi__AlertSeverity severity,
                 const char *person_id, const char *household_id, const char *region,
                 Doudi__Program program, Doudi__RiskKind risk, int64_t handle_within_ms,
                 const char *reason)
{
    Doudi__Alert a = DOUDI__ALERT__INIT;
    a.kind = kind;
    a.severity = severity;
    a.subject_person_id = (char *)(person_id ? person_id : "");
    a.household_id = (char *)(household_id ? household_id : "");
    a.region_code = (char *)(region ? region : "");
    a.program = program;
    a.risk_kind = risk;
    a.reason = (char *)reason;
    a.raised_at_ms = e->occurred_ms > e->now_ms ? e->occurred_ms : e->now_ms;
    a.handle_within_ms = handle_within_ms;
    a.caused_by_sequence = e->seq;
    char key[160];
    snprintf(key, sizeof(key), "%d:%s:%d", (int)kind,
             person_id && person_id[0] ? person_id : (household_id ? household_id : ""),
             kind == DOUDI__ALERT_KIND__ALERT_KIND_RISK ? (int)risk : (int)program);
    a.dedup_key = key;
    if ((size_t)kind < sizeof(e->stats.alerts) / sizeof(e->stats.alerts[0]))
        e->stats.alerts[kind]++;
    return append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_ALERT, &a.base);
}

static const char *program_label(Doudi__Program p)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&doudi__program__descriptor, p);
    return v ? v->name + strlen("PROGRAM_") : "UNKNOWN";
}

/* ---- registry records --------------------------------------------------- */

static Doudi__StoredPerson *new_person(elig_engine *e, const char *person_id)
{
    Doudi__StoredPerson *p = dd_arena_alloc(e->arena, sizeof(*p));
    doudi__stored_person__init(p);
    p->report = dd_arena_alloc(e->arena, sizeof(*p->report));
    doudi__person_reported__init(p->report);
    p->report->person_id = astrdup(e, person_id);
    return p;
}

static Doudi__StoredHousehold *new_household(elig_engine *e, const char *household_id)
{
    Doudi__StoredHousehold *h = dd_arena_alloc(e->arena, sizeof(*h));
    doudi__stored_household__init(h);
    h->report = dd_arena_alloc(e->arena, sizeof(*h->report));
    doudi__household_reported__init(h->report);
    h->report->household_id = astrdup(e, household_id);
    return h;
}

/* Schedules a look at (type, id) at event time due_ms. */
static int add_due(elig_engine *e, int64_t due_ms, char type, const char *id)
{
    if (due_ms < e->next_due_ms)
        e->next_due_ms = due_ms;
    return elig_registry_add_due(e->registry, e->txn, due_ms, type, id);
}

/*
 * Gets a person, or a new placeholder when absent; a placeholder belongs to
 * the region of the event that referenced it, so that its dangling-reference
 * alert has a village to go to. The alert is scheduled only for a reference
 * (own_report false): a record created for its own report is filled at once,
 * and a province's registry must not leave millions of checks behind.
 */
static int person_or_placeholder(elig_engine *e, const char *person_id, const char *region,
                                 bool own_report, Doudi__StoredPerson **out, bool *created)
{
    *created = false;
    int rc = elig_registry_get_person(e->registry, e->txn, person_id, e->arena, out);
    if (rc != DD_NOTFOUND)
        return rc;
    *out = new_person(e, person_id);
    (*out)->placeholder = true;
    (*out)->region_code = astrdup(e, region);
    (*out)->first_referenced_at_ms = e->now_ms;
    (*out)->sequence = e->seq;
    *created = true;
    return own_report ? 0 : add_due(e, e->now_ms + e->opt.dangling_wait_ms, 'P', person_id);
}

/* The household counterpart of person_or_placeholder. */
static int household_or_placeholder(elig_engine *e, const char *household_id,
                                    const char *region, bool own_report,
                                    Doudi__StoredHousehold **out, bool *created)
{
    *created = false;
    int rc = elig_registry_get_household(e->registry, e->txn, household_id, e->arena, out);
    if (rc != DD_NOTFOUND)
        return rc;
    *out = new_household(e, household_id);
    (*out)->placeholder = true;
    (*out)->first_referenced_at_ms = e->now_ms;
    (*out)->region_code = astrdup(e, region);
    (*out)->sequence = e->seq;
    *created = true;
    return own_report ? 0 : add_due(e, e->now_ms + e->opt.dangling_wait_ms, 'H', household_id);
}

/* A placeholder was filled by its report: its dangling check is moot. (If
 * dangling_wait changed since it was scheduled, the check stays and finds
 * the record filled.) */
static int cancel_dangling_check(elig_engine *e, int64_t first_referenced_at_ms, char type,
                                 const char *id)
{
    return elig_registry_cancel_due(e->registry, e->txn,
                                    first_referenced_at_ms + e->opt.dangling_wait_ms, type, id);
}

static bool has_member(const Doudi__StoredHousehold *h, const char *person_id)
{
    for (size_t i = 0; i < h->report->n_member_person_ids; i++)
        if (strcmp(h->report->member_person_ids[i], person_id) == 0)
            return true;
    return false;
}

static void add_member(elig_engine *e, Doudi__StoredHousehold *h, const char *person_id)
{
    char **ids = dd_arena_alloc(e->arena, (h->report->n_member_person_ids + 1) * sizeof(char *));
    copy_array(ids, h->report->member_person_ids, h->report->n_member_person_ids * sizeof(char *));
    ids[h->report->n_member_person_ids++] = astrdup(e, person_id);
    h->report->member_person_ids = ids;
}

static void remove_member(Doudi__StoredHousehold *h, const char *person_id)
{
    size_t w = 0;
    for (size_t i = 0; i < h->report->n_member_person_ids; i++)
        if (strcmp(h->report->member_person_ids[i], person_id) != 0)
            h->report->member_person_ids[w++] = h->report->member_person_ids[i];
    h->report->n_member_person_ids = w;
}

/* ---- facts for the rules ----------------------------------------------- */

static void to_elig_person(elig_engine *e, const Doudi__StoredPerson *sp, elig_person *p)
{
    (void)e;
    memset(p, 0, sizeof(*p));
    const Doudi__PersonReported *r = sp->report;
    size_t id_len = strnlen(r->person_id, sizeof(p->id) - 1);
    memcpy(p->id, r->person_id, id_len);
    p->id[id_len] = '\0';
    dd_idnum_info info;
    if (dd_idnum_check(r->person_id, strlen(r->person_id), 99991231, &info) == DD_IDNUM_OK) {
        p->birth_yyyymmdd = info.birth_year * 10000 + info.birth_month * 100 + info.birth_day;
        p->male = info.male;
    }
    p->disability_grade = r->disability_grade;
    p->disability_type = r->disability_type;
    if (r->daily_living) {
        p->adl[0] = r->daily_living->eating;
        p->adl[1] = r->daily_living->dressing;
        p->adl[2] = r->daily_living->getting_in_out_of_bed;
        p->adl[3] = r->daily_living->toileting;
        p->adl[4] = r->daily_living->walking_indoors;
        p->adl[5] = r->daily_living->bathing;
    }
    p->living = r->living_arrangement;
    p->family_planning = r->family_planning_special;
    p->work_ability = r->work_ability;
    p->supporter = r->legal_supporter;
    p->own_income_fen = sp->income_known ? sp->verified_income_fen : r->own_monthly_income_fen;
    if (sp->receiving_pension)
        p->own_income_fen += sp->monthly_pension_fen;
    p->own_assets_fen = sp->assets_known ? sp->verified_assets_fen : 0;
    p->main_earner = r->main_earner;
    p->child_in_difficulty = r->child_in_difficulty;
    p->life_threatening_condition = r->life_threatening_condition;
    p->registered_unemployed = sp->registered_unemployed;
    p->deceased = r->died_at_ms != 0;
    p->danger_found_last_visit = sp->danger_found_last_visit;
    for (size_t i = 0; i < sp->n_enrolments; i++) {
        Doudi__Program prog = sp->enrolments[i]->program;
        if (prog > 0 && prog < ELIG_PROGRAMS) {
            p->enrolled[prog] = sp->enrolments[i]->enrolled;
            p->enrolled_amount_fen[prog] = sp->enrolments[i]->amount_fen;
        }
    }
    for (size_t i = 0; i < sp->n_applications; i++) {
        Doudi__Program prog = sp->applications[i]->program;
        if (prog > 0 && prog < ELIG_PROGRAMS)
            p->application_pending[prog] = true;
    }
    p->rigid_recognized_since = sp->rigid_recognized_since_yyyymmdd;
}

/* ---- evaluation ---------------------------------------------------------- */

typedef struct member_state {
    Doudi__StoredPerson *stored;
    bool dirty;
} member_state;

static bool categories_equal(const Doudi__StoredPerson *sp, const elig_care *c)
{
    if (sp->n_categories != c->ncategories || sp->tier != c->tier)
        return false;
    for (size_t i = 0; i < c->ncategories; i++)
        if (sp->categories[i] != c->categories[i])
            return false;
    return true;
}

static int emit_care_change(elig_engine *e, const Doudi__StoredPerson *sp, const char *region,
                            const elig_care *c, const char *reason, bool within_24h)
{
    Doudi__CareChange cc = DOUDI__CARE_CHANGE__INIT;
    cc.person_id = sp->report->person_id;
    cc.household_id = sp->report->household_id;
    cc.region_code = (char *)region;
    dd_idnum_info info;
    if (dd_idnum_check(cc.person_id, strlen(cc.person_id), 99991231, &info) == DD_IDNUM_OK)
        cc.birth_yyyymmdd = info.birth_year * 10000 + info.birth_month * 100 + info.birth_day;
    cc.n_categories = c->ncategories;
    cc.categories = (Doudi__CareCategory *)c->categories;
    cc.n_previous_categories = sp->n_categories;
    cc.previous_categories = sp->categories;
    cc.tier = c->tier;
    cc.previous_tier = sp->tier;
    cc.care_level = c->care_level;
    cc.visit_within_24h = within_24h;
    cc.reason = (char *)reason;
    cc.caused_by_sequence = e->seq;
    cc.occurred_at_ms = e->occurred_ms;
    cc.deceased = sp->report->died_at_ms != 0;
    e->stats.care_changes++;
    return append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_CARE_CHANGE,
                      &cc.base);
}

/* Classifies one person; records and emits a change. */
static int classify(elig_engine *e, Doudi__StoredPerson *sp, const char *region, bool tekun,
                    int32_t today, const char *reason, bool within_24h, bool *dirty)
{
    if (sp->placeholder)
        return 0;
    elig_person p;
    to_elig_person(e, sp, &p);
    elig_care c;
    elig_classify(&e->opt.params, &p, tekun, today, &c);
    int rc = 0;
    bool moved = c.ncategories > 0 && sp->care_region_code[0] &&
                 strcmp(sp->care_region_code, region) != 0;
    if (!categories_equal(sp, &c) || within_24h || moved) {
        rc = emit_care_change(e, sp, region, &c, moved && categories_equal(sp, &c)
                                                      ? "moved to another village"
                                                      : reason,
                              within_24h);
        if (rc)
            return rc;
        sp->care_region_code = astrdup(e, region);
        Doudi__CareCategory *cats = dd_arena_alloc(e->arena, (c.ncategories + 1) * sizeof(*cats));
        copy_array(cats, c.categories, c.ncategories * sizeof(*cats));
        sp->categories = cats;
        sp->n_categories = c.ncategories;
        sp->tier = c.tier;
        sp->care_level = c.care_level;
        *dirty = true;
    }
    if (c.missing_information && !sp->missing_information_alerted) {
        char text[300];
        snprintf(text, sizeof(text),
                 "%s cannot be classified for care visits: %s; information collection must "
                 "be complete",
                 sp->report->person_id, c.missing_what);
        rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_MISSING_INFORMATION,
                   DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING, sp->report->person_id,
                   sp->report->household_id, region, 0, 0, e->opt.missing_info_handle_ms, text);
        sp->missing_information_alerted = true;
        *dirty = true;
    } else if (!c.missing_information && sp->missing_information_alerted) {
        sp->missing_information_alerted = false;
        *dirty = true;
    }
    return rc;
}

static int decision_to_output(elig_engine *e, const elig_decision *d, const char *person_id,
                              const char *household_id, const char *region, bool enrolled,
                              const Doudi__Decision *previous, const char *application_id,
                              Doudi__Decision *out)
{
    doudi__decision__init(out);
    out->person_id = (char *)person_id;
    out->household_id = (char *)household_id;
    out->region_code = (char *)region;
    out->program = d->program;
    out->eligible = d->eligible;
    out->amount_fen = d->amount_fen;
    out->enrolled = enrolled;
    out->rule = (char *)(d->rule ? d->rule : "");
    out->n_trace = d->ntrace;
    out->trace = dd_arena_alloc(e->arena, (d->ntrace + 1) * sizeof(char *));
    for (size_t i = 0; i < d->ntrace; i++)
        out->trace[i] = astrdup(e, d->trace[i]);
    out->n_parameters = d->nparams;
    out->parameters = dd_arena_alloc(e->arena, (d->nparams + 1) * sizeof(void *));
    for (size_t i = 0; i < d->nparams; i++) {
        Doudi__ParameterValue *pv = dd_arena_alloc(e->arena, sizeof(*pv));
        doudi__parameter_value__init(pv);
        pv->name = (char *)d->params[i].name;
        pv->value = d->params[i].value;
        out->parameters[i] = pv;
    }
    out->standard_version = astrdup(e, d->standard_version);
    out->caused_by_sequence = e->seq;
    out->decided_at_ms = e->occurred_ms;
    if (previous) {
        out->previous_eligible = previous->eligible;
        out->previous_amount_fen = previous->amount_fen;
    }
    out->application_id = (char *)(application_id ? application_id : "");
    return 0;
}

static uint64_t rule_digest(const elig_decision *d)
{
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    const char *rule = d->rule ? d->rule : "";
    XXH3_64bits_update(&st, rule, strlen(rule) + 1);
    XXH3_64bits_update(&st, d->standard_version, strnlen(d->standard_version, sizeof(d->standard_version)));
    return XXH3_64bits_digest(&st);
}

/* The summaries of one member in the household record (NULL if none yet). */
static Doudi__MemberSummaries *member_summaries(const Doudi__StoredHousehold *h, const char *person_id)
{
    for (size_t i = 0; i < h->n_members; i++)
        if (strcmp(h->members[i]->person_id, person_id) == 0)
            return h->members[i];
    return NULL;
}

static Doudi__MemberSummaries *member_summaries_add(elig_engine *e, Doudi__StoredHousehold *h,
                                                    const char *person_id)
{
    Doudi__MemberSummaries *m = member_summaries(h, person_id);
    if (m)
        return m;
    m = dd_arena_alloc(e->arena, sizeof(*m));
    doudi__member_summaries__init(m);
    m->person_id = (char *)person_id;
    Doudi__MemberSummaries **list = dd_arena_alloc(e->arena, (h->n_members + 1) * sizeof(void *));
    copy_array(list, h->members, h->n_members * sizeof(void *));
    list[h->n_members++] = m;
    h->members = list;
    return m;
}

/* Drops the summaries of members no longer listed (they left or died out). */
static bool prune_summaries(Doudi__StoredHousehold *h)
{
    size_t w = 0;
    for (size_t i = 0; i < h->n_members; i++) {
        bool listed = false;
        for (size_t j = 0; j < h->report->n_member_person_ids && !listed; j++)
            listed = strcmp(h->report->member_person_ids[j], h->members[i]->person_id) == 0;
        if (listed)
            h->members[w++] = h->members[i];
    }
    bool pruned = w != h->n_members;
    h->n_members = w;
    return pruned;
}

static Doudi__DecisionSummary *find_summary(const Doudi__MemberSummaries *m, Doudi__Program program)
{
    for (size_t i = 0; m && i < m->n_decisions; i++)
        if (m->decisions[i]->program == program)
            return m->decisions[i];
    return NULL;
}

/* Whether a quietly decided outcome differs from what the household holds. */
static bool summary_differs(const Doudi__DecisionSummary *s, const elig_decision *d, bool enrolled)
{
    return !s || s->eligible != d->eligible || s->amount_fen != d->amount_fen ||
           s->enrolled != enrolled || s->rule_digest != rule_digest(d) ||
           s->amount_per_household != d->amount_per_household;
}

/* Replaces (or adds, in program order) the summary of d's program. */
static Doudi__DecisionSummary *set_summary(elig_engine *e, Doudi__MemberSummaries *m,
                                           const elig_decision *d, bool enrolled)
{
    Doudi__DecisionSummary *s = find_summary(m, d->program);
    if (!s) {
        s = dd_arena_alloc(e->arena, sizeof(*s));
        doudi__decision_summary__init(s);
        s->program = d->program;
        Doudi__DecisionSummary **list = dd_arena_alloc(e->arena, (m->n_decisions + 1) * sizeof(void *));
        size_t w = 0;
        bool placed = false;
        for (size_t i = 0; i < m->n_decisions; i++) {
            if (!placed && m->decisions[i]->program > d->program) {
                list[w++] = s;
                placed = true;
            }
            list[w++] = m->decisions[i];
        }
        if (!placed)
            list[w++] = s;
        m->decisions = list;
        m->n_decisions = w;
    }
    bool outcome_changed = s->eligible != d->eligible || s->amount_fen != d->amount_fen ||
                           !s->caused_by_sequence;
    if (outcome_changed) {
        s->previous_eligible = s->eligible;
        s->previous_amount_fen = s->amount_fen;
        s->caused_by_sequence = e->seq;
        s->decided_at_ms = e->occurred_ms;
        s->application_id = "";
    }
    s->eligible = d->eligible;
    s->amount_fen = d->amount_fen;
    s->amount_per_household = d->amount_per_household;
    s->enrolled = enrolled;
    s->rule_digest = rule_digest(d);
    return s;
}

/*
 * Stores a decision that changed (prev: the summary it replaces, or NULL);
 * emits it and the alerts it implies.
 */
static int record_decision(elig_engine *e, const elig_decision *d, const Doudi__StoredPerson *sp,
                           const char *region, const elig_person *p,
                           const Doudi__DecisionSummary *prev)
{
    bool enrolled = p->enrolled[d->program];
    bool outcome_changed = !prev || prev->eligible != d->eligible ||
                           prev->amount_fen != d->amount_fen;
    Doudi__Decision out;
    Doudi__Decision previous = DOUDI__DECISION__INIT;
    if (prev) {
        previous.eligible = prev->eligible;
        previous.amount_fen = prev->amount_fen;
    }
    decision_to_output(e, d, sp->report->person_id, sp->report->household_id, region, enrolled,
                       prev ? &previous : NULL, NULL, &out);
    int rc = 0;
    /* A first decision of "not eligible" is not news: summarised quietly. */
    if (outcome_changed && (prev || d->eligible)) {
        e->stats.decisions_changed[d->program]++;
        rc = append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_DECISION,
                        &out.base);
        if (rc)
            return rc;
    }
    /* Proactive discovery and review: a person decides, never the machine. */
    bool was_eligible = prev && prev->eligible;
    char text[300];
    if (d->eligible && !was_eligible && !enrolled && !p->application_pending[d->program] &&
        d->program != DOUDI__PROGRAM__PROGRAM_DIBIAN) {
        snprintf(text, sizeof(text), "now eligible for %s (%s), not enrolled and no application "
                                     "pending: contact the household",
                 program_label(d->program), d->rule);
        rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_DISCOVERY, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_INFO,
                   sp->report->person_id, sp->report->household_id, region, d->program, 0,
                   e->opt.discovery_handle_ms, text);
    } else if (!d->eligible && enrolled && (was_eligible || !prev)) {
        snprintf(text, sizeof(text), "enrolled in %s but no longer eligible (%s): review the "
                                     "case; benefits continue until a caseworker decides",
                 program_label(d->program), d->rule);
        rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_REVIEW, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                   sp->report->person_id, sp->report->household_id, region, d->program, 0,
                   e->opt.review_handle_ms, text);
    }
    return rc;
}

/*
 * Decides every program for hh->members[k] (stored as sp), compares the
 * outcomes with the member's summaries in h, and records what changed
 * (outcome, rule and parameters; no trace sentences).
 * e->decisions holds the outcomes afterwards.
 */
static int decide_member(elig_engine *e, Doudi__StoredHousehold *h, const elig_standard *std,
                         const elig_household *eh, size_t k, const Doudi__StoredPerson *sp,
                         int32_t today, bool *household_dirty)
{
    int rc;
    const elig_person *person = &eh->members[k];
    /* Outcomes first; a trace is formatted only for what changed. */
    elig_decision *out = e->decisions;
    elig_decide_outcomes(&e->opt.params, std, eh, k, today, out);
    Doudi__MemberSummaries *sums = member_summaries(h, sp->report->person_id);
    bool changed[ELIG_PROGRAMS] = {false};
    bool any = false;
    for (int prog = 1; prog < ELIG_PROGRAMS; prog++) {
        if (prog == DOUDI__PROGRAM__PROGRAM_TEMP)
            continue;
        changed[prog] = summary_differs(find_summary(sums, prog), &out[prog], person->enrolled[prog]);
        any |= changed[prog];
    }
    if (!any)
        return 0;
    /* The log carries outcome, rule and parameters; the sentences of the
     * trace are derived when someone asks (elig_engine_explain), which
     * keeps formatting off the path every change takes. */
    sums = member_summaries_add(e, h, sp->report->person_id);
    *household_dirty = true;
    for (int prog = 1; prog < ELIG_PROGRAMS; prog++) {
        if (!changed[prog])
            continue;
        Doudi__DecisionSummary *prev = find_summary(sums, prog);
        Doudi__DecisionSummary prev_copy;
        if (prev)
            prev_copy = *prev;
        if ((rc = record_decision(e, &out[prog], sp, h->region_code, person,
                                  prev ? &prev_copy : NULL)) != 0)
            return rc;
        set_summary(e, sums, &out[prog], person->enrolled[prog]);
    }
    return 0;
}

/*
 * Re-decides every program for every living member of a household and
 * re-classifies them; `reason` explains the care change, within_24h_for
 * (may be NULL) names a member who needs a visit within 24 hours.
 */
/* A household with its members read and its facts derived for the rules. */
typedef struct household_ctx {
    Doudi__StoredHousehold *h;
    size_t n;                          /* members listed (capped) */
    member_state ms[MAX_MEMBERS];      /* stored == NULL: never reported */
    elig_person persons[MAX_MEMBERS];  /* the living ones */
    size_t index_of[MAX_MEMBERS];      /* persons[k] is ms[index_of[k]] */
    size_t nliving;
    elig_household eh;
} household_ctx;

/* Reads a household and its members in e->txn; DD_NOTFOUND when absent. */
static int load_household(elig_engine *e, const char *household_id, household_ctx *c)
{
    int rc = elig_registry_get_household(e->registry, e->txn, household_id, e->arena, &c->h);
    if (rc)
        return rc;
    Doudi__StoredHousehold *h = c->h;
    size_t n = h->report->n_member_person_ids;
    if (n > MAX_MEMBERS)
        n = MAX_MEMBERS;
    c->n = n;
    c->nliving = 0;
    elig_registry_prefetch_members(e->registry, household_id, h->report->member_person_ids, n);
    int64_t verified_income = 0, verified_assets = 0, max_vehicle = 0;
    int32_t verified_dwellings = 0;
    bool any_income_known = false;
    for (size_t i = 0; i < n; i++) {
        c->ms[i].dirty = false;
        const char *member = h->report->member_person_ids[i];
        if (e->just_stored && strcmp(e->just_stored->report->person_id, member) == 0) {
            /* Stored a moment ago by this record: no need to read it back. */
            c->ms[i].stored = e->just_stored;
            rc = 0;
        } else {
            rc = elig_registry_get_member(e->registry, e->txn, household_id, member, e->arena,
                                          &c->ms[i].stored);
        }
        if (rc == DD_NOTFOUND) {
            c->ms[i].stored = NULL;
            continue;
        }
        if (rc)
            return rc;
        Doudi__StoredPerson *sp = c->ms[i].stored;
        if (sp->report->died_at_ms)
            continue;
        to_elig_person(e, sp, &c->persons[c->nliving]);
        c->index_of[c->nliving++] = i;
        if (sp->income_known) {
            any_income_known = true;
            verified_income += sp->verified_income_fen;
        }
        verified_assets += sp->assets_known ? sp->verified_assets_fen : 0;
        verified_dwellings += sp->dwellings_known ? sp->verified_dwellings : 0;
        for (size_t v = 0; v < sp->n_verified_vehicle_values_fen; v++)
            if (sp->verified_vehicle_values_fen[v] > max_vehicle)
                max_vehicle = sp->verified_vehicle_values_fen[v];
    }
    elig_household *eh = &c->eh;
    memset(eh, 0, sizeof(*eh));
    size_t hid_len = strnlen(household_id, sizeof(eh->id) - 1);
    memcpy(eh->id, household_id, hid_len);
    eh->id[hid_len] = '\0';
    eh->urban_rural = h->report->urban_rural ? h->report->urban_rural
                                             : urban_rural_of_region(h->region_code);
    eh->members = c->persons;
    eh->nmembers = c->nliving;
    int64_t declared = 0;
    for (size_t i = 0; i < h->report->n_incomes; i++)
        declared += h->report->incomes[i]->monthly_fen;
    /* Departments' verified incomes win when they find more than declared. */
    eh->monthly_income_fen = any_income_known && verified_income > declared ? verified_income
                                                                            : declared;
    eh->financial_assets_fen = verified_assets > h->report->financial_assets_fen
                                   ? verified_assets
                                   : h->report->financial_assets_fen;
    eh->dwellings = verified_dwellings > h->report->dwellings ? verified_dwellings
                                                              : h->report->dwellings;
    for (size_t v = 0; v < h->report->n_vehicle_values_fen; v++)
        if (h->report->vehicle_values_fen[v] > max_vehicle)
            max_vehicle = h->report->vehicle_values_fen[v];
    eh->max_vehicle_value_fen = max_vehicle;
    if (h->report->rigid_spending_12_months) {
        const Doudi__RigidSpending *rs = h->report->rigid_spending_12_months;
        eh->rigid_spending_12m_fen = rs->medical_fen + rs->education_fen +
                                     rs->disability_rehabilitation_fen;
    }
    eh->previous_per_capita_income_fen = h->evaluated ? h->last_per_capita_income_fen : -1;
    return 0;
}

static int evaluate_household(elig_engine *e, const char *household_id, const char *reason,
                              const char *within_24h_for)
{
    int64_t t0 = dd_monotonic_ns();
    e->stats.evaluations++;
    /* Large (64 members), so kept in the engine; evaluations never nest. */
    if (!e->ctxp)
        e->ctxp = dd_calloc(1, sizeof(household_ctx));
    household_ctx *c = e->ctxp;
    int rc = load_household(e, household_id, c);
    if (rc)
        return rc == DD_NOTFOUND ? 0 : rc;
    Doudi__StoredHousehold *h = c->h;
    size_t n = c->n;
    member_state *ms = c->ms;
    elig_person *persons = c->persons;
    size_t nliving = c->nliving;
    size_t *index_of = c->index_of;
    elig_household eh = c->eh;

    int32_t today = dd_date_yyyymmdd_shanghai(e->occurred_ms);
    bool household_dirty = false;
    elig_standard std;
    bool have_standard = !h->placeholder &&
                         elig_standards_lookup(e->standards, h->region_code, today, &std) == 0;
    for (size_t k = 0; k < nliving; k++) {
        member_state *m = &ms[index_of[k]];
        Doudi__StoredPerson *sp = m->stored;
        if (sp->placeholder)
            continue;
        bool tekun = false;
        if (have_standard) {
            elig_decision *out = e->decisions;
            if ((rc = decide_member(e, h, &std, &eh, k, sp, today, &household_dirty)) != 0)
                return rc;
            tekun = out[DOUDI__PROGRAM__PROGRAM_TEKUN].eligible ||
                    persons[k].enrolled[DOUDI__PROGRAM__PROGRAM_TEKUN];
            /* Recognition of rigid hardship starts once and lasts 12 months. */
            if (out[DOUDI__PROGRAM__PROGRAM_RIGID].eligible && !sp->rigid_recognized_since_yyyymmdd) {
                sp->rigid_recognized_since_yyyymmdd = today;
                m->dirty = true;
            }
        }
        const char *region = sp->region_code[0] ? sp->region_code : h->region_code;
        bool urgent = within_24h_for && strcmp(within_24h_for, sp->report->person_id) == 0;
        if ((rc = classify(e, sp, region, tekun, today, reason, urgent, &m->dirty)) != 0)
            return rc;
        if (m->dirty && (rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
            return rc;
    }
    /* A member who died is classified once more (care.h: no category, no
     * tier): the care change, marked deceased, ends every visit plan. */
    for (size_t i = 0; i < n; i++) {
        Doudi__StoredPerson *sp = ms[i].stored;
        if (!sp || sp->placeholder || !sp->report->died_at_ms)
            continue;
        const char *region = sp->region_code[0] ? sp->region_code : h->region_code;
        if (have_standard && member_summaries(h, sp->report->person_id)) {
            /* Alone, so the rules see the death: eligible for nothing. */
            elig_person dead;
            to_elig_person(e, sp, &dead);
            elig_household alone = eh;
            alone.members = &dead;
            alone.nmembers = 1;
            if ((rc = decide_member(e, h, &std, &alone, 0, sp, today, &household_dirty)) != 0)
                return rc;
        }
        if ((rc = classify(e, sp, region, false, today, reason, false, &ms[i].dirty)) != 0)
            return rc;
        if (ms[i].dirty && (rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
            return rc;
    }
    /* A sudden fall of per-capita income is a monitoring risk. */
    if (nliving > 0 && !h->placeholder) {
        int64_t per_capita = eh.monthly_income_fen / (int64_t)nliving;
        if (h->evaluated && h->last_per_capita_income_fen > 0 &&
            (h->last_per_capita_income_fen - per_capita) * 1000 >
                (int64_t)e->opt.params.income_drop_permille * h->last_per_capita_income_fen) {
            char text[200];
            snprintf(text, sizeof(text),
                     "per-capita income fell from %lld to %lld fen a month (more than %d.%d %%)",
                     (long long)h->last_per_capita_income_fen, (long long)per_capita,
                     e->opt.params.income_drop_permille / 10, e->opt.params.income_drop_permille % 10);
            rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                       "", household_id, h->region_code, 0, DOUDI__RISK_KIND__RISK_KIND_INCOME_DROP,
                       e->opt.risk_handle_ms, text);
            if (rc)
                return rc;
        }
        if (!h->evaluated || h->last_per_capita_income_fen != per_capita) {
            h->evaluated = true;
            h->last_per_capita_income_fen = per_capita;
            household_dirty = true;
        }
    }
    if (prune_summaries(h))
        household_dirty = true;
    if (household_dirty && (rc = elig_registry_put_household(e->registry, e->txn, h)) != 0)
        return rc;
    e->stats.evaluation_ns += dd_monotonic_ns() - t0;
    return 0;
}

/* ---- applying each kind -------------------------------------------------- */

static bool same_bytes(elig_engine *e, const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la, lb;
    const uint8_t *ea = dd_wire_encode(&e->packed, a, &la);
    uint8_t *copy = dd_arena_alloc(e->arena, la + 1);
    memcpy(copy, ea, la);
    const uint8_t *eb = dd_wire_encode(&e->packed, b, &lb);
    return la == lb && memcmp(copy, eb, la) == 0;
}

/* Moves a person into household_id (out of any other), creating placeholders. */
static int place_in_household(elig_engine *e, const char *person_id, const char *old_household,
                              const char *new_household, const char *region)
{
    int rc;
    if (old_household && old_household[0] && strcmp(old_household, new_household) != 0) {
        Doudi__StoredHousehold *old;
        rc = elig_registry_get_household(e->registry, e->txn, old_household, e->arena, &old);
        if (rc == 0 && has_member(old, person_id)) {
            remove_member(old, person_id);
            if ((rc = elig_registry_delete_decisions(e->registry, e->txn, old_household, person_id)))
                return rc;
            if ((rc = elig_registry_put_household(e->registry, e->txn, old)) != 0)
                return rc;
            if ((rc = evaluate_household(e, old_household, "a member left the household", NULL)))
                return rc;
        } else if (rc && rc != DD_NOTFOUND) {
            return rc;
        }
    }
    Doudi__StoredHousehold *h;
    bool created;
    rc = household_or_placeholder(e, new_household, region, false, &h, &created);
    if (rc)
        return rc;
    if (!has_member(h, person_id) || created) {
        if (!has_member(h, person_id))
            add_member(e, h, person_id);
        h->sequence = e->seq;
        if ((rc = elig_registry_put_household(e->registry, e->txn, h)) != 0)
            return rc;
    }
    return 0;
}

/* Whether every finding of the record is what the registry already holds. */
static bool facts_known(elig_engine *e, const char *person_id, const uint64_t value[ELIG_FACT_KINDS])
{
    return elig_factcache_known(e->facts, elig_factcache_key(person_id), value);
}

static inline size_t written_bit(uint64_t key)
{
    return (size_t)(key >> 40) & ((1u << WRITTEN_BITS) - 1);
}

/* Whether the engine wrote the person's slot since the screening thread
 * could have read it (see WRITTEN_BITS). */
static bool written_lately(const elig_engine *e, uint64_t key)
{
    size_t bit = written_bit(key);
    uint64_t mask = UINT64_C(1) << (bit % 64);
    return ((e->written[0][bit / 64] | e->written[1][bit / 64]) & mask) != 0;
}

/* Before every write to the fact cache while a chunk may be screened. */
static void about_to_write_facts(elig_engine *e, uint64_t key)
{
    if (!e->screening)
        return;
    size_t bit = written_bit(key);
    e->written[e->written_now][bit / 64] |= UINT64_C(1) << (bit % 64);
    /* Growing or dropping the table moves every slot under the thread. */
    if (elig_factcache_full(e->facts))
        elig_screener_quiesce(e->screener);
}

/* Records in the fact cache every finding the registry now holds for sp. */
static void remember_person(elig_engine *e, const Doudi__StoredPerson *sp)
{
    uint64_t value[ELIG_FACT_KINDS];
    elig_facts_of_person(sp, value);
    uint64_t key = elig_factcache_key(sp->report->person_id);
    about_to_write_facts(e, key);
    elig_factcache_put(e->facts, key, value);
    if (e->nfacts_put == e->facts_put_cap) {
        e->facts_put_cap = e->facts_put_cap ? e->facts_put_cap * 2 : 4096;
        e->facts_put = dd_realloc(e->facts_put, e->facts_put_cap * sizeof(uint64_t));
    }
    e->facts_put[e->nfacts_put++] = key;
}

typedef struct warming {
    elig_engine *e;
    uint64_t persons;
} warming;

static int warm_person(void *arg, const Doudi__StoredPerson *sp)
{
    warming *w = arg;
    uint64_t facts[ELIG_FACT_KINDS];
    if (!sp->report || !sp->report->person_id[0])
        return 0;
    elig_facts_of_person(sp, facts);
    elig_factcache_put(w->e->facts, elig_factcache_key(sp->report->person_id), facts);
    w->persons++;
    return 0;
}

int elig_engine_warm_fact_cache(elig_engine *e, MDB_txn *txn, uint64_t *persons)
{
    warming w = {e, 0};
    int rc = elig_registry_each_person(e->registry, txn, e->arena, warm_person, &w);
    dd_arena_reset(e->arena);
    if (persons)
        *persons = w.persons;
    return rc;
}

static int apply_person(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__PersonReported *r = env->person_reported;
    Doudi__StoredPerson *sp;
    bool created;
    int rc = person_or_placeholder(e, r->person_id, env->region_code, true, &sp, &created);
    if (rc)
        return rc;
    const char *old_household = sp->placeholder ? "" : sp->report->household_id;
    bool was_placeholder = sp->placeholder;
    if (!created && !was_placeholder && strcmp(sp->region_code, env->region_code) == 0 &&
        same_bytes(e, &sp->report->base, &r->base)) {
        e->stats.records_unchanged++;
        return 0;
    }
    if (was_placeholder && !created &&
        (rc = cancel_dangling_check(e, sp->first_referenced_at_ms, 'P', r->person_id)) != 0)
        return rc;
    char *old_household_copy = astrdup(e, old_household);
    bool died_now = r->died_at_ms && !sp->report->died_at_ms;
    sp->report = (Doudi__PersonReported *)r;
    /* The report carries the disability grade a department may repeat. */
    remember_person(e, sp);
    sp->region_code = env->region_code;
    sp->reported_at_ms = env->occurred_at_ms;
    sp->sequence = e->seq;
    sp->placeholder = false;
    if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
        return rc;
    if ((rc = place_in_household(e, r->person_id, old_household_copy, r->household_id,
                                 env->region_code)) != 0)
        return rc;
    e->stats.records_changed++;
    if (died_now) {
        char text[200];
        snprintf(text, sizeof(text), "a member of household %s died", r->household_id);
        rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                   r->person_id, r->household_id, env->region_code, 0,
                   DOUDI__RISK_KIND__RISK_KIND_HOUSEHOLD_MEMBER_DIED, e->opt.risk_handle_ms, text);
        if (rc)
            return rc;
    }
    return evaluate_household(e, r->household_id,
                              was_placeholder || created ? "person registered" : "person's report changed",
                              NULL);
}

static int apply_household(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__HouseholdReported *r = env->household_reported;
    Doudi__StoredHousehold *h;
    bool created;
    int rc = household_or_placeholder(e, r->household_id, env->region_code, true, &h, &created);
    if (rc)
        return rc;
    if (!created && !h->placeholder && strcmp(h->region_code, env->region_code) == 0 &&
        same_bytes(e, &h->report->base, &r->base)) {
        e->stats.records_unchanged++;
        return 0;
    }
    /* Members who left: they now belong to no household until reported. */
    for (size_t i = 0; i < h->report->n_member_person_ids; i++) {
        const char *id = h->report->member_person_ids[i];
        bool stays = false;
        for (size_t j = 0; j < r->n_member_person_ids && !stays; j++)
            stays = strcmp(r->member_person_ids[j], id) == 0;
        if (stays)
            continue;
        Doudi__StoredPerson *sp;
        rc = elig_registry_get_person(e->registry, e->txn, id, e->arena, &sp);
        if (rc == 0 && strcmp(sp->report->household_id, r->household_id) == 0 &&
            r->merged_into_household_id[0]) {
            sp->report->household_id = r->merged_into_household_id;
            if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
                return rc;
        } else if (rc && rc != DD_NOTFOUND) {
            return rc;
        }
    }
    if (h->placeholder && !created &&
        (rc = cancel_dangling_check(e, h->first_referenced_at_ms, 'H', r->household_id)) != 0)
        return rc;
    h->report = (Doudi__HouseholdReported *)r;
    h->region_code = env->region_code;
    h->reported_at_ms = env->occurred_at_ms;
    h->sequence = e->seq;
    h->placeholder = false;
    if ((rc = elig_registry_put_household(e->registry, e->txn, h)) != 0)
        return rc;
    /* Members: each belongs here now; unknown ones become placeholders. */
    for (size_t i = 0; i < r->n_member_person_ids; i++) {
        const char *id = r->member_person_ids[i];
        Doudi__StoredPerson *sp;
        bool pcreated;
        if ((rc = person_or_placeholder(e, id, env->region_code, false, &sp, &pcreated)) != 0)
            return rc;
        const char *old = sp->report->household_id;
        if (pcreated || strcmp(old, r->household_id) != 0) {
            char *old_copy = astrdup(e, old);
            sp->report->household_id = r->household_id;
            if (!sp->region_code[0])
                sp->region_code = env->region_code;
            if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
                return rc;
            if (old_copy[0] && strcmp(old_copy, r->household_id) != 0) {
                Doudi__StoredHousehold *oh;
                rc = elig_registry_get_household(e->registry, e->txn, old_copy, e->arena, &oh);
                if (rc == 0 && has_member(oh, id)) {
                    remove_member(oh, id);
                    if ((rc = elig_registry_delete_decisions(e->registry, e->txn, old_copy, id)))
                        return rc;
                    if ((rc = elig_registry_put_household(e->registry, e->txn, oh)) != 0)
                        return rc;
                    if ((rc = evaluate_household(e, old_copy, "a member moved out", NULL)))
                        return rc;
                } else if (rc && rc != DD_NOTFOUND) {
                    return rc;
                }
            }
        }
    }
    e->stats.records_changed++;
    if (r->merged_into_household_id[0] || r->dissolved)
        return 0;
    return evaluate_household(e, r->household_id, "household report changed", NULL);
}

/* The monitoring threshold for one hospital stay's self-pay. */
static int64_t medical_threshold(elig_engine *e, const Doudi__StoredPerson *sp)
{
    for (size_t i = 0; i < sp->n_enrolments; i++)
        if (sp->enrolments[i]->enrolled)
            return e->opt.params.medical_alert_monitored_fen;
    return e->opt.params.medical_alert_other_fen;
}

static int apply_comparison(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__ComparisonRecord *c = env->comparison_record;
    uint64_t facts[ELIG_FACT_KINDS];
    bool cacheable = elig_facts_of_record(c, facts);
    if (elig_facts_none(cacheable, facts) ||
        (cacheable && facts_known(e, c->subject_person_id, facts))) {
        e->stats.records_unchanged++;
        e->stats.records_unchanged_cached++;
        return 0;
    }
    Doudi__StoredPerson *sp;
    int rc = elig_registry_get_person(e->registry, e->txn, c->subject_person_id, e->arena, &sp);
    if (rc == DD_NOTFOUND) {
        /* Not in the registry: nobody to re-decide (departments report
         * about everyone monitored; registration comes from the portals). */
        e->stats.records_unchanged++;
        return 0;
    }
    if (rc)
        return rc;
    bool changed = false;
    const char *region = sp->region_code[0] ? sp->region_code : env->region_code;
    const char *hh = sp->report->household_id;
    if (c->income && (!sp->income_known || sp->verified_income_fen != c->income->monthly_income_fen)) {
        sp->income_known = true;
        sp->verified_income_fen = c->income->monthly_income_fen;
        changed = true;
    }
    if (c->employment) {
        bool newly_unemployed = c->employment->registered_unemployed && !sp->registered_unemployed;
        if (sp->registered_unemployed != c->employment->registered_unemployed ||
            sp->receiving_pension != c->employment->receiving_pension ||
            sp->monthly_pension_fen != c->employment->monthly_pension_fen) {
            sp->registered_unemployed = c->employment->registered_unemployed;
            sp->receiving_pension = c->employment->receiving_pension;
            sp->monthly_pension_fen = c->employment->monthly_pension_fen;
            changed = true;
        }
        if (newly_unemployed && sp->report->main_earner &&
            (rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                        sp->report->person_id, hh, region, 0,
                        DOUDI__RISK_KIND__RISK_KIND_MAIN_EARNER_UNEMPLOYED, e->opt.risk_handle_ms,
                        "the household's main earner registered as unemployed")) != 0)
            return rc;
    }
    if (c->property && (!sp->dwellings_known || sp->verified_dwellings != c->property->dwellings)) {
        sp->dwellings_known = true;
        sp->verified_dwellings = c->property->dwellings;
        changed = true;
    }
    if (c->vehicles) {
        bool same = sp->vehicles_known &&
                    sp->n_verified_vehicle_values_fen == c->vehicles->n_vehicle_values_fen &&
                    (c->vehicles->n_vehicle_values_fen == 0 || /* empty lists may be NULL */
                     memcmp(sp->verified_vehicle_values_fen, c->vehicles->vehicle_values_fen,
                            c->vehicles->n_vehicle_values_fen * sizeof(int64_t)) == 0);
        if (!same) {
            sp->vehicles_known = true;
            sp->n_verified_vehicle_values_fen = c->vehicles->n_vehicle_values_fen;
            sp->verified_vehicle_values_fen = c->vehicles->vehicle_values_fen;
            changed = true;
        }
    }
    if (c->assets && (!sp->assets_known || sp->verified_assets_fen != c->assets->financial_assets_fen)) {
        sp->assets_known = true;
        sp->verified_assets_fen = c->assets->financial_assets_fen;
        changed = true;
    }
    bool discharged = false;
    if (c->medical_stay) {
        int64_t pay = c->medical_stay->self_pay_fen;
        int64_t threshold = medical_threshold(e, sp);
        if (pay > threshold && pay != sp->last_medical_self_pay_fen) {
            char text[200];
            snprintf(text, sizeof(text), "one hospital stay's self-payment is %lld fen, above %lld",
                     (long long)pay, (long long)threshold);
            if ((rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                            sp->report->person_id, hh, region, 0,
                            DOUDI__RISK_KIND__RISK_KIND_LARGE_MEDICAL_SELF_PAY,
                            e->opt.risk_handle_ms, text)) != 0)
                return rc;
        }
        if (pay != sp->last_medical_self_pay_fen) {
            sp->last_medical_self_pay_fen = pay;
            changed = true;
        }
        discharged = c->medical_stay->discharged_at_ms != 0;
    }
    if (c->disability && c->disability->disability_grade != sp->report->disability_grade) {
        int32_t before = sp->report->disability_grade;
        sp->report->disability_grade = c->disability->disability_grade;
        sp->report->disability_type = c->disability->disability_type;
        changed = true;
        int32_t g = c->disability->disability_grade;
        if (g >= 1 && g <= 2 && !(before >= 1 && before <= 2) &&
            (rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                        sp->report->person_id, hh, region, 0,
                        DOUDI__RISK_KIND__RISK_KIND_NEW_SEVERE_DISABILITY, e->opt.risk_handle_ms,
                        "a new severe disability (grade 1-2) was recorded")) != 0)
            return rc;
    }
    if (c->death && !sp->report->died_at_ms) {
        sp->report->died_at_ms = c->death->died_at_ms ? c->death->died_at_ms : env->occurred_at_ms;
        changed = true;
        if ((rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK, DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                        sp->report->person_id, hh, region, 0,
                        DOUDI__RISK_KIND__RISK_KIND_HOUSEHOLD_MEMBER_DIED, e->opt.risk_handle_ms,
                        "the civil registry recorded a death in the household")) != 0)
            return rc;
    }
    /* The registry now holds exactly the person's findings as they stand
     * here (those of this record stored or equal, the others as read). */
    remember_person(e, sp);
    if (!changed && !discharged) {
        e->stats.records_unchanged++;
        return 0;
    }
    e->stats.records_changed++;
    sp->sequence = e->seq;
    if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
        return rc;
    e->just_stored = sp;
    return evaluate_household(e, hh, discharged ? "discharged from hospital" : "department records changed",
                              discharged ? sp->report->person_id : NULL);
}

static bool is_emergency(Doudi__RiskKind k)
{
    return k == DOUDI__RISK_KIND__RISK_KIND_ACCIDENT || k == DOUDI__RISK_KIND__RISK_KIND_DISASTER ||
           k == DOUDI__RISK_KIND__RISK_KIND_FIRE ||
           k == DOUDI__RISK_KIND__RISK_KIND_SUDDEN_SERIOUS_ILLNESS ||
           k == DOUDI__RISK_KIND__RISK_KIND_SPENDING_SPIKE;
}

static bool is_major_change(Doudi__RiskKind k)
{
    return k == DOUDI__RISK_KIND__RISK_KIND_HOSPITAL_DISCHARGE ||
           k == DOUDI__RISK_KIND__RISK_KIND_SPOUSE_DIED ||
           k == DOUDI__RISK_KIND__RISK_KIND_HOUSEHOLD_MEMBER_DIED ||
           k == DOUDI__RISK_KIND__RISK_KIND_DISASTER;
}

static int apply_risk(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__RiskSignal *r = env->risk_signal;
    const ProtobufCEnumValue *kv = protobuf_c_enum_descriptor_get_value(&doudi__risk_kind__descriptor, r->kind);
    char text[700];
    snprintf(text, sizeof(text), "%s reported%s%s", kv ? kv->name + strlen("RISK_KIND_") : "risk",
             r->description[0] ? ": " : "", r->description);
    bool urgent = is_emergency(r->kind);
    int rc = alert(e, DOUDI__ALERT_KIND__ALERT_KIND_RISK,
                   urgent ? DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_URGENT : DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING,
                   r->subject_person_id, r->household_id, env->region_code, 0, r->kind,
                   urgent ? e->opt.urgent_handle_ms : e->opt.risk_handle_ms, text);
    if (rc)
        return rc;
    Doudi__StoredPerson *sp = NULL;
    rc = elig_registry_get_person(e->registry, e->txn, r->subject_person_id, e->arena, &sp);
    if (rc && rc != DD_NOTFOUND)
        return rc;
    if (is_emergency(r->kind)) {
        /* Granted where it happened, by that region's standard. */
        int32_t today = dd_date_yyyymmdd_shanghai(env->occurred_at_ms);
        elig_standard std;
        elig_decision d;
        memset(&d, 0, sizeof(d));
        if (elig_standards_lookup(e->standards, env->region_code, today, &std) == 0 &&
            elig_decide_temp(&e->opt.params, &std, urban_rural_of_region(env->region_code), r->kind,
                             r->amount_fen, &d)) {
            d.program = DOUDI__PROGRAM__PROGRAM_TEMP;
            Doudi__Decision out;
            decision_to_output(e, &d, r->subject_person_id, sp ? sp->report->household_id : r->household_id,
                               env->region_code, false, NULL, NULL, &out);
            e->stats.decisions_changed[DOUDI__PROGRAM__PROGRAM_TEMP]++;
            if ((rc = elig_registry_put_decision(e->registry, e->txn, &out)) != 0)
                return rc;
            if ((rc = append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_DECISION,
                                 &out.base)) != 0)
                return rc;
            if (!sp) {
                /* Not registered: the aid still stands; remember the deadline. */
                bool created;
                if ((rc = person_or_placeholder(e, r->subject_person_id, env->region_code, false,
                                                &sp, &created)) != 0)
                    return rc;
                /* Where the decision was stored, so a query finds it. */
                sp->report->household_id = r->household_id;
            }
            Doudi__StoredApplication *app = dd_arena_alloc(e->arena, sizeof(*app));
            doudi__stored_application__init(app);
            app->application_id = "";
            app->program = DOUDI__PROGRAM__PROGRAM_TEMP;
            app->applied_at_ms = env->occurred_at_ms;
            app->region_code = env->region_code;
            app->decide_by_ms = env->occurred_at_ms + (int64_t)e->opt.params.temp_decide_days * 86400000;
            Doudi__StoredApplication **apps = dd_arena_alloc(e->arena, (sp->n_applications + 1) * sizeof(void *));
            copy_array(apps, sp->applications, sp->n_applications * sizeof(void *));
            apps[sp->n_applications++] = app;
            sp->applications = apps;
            if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
                return rc;
            if ((rc = add_due(e, app->decide_by_ms, 'Q',
                                            r->subject_person_id)) != 0)
                return rc;
        }
    }
    e->stats.records_changed++;
    if (sp && !sp->placeholder && is_major_change(r->kind))
        return evaluate_household(e, sp->report->household_id, text, sp->report->person_id);
    return 0;
}

static int apply_application(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__Application *a = env->application;
    Doudi__StoredPerson *sp;
    int rc = elig_registry_get_person(e->registry, e->txn, a->applicant_person_id, e->arena, &sp);
    if (rc == DD_NOTFOUND) {
        bool created;
        rc = person_or_placeholder(e, a->applicant_person_id, env->region_code, false, &sp,
                                   &created);
    }
    if (rc)
        return rc;
    for (size_t i = 0; i < sp->n_applications; i++)
        if (strcmp(sp->applications[i]->application_id, a->application_id) == 0) {
            e->stats.records_unchanged++;
            return 0;
        }
    Doudi__StoredApplication *app = dd_arena_alloc(e->arena, sizeof(*app));
    doudi__stored_application__init(app);
    app->application_id = a->application_id;
    app->program = a->program;
    app->applied_at_ms = env->occurred_at_ms;
    app->region_code = env->region_code;
    Doudi__StoredApplication **apps = dd_arena_alloc(e->arena, (sp->n_applications + 1) * sizeof(void *));
    copy_array(apps, sp->applications, sp->n_applications * sizeof(void *));
    apps[sp->n_applications++] = app;
    sp->applications = apps;
    sp->sequence = e->seq;
    if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
        return rc;
    e->stats.records_changed++;

    /* Assess at once (智能审核): the applicant's decision for that program. */
    if (sp->placeholder || a->program == DOUDI__PROGRAM__PROGRAM_TEMP)
        return 0;
    const char *household_id = sp->report->household_id;
    if ((rc = evaluate_household(e, household_id, "application received", NULL)) != 0)
        return rc;
    if (!e->ctxp || !e->ctxp->h || strcmp(e->ctxp->h->report->household_id, household_id) != 0)
        return 0; /* no such household yet: assessed when it is reported */
    Doudi__StoredHousehold *h = e->ctxp->h;
    Doudi__DecisionSummary *sum = find_summary(member_summaries(h, a->applicant_person_id), a->program);
    if (!sum)
        return 0;
    /* The assessment is the decision of record: it names the application. */
    sum->application_id = a->application_id;
    sum->caused_by_sequence = e->seq;
    sum->decided_at_ms = env->occurred_at_ms;
    if ((rc = elig_registry_put_household(e->registry, e->txn, h)) != 0)
        return rc;
    Doudi__Decision **d;
    size_t nd;
    if ((rc = elig_engine_explain(e, e->txn, e->arena, a->applicant_person_id, a->program, &d, &nd)) != 0)
        return rc;
    if (nd == 0)
        return 0;
    e->stats.decisions_changed[a->program < ELIG_PROGRAMS ? a->program : 0]++;
    return append_msg(e, DOUDI__ELIGIBILITY_RECORD_KIND__ELIGIBILITY_RECORD_KIND_DECISION, &d[0]->base);
}

static int apply_enrolment(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__EnrolmentChange *c = env->enrolment_change;
    Doudi__StoredPerson *sp;
    bool created;
    int rc = person_or_placeholder(e, c->person_id, env->region_code, false, &sp, &created);
    if (rc)
        return rc;
    bool enrolled = c->action == DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_ENROLLED ||
                    c->action == DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_AMOUNT_CHANGED ||
                    c->action == DOUDI__ENROLMENT_ACTION__ENROLMENT_ACTION_REVIEW_CONFIRMED;
    Doudi__StoredEnrolment *en = NULL;
    for (size_t i = 0; i < sp->n_enrolments; i++)
        if (sp->enrolments[i]->program == c->program)
            en = sp->enrolments[i];
    if (!en) {
        en = dd_arena_alloc(e->arena, sizeof(*en));
        doudi__stored_enrolment__init(en);
        en->program = c->program;
        Doudi__StoredEnrolment **list = dd_arena_alloc(e->arena, (sp->n_enrolments + 1) * sizeof(void *));
        copy_array(list, sp->enrolments, sp->n_enrolments * sizeof(void *));
        list[sp->n_enrolments++] = en;
        sp->enrolments = list;
    }
    int64_t amount = enrolled ? c->monthly_amount_fen : 0;
    if (!created && en->enrolled == enrolled && en->amount_fen == amount) {
        e->stats.records_unchanged++;
        return 0;
    }
    en->enrolled = enrolled;
    en->amount_fen = amount;
    en->since_ms = c->effective_at_ms ? c->effective_at_ms : env->occurred_at_ms;
    /* A decision on the program closes its applications (and quick-aid clocks). */
    size_t w = 0;
    for (size_t i = 0; i < sp->n_applications; i++)
        if (sp->applications[i]->program != c->program)
            sp->applications[w++] = sp->applications[i];
    sp->n_applications = w;
    sp->sequence = e->seq;
    if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
        return rc;
    e->stats.records_changed++;
    if (sp->placeholder)
        return 0;
    return evaluate_household(e, sp->report->household_id, "enrolment changed", NULL);
}

static int apply_visit(elig_engine *e, const Doudi__Envelope *env)
{
    const Doudi__VisitReport *v = env->visit_report;
    bool visited = v->outcome == DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_VISITED ||
                   v->outcome == DOUDI__VISIT_OUTCOME__VISIT_OUTCOME_BY_PHONE_OR_VIDEO;
    if (!visited)
        return 0;
    bool danger = false;
    for (size_t i = 0; i < v->n_findings; i++)
        danger |= v->findings[i]->severity == DOUDI__FINDING_SEVERITY__FINDING_SEVERITY_DANGER;
    /* Known without a read when the last visit found the same. */
    uint64_t fact[ELIG_FACT_KINDS] = {0};
    fact[ELIG_FACT_VISIT_DANGER] = elig_fact_visit_danger(danger);
    if (facts_known(e, v->subject_person_id, fact))
        return 0;
    Doudi__StoredPerson *sp;
    int rc = elig_registry_get_person(e->registry, e->txn, v->subject_person_id, e->arena, &sp);
    if (rc)
        return rc == DD_NOTFOUND ? 0 : rc;
    bool changed = danger != sp->danger_found_last_visit;
    if (changed) {
        sp->danger_found_last_visit = danger;
        sp->sequence = e->seq;
        if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
            return rc;
    }
    remember_person(e, sp);
    if (!changed)
        return 0;
    return evaluate_household(e, sp->report->household_id,
                              danger ? "the last visit found a danger" : "the last visit found no danger",
                              NULL);
}

/* ---- things due at an event time ----------------------------------------- */

static int due_fn(void *arg, MDB_txn *txn, char type, const char *id)
{
    (void)txn;
    elig_engine *e = arg;
    dd_arena_reset(e->arena); /* the due arena: the last entry is done */
    char text[300];
    if (type == 'P' || type == 'H') {
        if (type == 'P') {
            Doudi__StoredPerson *sp;
            int rc = elig_registry_get_person(e->registry, e->txn, id, e->arena, &sp);
            if (rc || !sp->placeholder || sp->dangling_alerted)
                return rc == DD_NOTFOUND ? 0 : rc;
            sp->dangling_alerted = true;
            if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
                return rc;
            snprintf(text, sizeof(text),
                     "person %s is referenced (household %s) but was never reported", id,
                     sp->report->household_id);
            return alert(e, DOUDI__ALERT_KIND__ALERT_KIND_DANGLING_REFERENCE,
                         DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING, id, sp->report->household_id,
                         sp->region_code, 0, 0, e->opt.dangling_handle_ms, text);
        }
        Doudi__StoredHousehold *h;
        int rc = elig_registry_get_household(e->registry, e->txn, id, e->arena, &h);
        if (rc || !h->placeholder || h->dangling_alerted)
            return rc == DD_NOTFOUND ? 0 : rc;
        h->dangling_alerted = true;
        if ((rc = elig_registry_put_household(e->registry, e->txn, h)) != 0)
            return rc;
        snprintf(text, sizeof(text),
                 "household %s is referenced by %zu member(s) but was never reported", id,
                 h->report->n_member_person_ids);
        return alert(e, DOUDI__ALERT_KIND__ALERT_KIND_DANGLING_REFERENCE,
                     DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_WARNING, "", id, h->region_code, 0, 0,
                     e->opt.dangling_handle_ms, text);
    }
    if (type == 'Q') {
        Doudi__StoredPerson *sp;
        int rc = elig_registry_get_person(e->registry, e->txn, id, e->arena, &sp);
        if (rc)
            return rc == DD_NOTFOUND ? 0 : rc;
        for (size_t i = 0; i < sp->n_applications; i++) {
            Doudi__StoredApplication *a = sp->applications[i];
            if (a->program != DOUDI__PROGRAM__PROGRAM_TEMP || !a->decide_by_ms ||
                a->decide_by_ms > e->now_ms)
                continue;
            a->decide_by_ms = 0;
            if ((rc = elig_registry_put_person(e->registry, e->txn, sp)) != 0)
                return rc;
            snprintf(text, sizeof(text),
                     "quick aid for the emergency of %s was not decided within %d days", id,
                     e->opt.params.temp_decide_days);
            return alert(e, DOUDI__ALERT_KIND__ALERT_KIND_QUICK_AID_OVERDUE,
                         DOUDI__ALERT_SEVERITY__ALERT_SEVERITY_URGENT, id, sp->report->household_id,
                         a->region_code, DOUDI__PROGRAM__PROGRAM_TEMP, 0, e->opt.quick_aid_handle_ms,
                         text);
        }
    }
    return 0;
}

/* ---- explaining ------------------------------------------------------------ */

static void add_decision(elig_engine *e, Doudi__Decision ***list, size_t *n, Doudi__Decision *d)
{
    Doudi__Decision **grown = dd_arena_alloc(e->arena, (*n + 1) * sizeof(void *));
    copy_array(grown, *list, *n * sizeof(void *));
    grown[(*n)++] = d;
    *list = grown;
}

int elig_engine_explain(elig_engine *e, MDB_txn *txn, dd_arena *arena, const char *person_id,
                        Doudi__Program only, Doudi__Decision ***out, size_t *nout)
{
    MDB_txn *saved_txn = e->txn;
    dd_arena *saved_arena = e->arena;
    uint64_t saved_seq = e->seq;
    int64_t saved_occurred = e->occurred_ms;
    e->txn = txn;
    e->arena = arena;
    *out = NULL;
    *nout = 0;
    Doudi__StoredPerson *sp;
    int rc = elig_registry_get_person(e->registry, txn, person_id, arena, &sp);
    const char *household_id = rc == 0 ? sp->report->household_id : "";
    if (!e->ctxp)
        e->ctxp = dd_calloc(1, sizeof(household_ctx));
    household_ctx *c = e->ctxp;
    if (rc == 0 && !sp->placeholder && household_id[0] &&
        (rc = load_household(e, household_id, c)) == 0) {
        /* The person as a member; one who died is decided alone, as when
         * the death was applied. */
        const elig_household *eh = &c->eh;
        size_t k = c->nliving;
        for (size_t i = 0; i < c->nliving; i++)
            if (strcmp(c->persons[i].id, person_id) == 0)
                k = i;
        elig_person alone_person;
        elig_household alone;
        if (k == c->nliving) {
            to_elig_person(e, sp, &alone_person);
            alone = c->eh;
            alone.members = &alone_person;
            alone.nmembers = 1;
            eh = &alone;
            k = 0;
        }
        const Doudi__MemberSummaries *sums = member_summaries(c->h, person_id);
        for (int prog = 1; prog < ELIG_PROGRAMS; prog++) {
            const Doudi__DecisionSummary *sum = find_summary(sums, prog);
            if (prog == DOUDI__PROGRAM__PROGRAM_TEMP || (only && prog != (int)only) || !sum)
                continue;
            /* Derived again on the date it was decided, from the registry as it is. */
            int32_t date = dd_date_yyyymmdd_shanghai(sum->decided_at_ms);
            elig_standard std;
            if (elig_standards_lookup(e->standards, c->h->region_code, date, &std) != 0)
                continue;
            elig_decide_traced(&e->opt.params, &std, eh, k, date, e->decisions, 1u << prog);
            Doudi__Decision previous = DOUDI__DECISION__INIT;
            previous.eligible = sum->previous_eligible;
            previous.amount_fen = sum->previous_amount_fen;
            Doudi__Decision *d = dd_arena_alloc(arena, sizeof(*d));
            decision_to_output(e, &e->decisions[prog], person_id, household_id, c->h->region_code,
                               sum->enrolled, &previous, sum->application_id, d);
            d->caused_by_sequence = sum->caused_by_sequence;
            d->decided_at_ms = sum->decided_at_ms;
            add_decision(e, out, nout, d);
        }
    }
    if (rc == DD_NOTFOUND)
        rc = 0;
    if (rc == 0 && (!only || only == DOUDI__PROGRAM__PROGRAM_TEMP)) {
        Doudi__Decision *temp;
        int trc = elig_registry_get_decision(e->registry, txn, household_id, person_id,
                                             DOUDI__PROGRAM__PROGRAM_TEMP, arena, &temp);
        if (trc == 0)
            add_decision(e, out, nout, temp);
        else if (trc != DD_NOTFOUND)
            rc = trc;
    }
    e->txn = saved_txn;
    e->arena = saved_arena;
    e->seq = saved_seq;
    e->occurred_ms = saved_occurred;
    return rc;
}

/* ---- the apply function -------------------------------------------------- */

/* Decodes an intake record into arena; NULL when it is not an Envelope. */
static Doudi__Envelope *decode_record(const Doudi__LogRecord *rec, dd_arena *arena)
{
    /* Events as intake accepted them: the one-pass decoder takes nearly
     * all, protobuf-c whatever it declines. */
    Doudi__Envelope *env = (Doudi__Envelope *)dd_wire_unpack(
        &doudi__envelope__descriptor, rec->payload.data, rec->payload.len, arena);
    if (env && env->body_case == DOUDI__ENVELOPE__BODY__NOT_SET)
        return NULL;
    return env;
}

/* The person whose fact-cache slot a record looks up, or NULL. */
static const char *fact_person(const Doudi__Envelope *env)
{
    if (env && env->body_case == DOUDI__ENVELOPE__BODY_VISIT_REPORT)
        return env->visit_report->subject_person_id;
    if (env && env->body_case == DOUDI__ENVELOPE__BODY_COMPARISON_RECORD)
        return env->comparison_record->subject_person_id;
    return NULL;
}

/* Starts fetching the fact-cache slot of the person a comparison record or a
 * visit report is about. */
static void prefetch_facts(const elig_engine *e, const Doudi__Envelope *env)
{
    const char *person_id = fact_person(env);
    if (person_id)
        elig_factcache_prefetch(e->facts, elig_factcache_key(person_id));
}

/* Records whose fact-cache slots screen_chunk prefetches together. */
enum { SCREEN_PREFETCH_GROUP = 16 };

/* Asks the cache about records[first..end-1], whose slots were prefetched
 * one group earlier; a scanned record it does not call unchanged is
 * decoded after all, for the engine to apply. */
static void screen_judge(const elig_engine *e, Doudi__LogRecord *const *records, size_t first,
                         size_t end, uint64_t (*facts)[ELIG_FACT_KINDS], dd_arena *arena,
                         elig_screened *out)
{
    for (size_t i = first; i < end; i++) {
        elig_screened *o = &out[i];
        if (!o->person_key)
            continue;
        if (elig_facts_none(true, facts[i])) {
            o->unchanged = true;
            o->person_key = 0; /* no cache involved */
        } else {
            o->unchanged = elig_factcache_known(e->facts, o->person_key, facts[i]);
        }
        if (o->scanned && !o->unchanged) {
            o->scanned = false;
            o->env = decode_record(records[i], arena);
        }
    }
}

/*
 * On the screening thread (screen.h): reads each comparison record's
 * findings from its bytes where it can (facts.h), decodes the other records,
 * and asks the fact cache about each comparison record. Records go by
 * groups: a group's slots are all prefetched once it is read, and the cache
 * is asked about them after the next group is read, long enough for the
 * slots to arrive and soon enough for them (and their pages' TLB entries)
 * to be still there: asked only at the end of the chunk, 4,096 records
 * later, nearly every slot was a miss again. Reads nothing of the engine
 * but its options and the cache.
 */
static void screen_chunk(void *arg, Doudi__LogRecord *const *records, size_t n, dd_arena *arena,
                         elig_screened *out)
{
    const elig_engine *e = arg;
    uint64_t(*facts)[ELIG_FACT_KINDS] = dd_arena_alloc(arena, n * sizeof(*facts));
    size_t judged = 0;
    for (size_t i = 0; i < n; i++) {
        elig_screened *o = &out[i];
        o->env = NULL;
        o->person_key = 0;
        o->unchanged = false;
        o->scanned = false;
        elig_fact_scan scan;
        if (records[i]->kind == DOUDI__ENVELOPE__BODY_COMPARISON_RECORD &&
            elig_facts_scan(records[i]->payload.data, records[i]->payload.len, &scan)) {
            o->scanned = true;
            o->occurred_at_ms = scan.occurred_at_ms;
            o->person_key = scan.person_key;
            memcpy(facts[i], scan.value, sizeof(scan.value));
        } else {
            o->env = decode_record(records[i], arena);
            if (o->env && o->env->body_case == DOUDI__ENVELOPE__BODY_COMPARISON_RECORD) {
                o->person_key = elig_factcache_key(o->env->comparison_record->subject_person_id);
                if (!elig_facts_of_record(o->env->comparison_record, facts[i]))
                    o->person_key = 0; /* the slow path: no verdict */
            }
        }
        /* The slots of a group of records are fetched back to back: a
         * prefetch holds up what follows it until its page walk is done,
         * so one after each record's scan paid its miss alone. */
        if ((i + 1) % SCREEN_PREFETCH_GROUP == 0 || i + 1 == n) {
            size_t group = i - i % SCREEN_PREFETCH_GROUP;
            for (size_t g = group; g <= i; g++)
                if (out[g].person_key)
                    elig_factcache_prefetch(e->facts, out[g].person_key);
            screen_judge(e, records, judged, group, facts, arena, out);
            judged = group;
        }
    }
    screen_judge(e, records, judged, n, facts, arena, out);
}

static int undecodable(elig_engine *e, const Doudi__LogRecord *rec)
{
    e->stats.records_undecodable++;
    dd_warn("intake record %llu (kind %u) does not decode as an Envelope; skipped",
            (unsigned long long)rec->sequence, rec->kind);
    return 0;
}

/*
 * Applies one record. sr is what the screening thread said of it (NULL: not
 * screened); its "unchanged" is trusted unless the engine wrote the person's
 * slot since the thread could have read it.
 */
static int apply_one(elig_engine *e, const Doudi__LogRecord *rec, Doudi__Envelope *env,
                     const elig_screened *sr)
{
    uint32_t kind = rec->kind;
    if (kind < sizeof(e->stats.records) / sizeof(e->stats.records[0]))
        e->stats.records[kind]++;
    bool scanned = !env && sr && sr->scanned;
    if (!env && !scanned)
        return undecodable(e, rec);
    e->seq = rec->sequence;
    e->occurred_ms = scanned ? sr->occurred_at_ms : env->occurred_at_ms;
    if (e->occurred_ms > e->now_ms)
        e->now_ms = e->occurred_ms;
    /* Most records find nothing due: look only when the earliest is. */
    if (e->now_ms > e->next_due_ms) {
        /* Entries come due in bursts (a day's quick aid); each gets its
         * own arena, emptied before the next, while env stays intact. */
        dd_arena *record_arena = e->arena;
        e->arena = e->due_arena;
        int rc = elig_registry_take_due(e->registry, e->txn, e->now_ms, due_fn, e);
        dd_arena_reset(e->due_arena);
        e->arena = record_arena;
        if (rc)
            return rc;
        e->next_due_ms = elig_registry_first_due(e->registry, e->txn);
    }
    /* After what came due, which may have written the person's slot too. */
    if (sr && sr->unchanged) {
        if (sr->person_key == 0 || !written_lately(e, sr->person_key)) {
            e->stats.records_unchanged++;
            e->stats.records_unchanged_cached++;
            e->stats.screened_unchanged++;
            return 0;
        }
        e->stats.screen_rechecked++;
    }
    /* Asked again about a record the thread only scanned: decode it now. */
    if (!env && !(env = decode_record(rec, e->arena)))
        return undecodable(e, rec);
    int rc;
    switch (env->body_case) {
    case DOUDI__ENVELOPE__BODY_PERSON_REPORTED: return apply_person(e, env);
    case DOUDI__ENVELOPE__BODY_HOUSEHOLD_REPORTED: return apply_household(e, env);
    case DOUDI__ENVELOPE__BODY_COMPARISON_RECORD: return apply_comparison(e, env);
    case DOUDI__ENVELOPE__BODY_RISK_SIGNAL: return apply_risk(e, env);
    case DOUDI__ENVELOPE__BODY_APPLICATION: return apply_application(e, env);
    case DOUDI__ENVELOPE__BODY_ENROLMENT_CHANGE: return apply_enrolment(e, env);
    case DOUDI__ENVELOPE__BODY_VISIT_REPORT:
        /* Passed on first, so the scheduler sees the visit before the tier. */
        rc = dd_log_append(e->out, e->txn, kind, e->occurred_ms, rec->payload.data,
                           rec->payload.len, NULL);
        return rc ? rc : apply_visit(e, env);
    case DOUDI__ENVELOPE__BODY_ROSTER_CHANGE:
    case DOUDI__ENVELOPE__BODY_ALERT_ACKNOWLEDGEMENT:
        return dd_log_append(e->out, e->txn, kind, e->occurred_ms, rec->payload.data,
                             rec->payload.len, NULL);
    default:
        e->stats.records_undecodable++;
        return 0;
    }
}

/* After each record: what it left in memory goes, the journal may fold. */
static int record_done(elig_engine *e)
{
    e->just_stored = NULL;
    dd_arena_reset(e->arena);
    return elig_registry_fold_if_full(e->registry, e->txn, false);
}

/* Applies records[0..n-1] on this thread alone, decoding them 64 at a time. */
static int apply_unscreened(elig_engine *e, Doudi__LogRecord *const *records, size_t n)
{
    int rc = 0;
    for (size_t first = 0; first < n && rc == 0; first += APPLY_CHUNK) {
        size_t count = n - first < APPLY_CHUNK ? n - first : APPLY_CHUNK;
        for (size_t i = 0; i < count; i++) {
            e->chunk[i] = decode_record(records[first + i], e->chunk_arena);
            prefetch_facts(e, e->chunk[i]);
        }
        for (size_t i = 0; i < count && rc == 0; i++) {
            rc = apply_one(e, records[first + i], e->chunk[i], NULL);
            if (rc == 0)
                rc = record_done(e);
        }
        dd_arena_reset(e->chunk_arena);
    }
    return rc;
}

/* A new chunk is about to be applied: what was written while the one before
 * was applied still counts, what was written before that no longer does. */
static void next_written_set(elig_engine *e)
{
    e->written_now ^= 1;
    memset(e->written[e->written_now], 0, sizeof(e->written[0]));
}

/* Records of the chunk after one of `before` records: four times as many,
 * at most a full chunk and what is left. */
static size_t next_chunk_size(size_t before, size_t chunk, size_t left)
{
    size_t size = 4 * before < chunk ? 4 * before : chunk;
    return size < left ? size : left;
}

/*
 * Applies the batch chunk by chunk, each screened on the other thread while
 * the one before is applied. The first records are applied unscreened
 * (nothing was there to screen them in advance), so they are few: a lead of
 * elig_screen_lead() records, then chunks four times as long as the one
 * before up to the full chunk. Screening a record costs the thread about an
 * eighth of what applying it unscreened costs the engine, so each chunk is
 * screened before the engine reaches it.
 */
static int apply_screened(elig_engine *e, Doudi__LogRecord *const *records, size_t n)
{
    size_t chunk = elig_screener_chunk(e->screener);
    size_t lead = elig_screen_lead(chunk);
    memset(e->written, 0, sizeof(e->written));
    e->screening = true;
    size_t posted = next_chunk_size(lead, chunk, n - lead);
    elig_screener_post(e->screener, records + lead, posted);
    if (e->opt.screen_ahead)
        elig_screener_quiesce(e->screener);
    int rc = apply_unscreened(e, records, lead);
    for (size_t first = lead, next; first < n && rc == 0; first = next) {
        size_t count = posted;
        const elig_screened *sr = elig_screener_collect(e->screener);
        next_written_set(e);
        next = first + count;
        if (next < n) {
            posted = next_chunk_size(count, chunk, n - next);
            elig_screener_post(e->screener, records + next, posted);
            if (e->opt.screen_ahead)
                elig_screener_quiesce(e->screener);
        }
        for (size_t i = 0; i < count && rc == 0; i++) {
            rc = apply_one(e, records[first + i], sr[i].env, &sr[i]);
            if (rc == 0)
                rc = record_done(e);
        }
    }
    /* Stopped early: the thread must be done before anyone writes freely. */
    if (elig_screener_pending(e->screener))
        (void)elig_screener_collect(e->screener);
    e->screening = false;
    uint64_t waited = elig_screener_wait_ns(e->screener);
    e->stats.screen_wait_ns = waited - e->screen_wait_seen;
    e->screen_wait_seen = waited;
    return rc;
}

size_t elig_screen_lead(size_t chunk) { return chunk >= 16 ? chunk / 16 : 1; }

int elig_engine_apply(void *arg, MDB_txn *txn, Doudi__LogRecord *const *records, size_t n)
{
    elig_engine *e = arg;
    memset(&e->stats, 0, sizeof(e->stats));
    e->txn = txn;
    int rc = elig_registry_begin(e->registry, txn);
    if (rc)
        return rc;
    e->now_ms = elig_registry_clock(e->registry, txn);
    e->next_due_ms = elig_registry_first_due(e->registry, txn);
    int64_t started = e->now_ms;
    if (e->screener && n > elig_screen_lead(elig_screener_chunk(e->screener)))
        rc = apply_screened(e, records, n);
    else
        rc = apply_unscreened(e, records, n);
    if (rc == 0 && e->now_ms != started)
        rc = elig_registry_set_clock(e->registry, txn, e->now_ms);
    if (rc == 0)
        rc = elig_registry_flush(e->registry, txn);
    e->txn = NULL;
    return rc;
}
