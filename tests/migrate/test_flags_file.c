/* tests/migrate/test_flags_file.c — the flags file as an attacker or a
 * careless operator leaves it: a FIFO, a directory or a device at the path
 * (refused at once, never blocking the watcher or the readers of the
 * flags), and version after version of new names (names no version uses
 * any more are forgotten, so the table never fills, and lock-free readers
 * racing the churn never see a wrong value). */
#include "flags_support.h"

#include <fcntl.h>

/* ---- a FIFO, a directory, a device ------------------------------------------------- */

/* Run fn(arg) on a thread; true if it returned within the hang guard.
 * When it did not (it blocks in open() on the FIFO, as it did before the
 * fix), open the FIFO for writing until the thread is released, so the
 * test fails instead of hanging. */
typedef struct guarded {
    void (*fn)(void *);
    void *arg;
    _Atomic int done;
} guarded;

static void *guarded_main(void *p)
{
    guarded *g = p;
    g->fn(g->arg);
    atomic_store(&g->done, 1);
    return NULL;
}

static bool returns_in_time(void (*fn)(void *), void *arg, const char *fifo)
{
    guarded g = {.fn = fn, .arg = arg};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, guarded_main, &g), 0);
    uint64_t start = tt_now_ns();
    while (!atomic_load(&g.done) && tt_now_ns() - start < HANG_LIMIT_NS)
        tt_sleep_ns(MS_NS);
    bool in_time = atomic_load(&g.done);
    while (!atomic_load(&g.done)) { /* release an open() stuck on the FIFO */
        int fd = open(fifo, O_WRONLY | O_NONBLOCK);
        if (fd >= 0)
            close(fd);
        tt_sleep_ns(10 * MS_NS);
    }
    pthread_join(t, NULL);
    return in_time;
}

typedef struct loadjob {
    fenv *e;
    int rc;
} loadjob;

static void load_job(void *p)
{
    loadjob *j = p;
    troupe_flags_config fc;
    troupe_flags_config_defaults(&fc);
    fc.path = j->e->path;
    fc.poll_ns = 0;
    j->rc = troupe_flags_load(j->e->sys, &fc);
}

static void make_fifo(const fenv *e)
{
    unlink(e->path);
    cr_assert_eq(mkfifo(e->path, 0600), 0);
}

Test(flags_file, a_fifo_at_the_path_is_refused_at_once)
{
    fenv e;
    fenv_start(&e);
    make_fifo(&e);
    loadjob j = {.e = &e};
    cr_assert(returns_in_time(load_job, &j, e.path), "troupe_flags_load blocked on a FIFO");
    cr_expect_eq(j.rc, TROUPE_EINVAL);
    cr_expect(strstr(error_text(e.sys), "not a regular file"), "%s", error_text(e.sys));
    cr_expect(strstr(error_text(e.sys), e.path));
    fenv_stop(&e);
}

typedef struct watchjob {
    fenv *e;
    bool reported;
    size_t total;
    int list_rc;
} watchjob;

/* What an operator's dashboard does meanwhile: ask for the error and the
 * list until the watcher reported the FIFO. */
static void watch_job(void *p)
{
    watchjob *j = p;
    char err[400] = "";
    uint64_t start = tt_now_ns();
    while (!strstr(err, "not a regular file") && tt_now_ns() - start < HANG_LIMIT_NS) {
        troupe_flag_info list[4];
        j->list_rc = troupe_flags_list(j->e->sys, list, 4, &j->total);
        troupe_flags_error(j->e->sys, err, sizeof err);
        tt_sleep_ns(MS_NS);
    }
    j->reported = strstr(err, "not a regular file") != NULL;
}

