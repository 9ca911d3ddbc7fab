/* http/route.c — from a method and a path to a handler: the route table,
 * percent-decoding, the bearer-token check, and the JSON error replies.
 *
 * The order of checks is fixed so that each status means one thing: an
 * unknown path is 404 whatever the method; a known path with another
 * method is 405; a mutating route is then 403 when no token is configured
 * and 401 when the request's token is missing or wrong; only then is the
 * {name} segment looked at (400 if it is not a valid name). */
#include "http/internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

typedef void (*handler_fn)(hreq *r);

typedef struct route {
    const char *path; /* "*" as a segment stands for the {name} */
    const char *method;
    handler_fn fn;
    int mutating;
    int query_name;   /* the name is the query parameter "name" */
} route;

static void get_page(hreq *r);

static const route routes[] = {
    {"/", "GET", get_page, 0, 0},
    {"/metrics", "GET", api_metrics, 0, 0},
    {"/api/system", "GET", api_system, 0, 0},
    {"/api/tree", "GET", api_tree, 0, 0},
    {"/api/actors", "GET", api_actors, 0, 0},
    {"/api/actors/*", "GET", api_actor, 0, 0},
    {"/api/actors/*/restart", "POST", api_restart, 1, 0},
    {"/api/actors/*/stop", "POST", api_stop, 1, 0},
    {"/api/actors/*/trace", "GET", api_trace_get, 0, 0},
    {"/api/actors/*/trace", "POST", api_trace_arm, 1, 0},
    {"/api/actors/*/trace", "DELETE", api_trace_disarm, 1, 0},
    /* The same with the name in the query: a browser resolves "." and ".."
     * path segments (and %2E forms) before sending, a query it leaves be. */
    {"/api/actor", "GET", api_actor, 0, 1},
    {"/api/actor/restart", "POST", api_restart, 1, 1},
    {"/api/actor/stop", "POST", api_stop, 1, 1},
    {"/api/flags", "GET", api_flags, 0, 0},
    {"/api/flags/*", "POST", api_flag_set, 1, 0},
    {"/api/adapters", "GET", api_adapters, 0, 0},
    {"/api/events", "GET", api_events, 0, 0},
    {"/api/journal", "GET", api_journal, 0, 0},
    {"/api/cluster/nodes", "GET", api_cluster_nodes, 0, 0},
    {"/api/cluster/actors", "GET", api_cluster_actors, 0, 0},
};

#define NROUTES (sizeof routes / sizeof routes[0])

/* ---- errors ----------------------------------------------------------------- */

void http_error(hreq *r, unsigned status, const char *msg)
{
    hbuf_free(&r->out.w.b); /* whatever a handler had written goes */
    r->out.w = (jw){0};
    r->out.status = status;
    r->out.ctype = "application/json";
    jw_obj(&r->out.w);
    jw_key(&r->out.w, "error");
    jw_str(&r->out.w, msg);
    jw_key(&r->out.w, "status");
    jw_u64(&r->out.w, status);
    jw_obj_end(&r->out.w);
}

void http_error_name(hreq *r, unsigned status, const char *what)
{
    char msg[TROUPE_NAME_MAX + 64];
    snprintf(msg, sizeof msg, "%s \"%s\"", what, r->name);
    http_error(r, status, msg); /* the writer escapes whatever the name holds */
}

void http_error_code(hreq *r, int rc)
{
    switch (rc) {
    case TROUPE_ENOACTOR:
    case TROUPE_ENOTFOUND: http_error_name(r, MHD_HTTP_NOT_FOUND, "no actor named"); break;
    case TROUPE_ESHUTDOWN: http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "system shutting down"); break;
    case TROUPE_ENOMEM: http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory"); break;
    /* a feature built out of the library (-Dmigrate=disabled: the flags and adapters) */
    case TROUPE_ENOTSUP: http_error(r, MHD_HTTP_NOT_IMPLEMENTED, troupe_strerror(rc)); break;
    default: http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, troupe_strerror(rc)); break;
    }
}

/* ---- decoding --------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int http_unescape(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(src[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(src[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return (int)o;
}

/* ---- matching ---------------------------------------------------------------- */

/* Does `url` match `pattern` segment by segment? The "*" segment must be
 * non-empty; its raw text is returned in *star. */
static int path_match(const char *pattern, const char *url, const char **star, size_t *star_len)
{
    while (*pattern && *url) {
        if (*pattern == '*') {
            size_t n = strcspn(url, "/");
            if (n == 0)
                return 0;
            *star = url;
            *star_len = n;
            url += n;
            pattern++;
        } else if (*pattern++ != *url++) {
            return 0;
        }
    }
    return *pattern == '\0' && *url == '\0';
}

static int method_is(const char *method, const char *want)
{
    /* libmicrohttpd answers HEAD like GET, without the body. */
    if (strcmp(want, "GET") == 0 && strcmp(method, "HEAD") == 0)
        return 1;
    return strcmp(method, want) == 0;
}

/* ---- the token ------------------------------------------------------------------ */

/* Compares in time independent of where the first difference is, so the
 * token cannot be guessed byte by byte from response times. */
static int same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)(a[i < alen ? i : 0] ^ b[i]);
    return alen > 0 && diff == 0;
}

/* 0 when the request may mutate, else the reply is already an error. */
static int authorize(hreq *r)
{
    if (!r->srv->token) {
        http_error(r, MHD_HTTP_FORBIDDEN, "mutating endpoints are off: no token configured");
        return -1;
    }
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0 ||
        !same_secret(h + 7, strlen(h + 7), r->srv->token, r->srv->token_len)) {
        http_error(r, MHD_HTTP_UNAUTHORIZED, h ? "wrong token" : "bearer token required");
        r->out.www_auth = 1;
        return -1;
    }
    return 0;
}

/* ---- routing --------------------------------------------------------------------- */

static void dispatch(hreq *r, const route *rt, const char *star, size_t star_len)
{
    if (rt->mutating && authorize(r) < 0)
        return;
    if (rt->query_name) {
        star = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "name");
        star_len = star ? strlen(star) : 0; /* still escaped: keep_escaped */
    }
    if (star || rt->query_name) {
        int n = star ? http_unescape(r->name, sizeof r->name, star, star_len) : -1;
        if (n <= 0) {
            http_error(r, MHD_HTTP_BAD_REQUEST, "bad name (1..64 bytes, no NUL)");
            return;
        }
    }
    r->out.status = MHD_HTTP_OK;
    r->out.ctype = "application/json";
    rt->fn(r);
}

void http_route(hreq *r, const char *method, const char *url)
{
    const route *path_found = NULL;
    for (size_t i = 0; i < NROUTES; i++) {
        const char *star = NULL;
        size_t star_len = 0;
        if (!path_match(routes[i].path, url, &star, &star_len))
            continue;
        if (method_is(method, routes[i].method)) {
            dispatch(r, &routes[i], star, star_len);
            return;
        }
        path_found = &routes[i];
    }
    if (!path_found) {
        http_error(r, MHD_HTTP_NOT_FOUND, "no such endpoint");
        return;
    }
    http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    r->out.allow = strcmp(path_found->method, "GET") == 0 ? "GET, HEAD" : path_found->method;
    if (strstr(path_found->path, "/trace")) /* the one path with three methods */
        r->out.allow = "GET, HEAD, POST, DELETE";
}

static void get_page(hreq *r)
{
    r->out.ctype = "text/html; charset=utf-8";
    r->out.fixed = page_html;
    r->out.fixed_len = page_html_len;
}

