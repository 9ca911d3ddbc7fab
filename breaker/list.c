/* breaker/list.c — the system's list of breakers, for troupe_breaker_list
 * (metrics, the dashboard), and the breakers' metric families, which it
 * registers with observe. Lock order: the list's lock, then a stripe's;
 * acquire and record never take the list's lock. */
#include <stdlib.h>

#include "breaker/breaker.h"
#include "core/alloc.h"
#include "core/system.h"
#include "observe/prom.h"

static void breaker_labels(pw *p, const char *metric, const troupe_breaker_info *b)
{
    pw_printf(p, "%s{breaker=\"", metric);
    pw_label(p, b->name);
    pw_printf(p, "\",key=\"%llu\"", (unsigned long long)b->key);
}

/* The breakers' families in /metrics: observe calls it (registered at
 * create), under its lock of metrics writers. */
static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    size_t total = 0, n = 0;
    troupe_breaker_info *v = NULL;
    if (troupe_breaker_list(sys, NULL, 0, &total) || !total ||
        !(v = sys_calloc(total, sizeof *v)) || troupe_breaker_list(sys, v, total, &n)) {
        free(v);
        return;
    }
    n = n < total ? n : total;
    pw_head(p, "troupe_breaker_state", "gauge", "0 closed, 1 open, 2 half-open.");
    for (size_t i = 0; i < n; i++) {
        breaker_labels(p, "troupe_breaker_state", &v[i]);
        pw_printf(p, "} %d\n", (int)v[i].state);
    }
    pw_head(p, "troupe_breaker_transitions_total", "counter", "Transitions into each state.");
    for (size_t i = 0; i < n; i++) {
        uint64_t to[3] = {v[i].closed, v[i].opened, v[i].half_opened};
        for (int s = 0; s < 3; s++) {
            breaker_labels(p, "troupe_breaker_transitions_total", &v[i]);
            pw_printf(p, ",to=\"%s\"} %llu\n", troupe_breaker_state_name((troupe_breaker_state)s),
                      (unsigned long long)to[s]);
        }
    }
    pw_head(p, "troupe_breaker_rejected_total", "counter", "Calls refused with TROUPE_ECIRCUIT.");
    for (size_t i = 0; i < n; i++) {
        breaker_labels(p, "troupe_breaker_rejected_total", &v[i]);
        pw_printf(p, "} %llu\n", (unsigned long long)v[i].rejected);
    }
    free(v);
}

int breakers_create(troupe_system *sys)
{
    struct breakers *l = sys_calloc(1, sizeof *l);
    if (!l)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    sys->brk = l; /* freed by breakers_destroy, also when this fails */
    return obs_metrics_register(sys, "breaker", write_metrics, NULL);
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
