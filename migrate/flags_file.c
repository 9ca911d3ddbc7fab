/* migrate/flags_file.c — the flags file: reading and parsing it whole,
 * applying it (with the environment) only when every line is good, and
 * watching it for changes with a timer on the system's clock.
 *
 * A load is all or nothing: the file is parsed into entries, the entries
 * and the environment are checked (names, values, capacity), and only then
 * are the layers changed and the flags published. On any error the flags
 * in force stay and the error's text (with the line number) is kept. */
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

typedef struct fentry {
    char name[TROUPE_FLAG_NAME_MAX + 1];
    troupe_flag_value v;
    int line;
} fentry;

typedef struct parsed {
    fentry *e;
    size_t n;
    char *err;
    size_t errcap;
    const char *label;
} parsed;

static int fail(parsed *p, int line, const char *what)
{
    snprintf(p->err, p->errcap, "%s:%d: %s", p->label, line, what);
    return TROUPE_EINVAL;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static int check_entry(parsed *p, const fentry *e)
{
    if (fv_is_mode(e->v.kind) && !flag_name_is_adapter(e->name))
        return fail(p, e->line, "legacy, shadow, canary and actor are for adapter.<name> flags");
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].name, e->name) == 0) {
            char msg[TROUPE_FLAG_NAME_MAX + 48];
            snprintf(msg, sizeof msg, "\"%s\" is already set on line %d", e->name, p->e[i].line);
            return fail(p, e->line, msg);
        }
    return 0;
}

/* One line without its newline: blank, a comment, or name = value. */
static int parse_line(parsed *p, const char *s, size_t n, int line)
{
    const char *hash = memchr(s, '#', n);
    if (hash)
        n = (size_t)(hash - s);
    trim(&s, &n);
    if (n == 0)
        return 0;
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return fail(p, line, "expected name = value");
    const char *name = s, *val = eq + 1;
    size_t nn = (size_t)(eq - s), vn = n - nn - 1;
    trim(&name, &nn), trim(&val, &vn);
    if (!flag_name_ok(name, nn))
        return fail(p, line, "bad flag name (1..63 of A-Z a-z 0-9 _ . -)");
    fentry e = {.line = line};
    memcpy(e.name, name, nn);
    int why = value_parse(val, vn, &e.v);
    if (why == VAL_RANGE)
        return fail(p, line, "percentage outside 0-100");
    if (why != VAL_OK)
        return fail(p, line, "bad value (on, off, NN%, legacy, shadow, canary NN%, actor)");
    int rc = check_entry(p, &e);
    if (rc == 0)
        p->e[p->n++] = e;
    return rc;
}

static int parse_text(parsed *p, const char *text, size_t len)
{
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (!(p->e = malloc(lines * sizeof *p->e)))
        return TROUPE_ENOMEM;
    if (memchr(text, '\0', len))
        return fail(p, 1, "the file holds a NUL byte");
    int line = 1, rc = 0;
    for (const char *s = text, *end = text + len; s < end && rc == 0; line++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        rc = parse_line(p, s, n, line);
        s += n + 1;
    }
    return rc;
}

/* ---- reading ------------------------------------------------------------------------ */

static void ident_of(const struct stat *st, fident *id)
{
    *id = (fident){.valid = true, .dev = st->st_dev, .ino = st->st_ino, .size = (uint64_t)st->st_size,
                   .mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec};
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, cap, "%s: %s", path, strerror(e));
        return e == ENOENT ? TROUPE_ENOTFOUND : TROUPE_EIO;
    }
    struct stat st;
    char *buf = malloc(FILE_MAX + 1);
    int rc = !buf ? TROUPE_ENOMEM : fstat(fd, &st) < 0 ? TROUPE_EIO : read_fd(fd, buf, FILE_MAX + 1, len);
    close(fd);
    if (rc == 0 && *len > FILE_MAX) {
        snprintf(err, cap, "%s: larger than 64 KiB", path);
        rc = TROUPE_EINVAL;
    } else if (rc == TROUPE_EIO) {
        snprintf(err, cap, "%s: read failed", path);
    }
    if (rc == 0 || rc == TROUPE_EINVAL)
        ident_of(&st, id);
    if (rc)
        free(buf);
    else
        *text = buf;
    return rc;
}

/* ---- applying --------------------------------------------------------------------- */

/* Every check before anything changes: capacity, the environment. */
static int check_apply(flags *f, const parsed *p, char *err, size_t cap)
{
    uint32_t have = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    size_t fresh = 0;
    for (size_t i = 0; i < p->n; i++)
        fresh += !flag_lookup(f, p->e[i].name, strlen(p->e[i].name));
    if (have + fresh > TROUPE_FLAGS_MAX) {
        snprintf(err, cap, "%s: more than %d flags", p->label, TROUPE_FLAGS_MAX);
        return TROUPE_EINVAL;
    }
    for (size_t i = 0; i < have + p->n; i++) {
        const char *name = i < have ? f->all[i]->name : p->e[i - have].name;
        troupe_flag_value v;
        bool found;
        if (flag_env__(f, name, &v, &found) < 0) {
            snprintf(err, cap, "environment: bad value for flag \"%s\"", name);
            return TROUPE_EINVAL;
        }
    }
    return 0;
}

