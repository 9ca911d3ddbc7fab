/* migrate/flags.c — the system's flags: their API.
 *
 * Readers never lock: a name is found in the lock-free table of
 * flags_table.c, and a flag's value is one 32-bit word. Writers — load,
 * reload, set, clear, the first naming of a flag — hold flags.lock,
 * recompute a flag's value from its layers (env > runtime > file) and
 * publish it with one store. A flag left with no value and not bound by
 * troupe_flag_find is forgotten at the next load or reload, or when a new
 * name needs its room (flags_table.c). */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/system.h"
#include "migrate/mig.h"
#include "supervisor/evlog.h"

static flags *flags_of(troupe_system *sys) { return &sys->mig->fl; }

/* The value in force and its source: the strongest layer that holds one. */
static troupe_flag_value effective(const troupe_flag *fl, troupe_flag_source *src)
{
    for (int l = LAYER_ENV; l >= LAYER_FILE; l--)
        if (fl->has[l]) {
            *src = (troupe_flag_source)l;
            return fl->layer[l];
        }
    *src = TROUPE_FLAG_FROM_NONE;
    return (troupe_flag_value){TROUPE_FLAG_OFF, 0};
}

static const char *source_name(troupe_flag_source s)
{
    static const char *const names[] = {"none", "file", "runtime", "environment"};
    return (unsigned)s < 4 ? names[s] : "?";
}

/* A change of the value in force goes to the system's event log
 * (supervisor/evlog.h); a publish that leaves it as it was does not. */
void flag_publish__(flags *f, troupe_flag *fl)
{
    troupe_flag_source src;
    troupe_flag_value v = effective(fl, &src);
    uint32_t word = fv_pack(v);
    /* relaxed: writers publish under f->lock, so the last store is ours to see */
    uint32_t old = atomic_load_explicit(&fl->word, memory_order_relaxed);
    /* release: pairs with the acquire in troupe_flag_read */
    atomic_store_explicit(&fl->word, word, memory_order_release);
    if (old == word || !f->sys)
        return;
    char text[TROUPE_FLAG_TEXT_MAX], detail[TROUPE_FLAG_TEXT_MAX + 32];
    if (troupe_flag_format(v, text, sizeof text) < 0)
        snprintf(text, sizeof text, "?");
    snprintf(detail, sizeof detail, "%s (from %s)", text, source_name(src));
    evlog_add(f->sys, TROUPE_EVENT_FLAG, TROUPE_REF_NONE, fl->name, NULL, detail);
}

/* TROUPE_FLAG_<NAME>: upper case, anything but letters and digits as '_'. */
static void env_name(const flags *f, const char *name, char *out, size_t cap)
{
    size_t o = strlen(f->prefix);
    memcpy(out, f->prefix, o);
    for (; *name && o + 1 < cap; name++) {
        char c = *name;
        out[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 32)
                   : ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c
                                                                         : '_';
    }
    out[o] = '\0';
}

int flag_env__(flags *f, const char *name, troupe_flag_value *out, bool *found)
{
    char key[sizeof f->prefix + TROUPE_FLAG_NAME_MAX + 1];
    *found = false;
    if (!f->prefix[0])
        return 0;
    env_name(f, name, key, sizeof key);
    const char *v = getenv(key);
    if (!v)
        return 0;
    *found = true;
    troupe_flag_value val;
    if (troupe_flag_parse(v, &val) < 0 || (fv_is_mode(val.kind) && !flag_name_is_adapter(name)))
        return TROUPE_EINVAL;
    *out = val;
    return 0;
}

/* ---- reading ---------------------------------------------------------------------- */

TROUPE_API troupe_flag_value troupe_flag_read(const troupe_flag *f)
{
    if (!f)
        return (troupe_flag_value){TROUPE_FLAG_OFF, 0};
    /* acquire: pairs with the release store in flag_publish__ */
    return fv_unpack(atomic_load_explicit(&f->word, memory_order_acquire));
}

static int on_for(troupe_flag_value v, uint64_t salt, uint64_t key)
{
    switch (v.kind) {
    case TROUPE_FLAG_ON:
    case TROUPE_FLAG_ACTOR: return 1;
    case TROUPE_FLAG_PERCENT:
    case TROUPE_FLAG_CANARY: return flag_bucket_on(salt, v.percent, key);
    default: return 0;
    }
}

TROUPE_API int troupe_flag_on(const troupe_flag *f, uint64_t key)
{
    if (!f)
        return 0;
    /* relaxed: a bound flag's salt never changes (it is never reused) */
    return on_for(troupe_flag_read(f), atomic_load_explicit(&f->salt, memory_order_relaxed), key);
}

TROUPE_API int troupe_flag_enabled(troupe_system *sys, const char *name, uint64_t key)
{
    size_t n = name ? strlen(name) : 0;
    uint32_t word;
    uint64_t salt;
    if (!sys || !flag_name_ok(name, n) || !flag_peek(flags_of(sys), name, n, &word, &salt))
        return 0;
    return on_for(fv_unpack(word), salt, key);
}

/* Under the lock, so that the flag cannot be forgotten between the lookup
 * and its binding: a bound flag lives as long as the system. */
