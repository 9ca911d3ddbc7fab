/* tests/migrate/flags_support.h — what the flags suites share: a system on
 * a manual clock with a fresh temporary directory for the flags file, and
 * helpers to write, load and read it back. */
#ifndef TROUPE_TESTS_FLAGS_SUPPORT_H
#define TROUPE_TESTS_FLAGS_SUPPORT_H

#include "../support.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct fenv {
    troupe_system *sys;
    troupe_clock *clk;
    char dir[64];
    char path[128];
} fenv;

static inline void fenv_start(fenv *e)
{
    memset(e, 0, sizeof *e);
    cr_assert_eq(troupe_clock_create_manual(&e->clk, 0), 0);
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cfg.clock = e->clk;
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    snprintf(e->dir, sizeof e->dir, "/tmp/troupe-flags-XXXXXX");
    cr_assert(mkdtemp(e->dir));
    snprintf(e->path, sizeof e->path, "%s/flags.conf", e->dir);
}

static inline void fenv_stop(fenv *e)
{
    troupe_system_destroy(e->sys);
    troupe_clock_destroy(e->clk);
    unlink(e->path);
    rmdir(e->dir);
}

/* Write the file the way editors do: a temporary file renamed over it. */
static inline void write_file(const fenv *e, const char *text)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", e->path);
    FILE *f = fopen(tmp, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(rename(tmp, e->path), 0);
}

static inline void load(fenv *e, uint64_t poll_ns, int want)
{
    troupe_flags_config fc;
    troupe_flags_config_defaults(&fc);
    fc.path = e->path;
    fc.poll_ns = poll_ns;
    cr_assert_eq(troupe_flags_load(e->sys, &fc), want);
}

static inline troupe_flag_value value_of(troupe_system *sys, const char *name)
{
    troupe_flag_info fi;
    cr_assert_eq(troupe_flags_get(sys, name, &fi), 0, "flag %s", name);
    return fi.value;
}

static inline const char *error_text(troupe_system *sys)
{
    static char buf[400];
    cr_assert_geq(troupe_flags_error(sys, buf, sizeof buf), 0);
    return buf;
}

#endif
