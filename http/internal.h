/* http/internal.h — what the files of the HTTP layer share: a growable
 * buffer, the JSON writer, one request as the handlers see it, and the
 * handlers themselves. Nothing here is public (include/troupe/http.h is). */
#ifndef TROUPE_HTTP_INTERNAL_H
#define TROUPE_HTTP_INTERNAL_H

#include "base/namespace.h"
/* Internal names the HTTP layer added after base/namespace.h's list: the
 * same rule (troupei_ at link level, checked by tests/symbols.sh). */
#define http_reply_error troupei_http_reply_error
#define http_hosts_init troupei_http_hosts_init
#define http_hosts_free troupei_http_hosts_free
#define http_host_ok troupei_http_host_ok
#define hconns_create troupei_hconns_create
#define hconns_destroy troupei_hconns_destroy
#define hconns_notify troupei_hconns_notify
#define hconns_request_started troupei_hconns_request_started
#define hconns_request_done troupei_hconns_request_done
#define api_cluster_nodes troupei_api_cluster_nodes
#define api_cluster_actors troupei_api_cluster_actors
#define api_events troupei_api_events
#define api_journal troupei_api_journal

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#include "troupe/troupe.h"
#include "troupe/http.h"

/* ---- buffer (json.c) ------------------------------------------------------ */

/* Grows by doubling; on allocation failure `oom` is set and every later
 * append is dropped, so writers check once at the end. */
typedef struct hbuf {
    char *p;
    size_t len, cap;
    int oom;
} hbuf;

void hbuf_put(hbuf *b, const void *data, size_t n);
void hbuf_puts(hbuf *b, const char *s);
void hbuf_free(hbuf *b);
/* A troupe_write_fn appending to the hbuf `ud` (for troupe_metrics_write). */
int hbuf_write_fn(void *ud, const char *data, size_t len);

/* ---- JSON writer (json.c) -------------------------------------------------- */

#define JW_DEPTH 64

/* Writes one JSON document into a buffer: the writer puts the commas and
 * escapes strings. Nesting deeper than JW_DEPTH is refused and sets
 * too_deep (callers bound their recursion below it: a reply that hits it is
 * a bug, answered 500 with its own message, not as out of memory). */
typedef struct jw {
    hbuf b;
    int depth;
    int after_key;
    int too_deep;
    uint8_t has_item[JW_DEPTH]; /* per open level: 1 once it has a member */
} jw;

/* Why the document w cannot be sent (too deep, out of memory), or NULL
 * when it is complete. */
const char *http_reply_error(const jw *w);

void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
void jw_key(jw *w, const char *key);
/* A string of arbitrary bytes: valid UTF-8 is kept, quotes, backslashes and
 * control characters are escaped, and each byte that is not part of valid
 * UTF-8 becomes U+FFFD, so the document is always valid JSON. */
void jw_strn(jw *w, const char *s, size_t n);
void jw_str(jw *w, const char *s); /* NULL writes null */
void jw_u64(jw *w, uint64_t v);
void jw_i64(jw *w, int64_t v);
void jw_double(jw *w, double v); /* NaN and infinities write null */
void jw_bool(jw *w, int v);
void jw_null(jw *w);
/* A 64-bit id as a hex string: JavaScript numbers hold only 53 bits. */
void jw_id(jw *w, uint64_t id);

/* ---- the Host check (host.c) ------------------------------------------------ */

/* The names a request's Host may carry (host.c says which and why). */
typedef struct hhosts {
    char *names;              /* allowed_hosts, normalised: "a\0b\0\0"; NULL = none */
    int bind_family;          /* AF_INET or AF_INET6 */
    unsigned char bind[16];   /* the bound address */
    int bind_any;             /* bound to 0.0.0.0 or :: */
} hhosts;

/* From the bind address (an IP literal) and the allowed_hosts list (NULL =
 * none). TROUPE_EINVAL for a bad list, TROUPE_ENOMEM. */
int http_hosts_init(hhosts *h, const char *bind_addr, const char *allowed);
void http_hosts_free(hhosts *h);
/* 1 when a request whose Host header is `host` (NULL: none) may be served. */
int http_host_ok(const hhosts *h, const char *host);

