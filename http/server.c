/* http/server.c — the public entry points: configuration, the listening
 * socket, libmicrohttpd's daemon and its callbacks, and turning a handler's
 * reply into a response.
 *
 * We open the listening socket ourselves and hand it to libmicrohttpd
 * (MHD_OPTION_LISTEN_SOCKET): that way a bind failure keeps its errno, so a
 * taken port is told apart from a bad address, and the chosen ephemeral
 * port is one getsockname away. The daemon runs one internal polling
 * thread; our handlers never block, so one is enough. */
#include "core/alloc.h"
#include "http/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BODY_LIMIT (16u << 20)
#define HEADER_ROOM (16u << 10) /* per-connection memory beyond the body limit */
#define REQUEST_TIMEOUT_DEFAULT 30u
/* A request target longer than this, or with more query parameters, is
 * answered 414 (see on_uri). Our longest legitimate one is a name escaped
 * three bytes per byte: a few hundred bytes, two parameters. */
#define URI_MAX 4096u
#define QUERY_PARAMS_MAX 32u /* (on_headers's 414 message quotes both) */

struct troupe_http {
    hsrv s;
};

TROUPE_API void troupe_http_config_defaults(troupe_http_config *cfg)
{
    if (!cfg)
        return;
    *cfg = (troupe_http_config){
        .bind_addr = "127.0.0.1",
        .max_connections = 32,
        .max_request_bytes = 16u << 10,
        .timeout_s = 10,
        .request_timeout_s = REQUEST_TIMEOUT_DEFAULT,
    };
}

/* ---- configuration ---------------------------------------------------------- */

/* A token travels in a header: visible ASCII only, no spaces. */
static int token_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TROUPE_HTTP_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] <= 0x20 || t[i] >= 0x7F)
            return 0;
    return 1;
}

static int check_config(const troupe_http_config *c)
{
    if (c->max_connections == 0 || c->max_connections > 65536)
        return TROUPE_EINVAL;
    if (c->max_request_bytes == 0 || c->max_request_bytes > MAX_BODY_LIMIT)
        return TROUPE_EINVAL;
    if (c->timeout_s == 0 || c->timeout_s > 3600 || c->request_timeout_s > 3600)
        return TROUPE_EINVAL;
    if (c->token && !token_ok(c->token))
        return TROUPE_EINVAL;
    return 0;
}

/* An IPv4 or IPv6 literal (no names: nothing here resolves DNS). */
static int parse_addr(const char *text, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return 0;
    }
    return TROUPE_EINVAL;
}

/* ---- the listening socket ---------------------------------------------------- */

static int bind_error(int err)
{
    switch (err) {
    case EADDRINUSE: return TROUPE_EBUSY;
    case EADDRNOTAVAIL: return TROUPE_EINVAL; /* not an address of this host */
    case ENOMEM:
    case ENOBUFS: return TROUPE_ENOMEM;
    default: return TROUPE_ESYS;
    }
}

/* Returns the socket, listening and non-blocking, or a negative code. */
static int open_listener(const char *addr, uint16_t port, int *out_fd)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_addr(addr, port, &ss, &len) < 0)
        return TROUPE_EINVAL;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return bind_error(errno);
    /* A restarted server may rebind while old connections sit in TIME_WAIT. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
        int rc = bind_error(errno);
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return TROUPE_ESYS;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- replies -------------------------------------------------------------------- */

static void add_headers(struct MHD_Response *resp, const hreply *out)
{
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    /* The page may talk to this server only, and load nothing from elsewhere. */
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; connect-src 'self'; img-src data:");
    if (out->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, out->allow);
    if (out->www_auth)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"troupe\"");
}

