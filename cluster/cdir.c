/* cluster/cdir.c — the directory of the cluster actors running on this
 * node (cref.h): what the reader delivers a CSEND to, and the migration's
 * drain.
 *
 * One mutex over a small array: a delivery takes it twice (enter, leave),
 * never while it sends. `busy` counts deliveries between the two, so that
 * a migration, once it has marked the entry moving, knows when the last
 * delivery it let through has reached the mailbox; from then on the
 * mailbox only empties. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cref.h"
#include "cluster/own.h"
#include "core/alloc.h"
#include "core/common.h"
#include "troupe/observe.h"

typedef struct cdir_entry {
    char pid[OWN_PID_MAX + 1];
    troupe_ref ref;
    uint32_t busy; /* deliveries under way */
    bool moving;
} cdir_entry;

struct cdir {
    pthread_mutex_t mu;
    cdir_entry *e;
    size_t n, cap;
};

int cdir_create(cdir **out)
{
    cdir *d = sys_calloc(1, sizeof *d);
    if (!d)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&d->mu, NULL);
    *out = d;
    return 0;
}

void cdir_destroy(cdir *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->mu);
    free(d->e);
    free(d);
}

static cdir_entry *find(cdir *d, const char *pid)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->e[i].pid, pid))
            return &d->e[i];
    return NULL;
}

static cdir_entry *add(cdir *d, const char *pid)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        cdir_entry *ne = sys_realloc(d->e, cap * sizeof *ne);
        if (!ne)
            return NULL;
        d->e = ne;
        d->cap = cap;
    }
    cdir_entry *x = &d->e[d->n++];
    *x = (cdir_entry){0};
    strncpy(x->pid, pid, OWN_PID_MAX);
    return x;
}

int cdir_set(cdir *d, const char *pid, troupe_ref ref)
{
    pthread_mutex_lock(&d->mu);
    cdir_entry *x = find(d, pid);
    if (!x)
        x = add(d, pid);
    if (x) {
        x->ref = ref;
        x->moving = false;
    }
    pthread_mutex_unlock(&d->mu);
    return x ? 0 : TROUPE_ENOMEM;
}

void cdir_clear(cdir *d, const char *pid)
{
    pthread_mutex_lock(&d->mu);
    cdir_entry *x = find(d, pid);
    if (x) /* a delivery still under way finds no entry at its leave: fine */
        *x = d->e[--d->n];
    pthread_mutex_unlock(&d->mu);
}

int cdir_enter(cdir *d, const char *pid, troupe_ref *ref)
{
    pthread_mutex_lock(&d->mu);
    cdir_entry *x = find(d, pid);
    bool ok = x && !x->moving && !troupe_ref_is_none(x->ref);
    if (ok) {
        x->busy++;
        *ref = x->ref;
    }
    pthread_mutex_unlock(&d->mu);
    return ok ? 0 : TROUPE_ENOACTOR;
}

void cdir_leave(cdir *d, const char *pid, troupe_ref ref)
{
    pthread_mutex_lock(&d->mu);
    cdir_entry *x = find(d, pid);
    if (x && troupe_ref_eq(x->ref, ref) && x->busy) /* else: cleared and set anew */
        x->busy--;
    pthread_mutex_unlock(&d->mu);
}

/* Marked moving: true once no delivery it let in is still under way. */
static bool settled(cdir *d, const char *pid, troupe_ref *ref)
{
    pthread_mutex_lock(&d->mu);
    cdir_entry *x = find(d, pid);
    if (x) {
        x->moving = true;
        *ref = x->ref;
    }
    bool done = !x || x->busy == 0;
    pthread_mutex_unlock(&d->mu);
    return done;
}

/* Idle with nothing queued: every accepted message was handled. */
static bool drained(troupe_system *sys, troupe_ref ref)
{
    troupe_actor_info info;
    if (troupe_ref_is_none(ref) || troupe_actor_info_get(sys, ref, &info) != 0)
        return true; /* gone already */
    return info.state == TROUPE_ACTOR_IDLE && info.mailbox.depth == 0;
}

int cdir_quiesce(cdir *d, troupe_system *sys, const char *pid, uint64_t deadline_ns)
{
    troupe_ref ref = TROUPE_REF_NONE;
    while (!settled(d, pid, &ref))
        if (mono_ns() >= deadline_ns)
            return TROUPE_ETIMEDOUT;
        else
            usleep(200);
    while (!drained(sys, ref))
        if (mono_ns() >= deadline_ns)
            return TROUPE_ETIMEDOUT;
        else
            usleep(500);
    return 0;
}
