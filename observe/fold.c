/* observe/fold.c — per-type totals that outlive their actors.
 *
 * An actor's counters live in its mailbox and are gone when the slot is
 * reused; so when an actor ends, actor_end folds them into a shard of
 * per-behaviour totals. A worker folds into its own shard (its mutex is
 * only ever contended by a reader summing), other threads (the supervisor
 * thread, destroy) into the last one. Rows are keyed by behaviour pointer,
 * open addressing, grown under the shard's lock.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "observe/obs.h"

static uint32_t beh_hash(const troupe_behaviour *b, uint32_t mask)
{
    uint64_t x = (uint64_t)(uintptr_t)b;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(x >> 32) & mask;
}

/* The row of beh in an open-addressed table (mask+1 slots), or the empty
 * slot where it goes. */
static type_row *row_slot(type_row *rows, uint32_t cap, const troupe_behaviour *beh)
{
    uint32_t i = beh_hash(beh, cap - 1);
    while (rows[i].beh && rows[i].beh != beh)
        i = (i + 1) & (cap - 1);
    return &rows[i];
}

static int shard_grow(obs_shard *s)
{
    uint32_t ncap = s->cap ? s->cap * 2 : 16;
    type_row *nr = sys_calloc(ncap, sizeof *nr);
    if (!nr)
        return TROUPE_ENOMEM;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->rows[i].beh)
            *row_slot(nr, ncap, s->rows[i].beh) = s->rows[i];
    free(s->rows);
    s->rows = nr;
    s->cap = ncap;
    return 0;
}

void obs_read_counters(const actor *a, uint64_t c[TC_N])
{
    const mailbox *mb = &a->mb;
    /* relaxed: each counter is exact on its own; no ordering is wanted */
    c[TC_SENT] = mb_accepted(mb);
    c[TC_HANDLED] = atomic_load_explicit(&mb->handled, memory_order_relaxed);
    c[TC_DROPPED] = atomic_load_explicit(&mb->dropped, memory_order_relaxed);
    c[TC_REJECTED] = atomic_load_explicit(&mb->rejected, memory_order_relaxed);
    c[TC_REDIRECTED] = atomic_load_explicit(&mb->redirected, memory_order_relaxed);
}

void obs_fold(troupe_system *sys, actor *a)
{
#if TROUPE_METRICS
    obs *o = sys->obs;
    if (!o || !a->beh)
        return;
    worker *w = troupei_tls.w;
    obs_shard *s = &o->shards[w && w->sys == sys ? w->index : o->nshards - 1];
    uint64_t c[TC_N];
    obs_read_counters(a, c);
    pthread_mutex_lock(&s->lock);
    /* keep the load under 1/2; without memory the totals stop growing
     * (counted nowhere) rather than the actor failing to end */
    if ((s->n + 1) * 2 <= s->cap || shard_grow(s) == 0) {
        type_row *r = row_slot(s->rows, s->cap, a->beh);
        if (!r->beh) {
            r->beh = a->beh;
            s->n++;
        }
        for (int i = 0; i < TC_N; i++)
            r->c[i] += c[i];
    }
    pthread_mutex_unlock(&s->lock);
#else
    (void)sys;
    (void)a;
#endif
}

int rows_add(type_row **rows, uint32_t *n, uint32_t *cap, const troupe_behaviour *beh,
             const uint64_t c[TC_N])
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*rows)[i].beh == beh) {
            for (int k = 0; k < TC_N; k++)
                (*rows)[i].c[k] += c[k];
            return 0;
        }
    if (tr_grow32((void **)rows, cap, (size_t)*n + 1, sizeof **rows, 16))
        return TROUPE_ENOMEM;
    (*rows)[*n].beh = beh;
    memcpy((*rows)[*n].c, c, sizeof(uint64_t) * TC_N);
    (*n)++;
    return 0;
}

int obs_sum_shards(troupe_system *sys, type_row **rows, uint32_t *n, uint32_t *cap)
{
    obs *o = sys->obs;
    int rc = 0;
    for (uint32_t i = 0; i < o->nshards && !rc; i++) {
        obs_shard *s = &o->shards[i];
        pthread_mutex_lock(&s->lock);
        for (uint32_t k = 0; k < s->cap && !rc; k++)
            if (s->rows[k].beh)
                rc = rows_add(rows, n, cap, s->rows[k].beh, s->rows[k].c);
        pthread_mutex_unlock(&s->lock);
    }
    return rc;
}

int obs_create(troupe_system *sys)
{
    obs *o = sys_calloc(1, sizeof *o);
    if (!o)
        return TROUPE_ENOMEM;
    sys->obs = o;
    /* core folds an ended actor's counters, and hands us health pings */
    sys->hooks.fold = obs_fold;
    sys->hooks.failed = obs_failed;
    hooks_sysmsg(&sys->hooks, SYSMSG_PING, health_serve);
    pthread_mutex_init(&o->out_lock, NULL);
    pthread_mutex_init(&o->hlock, NULL);
    o->nshards = sys->nworkers + 1;
    if (!(o->shards = sys_calloc(o->nshards, sizeof *o->shards)))
        return TROUPE_ENOMEM;
    for (uint32_t i = 0; i < o->nshards; i++)
        pthread_mutex_init(&o->shards[i].lock, NULL);
    return 0;
}

void obs_destroy(troupe_system *sys)
{
    obs *o = sys->obs;
    if (!o)
        return;
    for (uint32_t i = 0; o->shards && i < o->nshards; i++) {
        pthread_mutex_destroy(&o->shards[i].lock);
        free(o->shards[i].rows);
    }
    free(o->shards);
    for (uint32_t i = 0; i < o->nlast; i++)
        free(o->last[i].name);
    free(o->last);
    free(o->writers);
    free(o->recs);
    free(o->wd_runs);
    free(o->wd_running);
    free(o->wd_since);
    free((void *)o->stalled);
    free((void *)o->stalls);
    free((void *)o->stranded);
    pthread_mutex_destroy(&o->out_lock);
    pthread_mutex_destroy(&o->hlock);
    free(o);
    sys->obs = NULL;
}
