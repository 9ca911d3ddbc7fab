/* migrate/flags_file.c — the flags file: reading it whole (a regular file
 * only), applying it (with the environment) only when every line is good
 * (flags_parse.c parses it), and watching it for changes with a timer on
 * the system's clock.
 *
 * A load is all or nothing: the file is parsed into entries, the entries
 * and the environment are checked (names, values, capacity), and only then
 * are the layers changed and the flags published. On any error the flags
 * in force stay and the error's text (with the line number) is kept. The
 * file is read and parsed under cfg_lock alone; flags.lock, which the
 * readers of the flags take, is held only to check and commit (mig.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/system.h"
#include "migrate/mig.h"

#define FILE_MAX (64u << 10)
#define TICK 1u

/* ---- reading ------------------------------------------------------------------------ */

static void ident_of(const struct stat *st, fident *id)
{
    *id = (fident){.valid = true, .dev = st->st_dev, .ino = st->st_ino, .size = (uint64_t)st->st_size,
                   .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec};
}

static int sys_fail(const char *path, const char *op, char *err, size_t cap)
{
    int e = errno;
    snprintf(err, cap, "%s: %s%s", path, op, strerror(e));
    return e == ENOENT ? TROUPE_ENOTFOUND : TROUPE_EIO;
}

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device"
         : S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "of an unknown type";
}

/* Only a regular file of at most FILE_MAX bytes is read. The identity is
 * kept either way, so the watcher reports a refused version once. */
static int check_regular(const char *path, const struct stat *st, fident *id, char *err, size_t cap)
{
    ident_of(st, id);
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, cap, "%s: not a regular file (%s)", path, kind_of(st->st_mode));
        return TROUPE_EINVAL;
    }
    if (st->st_size > (off_t)FILE_MAX) {
        snprintf(err, cap, "%s: larger than 64 KiB", path);
        return TROUPE_EINVAL;
    }
    return 0;
}

/* A descriptor on the regular file at path, or a negative code. stat()
 * first: opening a FIFO waits for a writer, and opening a device may act
 * (a tape rewinds, a watchdog arms). O_NONBLOCK in case a FIFO took the
 * file's place since; fstat() then checks what was opened. No O_NOFOLLOW:
 * the path may be a symbolic link (configuration maps are), the file it
 * names is what is checked. */
static int open_regular(const char *path, struct stat *st, fident *id, char *err, size_t cap)
{
    if (stat(path, st) < 0)
        return sys_fail(path, "", err, cap);
    int rc = check_regular(path, st, id, err, cap);
    if (rc)
        return rc;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return sys_fail(path, "", err, cap);
    rc = fstat(fd, st) < 0 ? sys_fail(path, "fstat: ", err, cap) : check_regular(path, st, id, err, cap);
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}

static int read_fd(int fd, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return TROUPE_EIO;
        if (k == 0 || (n += (size_t)k) == cap)
            break;
    }
    *len = n;
    return 0;
}

/* The whole file (at most FILE_MAX bytes) into a malloc'ed buffer. */
static int read_file(const char *path, char **text, size_t *len, fident *id, char *err, size_t cap)
{
    struct stat st;
    int fd = open_regular(path, &st, id, err, cap);
    if (fd < 0)
        return fd;
    char *buf = sys_malloc(FILE_MAX + 1);
    int rc = buf ? read_fd(fd, buf, FILE_MAX + 1, len) : TROUPE_ENOMEM;
    close(fd);
    if (rc == 0 && *len > FILE_MAX) { /* it grew since fstat */
        snprintf(err, cap, "%s: larger than 64 KiB", path);
        rc = TROUPE_EINVAL;
    } else if (rc == TROUPE_EIO) {
        snprintf(err, cap, "%s: read failed", path);
    }
    if (rc)
        free(buf);
    else
        *text = buf;
    return rc;
}

/* ---- applying --------------------------------------------------------------------- */

/* Every check before anything changes: room for the flags the version
 * keeps (its own, the bound ones, those with a run-time or environment
 * value), the environment's values. Marks the flags the file names. */
static int check_apply(flags *f, const parsed *p, char *err, size_t cap)
{
    uint32_t have = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    for (uint32_t i = 0; i < have; i++)
        f->all[i]->in_file = false;
    size_t live = 0;
    for (size_t i = 0; i < p->n; i++) {
        troupe_flag *fl = flag_lookup__(f, p->e[i].name, strlen(p->e[i].name));
        live += !fl; /* a new name */
        if (fl)
            fl->in_file = true;
    }
    for (size_t i = 0; i < have + p->n; i++) {
        const troupe_flag *fl = i < have ? f->all[i] : NULL;
        const char *name = fl ? fl->name : p->e[i - have].name;
        troupe_flag_value v;
        bool found;
        if (flag_env__(f, name, &v, &found) < 0) {
            snprintf(err, cap, "environment: bad value for flag \"%s\"", name);
            return TROUPE_EINVAL;
        }
        live += fl && (fl->in_file || fl->pinned || fl->has[LAYER_RUNTIME] || found);
    }
    if (live > TROUPE_FLAGS_MAX) {
        snprintf(err, cap, "%s: more than %d flags", p->label, TROUPE_FLAGS_MAX);
        return TROUPE_EINVAL;
    }
    return 0;
}

