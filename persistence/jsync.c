/* persistence/jsync.c — a second batch in flight: the syncer of a journal
 * whose backend defers its syncs (backend.deferred_sync: SQLite FULL).
 *
 * The writer appends and commits a batch without waiting for the disk,
 * hands it here, and fills the other batch from the requests queued
 * meanwhile. The syncer makes every batch handed to it durable with one
 * backend sync, then answers them in commit order: the acks and the
 * wakes of journal_finish, then done (troupe_journal_flush's waiters and
 * recovery, which reads only after what was queued is done). So no event
 * is acknowledged before it is durable, an actor still has one command in
 * flight (docs/PERFORMANCE.md, "a second batch in flight"), and the
 * acknowledgements keep the order of the commits.
 *
 * Spare batches: while the syncer holds some, the writer fills another; a
 * writer with none left waits for the syncer to give one back. The injected sync fault
 * (troupe_fault_journal) is drawn once per batch with events, as the
 * writer drew it per commit before, so its count means the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "persistence/jfault.h"
#include "persistence/journal_int.h"

/* Batches besides the writer's (about 600 KB each): the writer commits up
 * to this many ahead of the syncer before it waits. Three runs each of
 * 100 actors (bench/persist.c's group commit, same build, near-quiet):
 * 1 spare 77-84 k events/s, 2 spares 80-84 k, 4 spares 81-96 k. */
#define JSYNC_SPARES 4

/* The syncer's answer for b: its append's failure if it failed, else the
 * sync's (real or injected). */
static int outcome(troupe_journal *j, batch *b, int synced, const char *serr, char *err)
{
    if (b->rc) {
        snprintf(err, BACKEND_ERR_MAX, "%s", b->err);
        return b->rc;
    }
    int rc = synced;
    if (rc == 0 && b->n)
        rc = jfault_sync(j->w, err);
    else if (rc)
        snprintf(err, BACKEND_ERR_MAX, "%s", serr);
    return rc;
}

/* Answer b, count its requests done, give it back as the spare. */
static void finish(troupe_journal *j, batch *b, int synced, const char *serr)
{
    char err[BACKEND_ERR_MAX] = "";
    int rc = outcome(j, b, synced, serr, err);
    if (b->n || b->nfenced)
        journal_finish(j, b, rc, b->nfenced, err, mono_ns() - b->t0);
    else if (rc) /* no event: a snapshot (counted when written) not synced */
        journal_note_error(j, err);
    uint64_t n = b->ndone;
    pthread_mutex_lock(&j->lock);
    b->next = j->spare;
    j->spare = b;
    pthread_cond_signal(&j->sync_free);
    pthread_mutex_unlock(&j->lock);
    journal_done(j, n);
}

/* Every batch handed over so far (NULL: stopping, and none left). */
static batch *take_synced(troupe_journal *j)
{
    pthread_mutex_lock(&j->lock);
    while (!j->sync_head && !j->sync_quit)
        pthread_cond_wait(&j->sync_work, &j->lock);
    batch *b = j->sync_head;
    j->sync_head = j->sync_tail = NULL;
    pthread_mutex_unlock(&j->lock);
    return b;
}

static void *jsync_main(void *arg)
{
    troupe_journal *j = arg;
    batch *b;
    while ((b = take_synced(j))) {
        char serr[BACKEND_ERR_MAX] = "";
        int synced = j->w->ops->sync(j->w, serr); /* one sync for them all */
        while (b) {
            batch *next = b->next;
            finish(j, b, synced, serr);
            b = next;
        }
    }
    return NULL;
}

int jsync_start(troupe_journal *j)
{
    if (!j->w->deferred_sync)
        return 0;
    for (int i = 0; i < JSYNC_SPARES; i++) {
        batch *b = journal_batch_new();
        if (!b)
            return TROUPE_ENOMEM;
        b->next = j->spare;
        j->spare = b;
    }
    if (pthread_create(&j->syncer, NULL, jsync_main, j) != 0)
        return TROUPE_ESYS;
    j->syncer_on = true;
    return 0;
}

void jsync_stop(troupe_journal *j)
{
    if (!j->syncer_on)
        return;
    pthread_mutex_lock(&j->lock);
    j->sync_quit = true;
    pthread_cond_signal(&j->sync_work);
    pthread_mutex_unlock(&j->lock);
    pthread_join(j->syncer, NULL);
    j->syncer_on = false;
}

void jsync_push(troupe_journal *j, int rc, size_t fenced, const char *err, uint64_t t0)
{
    batch *b = j->b;
    b->rc = rc;
    b->nfenced = fenced;
    b->t0 = t0;
    snprintf(b->err, sizeof b->err, "%s", err);
    b->ndone = j->pending_done;
    j->pending_done = 0;
    b->next = NULL;
    pthread_mutex_lock(&j->lock);
    if (j->sync_tail)
        j->sync_tail->next = b;
    else
        j->sync_head = b;
    j->sync_tail = b;
    pthread_cond_signal(&j->sync_work);
    while (!j->spare) /* the syncer gives one back after its acks */
        pthread_cond_wait(&j->sync_free, &j->lock);
    j->b = j->spare;
    j->spare = j->spare->next;
    pthread_mutex_unlock(&j->lock);
}
