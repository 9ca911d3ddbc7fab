/* supervisor/evlog.c — the event log: a ring of TROUPE_EVENTS_KEPT
 * events under one mutex (supervisor/evlog.h says who writes and why a
 * mutex is enough), read by troupe_events_read. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "supervisor/evlog.h"
#include "supervisor/sv.h"

struct evlog {
    pthread_mutex_t lock;
    uint64_t last;   /* seq of the newest event; 0: none yet */
    troupe_event ring[TROUPE_EVENTS_KEPT]; /* seq s sits at (s - 1) % KEPT */
};

int evlog_create(troupe_system *sys)
{
    evlog *l = sys_calloc(1, sizeof *l);
    if (!l)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&l->lock, NULL);
    sys->sv->log = l;
    return 0;
}

void evlog_destroy(troupe_system *sys)
{
    evlog *l = sys->sv ? sys->sv->log : NULL;
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
    sys->sv->log = NULL;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void evlog_add(troupe_system *sys, troupe_event_kind kind, troupe_ref actor, const char *name,
               const char *behaviour, const char *detail)
{
    evlog *l = sys && sys->sv ? sys->sv->log : NULL;
    if (!l)
        return;
    /* built outside the lock: the lock covers the copy into the ring */
    troupe_event e = {.at_ns = troupe_clock_now(sys->clock), .kind = kind, .actor = actor};
    copy_field(e.name, sizeof e.name, name);
    copy_field(e.behaviour, sizeof e.behaviour, behaviour);
    copy_field(e.detail, sizeof e.detail, detail);
    pthread_mutex_lock(&l->lock);
    e.seq = ++l->last;
    l->ring[(e.seq - 1) % TROUPE_EVENTS_KEPT] = e;
    pthread_mutex_unlock(&l->lock);
}

TROUPE_API const char *troupe_event_kind_name(troupe_event_kind k)
{
    static const char *const names[] = {"failure", "restart", "stop", "escalation", "flag"};
    return (unsigned)k < TROUPE_EVENT_KINDS ? names[k] : "unknown";
}

/* Does e name `want`: its name, or its ref's id in hex (as the HTTP API
 * writes refs)? */
static bool matches(const troupe_event *e, const char *want)
{
    if (!want || !*want || strcmp(e->name, want) == 0)
        return true;
    if (!e->actor.id)
        return false;
    char hex[24];
    snprintf(hex, sizeof hex, "0x%" PRIx64, e->actor.id);
    return strcmp(hex, want) == 0;
}

TROUPE_API int troupe_events_read(troupe_system *sys, uint64_t since, const char *name,
                                  troupe_event *out, size_t cap, troupe_events_page *page)
{
    if (!sys || !page || (!out && cap > 0))
        return TROUPE_EINVAL;
    *page = (troupe_events_page){.next = since};
    evlog *l = sys->sv ? sys->sv->log : NULL;
    if (!l)
        return 0;
    pthread_mutex_lock(&l->lock);
    uint64_t last = l->last;
    uint64_t first = last > TROUPE_EVENTS_KEPT ? last - TROUPE_EVENTS_KEPT + 1 : 1;
    if (since > last)
        since = last; /* a seq from the future (another system, a restart): from now on */
    if (since + 1 < first)
        page->dropped = first - since - 1;
    uint64_t s = since + 1 > first ? since + 1 : first;
    for (; s <= last && page->n < cap; s++) {
        const troupe_event *e = &l->ring[(s - 1) % TROUPE_EVENTS_KEPT];
        if (matches(e, name))
            out[page->n++] = *e;
    }
    /* a full page stops at its last event; else everything was scanned */
    page->next = page->n == cap && cap > 0 ? out[cap - 1].seq : last;
    pthread_mutex_unlock(&l->lock);
    return 0;
}
