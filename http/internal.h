/* http/internal.h — what the files of the HTTP layer share: a growable
 * buffer, the JSON writer, one request as the handlers see it, and the
 * handlers themselves. Nothing here is public (include/troupe/http.h is). */
#ifndef TROUPE_HTTP_INTERNAL_H
#define TROUPE_HTTP_INTERNAL_H

#include "core/namespace.h"

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
 * escapes strings. Nesting deeper than JW_DEPTH sets b.oom (callers bound
 * their recursion well below it). */
typedef struct jw {
    hbuf b;
    int depth;
    int after_key;
    uint8_t has_item[JW_DEPTH]; /* per open level: 1 once it has a member */
} jw;

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

/* ---- one request (route.c) ------------------------------------------------- */

typedef struct hsrv {
    troupe_system *sys;
    struct MHD_Daemon *daemon;
    char *token;
    size_t token_len;
    size_t max_body;
    int per_name;
    int port;
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
/* flags.c: the feature flags and the legacy adapters */
void api_flags(hreq *r);
void api_flag_set(hreq *r);
void api_adapters(hreq *r);
/* One actor as a JSON object (shared by the tree and the actor endpoints). */
void api_write_actor(jw *w, troupe_system *sys, const troupe_actor_info *ai);

/* The dashboard, embedded at build time from http/web/dashboard.html
 * (http/embed.py); NUL-terminated, page_html_len excludes the NUL. */
extern const unsigned char page_html[];
extern const size_t page_html_len;

#endif /* TROUPE_HTTP_INTERNAL_H */
