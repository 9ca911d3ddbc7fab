/* examples/chain/load.c — the callers: plain threads that use the chain and
 * the engine only through their adapters, as the rest of a node would,
 * whatever the flags say meanwhile.
 *
 *   producers  execute a payload of random transfers (some overdraw and are
 *              refused), then produce the next block with its state root;
 *   importers  read the head, build the next block as a peer would send it
 *              and import it (it loses to a producer now and then: stale);
 *              one in 32 is forged (a wrong parent or hash) and must be
 *              refused; they also read blocks and balances.
 *
 * Every block a caller is told was accepted goes into the audit, so the
 * chain the callers saw can be checked link by link at the end — across
 * every switch of the flags and every restart of the actors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "show.h"

#define RELAXED memory_order_relaxed /* counters and the stop flag: no data rides on them */

/* ---- the audit ------------------------------------------------------------------------ */

void audit_init(audit *a, uint64_t base)
{
    memset(a, 0, sizeof *a);
    a->base = base;
}

void audit_free(audit *a)
{
    for (int i = 0; i < AUDIT_CHUNKS; i++)
        free(atomic_load_explicit(&a->chunks[i], RELAXED));
}

static audit_entry *audit_slot(audit *a, uint64_t height)
{
    uint64_t i = height - a->base - 1;
    if (height <= a->base || i / AUDIT_CHUNK >= AUDIT_CHUNKS) {
        atomic_fetch_add_explicit(&a->beyond, 1, RELAXED);
        return NULL;
    }
    _Atomic(audit_entry *) *slot = &a->chunks[i / AUDIT_CHUNK];
    /* acquire: pairs with the release CAS that published the chunk */
    audit_entry *c = atomic_load_explicit(slot, memory_order_acquire);
    if (!c) {
        audit_entry *fresh = calloc(AUDIT_CHUNK, sizeof *fresh), *none = NULL;
        if (!fresh) {
            atomic_fetch_add_explicit(&a->nomem, 1, RELAXED);
            return NULL;
        }
        /* acq_rel: publish the zeroed chunk, or take the one that won */
        if (atomic_compare_exchange_strong_explicit(slot, &none, fresh, memory_order_acq_rel,
                                                    memory_order_acquire))
            c = fresh;
        else
            free(fresh), c = none;
    }
    return &c[i % AUDIT_CHUNK];
}

static void audit_record(audit *a, const block *b)
{
    audit_entry *e = audit_slot(a, b->height);
    if (!e)
        return;
    uint64_t none = 0;
    e->parent = b->parent; /* one caller per height; read after the threads are joined */
    if (!atomic_compare_exchange_strong_explicit(&e->hash, &none, b->hash, RELAXED, RELAXED))
        atomic_fetch_add_explicit(&a->twice, 1, RELAXED);
}

/* Walk base+1 .. height: each recorded block's parent is the hash below
 * it, the first one's the tip the run started from, the last one is the
 * tip the copies hold. Called once the callers are joined. */
audit_report audit_check(const audit *a, uint64_t base_tip, uint64_t height, uint64_t tip)
{
    audit_report r = {.twice = atomic_load(&a->twice), .beyond = atomic_load(&a->beyond)};
    uint64_t prev = base_tip;
    for (uint64_t h = a->base + 1; h <= height; h++) {
        uint64_t i = h - a->base - 1;
        audit_entry *c = i / AUDIT_CHUNK < AUDIT_CHUNKS ? atomic_load(&a->chunks[i / AUDIT_CHUNK])
                                                       : NULL;
        uint64_t hash = c ? atomic_load(&c[i % AUDIT_CHUNK].hash) : 0;
        if (!hash) {
            r.missing++;
            prev = 0;
            continue;
        }
        r.blocks++;
        r.bad_links += prev && c[i % AUDIT_CHUNK].parent != prev;
        prev = hash;
    }
    r.tip_matches = prev == tip;
    return r;
}

/* ---- calling ------------------------------------------------------------------------- */

typedef struct worker_arg {
    show *s;
    uint32_t id;
    uint64_t rng;
    uint64_t ncalls;
} worker_arg;

