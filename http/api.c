/* http/api.c — the data endpoints: /metrics, /api/system, /api/actors,
 * /api/actors/{name} and its restart and stop.
 *
 * Every handler reads snapshots through the public API (observe.h,
 * supervisor.h, registry.h), so the HTTP layer sees nothing the
 * application could not, and a slow client never holds a runtime lock: the
 * whole reply is built in memory before libmicrohttpd sends a byte. */
#include "core/alloc.h"
#include "http/internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100
#define LIST_MAX 10000

/* ---- one actor ----------------------------------------------------------------- */

static void write_mailbox(jw *w, const troupe_mailbox_stats *m)
{
    jw_obj(w);
    jw_key(w, "depth"), jw_u64(w, m->depth);
    jw_key(w, "capacity"), jw_u64(w, m->capacity);
    jw_key(w, "accepted"), jw_u64(w, m->accepted);
    jw_key(w, "handled"), jw_u64(w, m->handled);
    jw_key(w, "dropped"), jw_u64(w, m->dropped);
    jw_key(w, "rejected"), jw_u64(w, m->rejected);
    jw_key(w, "redirected"), jw_u64(w, m->redirected);
    jw_key(w, "parked"), jw_u64(w, m->parked);
    jw_key(w, "failed"), jw_u64(w, m->failed);
    jw_obj_end(w);
}

static void write_health(jw *w, const troupe_health_info *h)
{
    jw_obj(w);
    jw_key(w, "status"), jw_str(w, troupe_health_name(h->status));
    jw_key(w, "interval_ns"), jw_u64(w, h->interval_ns);
    jw_key(w, "last_rtt_ns"), jw_u64(w, h->last_rtt_ns);
    jw_key(w, "avg_rtt_ns"), jw_u64(w, h->avg_rtt_ns);
    jw_key(w, "p99_rtt_ns"), jw_u64(w, h->p99_rtt_ns);
    jw_key(w, "missed"), jw_u64(w, h->missed);
    jw_key(w, "failures"), jw_u64(w, h->failures);
    jw_obj_end(w);
}

static const char *child_state_name(troupe_child_state s)
{
    static const char *const names[] = {"running", "backoff", "stopping", "stopped"};
    return (unsigned)s < 4 ? names[s] : "unknown";
}

static const char *restart_type_name(troupe_restart_type t)
{
    static const char *const names[] = {"permanent", "transient", "temporary"};
    return (unsigned)t < 3 ? names[t] : "unknown";
}

/* What its supervisor knows: restart type, state, the last exit. */
static void write_child(jw *w, troupe_system *sys, troupe_ref ref)
{
    troupe_child_info ci;
    if (troupe_child_info_get(sys, ref, &ci) < 0)
        return; /* not (or no longer) supervised */
    jw_key(w, "child");
    jw_obj(w);
    jw_key(w, "state"), jw_str(w, child_state_name(ci.state));
    jw_key(w, "restart"), jw_str(w, restart_type_name(ci.restart));
    jw_key(w, "stable_restarts"), jw_u64(w, ci.stable_restarts);
    jw_key(w, "next_delay_ns"), jw_u64(w, ci.next_delay_ns);
    jw_key(w, "last_exit"), jw_str(w, ci.restarts ? troupe_failure_kind_name(ci.last_kind) : NULL);
    jw_key(w, "last_reason"), jw_str(w, ci.restarts ? ci.last_reason : NULL);
    jw_obj_end(w);
}

/* Sampled latency (troupe/probe.h): null until a stamped message was handled. */
static void write_latency(jw *w, troupe_system *sys, troupe_ref ref)
{
    troupe_latency_info li;
    if (troupe_actor_latency_get(sys, ref, &li) < 0 || !li.samples) {
        jw_null(w);
        return;
    }
    jw_obj(w);
    jw_key(w, "samples"), jw_u64(w, li.samples);
    jw_key(w, "wait_p50_ns"), jw_u64(w, li.wait_p50_ns);
    jw_key(w, "wait_p99_ns"), jw_u64(w, li.wait_p99_ns);
    jw_key(w, "wait_avg_ns"), jw_u64(w, li.wait_avg_ns);
    jw_key(w, "handle_p50_ns"), jw_u64(w, li.handle_p50_ns);
    jw_key(w, "handle_p99_ns"), jw_u64(w, li.handle_p99_ns);
    jw_key(w, "handle_avg_ns"), jw_u64(w, li.handle_avg_ns);
    jw_obj_end(w);
}

void api_write_actor(jw *w, troupe_system *sys, const troupe_actor_info *ai)
{
    jw_obj(w);
    jw_key(w, "ref"), jw_id(w, ai->ref.id);
    jw_key(w, "name"), jw_str(w, ai->name[0] ? ai->name : NULL);
    jw_key(w, "type"), jw_str(w, ai->type);
    jw_key(w, "state"), jw_str(w, troupe_actor_state_name(ai->state));
    jw_key(w, "supervised"), jw_bool(w, ai->supervised);
    jw_key(w, "parent"), ai->supervised ? jw_id(w, ai->parent.id) : jw_null(w);
    jw_key(w, "restarts"), jw_u64(w, ai->restarts);
    jw_key(w, "mailbox"), write_mailbox(w, &ai->mailbox);
    jw_key(w, "health"), write_health(w, &ai->health);
    jw_key(w, "latency"), write_latency(w, sys, ai->ref);
    if (ai->supervised)
        write_child(w, sys, ai->ref);
    jw_obj_end(w);
}

