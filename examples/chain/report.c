/* examples/chain/report.c — after the run: the checks, and the summary.
 *
 * Checked (each a line, "ok" or "FAIL"; any FAIL makes the exit code 1):
 *   - no mismatch in shadow or canary, no failed call;
 *   - the legacy objects and the actors' copies are equal, byte for byte
 *     (the last switch synced them: the adapter's store or load);
 *   - each copy of the chain is valid in its window, and the audit — every
 *     block a caller was told was accepted — links from the tip the run
 *     started on to the tip the copies hold, with no height missing or won
 *     twice: no call lost, none applied twice, across every switch and
 *     restart;
 *   - the engine conserves the supply, and counted every payload once;
 *   - every injected fault was a panic its supervisor restarted.
 * Then the summary, one screen: the run's counts, then the like-with-like
 * figures (compare.c) — legacy and actor both in memory for the regression
 * figure, the durable actor apart — with p50/p99 read off sorted samples.
 * The SUMMARY lines go to the file of --summary, if given.
 */
#include <stdio.h>
#include <string.h>

#include "show.h"

typedef struct sums {
    uint64_t calls, errors, produced, imported, stale, forged_refused, forged_accepted;
    uint64_t payloads, transfers_rejected, reads;
    const char *first_error;
} sums;

static sums sum_counts(show *s)
{
    sums t = {.first_error = ""};
    for (int i = 0; i < NTHREADS; i++) {
        tcount *c = &s->counts[i];
        t.calls += atomic_load(&c->calls), t.errors += atomic_load(&c->errors);
        t.produced += atomic_load(&c->produced), t.imported += atomic_load(&c->imported);
        t.stale += atomic_load(&c->stale), t.reads += atomic_load(&c->reads);
        t.forged_refused += atomic_load(&c->forged_refused);
        t.forged_accepted += atomic_load(&c->forged_accepted);
        t.payloads += atomic_load(&c->payloads);
        t.transfers_rejected += atomic_load(&c->transfers_rejected);
        if (atomic_load(&c->errors) && !*t.first_error)
            t.first_error = c->first_error;
    }
    return t;
}

static int expect(int ok, const char *fmt, const char *what)
{
    printf("  %s  ", ok ? "ok  " : "FAIL");
    printf(fmt, what);
    printf("\n");
    return !ok;
}

static FILE *g_summary; /* --summary FILE; NULL: no SUMMARY lines */

static void summary(const char *metric, double value, const char *unit)
{
    if (g_summary)
        fprintf(g_summary, "SUMMARY bench=chain_demo impl=troupe metric=%s value=%.15g unit=%s\n",
                metric, value, unit);
}

/* ---- the copies ------------------------------------------------------------------------- */

static int ask_dump(show *s, troupe_ref actor, void *out, size_t size)
{
    size_t n = 0;
    int rc = troupe_ask(s->sys, actor, MSG_DUMP, NULL, 0, 30 * SEC, NULL, out, size, &n);
    return rc == 0 && n != size ? TROUPE_EINVAL : rc;
}

/* The actors' copies against the objects (read under their read locks). */
static int check_copies(show *s, chain *ac, engine *ae)
{
    int bad = 0, rc = ask_dump(s, s->chain_ref, ac, sizeof *ac);
    bad += expect(rc == 0, "%s", rc == 0 ? "the chain actor answered" : troupe_strerror(rc));
    rc = ask_dump(s, s->engine_ref, ae, sizeof *ae);
    bad += expect(rc == 0, "%s", rc == 0 ? "the engine actor answered" : troupe_strerror(rc));
    pthread_rwlock_rdlock(&s->lchain.lock);
    int same_chain = memcmp(ac, &s->lchain.c, sizeof *ac) == 0;
    pthread_rwlock_unlock(&s->lchain.lock);
    pthread_rwlock_rdlock(&s->lengine.lock);
    int same_engine = memcmp(ae, &s->lengine.e, sizeof *ae) == 0;
    pthread_rwlock_unlock(&s->lengine.lock);
    bad += expect(same_chain, "%s", "chain: the legacy copy and the actor's copy are identical");
    bad += expect(same_engine, "%s", "engine: the legacy copy and the actor's copy are identical");
    return bad;
}