TROUPE_API int troupe_flag_find(troupe_system *sys, const char *name, const troupe_flag **out)
{
    size_t n = name ? strlen(name) : 0;
    if (!sys || !out || !flag_name_ok(name, n))
        return TROUPE_EINVAL;
    flags *f = flags_of(sys);
    pthread_mutex_lock(&f->lock);
    troupe_flag *fl = flag_lookup__(f, name, n);
    if (!fl)
        fl = flag_create__(f, name, n);
    if (fl)
        fl->pinned = true;
    pthread_mutex_unlock(&f->lock);
    *out = fl;
    return fl ? 0 : TROUPE_ENOMEM;
}

TROUPE_API uint64_t troupe_flags_generation(troupe_system *sys)
{
    /* relaxed: a counter; tests poll it */
    return sys ? atomic_load_explicit(&flags_of(sys)->gen, memory_order_relaxed) : 0;
}

/* ---- setting ---------------------------------------------------------------------- */

/* A value fits a name: modes only for adapter flags, whose adapter lives. */
static int check_set(troupe_system *sys, const char *name, troupe_flag_value v)
{
    if (!sys || !name || !flag_name_ok(name, strlen(name)))
        return TROUPE_EINVAL;
    bool adapter_flag = flag_name_is_adapter(name);
    if (fv_is_mode(v.kind) && !adapter_flag)
        return TROUPE_EINVAL;
    if (adapter_flag && !adapter_name_live(sys, name + 8))
        return TROUPE_ENOTFOUND;
    return 0;
}

int flags_set_value(troupe_system *sys, const char *name, troupe_flag_value v)
{
    int rc = check_set(sys, name, v);
    if (rc)
        return rc;
    flags *f = flags_of(sys);
    pthread_mutex_lock(&f->lock);
    size_t n = strlen(name);
    troupe_flag *fl = flag_lookup__(f, name, n);
    if (!fl && !(fl = flag_create__(f, name, n)))
        rc = TROUPE_ENOMEM;
    else if (fl->has[LAYER_ENV])
        rc = TROUPE_ESTATE;
    if (rc == 0) {
        fl->has[LAYER_RUNTIME] = true;
        fl->layer[LAYER_RUNTIME] = v;
        flag_publish__(f, fl);
        atomic_fetch_add_explicit(&f->gen, 1, memory_order_relaxed); /* relaxed: a counter */
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

TROUPE_API int troupe_flags_set(troupe_system *sys, const char *name, const char *value)
{
    troupe_flag_value v;
    if (!sys || !name || troupe_flag_parse(value, &v) < 0)
        return TROUPE_EINVAL;
    return flags_set_value(sys, name, v);
}

TROUPE_API int troupe_flags_clear(troupe_system *sys, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (!sys || !flag_name_ok(name, n))
        return TROUPE_EINVAL;
    flags *f = flags_of(sys);
    pthread_mutex_lock(&f->lock);
    troupe_flag *fl = flag_lookup__(f, name, n);
    int rc = fl && fl->has[LAYER_RUNTIME] ? 0 : TROUPE_ENOTFOUND;
    if (rc == 0) {
        fl->has[LAYER_RUNTIME] = false;
        flag_publish__(f, fl); /* forgotten at the next load, or when room is needed */
        atomic_fetch_add_explicit(&f->gen, 1, memory_order_relaxed); /* relaxed: a counter */
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* ---- listing ---------------------------------------------------------------------- */

static void info_of(const troupe_flag *fl, troupe_flag_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->name, fl->name, sizeof out->name);
    out->value = effective(fl, &out->source);
    out->has_file = fl->has[LAYER_FILE], out->file = fl->layer[LAYER_FILE];
    out->has_runtime = fl->has[LAYER_RUNTIME], out->runtime = fl->layer[LAYER_RUNTIME];
    out->has_env = fl->has[LAYER_ENV], out->env = fl->layer[LAYER_ENV];
}

TROUPE_API int troupe_flags_get(troupe_system *sys, const char *name, troupe_flag_info *out)
{
    size_t n = name ? strlen(name) : 0;
    if (!sys || !out || !flag_name_ok(name, n))
        return TROUPE_EINVAL;
    flags *f = flags_of(sys);
    pthread_mutex_lock(&f->lock);
    troupe_flag *fl = flag_lookup__(f, name, n);
    if (fl)
        info_of(fl, out);
    pthread_mutex_unlock(&f->lock);
    return fl ? 0 : TROUPE_ENOTFOUND;
}

TROUPE_API int troupe_flags_list(troupe_system *sys, troupe_flag_info *out, size_t cap,
                                 size_t *total)
{
    if (!sys || !total || (!out && cap > 0))
        return TROUPE_EINVAL;
    flags *f = flags_of(sys);
    pthread_mutex_lock(&f->lock);
    uint32_t n = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    for (uint32_t i = 0; i < n && i < cap; i++)
        info_of(f->all[i], &out[i]);
    pthread_mutex_unlock(&f->lock);
    *total = n;
    return 0;
}

TROUPE_API int troupe_flags_error(troupe_system *sys, char *buf, size_t cap)
{
    if (!sys || (!buf && cap > 0))
        return TROUPE_EINVAL;
    flags *f = flags_of(sys);
    pthread_mutex_lock(&f->lock);
    size_t n = strlen(f->error);
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        memcpy(buf, f->error, k);
        buf[k] = '\0';
    }
    pthread_mutex_unlock(&f->lock);
    return (int)n;
}