/* The new file and environment layers of the flags there are; the ones
 * left without a value are forgotten before the new names are made, so
 * their room serves them. */
static void commit(flags *f, const parsed *p)
{
    uint32_t have = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    for (uint32_t i = 0; i < have; i++) {
        troupe_flag *fl = f->all[i];
        fl->has[LAYER_FILE] = false;
        bool found;
        flag_env__(f, fl->name, &fl->layer[LAYER_ENV], &found);
        fl->has[LAYER_ENV] = found;
    }
    for (size_t i = 0; i < p->n; i++) {
        size_t n = strlen(p->e[i].name);
        troupe_flag *fl = flag_lookup__(f, p->e[i].name, n);
        if (fl)
            fl->has[LAYER_FILE] = true, fl->layer[LAYER_FILE] = p->e[i].v;
    }
    flags_forget_unused__(f);
    for (size_t i = 0; i < p->n; i++) {
        size_t n = strlen(p->e[i].name);
        troupe_flag *fl = flag_lookup__(f, p->e[i].name, n);
        if (!fl && (fl = flag_create__(f, p->e[i].name, n))) /* room was checked */
            fl->has[LAYER_FILE] = true, fl->layer[LAYER_FILE] = p->e[i].v;
    }
    have = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    for (uint32_t i = 0; i < have; i++)
        flag_publish__(f, f->all[i]);
}

/* Read and parse the file at path: file I/O, never under flags.lock. */
static int read_version(const char *path, parsed *p, fident *id)
{
    char *text = NULL;
    size_t len = 0;
    int rc = path ? read_file(path, &text, &len, id, p->err, p->errcap) : 0;
    if (rc == 0 && path)
        rc = parse_text(p, text, len);
    free(text);
    return rc;
}

/* Under flags.lock: check and commit a version read (rc its reading's
 * outcome), with the environment prefix `prefix`, kept only if it
 * succeeds; record the outcome. */
static int apply_version(flags *f, parsed *p, int rc, const char *prefix)
{
    char old[sizeof f->prefix];
    memcpy(old, f->prefix, sizeof old);
    snprintf(f->prefix, sizeof f->prefix, "%s", prefix);
    if (rc == 0)
        rc = check_apply(f, p, p->err, p->errcap);
    if (rc == 0)
        commit(f, p);
    else
        memcpy(f->prefix, old, sizeof old);
    if (rc == TROUPE_ENOMEM)
        snprintf(p->err, p->errcap, "out of memory");
    snprintf(f->error, sizeof f->error, "%s", rc ? p->err : "");
    if (rc == 0) {
        f->reloads++;
        atomic_fetch_add_explicit(&f->gen, 1, memory_order_relaxed); /* relaxed: a counter */
    } else {
        f->reload_failures++;
    }
    return rc;
}

/* Caller holds cfg_lock. The file is read first, under cfg_lock alone:
 * whatever it is (slow, huge, not a file), readers of the flags do not
 * wait for it. */
static int reload_with(flags *f, const char *prefix)
{
    char err[sizeof f->error] = "";
    parsed p = {.err = err, .errcap = sizeof err, .label = f->path ? f->path : "flags"};
    fident id = {0};
    int rc = read_version(f->path, &p, &id);
    pthread_mutex_lock(&f->lock);
    rc = apply_version(f, &p, rc, prefix);
    pthread_mutex_unlock(&f->lock);
    free(p.e);
    if (id.valid || rc == 0)
        f->seen = id;
    return rc;
}

int flags_reload__(troupe_system *sys, flags *f)
{
    (void)sys;
    char prefix[sizeof f->prefix];
    pthread_mutex_lock(&f->lock);
    memcpy(prefix, f->prefix, sizeof prefix);
    pthread_mutex_unlock(&f->lock);
    return reload_with(f, prefix);
}

/* ---- the API ------------------------------------------------------------------------- */

TROUPE_API void troupe_flags_config_defaults(troupe_flags_config *cfg)
{
    if (cfg)
        *cfg = (troupe_flags_config){.poll_ns = 1000000000ull};
}

static int check_config(const troupe_flags_config *c)
{
    for (size_t i = 0; i < sizeof c->reserved; i++)
        if (c->reserved[i])
            return TROUPE_EINVAL;
    if (c->env_prefix && strlen(c->env_prefix) > 32)
        return TROUPE_EINVAL;
    return c->path && !c->path[0] ? TROUPE_EINVAL : 0;
}