static int check_chain(show *s, const chain *ac, const sums *t)
{
    verify_result va = chain_verify(ac), vl = chain_verify(&s->lchain.c);
    int bad = expect(va.broken == 0 && vl.broken == 0, "%s",
                     "chain: every block in both copies' windows has its own hash and its "
                     "parent's hash");
    audit_report r = audit_check(&s->audit, s->base.tip, ac->height, va.tip);
    char line[200];
    snprintf(line, sizeof line,
             "chain: %llu blocks accepted by callers link from height %llu to %llu (missing "
             "%llu, broken links %llu, heights won twice %llu)",
             (unsigned long long)r.blocks, (unsigned long long)s->base.height,
             (unsigned long long)ac->height, (unsigned long long)r.missing,
             (unsigned long long)r.bad_links, (unsigned long long)r.twice);
    if (r.beyond)
        printf("  (the audit keeps %u blocks: the last %llu were not audited)\n",
               AUDIT_CHUNK * AUDIT_CHUNKS, (unsigned long long)r.beyond);
    else
        bad += expect(!r.missing && !r.bad_links && !r.twice && r.tip_matches, "%s", line);
    bad += expect(ac->height - s->base.height == t->produced + t->imported, "%s",
                  "chain: the height grew by exactly the blocks callers were told were accepted");
    bad += expect(t->forged_accepted == 0, "%s", "chain: every forged block was refused");
    return bad;
}

static int check_engine(show *s, const engine *ae, const sums *t)
{
    totals_result ta = engine_totals(ae), tl = engine_totals(&s->lengine.e);
    char line[160];
    snprintf(line, sizeof line, "engine: supply %lld in both copies, as at genesis (%lld)",
             (long long)ta.supply, (long long)TOTAL_SUPPLY);
    int bad = expect(ta.supply == TOTAL_SUPPLY && tl.supply == TOTAL_SUPPLY, "%s", line);
    bad += expect(ae->payloads - s->base_payloads == t->payloads, "%s",
                  "engine: every payload a caller executed was applied exactly once");
    return bad;
}

/* ---- the adapters and the restarts ------------------------------------------------------ */

static void print_adapter(const troupe_adapter_info *i)
{
    printf("  %-8s %14llu %13llu %10llu %11llu %7llu %9llu\n", i->name,
           (unsigned long long)i->served_legacy, (unsigned long long)i->served_actor,
           (unsigned long long)i->compared, (unsigned long long)i->mismatches,
           (unsigned long long)i->errors, (unsigned long long)i->switches);
}

static uint64_t restarts_of(show *s, troupe_ref r, uint64_t *panics)
{
    troupe_child_info ci;
    if (troupe_child_info_get(s->sys, r, &ci) != 0)
        return 0;
    *panics += ci.exits_by_kind[TROUPE_EXIT_PANIC];
    return ci.restarts;
}

/* The phases of the run mix paths and durability: in the file only. */
static void phase_summary(const show *s)
{
    static const char *const metrics[NPHASES] = {"run_phase_legacy", "run_phase_shadow",
                                                 "run_phase_canary", "run_phase_actor"};
    for (int p = 0; p < NPHASES; p++)
        if (s->phase_secs[p] > 0.0)
            summary(metrics[p], (double)s->phase_calls[p] / s->phase_secs[p], "calls/s");
}

/* ---- the like-with-like figures --------------------------------------------------------- */

static void print_us(uint64_t ns)
{
    printf(ns < 10000 ? " %7.2f µs" : " %7.1f µs", (double)ns / 1e3);
}

static void print_path(const compare_result *c, int p)
{
    const path_figure *f = &c->path[p];
    printf("    %-34s", compare_label[p]);
    if (!f->ran) {
        printf(" FAILED: %s\n", f->err);
        return;
    }
    printf(" %9.1f k", f->calls_s / 1e3);
    print_us(f->p50_ns);
    print_us(f->p99_ns);
    printf("\n");
}

static const char *const cmp_metric[NCMP] = {"legacy_mem", "actor_mem", "actor_durable"};

static void compare_summary(const compare_result *c)
{
    char m[64];
    for (int p = 0; p < NCMP; p++) {
        const path_figure *f = &c->path[p];
        if (!f->ran)
            continue;
        snprintf(m, sizeof m, "%s_throughput", cmp_metric[p]);
        summary(m, f->calls_s, "calls/s");
        snprintf(m, sizeof m, "%s_p50", cmp_metric[p]);
        summary(m, (double)f->p50_ns, "ns");
        snprintf(m, sizeof m, "%s_p99", cmp_metric[p]);
        summary(m, (double)f->p99_ns, "ns");
    }
    const path_figure *l = &c->path[CMP_LEGACY], *a = &c->path[CMP_ACTOR_MEM];
    if (l->ran && a->ran)
        summary("actor_vs_legacy_mem", a->calls_s / l->calls_s, "x");
}

/* Returns the paths that failed. */
static int print_compare(const compare_result *c)
{
    const path_figure *l = &c->path[CMP_LEGACY], *a = &c->path[CMP_ACTOR_MEM];
    printf("\n  each path alone, the same load, %.1f s each (every %dth call timed; p50/p99: of "
           "the samples)\n",
           c->window, LAT_EVERY);
    printf("    %-34s %11s %10s %10s\n", "path", "calls/s", "p50", "p99");
    print_path(c, CMP_LEGACY);
    print_path(c, CMP_ACTOR_MEM);
    if (l->ran && a->ran)
        printf("  regression figure, both in memory: actor / legacy = %.3fx calls/s\n",
               a->calls_s / l->calls_s);
    printf("  durability, apart (each write in SQLite, WAL synchronous=NORMAL, before its reply;\n"
           "  at most %d calls in flight, one per calling thread; the legacy structs persist "
           "nothing):\n",
           NTHREADS);
    print_path(c, CMP_ACTOR_DURABLE);
    compare_summary(c);
    return !l->ran + !a->ran + !c->path[CMP_ACTOR_DURABLE].ran;
}