static void commit(flags *f, const parsed *p)
{
    uint32_t have = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    for (uint32_t i = 0; i < have; i++)
        f->all[i]->has[LAYER_FILE] = false;
    for (size_t i = 0; i < p->n; i++) {
        size_t n = strlen(p->e[i].name);
        troupe_flag *fl = flag_lookup(f, p->e[i].name, n);
        if (!fl)
            fl = flag_create__(f, p->e[i].name, n); /* room was checked */
        fl->has[LAYER_FILE] = true;
        fl->layer[LAYER_FILE] = p->e[i].v;
    }
    have = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    for (uint32_t i = 0; i < have; i++) {
        troupe_flag *fl = f->all[i];
        bool found;
        flag_env__(f, fl->name, &fl->layer[LAYER_ENV], &found);
        fl->has[LAYER_ENV] = found;
        flag_publish__(f, fl);
    }
}

/* Parse the file (if any), check, commit. */
static int load_text(flags *f, parsed *p, fident *id)
{
    char *text = NULL;
    size_t len = 0;
    int rc = f->path ? read_file(f->path, &text, &len, id, p->err, p->errcap) : 0;
    if (rc == 0 && f->path)
        rc = parse_text(p, text, len);
    if (rc == 0)
        rc = check_apply(f, p, p->err, p->errcap);
    if (rc == 0)
        commit(f, p);
    free(text);
    free(p->e);
    return rc;
}

int flags_reload__(troupe_system *sys, flags *f)
{
    (void)sys;
    char err[sizeof f->error] = "";
    parsed p = {.err = err, .errcap = sizeof err, .label = f->path ? f->path : "flags"};
    fident id = {0};
    int rc = load_text(f, &p, &id);
    if (rc == TROUPE_ENOMEM)
        snprintf(err, sizeof err, "out of memory");
    if (id.valid || rc == 0)
        f->seen = id;
    memcpy(f->error, err, sizeof f->error);
    if (rc == 0) {
        f->reloads++;
        atomic_fetch_add_explicit(&f->gen, 1, memory_order_relaxed); /* relaxed: a counter */
    } else {
        f->reload_failures++;
    }
    return rc;
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

/* The configuration a load replaces, to put back when it fails. */
typedef struct fconf {
    char *path;
    uint64_t poll_ns;
    char prefix[33];
    troupe_timer timer;
    bool watching;
    fident seen;
} fconf;

static void conf_swap(flags *f, fconf *c)
{
    fconf old = {f->path, f->poll_ns, {0}, f->timer, f->watching, f->seen};
    memcpy(old.prefix, f->prefix, sizeof old.prefix);
    f->path = c->path, f->poll_ns = c->poll_ns, f->timer = c->timer, f->watching = c->watching;
    f->seen = c->seen;
    memcpy(f->prefix, c->prefix, sizeof f->prefix);
    *c = old;
}

TROUPE_API int troupe_flags_load(troupe_system *sys, const troupe_flags_config *cfg)
{
    troupe_flags_config def;
    troupe_flags_config_defaults(&def);
    const troupe_flags_config *c = cfg ? cfg : &def;
    if (!sys || check_config(c))
        return TROUPE_EINVAL;
    fconf nc = {.path = c->path ? strdup(c->path) : NULL, .poll_ns = c->poll_ns};
    snprintf(nc.prefix, sizeof nc.prefix, "%s", c->env_prefix ? c->env_prefix : "TROUPE_FLAG_");
    if (c->path && !nc.path)
        return TROUPE_ENOMEM;
    flags *f = &sys->mig->fl;
    pthread_mutex_lock(&f->lock);
    conf_swap(f, &nc); /* nc now holds the old configuration */
    int rc = flags_reload__(sys, f);
    if (rc == 0)
        rc = flags_watch_start(sys, f);
    if (rc) {
        conf_swap(f, &nc); /* back to the old one; nc holds the new */
    } else if (nc.watching) {
        troupe_timer_cancel(sys, nc.timer);
    }
    pthread_mutex_unlock(&f->lock);
    free(nc.path);
    return rc;
}

TROUPE_API int troupe_flags_reload(troupe_system *sys)
{
    if (!sys)
        return TROUPE_EINVAL;
    flags *f = &sys->mig->fl;
    pthread_mutex_lock(&f->lock);
    int rc = flags_reload__(sys, f);
    pthread_mutex_unlock(&f->lock);
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
 * version of the file: its identity is kept too). */
static void poll_file(troupe_system *sys, flags *f)
{
    struct stat st;
    pthread_mutex_lock(&f->lock);
    if (f->path && f->watching && stat(f->path, &st) == 0 && changed(&f->seen, &st))
        flags_reload__(sys, f);
    pthread_mutex_unlock(&f->lock);
}

static int watch_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)state;
    if (msg->type == TICK)
        poll_file(troupe_ctx_system(ctx), &troupe_ctx_system(ctx)->mig->fl);
    return 0;
}

static const troupe_behaviour watch_beh = {.name = "troupe.flags", .handle = watch_handle};

/* Under the lock, with the new configuration in place: arm its timer (the
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

void flags_free(flags *f)
{
    uint32_t n = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: no one else left */
    for (uint32_t i = 0; i < n; i++)
        free(f->all[i]);
    free(f->path);
    pthread_mutex_destroy(&f->lock);
}