Test(flags_file, the_watcher_reports_a_fifo_and_the_flags_keep_answering)
{
    fenv e;
    fenv_start(&e);
    write_file(&e, "live = on\n");
    load(&e, S_NS, 0);
    make_fifo(&e);
    cr_assert_eq(troupe_clock_advance(e.clk, S_NS), 0);
    watchjob j = {.e = &e};
    cr_assert(returns_in_time(watch_job, &j, e.path), "the flags API blocked behind the watcher");
    cr_expect(j.reported, "the watcher reports the FIFO");
    cr_expect_eq(j.list_rc, 0);
    cr_expect_eq(j.total, 1);
    cr_expect_eq(troupe_flag_enabled(e.sys, "live", 1), 1, "the flags in force stay");
    /* a regular file again: the watcher picks it up */
    uint64_t g = troupe_flags_generation(e.sys);
    unlink(e.path);
    write_file(&e, "live = off\n");
    cr_assert_eq(troupe_clock_advance(e.clk, S_NS), 0);
    wait_until(troupe_flags_generation(e.sys) > g);
    cr_expect_eq(troupe_flag_enabled(e.sys, "live", 1), 0);
    cr_expect_str_eq(error_text(e.sys), "");
    fenv_stop(&e);
}

Test(flags_file, a_directory_or_a_device_is_refused)
{
    fenv e;
    fenv_start(&e);
    write_file(&e, "kept = on\n");
    load(&e, 0, 0);
    const char *paths[] = {e.dir, "/dev/zero", "/dev/null"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        troupe_flags_config fc;
        troupe_flags_config_defaults(&fc);
        fc.path = paths[i];
        cr_expect_eq(troupe_flags_load(e.sys, &fc), TROUPE_EINVAL, "%s", paths[i]);
        const char *err = error_text(e.sys);
        cr_expect(strstr(err, paths[i]) && strstr(err, "not a regular file"), "%s", err);
        cr_expect_eq(troupe_flag_enabled(e.sys, "kept", 1), 1, "%s", paths[i]);
    }
    /* a symbolic link to a regular file is fine (config maps are links) */
    char link[160];
    snprintf(link, sizeof link, "%s/link.conf", e.dir);
    cr_assert_eq(symlink(e.path, link), 0);
    troupe_flags_config fc;
    troupe_flags_config_defaults(&fc);
    fc.path = link;
    cr_expect_eq(troupe_flags_load(e.sys, &fc), 0);
    cr_expect_eq(troupe_flag_enabled(e.sys, "kept", 1), 1);
    unlink(link);
    fenv_stop(&e);
}

/* ---- names no version uses ---------------------------------------------------------- */

#define VERSIONS 50
#define NAMES 100

/* Version v: `steady` and 100 names of its own. */
static void write_version(const fenv *e, int v)
{
    static char text[NAMES * 32 + 64];
    size_t o = (size_t)snprintf(text, sizeof text, "steady = on\n");
    for (int k = 0; k < NAMES; k++)
        o += (size_t)snprintf(text + o, sizeof text - o, "v%d_name%d = %s\n", v, k,
                              k % 2 ? "on" : "25%");
    write_file(e, text);
}

static size_t flag_count(troupe_system *sys)
{
    size_t total = 0;
    cr_assert_eq(troupe_flags_list(sys, NULL, 0, &total), 0);
    return total;
}

Test(flags_file, names_no_version_uses_are_forgotten)
{
    fenv e;
    fenv_start(&e);
    const troupe_flag *bound;
    cr_assert_eq(troupe_flag_find(e.sys, "v0_name1", &bound), 0); /* code binds a name */
    for (int v = 0; v < VERSIONS; v++) {
        write_version(&e, v);
        if (v == 0)
            load(&e, 0, 0);
        else
            cr_assert_eq(troupe_flags_reload(e.sys), 0, "version %d: %s", v, error_text(e.sys));
        cr_assert_str_eq(error_text(e.sys), "", "version %d", v);
        cr_assert_eq(flag_count(e.sys), NAMES + 1 + (v > 0), "version %d", v);
        cr_expect_eq(troupe_flag_enabled(e.sys, "steady", 1), 1);
        char name[32];
        snprintf(name, sizeof name, "v%d_name3", v);
        cr_expect_eq(troupe_flag_enabled(e.sys, name, 1), 1);
        if (v > 0) {
            troupe_flag_info fi;
            snprintf(name, sizeof name, "v%d_name3", v - 1);
            cr_expect_eq(troupe_flags_get(e.sys, name, &fi), TROUPE_ENOTFOUND, "%s", name);
            cr_expect_eq(troupe_flag_enabled(e.sys, name, 1), 0, "%s", name);
        }
    }
    /* the bound flag outlives every version: listed, off, still valid */
    troupe_flag_info fi;
    cr_assert_eq(troupe_flags_get(e.sys, "v0_name1", &fi), 0);
    cr_expect_eq(fi.source, TROUPE_FLAG_FROM_NONE);
    cr_expect_eq(troupe_flag_read(bound).kind, TROUPE_FLAG_OFF);
    fenv_stop(&e);
}