/* ---- /api/actors/{name} ---------------------------------------------------------- */

/* The registered actor r->name, or an error reply. */
static int find_actor(hreq *r, troupe_ref *ref)
{
    int rc = troupe_whereis(r->srv->sys, r->name, ref);
    if (rc == TROUPE_EINVAL)
        http_error(r, MHD_HTTP_BAD_REQUEST, "bad actor name (1..64 bytes, no NUL)");
    else if (rc < 0)
        http_error_code(r, rc);
    return rc;
}

void api_actor(hreq *r)
{
    troupe_ref ref;
    troupe_actor_info ai;
    if (find_actor(r, &ref) < 0)
        return;
    int rc = troupe_actor_info_get(r->srv->sys, ref, &ai);
    if (rc < 0) {
        http_error_code(r, rc);
        return;
    }
    api_write_actor(&r->out.w, r->srv->sys, &ai);
}

/* ---- restart and stop --------------------------------------------------------------- */

static void write_done(hreq *r, const char *action, troupe_ref ref)
{
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "ok"), jw_bool(w, 1);
    jw_key(w, "action"), jw_str(w, action);
    jw_key(w, "name"), jw_str(w, r->name);
    jw_key(w, "ref"), jw_id(w, ref.id);
    jw_obj_end(w);
}

void api_restart(hreq *r)
{
    troupe_ref ref;
    if (find_actor(r, &ref) < 0)
        return;
    int rc = troupe_actor_restart(r->srv->sys, ref);
    if (rc == TROUPE_ENOTFOUND)
        http_error_name(r, MHD_HTTP_CONFLICT, "not supervised, cannot restart:");
    else if (rc < 0)
        http_error_code(r, rc);
    else
        write_done(r, "restart", ref);
}

/* A supervised actor is stopped through its supervisor: troupe_stop alone
 * would count as an exit and a permanent child would come back. */
void api_stop(hreq *r)
{
    troupe_ref ref;
    if (find_actor(r, &ref) < 0)
        return;
    int rc = troupe_sup_terminate_child(r->srv->sys, ref);
    if (rc == TROUPE_ENOTFOUND)
        rc = troupe_stop(r->srv->sys, ref);
    if (rc < 0)
        http_error_code(r, rc);
    else
        write_done(r, "stop", ref);
}

/* ---- /api/actors?type=&limit= ------------------------------------------------------- */

/* A query value, percent-decoded into buf; NULL when absent. *bad is set
 * when it cannot be decoded. */
static const char *query_arg(hreq *r, const char *key, char *buf, size_t cap, int *bad)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return NULL;
    if (http_unescape(buf, cap, v, strlen(v)) < 0)
        *bad = 1;
    return buf;
}

/* limit: a decimal integer in 1..LIST_MAX, LIST_DEFAULT when absent. */
static long parse_limit(const char *s)
{
    if (!s)
        return LIST_DEFAULT;
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > LIST_MAX)
        return -1;
    return v;
}

static void write_list(hreq *r, const troupe_ref *refs, size_t n, size_t total, long limit)
{
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "total"), jw_u64(w, total);
    jw_key(w, "limit"), jw_i64(w, limit);
    jw_key(w, "actors");
    jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        troupe_actor_info ai;
        if (troupe_actor_info_get(r->srv->sys, refs[i], &ai) == 0) /* else it just ended */
            api_write_actor(w, r->srv->sys, &ai);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

void api_actors(hreq *r)
{
    char type[256], lim[32];
    int bad = 0;
    const char *t = query_arg(r, "type", type, sizeof type, &bad);
    long limit = parse_limit(query_arg(r, "limit", lim, sizeof lim, &bad));
    if (bad || limit < 0) {
        http_error(r, MHD_HTTP_BAD_REQUEST,
                   bad ? "bad query parameter" : "limit must be an integer in 1..10000");
        return;
    }
    troupe_ref *refs = sys_calloc((size_t)limit, sizeof *refs);
    size_t total = 0;
    int rc = refs ? troupe_actor_list(r->srv->sys, t && *t ? t : NULL, refs, (size_t)limit, &total)
                  : TROUPE_ENOMEM;
    if (rc < 0)
        http_error_code(r, rc);
    else
        write_list(r, refs, total < (size_t)limit ? total : (size_t)limit, total, limit);
    free(refs);
}

/* ---- /metrics ------------------------------------------------------------------------- */

void api_metrics(hreq *r)
{
    troupe_metrics_opts o;
    troupe_metrics_opts_defaults(&o);
    o.per_name = r->srv->per_name;
    int rc = troupe_metrics_write(r->srv->sys, &o, hbuf_write_fn, &r->out.w.b);
    if (rc < 0) {
        http_error_code(r, rc);
        return;
    }
    r->out.ctype = "text/plain; version=0.0.4; charset=utf-8";
}
