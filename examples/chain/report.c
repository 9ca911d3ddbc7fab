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
 * Then the figures, and one SUMMARY line per main figure.
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

static void summary(const char *metric, double value, const char *unit)
{
    printf("SUMMARY bench=chain_demo impl=troupe metric=%s value=%.15g unit=%s\n", metric, value,
           unit);
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
    printf("  %-7s %12llu %12llu %12llu %10llu %7llu %8llu   %6.1f / %-8.1f %6.1f / %.1f\n",
           i->name, (unsigned long long)i->served_legacy, (unsigned long long)i->served_actor,
           (unsigned long long)i->compared, (unsigned long long)i->mismatches,
           (unsigned long long)i->errors, (unsigned long long)i->switches,
           (double)i->legacy.p50_ns / 1e3, (double)i->legacy.p99_ns / 1e3,
           (double)i->actor.p50_ns / 1e3, (double)i->actor.p99_ns / 1e3);
}

static uint64_t restarts_of(show *s, troupe_ref r, uint64_t *panics)
{
    troupe_child_info ci;
    if (troupe_child_info_get(s->sys, r, &ci) != 0)
        return 0;
    *panics += ci.exits_by_kind[TROUPE_EXIT_PANIC];
    return ci.restarts;
}

static void print_phases(const show *s)
{
    static const char *const names[NPHASES] = {"legacy", "shadow", "canary", "actor"};
    static const char *const metrics[NPHASES] = {"throughput_legacy", "throughput_shadow",
                                                 "throughput_canary", "throughput_actor"};
    printf("  calls/s by phase:");
    for (int p = 0; p < NPHASES; p++)
        if (s->phase_secs[p] > 0.0)
            printf("  %s %.1f k", names[p], (double)s->phase_calls[p] / s->phase_secs[p] / 1e3);
    printf("\n  (an actor persists each write to SQLite before it takes its next message; the "
           "legacy objects live in memory only)\n");
    for (int p = 0; p < NPHASES; p++)
        if (s->phase_secs[p] > 0.0)
            summary(metrics[p], (double)s->phase_calls[p] / s->phase_secs[p], "calls/s");
}

int report(show *s, double secs, const char *data_dir)
{
    static chain ac; /* about 10 KB */
    engine ae;
    sums t = sum_counts(s);
    troupe_adapter_info ci, ei;
    if (troupe_adapter_info_get(s->sys, s->chain_ad, &ci) ||
        troupe_adapter_info_get(s->sys, s->engine_ad, &ei)) {
        fprintf(stderr, "chain demo: no adapter info\n");
        return 1;
    }
    printf("\n== checks ==\n");
    int bad = check_copies(s, &ac, &ae);
    bad += check_chain(s, &ac, &t);
    bad += check_engine(s, &ae, &t);
    uint64_t mism = ci.mismatches + ei.mismatches, errs = ci.errors + ei.errors + t.errors;
    bad += expect(mism == 0, "%s", "no mismatch between the legacy and the actor results");
    bad += expect(errs == 0, "no failed call%s", *t.first_error ? " (first: " : "");
    if (*t.first_error)
        printf("        %s)\n", t.first_error);
    uint64_t panics = 0, faults = atomic_load(&s->faults);
    uint64_t restarts = restarts_of(s, s->chain_ref, &panics);
    restarts += restarts_of(s, s->engine_ref, &panics);
    bad += expect(panics >= faults && restarts >= faults, "%s",
                  "every injected panic was restarted by the supervisor");

    printf("\n== summary ==\n");
    printf("  %.2f s, %llu calls through the adapters: %.1f k calls/s (%d producers, %d "
           "importers; %u workers)\n",
           secs, (unsigned long long)t.calls, (double)t.calls / secs / 1e3, NPRODUCERS, NIMPORTERS,
           troupe_system_workers(s->sys));
    print_phases(s);
    printf("\n  %-7s %12s %12s %12s %10s %7s %8s   %-17s %s\n", "adapter", "legacy", "actor",
           "compared", "mismatches", "errors", "switches", "legacy p50/p99 µs",
           "actor p50/p99 µs");
    print_adapter(&ci);
    print_adapter(&ei);
    printf("\n  faults injected %llu, restarts %llu (panics %llu)\n", (unsigned long long)faults,
           (unsigned long long)restarts, (unsigned long long)panics);
    printf("  blocks: %llu produced, %llu imported, %llu imports stale, %llu forged refused; "
           "payloads %llu (%llu transfers refused: overdrawn)\n",
           (unsigned long long)t.produced, (unsigned long long)t.imported,
           (unsigned long long)t.stale, (unsigned long long)t.forged_refused,
           (unsigned long long)t.payloads, (unsigned long long)t.transfers_rejected);
    printf("  final height %llu (tip %016llx), durable in %s/journal.db: a rerun resumes there\n",
           (unsigned long long)ac.height, (unsigned long long)chain_tip(&ac)->hash, data_dir);

    uint64_t legacy = ci.served_legacy + ei.served_legacy;
    uint64_t actor = ci.served_actor + ei.served_actor;
    summary("calls", (double)t.calls, "calls");
    summary("throughput", (double)t.calls / secs, "calls/s");
    summary("calls_legacy", (double)legacy, "calls");
    summary("calls_actor", (double)actor, "calls");
    summary("calls_compared", (double)(ci.compared + ei.compared), "calls");
    summary("mismatches", (double)mism, "count");
    summary("errors", (double)errs, "count");
    summary("faults", (double)faults, "count");
    summary("restarts", (double)restarts, "count");
    summary("blocks", (double)(t.produced + t.imported), "blocks");
    summary("final_height", (double)ac.height, "height");
    summary("chain_legacy_p50", (double)ci.legacy.p50_ns, "ns");
    summary("chain_legacy_p99", (double)ci.legacy.p99_ns, "ns");
    summary("chain_actor_p50", (double)ci.actor.p50_ns, "ns");
    summary("chain_actor_p99", (double)ci.actor.p99_ns, "ns");
    summary("engine_legacy_p50", (double)ei.legacy.p50_ns, "ns");
    summary("engine_legacy_p99", (double)ei.legacy.p99_ns, "ns");
    summary("engine_actor_p50", (double)ei.actor.p50_ns, "ns");
    summary("engine_actor_p99", (double)ei.actor.p99_ns, "ns");
    printf("%s\n", bad ? "chain demo: FAILED" : "chain demo: every check held");
    return bad;
}