/* A cleared name reads as off at once (still listed, with no source, so an
 * answer to the clear can show it); it is forgotten at the next load, or
 * when a new name needs its room. */
Test(flags_file, a_cleared_name_is_forgotten)
{
    fenv e;
    fenv_start(&e);
    for (int i = 0; i < 3 * TROUPE_FLAGS_MAX; i++) {
        char name[32];
        snprintf(name, sizeof name, "temp_%d", i);
        cr_assert_eq(troupe_flags_set(e.sys, name, "on"), 0, "%s", name);
        cr_assert_eq(troupe_flag_enabled(e.sys, name, 1), 1);
        cr_assert_eq(troupe_flags_clear(e.sys, name), 0, "%s", name);
        cr_assert_eq(troupe_flag_enabled(e.sys, name, 1), 0);
        troupe_flag_info fi;
        int rc = troupe_flags_get(e.sys, name, &fi);
        cr_assert(rc == TROUPE_ENOTFOUND || (rc == 0 && fi.source == TROUPE_FLAG_FROM_NONE));
    }
    cr_expect_leq(flag_count(e.sys), TROUPE_FLAGS_MAX);
    cr_expect_eq(troupe_flags_reload(e.sys), 0);
    cr_expect_eq(flag_count(e.sys), 0, "the next load forgets them");
    fenv_stop(&e);
}

/* Readers look names up without a lock while versions replace every name
 * but `steady`: the slots of forgotten names are reused under them, yet a
 * lookup never misses `steady` nor reads a wrong value. */
typedef struct churn {
    troupe_system *sys;
    const troupe_flag *bound;
    _Atomic int stop;
    _Atomic int phase; /* odd while a version loads; version = phase / 2 */
    _Atomic uint64_t reads, bad;
} churn;

static void *churn_reader(void *p)
{
    churn *c = p;
    for (uint64_t k = 0; !atomic_load(&c->stop); k++) {
        char name[32];
        int phase = atomic_load(&c->phase);
        snprintf(name, sizeof name, "v%d_name%d", phase / 2 - (int)(k % 2), (int)(k % NAMES) | 1);
        int seen = troupe_flag_enabled(c->sys, name, k); /* the odd names are on */
        bool ok = troupe_flag_enabled(c->sys, "steady", k) == 1 &&
                  troupe_flag_read(c->bound).kind == TROUPE_FLAG_ON && (seen == 0 || seen == 1);
        if (k % 2 == 0 && phase % 2 == 0 && atomic_load(&c->phase) == phase)
            ok = ok && seen == 1; /* the version in force all along */
        atomic_fetch_add(&c->bad, !ok);
        atomic_fetch_add(&c->reads, 1);
    }
    return NULL;
}

Test(flags_file, readers_race_names_being_forgotten)
{
    fenv e;
    fenv_start(&e);
    churn c = {.sys = e.sys};
    cr_assert_eq(troupe_flags_set(e.sys, "bound", "on"), 0);
    cr_assert_eq(troupe_flag_find(e.sys, "bound", &c.bound), 0);
    write_version(&e, 0);
    load(&e, 0, 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, churn_reader, &c), 0);
    for (int v = 1; v < VERSIONS; v++) {
        write_version(&e, v);
        atomic_store(&c.phase, 2 * v - 1);
        int rc = troupe_flags_reload(e.sys);
        atomic_store(&c.phase, 2 * v);
        cr_assert_eq(rc, 0, "version %d: %s", v, error_text(e.sys));
    }
    wait_until(atomic_load(&c.reads) > 1000);
    atomic_store(&c.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_expect_eq(atomic_load(&c.bad), 0);
    cr_expect_eq(flag_count(e.sys), NAMES + 2);
    fenv_stop(&e);
}
