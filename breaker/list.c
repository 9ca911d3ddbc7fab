/* breaker/list.c — the system's list of breakers, for troupe_breaker_list
 * (metrics, the dashboard). Lock order: the list's lock, then a stripe's;
 * acquire and record never take the list's lock. */
#include <stdlib.h>

#include "breaker/breaker.h"
#include "core/alloc.h"
#include "core/system.h"

int breakers_create(troupe_system *sys)
{
    struct breakers *l = sys_calloc(1, sizeof *l);
    if (!l)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    sys->brk = l;
    return 0;
}

/* After the workers stopped: free the breakers nobody destroyed. */
void breakers_destroy(troupe_system *sys)
{
    struct breakers *l = sys->brk;
    if (!l)
        return;
    while (l->head) {
        troupe_breaker *b = l->head;
        l->head = b->next;
        breaker_free(b);
    }
    pthread_mutex_destroy(&l->lock);
    free(l);
    sys->brk = NULL;
}

int breakers_link(troupe_system *sys, troupe_breaker *b)
{
    struct breakers *l = sys->brk;
    /* relaxed: pairs with nothing, a hint only (no new breaker once
     * shutdown began); one made meanwhile is still freed by destroy */
    if (!l || atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    pthread_mutex_lock(&l->lock);
    b->next = l->head;
    if (l->head)
        l->head->prev = b;
    l->head = b;
    pthread_mutex_unlock(&l->lock);
    return 0;
}

void breakers_unlink(troupe_breaker *b)
{
    struct breakers *l = b->sys->brk;
    pthread_mutex_lock(&l->lock);
    if (b->prev)
        b->prev->next = b->next;
    else
        l->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    pthread_mutex_unlock(&l->lock);
}

TROUPE_API int troupe_breaker_list(troupe_system *sys, troupe_breaker_info *out, size_t cap,
                                   size_t *total)
{
    if (!sys || !total || (!out && cap > 0))
        return TROUPE_EINVAL;
    *total = 0;
    struct breakers *l = sys->brk;
    if (!l)
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&l->lock);
    for (troupe_breaker *b = l->head; b; b = b->next)
        n = breaker_fill_all(b, out, cap, n);
    pthread_mutex_unlock(&l->lock);
    *total = n;
    return 0;
}

TROUPE_API const char *troupe_breaker_state_name(troupe_breaker_state state)
{
    switch (state) {
    case TROUPE_BREAKER_CLOSED:
        return "closed";
    case TROUPE_BREAKER_OPEN:
        return "open";
    case TROUPE_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}