/* The configuration a load replaces, to put back when it fails (cfg_lock). */
typedef struct fconf {
    char *path;
    uint64_t poll_ns;
    troupe_timer timer;
    bool watching;
    fident seen;
} fconf;

static void conf_swap(flags *f, fconf *c)
{
    fconf old = {f->path, f->poll_ns, f->timer, f->watching, f->seen};
    f->path = c->path, f->poll_ns = c->poll_ns, f->timer = c->timer, f->watching = c->watching;
    f->seen = c->seen;
    *c = old;
}

/* Under cfg_lock: the new configuration in place, its file applied, its
 * watch armed; on failure the old configuration is back (nc then holds
 * the new one) and, if the file was applied, the old prefix too. */
static int load_locked(troupe_system *sys, flags *f, fconf *nc, const char *prefix)
{
    char old_prefix[sizeof f->prefix];
    pthread_mutex_lock(&f->lock);
    memcpy(old_prefix, f->prefix, sizeof old_prefix);
    pthread_mutex_unlock(&f->lock);
    conf_swap(f, nc); /* nc now holds the old configuration */
    int rc = reload_with(f, prefix);
    if (rc == 0 && (rc = flags_watch_start(sys, f)) != 0) {
        pthread_mutex_lock(&f->lock);
        memcpy(f->prefix, old_prefix, sizeof f->prefix);
        pthread_mutex_unlock(&f->lock);
    }
    if (rc)
        conf_swap(f, nc); /* back to the old one */
    else if (nc->watching)
        troupe_timer_cancel(sys, nc->timer);
    return rc;
}

TROUPE_API int troupe_flags_load(troupe_system *sys, const troupe_flags_config *cfg)
{
    troupe_flags_config def;
    troupe_flags_config_defaults(&def);
    const troupe_flags_config *c = cfg ? cfg : &def;
    if (!sys || check_config(c))
        return TROUPE_EINVAL;
    fconf nc = {.path = sys_strdup(c->path), .poll_ns = c->poll_ns};
    if (c->path && !nc.path)
        return TROUPE_ENOMEM;
    flags *f = &sys->mig->fl;
    pthread_mutex_lock(&f->cfg_lock);
    int rc = load_locked(sys, f, &nc, c->env_prefix ? c->env_prefix : "TROUPE_FLAG_");
    pthread_mutex_unlock(&f->cfg_lock);
    free(nc.path);
    return rc;
}

TROUPE_API int troupe_flags_reload(troupe_system *sys)
{
    if (!sys)
        return TROUPE_EINVAL;
    flags *f = &sys->mig->fl;
    pthread_mutex_lock(&f->cfg_lock);
    int rc = flags_reload__(sys, f);
    pthread_mutex_unlock(&f->cfg_lock);
    return rc;
}

/* ---- watching ------------------------------------------------------------------------- */

static bool changed(const fident *a, const struct stat *st)
{
    fident b;
    ident_of(st, &b);
    return !a->valid || a->dev != b.dev || a->ino != b.ino || a->size != b.size ||
           a->mtime_ns != b.mtime_ns;
}

/* One tick: reload when the file changed (a failed load counts once per
 * version of the file: its identity is kept too). A load or reload in
 * progress reads the file anyway: the tick is skipped rather than waited
 * for, so the worker running the watcher never blocks. */
static void poll_file(troupe_system *sys, flags *f)
{
    struct stat st;
    if (pthread_mutex_trylock(&f->cfg_lock) != 0)
        return;
    if (f->path && f->watching && stat(f->path, &st) == 0 && changed(&f->seen, &st))
        flags_reload__(sys, f);
    pthread_mutex_unlock(&f->cfg_lock);
}

static int watch_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)state;
    if (msg->type == TICK)
        poll_file(troupe_ctx_system(ctx), &troupe_ctx_system(ctx)->mig->fl);
    return 0;
}

static const troupe_behaviour watch_beh = {.name = "troupe.flags", .handle = watch_handle};

/* Under cfg_lock, with the new configuration in place: arm its timer (the
 * old one, if any, is cancelled by the caller once the load succeeded). */
int flags_watch_start(troupe_system *sys, flags *f)
{
    f->watching = false;
    if (!f->path || f->poll_ns == 0)
        return 0;
    int rc = 0;
    if (troupe_ref_is_none(f->watcher))
        rc = troupe_spawn(sys, &watch_beh, NULL, NULL, &f->watcher);
    if (rc == 0)
        rc = troupe_send_interval(sys, f->watcher, TICK, NULL, 0, f->poll_ns, f->poll_ns,
                                  &f->timer);
    f->watching = rc == 0;
    return rc;
}

void flags_init(flags *f)
{
    pthread_mutex_init(&f->cfg_lock, NULL);
    pthread_mutex_init(&f->lock, NULL);
}

void flags_free(flags *f)
{
    flags_table_free(f);
    free(f->path);
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->cfg_lock);
}
