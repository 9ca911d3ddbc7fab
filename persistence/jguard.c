/* persistence/jguard.c — a journal's append guards (guard.h): the guard
 * table's name and a map persistence id -> epoch, read by the writer for
 * every event of a batch (only when some guard is set) and written by the
 * layer above when it claims or gives up an actor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "persistence/jguard.h"

#define BUCKETS 256

typedef struct gnode {
    struct gnode *next;
    uint64_t epoch;
    char pid[TROUPE_PERSIST_ID_MAX + 1];
} gnode;

struct jguards {
    pthread_mutex_t mu;
    /* relaxed: a hint that lets the writer skip the lookup; a guard set
     * concurrently with a batch applies from the next batch on */
    _Atomic size_t n;
    char table[64];
    gnode *b[BUCKETS];
};

static bool table_ok(const char *t)
{
    size_t n = t ? strnlen(t, 64) : 0;
    if (n == 0 || n > 63 || (t[0] >= '0' && t[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return false;
    return true;
}

int jguards_new(const char *table, jguards **out)
{
    if (!table_ok(table))
        return TROUPE_EINVAL;
    jguards *g = sys_calloc(1, sizeof *g);
    if (!g)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&g->mu, NULL);
    snprintf(g->table, sizeof g->table, "%s", table);
    *out = g;
    return 0;
}

bool jguards_same_table(const jguards *g, const char *table)
{
    return table && strcmp(g->table, table) == 0;
}

const char *jguards_table(const jguards *g)
{
    return g->table;
}

void jguards_free(jguards *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < BUCKETS; i++)
        while (g->b[i]) {
            gnode *next = g->b[i]->next;
            free(g->b[i]);
            g->b[i] = next;
        }
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static gnode **slot(jguards *g, const char *pid)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = pid; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    gnode **p = &g->b[h % BUCKETS];
    while (*p && strcmp((*p)->pid, pid) != 0)
        p = &(*p)->next;
    return p;
}

int jguards_set(jguards *g, const char *pid, uint64_t epoch)
{
    size_t len = pid ? strnlen(pid, TROUPE_PERSIST_ID_MAX + 1) : 0;
    if (len == 0 || len > TROUPE_PERSIST_ID_MAX)
        return TROUPE_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    gnode **p = slot(g, pid), *n = *p;
    if (n && epoch) {
        n->epoch = epoch;
    } else if (n) { /* cleared: unlinked */
        *p = n->next;
        free(n);
        atomic_fetch_sub_explicit(&g->n, 1, memory_order_relaxed); /* relaxed: see n */
    } else if (epoch && (n = sys_calloc(1, sizeof *n)) != NULL) {
        memcpy(n->pid, pid, len + 1);
        n->epoch = epoch;
        *p = n;
        atomic_fetch_add_explicit(&g->n, 1, memory_order_relaxed); /* relaxed: see n */
    } else if (epoch) {
        rc = TROUPE_ENOMEM;
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

uint64_t jguards_of(jguards *g, const char *pid)
{
    if (atomic_load_explicit(&g->n, memory_order_relaxed) == 0) /* relaxed: see n */
        return 0;
    pthread_mutex_lock(&g->mu);
    gnode *n = *slot(g, pid);
    uint64_t e = n ? n->epoch : 0;
    pthread_mutex_unlock(&g->mu);
    return e;
}
