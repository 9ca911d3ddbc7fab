/* persistence/journal.c — the journal and its writer thread.
 *
 * Group commit: the writer takes every request queued since its last
 * transaction, appends all the events among them in ONE transaction, then
 * acks each event to its actor (a SYSMSG_PERSISTED on its system lane) and
 * wakes the actors it parked (persistence/pers.h). The more actors persist
 * at once, the more events share one fsync.
 *
 * A failed transaction fails every actor with an event in it
 * (SYSMSG_PERSIST_FAILED): none of those events is durable, and none is
 * applied. Snapshots are written after the events of their batch; a failed
 * snapshot is counted and logged, nothing else (the events remain).
 *
 * Opening a journal is journal_open.c's; both share journal_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "persistence/guard.h"
#include "persistence/jfault.h"
#include "persistence/jguard.h"
#include "persistence/journal_int.h"

void jreq_free(void *p)
{
    jreq *r = p;
    if (r) {
        if (r->ack_env)
            tfree(r->sys->alloc_mode, r->ack_env, sizeof *r->ack_env);
        jreq_free(r->reply);
        free(r->data);
        free(r);
    }
}

int journal_open_backend(troupe_journal *j, backend **out, char *err)
{
    switch (j->kind) {
    case JK_MEMORY: return backend_memory_open(j->store, out, err);
    case JK_SQLITE: return backend_sqlite_open(&j->sq, out, err);
    default: return backend_pg_open_id(j->conninfo, j->pgid, out, err);
    }
}

int journal_reader(troupe_journal *j, backend **out, char *err)
{
    backend *b = NULL;
    pthread_mutex_lock(&j->lock);
    if (j->nreaders)
        b = j->readers[--j->nreaders];
    pthread_mutex_unlock(&j->lock);
    int rc = b ? 0 : journal_open_backend(j, &b, err);
    *out = rc ? NULL : b;
    return rc;
}

void journal_reader_put(troupe_journal *j, backend *b)
{
    pthread_mutex_lock(&j->lock);
    if (j->nreaders < READERS_MAX) {
        j->readers[j->nreaders++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&j->lock);
    if (b)
        b->ops->close(b);
}

void journal_submit(troupe_journal *j, jreq *r)
{
    r->next = NULL;
    pthread_mutex_lock(&j->lock);
    if (j->tail)
        j->tail->next = r;
    else
        j->head = r;
    j->tail = r;
    j->enq++;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->lock);
}

void journal_flush_wait(troupe_journal *j)
{
    pthread_mutex_lock(&j->lock);
    uint64_t target = j->enq;
    while (j->done < target)
        pthread_cond_wait(&j->done_cond, &j->lock);
    pthread_mutex_unlock(&j->lock);
}

/* Take what is queued (all of it: one transaction). */
static jreq *take_all(troupe_journal *j)
{
    pthread_mutex_lock(&j->lock);
    while (!j->head && !j->quit)
        pthread_cond_wait(&j->work, &j->lock);
    jreq *r = j->head;
    j->head = j->tail = NULL;
    pthread_mutex_unlock(&j->lock);
    return r;
}

void journal_note_error(troupe_journal *j, const char *err)
{
    pthread_mutex_lock(&j->lock);
    snprintf(j->err, sizeof j->err, "%s", err);
    pthread_mutex_unlock(&j->lock);
}

/* The actor is told (or, gone, the request is freed). */
static void deliver(jreq *r, uint32_t type)
{
    tmsg m = {.type = type, .flags_size = MF_PTR};
    m.u.p.ptr = r;
    m.u.p.dtor = jreq_free;
    troupe_system *sys = r->sys;
    envelope *e = r->ack_env;
    r->ack_env = NULL; /* the envelope carries r now */
    e->m = m;
    if (send_sys_env(sys, r->ref, e) != 0) { /* the actor is gone */
        tfree(sys->alloc_mode, e, sizeof *e);
        jreq_free(r);
    }
}

/* After a batch's acks: wake each actor of the batch parked on them. */
static void wake(troupe_system *sys, troupe_ref ref)
{
    actor *a = actor_lookup(sys, ref);
    actor_ext *x = a ? ext_peek(a) : NULL;
    if (!x)
        return;
    /* acq_rel: pairs with persist_park's CAS. Finding PARKED we own the
     * actor (not idle, on no queue) and schedule it; the acks were pushed
     * before (seq_cst lane pushes) so its run sees them. */
    if (atomic_exchange_explicit(&x->pwait, PW_WOKEN, memory_order_acq_rel) == PW_PARKED) {
        atomic_store_explicit(&x->pwait, PW_IDLE, memory_order_relaxed);
        sched_actor(sys, a);
    }
}

