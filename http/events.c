/* http/events.c — GET /api/events: the system's event log (failures,
 * restarts, stops, escalations, flag changes; troupe_events_read in
 * troupe/supervisor.h), polled by the dashboard and troupectl:
 *
 *   ?since=SEQ   events after SEQ (default 0: all still kept)
 *   &limit=N     at most N (1..TROUPE_EVENTS_KEPT, default 100)
 *   &actor=NAME  only those whose name (or ref id, "0x…") is NAME
 *
 * {"now_ns", "next", "dropped", "events": [{"seq", "at_ns", "kind", "actor",
 * "ref", "behaviour", "detail"}]}: poll again with since=next; dropped
 * counts the events after `since` the ring lost before this read, all of
 * them even with actor= (a lost event's actor is not known). */
#include "core/alloc.h"
#include "core/system.h"
#include "http/internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_DEFAULT 100

/* A query value as an unsigned decimal in [lo, hi]: 0 when absent (dflt
 * then), 1 when read, -1 when malformed or out of range. */
static int query_u64(hreq *r, const char *key, uint64_t lo, uint64_t hi, uint64_t dflt,
                     uint64_t *out)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    *out = dflt;
    if (!v)
        return 0;
    if (*v < '0' || *v > '9' || strlen(v) > 20)
        return -1;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 1;
}

static void write_event(jw *w, const troupe_event *e)
{
    jw_obj(w);
    jw_key(w, "seq"), jw_u64(w, e->seq);
    jw_key(w, "at_ns"), jw_u64(w, e->at_ns);
    jw_key(w, "kind"), jw_str(w, troupe_event_kind_name(e->kind));
    jw_key(w, "actor"), jw_str(w, e->name[0] ? e->name : NULL);
    jw_key(w, "ref"), e->actor.id ? jw_id(w, e->actor.id) : jw_null(w);
    jw_key(w, "behaviour"), jw_str(w, e->behaviour[0] ? e->behaviour : NULL);
    jw_key(w, "detail"), jw_str(w, e->detail);
    jw_obj_end(w);
}

void api_events(hreq *r)
{
    uint64_t since, limit;
    char actor[TROUPE_NAME_MAX + 1] = "";
    const char *a = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "actor");
    if (query_u64(r, "since", 0, UINT64_MAX, 0, &since) < 0 ||
        query_u64(r, "limit", 1, TROUPE_EVENTS_KEPT, EVENTS_DEFAULT, &limit) < 0) {
        http_error(r, MHD_HTTP_BAD_REQUEST,
                   "since must be an unsigned integer, limit an integer in 1..512");
        return;
    }
    if (a && http_unescape(actor, sizeof actor, a, strlen(a)) < 0) {
        http_error(r, MHD_HTTP_BAD_REQUEST, "bad actor (1..64 bytes, no NUL)");
        return;
    }
    troupe_event *ev = sys_calloc((size_t)limit, sizeof *ev);
    troupe_events_page pg;
    int rc = ev ? troupe_events_read(r->srv->sys, since, actor, ev, (size_t)limit, &pg)
                : TROUPE_ENOMEM;
    if (rc < 0) {
        free(ev);
        http_error_code(r, rc);
        return;
    }
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "now_ns"), jw_u64(w, troupe_clock_now(r->srv->sys->clock));
    jw_key(w, "next"), jw_u64(w, pg.next);
    jw_key(w, "dropped"), jw_u64(w, pg.dropped);
    jw_key(w, "events");
    jw_arr(w);
    for (size_t i = 0; i < pg.n; i++)
        write_event(w, &ev[i]);
    jw_arr_end(w);
    jw_obj_end(w);
    free(ev);
}