/* ---- open connections (conn.c) ------------------------------------------------ */

/* Every open connection with the start of its current request: a watcher
 * thread closes the ones past the whole-request deadline, and a new
 * connection beyond the cap closes the oldest one still waiting for its
 * request (conn.c). */
typedef struct hconns hconns;

/* cap: connections served at once; deadline_s: the whole-request deadline.
 * Starts the watcher thread. TROUPE_ENOMEM, TROUPE_ESYS. */
int hconns_create(hconns **out, uint32_t cap, uint32_t deadline_s);
/* After the daemon has stopped (no connection left). NULL is accepted. */
void hconns_destroy(hconns *c);
/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls: the hconns). */
void hconns_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                   enum MHD_ConnectionNotificationCode code);
/* The request's headers are in: it is being served, not waited for. */
void hconns_request_started(hconns *c, struct MHD_Connection *conn);
/* The request is over: the next one on the connection starts its clock. */
void hconns_request_done(hconns *c, struct MHD_Connection *conn);

/* ---- one request (route.c) ------------------------------------------------- */

typedef struct hsrv {
    troupe_system *sys;
    struct MHD_Daemon *daemon;
    char *token;
    size_t token_len;
    size_t max_body;
    int per_name;
    int port;
    hhosts hosts;
    hconns *conns;
} hsrv;

/* What a handler answers: a status, a body and its content type. */
typedef struct hreply {
    unsigned status;
    const char *ctype;
    const char *allow;   /* for 405 */
    int www_auth;        /* for 401: send WWW-Authenticate */
    jw w;                /* the body */
    const void *fixed;   /* a static body instead of w (the page) */
    size_t fixed_len;
} hreply;

typedef struct hreq {
    hsrv *srv;
    struct MHD_Connection *conn;
    char name[TROUPE_NAME_MAX + 1]; /* the {name} segment, decoded */
    const char *body;               /* the request body, NUL-terminated; NULL if none */
    size_t body_len;
    hreply out;
} hreq;

/* Answer r with a JSON error body {"error": msg, "status": status}. */
void http_error(hreq *r, unsigned status, const char *msg);
/* The same with the actor's name quoted in the message: "<what> \"name\"". */
void http_error_name(hreq *r, unsigned status, const char *what);
/* Map a troupe error code of a data call to a status and answer with it. */
void http_error_code(hreq *r, int rc);
/* Route one complete request; fills r->out. */
void http_route(hreq *r, const char *method, const char *url);
/* Decode %XX escapes of src[0..n) into dst (room for cap bytes with the NUL).
 * Returns the decoded length, or -1 for a bad escape, a NUL byte or no room. */
int http_unescape(char *dst, size_t cap, const char *src, size_t n);

/* ---- handlers (api.c, tree.c, page) ---------------------------------------- */

void api_system(hreq *r);
void api_actors(hreq *r);
void api_actor(hreq *r);
void api_restart(hreq *r);
void api_stop(hreq *r);
void api_metrics(hreq *r);
void api_tree(hreq *r);
/* http/trace.c: an actor's trace buffer */
void api_trace_get(hreq *r);
void api_trace_arm(hreq *r);
void api_trace_disarm(hreq *r);
/* flags.c: the feature flags and the legacy adapters */
void api_flags(hreq *r);
void api_flag_set(hreq *r);
void api_adapters(hreq *r);
/* cluster.c: the nodes of the system's cluster */
void api_cluster_nodes(hreq *r);
/* cluster.c: where each cluster actor lives (?limit=&offset=) */
void api_cluster_actors(hreq *r);
/* events.c: the event log (?since=&limit=&actor=) */
void api_events(hreq *r);
/* journal.c: the system journal's metrics */
void api_journal(hreq *r);
/* One actor as a JSON object (shared by the tree and the actor endpoints). */
void api_write_actor(jw *w, troupe_system *sys, const troupe_actor_info *ai);

/* The dashboard, embedded at build time from http/web/dashboard.html
 * (http/embed.py); NUL-terminated, page_html_len excludes the NUL. */
extern const unsigned char page_html[];
extern const size_t page_html_len;

#endif /* TROUPE_HTTP_INTERNAL_H */