static uint64_t next_rand(uint64_t *x) /* xorshift64*: each thread its own stream */
{
    *x ^= *x >> 12, *x ^= *x << 25, *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

/* Keep one timed call: the first LAT_CAP, then each with probability
 * LAT_CAP / seen in the place of a random one (a uniform sample of the
 * whole window, not of its start). */
static void lat_keep(lat_sample *l, uint64_t ns)
{
    uint64_t k = l->seen++;
    if (k < LAT_CAP)
        l->v[k] = ns;
    else if ((k = next_rand(&l->rng) % (k + 1)) < LAT_CAP)
        l->v[k] = ns;
}

/* The call itself; every LAT_EVERY-th timed while the thread samples
 * (timing each would add two clock reads to calls of a few hundred ns). */
static int timed_call(worker_arg *w, troupe_adapter ad, uint32_t op, uint64_t key,
                      const void *arg, size_t len, void *res, size_t cap, size_t *n)
{
    lat_sample *l = &w->s->lat[w->id];
    if (!l->v || w->ncalls++ % LAT_EVERY != 0)
        return troupe_adapter_call(w->s->sys, ad, op, key, arg, len, res, cap, n);
    uint64_t t0 = now_ns();
    int rc = troupe_adapter_call(w->s->sys, ad, op, key, arg, len, res, cap, n);
    lat_keep(l, now_ns() - t0);
    return rc;
}

/* One adapter call; any error (an ask that failed, a short result) is
 * counted, and the first one kept for the report. */
static int call(worker_arg *w, troupe_adapter ad, uint32_t op, uint64_t key, const void *arg,
                size_t len, void *res, size_t cap)
{
    tcount *t = &w->s->counts[w->id];
    size_t n = 0;
    int rc = timed_call(w, ad, op, key, arg, len, res, cap, &n);
    atomic_fetch_add_explicit(&t->calls, 1, RELAXED);
    if (rc == 0 && n != cap)
        rc = TROUPE_EINVAL;
    if (rc < 0 && atomic_load_explicit(&t->errors, RELAXED) == 0)
        snprintf(t->first_error, sizeof t->first_error, "%s op %u: %s",
                 ad.id == w->s->chain_ad.id ? "chain" : "engine", op, troupe_strerror(rc));
    if (rc < 0)
        atomic_fetch_add_explicit(&t->errors, 1, RELAXED);
    return rc;
}

static void accepted(worker_arg *w, const block *b)
{
    audit_record(&w->s->audit, b);
    uint64_t top = atomic_load_explicit(&w->s->top, RELAXED);
    while (b->height > top &&
           !atomic_compare_exchange_weak_explicit(&w->s->top, &top, b->height, RELAXED, RELAXED))
        ;
}

static void random_payload(worker_arg *w, uint64_t seq, payload *p)
{
    memset(p, 0, sizeof *p);
    p->id = (uint64_t)w->id << 48 | seq;
    p->author = w->id;
    p->n = 1 + (uint32_t)(next_rand(&w->rng) % PAYLOAD_MAX);
    for (uint32_t i = 0; i < p->n; i++) {
        uint64_t r = next_rand(&w->rng);
        p->tx[i] = (transfer){(uint32_t)(r % ACCOUNTS), (uint32_t)(r >> 8) % ACCOUNTS,
                              (int64_t)((r >> 16) % (INITIAL_BALANCE / 4)) + 1};
    }
}

static void produce_once(worker_arg *w, uint64_t seq)
{
    show *s = w->s;
    tcount *t = &s->counts[w->id];
    payload p;
    exec_result er;
    random_payload(w, seq, &p);
    if (call(w, s->engine_ad, ENGINE_EXECUTE, p.id, &p, sizeof p, &er, sizeof er) != 0)
        return;
    atomic_fetch_add_explicit(&t->payloads, 1, RELAXED);
    atomic_fetch_add_explicit(&t->transfers_rejected, er.rejected, RELAXED);
    produce_arg a = {w->id, er.applied, er.root};
    block b;
    if (call(w, s->chain_ad, CHAIN_PRODUCE, seq, &a, sizeof a, &b, sizeof b) != 0)
        return;
    atomic_fetch_add_explicit(&t->produced, 1, RELAXED);
    accepted(w, &b);
    uint32_t account = (uint32_t)(next_rand(&w->rng) % ACCOUNTS);
    int64_t bal;
    if (call(w, s->engine_ad, ENGINE_BALANCE, account, &account, sizeof account, &bal,
             sizeof bal) == 0)
        atomic_fetch_add_explicit(&t->reads, 1, RELAXED);
}

/* A block from a peer on the head just read; forged ones must be refused. */
static void import_once(worker_arg *w, uint64_t seq)
{
    show *s = w->s;
    tcount *t = &s->counts[w->id];
    head_result h;
    if (call(w, s->chain_ad, CHAIN_HEAD, seq, NULL, 0, &h, sizeof h) != 0)
        return;
    uint64_t r = next_rand(&w->rng);
    block b = {.height = h.height + 1, .parent = h.tip, .state_root = r, .author = 100 + w->id};
    int forged = r % 32 == 0;
    b.parent ^= forged && (r & 64); /* a wrong parent, or else a wrong hash */
    b.hash = block_hash(&b) ^ (forged && !(r & 64));
    import_result ir;
    if (call(w, s->chain_ad, CHAIN_IMPORT, seq, &b, sizeof b, &ir, sizeof ir) != 0)
        return;
    if (ir.status == IMPORT_OK && forged)
        atomic_fetch_add_explicit(&t->forged_accepted, 1, RELAXED);
    else if (ir.status == IMPORT_OK)
        atomic_fetch_add_explicit(&t->imported, 1, RELAXED), accepted(w, &b);
    else if (forged)
        atomic_fetch_add_explicit(&t->forged_refused, 1, RELAXED);
    else
        atomic_fetch_add_explicit(&t->stale, 1, RELAXED);
}

/* A recent block: when served, it must be intact. */
static void read_once(worker_arg *w, uint64_t seq)
{
    show *s = w->s;
    tcount *t = &s->counts[w->id];
    uint64_t top = atomic_load_explicit(&s->top, RELAXED), back = next_rand(&w->rng) % 64;
    uint64_t height = top > back ? top - back : 0;
    get_result g;
    if (call(w, s->chain_ad, CHAIN_GET, seq, &height, sizeof height, &g, sizeof g) != 0)
        return;
    atomic_fetch_add_explicit(&t->reads, 1, RELAXED);
    if (g.found && (g.b.height != height || g.b.hash != block_hash(&g.b))) {
        snprintf(t->first_error, sizeof t->first_error, "get_block %llu: a damaged block",
                 (unsigned long long)height);
        atomic_fetch_add_explicit(&t->errors, 1, RELAXED);
    }
}

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    for (uint64_t seq = 1; atomic_load_explicit(&w->s->running, RELAXED); seq++) {
        if (w->id < NPRODUCERS) {
            produce_once(w, seq);
        } else {
            import_once(w, seq);
            read_once(w, seq);
        }
    }
    free(w);
    return NULL;
}

int load_start(show *s)
{
    atomic_store(&s->running, 1);
    for (uint32_t i = 0; i < NTHREADS; i++) {
        worker_arg *w = malloc(sizeof *w);
        if (!w)
            return TROUPE_ENOMEM;
        *w = (worker_arg){s, i, now_ns() * 2654435761u + i * 0x9e3779b97f4a7c15ull + 1, 0};
        s->lat[i].rng = (w->rng ^ 0x5851f42d4c957f2dull) | 1;
        if (pthread_create(&s->threads[i], NULL, worker_main, w) != 0) {
            free(w);
            return TROUPE_ESYS;
        }
        s->started++;
    }
    return 0;
}

void load_stop(show *s)
{
    atomic_store(&s->running, 0);
    for (int i = 0; i < s->started; i++)
        pthread_join(s->threads[i], NULL);
    s->started = 0;
}

uint64_t load_calls(show *s)
{
    uint64_t n = 0;
    for (int i = 0; i < NTHREADS; i++)
        n += atomic_load_explicit(&s->counts[i].calls, RELAXED);
    return n;
}
