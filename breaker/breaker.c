/* breaker/breaker.c — breakers: config, create and destroy, the stripes
 * that hold circuits by key, and the public calls on one breaker. */
#include <stdlib.h>
#include <string.h>

#include "breaker/breaker.h"
#include "core/alloc.h"
#include "core/system.h"

/* Process-wide, so that a permit of a destroyed breaker never matches a
 * new one at the same address. */
static _Atomic uint32_t next_id = 1;

TROUPE_API void troupe_breaker_config_defaults(troupe_breaker_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->failure_threshold = 5;
    cfg->failure_rate = 0.5;
    cfg->min_calls = 20;
    cfg->window_ns = 10000000000ull;
    cfg->window_buckets = 10;
    cfg->open_timeout_ns = 1000000000ull;
    cfg->backoff_multiplier = 2.0;
    cfg->max_open_timeout_ns = 60000000000ull;
    cfg->half_open_max = 1;
    cfg->success_threshold = 1;
}

static bool zeroed(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* The comparisons are written so that NaN fails them. */
static int validate(const troupe_breaker_config *c)
{
    if (c->failure_threshold == 0 || c->min_calls == 0 || c->half_open_max == 0 ||
        c->success_threshold == 0 || c->open_timeout_ns == 0)
        return TROUPE_EINVAL;
    if (!(c->failure_rate > 0.0 && c->failure_rate <= 1.0) ||
        !(c->backoff_multiplier >= 1.0 && c->backoff_multiplier <= 1000.0))
        return TROUPE_EINVAL;
    if (c->window_buckets == 0 || c->window_buckets > TROUPE_BREAKER_MAX_BUCKETS ||
        c->window_ns < c->window_buckets || c->max_open_timeout_ns < c->open_timeout_ns)
        return TROUPE_EINVAL;
    return zeroed(c->reserved, sizeof c->reserved) ? 0 : TROUPE_EINVAL;
}

static int check_name(const char *name)
{
    size_t n = name ? strnlen(name, TROUPE_BREAKER_NAME_MAX + 1) : 0;
    return n == 0 || n > TROUPE_BREAKER_NAME_MAX ? TROUPE_EINVAL : 0;
}

static troupe_breaker *breaker_new(troupe_system *sys, const char *name,
                                   const troupe_breaker_config *cfg)
{
    troupe_breaker *b = sys_calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->sys = sys;
    b->cfg = *cfg;
    b->width = cfg->window_ns / cfg->window_buckets;
    /* relaxed: a unique number is all we need, nothing is published by it */
    b->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    strcpy(b->name, name); /* length checked by check_name */
    for (int i = 0; i < NSTRIPE; i++)
        pthread_mutex_init(&b->stripes[i].lock, NULL);
    return b;
}

TROUPE_API int troupe_breaker_create(troupe_system *sys, const char *name,
                                     const troupe_breaker_config *cfg, troupe_breaker **out)
{
    troupe_breaker_config def;
    if (!out)
        return TROUPE_EINVAL;
    *out = NULL;
    if (!cfg) {
        troupe_breaker_config_defaults(&def);
        cfg = &def;
    }
    if (!sys || check_name(name) || validate(cfg))
        return TROUPE_EINVAL;
    troupe_breaker *b = breaker_new(sys, name, cfg);
    if (!b)
        return TROUPE_ENOMEM;
    int rc = breakers_link(sys, b);
    if (rc) {
        breaker_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void breaker_free(troupe_breaker *b)
{
    for (int i = 0; i < NSTRIPE; i++) {
        stripe *s = &b->stripes[i];
        for (uint32_t j = 0; j < s->cap; j++)
            free(s->slots[j]);
        free(s->slots);
        pthread_mutex_destroy(&s->lock);
    }
    free(b);
}

TROUPE_API void troupe_breaker_destroy(troupe_breaker *b)
{
    if (!b)
        return;
    breakers_unlink(b);
    breaker_free(b);
}

/* ---- circuits by key ---------------------------------------------------------- */

/* splitmix64's finalizer: keys are often small or sequential (ref ids). */
static uint64_t mix(uint64_t k)
{
    k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ull;
    k = (k ^ (k >> 27)) * 0x94d049bb133111ebull;
    return k ^ (k >> 31);
}

static stripe *stripe_of(troupe_breaker *b, uint64_t h) { return &b->stripes[h >> 60]; }

/* Under s->lock. */
static circuit *find(const stripe *s, uint64_t key, uint64_t h)
{
    if (!s->cap)
        return NULL;
    for (uint32_t i = (uint32_t)h & (s->cap - 1);; i = (i + 1) & (s->cap - 1))
        if (!s->slots[i] || s->slots[i]->key == key)
            return s->slots[i];
}

static void place(circuit **slots, uint32_t cap, circuit *c)
{
    uint32_t i = (uint32_t)mix(c->key) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = c;
}

/* Under s->lock: room for one more circuit, keeping the table half empty. */
static int reserve(stripe *s)
{
    if (2 * (s->n + 1) <= s->cap)
        return 0;
    uint32_t ncap = s->cap ? 2 * s->cap : 8;
    circuit **n = sys_calloc(ncap, sizeof *n);
    if (!n)
        return TROUPE_ENOMEM;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->slots[i])
            place(n, ncap, s->slots[i]);
    free(s->slots);
    s->slots = n;
    s->cap = ncap;
    return 0;
}

/* Under s->lock: key's circuit, created CLOSED if it has none. */
static circuit *find_or_add(troupe_breaker *b, stripe *s, uint64_t key, uint64_t h)
{
    circuit *c = find(s, key, h);
    if (c || reserve(s))
        return c;
    if ((c = circuit_new(b, key))) {
        place(s->slots, s->cap, c);
        s->n++;
    }
    return c;
}

static uint64_t now_ns(const troupe_breaker *b) { return troupe_clock_now(b->sys->clock); }

/* ---- the calls -------------------------------------------------------------------- */

TROUPE_API int troupe_breaker_acquire(troupe_breaker *b, uint64_t key,
                                      troupe_breaker_permit *permit)
{
    if (!b || !permit)
        return TROUPE_EINVAL;
    memset(permit, 0, sizeof *permit);
    uint64_t h = mix(key);
    stripe *s = stripe_of(b, h);
    pthread_mutex_lock(&s->lock);
    circuit *c = find_or_add(b, s, key, h);
    int rc = c ? circuit_acquire(b, c, now_ns(b), permit) : TROUPE_ENOMEM;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* record (outcome 1 / 0) or cancel (outcome -1) a live permit of b. */
static int give_back(troupe_breaker *b, troupe_breaker_permit *p, int outcome)
{
    if (!b || !p || p->breaker != b->id || !(p->flags & PERMIT_LIVE))
        return TROUPE_EINVAL;
    uint64_t h = mix(p->key);
    stripe *s = stripe_of(b, h);
    pthread_mutex_lock(&s->lock);
    circuit *c = find(s, p->key, h);
    if (c && outcome >= 0)
        circuit_record(b, c, now_ns(b), p, outcome == 1);
    else if (c)
        circuit_cancel(c, p);
    pthread_mutex_unlock(&s->lock);
    p->flags = 0; /* spent */
    return c ? 0 : TROUPE_ENOTFOUND;
}

TROUPE_API int troupe_breaker_record(troupe_breaker *b, troupe_breaker_permit *permit,
                                     int success)
{
    return give_back(b, permit, success ? 1 : 0);
}

TROUPE_API int troupe_breaker_cancel(troupe_breaker *b, troupe_breaker_permit *permit)
{
    return give_back(b, permit, -1);
}

TROUPE_API int troupe_breaker_info_get(troupe_breaker *b, uint64_t key, troupe_breaker_info *out)
{
    if (!b || !out)
        return TROUPE_EINVAL;
    uint64_t h = mix(key);
    stripe *s = stripe_of(b, h);
    pthread_mutex_lock(&s->lock);
    circuit *c = find(s, key, h);
    if (c)
        circuit_fill(b, c, now_ns(b), out);
    pthread_mutex_unlock(&s->lock);
    return c ? 0 : TROUPE_ENOTFOUND;
}

/* Did the callee fail (as opposed to the caller or the system)? */
static bool callee_failed(int rc)
{
    return rc == TROUPE_ENOACTOR || rc == TROUPE_ETIMEDOUT || rc == TROUPE_EFAILED ||
           rc == TROUPE_EFULL;
}

TROUPE_API int troupe_breaker_ask(troupe_breaker *b, uint64_t key, troupe_ref to, uint32_t type,
                                  const void *data, size_t len, uint64_t timeout_ns,
                                  uint32_t *reply_type, void *reply_buf, size_t reply_cap,
                                  size_t *reply_len)
{
    troupe_breaker_permit p;
    int rc = troupe_breaker_acquire(b, key, &p);
    if (rc)
        return rc;
    rc = troupe_ask(b->sys, to, type, data, len, timeout_ns, reply_type, reply_buf, reply_cap,
                    reply_len);
    bool answered = rc == 0 || rc == TROUPE_ETRUNC; /* the callee did answer */
    if (answered || callee_failed(rc))
        troupe_breaker_record(b, &p, answered);
    else
        troupe_breaker_cancel(b, &p);
    return rc;
}

size_t breaker_fill_all(troupe_breaker *b, troupe_breaker_info *out, size_t cap, size_t n)
{
    for (int i = 0; i < NSTRIPE; i++) {
        stripe *s = &b->stripes[i];
        pthread_mutex_lock(&s->lock);
        uint64_t now = now_ns(b);
        for (uint32_t j = 0; j < s->cap; j++)
            if (s->slots[j] && n++ < cap)
                circuit_fill(b, s->slots[j], now, &out[n - 1]);
        pthread_mutex_unlock(&s->lock);
    }
    return n;
}
