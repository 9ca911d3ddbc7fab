/* examples/chain/compare.c — like with like: the showcase's load on each
 * path alone, for the figures the summary prints.
 *
 * The migration run (main.c) mixes everything on purpose: the actors
 * persist every write to SQLite, panics are injected, the flags move under
 * load. Its calls per second say nothing about the cost of the path. Here
 * the same callers (load.c: 2 producers, 2 importers, the same ops) run for
 * a window on fresh copies, in a system of their own, one path at a time:
 *   legacy         the adapters in LEGACY mode: the structs behind their
 *                  rwlocks, in memory;
 *   actor          the adapters in ACTOR mode over actors that keep their
 *                  state in memory (memory.c): the regression figure is
 *                  this over legacy — both in memory, nothing else differs;
 *   actor durable  ACTOR mode over the persistent actors (actors.c) on a
 *                  scratch SQLite journal (WAL, synchronous=NORMAL, as the
 *                  run's; <data>/compare-scratch, removed after): every write in the journal before its reply, at
 *                  most one call in flight per calling thread. Durability
 *                  has a price of its own: a figure apart, not a ratio —
 *                  the legacy structs persist nothing.
 * Every LAT_EVERY-th call is timed; p50 and p99 are read off the sorted
 * samples (measured values, not histogram buckets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "show.h"

const char *const compare_label[NCMP] = {
    "legacy: rwlock structs, in memory",
    "actor: actors, state in memory",
    "actor, durable: SQLite journal",
};

typedef struct path_def {
    const troupe_adapter_def *cdef, *edef;
    const troupe_behaviour *cbeh, *ebeh;
    troupe_adapter_mode mode;
} path_def;

/* The durable path's adapters: the showcase's, named apart so that an
 * operator's pin of adapter.chain / adapter.engine does not choose the
 * path measured (the actors' handlers serve the same ops). */
static troupe_adapter_def g_chain_durable, g_engine_durable;
static char g_open_err[96]; /* why the scratch journal did not open */

static path_def path_of(int p)
{
    if (p == CMP_ACTOR_DURABLE) {
        g_chain_durable = chain_adapter_def, g_chain_durable.name = "chain_durable";
        g_engine_durable = engine_adapter_def, g_engine_durable.name = "engine_durable";
        return (path_def){&g_chain_durable, &g_engine_durable, &chain_actor_beh,
                          &engine_actor_beh, TROUPE_MODE_ACTOR};
    }
    return (path_def){&chain_mem_adapter_def, &engine_mem_adapter_def, &chain_mem_beh,
                      &engine_mem_beh, p == CMP_LEGACY ? TROUPE_MODE_LEGACY : TROUPE_MODE_ACTOR};
}

/* ---- the scratch journal ------------------------------------------------------------------ */

static void scratch_remove(const char *dir)
{
    static const char *const files[] = {"journal.db", "journal.db-wal", "journal.db-shm", "journal.id"};
    char path[1100];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* ---- one path ----------------------------------------------------------------------------- */

static int fail(path_figure *f, const char *what, int rc)
{
    snprintf(f->err, sizeof f->err, "%.40s: %.70s", what, troupe_strerror(rc));
    return rc;
}

static int spawn(show *c, const troupe_behaviour *beh, const char *id, troupe_ref *out)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = beh->persist ? id : NULL;
    return troupe_spawn(c->sys, beh, NULL, &o, out);
}

static int adapter(show *c, const troupe_adapter_def *def, void *obj, pthread_rwlock_t *lock,
                   troupe_ref actor, troupe_adapter *out)
{
    troupe_adapter_config cfg;
    troupe_adapter_config_defaults(&cfg);
    cfg.obj = obj, cfg.lock = lock, cfg.actor = actor;
    return troupe_adapter_create(c->sys, def, &cfg, out);
}

/* The actors, the legacy structs at genesis, the adapters in the path's
 * mode; one call each so that a switch (a sync) happens before the window. */
