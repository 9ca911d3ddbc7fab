/* http/trace.c — an actor's trace buffer (troupe/probe.h):
 *   POST   /api/actors/{name}/trace  {"count": N}  arm: the next N messages
 *   GET    /api/actors/{name}/trace               the records so far
 *   DELETE /api/actors/{name}/trace               disarm, forget the records
 * POST and DELETE are mutating (the token rules of http/route.c). At most
 * TROUPE_TRACE_ACTORS actors are armed at once: 409 beyond. */
#include "http/internal.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* {"count": N} with N a decimal in 1..TROUPE_TRACE_MAX; -1 when it is not. */
static long parse_count(const char *p)
{
    if (!p || *(p = ws(p)) != '{')
        return -1;
    p = ws(p + 1);
    if (strncmp(p, "\"count\"", 7) != 0 || *(p = ws(p + 7)) != ':')
        return -1;
    p = ws(p + 1);
    long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 8; p++, digits++)
        v = v * 10 + (*p - '0');
    if (!digits || (*p >= '0' && *p <= '9') || *(p = ws(p)) != '}' || *ws(p + 1) != '\0')
        return -1;
    return v >= 1 && v <= (long)TROUPE_TRACE_MAX ? v : -1;
}

/* The actor r->name, or an error reply. */
static int find(hreq *r, troupe_ref *ref)
{
    int rc = troupe_whereis(r->srv->sys, r->name, ref);
    if (rc == TROUPE_EINVAL)
        http_error(r, MHD_HTTP_BAD_REQUEST, "bad actor name (1..64 bytes, no NUL)");
    else if (rc < 0)
        http_error_code(r, rc);
    return rc;
}

static void write_record(jw *w, const troupe_trace_record *t)
{
    jw_obj(w);
    jw_key(w, "type"), jw_u64(w, t->type);
    jw_key(w, "sender"), t->sender.id ? jw_id(w, t->sender.id) : jw_null(w);
    jw_key(w, "at_ns"), jw_u64(w, t->at_ns);
    jw_key(w, "wait_ns"), t->wait_ns < 0 ? jw_null(w) : jw_i64(w, t->wait_ns);
    jw_key(w, "handle_ns"), jw_u64(w, t->handle_ns);
    jw_key(w, "outcome"), jw_str(w, t->ok ? "ok" : troupe_failure_kind_name(t->kind));
    jw_obj_end(w);
}

void api_trace_get(hreq *r)
{
    troupe_ref ref;
    if (find(r, &ref) < 0)
        return;
    troupe_trace_record *recs = calloc(TROUPE_TRACE_MAX, sizeof *recs);
    size_t n = 0;
    uint32_t left = 0;
    int rc = recs ? troupe_trace_read(r->srv->sys, ref, recs, TROUPE_TRACE_MAX, &n, &left)
                  : TROUPE_ENOMEM;
    if (rc == TROUPE_ENOTFOUND)
        http_error_name(r, MHD_HTTP_NOT_FOUND, "no trace armed for");
    else if (rc < 0)
        http_error_code(r, rc);
    else {
        jw *w = &r->out.w;
        jw_obj(w);
        jw_key(w, "name"), jw_str(w, r->name);
        jw_key(w, "ref"), jw_id(w, ref.id);
        jw_key(w, "left"), jw_u64(w, left);
        jw_key(w, "count"), jw_u64(w, n);
        jw_key(w, "records"), jw_arr(w);
        for (size_t i = 0; i < n && i < TROUPE_TRACE_MAX; i++)
            write_record(w, &recs[i]);
        jw_arr_end(w), jw_obj_end(w);
    }
    free(recs);
}

void api_trace_arm(hreq *r)
{
    long count = parse_count(r->body);
    if (count < 0) {
        http_error(r, MHD_HTTP_BAD_REQUEST, "body: {\"count\": N} with N in 1..1000");
        return;
    }
    troupe_ref ref;
    if (find(r, &ref) < 0)
        return;
    int rc = troupe_trace_arm(r->srv->sys, ref, (uint32_t)count);
    if (rc == TROUPE_EBUSY) {
        http_error(r, MHD_HTTP_CONFLICT, "too many actors traced at once (at most 16)");
        return;
    }
    if (rc < 0) {
        http_error_code(r, rc);
        return;
    }
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "ok"), jw_bool(w, 1);
    jw_key(w, "name"), jw_str(w, r->name);
    jw_key(w, "ref"), jw_id(w, ref.id);
    jw_key(w, "count"), jw_i64(w, count);
    jw_obj_end(w);
}

void api_trace_disarm(hreq *r)
{
    troupe_ref ref;
    if (find(r, &ref) < 0)
        return;
    int rc = troupe_trace_disarm(r->srv->sys, ref);
    if (rc == TROUPE_ENOTFOUND)
        http_error_name(r, MHD_HTTP_NOT_FOUND, "no trace armed for");
    else if (rc < 0)
        http_error_code(r, rc);
    else {
        jw *w = &r->out.w;
        jw_obj(w);
        jw_key(w, "ok"), jw_bool(w, 1);
        jw_key(w, "name"), jw_str(w, r->name);
        jw_obj_end(w);
    }
}