struct batch *journal_batch_new(void)
{
    return sys_calloc(1, sizeof(batch)); /* n = 0 */
}

static void snapshot_one(troupe_journal *j, jreq *r)
{
    char err[BACKEND_ERR_MAX] = "";
    int rc = j->w->ops->save_snapshot(j->w, r->pid, r->seq, r->schema, r->data, r->len, err);
    if (rc == 0 && r->retention < r->seq)
        rc = j->w->ops->delete_upto(j->w, r->pid, r->seq - r->retention, err);
    pthread_mutex_lock(&j->lock); /* stats: read by troupe_journal_stats_get */
    if (rc == 0)
        j->st.snapshots++;
    else
        j->st.failures++;
    pthread_mutex_unlock(&j->lock);
    if (rc)
        journal_note_error(j, err);
    jreq_free(r);
}

static void count(troupe_journal *j, int rc, size_t n, size_t fenced, uint64_t ns)
{
    pthread_mutex_lock(&j->lock); /* stats: read by troupe_journal_stats_get */
    journal_count_commit(j, rc, n, ns);
    if (rc == 0) {
        j->st.events += n;
        j->st.commits++;
        if (n > j->st.max_batch)
            j->st.max_batch = n;
    } else {
        j->st.failures++;
    }
    j->st.fenced += fenced;
    pthread_mutex_unlock(&j->lock);
}

/* Ack (rc 0) or fail event i of b; its actor is woken after the batch. */
static void answer(batch *b, size_t i, int rc, const char *err)
{
    jreq *r = b->ev[i];
    b->who[b->nwho].sys = r->sys;
    b->who[b->nwho++].ref = r->ref;
    r->rc = rc;
    if (rc)
        snprintf(r->err, sizeof r->err, "journal: %s", err);
    deliver(r, rc ? SYSMSG_PERSIST_FAILED : SYSMSG_PERSISTED);
}

/* One append: guarded (backend_ops.append_guarded) if any event is. */
static int append_now(troupe_journal *j, batch *b, char *err)
{
    /* acquire: pairs with the release in journal_guard_table */
    jguards *g = atomic_load_explicit(&j->guards, memory_order_acquire);
    bool guarded = false;
    for (size_t i = 0; g && i < b->n; i++)
        guarded |= (b->pe[i].guard = jguards_of(g, b->pe[i].pid)) != 0;
    if (!guarded)
        return j->w->ops->append(j->w, b->pe, b->n, err);
    memset(b->fenced, 0, b->n);
    return j->w->ops->append_guarded(j->w, b->pe, b->n, jguards_table(g), b->fenced, err);
}

/* append_now between the fault points of troupe_fault_journal (one
 * relaxed load each when off). */
static int append(troupe_journal *j, batch *b, char *err)
{
    int rc = jfault_write(j->w, err);
    if (rc == 0 && (rc = append_now(j, b, err)) == 0 && !j->w->deferred_sync)
        rc = jfault_sync(j->w, err); /* else the syncer's, per batch */
    return rc;
}

/* Fail the fenced events, keep the others for the next try: how many
 * were fenced (0: the backend marked none, do not try again). */
static size_t refuse_fenced(batch *b, const char *err)
{
    size_t kept = 0, n = b->n;
    for (size_t i = 0; i < n; i++) {
        if (b->fenced[i]) {
            answer(b, i, TROUPE_EFENCED, err);
            continue;
        }
        b->ev[kept] = b->ev[i];
        b->pe[kept++] = b->pe[i];
    }
    b->n = kept;
    return n - kept;
}

void journal_finish(troupe_journal *j, batch *b, int rc, size_t fenced, const char *err,
                    uint64_t ns)
{
    count(j, rc, b->n, fenced, ns);
    if (rc || fenced)
        journal_note_error(j, err);
    for (size_t i = 0; i < b->n; i++)
        answer(b, i, rc, err);
    for (size_t i = 0; i < b->nwho; i++)
        if (i == 0 || b->who[i].ref.id != b->who[i - 1].ref.id || b->who[i].sys != b->who[i - 1].sys)
            wake(b->who[i].sys, b->who[i].ref);
    b->n = b->nwho = 0;
}

void journal_done(troupe_journal *j, uint64_t n)
{
    pthread_mutex_lock(&j->lock);
    j->done += n;
    pthread_cond_broadcast(&j->done_cond);
    pthread_mutex_unlock(&j->lock);
}

/* One transaction for the events of j->b (again without the fenced ones,
 * if any was), then the acks and the wakes — or, with a deferred sync,
 * the batch to the syncer, which acks after its sync (jsync.c). */