/* The body buffer goes to libmicrohttpd, which frees it after sending. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, hreply *out)
{
    struct MHD_Response *resp;
    if (out->fixed) {
        resp = MHD_create_response_from_buffer(out->fixed_len, (void *)out->fixed,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        resp = MHD_create_response_from_buffer(out->w.b.len, out->w.b.p, MHD_RESPMEM_MUST_FREE);
        if (resp)
            out->w.b = (hbuf){0};
    }
    if (!resp) {
        hbuf_free(&out->w.b);
        return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
    }
    add_headers(resp, out);
    enum MHD_Result ok = MHD_queue_response(conn, out->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_error(hsrv *s, struct MHD_Connection *conn, unsigned status,
                                  const char *msg)
{
    hreq r = {.srv = s, .conn = conn};
    http_error(&r, status, msg);
    if (http_reply_error(&r.out.w)) {
        hbuf_free(&r.out.w.b);
        return MHD_NO;
    }
    return send_reply(conn, &r.out);
}

/* ---- libmicrohttpd's callbacks ------------------------------------------------- */

/* One request, from its request line (on_uri) to its end (on_completed):
 * its body, kept (NUL-terminated) up to the limit for the endpoints that
 * take one (POST /api/flags/{name}), and what on_uri found. */
typedef struct hbody {
    uint64_t bytes;
    char *data;
    size_t cap; /* of data */
    int started;     /* the handler has seen the headers */
    int uri_too_big; /* answered 414 */
} hbody;

/* 0, or -1 when out of memory (the connection is then closed). */
static int body_append(hbody *b, const char *p, size_t n)
{
    if (tr_grow((void **)&b->data, &b->cap, b->bytes + n + 1, 1, 256))
        return -1;
    memcpy(b->data + b->bytes, p, n);
    b->bytes += n;
    b->data[b->bytes] = '\0';
    return 0;
}

static int declared_too_big(hsrv *s, struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return errno != 0 || n > s->max_body;
}

static enum MHD_Result refuse_host(hsrv *s, struct MHD_Connection *conn, const char *host)
{
    char msg[200];
    snprintf(msg, sizeof msg, "host \"%.100s\" not allowed (allowed_hosts lists more)", host);
    return send_error(s, conn, MHD_HTTP_MISDIRECTED_REQUEST, msg);
}

/* The first call for a request: the headers are in, no body yet. The
 * checks that refuse a request before any of it is served. */
static enum MHD_Result on_headers(hsrv *s, struct MHD_Connection *conn, hbody *b)
{
    b->started = 1;
    hconns_request_started(s->conns, conn);
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!http_host_ok(&s->hosts, host))
        return refuse_host(s, conn, host);
    if (b->uri_too_big)
        return send_error(s, conn, MHD_HTTP_URI_TOO_LONG,
                          "request target too long (at most 4096 bytes and 32 query parameters)");
    if (declared_too_big(s, conn))
        return send_error(s, conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **ctx)
{
    (void)version;
    hsrv *s = cls;
    hbody *b = *ctx;
    if (!b)
        return MHD_NO; /* on_uri ran out of memory: close */
    if (!b->started)
        return on_headers(s, conn, b);
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        /* A chunked body past the limit: close rather than read on. */
        if (b->bytes + n > s->max_body || body_append(b, upload, n) < 0)
            return MHD_NO;
        return MHD_YES;
    }
    hreq r = {.srv = s, .conn = conn, .body = b->data, .body_len = b->bytes};
    http_route(&r, method, url);
    const char *failed = http_reply_error(&r.out.w);
    if (failed) {
        hbuf_free(&r.out.w.b);
        return send_error(s, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, failed);
    }
    return send_reply(conn, &r.out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode why)
{
    (void)why;
    hsrv *s = cls;
    hconns_request_done(s->conns, conn);
    hbody *b = *ctx;
    if (b)
        free(b->data);
    free(b);
    *ctx = NULL;
}

static int uri_too_big(const char *uri)
{
    size_t n = strlen(uri), params = 1;
    const char *q = strchr(uri, '?');
    for (const char *p = q; p && *p; p++)
        params += *p == '&';
    return n > URI_MAX || (q && params > QUERY_PARAMS_MAX);
}