static int setup(show *c, const path_def *d, path_figure *f)
{
    int rc;
    if ((rc = legacy_chain_init(&c->lchain)) < 0 || (rc = legacy_engine_init(&c->lengine)) < 0)
        return fail(f, "legacy init", rc);
    if ((rc = spawn(c, d->cbeh, "chain", &c->chain_ref)) < 0 ||
        (rc = spawn(c, d->ebeh, "engine", &c->engine_ref)) < 0)
        return fail(f, "spawn", rc);
    if ((rc = adapter(c, d->cdef, &c->lchain.c, &c->lchain.lock, c->chain_ref, &c->chain_ad)) < 0 ||
        (rc = adapter(c, d->edef, &c->lengine.e, &c->lengine.lock, c->engine_ref,
                      &c->engine_ad)) < 0)
        return fail(f, "adapter", rc);
    if ((rc = troupe_adapter_set_mode(c->sys, d->cdef->name, d->mode, 0)) < 0 ||
        (rc = troupe_adapter_set_mode(c->sys, d->edef->name, d->mode, 0)) < 0)
        return fail(f, "set the mode", rc);
    head_result h;
    totals_result t;
    if ((rc = troupe_adapter_call(c->sys, c->chain_ad, CHAIN_HEAD, 0, NULL, 0, &h, sizeof h,
                                  NULL)) < 0 ||
        (rc = troupe_adapter_call(c->sys, c->engine_ad, ENGINE_TOTALS, 0, NULL, 0, &t, sizeof t,
                                  NULL)) < 0)
        return fail(f, "first call", rc);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The threads' samples, merged and sorted: p50 and p99. */
static void latencies(show *c, path_figure *f)
{
    uint64_t *all = malloc((size_t)NTHREADS * LAT_CAP * sizeof *all), n = 0;
    if (!all)
        return;
    for (int i = 0; i < NTHREADS; i++) {
        uint64_t k = c->lat[i].seen < LAT_CAP ? c->lat[i].seen : LAT_CAP;
        memcpy(all + n, c->lat[i].v, k * sizeof *all);
        n += k;
    }
    qsort(all, n, sizeof *all, cmp_u64);
    f->timed = n;
    if (n) {
        f->p50_ns = all[n / 2];
        f->p99_ns = all[n * 99 / 100];
    }
    free(all);
}

static int window_run(show *c, double window, path_figure *f)
{
    for (int i = 0; i < NTHREADS; i++)
        if (!(c->lat[i].v = malloc(LAT_CAP * sizeof(uint64_t))))
            return fail(f, "samples", TROUPE_ENOMEM);
    audit_init(&c->audit, 0);
    c->t0 = now_ns();
    int rc = load_start(c);
    if (rc == 0)
        nanosleep(&(struct timespec){(time_t)window, (long)((window - (time_t)window) * 1e9)},
                  NULL);
    load_stop(c);
    double secs = (double)(now_ns() - c->t0) / 1e9;
    if (rc < 0)
        return fail(f, "start the callers", rc);
    uint64_t errors = 0;
    for (int i = 0; i < NTHREADS; i++)
        errors += atomic_load(&c->counts[i].errors);
    f->calls = load_calls(c);
    f->calls_s = (double)f->calls / secs;
    latencies(c, f);
    if (errors)
        snprintf(f->err, sizeof f->err, "%llu failed calls", (unsigned long long)errors);
    return errors ? TROUPE_EFAILED : 0;
}

/* The system first: its destroy waits for the journal's acks to it. */
static void teardown(show *c)
{
    if (c->chain_ad.id)
        troupe_adapter_destroy(c->sys, c->chain_ad);
    if (c->engine_ad.id)
        troupe_adapter_destroy(c->sys, c->engine_ad);
    troupe_system_shutdown(c->sys, 10 * SEC);
    troupe_system_destroy(c->sys);
    legacy_chain_destroy(&c->lchain);
    legacy_engine_destroy(&c->lengine);
    audit_free(&c->audit);
    for (int i = 0; i < NTHREADS; i++)
        free(c->lat[i].v);
}

static void measure(int p, troupe_journal *j, double window, path_figure *f)
{
    static show c; /* large (the audit's table): not on the stack */
    memset(&c, 0, sizeof c);
    memset(f, 0, sizeof *f);
    path_def d = path_of(p);
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    int rc = 0;
    if (p == CMP_ACTOR_DURABLE && !j) {
        snprintf(f->err, sizeof f->err, "no scratch journal: %s", g_open_err);
        return;
    }
    cfg.journal = p == CMP_ACTOR_DURABLE ? j : NULL;
    if ((rc = troupe_system_create(&c.sys, &cfg)) < 0) {
        fail(f, "troupe_system_create", rc);
        return;
    }
    if (setup(&c, &d, f) == 0 && window_run(&c, window, f) == 0)
        f->ran = 1;
    teardown(&c);
}

static void scratch_path(const char *data_dir, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/compare-scratch", data_dir);
}

/* Opened at start-up, before the run has freed anything: a journal
 * opened late, in a process that had freed large blocks, crashed at its
 * first commit (persistence/journal.c's journal_start takes the writer's
 * batch from sys_malloc and never sets its count; reported with issue 13).
 * NULL on failure (the durable path then says why). */
troupe_journal *compare_open_journal(const char *data_dir)
{
    char scratch[1024];
    scratch_path(data_dir, scratch, sizeof scratch);
    scratch_remove(scratch); /* a run stopped early may have left one */
    mkdir(data_dir, 0755);    /* the run's journal makes it too, later */
    troupe_journal *j = NULL;
    int rc = troupe_journal_open_sqlite(scratch, TROUPE_SQLITE_NORMAL, &j);
    if (rc < 0)
        troupe_journal_open_error(g_open_err, sizeof g_open_err);
    return rc < 0 ? NULL : j;
}

void compare_close_journal(const char *data_dir, troupe_journal *j)
{
    char scratch[1024];
    troupe_journal_close(j);
    scratch_path(data_dir, scratch, sizeof scratch);
    scratch_remove(scratch);
}

void compare_run(troupe_journal *scratch, double window, compare_result *out)
{
    out->window = window;
    for (int p = 0; p < NCMP; p++) {
        measure(p, scratch, window, &out->path[p]);
        printf("  %-36s %9.1f k calls/s%s%s\n", compare_label[p], out->path[p].calls_s / 1e3,
               out->path[p].ran ? "" : "  FAILED: ", out->path[p].err);
        fflush(stdout);
    }
}