static void commit(troupe_journal *j)
{
    batch *b = j->b;
    bool deferred = j->w->deferred_sync;
    if (!b->n && !(deferred && j->pending_done))
        return;
    char err[BACKEND_ERR_MAX] = "";
    size_t fenced = 0, k = 1;
    uint64_t t0 = mono_ns();
    int rc = 0;
    while (b->n && (rc = append(j, b, err)) == TROUPE_EFENCED && k > 0 && b->n > 0)
        fenced += (k = refuse_fenced(b, err));
    if (rc == TROUPE_EFENCED && b->n == 0)
        rc = 0; /* every event was fenced: nothing left to write */
    if (deferred)
        jsync_push(j, rc, fenced, err, t0);
    else
        journal_finish(j, b, rc, fenced, err, mono_ns() - t0);
}

/* Events in batches of at most MAX_BATCH; a snapshot after the events
 * queued before it. Returns how many requests were handled (with a
 * deferred sync, they are counted done by the syncer, after the acks). */
static uint64_t process(troupe_journal *j, jreq *r)
{
    uint64_t n = 0;
    while (r) {
        jreq *next = r->next;
        n++;
        if (r->type == JR_SNAPSHOT) {
            commit(j);
            snapshot_one(j, r);
            j->pending_done++; /* done once written: the next hand-over */
        } else {
            j->pending_done++;
            batch *b = j->b;
            b->pe[b->n] = (pevent){.pid = r->pid, .seq = r->seq, .schema = r->schema,
                                   .data = r->data, .len = r->len};
            b->ev[b->n++] = r;
            if (b->n == MAX_BATCH)
                commit(j);
        }
        r = next;
    }
    commit(j);
    return n;
}

void *journal_writer_main(void *arg)
{
    troupe_journal *j = arg;
    for (;;) {
        jreq *r = take_all(j);
        if (!r)
            break; /* quit, and nothing queued */
        uint64_t n = process(j, r);
        if (!j->w->deferred_sync) {
            j->pending_done = 0;
            journal_done(j, n);
        }
    }
    return NULL;
}

void journal_free(troupe_journal *j)
{
    if (j->w)
        j->w->ops->close(j->w);
    for (uint32_t i = 0; i < j->nreaders; i++)
        j->readers[i]->ops->close(j->readers[i]);
    if (j->store)
        backend_memory_store_free(j->store);
    /* relaxed: the writer is joined */
    jguards_free(atomic_load_explicit(&j->guards, memory_order_relaxed));
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->done_cond);
    pthread_cond_destroy(&j->sync_work);
    pthread_cond_destroy(&j->sync_free);
    while (j->spare) {
        struct batch *next = j->spare->next;
        free(j->spare);
        j->spare = next;
    }
    free(j->path);
    free(j->idpath);
    free(j->conninfo);
    free(j->b);
    free(j);
}

TROUPE_API void troupe_journal_close(troupe_journal *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    j->quit = true;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->lock);
    pthread_join(j->thread, NULL);
    jsync_stop(j);
    journal_free(j);
}

TROUPE_API int troupe_journal_stats_get(troupe_journal *j, troupe_journal_stats *out)
{
    if (!j || !out)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&j->lock); /* the writer updates st between batches */
    *out = j->st;
    pthread_mutex_unlock(&j->lock);
    return 0;
}

TROUPE_API int troupe_journal_last_error(troupe_journal *j, char *buf, size_t cap)
{
    if (!j || !buf || !cap)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&j->lock);
    snprintf(buf, cap, "%s", j->err);
    pthread_mutex_unlock(&j->lock);
    return 0;
}

int journal_guard_table(troupe_journal *j, const char *table)
{
    if (!j || !table)
        return TROUPE_EINVAL;
    if (!j->w->ops->append_guarded)
        return TROUPE_ENOTSUP;
    pthread_mutex_lock(&j->lock);
    jguards *g = atomic_load_explicit(&j->guards, memory_order_relaxed); /* relaxed: under lock */
    int rc = 0;
    if (g)
        rc = jguards_same_table(g, table) ? 0 : TROUPE_EINVAL;
    else if ((rc = jguards_new(table, &g)) == 0) /* release: pairs with append's acquire */
        atomic_store_explicit(&j->guards, g, memory_order_release);
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int journal_guard_set(troupe_journal *j, const char *pid, uint64_t epoch)
{
    if (!j)
        return TROUPE_EINVAL;
    /* acquire: pairs with the release in journal_guard_table */
    jguards *g = atomic_load_explicit(&j->guards, memory_order_acquire);
    return g ? jguards_set(g, pid, epoch) : TROUPE_ESTATE;
}