/* The request line is in: the request's context starts here (libmicrohttpd
 * hands our return value to on_request as *ctx).
 *
 * libmicrohttpd 0.9.75 parses the query right after this call, one record
 * per parameter in the connection's fixed memory; when they do not fit it
 * queues its own 431, then loses it (the request line's state overwrites
 * it) and closes without a word. So an oversized target's query is emptied
 * here, in place: `uri` is libmicrohttpd's writable copy of the request
 * line, its '?' already found, the parameters read only after we return.
 * The request then reaches on_headers, which answers 414 in JSON. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    hbody *b = sys_calloc(1, sizeof *b);
    if (uri && uri_too_big(uri)) {
        char *q = strchr(uri, '?');
        if (q)
            q[1] = '\0';
        if (b)
            b->uri_too_big = 1;
    }
    return b;
}

/* Leave the URL as it came: the router splits the path first and decodes
 * each segment after, so a name holding "%2F" stays one segment. */
static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

/* ---- start, port, stop ----------------------------------------------------------- */

static struct MHD_Daemon *start_daemon(hsrv *s, int fd, const troupe_http_config *c)
{
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
    /* One more than the cap: the newcomer that makes conn.c evict. */
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_connections + 1,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)c->max_request_bytes + HEADER_ROOM,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, hconns_notify, s->conns,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
        MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, s,
        MHD_OPTION_END);
}

static int fill_server(hsrv *s, troupe_system *sys, const troupe_http_config *c,
                       const char *addr)
{
    s->sys = sys;
    s->max_body = c->max_request_bytes;
    s->per_name = c->metrics_per_name != 0;
    if (c->token) {
        s->token_len = strlen(c->token);
        if (!(s->token = sys_strdup(c->token)))
            return TROUPE_ENOMEM;
    }
    int rc = http_hosts_init(&s->hosts, addr, c->allowed_hosts);
    if (rc == 0)
        rc = hconns_create(&s->conns, c->max_connections,
                           c->request_timeout_s ? c->request_timeout_s : REQUEST_TIMEOUT_DEFAULT);
    return rc;
}

/* The server's state and its socket, listening; the daemon is not started. */
static int prepare(hsrv *s, troupe_system *sys, const troupe_http_config *c, int *fd)
{
    const char *addr = c->bind_addr ? c->bind_addr : "127.0.0.1";
    int rc = fill_server(s, sys, c, addr);
    if (rc == 0)
        rc = open_listener(addr, c->port, fd);
    if (rc == 0 && (s->port = bound_port(*fd)) < 0) {
        rc = s->port;
        close(*fd);
    }
    return rc;
}

TROUPE_API int troupe_http_start(troupe_system *sys, const troupe_http_config *cfg,
                                 troupe_http **out)
{
    troupe_http_config def;
    troupe_http_config_defaults(&def);
    const troupe_http_config *c = cfg ? cfg : &def;
    if (!sys || !out)
        return TROUPE_EINVAL;
    *out = NULL;
    int rc = check_config(c), fd = -1;
    troupe_http *h = rc < 0 ? NULL : sys_calloc(1, sizeof *h);
    if (rc == 0 && !h)
        rc = TROUPE_ENOMEM;
    if (rc == 0)
        rc = prepare(&h->s, sys, c, &fd);
    /* On failure libmicrohttpd closes the socket it was given (or not, on
     * some early paths): never close it here, a double close could close
     * another thread's new file. */
    if (rc == 0 && !(h->s.daemon = start_daemon(&h->s, fd, c)))
        rc = TROUPE_ESYS;
    if (rc < 0) {
        troupe_http_stop(h);
        return rc;
    }
    *out = h;
    return 0;
}

TROUPE_API int troupe_http_port(const troupe_http *srv)
{
    return srv ? srv->s.port : TROUPE_EINVAL;
}

TROUPE_API void troupe_http_stop(troupe_http *srv)
{
    if (!srv)
        return;
    if (srv->s.daemon)
        MHD_stop_daemon(srv->s.daemon); /* joins its thread; closes the socket */
    hconns_destroy(srv->s.conns);        /* no connection is left */
    http_hosts_free(&srv->s.hosts);
    free(srv->s.token);
    free(srv);
}