/* ---- the report ------------------------------------------------------------------------- */

static int run_checks(show *s, chain *ac, engine *ae, const sums *t, const troupe_adapter_info *ci,
                      const troupe_adapter_info *ei)
{
    printf("\n== checks ==\n");
    int bad = check_copies(s, ac, ae);
    bad += check_chain(s, ac, t);
    bad += check_engine(s, ae, t);
    uint64_t mism = ci->mismatches + ei->mismatches, errs = ci->errors + ei->errors + t->errors;
    bad += expect(mism == 0, "%s", "no mismatch between the legacy and the actor results");
    bad += expect(errs == 0, "no failed call%s", *t->first_error ? " (first: " : "");
    if (*t->first_error)
        printf("        %s)\n", t->first_error);
    return bad;
}

static void run_summary(show *s, const sums *t, double secs, uint64_t faults, uint64_t restarts,
                        uint64_t panics)
{
    printf("  the migration run: %.2f s, %llu calls (%d producers, %d importers; %u workers)\n",
           secs, (unsigned long long)t->calls, NPRODUCERS, NIMPORTERS,
           troupe_system_workers(s->sys));
    printf("  faults injected %llu, restarts %llu (panics %llu); payloads %llu\n",
           (unsigned long long)faults, (unsigned long long)restarts, (unsigned long long)panics,
           (unsigned long long)t->payloads);
    printf("  blocks: %llu produced, %llu imported (%llu stale, %llu forged refused)\n",
           (unsigned long long)t->produced, (unsigned long long)t->imported,
           (unsigned long long)t->stale, (unsigned long long)t->forged_refused);
}

static void file_summary(const sums *t, double secs, const troupe_adapter_info *ci,
                         const troupe_adapter_info *ei, uint64_t faults, uint64_t restarts,
                         const chain *ac)
{
    summary("calls", (double)t->calls, "calls");
    summary("throughput", (double)t->calls / secs, "calls/s");
    summary("calls_legacy", (double)(ci->served_legacy + ei->served_legacy), "calls");
    summary("calls_actor", (double)(ci->served_actor + ei->served_actor), "calls");
    summary("calls_compared", (double)(ci->compared + ei->compared), "calls");
    summary("mismatches", (double)(ci->mismatches + ei->mismatches), "count");
    summary("errors", (double)(ci->errors + ei->errors + t->errors), "count");
    summary("faults", (double)faults, "count");
    summary("restarts", (double)restarts, "count");
    summary("blocks", (double)(t->produced + t->imported), "blocks");
    summary("final_height", (double)ac->height, "height");
}

int report(show *s, double secs, const char *data_dir, const compare_result *cmp, FILE *out)
{
    static chain ac; /* about 10 KB */
    engine ae;
    sums t = sum_counts(s);
    troupe_adapter_info ci, ei;
    g_summary = out;
    if (troupe_adapter_info_get(s->sys, s->chain_ad, &ci) ||
        troupe_adapter_info_get(s->sys, s->engine_ad, &ei)) {
        fprintf(stderr, "chain demo: no adapter info\n");
        return 1;
    }
    int bad = run_checks(s, &ac, &ae, &t, &ci, &ei);
    uint64_t panics = 0, faults = atomic_load(&s->faults);
    uint64_t restarts = restarts_of(s, s->chain_ref, &panics);
    restarts += restarts_of(s, s->engine_ref, &panics);
    bad += expect(panics >= faults && restarts >= faults, "%s",
                  "every injected panic was restarted by the supervisor");

    printf("\n== summary ==\n");
    run_summary(s, &t, secs, faults, restarts, panics);
    printf("  final height %llu (tip %016llx) in %s/journal.db: a rerun resumes there\n",
           (unsigned long long)ac.height, (unsigned long long)chain_tip(&ac)->hash, data_dir);
    printf("  %-8s %14s %13s %10s %11s %7s %9s\n", "adapter", "served legacy", "served actor",
           "compared", "mismatches", "errors", "switches");
    print_adapter(&ci);
    print_adapter(&ei);
    file_summary(&t, secs, &ci, &ei, faults, restarts, &ac);
    phase_summary(s);
    bad += print_compare(cmp) != 0; /* a failed path says so on its line */
    if (out)
        fflush(out);
    printf("%s\n", bad ? "chain demo: FAILED" : "chain demo: every check held");
    return bad;
}
